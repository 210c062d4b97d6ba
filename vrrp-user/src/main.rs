//! The `xvrrp` binary: parse the command line and dispatch.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use tokio::sync::{mpsc, watch};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt};
use vrrp_user::{
    cli::{
        CleanupArgs, Cli, Command, EventsArgs, InstanceArgs, PlanArgs, PlanFormat, PriorityArgs,
        RunArgs, StatusArgs,
    },
    config::{self, LogFormat, Mode, SystemInterfaces, check, peer},
    daemon::{self, capabilities, events::EventBus, realtime},
    import,
    ops::{
        self,
        client::Client,
        plan::{self, Plan},
        protocol::{Request, ResponseBody},
        status::{self, StatusSnapshot},
        time::{parse_since, unix_ms_now},
    },
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => {
            let outcome = match &args.peer {
                Some(peer) => peer::check_peer(&args.path, peer, &SystemInterfaces, args.json),
                None => check::check_config(&args.path, &SystemInterfaces, args.json),
            };
            print!("{}", outcome.output);
            ExitCode::from(outcome.exit_code)
        }
        Command::ImportKeepalived(args) => {
            match import::import_keepalived(&args.path, args.include_root.as_deref()) {
                Ok(imported) => {
                    for note in &imported.notes {
                        eprintln!("note: {note}");
                    }
                    print!("{}", imported.toml);
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("xvrrp: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Run(args) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                // Logged and printed: the log may be JSON for a collector, stderr is for a human.
                tracing::error!(error = format!("{error:#}"), "xvrrp stopped");
                eprintln!("xvrrp: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Status(args) => report(show_status(&args)),
        Command::Events(args) => report(show_events(&args)),
        Command::Demote(args) => report(operate(&args, demote(&args))),
        Command::Promote(args) => report(operate(&args, promote(&args))),
        Command::Priority(args) => report(operate(&args.target, priority(&args))),
        Command::Drill(args) => report(operate(&args, drill(&args))),
        Command::Plan(args) => report(show_plan(&args)),
        Command::Cleanup(args) => report(cleanup(&args)),
        Command::LoadDataplane(args) => report(
            vrrp_user::dataplane::run_helper(&args.interface, args.xdp_mode, &args.bpffs)
                .with_context(|| format!("interface {}", args.interface)),
        ),
    }
}

/// Operator commands in flight: queued in the event loop behind up to this many others.
const OPERATOR_QUEUE: usize = 16;

fn demote(args: &InstanceArgs) -> Request {
    Request::Demote {
        instance: args.instance.clone(),
    }
}

fn promote(args: &InstanceArgs) -> Request {
    Request::Promote {
        instance: args.instance.clone(),
    }
}

fn drill(args: &InstanceArgs) -> Request {
    Request::Drill {
        instance: args.instance.clone(),
    }
}

fn priority(args: &PriorityArgs) -> Request {
    let instance = args.target.instance.clone();
    // clap checked the range; an out-of-range value cannot get here.
    match args.priority.and_then(|value| value.try_into().ok()) {
        Some(priority) => Request::Priority { instance, priority },
        None => Request::ResetPriority { instance },
    }
}

/// Sends an operator's `request` about `args.instance` and prints the answer.
fn operate(args: &InstanceArgs, request: Request) -> anyhow::Result<()> {
    let mut client = Client::connect(&args.socket.socket)?;
    client.send(&request)?;
    let context = || format!("instance {}", args.instance);
    match client.next_body().with_context(context)? {
        Some(ResponseBody::Command(reply)) if args.json => {
            println!("{}", serde_json::to_string_pretty(&reply)?);
        }
        Some(ResponseBody::Command(reply)) => print!("{}", reply.render()),
        Some(ResponseBody::Drill(result)) if args.json => {
            println!("{}", serde_json::to_string_pretty(&result)?);
        }
        Some(ResponseBody::Drill(result)) => print!("{}", result.render()),
        other => anyhow::bail!("{}: unexpected answer {other:?}", context()),
    }
    Ok(())
}

/// The exit code of a client command, printing its error.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xvrrp: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn show_status(args: &StatusArgs) -> anyhow::Result<()> {
    let report = fetch_status(&args.socket.socket, args.instance.clone())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", status::render(&report, unix_ms_now()));
    }
    Ok(())
}

/// The daemon's answer to `status` (of `instance`, or of all).
fn fetch_status(
    socket: &std::path::Path,
    instance: Option<String>,
) -> anyhow::Result<Box<status::StatusReport>> {
    let context = || match &instance {
        Some(instance) => format!("status of instance {instance}"),
        None => "status".to_owned(),
    };
    let mut client = Client::connect(socket)?;
    client.send(&Request::Status {
        instance: instance.clone(),
    })?;
    match client.next_body().with_context(context)? {
        Some(ResponseBody::Status(report)) => Ok(report),
        other => anyhow::bail!("{}: unexpected answer {other:?}", context()),
    }
}

fn cleanup(args: &CleanupArgs) -> anyhow::Result<()> {
    let _log_writer = init_logging(LogFormat::Text);
    let removed = vrrp_user::dataplane::remove_dead_pins(&args.bpffs)
        .with_context(|| format!("pins under {}", args.bpffs.display()))?;
    println!("{} pin directories removed", removed.len());
    Ok(())
}

fn show_plan(args: &PlanArgs) -> anyhow::Result<()> {
    // As `check-config` does: the plan may be made on another host than the routers'.
    let loaded = config::load(&args.config, &SystemInterfaces, Mode::Check)
        .with_context(|| format!("configuration {}", args.config.display()))?;
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| loaded.config.global.control_socket.clone());
    let status = fetch_status(&socket, None);
    let unreachable = status
        .as_ref()
        .map_err(|error| (socket.display().to_string(), error.root_cause().to_string()));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    let plan = Plan::new(
        &loaded.config,
        &args.config.display().to_string(),
        host,
        unreachable.map(|report| &**report),
    );
    match args.format {
        PlanFormat::Markdown => print!("{}", plan::render_markdown(&plan)),
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
    }
    Ok(())
}

fn show_events(args: &EventsArgs) -> anyhow::Result<()> {
    let since_ms = match &args.since {
        Some(text) => parse_since(text, unix_ms_now())?,
        None => 0,
    };
    let mut client = Client::connect(&args.socket.socket)?;
    client.send(&Request::Events {
        since_ms,
        follow: args.follow,
    })?;
    while let Some(body) = client.next_body().context("events")? {
        match body {
            ResponseBody::Event(record) if args.json => {
                println!("{}", serde_json::to_string(&record)?);
            }
            ResponseBody::Event(record) => println!("{}", record.line()),
            ResponseBody::Lost { events } => {
                eprintln!("xvrrp: {events} events were missed (this terminal reads too slowly)");
            }
            ResponseBody::End { .. } => return Ok(()),
            ResponseBody::Status(_)
            | ResponseBody::Command(_)
            | ResponseBody::Drill(_)
            | ResponseBody::Error { .. } => {
                anyhow::bail!("events: unexpected answer {body:?}")
            }
        }
    }
    if args.follow {
        anyhow::bail!("the daemon closed the connection (stopped?)");
    }
    Ok(())
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let loaded = config::load(&args.config, &SystemInterfaces, Mode::Run)?;
    let log_writer = init_logging(args.log_format.unwrap_or(loaded.config.global.log_format));
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let options = daemon::RunOptions {
        config_path: args.config.clone(),
        xdp_mode: args.xdp_mode,
    };
    // One thread for the protocol: the daemon is one event loop; the kernel does the per-packet
    // work. It is this thread, so it gets the real-time priority before any other starts; the
    // operations layer (journal, clients, hooks) gets a thread of its own, at normal priority.
    realtime::apply_and_log(realtime::RealtimeRequest {
        priority: loaded.config.global.realtime_priority,
        lock_memory: loaded.config.global.lock_memory,
    });
    let bus = EventBus::new(1024);
    let (status_tx, status_rx) = watch::channel(StatusSnapshot::default());
    let (commands_tx, commands_rx) = mpsc::channel(OPERATOR_QUEUE);
    let ops = ops::thread::spawn(&loaded.config, &bus, status_rx, commands_tx)
        .context("start the operations interface")?;
    drop_unneeded_capabilities();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the tokio runtime")?;
    let outcome = runtime.block_on(daemon::run(
        options,
        loaded.config,
        bus,
        status_tx,
        commands_rx,
    ));
    ops.stop();
    match outcome? {
        daemon::Stop::Shutdown => Ok(()),
        daemon::Stop::Handover => {
            // Everything logged so far reaches stderr before the successor replaces us.
            drop(log_writer);
            Err(daemon::exec_successor())
        }
    }
}

/// Logs what [`capabilities::drop_unneeded_capabilities`] did; a refusal is not fatal (a
/// supervisor that withheld CAP_SETPCAP has normally limited the bounding set itself).
fn drop_unneeded_capabilities() {
    let kept: Vec<&str> = capabilities::KEPT_CAPABILITIES
        .iter()
        .map(|(_, name)| *name)
        .collect();
    match capabilities::drop_unneeded_capabilities() {
        Ok(outcome) => tracing::info!(
            dropped = outcome.dropped,
            bounding_set = format!("{:016x}", outcome.bounding_set),
            kept = kept.join(","),
            "capability bounding set reduced to what the daemon uses"
        ),
        Err(error) => tracing::warn!(
            error = format!("{:#}", anyhow::Error::from(error)),
            kept = kept.join(","),
            "could not reduce the capability bounding set"
        ),
    }
}

/// Log lines go to stderr from a writer thread: a write that waits (a journald or pipe reader
/// that is slow, a loaded disk behind a redirect) must not delay the event loop's adverts. The
/// queue is not lossy: only a backlog of [`LOG_QUEUE_LINES`] would make the loop wait. Keep
/// the guard until exit: dropping it flushes the queue.
/// Lines the log writer queues: a storm of 255 transitions (a line each, and a few more) fits
/// many times over. The queue is allocated whole (about 40 bytes a line), so tracing-appender's
/// default of 128k lines would add 5 MB to the daemon's resident size.
const LOG_QUEUE_LINES: usize = 8192;

fn init_logging(format: LogFormat) -> WorkerGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .thread_name("xvrrp-log")
        .finish(std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}
