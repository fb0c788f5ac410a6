//! The `kiln` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use kiln_node::conformance::{self, Backend};
use kiln_pvm::Profile;

#[derive(Parser)]
#[command(name = "kiln", version, about = "Kiln: a JAM service-execution engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Interpreter,
    All,
}

#[derive(Subcommand)]
enum Command {
    /// Run PVM test vectors (files or directories) and report every difference.
    Conformance {
        /// Backend(s) to run on.
        #[arg(long, value_enum, default_value = "all")]
        backend: BackendArg,
        /// Profile (jam-0.7, gas-draft, jam-0.8, optionally +per-instruction/+pipeline);
        /// inferred from each file's format when omitted.
        #[arg(long, value_parser = parse_profile)]
        profile: Option<Profile>,
        /// Vector files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::from_name(s).ok_or_else(|| {
        format!("unknown profile {s:?}: use jam-0.7, gas-draft or jam-0.8, optionally +per-instruction or +pipeline")
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Conformance {
            backend,
            profile,
            paths,
        } => {
            let backends: &[Backend] = match backend {
                BackendArg::Interpreter => &[Backend::Interpreter],
                BackendArg::All => Backend::ALL,
            };
            let mut stdout = std::io::stdout().lock();
            match conformance::run_paths(&paths, backends, profile, &mut stdout) {
                Ok(s) if s.failed == 0 => ExitCode::SUCCESS,
                Ok(_) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("kiln conformance: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
