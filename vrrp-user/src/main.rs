//! The `xvrrp` binary: parse the command line and dispatch.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use tokio::sync::watch;
use tracing_subscriber::{EnvFilter, fmt};
use vrrp_user::{
    cli::{Cli, Command, EventsArgs, RunArgs, StatusArgs},
    config::{self, LogFormat, Mode, SystemInterfaces, check, peer},
    daemon::{self, events::EventBus},
    import,
    ops::{
        self,
        client::Client,
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
    }
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
    let mut client = Client::connect(&args.socket.socket)?;
    client.send(&Request::Status {
        instance: args.instance.clone(),
    })?;
    let context = || match &args.instance {
        Some(instance) => format!("status of instance {instance}"),
        None => "status".to_owned(),
    };
    match client.next_body().with_context(context)? {
        Some(ResponseBody::Status(report)) if args.json => {
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Some(ResponseBody::Status(report)) => print!("{}", status::render(&report, unix_ms_now())),
        other => anyhow::bail!("{}: unexpected answer {other:?}", context()),
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
            ResponseBody::Status(_) | ResponseBody::Error { .. } => {
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
    init_logging(args.log_format.unwrap_or(loaded.config.global.log_format));
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let options = daemon::RunOptions {
        config_path: args.config.clone(),
        xdp_mode: args.xdp_mode,
    };
    // One thread: the daemon is one event loop; the kernel does the per-packet work.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the tokio runtime")?;
    runtime.block_on(async {
        let bus = EventBus::new(1024);
        let (status_tx, status_rx) = watch::channel(StatusSnapshot::default());
        let _ops = ops::start(&loaded.config.global, &bus, status_rx)
            .await
            .context("start the operations interface")?;
        daemon::run(options, loaded.config, bus, status_tx).await
    })
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
