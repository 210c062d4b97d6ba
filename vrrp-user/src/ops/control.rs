//! The control socket: a Unix stream socket (mode 0600) speaking [`protocol`](super::protocol).
//!
//! Each connection is its own task, so the event loop never waits for a client. A connection
//! holds one of [`MAX_CONNECTIONS`] slots; one more is answered `busy` and closed. A request
//! line must arrive whole within [`READ_TIMEOUT`] and fit [`MAX_REQUEST_BYTES`]; every answer
//! line must be taken by the client within [`WRITE_TIMEOUT`]. Refused requests are answered
//! with an error and counted by code.
//!
//! Operator commands (`demote`, `drill`, ...) go to the event loop on a bounded channel,
//! never waiting for room (a full queue is `busy`), each with the peer's credentials
//! (SO_PEERCRED) as who asked. A command's answer is awaited for at most [`COMMAND_TIMEOUT`];
//! a drill's when the loop ends it, by deadlines of its own.

use std::{
    io,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::{
        UnixListener,
        unix::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::{Semaphore, broadcast::error::RecvError, mpsc::error::TrySendError, oneshot},
    time::timeout,
};

use super::{
    OpsError, OpsState,
    protocol::{
        ErrorCode, MAX_REQUEST_BYTES, Request, Requester, Response, ResponseBody, parse_request,
    },
    status::StatusReport,
};
use crate::{
    daemon::commands::{OperatorCommand, OperatorRequest},
    proto::Command,
};

/// Connections served at once (followers included).
pub const MAX_CONNECTIONS: usize = 32;
/// Time a client has to send a whole request line.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// Time a client has to take one response line.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Time the event loop has to answer a command (it may be busy with a reload).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Requests served and refused, by outcome.
#[derive(Debug, Default)]
pub struct ControlCounters {
    served: AtomicU64,
    refused: [AtomicU64; ErrorCode::ALL.len()],
}

impl ControlCounters {
    /// Requests answered successfully.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Requests refused with `code`.
    pub fn refused(&self, code: ErrorCode) -> u64 {
        self.refused[code_index(code)].load(Ordering::Relaxed)
    }

    fn count_refused(&self, code: ErrorCode) {
        self.refused[code_index(code)].fetch_add(1, Ordering::Relaxed);
    }
}

fn code_index(code: ErrorCode) -> usize {
    ErrorCode::ALL
        .iter()
        .position(|candidate| *candidate == code)
        .unwrap_or(0)
}

/// Binds the control socket at `path`, readable and writable by its owner only. A stale
/// socket file (nobody listening) is replaced; a live one means another daemon uses the path.
pub(crate) fn bind(path: &Path) -> Result<UnixListener, OpsError> {
    let error = |op: &'static str, source: io::Error| OpsError::ControlSocket {
        path: path.to_owned(),
        op,
        source,
    };
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(error(
                "bind",
                io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another process answers on it (a second xvrrp with the same control_socket?)",
                ),
            ));
        }
        std::fs::remove_file(path).map_err(|source| error("remove the stale socket", source))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| error("create its directory", source))?;
    }
    // The umask makes the socket 0600 from its creation: no moment where others may connect.
    // SAFETY: umask(2) cannot fail; the previous mask is restored right after the bind.
    let previous = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(previous) };
    let listener = bound.map_err(|source| error("bind", source))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|source| error("chmod 0600", source))?;
    Ok(listener)
}

/// Accepts connections until the task is dropped.
pub(crate) async fn serve(listener: UnixListener, path: PathBuf, state: Arc<OpsState>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(socket = %path.display(), error = %err, "control socket accept");
                // Out of file descriptors, typically: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            state.control.count_refused(ErrorCode::Busy);
            let busy = Response::error(
                ErrorCode::Busy,
                format!("{MAX_CONNECTIONS} connections are open; try again"),
            );
            // A fresh socket's buffer takes a short line without blocking; if not, drop it.
            let _best_effort = stream.try_write(busy.to_line().as_bytes());
            continue;
        };
        let state = Arc::clone(&state);
        let requester = stream.peer_cred().ok().map(|cred| Requester {
            uid: cred.uid(),
            pid: cred.pid(),
        });
        tokio::spawn(async move {
            let _slot = slot;
            let (read, write) = stream.into_split();
            let mut connection = Connection {
                reader: BufReader::new(read),
                writer: write,
                state,
                requester,
            };
            if let Err(err) = connection.run().await {
                tracing::debug!(error = %err, "control connection closed");
            }
        });
    }
}

/// What reading one request line gave.
enum ReadLine {
    Line(Vec<u8>),
    /// The client closed between requests.
    Closed,
    /// The client closed in the middle of a line.
    Partial,
    TooLarge,
    TimedOut,
}

struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    state: Arc<OpsState>,
    /// The peer, from SO_PEERCRED.
    requester: Option<Requester>,
}

impl Connection {
    async fn run(&mut self) -> io::Result<()> {
        loop {
            let line = match self.read_line().await? {
                ReadLine::Line(line) => line,
                ReadLine::Closed => return Ok(()),
                ReadLine::Partial => {
                    return self
                        .refuse(ErrorCode::Incomplete, "the request line has no newline")
                        .await;
                }
                ReadLine::TooLarge => {
                    return self
                        .refuse(
                            ErrorCode::TooLarge,
                            format!("request longer than {MAX_REQUEST_BYTES} bytes"),
                        )
                        .await;
                }
                ReadLine::TimedOut => {
                    return self
                        .refuse(
                            ErrorCode::Timeout,
                            format!("no complete request line within {READ_TIMEOUT:?}"),
                        )
                        .await;
                }
            };
            match parse_request(&line) {
                // A bad line does not end the connection: the next one may be fine.
                Err(refused) => self.refuse(refused.code, refused.message).await?,
                Ok(Request::Status { instance }) => self.status(instance.as_deref()).await?,
                Ok(Request::Events { since_ms, follow }) => {
                    return self.events(since_ms, follow).await;
                }
                Ok(Request::Demote { instance }) => {
                    self.command(instance, OperatorCommand::Router(Command::Demote))
                        .await?;
                }
                Ok(Request::Promote { instance }) => {
                    self.command(instance, OperatorCommand::Router(Command::Promote))
                        .await?;
                }
                Ok(Request::Priority { instance, priority }) => {
                    let command = Command::OverridePriority(priority);
                    self.command(instance, OperatorCommand::Router(command))
                        .await?;
                }
                Ok(Request::ResetPriority { instance }) => {
                    let command = Command::ResetPriority;
                    self.command(instance, OperatorCommand::Router(command))
                        .await?;
                }
                Ok(Request::Drill { instance }) => {
                    self.command(instance, OperatorCommand::Drill).await?;
                }
            }
        }
    }

    /// Reads up to a newline (excluded), within the size bound and the read timeout.
    async fn read_line(&mut self) -> io::Result<ReadLine> {
        let mut line = Vec::new();
        let read = async {
            loop {
                let buffer = self.reader.fill_buf().await?;
                if buffer.is_empty() {
                    return Ok(if line.is_empty() {
                        ReadLine::Closed
                    } else {
                        ReadLine::Partial
                    });
                }
                let (taken, complete) = match buffer.iter().position(|byte| *byte == b'\n') {
                    Some(newline) => (newline + 1, true),
                    None => (buffer.len(), false),
                };
                line.extend_from_slice(&buffer[..taken]);
                self.reader.consume(taken);
                if line.len() > MAX_REQUEST_BYTES {
                    return Ok(ReadLine::TooLarge);
                }
                if complete {
                    line.pop();
                    return Ok(ReadLine::Line(std::mem::take(&mut line)));
                }
            }
        };
        match timeout(READ_TIMEOUT, read).await {
            Ok(result) => result,
            Err(_elapsed) => Ok(ReadLine::TimedOut),
        }
    }

    async fn status(&mut self, instance: Option<&str>) -> io::Result<()> {
        let mut snapshot = self.state.status.borrow().clone();
        if let Some(wanted) = instance {
            snapshot.instances.retain(|status| status.name == wanted);
            if snapshot.instances.is_empty() {
                return self
                    .refuse(
                        ErrorCode::UnknownInstance,
                        format!("no instance {wanted:?} is configured"),
                    )
                    .await;
            }
            let interfaces: Vec<String> = snapshot
                .instances
                .iter()
                .map(|status| status.interface.clone())
                .collect();
            snapshot
                .interfaces
                .retain(|status| interfaces.contains(&status.name));
        }
        let mut last_transitions = self.state.events.last_transitions(self.state.started_at_ms);
        last_transitions.retain(|name, _| snapshot.instances.iter().any(|i| &i.name == name));
        let report = StatusReport {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            started_at_ms: self.state.started_at_ms,
            snapshot,
            last_transitions,
        };
        self.send(&Response::new(ResponseBody::Status(Box::new(report))))
            .await?;
        self.state.control.served.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn events(&mut self, since_ms: u64, follow: bool) -> io::Result<()> {
        self.state.control.served.fetch_add(1, Ordering::Relaxed);
        if !follow {
            let past = self.state.events.since(since_ms);
            for record in &past {
                self.send(&Response::new(ResponseBody::Event(record.clone())))
                    .await?;
            }
            return self
                .send(&Response::new(ResponseBody::End { events: past.len() }))
                .await;
        }
        let (past, mut live) = self.state.events.follow_since(since_ms);
        for record in past {
            self.send(&Response::new(ResponseBody::Event(record)))
                .await?;
        }
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(record) => self.send(&Response::new(ResponseBody::Event(record))).await?,
                    Err(RecvError::Lagged(events)) => {
                        self.send(&Response::new(ResponseBody::Lost { events })).await?;
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
                // A follower sends nothing more; reading only notices that it went away.
                gone = self.reader.fill_buf() => {
                    let length = gone?.len();
                    if length == 0 {
                        return Ok(());
                    }
                    self.reader.consume(length);
                }
            }
        }
    }

    /// Hands `command` to the event loop and sends its answer.
    async fn command(&mut self, instance: String, command: OperatorCommand) -> io::Result<()> {
        let Some(requester) = self.requester else {
            return self
                .refuse(
                    ErrorCode::Internal,
                    "the kernel did not say who is connected (SO_PEERCRED)",
                )
                .await;
        };
        let (reply, answer) = oneshot::channel();
        let request = OperatorRequest {
            instance,
            command,
            requester,
            reply,
        };
        match self.state.commands.try_send(request) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return self
                    .refuse(ErrorCode::Busy, "too many commands queued; try again")
                    .await;
            }
            Err(TrySendError::Closed(_)) => {
                return self
                    .refuse(ErrorCode::Internal, "the event loop is not running")
                    .await;
            }
        }
        let answer = match command {
            OperatorCommand::Drill => answer.await.ok(),
            OperatorCommand::Router(_) => timeout(COMMAND_TIMEOUT, answer)
                .await
                .ok()
                .and_then(Result::ok),
        };
        match answer {
            Some(Ok(body)) => {
                self.send(&Response::new(body)).await?;
                self.state.control.served.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Some(Err(refused)) => self.refuse(refused.code, refused.message).await,
            None => {
                self.refuse(
                    ErrorCode::Internal,
                    "the event loop did not answer (stopping?)",
                )
                .await
            }
        }
    }

    async fn refuse(&mut self, code: ErrorCode, message: impl Into<String>) -> io::Result<()> {
        let message = message.into();
        self.state.control.count_refused(code);
        tracing::debug!(code = code.name(), message, "control request refused");
        self.send(&Response::error(code, message)).await
    }

    async fn send(&mut self, response: &Response) -> io::Result<()> {
        let line = response.to_line();
        match timeout(WRITE_TIMEOUT, self.writer.write_all(line.as_bytes())).await {
            Ok(result) => result,
            Err(_elapsed) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client does not read its answers",
            )),
        }
    }
}
