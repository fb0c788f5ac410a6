//! The `kiln` command-line tool.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kiln_node::cli::Cli::parse();
    match kiln_node::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiln: {e:#}");
            ExitCode::from(2)
        }
    }
}
