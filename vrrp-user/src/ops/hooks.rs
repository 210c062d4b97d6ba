//! Hooks: the executables `[[global.hook]]` and `[[instance.hook]]` name, run on every
//! transition of an instance, with the transition in their environment.
//!
//! A dispatcher task reads the event bus and puts each transition in its instance's
//! [`CollapsingQueue`]; one worker task per instance takes them out in order and runs the
//! global hooks, then the instance's own, one after the other. So the hooks of one instance
//! see its transitions strictly in order and always the newest one; a slow or hung hook delays
//! only its own instance's hooks, and never the event loop, which only publishes on the bus.
//! No shell is involved: the program and its arguments are fixed strings from the file, and
//! everything about the event goes into environment variables.

use std::{
    collections::{BTreeMap, HashMap},
    process::Stdio,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, BufReader},
    process::Command,
    sync::{
        Notify,
        broadcast::{self, error::RecvError},
    },
    task::JoinSet,
    time::timeout,
};

use super::{
    OpsState,
    hook_queue::{CollapsingQueue, HOOK_QUEUE_CAPACITY, Queued},
    journal::{EventKind, EventRecord},
    metrics::HookResult,
    time::unix_ms_now,
};
use crate::{
    config::{AddressFamily, HookConfig, NotifyConfig},
    daemon::events::DaemonEvent,
    proto::State,
};

/// The only `PATH` a hook gets: the daemon's environment is not passed on.
const HOOK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Output lines logged per stream and run; more are read and discarded.
const MAX_LOGGED_LINES: usize = 50;
/// Longer output lines are cut here.
const MAX_LINE_BYTES: u64 = 1024;
/// After a kill, how long to wait for the kernel to reap the hook.
const REAP_TIMEOUT: Duration = Duration::from_secs(1);

/// A transition as the hooks see it.
#[derive(Clone, Debug)]
struct HookEvent {
    /// The event record, one schema with the journal and the webhook.
    record: EventRecord,
    /// "IPv4" or "IPv6", when known.
    family: Option<String>,
}

/// One instance's waiting transitions and the signal that there are some.
struct Lane {
    queue: Mutex<CollapsingQueue<HookEvent>>,
    wake: Notify,
}

/// What the dispatcher knows about the instances.
struct Dispatcher {
    notify: NotifyConfig,
    /// Families of the instances configured at start, for events that precede their first
    /// status snapshot.
    families: BTreeMap<String, AddressFamily>,
    state: Arc<OpsState>,
    lanes: HashMap<String, Arc<Lane>>,
    /// The newest state queued per instance, to catch up after the bus dropped events.
    queued_state: HashMap<String, State>,
    workers: JoinSet<()>,
}

/// Whether `notify` has any hook at all.
pub(crate) fn any_hooks(notify: &NotifyConfig) -> bool {
    !notify.hooks.is_empty() || !notify.instance_hooks.is_empty()
}

/// Runs the hooks of `notify` for the transitions on `events` until the bus closes; the
/// workers stop when this future is dropped.
pub(crate) async fn run(
    mut events: broadcast::Receiver<DaemonEvent>,
    notify: NotifyConfig,
    families: BTreeMap<String, AddressFamily>,
    state: Arc<OpsState>,
) {
    let mut dispatcher = Dispatcher {
        notify,
        families,
        state,
        lanes: HashMap::new(),
        queued_state: HashMap::new(),
        workers: JoinSet::new(),
    };
    loop {
        match events.recv().await {
            Ok(event @ DaemonEvent::Transition { .. }) => {
                dispatcher.transition(EventRecord::from_event(&event, unix_ms_now()));
            }
            Ok(_) => {}
            Err(RecvError::Lagged(lost)) => dispatcher.catch_up(lost),
            Err(RecvError::Closed) => return,
        }
    }
}

impl Dispatcher {
    /// Queues `record` for its instance's hooks, if it has any.
    fn transition(&mut self, record: EventRecord) {
        let (Some(instance), Some(to)) = (record.instance.clone(), record.to) else {
            return;
        };
        let Some(lane) = self.lane(&instance) else {
            return;
        };
        let family = self.family(&instance);
        self.queued_state.insert(instance.clone(), to);
        let collapsed = lane
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(HookEvent { record, family });
        if collapsed > 0 {
            self.state
                .notify_metrics
                .hook_collapsed(u64::from(collapsed));
            tracing::warn!(
                instance,
                "hooks are behind: a waiting transition was collapsed into the newest one"
            );
        }
        lane.wake.notify_one();
    }

    /// The bus dropped `lost` events: tell every instance's hooks the state the newest
    /// snapshot shows, where it differs from what they were last given.
    fn catch_up(&mut self, lost: u64) {
        tracing::warn!(
            lost,
            "hooks missed events; catching up from the status snapshot"
        );
        let now: Vec<(String, String, u8, State)> = self
            .state
            .status
            .borrow()
            .instances
            .iter()
            .map(|i| (i.name.clone(), i.interface.clone(), i.vrid, i.state))
            .collect();
        for (instance, interface, vrid, state) in now {
            let from = self.queued_state.get(&instance).copied();
            if from == Some(state) {
                continue;
            }
            let mut record = EventRecord::empty(unix_ms_now(), EventKind::Transition);
            record.instance = Some(instance);
            record.interface = Some(interface);
            record.vrid = Some(vrid);
            record.from = Some(from.unwrap_or(State::Initialize));
            record.to = Some(state);
            record.reason = Some(format!(
                "{lost} events were lost before the hooks saw them; this is the state now"
            ));
            self.transition(record);
        }
    }

    /// The lane of `instance`, started on its first transition; `None` without hooks.
    fn lane(&mut self, instance: &str) -> Option<Arc<Lane>> {
        if let Some(lane) = self.lanes.get(instance) {
            return Some(Arc::clone(lane));
        }
        let hooks: Vec<HookConfig> = self
            .notify
            .hooks
            .iter()
            .chain(
                self.notify
                    .instance_hooks
                    .get(instance)
                    .into_iter()
                    .flatten(),
            )
            .cloned()
            .collect();
        if hooks.is_empty() {
            return None;
        }
        let lane = Arc::new(Lane {
            queue: Mutex::new(CollapsingQueue::new(HOOK_QUEUE_CAPACITY)),
            wake: Notify::new(),
        });
        self.lanes.insert(instance.to_owned(), Arc::clone(&lane));
        self.workers
            .spawn(work(Arc::clone(&lane), hooks, Arc::clone(&self.state)));
        Some(lane)
    }

    fn family(&self, instance: &str) -> Option<String> {
        let snapshot = self.state.status.borrow();
        snapshot
            .instances
            .iter()
            .find(|status| status.name == instance)
            .map(|status| status.family.clone())
            .or_else(|| self.families.get(instance).map(ToString::to_string))
    }
}

/// One instance's worker: every transition, in order, through every hook that wants it.
async fn work(lane: Arc<Lane>, hooks: Vec<HookConfig>, state: Arc<OpsState>) {
    loop {
        let next = lane
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let Some(queued) = next else {
            // A push since the pop left a permit, so this cannot miss one.
            lane.wake.notified().await;
            continue;
        };
        let Some(to) = queued.item.record.to else {
            continue;
        };
        let instance = queued.item.record.instance.as_deref().unwrap_or_default();
        let wanted: Vec<&HookConfig> = hooks.iter().filter(|hook| hook.wants(to)).collect();
        let env = match hook_env(&queued) {
            Ok(env) => env,
            Err(variable) => {
                tracing::error!(
                    instance,
                    variable,
                    "hook environment would hold a NUL byte; hooks not run"
                );
                for _ in &wanted {
                    state.notify_metrics.hook_ran(HookResult::Failed);
                }
                continue;
            }
        };
        for hook in wanted {
            let result = run_hook(hook, &env, instance).await;
            state.notify_metrics.hook_ran(result);
        }
    }
}

/// The environment of a hook for `queued`; the name of a variable whose value has a NUL.
fn hook_env(queued: &Queued<HookEvent>) -> Result<Vec<(&'static str, String)>, &'static str> {
    let record = &queued.item.record;
    let text = |value: Option<String>| value.unwrap_or_default();
    let json = serde_json::to_string(record).unwrap_or_default();
    let env = vec![
        ("PATH", HOOK_PATH.to_owned()),
        ("XVRRP_INSTANCE", text(record.instance.clone())),
        ("XVRRP_VRID", text(record.vrid.map(|vrid| vrid.to_string()))),
        ("XVRRP_INTERFACE", text(record.interface.clone())),
        ("XVRRP_FAMILY", text(queued.item.family.clone())),
        ("XVRRP_FROM", text(record.from.map(|s| s.to_string()))),
        ("XVRRP_TO", text(record.to.map(|s| s.to_string()))),
        ("XVRRP_REASON", text(record.reason.clone())),
        ("XVRRP_PEER", text(record.peer.map(|p| p.to_string()))),
        ("XVRRP_COLLAPSED", queued.collapsed.to_string()),
        ("XVRRP_EVENT", json),
    ];
    match env.iter().find(|(_, value)| value.contains('\0')) {
        Some((name, _)) => Err(name),
        None => Ok(env),
    }
}

/// Runs `hook` once with `env`, logging its output, killing it (and its process group) at
/// its timeout.
async fn run_hook(hook: &HookConfig, env: &[(&'static str, String)], instance: &str) -> HookResult {
    let Some((program, args)) = hook.command.split_first() else {
        return HookResult::Failed;
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout also kills what it started.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            tracing::warn!(instance, hook = program, error = %err, "hook could not start");
            return HookResult::Failed;
        }
    };
    let pid = child.id();
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let finished = timeout(hook.timeout, async {
        let (status, (), ()) = tokio::join!(
            child.wait(),
            log_output(stdout, program, instance, false),
            log_output(stderr, program, instance, true),
        );
        status
    })
    .await;
    match finished {
        Ok(Ok(status)) if status.success() => {
            tracing::debug!(instance, hook = program, "hook done");
            HookResult::Ok
        }
        Ok(Ok(status)) => {
            tracing::warn!(instance, hook = program, %status, "hook failed");
            HookResult::Failed
        }
        Ok(Err(err)) => {
            tracing::warn!(instance, hook = program, error = %err, "hook wait failed");
            HookResult::Failed
        }
        Err(_elapsed) => {
            if let Some(pid) = pid {
                kill_process_group(pid);
            }
            let _reaped = timeout(REAP_TIMEOUT, child.wait()).await;
            tracing::warn!(
                instance,
                hook = program,
                timeout_ms = u64::try_from(hook.timeout.as_millis()).unwrap_or(u64::MAX),
                "hook killed at its timeout"
            );
            HookResult::Timeout
        }
    }
}

/// SIGKILL to the process group `pid` leads (the hook and whatever it started).
fn kill_process_group(pid: u32) {
    let Ok(group) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. The group cannot
    // have been reused: its leader is our unreaped child, or a member still holds its output.
    let rc = unsafe { libc::kill(-group, libc::SIGKILL) };
    if rc != 0 {
        tracing::debug!(pid, error = %std::io::Error::last_os_error(), "kill hook process group");
    }
}

/// Logs the lines of a hook's stdout or stderr (bounded in count and length) until it closes.
async fn log_output(
    stream: Option<impl AsyncRead + Unpin>,
    hook: &str,
    instance: &str,
    is_stderr: bool,
) {
    let Some(stream) = stream else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut logged = 0;
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if logged == MAX_LOGGED_LINES {
            continue;
        }
        logged += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if is_stderr {
            tracing::warn!(instance, hook, stream = "stderr", "{text}");
        } else {
            tracing::info!(instance, hook, stream = "stdout", "{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(reason: &str) -> Queued<HookEvent> {
        let mut record = EventRecord::empty(1_796_164_016_512, EventKind::Transition);
        record.instance = Some("lan".to_owned());
        record.interface = Some("eth0".to_owned());
        record.vrid = Some(51);
        record.from = Some(State::Backup);
        record.to = Some(State::Master);
        record.reason = Some(reason.to_owned());
        record.peer = "192.0.2.1".parse().ok();
        Queued {
            item: HookEvent {
                record,
                family: Some("IPv4".to_owned()),
            },
            collapsed: 2,
        }
    }

    #[test]
    fn the_environment_carries_the_transition_and_its_record() {
        let env: BTreeMap<_, _> = hook_env(&event("master down"))
            .unwrap()
            .into_iter()
            .collect();
        let get = |name: &str| env.get(name).map(String::as_str);
        assert_eq!(get("XVRRP_INSTANCE"), Some("lan"));
        assert_eq!(get("XVRRP_VRID"), Some("51"));
        assert_eq!(get("XVRRP_INTERFACE"), Some("eth0"));
        assert_eq!(get("XVRRP_FAMILY"), Some("IPv4"));
        assert_eq!(get("XVRRP_FROM"), Some("Backup"));
        assert_eq!(get("XVRRP_TO"), Some("Master"));
        assert_eq!(get("XVRRP_REASON"), Some("master down"));
        assert_eq!(get("XVRRP_PEER"), Some("192.0.2.1"));
        assert_eq!(get("XVRRP_COLLAPSED"), Some("2"));
        assert_eq!(get("PATH"), Some(HOOK_PATH));
        let json: EventRecord = serde_json::from_str(get("XVRRP_EVENT").unwrap()).unwrap();
        assert_eq!(json, event("master down").item.record);
    }

    #[test]
    fn a_nul_in_any_value_is_refused() {
        assert_eq!(hook_env(&event("bad\0reason")), Err("XVRRP_REASON"));
    }

    fn hook(script: &str, timeout: Duration) -> HookConfig {
        HookConfig {
            command: vec!["/bin/sh".to_owned(), "-c".to_owned(), script.to_owned()],
            timeout,
            states: Vec::new(),
        }
    }

    #[tokio::test]
    async fn results_are_ok_failed_or_timeout() {
        let env = hook_env(&event("x")).unwrap();
        let second = Duration::from_secs(5);
        assert_eq!(
            run_hook(&hook("test \"$XVRRP_TO\" = Master", second), &env, "lan").await,
            HookResult::Ok
        );
        assert_eq!(
            run_hook(&hook("exit 3", second), &env, "lan").await,
            HookResult::Failed
        );
        let missing = HookConfig {
            command: vec!["/nonexistent/hook".to_owned()],
            timeout: second,
            states: Vec::new(),
        };
        assert_eq!(run_hook(&missing, &env, "lan").await, HookResult::Failed);
    }

    #[tokio::test]
    async fn a_hung_hook_and_what_it_started_are_killed_at_the_timeout() {
        let env = hook_env(&event("x")).unwrap();
        let started = std::time::Instant::now();
        // The background sleep keeps stdout open: only killing the group ends the run.
        let result = run_hook(
            &hook("sleep 30 & echo started; wait", Duration::from_millis(300)),
            &env,
            "lan",
        )
        .await;
        assert_eq!(result, HookResult::Timeout);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}
