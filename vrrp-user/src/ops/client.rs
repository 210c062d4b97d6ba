//! The client side of the control socket, for `xvrrp status` and `xvrrp events`: blocking
//! and simple, one request per connection.

use std::{
    io::{self, BufRead as _, BufReader, Write as _},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
};

use super::protocol::{ErrorCode, Request, Response, ResponseBody, request_line};

/// Why talking to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nobody listens on the socket, or it is not ours to open.
    #[error(
        "cannot connect to {} (is `xvrrp run` running, with this control_socket?)",
        path.display()
    )]
    Connect {
        /// The socket.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The connection broke.
    #[error("control socket connection")]
    Io(#[from] io::Error),
    /// The daemon sent something this CLI does not understand (a different version?).
    #[error("unexpected answer from the daemon: {0}")]
    Unexpected(String),
    /// The daemon refused the request.
    #[error("the daemon refused the request ({}): {message}", code.name())]
    Refused {
        /// Its reason.
        code: ErrorCode,
        /// Its words.
        message: String,
    },
}

/// A connection to the daemon's control socket.
pub struct Client {
    reader: BufReader<UnixStream>,
}

impl Client {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    /// Sends `request`.
    pub fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        self.reader
            .get_mut()
            .write_all(request_line(request).as_bytes())?;
        Ok(())
    }

    /// The next answer line; `None` when the daemon closed the connection. An error answer
    /// becomes [`ClientError::Refused`].
    pub fn next_body(&mut self) -> Result<Option<ResponseBody>, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let response: Response = serde_json::from_str(line.trim_end())
            .map_err(|err| ClientError::Unexpected(format!("{err}: {}", line.trim_end())))?;
        match response.body {
            ResponseBody::Error { code, message } => Err(ClientError::Refused { code, message }),
            body => Ok(Some(body)),
        }
    }
}
