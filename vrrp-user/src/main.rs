//! The `xvrrp` binary: parse the command line and dispatch.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use tracing_subscriber::{EnvFilter, fmt};
use vrrp_user::{
    cli::{Cli, Command, RunArgs},
    config::{self, LogFormat, Mode, SystemInterfaces, check},
    daemon::{self, events::EventBus},
    import,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => {
            let outcome = check::check_config(&args.path, &SystemInterfaces, args.json);
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
    }
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
    runtime.block_on(daemon::run(options, loaded.config, EventBus::new(1024)))
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
