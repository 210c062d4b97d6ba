//! The `xvrrp` binary: parse the command line and dispatch.

use std::process::ExitCode;

use clap::Parser as _;
use vrrp_user::cli::{Cli, Command, RunArgs};
use vrrp_user::config::{self, Mode, SystemInterfaces, check};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => {
            let outcome = check::check_config(&args.path, &SystemInterfaces, args.json);
            print!("{}", outcome.output);
            ExitCode::from(outcome.exit_code)
        }
        Command::Run(args) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                // The error may list several configuration problems, each with its severity.
                eprintln!("xvrrp: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let loaded = config::load(&args.config, &SystemInterfaces, Mode::Run)?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    anyhow::bail!("daemon runtime not yet wired")
}
