//! The `kiln` command line: argument parsing and one module per subcommand.

pub mod exec;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use kiln_pvm::Profile;

use crate::conformance::{self, Backend};

/// Command-line arguments.
#[derive(Parser)]
#[command(name = "kiln", version, about = "Kiln: a JAM service-execution engine")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// The reference interpreter.
    Interpreter,
    /// The x86-64 recompiler.
    Recompiler,
    /// Every backend this build has.
    All,
}

/// The backend `kiln exec` runs on.
#[derive(Clone, Copy, ValueEnum)]
enum ExecBackendArg {
    /// The recompiler where available, else the interpreter.
    Auto,
    /// The reference interpreter.
    Interpreter,
    /// The x86-64 recompiler.
    Recompiler,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node: the chain's state, JSON-RPC and Prometheus metrics (Kiln's main job).
    Run(crate::run::RunOptions),
    /// Print a chain spec as self-contained JSON (code as hex), to edit and load with `--chain`.
    BuildSpec {
        /// Chain: `dev`, `tiny`, `full` or a chain-spec JSON file.
        #[arg(long, default_value = "dev")]
        chain: String,
    },
    /// Run PVM test vectors (files or directories) and report every difference.
    Conformance {
        /// Backend(s) to run on.
        #[arg(long, value_enum, default_value = "all")]
        backend: BackendArg,
        /// Profile; inferred from each file's format when omitted.
        #[arg(long, value_parser = parse_profile)]
        profile: Option<Profile>,
        /// Vector files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Assemble a text program into a code blob or standard program.
    Asm {
        /// Source file.
        input: PathBuf,
        /// Output file.
        #[arg(short, long)]
        output: PathBuf,
        /// Profile whose opcode numbering to use.
        #[arg(long, value_parser = parse_profile, default_value = "jam-0.7")]
        profile: Profile,
    },
    /// Link a statically linked RISC-V RV64E ELF into a PVM standard program.
    Link {
        /// ELF file (linked with `--emit-relocs --no-relax`).
        input: PathBuf,
        /// Output file (a GP standard program).
        #[arg(short, long)]
        output: PathBuf,
        /// Profile whose opcode numbering to use.
        #[arg(long, value_parser = parse_profile, default_value = "jam-0.7")]
        profile: Profile,
        /// Stack size in bytes.
        #[arg(long, default_value_t = 64 * 1024)]
        stack_size: u32,
        /// Entry symbol; repeat for several, at pc 0, 5, 10, … (a GP service:
        /// `--entry refine --entry accumulate`). Default: the ELF's entry address at pc 0.
        #[arg(long = "entry")]
        entries: Vec<String>,
    },
    /// Disassemble a code blob or standard program into assembler text.
    Disasm {
        /// Binary file.
        input: PathBuf,
        /// Profile whose opcode numbering to use.
        #[arg(long, value_parser = parse_profile, default_value = "jam-0.7")]
        profile: Profile,
    },
    /// Run a program and print its exit, gas used, pc and registers.
    Exec {
        /// Program file (code blob, standard program or service code).
        input: PathBuf,
        /// Profile.
        #[arg(long, value_parser = parse_profile, default_value = "jam-0.7")]
        profile: Profile,
        /// Initial gas.
        #[arg(long, default_value_t = 10_000_000)]
        gas: i64,
        /// Entry pc.
        #[arg(long, default_value_t = 0)]
        pc: u32,
        /// Arguments as hex (standard programs).
        #[arg(long, default_value = "")]
        args: String,
        /// Register value, `INDEX=VALUE` (repeatable).
        #[arg(long = "reg", value_parser = parse_reg)]
        regs: Vec<(usize, u64)>,
        /// Input format.
        #[arg(long, value_enum, default_value = "auto")]
        format: exec::InputFormat,
        /// Print every executed instruction with the gas left (runs on the interpreter).
        #[arg(long)]
        trace: bool,
        /// Backend to run on.
        #[arg(long, value_enum, default_value = "auto")]
        backend: ExecBackendArg,
    },
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::from_name(s).ok_or_else(|| {
        format!(
            "unknown profile {s:?}: use jam-0.7, gas-draft or jam-0.8, optionally +per-instruction or +pipeline"
        )
    })
}

fn parse_number(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("{s:?} is not a number: {e}"))
}

fn parse_reg(s: &str) -> Result<(usize, u64), String> {
    let (reg, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected INDEX=VALUE"))?;
    let reg: usize = reg
        .trim_start_matches('r')
        .parse()
        .map_err(|_| format!("{reg:?} is not a register index"))?;
    if reg >= 13 {
        return Err(format!("r{reg} does not exist (r0..r12)"));
    }
    Ok((reg, parse_number(value)?))
}

/// Decodes a hex string (optionally `0x`-prefixed).
pub fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() % 2 != 0 {
        anyhow::bail!("hex string has an odd number of digits");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16)
                .with_context(|| format!("invalid hex digits {:?}", &s[i..i + 2]))
        })
        .collect()
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Run(options) => {
            crate::run::run_node(options, &mut stdout)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::BuildSpec { chain } => {
            let spec = kiln_chain_spec::ChainSpec::load(&chain)?;
            writeln!(stdout, "{}", spec.to_json())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Conformance {
            backend,
            profile,
            paths,
        } => {
            let backends: &[Backend] = match backend {
                BackendArg::Interpreter => &[Backend::Interpreter],
                BackendArg::Recompiler if !Backend::RECOMPILER_AVAILABLE => anyhow::bail!(
                    "this build has no recompiler (it needs x86-64 Linux); \
                     use --backend interpreter (or all)"
                ),
                BackendArg::Recompiler => &[Backend::Recompiler],
                BackendArg::All => conformance::all_backends(),
            };
            let summary = conformance::run_paths(&paths, backends, profile, &mut stdout)?;
            Ok(if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Asm {
            input,
            output,
            profile,
        } => {
            let source = std::fs::read_to_string(&input)
                .with_context(|| format!("reading {}", input.display()))?;
            let assembled = kiln_pvm::asm::assemble(&source, profile.isa)
                .with_context(|| format!("assembling {}", input.display()))?;
            std::fs::write(&output, assembled.to_bytes())
                .with_context(|| format!("writing {}", output.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Link {
            input,
            output,
            profile,
            stack_size,
            entries,
        } => {
            let elf =
                std::fs::read(&input).with_context(|| format!("reading {}", input.display()))?;
            let options = kiln_link::LinkOptions {
                isa: profile.isa,
                stack_size,
                entries,
            };
            let program = kiln_link::link(&elf, &options)
                .with_context(|| format!("linking {}", input.display()))?;
            std::fs::write(&output, program.to_bytes())
                .with_context(|| format!("writing {}", output.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Disasm { input, profile } => {
            use std::io::Write;
            let bytes =
                std::fs::read(&input).with_context(|| format!("reading {}", input.display()))?;
            let text = match kiln_pvm::CodeBlob::parse(&bytes) {
                Ok(blob) => kiln_pvm::asm::disassemble_blob(&blob, profile.isa),
                Err(blob_err) => {
                    let p = kiln_pvm::StandardProgram::parse(&bytes).with_context(|| {
                        format!("neither a code blob ({blob_err}) nor a standard program")
                    })?;
                    kiln_pvm::asm::disassemble_standard(&p, profile.isa)?
                }
            };
            stdout.write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Exec {
            input,
            profile,
            gas,
            pc,
            args,
            regs,
            format,
            trace,
            backend,
        } => {
            let opts = exec::ExecOptions {
                profile,
                gas,
                pc,
                args: parse_hex(&args)?,
                regs,
                format,
                trace,
                backend: match backend {
                    ExecBackendArg::Auto => Backend::Auto,
                    ExecBackendArg::Interpreter => Backend::Interpreter,
                    ExecBackendArg::Recompiler => Backend::Recompiler,
                },
            };
            let report = exec::exec(&input, &opts, &mut stdout)?;
            exec::print_report(&report, &mut stdout)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
