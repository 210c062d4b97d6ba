//! Command-line interface definitions (clap derive). Dispatch lives in `main.rs`.
//!
//! `status` and `events` talk to the running daemon over `[global] control_socket`
//! (docs/OPERATIONS.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{
    config::{DEFAULT_CONTROL_SOCKET, LogFormat},
    dataplane::XdpAttachMode,
};

/// xvrrp: a VRRPv3 (RFC 9568) router-redundancy daemon with an XDP data plane.
#[derive(Debug, Parser)]
#[command(name = "xvrrp", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run(RunArgs),
    /// Validate a configuration file and print every problem; with --peer, also compare it with
    /// the other router's file.
    ///
    /// Exit code 0: usable (warnings allowed); 1: errors; 2: a file cannot be read.
    CheckConfig(CheckConfigArgs),
    /// Translate a keepalived.conf into an xvrrp configuration (TOML on stdout).
    ///
    /// Everything that does not translate exactly is listed on stderr with its file and line.
    /// Exit code 0: translated; 2: the file (or an include) cannot be read or parsed.
    ImportKeepalived(ImportKeepalivedArgs),
    /// Show the running daemon's virtual routers: state, Master, priorities, timers, counters.
    Status(StatusArgs),
    /// Show state transitions and warnings, from the journal and live.
    Events(EventsArgs),
}

/// The daemon's control socket.
#[derive(Debug, Args)]
pub struct SocketArg {
    /// The daemon's `[global] control_socket`.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONTROL_SOCKET)]
    pub socket: PathBuf,
}

/// Arguments of `xvrrp status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this instance.
    #[arg(value_name = "INSTANCE")]
    pub instance: Option<String>,
    /// Print the status as JSON (schema in docs/OPERATIONS.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub socket: SocketArg,
}

/// Arguments of `xvrrp events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep running and print new events as they happen.
    #[arg(long)]
    pub follow: bool,
    /// Print JSON Lines, one event record per line (the journal's format).
    #[arg(long)]
    pub json: bool,
    /// Only events since then: a duration ago (90s, 15m, 2h, 7d) or a UTC time
    /// (2026-12-01T22:10:15Z).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    #[command(flatten)]
    pub socket: SocketArg,
}

/// Arguments of `xvrrp run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration file (TOML).
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
    /// Log format; overrides `[global] log_format`.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// How to attach the XDP program.
    #[arg(long, value_enum, default_value_t = XdpAttachMode::Auto)]
    pub xdp_mode: XdpAttachMode,
}

/// Arguments of `xvrrp check-config`.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The configuration file (TOML).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also compare with the peer router's file: what the two must agree on (VRIDs, virtual
    /// addresses, owners) and what differs (intervals, tied priorities, preempt, accept mode).
    #[arg(long, value_name = "OTHER")]
    pub peer: Option<PathBuf>,
}

/// Arguments of `xvrrp import-keepalived`.
#[derive(Debug, Args)]
pub struct ImportKeepalivedArgs {
    /// The keepalived configuration, e.g. /etc/keepalived/keepalived.conf.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Look absolute `include` paths up under this directory (a configuration copied from
    /// another machine).
    #[arg(long, value_name = "DIR")]
    pub include_root: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_parses_its_options() {
        let cli = Cli::try_parse_from([
            "xvrrp",
            "run",
            "--config",
            "/etc/xvrrp.toml",
            "--log-format",
            "json",
            "--xdp-mode",
            "generic",
        ])
        .expect("valid arguments");
        let Command::Run(args) = cli.command else {
            panic!("expected run, got {:?}", cli.command);
        };
        assert_eq!(args.config, PathBuf::from("/etc/xvrrp.toml"));
        assert_eq!(args.log_format, Some(LogFormat::Json));
        assert_eq!(args.xdp_mode, XdpAttachMode::Generic);
    }

    #[test]
    fn run_requires_a_config_and_defaults_to_auto() {
        assert!(Cli::try_parse_from(["xvrrp", "run"]).is_err());
        let cli = Cli::try_parse_from(["xvrrp", "run", "--config", "x.toml"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(args.xdp_mode, XdpAttachMode::Auto);
        assert_eq!(args.log_format, None);
    }

    #[test]
    fn status_and_events_take_their_options() {
        let cli = Cli::try_parse_from(["xvrrp", "status", "lan", "--json", "--socket", "/x.sock"])
            .unwrap();
        let Command::Status(args) = cli.command else {
            panic!("expected status");
        };
        assert_eq!(args.instance.as_deref(), Some("lan"));
        assert!(args.json);
        assert_eq!(args.socket.socket, PathBuf::from("/x.sock"));
        let cli = Cli::try_parse_from(["xvrrp", "events", "--follow", "--since", "15m"]).unwrap();
        let Command::Events(args) = cli.command else {
            panic!("expected events");
        };
        assert!(args.follow && !args.json);
        assert_eq!(args.since.as_deref(), Some("15m"));
        assert_eq!(args.socket.socket, PathBuf::from(DEFAULT_CONTROL_SOCKET));
    }

    #[test]
    fn check_config_takes_a_path_and_json() {
        let cli = Cli::try_parse_from(["xvrrp", "check-config", "x.toml", "--json"]).unwrap();
        let Command::CheckConfig(args) = cli.command else {
            panic!("expected check-config");
        };
        assert_eq!(args.path, PathBuf::from("x.toml"));
        assert!(args.json);
        assert_eq!(args.peer, None);
        let cli =
            Cli::try_parse_from(["xvrrp", "check-config", "--peer", "r2.toml", "r1.toml"]).unwrap();
        let Command::CheckConfig(args) = cli.command else {
            panic!("expected check-config");
        };
        assert_eq!(args.peer, Some(PathBuf::from("r2.toml")));
        assert_eq!(args.path, PathBuf::from("r1.toml"));
    }
}
