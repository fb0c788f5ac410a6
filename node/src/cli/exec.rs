//! `kiln exec`: run one program with given gas, arguments, entry pc and profile.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use kiln_pvm::host_calls::{codes, HostCall, BASE_GAS};
use kiln_pvm::{Backend, Code, ExitReason, Profile, Program, StandardProgram, Vm};

/// How to read the input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Standard program if it parses as one, else service code, else a raw code blob.
    Auto,
    /// A raw GP code blob: no memory, registers as given.
    Blob,
    /// A GP standard program.
    Standard,
    /// Service code: length-prefixed metadata then a standard program.
    Service,
}

/// Options of one `kiln exec` run.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Profile to decode and run with.
    pub profile: Profile,
    /// Initial gas.
    pub gas: i64,
    /// Entry pc.
    pub pc: u32,
    /// Argument bytes (standard programs).
    pub args: Vec<u8>,
    /// Register overrides `(index, value)`.
    pub regs: Vec<(usize, u64)>,
    /// Input format.
    pub format: InputFormat,
    /// Print every executed instruction with the gas left (interpreter only).
    pub trace: bool,
    /// The backend to run on.
    pub backend: Backend,
}

/// The outcome of `kiln exec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecReport {
    /// How the run ended.
    pub exit: ExitReason,
    /// Gas consumed (initial − final, never negative).
    pub gas_used: i64,
    /// Final pc.
    pub pc: u32,
    /// Final registers.
    pub regs: [u64; 13],
    /// Host calls served.
    pub host_calls: u64,
}

fn instantiate(bytes: &[u8], opts: &ExecOptions) -> Result<Vm> {
    if opts.trace && opts.backend == Backend::Recompiler {
        bail!("--trace needs the interpreter (use --backend interpreter)");
    }
    // Tracing observes every instruction, which only the interpreter can do.
    let backend = if opts.trace {
        Backend::Interpreter
    } else {
        opts.backend
    };
    let prepare = |program: Program| -> Result<Code> {
        Code::prepare(Arc::new(program), backend).context("compiling the program")
    };
    let standard = |p: StandardProgram| -> Result<Vm> {
        let code = prepare(p.decode(opts.profile).context("decoding the code blob")?)?;
        Ok(p.instantiate(&code, &opts.args, opts.pc, opts.gas)?)
    };
    let blob = || -> Result<Vm> {
        let program =
            Program::from_blob_bytes(bytes, opts.profile).context("loading the code blob")?;
        let mut vm = prepare(program)?.instantiate()?;
        vm.set_gas(opts.gas);
        vm.set_pc(opts.pc);
        Ok(vm)
    };
    let mut vm = match opts.format {
        InputFormat::Blob => blob()?,
        InputFormat::Standard => standard(StandardProgram::parse(bytes)?)?,
        InputFormat::Service => standard(StandardProgram::parse_service_code(bytes)?.1)?,
        InputFormat::Auto => {
            if let Ok(p) = StandardProgram::parse(bytes) {
                standard(p)?
            } else if let Ok((_, p)) = StandardProgram::parse_service_code(bytes) {
                standard(p)?
            } else {
                blob()?
            }
        }
    };
    for &(reg, value) in &opts.regs {
        if reg >= 13 {
            bail!("register r{reg} does not exist (r0..r12)");
        }
        vm.set_reg(reg, value);
    }
    Ok(vm)
}

/// Runs the program in `path`; host calls other than `gas` and `log` answer WHAT.
pub fn exec(path: &Path, opts: &ExecOptions, out: &mut dyn std::io::Write) -> Result<ExecReport> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    exec_bytes(&bytes, opts, out)
}

/// As [`exec`], on bytes already read.
pub fn exec_bytes(
    bytes: &[u8],
    opts: &ExecOptions,
    out: &mut dyn std::io::Write,
) -> Result<ExecReport> {
    let mut vm = instantiate(bytes, opts)?;
    let program = vm.program().clone();
    let mut host_calls = 0u64;
    let mut io_error = None;
    let exit = loop {
        let exit = if let (true, Vm::Interpreter(vm)) = (opts.trace, &mut vm) {
            vm.run_traced(&mut |index, gas| {
                let insn = program.instruction(index);
                if let Err(e) = writeln!(
                    out,
                    "{:>8}  gas={gas:<12} {}",
                    insn.pc,
                    kiln_pvm::asm::format_instruction(&insn)
                ) {
                    io_error.get_or_insert(e);
                }
            })
        } else {
            vm.run()
        };
        let ExitReason::HostCall(id) = exit else {
            break exit;
        };
        host_calls += 1;
        if vm.gas() < BASE_GAS as i64 {
            break ExitReason::OutOfGas;
        }
        vm.set_gas(vm.gas() - BASE_GAS as i64);
        let result = match HostCall::from_id(id, opts.profile.host_calls) {
            Some(HostCall::Gas) => vm.gas() as u64,
            Some(HostCall::Log) => {
                let (ptr, len) = (vm.reg(10) as u32, vm.reg(11).min(1 << 16) as usize);
                let mut msg = vec![0u8; len];
                if vm.memory().read(ptr, &mut msg).is_ok() {
                    writeln!(out, "log: {}", String::from_utf8_lossy(&msg))?;
                }
                codes::WHAT
            }
            _ => codes::WHAT,
        };
        if opts.trace {
            writeln!(out, "host call {id} -> {result:#x}")?;
        }
        vm.set_reg(7, result);
    };
    if let Some(e) = io_error {
        return Err(e.into());
    }
    Ok(ExecReport {
        exit,
        gas_used: (opts.gas - vm.gas().max(0)).max(0),
        pc: vm.pc(),
        regs: vm.regs(),
        host_calls,
    })
}

/// Prints a report as `kiln exec` does.
pub fn print_report(report: &ExecReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let exit = match report.exit {
        ExitReason::Halt => "halt".to_string(),
        ExitReason::Panic => "panic".to_string(),
        ExitReason::OutOfGas => "out-of-gas".to_string(),
        ExitReason::PageFault(a) => format!("page-fault at {a:#x}"),
        ExitReason::HostCall(id) => format!("host-call {id}"),
    };
    writeln!(out, "exit: {exit}")?;
    writeln!(out, "gas used: {}", report.gas_used)?;
    writeln!(out, "pc: {}", report.pc)?;
    writeln!(out, "host calls: {}", report.host_calls)?;
    for (i, r) in report.regs.iter().enumerate() {
        writeln!(out, "r{i:<2} = {r:#018x} ({r})")?;
    }
    Ok(())
}
