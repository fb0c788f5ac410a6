//! Running one case and comparing the machine state with what it expects.

use std::collections::BTreeMap;
use std::sync::Arc;

use kiln_pvm::memory::PAGE_SIZE;
use kiln_pvm::{Access, Backend, Code, ExitReason, Profile, Program, Vm};

use super::vectors::{Case, Expect, Step};

/// Every backend this build can run vectors on.
pub fn all_backends() -> &'static [Backend] {
    if Backend::RECOMPILER_AVAILABLE {
        &[Backend::Interpreter, Backend::Recompiler]
    } else {
        &[Backend::Interpreter]
    }
}

/// The result of one case on one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// Everything matched.
    Passed,
    /// What differed, as `field: expected X, got Y` items.
    Failed(Vec<String>),
}

fn status_name(exit: Option<ExitReason>) -> &'static str {
    match exit {
        None => "not-run",
        Some(ExitReason::Halt) => "halt",
        Some(ExitReason::Panic) => "panic",
        Some(ExitReason::OutOfGas) => "out-of-gas",
        Some(ExitReason::PageFault(_)) => "page-fault",
        Some(ExitReason::HostCall(_)) => "ecalli",
    }
}

fn normalise_status(s: &str) -> &str {
    match s {
        "trap" => "panic",
        "host" | "hostcall" | "host-call" => "ecalli",
        "oog" => "out-of-gas",
        other => other,
    }
}

/// Runs `case` on `backend` (`Interpreter` or `Recompiler`) under `profile`.
pub fn run_case(case: &Case, profile: Profile, backend: Backend) -> CaseOutcome {
    let mut diffs = Vec::new();
    let program = match Program::from_blob_bytes(&case.program, profile) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            // A program the loader rejects behaves as an immediate panic with no gas used.
            return check_rejected(case, &e.to_string());
        }
    };
    if let Some(expected) = &case.block_gas_costs {
        let actual: BTreeMap<u32, u64> = program.block_costs().collect();
        for (pc, cost) in expected {
            match actual.get(pc) {
                Some(c) if c == cost => {}
                Some(c) => diffs.push(format!("block-gas-costs[{pc}]: expected {cost}, got {c}")),
                None => diffs.push(format!(
                    "block-gas-costs[{pc}]: expected {cost}, no block starts there"
                )),
            }
        }
    }
    let code = match Code::prepare(program, backend) {
        Ok(code) if code.backend() == backend => code,
        Ok(_) => {
            return CaseOutcome::Failed(vec![format!(
                "the {} backend is not available in this build",
                backend.name()
            )])
        }
        Err(e) => return CaseOutcome::Failed(vec![format!("cannot compile: {e}")]),
    };
    let mut vm = match code.instantiate() {
        Ok(vm) => vm,
        Err(e) => return CaseOutcome::Failed(vec![format!("cannot create instance: {e}")]),
    };
    vm.set_gas(case.initial_gas);
    vm.set_pc(case.initial_pc);
    let mut last: Option<ExitReason> = None;
    for (index, step) in case.steps.iter().enumerate() {
        match step {
            Step::Map {
                address,
                length,
                writable,
            } => {
                let access = if *writable {
                    Access::Write
                } else {
                    Access::Read
                };
                if let Err(e) = vm
                    .memory_mut()
                    .set_access(*address, u64::from(*length), access)
                {
                    diffs.push(format!("step {index}: map failed: {e}"));
                    return CaseOutcome::Failed(diffs);
                }
            }
            Step::Write(chunk) => {
                if let Err(e) = vm.memory_mut().host_write(chunk.address, &chunk.contents) {
                    diffs.push(format!("step {index}: write failed: {e}"));
                    return CaseOutcome::Failed(diffs);
                }
            }
            Step::SetReg { reg, value } => vm.set_reg(*reg, *value),
            Step::Run => last = Some(vm.run()),
            Step::Assert(expect) => compare(&vm, last, expect, index, &mut diffs),
        }
    }
    if diffs.is_empty() {
        CaseOutcome::Passed
    } else {
        CaseOutcome::Failed(diffs)
    }
}

fn check_rejected(case: &Case, error: &str) -> CaseOutcome {
    let mut diffs = Vec::new();
    for step in &case.steps {
        if let Step::Assert(e) = step {
            if normalise_status(&e.status) != "panic" {
                diffs.push(format!(
                    "status: expected {}, got load error ({error})",
                    e.status
                ));
            }
            if let Some(g) = e.gas {
                if g != case.initial_gas {
                    diffs.push(format!(
                        "gas: expected {g}, got {} (program rejected at load: {error})",
                        case.initial_gas
                    ));
                }
            }
        }
    }
    if case.block_gas_costs.is_some() && case.steps.is_empty() {
        diffs.push(format!("program rejected at load: {error}"));
    }
    if diffs.is_empty() {
        CaseOutcome::Passed
    } else {
        CaseOutcome::Failed(diffs)
    }
}

fn compare(
    vm: &Vm,
    exit: Option<ExitReason>,
    expect: &Expect,
    step: usize,
    diffs: &mut Vec<String>,
) {
    let at = |field: &str| format!("step {step} {field}");
    let actual_status = status_name(exit);
    if normalise_status(&expect.status) != actual_status {
        diffs.push(format!(
            "{}: expected {}, got {actual_status}",
            at("status"),
            expect.status
        ));
    }
    if let Some(pc) = expect.pc {
        if pc != vm.pc() {
            diffs.push(format!("{}: expected {pc}, got {}", at("pc"), vm.pc()));
        }
    }
    if let Some(gas) = expect.gas {
        if gas != vm.gas() {
            diffs.push(format!("{}: expected {gas}, got {}", at("gas"), vm.gas()));
        }
    }
    if let Some(regs) = &expect.regs {
        let actual = vm.regs();
        for (i, (e, a)) in regs.iter().zip(actual.iter()).enumerate() {
            if e != a {
                diffs.push(format!(
                    "{}: expected {e:#x}, got {a:#x}",
                    at(&format!("r{i}"))
                ));
            }
        }
    }
    if let Some(addr) = expect.page_fault_address {
        match exit {
            Some(ExitReason::PageFault(a)) if a == addr => {}
            Some(ExitReason::PageFault(a)) => diffs.push(format!(
                "{}: expected {addr:#x}, got {a:#x}",
                at("page-fault-address")
            )),
            _ => diffs.push(format!(
                "{}: expected {addr:#x}, got no page fault",
                at("page-fault-address")
            )),
        }
    }
    if let Some(id) = expect.hostcall {
        if exit != Some(ExitReason::HostCall(id)) {
            diffs.push(format!("{}: expected {id}, got {exit:?}", at("hostcall")));
        }
    }
    if let Some(chunks) = &expect.memory {
        compare_memory(vm, chunks, &at("memory"), diffs);
    }
}

/// Every accessible byte must equal the expected chunks (zero where none is given).
fn compare_memory(vm: &Vm, chunks: &[super::Chunk], label: &str, diffs: &mut Vec<String>) {
    let mut expected: BTreeMap<u32, u8> = BTreeMap::new();
    for chunk in chunks {
        for (i, b) in chunk.contents.iter().enumerate() {
            expected.insert(chunk.address.wrapping_add(i as u32), *b);
        }
    }
    let mut pages: Vec<u32> = vm.memory().accessible_pages().map(|(p, _)| p).collect();
    pages.extend(expected.keys().map(|a| a & !(PAGE_SIZE - 1)));
    pages.sort_unstable();
    pages.dedup();
    let mut mismatches = 0;
    let mut page = vec![0u8; PAGE_SIZE as usize];
    for base in pages {
        vm.memory().host_read(base, &mut page);
        for (i, &actual) in page.iter().enumerate() {
            let addr = base + i as u32;
            let want = expected.get(&addr).copied().unwrap_or(0);
            if want != actual {
                if mismatches < 4 {
                    diffs.push(format!(
                        "{label}[{addr:#x}]: expected {want:#04x}, got {actual:#04x}"
                    ));
                }
                mismatches += 1;
            }
        }
    }
    if mismatches > 4 {
        diffs.push(format!("{label}: {} more differing bytes", mismatches - 4));
    }
}
