//! Command-line interface definitions (clap derive). Dispatch lives in `main.rs`.
//!
//! `status`, `events` and the operator commands (`demote`, `promote`, `priority`, `drill`) talk
//! to the running daemon over `[global] control_socket` (docs/OPERATIONS.md).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

use crate::{
    config::{DEFAULT_BPFFS, DEFAULT_CONFIG, DEFAULT_CONTROL_SOCKET, LogFormat},
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
    /// Release mastership now (priority-0 advert) and stay Backup until `promote`, even when no
    /// Master is heard: maintenance mode.
    Demote(InstanceArgs),
    /// End a demotion: back to the normal election with the configured (or overridden)
    /// priority.
    Promote(InstanceArgs),
    /// Override an instance's priority until `--reset`, a restart, or a reload that changes
    /// the instance.
    Priority(PriorityArgs),
    /// Switch over to the best Backup and back, and report how long there was no Master each
    /// way (needs preempt on; every wait is bounded).
    Drill(InstanceArgs),
    /// Remove the pinned programs and maps of interfaces that no longer exist (a daemon died
    /// and its interface, namespace or container went away), one line each. Pins of live
    /// interfaces, in any network namespace, are left alone. `run` does the same at start.
    Cleanup(CleanupArgs),
    /// Export the virtual routers (interfaces, VRIDs, addresses, MACs, priorities, modes) and,
    /// when the daemon answers, who is Master: Markdown for network documentation, or JSON.
    Plan(PlanArgs),
    /// Internal: `run` starts this to load an interface's data plane, pin it and exit; the
    /// daemon adopts the pins (the loader's memory stays out of the daemon).
    #[command(hide = true)]
    LoadDataplane(LoadDataplaneArgs),
}

/// Arguments of the internal `xvrrp load-dataplane`.
#[derive(Debug, Args)]
pub struct LoadDataplaneArgs {
    /// The interface.
    #[arg(long)]
    pub interface: String,
    /// Where the ingress data plane runs.
    #[arg(long, value_enum)]
    pub xdp_mode: XdpAttachMode,
    /// bpffs directory holding one pin directory per interface.
    #[arg(long)]
    pub bpffs: PathBuf,
}

/// Arguments of the commands that act on one instance.
#[derive(Debug, Args)]
pub struct InstanceArgs {
    /// The instance.
    #[arg(value_name = "INSTANCE")]
    pub instance: String,
    /// Print the daemon's answer as JSON (schema in docs/OPERATIONS.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub socket: SocketArg,
}

/// Arguments of `xvrrp priority`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).args(["priority", "reset"])))]
pub struct PriorityArgs {
    #[command(flatten)]
    pub target: InstanceArgs,
    /// The priority to use, 1..=254 (0 means resign and 255 is the address owner's).
    #[arg(value_name = "N", value_parser = clap::value_parser!(u8).range(1..=254))]
    pub priority: Option<u8>,
    /// Drop the override: back to the configured priority (with tracking).
    #[arg(long)]
    pub reset: bool,
}

/// Output format of `xvrrp plan`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Tables ready to paste into network documentation.
    #[default]
    Markdown,
    /// The plan as one JSON object (schema in docs/OPERATIONS.md).
    Json,
}

/// Arguments of `xvrrp plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Markdown)]
    pub format: PlanFormat,
    /// The configuration file (TOML).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The daemon's control socket; default: the configuration's `[global] control_socket`.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

/// The daemon's control socket.
#[derive(Debug, Args)]
pub struct SocketArg {
    /// The daemon's `[global] control_socket`.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONTROL_SOCKET)]
    pub socket: PathBuf,
}

/// Arguments of `xvrrp cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The pin root (`[global] bpffs`).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_BPFFS)]
    pub bpffs: PathBuf,
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
    fn the_data_plane_helper_is_reachable_under_the_name_run_spawns() {
        let cli = Cli::try_parse_from([
            "xvrrp",
            crate::dataplane::HELPER_COMMAND,
            "--interface",
            "eth0",
            "--xdp-mode",
            "auto",
            "--bpffs",
            "/sys/fs/bpf/xvrrp",
        ])
        .expect("the helper's arguments");
        let Command::LoadDataplane(args) = cli.command else {
            panic!("expected the helper, got {:?}", cli.command);
        };
        assert_eq!(args.interface, "eth0");
        assert_eq!(args.xdp_mode, XdpAttachMode::Auto);
        assert_eq!(args.bpffs, PathBuf::from("/sys/fs/bpf/xvrrp"));
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
    fn operator_commands_take_an_instance() {
        for (name, expect) in [("demote", 0), ("promote", 1), ("drill", 2)] {
            let cli = Cli::try_parse_from(["xvrrp", name, "lan", "--json"]).unwrap();
            let (got, args) = match cli.command {
                Command::Demote(args) => (0, args),
                Command::Promote(args) => (1, args),
                Command::Drill(args) => (2, args),
                other => panic!("expected {name}, got {other:?}"),
            };
            assert_eq!(got, expect);
            assert_eq!(args.instance, "lan");
            assert!(args.json);
            assert_eq!(args.socket.socket, PathBuf::from(DEFAULT_CONTROL_SOCKET));
            assert!(
                Cli::try_parse_from(["xvrrp", name]).is_err(),
                "{name} needs INSTANCE"
            );
        }
    }

    #[test]
    fn priority_takes_a_value_in_range_or_reset() {
        let cli = Cli::try_parse_from(["xvrrp", "priority", "lan", "250"]).unwrap();
        let Command::Priority(args) = cli.command else {
            panic!("expected priority");
        };
        assert_eq!(
            (args.target.instance.as_str(), args.priority, args.reset),
            ("lan", Some(250), false)
        );
        let cli =
            Cli::try_parse_from(["xvrrp", "priority", "lan", "--reset", "--socket", "/s"]).unwrap();
        let Command::Priority(args) = cli.command else {
            panic!("expected priority");
        };
        assert_eq!((args.priority, args.reset), (None, true));
        assert_eq!(args.target.socket.socket, PathBuf::from("/s"));
        for bad in [
            &["xvrrp", "priority", "lan"][..],
            &["xvrrp", "priority", "lan", "0"],
            &["xvrrp", "priority", "lan", "255"],
            &["xvrrp", "priority", "lan", "300"],
            &["xvrrp", "priority", "lan", "-5"],
            &["xvrrp", "priority", "lan", "100", "--reset"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn plan_defaults_to_markdown_of_the_installed_configuration() {
        let cli = Cli::try_parse_from(["xvrrp", "plan"]).unwrap();
        let Command::Plan(args) = cli.command else {
            panic!("expected plan");
        };
        assert_eq!(args.format, PlanFormat::Markdown);
        assert_eq!(args.config, PathBuf::from(DEFAULT_CONFIG));
        assert_eq!(args.socket, None);
        let cli = Cli::try_parse_from([
            "xvrrp", "plan", "--format", "json", "--config", "r1.toml", "--socket", "/x.sock",
        ])
        .unwrap();
        let Command::Plan(args) = cli.command else {
            panic!("expected plan");
        };
        assert_eq!(args.format, PlanFormat::Json);
        assert_eq!(args.config, PathBuf::from("r1.toml"));
        assert_eq!(args.socket, Some(PathBuf::from("/x.sock")));
        assert!(Cli::try_parse_from(["xvrrp", "plan", "--format", "html"]).is_err());
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
