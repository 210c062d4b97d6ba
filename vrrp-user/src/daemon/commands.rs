//! Operator commands in the event loop: the control socket's `demote`, `promote`, `priority`,
//! `reset_priority` and `drill` arrive on a channel, each with a oneshot for its answer.
//!
//! Commands are protocol inputs (`VirtualRouter::handle_command`); this module finds the
//! instance, applies them, records who asked, and answers. A drill answers when it ends: it is
//! polled every [`DRILL_POLL`] and ends by its own bounded deadlines (`proto::Drill`), so the
//! loop never waits for it, nor for any client.

use std::time::{Duration, Instant};

use tokio::{
    sync::{mpsc, oneshot},
    time::sleep_until,
};

use super::{events::DaemonEvent, instance::Instance, runtime::Daemon};
use crate::{
    ops::{
        operator::{CommandReply, DrillResult},
        protocol::{ErrorCode, RequestError, Requester, ResponseBody},
        status::{OperatorMark, PriorityOverride},
        time::unix_ms_now,
    },
    proto::{Command, Drill, DrillProgress, Effect},
};

/// How often a running drill looks at what its router heard. Only how soon it reacts depends
/// on it: the gaps it reports come from the router's own receive times.
pub const DRILL_POLL: Duration = Duration::from_millis(10);

/// The answer to one operator request.
pub type OperatorReply = Result<ResponseBody, RequestError>;

/// What an operator asks of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorCommand {
    /// A state-machine command.
    Router(Command),
    /// A switchover and back, timed.
    Drill,
}

/// One request from the control socket.
#[derive(Debug)]
pub struct OperatorRequest {
    /// The instance's name.
    pub instance: String,
    /// What to do.
    pub command: OperatorCommand,
    /// Who asked.
    pub requester: Requester,
    /// Where the answer goes (a client that left is no error).
    pub reply: oneshot::Sender<OperatorReply>,
}

/// Who demoted an instance and who set its priority override: shown in the status while the
/// router reports them in effect.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OperatorMarks {
    pub(crate) demoted: Option<OperatorMark>,
    pub(crate) priority_override: Option<OperatorMark>,
}

impl OperatorMarks {
    /// The snapshot's view of `instance`'s demotion.
    pub(super) fn demoted(instance: &Instance) -> Option<OperatorMark> {
        let demoted = instance.router.status().demoted;
        instance.operator.demoted.filter(|_| demoted)
    }

    /// The snapshot's view of `instance`'s priority override.
    pub(super) fn priority_override(instance: &Instance) -> Option<PriorityOverride> {
        let priority = instance.router.status().priority_override?;
        let mark = instance.operator.priority_override?;
        Some(PriorityOverride {
            priority,
            by: mark.by,
            at_ms: mark.at_ms,
        })
    }
}

struct RunningDrill {
    instance: String,
    drill: Drill,
    reply: oneshot::Sender<OperatorReply>,
}

/// The loop's end of the command channel, and the drills in progress.
pub struct Operator {
    requests: mpsc::Receiver<OperatorRequest>,
    drills: Vec<RunningDrill>,
    next_poll: Option<Instant>,
}

/// What woke the loop.
pub(super) enum OperatorInput {
    Request(OperatorRequest),
    PollDrills,
}

impl Operator {
    /// Serves `requests`.
    pub fn new(requests: mpsc::Receiver<OperatorRequest>) -> Self {
        Self {
            requests,
            drills: Vec::new(),
            next_poll: None,
        }
    }

    /// The next request, or the next drill poll (never, once the channel is closed and no
    /// drill runs).
    pub(super) async fn next(&mut self) -> OperatorInput {
        let poll = self.next_poll;
        tokio::select! {
            Some(request) = self.requests.recv() => OperatorInput::Request(request),
            () = sleep_until(poll.unwrap_or_else(Instant::now).into()), if poll.is_some() => {
                OperatorInput::PollDrills
            }
            else => std::future::pending().await,
        }
    }

    fn running(&self, instance: &str) -> bool {
        self.drills.iter().any(|drill| drill.instance == instance)
    }
}

fn rejected(message: String) -> RequestError {
    RequestError::new(ErrorCode::Rejected, message)
}

impl Daemon {
    /// Serves one request or polls the running drills.
    pub(super) async fn on_operator_input(
        &mut self,
        operator: &mut Operator,
        input: OperatorInput,
    ) {
        match input {
            OperatorInput::Request(request) => self.on_operator_request(operator, request).await,
            OperatorInput::PollDrills => self.poll_drills(operator).await,
        }
    }

    async fn on_operator_request(&mut self, operator: &mut Operator, request: OperatorRequest) {
        let OperatorRequest {
            instance: name,
            command,
            requester,
            reply,
        } = request;
        let index = match self.operator_target(operator, &name) {
            Ok(index) => index,
            Err(refused) => {
                let _client_gone = reply.send(Err(refused));
                return;
            }
        };
        let now = Instant::now();
        let answer = match command {
            OperatorCommand::Router(command) => {
                self.apply_command(index, command, requester, now).await
            }
            OperatorCommand::Drill => match Drill::start(&mut self.instances[index].router, now) {
                Ok(drill) => {
                    self.instances[index].operator.demoted = Some(mark(requester));
                    self.record(index, "drill started".to_owned(), Some(requester));
                    self.drive(index, now).await;
                    self.publish_status();
                    operator.drills.push(RunningDrill {
                        instance: name,
                        drill,
                        reply,
                    });
                    operator.next_poll = Some(Instant::now() + DRILL_POLL);
                    return;
                }
                Err(refused) => Err(rejected(format!("instance {name}: {refused}"))),
            },
        };
        let _client_gone = reply.send(answer);
    }

    /// The running instance `name`, free for a command.
    fn operator_target(&self, operator: &Operator, name: &str) -> Result<usize, RequestError> {
        if let Some(index) = self.instances.iter().position(|i| i.config.name == name) {
            if operator.running(name) {
                return Err(rejected(format!(
                    "a drill is running on instance {name}; wait for its report"
                )));
            }
            return Ok(index);
        }
        if self
            .waiting
            .iter()
            .any(|waiting| waiting.config.name == name)
        {
            return Err(rejected(format!(
                "instance {name} is configured but not running (waiting for its interface or \
                 address, or a start retry)"
            )));
        }
        Err(RequestError::new(
            ErrorCode::UnknownInstance,
            format!("no instance {name:?} is configured"),
        ))
    }

    async fn apply_command(
        &mut self,
        index: usize,
        command: Command,
        requester: Requester,
        now: Instant,
    ) -> Result<ResponseBody, RequestError> {
        let name = self.instances[index].config.name.clone();
        let effect = self.instances[index]
            .router
            .handle_command(command, now)
            .map_err(|refused| rejected(format!("instance {name}: {refused}")))?;
        let marks = &mut self.instances[index].operator;
        match command {
            Command::Demote => marks.demoted = Some(mark(requester)),
            Command::OverridePriority(_) => marks.priority_override = Some(mark(requester)),
            Command::Promote | Command::ResetPriority => {}
        }
        let what = format!("{command} ({})", effect_words(effect));
        self.record(index, what, Some(requester));
        self.drive(index, now).await;
        self.publish_status();
        let status = self.instances[index].router.status();
        Ok(ResponseBody::Command(CommandReply::new(
            &name,
            command.to_string(),
            effect,
            &status,
        )))
    }

    async fn poll_drills(&mut self, operator: &mut Operator) {
        for mut running in std::mem::take(&mut operator.drills) {
            let Some(index) = self
                .instances
                .iter()
                .position(|instance| instance.config.name == running.instance)
            else {
                let _client_gone = running.reply.send(Err(rejected(format!(
                    "instance {} stopped during the drill (reload?)",
                    running.instance
                ))));
                continue;
            };
            let now = Instant::now();
            let progress = running.drill.poll(&mut self.instances[index].router, now);
            self.drive(index, now).await;
            match progress {
                DrillProgress::Waiting { .. } => operator.drills.push(running),
                DrillProgress::Finished(report) => {
                    let status = self.instances[index].router.status();
                    let result = DrillResult::new(&running.instance, &report, &status);
                    self.record(index, result.summary(), None);
                    self.publish_status();
                    let _client_gone = running.reply.send(Ok(ResponseBody::Drill(result)));
                }
            }
        }
        operator.next_poll = (!operator.drills.is_empty()).then(|| Instant::now() + DRILL_POLL);
    }

    /// A reload changed instance `index`: its priority override (if any) ends.
    pub(super) async fn clear_priority_override(&mut self, index: usize) {
        let now = Instant::now();
        let cleared = self.instances[index]
            .router
            .handle_command(Command::ResetPriority, now);
        if cleared == Ok(Effect::Applied) {
            self.record(
                index,
                "priority reset (a reload changed the instance)".to_owned(),
                None,
            );
            self.drive(index, now).await;
        }
    }

    fn record(&self, index: usize, what: String, requester: Option<Requester>) {
        let config = &self.instances[index].config;
        self.bus.publish(DaemonEvent::Operator {
            instance: config.name.clone(),
            interface: config.interface.clone(),
            vrid: config.vrid,
            what,
            requester,
        });
    }
}

fn mark(requester: Requester) -> OperatorMark {
    OperatorMark {
        by: requester,
        at_ms: unix_ms_now(),
    }
}

fn effect_words(effect: Effect) -> &'static str {
    match effect {
        Effect::Applied => "applied",
        Effect::AlreadyInEffect => "already in effect",
    }
}
