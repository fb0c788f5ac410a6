//! RV64E instructions to PVM assembler text (`docs/link.md`): registers mapped in ABI order,
//! `x0` folded into immediate forms, calls and returns through the jump table, addresses
//! rewritten through relocations.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::riscv::{AluOp, BranchKind, Inst, LoadKind, StoreKind};
use crate::LinkError;

/// `R_RISCV_*` relocation types the translation reads.
pub(crate) mod reloc {
    pub const HI20: u32 = 26;
    pub const LO12_I: u32 = 27;
    pub const LO12_S: u32 = 28;
    pub const PCREL_HI20: u32 = 23;
    pub const PCREL_LO12_I: u32 = 24;
    pub const PCREL_LO12_S: u32 = 25;
    pub const CALL: u32 = 18;
    pub const CALL_PLT: u32 = 19;
}

/// One decoded instruction at its input address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Located {
    pub address: u64,
    pub len: u64,
    pub inst: Inst,
}

/// Where an address in the input lands in the output.
pub(crate) trait AddressMap {
    /// The PVM value of input address `address`: a data address, or the jump-table address
    /// of the code there (`&label` text). `None` if it is neither.
    fn value_of(&self, address: u64) -> Option<Value>;

    /// How far the data at input address `address` moved (output − input); `None` for code
    /// and for addresses outside every section.
    fn delta_of(&self, address: u64) -> Option<i64> {
        match self.value_of(address)? {
            Value::Number(n) => Some(n.wrapping_sub(address as i64)),
            Value::CodeAddress(_) => None,
        }
    }
}

/// A value an instruction loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A number.
    Number(i64),
    /// The jump-table address of the code at this input address.
    CodeAddress(u64),
}

/// The PVM register of RISC-V register `x`: `None` for x0.
fn reg(x: u8, at: u64) -> Result<Option<u8>, LinkError> {
    Ok(match x {
        0 => None,
        1 => Some(0),
        2 => Some(1),
        5..=7 => Some(x - 3),
        8 | 9 => Some(x - 3),
        10..=15 => Some(x - 3),
        _ => {
            return Err(LinkError::Unsupported {
                address: at,
                what: format!("x{x} (gp/tp) has no PVM register"),
            })
        }
    })
}

/// The label of the code at input address `address`.
pub(crate) fn label(address: u64) -> String {
    format!("L{address:x}")
}

/// Code facts gathered before emitting: block starts, jump-table entries, instruction pairs.
#[derive(Default)]
pub(crate) struct Plan {
    /// Input addresses that need a label (branch targets, return points, code addresses).
    pub labels: BTreeSet<u64>,
    /// Addresses that start a PVM block (branch and jump targets, return points).
    pub block_starts: BTreeSet<u64>,
    /// Input code addresses whose jump-table address is taken, in table order.
    pub jump_table: Vec<u64>,
    /// `auipc` (or `lui`) address → the value its pair refers to, and its destination
    /// register.
    pub high_parts: BTreeMap<u64, (u64, u8)>,
    /// Low-part instruction address → the address it refers to (with the high part's address).
    pub low_parts: BTreeMap<u64, (u64, u64)>,
    /// `auipc` addresses of call pairs → call target.
    pub calls: BTreeMap<u64, u64>,
}

/// Finds block starts, calls and address pairs from the instructions and relocations.
pub(crate) fn plan(
    code: &[Located],
    relocations: &BTreeMap<u64, (u32, u64)>,
    data_code_pointers: &[u64],
) -> Result<Plan, LinkError> {
    let mut plan = Plan::default();
    let mut in_table = BTreeSet::new();
    let mut table = |plan: &mut Plan, address: u64| {
        if in_table.insert(address) {
            plan.jump_table.push(address);
            plan.labels.insert(address);
        }
    };
    for (i, l) in code.iter().enumerate() {
        let next = l.address + l.len;
        match (l.inst, relocations.get(&l.address)) {
            (Inst::Auipc { rd, .. }, Some(&(reloc::CALL | reloc::CALL_PLT, target))) => {
                plan.calls.insert(l.address, target);
                plan.labels.insert(target);
                plan.block_starts.insert(target);
                // The `jalr` of the pair follows at once and jumps through the `auipc`'s
                // register; the return point follows it.
                let jalr = code
                    .get(i + 1)
                    .filter(|j| {
                        j.address == l.address + 4
                            && matches!(j.inst, Inst::Jalr { rs1, .. } if rs1 == rd)
                    })
                    .ok_or(LinkError::Unsupported {
                        address: l.address,
                        what: "a call relocation on an auipc not followed by its jalr".into(),
                    })?;
                // A tail call (`jalr x0`) has no return point.
                if !matches!(jalr.inst, Inst::Jalr { rd: 0, .. }) {
                    let ret = jalr.address + jalr.len;
                    plan.block_starts.insert(ret);
                    table(&mut plan, ret);
                }
            }
            (
                Inst::Auipc { rd, .. } | Inst::Lui { rd, .. },
                Some(&(reloc::PCREL_HI20 | reloc::HI20, target)),
            ) => {
                plan.high_parts.insert(l.address, (target, rd));
            }
            (_, Some(&(reloc::PCREL_LO12_I | reloc::PCREL_LO12_S, high))) => {
                // The symbol of a pc-relative low part is its `auipc`.
                let target = *relocations
                    .get(&high)
                    .filter(|(k, _)| *k == reloc::PCREL_HI20)
                    .map(|(_, t)| t)
                    .ok_or(LinkError::Unsupported {
                        address: l.address,
                        what: "a pc-relative low part without its high part".into(),
                    })?;
                plan.low_parts.insert(l.address, (high, target));
            }
            (_, Some(&(reloc::LO12_I | reloc::LO12_S, target))) => {
                plan.low_parts.insert(l.address, (0, target));
            }
            _ => {}
        }
        match l.inst {
            Inst::Branch { offset, .. } => {
                let target = l.address.wrapping_add(offset as u64);
                plan.labels.insert(target);
                plan.block_starts.insert(target);
                plan.block_starts.insert(next);
            }
            Inst::Jal { rd, offset } => {
                let target = l.address.wrapping_add(offset as u64);
                plan.labels.insert(target);
                plan.block_starts.insert(target);
                if rd != 0 {
                    plan.block_starts.insert(next);
                    table(&mut plan, next);
                }
            }
            Inst::Jalr { rd, .. }
                if rd != 0 && !plan.calls.contains_key(&l.address.wrapping_sub(4)) =>
            {
                plan.block_starts.insert(next);
                table(&mut plan, next);
            }
            _ => {}
        }
    }
    // Code addresses taken in code (address pairs pointing into code) and in data.
    let code_range = |a: u64| code.iter().any(|l| l.address == a);
    let taken: Vec<u64> = plan
        .high_parts
        .values()
        .map(|&(target, _)| target)
        .chain(data_code_pointers.iter().copied())
        .filter(|&a| code_range(a))
        .collect();
    for a in taken {
        plan.block_starts.insert(a);
        table(&mut plan, a);
    }
    Ok(plan)
}

/// Appends the PVM text of `l` to `out`.
pub(crate) fn emit(
    out: &mut String,
    l: &Located,
    plan: &Plan,
    map: &dyn AddressMap,
) -> Result<(), LinkError> {
    let at = l.address;
    let r = |x: u8| reg(x, at);
    let value = |target: u64| -> Result<String, LinkError> {
        match map.value_of(target) {
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::CodeAddress(a)) => Ok(format!("&{}", label(a))),
            None => Err(LinkError::Unsupported {
                address: at,
                what: format!("a reference to {target:#x}, which is neither code nor data"),
            }),
        }
    };
    let next = at + l.len;
    match l.inst {
        // The `jalr` that follows makes the call.
        Inst::Auipc { .. } if plan.calls.contains_key(&at) => {}
        Inst::Jalr { rd, .. } if plan.calls.contains_key(&(at.wrapping_sub(4))) => {
            let target = label(plan.calls[&at.wrapping_sub(4)]);
            match r(rd)? {
                None => writeln!(out, "jump {target}"),
                Some(d) => writeln!(out, "load_imm_jump r{d}, &{}, {target}", label(next)),
            }
            .ok();
        }
        // An absolute high part of data: the value RISC-V computes, moved as its target's
        // section moved, so that every low part of the same section keeps its immediate.
        Inst::Lui { rd, value: old } if plan.high_parts.contains_key(&at) => {
            let target = plan.high_parts[&at].0;
            if let Some(d) = r(rd)? {
                match map.delta_of(target) {
                    Some(delta) => writeln!(out, "load_imm r{d}, {}", old.wrapping_add(delta)),
                    None => writeln!(out, "load_imm r{d}, {}", value(target)?),
                }
                .ok();
            }
        }
        // A pc-relative high part: the whole new address (its low parts become 0).
        Inst::Auipc { rd, .. } if plan.high_parts.contains_key(&at) => {
            if let Some(d) = r(rd)? {
                let v = value(plan.high_parts[&at].0)?;
                writeln!(out, "load_imm r{d}, {v}").ok();
            }
        }
        Inst::Auipc { .. } => {
            return Err(LinkError::Unsupported {
                address: at,
                what: "auipc without a relocation (its value depends on the input's layout)".into(),
            })
        }
        Inst::Lui { rd, value } => {
            if let Some(d) = r(rd)? {
                writeln!(out, "load_imm r{d}, {value}").ok();
            }
        }
        Inst::Jal { rd, offset } => {
            let target = label(at.wrapping_add(offset as u64));
            match r(rd)? {
                None => writeln!(out, "jump {target}"),
                Some(d) => writeln!(out, "load_imm_jump r{d}, &{}, {target}", label(next)),
            }
            .ok();
        }
        Inst::Jalr { .. } if plan.low_parts.contains_key(&at) => {
            return Err(LinkError::Unsupported {
                address: at,
                what: "a jalr whose offset is the low part of an address".into(),
            })
        }
        Inst::Jalr { rd, rs1, offset } => {
            let base = r(rs1)?.ok_or(LinkError::Unsupported {
                address: at,
                what: "a jump to an absolute address".into(),
            })?;
            match r(rd)? {
                None => writeln!(out, "jump_ind r{base}, {offset}"),
                Some(d) => writeln!(
                    out,
                    "load_imm_jump_ind r{d}, r{base}, &{}, {offset}",
                    label(next)
                ),
            }
            .ok();
        }
        Inst::Branch {
            kind,
            rs1,
            rs2,
            offset,
        } => {
            let target = label(at.wrapping_add(offset as u64));
            emit_branch(out, kind, r(rs1)?, r(rs2)?, &target);
        }
        Inst::Load {
            kind,
            rd,
            rs1,
            offset,
        } => {
            let Some(d) = r(rd)? else {
                return Ok(()); // a load into x0 only could fault: dropped
            };
            let offset = low_part(plan, map, at, rs1, offset)?;
            let width = match kind {
                LoadKind::I8 => "i8",
                LoadKind::U8 => "u8",
                LoadKind::I16 => "i16",
                LoadKind::U16 => "u16",
                LoadKind::I32 => "i32",
                LoadKind::U32 => "u32",
                LoadKind::U64 => "u64",
            };
            match r(rs1)? {
                None => writeln!(out, "load_{width} r{d}, {offset}"),
                Some(b) => writeln!(out, "load_ind_{width} r{d}, r{b}, {offset}"),
            }
            .ok();
        }
        Inst::Store {
            kind,
            rs1,
            rs2,
            offset,
        } => {
            let offset = low_part(plan, map, at, rs1, offset)?;
            let width = match kind {
                StoreKind::U8 => "u8",
                StoreKind::U16 => "u16",
                StoreKind::U32 => "u32",
                StoreKind::U64 => "u64",
            };
            match (r(rs1)?, r(rs2)?) {
                (Some(b), Some(v)) => writeln!(out, "store_ind_{width} r{v}, r{b}, {offset}"),
                (Some(b), None) => writeln!(out, "store_imm_ind_{width} r{b}, {offset}, 0"),
                (None, Some(v)) => writeln!(out, "store_{width} r{v}, {offset}"),
                (None, None) => writeln!(out, "store_imm_{width} {offset}, 0"),
            }
            .ok();
        }
        Inst::AluImm { op, rd, rs1, imm } => {
            let Some(d) = r(rd)? else {
                return Ok(());
            };
            let imm = low_part(plan, map, at, rs1, imm)?;
            emit_alu_imm(out, op, d, r(rs1)?, &imm, at)?;
        }
        Inst::Alu { op, rd, rs1, rs2 } => {
            let Some(d) = r(rd)? else {
                return Ok(());
            };
            emit_alu(out, op, d, r(rs1)?, r(rs2)?);
        }
        Inst::Fence => {}
        Inst::Ecall | Inst::Ebreak => {
            writeln!(out, "trap").ok();
        }
        Inst::HostCall { id } => {
            writeln!(out, "ecalli {id}").ok();
        }
    }
    Ok(())
}

/// The immediate of a possible low part: the exact remainder to the value its high part
/// loaded (0 for a pc-relative pair, whose high part loads the whole address).
fn low_part(
    plan: &Plan,
    map: &dyn AddressMap,
    at: u64,
    base: u8,
    imm: i64,
) -> Result<String, LinkError> {
    let Some(&(high, target)) = plan.low_parts.get(&at) else {
        return Ok(imm.to_string());
    };
    if high != 0 {
        return Ok("0".into());
    }
    // Absolute pair into data: the `lui` loaded its RISC-V value moved by its target's
    // section's delta, so the immediate stays unless this low part's target lies in another
    // section (then the difference of the deltas is added). The `lui` is found as the nearest
    // one before that wrote this base register with the same high 20 bits.
    let hi20 = |t: u64| t.wrapping_add(0x800) >> 12;
    let lui_target = plan
        .high_parts
        .range(..at)
        .rev()
        .find(|(_, &(t, rd))| rd == base && hi20(t) == hi20(target))
        .map(|(_, &(t, _))| t);
    match (
        map.delta_of(target),
        lui_target.map(|t| (t, map.delta_of(t))),
    ) {
        (Some(lo), Some((_, Some(hi)))) => Ok(imm.wrapping_add(lo.wrapping_sub(hi)).to_string()),
        // A code address: the `lui` loaded the whole jump-table address of this same target.
        (None, Some((t, None))) if t == target => Ok("0".into()),
        _ => Err(LinkError::Unsupported {
            address: at,
            what: "an absolute low part whose high part is not found".into(),
        }),
    }
}

fn emit_branch(out: &mut String, kind: BranchKind, a: Option<u8>, b: Option<u8>, target: &str) {
    use BranchKind::*;
    let text = match (a, b) {
        (Some(a), Some(b)) => {
            let (name, x, y) = match kind {
                Eq => ("branch_eq", a, b),
                Ne => ("branch_ne", a, b),
                LtS => ("branch_lt_s", a, b),
                GeS => ("branch_ge_s", a, b),
                LtU => ("branch_lt_u", a, b),
                GeU => ("branch_ge_u", a, b),
            };
            format!("{name} r{x}, r{y}, {target}")
        }
        (Some(a), None) => {
            // a ? 0
            match kind {
                Eq => format!("branch_eq_imm r{a}, 0, {target}"),
                Ne => format!("branch_ne_imm r{a}, 0, {target}"),
                LtS => format!("branch_lt_s_imm r{a}, 0, {target}"),
                GeS => format!("branch_ge_s_imm r{a}, 0, {target}"),
                LtU => return, // never taken
                GeU => format!("jump {target}"),
            }
        }
        (None, Some(b)) => {
            // 0 ? b
            match kind {
                Eq => format!("branch_eq_imm r{b}, 0, {target}"),
                Ne => format!("branch_ne_imm r{b}, 0, {target}"),
                LtS => format!("branch_gt_s_imm r{b}, 0, {target}"),
                GeS => format!("branch_le_s_imm r{b}, 0, {target}"),
                LtU => format!("branch_ne_imm r{b}, 0, {target}"),
                GeU => format!("branch_eq_imm r{b}, 0, {target}"),
            }
        }
        (None, None) => match kind {
            Eq | GeS | GeU => format!("jump {target}"),
            Ne | LtS | LtU => return,
        },
    };
    writeln!(out, "{text}").ok();
}

fn emit_alu_imm(
    out: &mut String,
    op: AluOp,
    d: u8,
    a: Option<u8>,
    imm: &str,
    at: u64,
) -> Result<(), LinkError> {
    use AluOp::*;
    let Some(a) = a else {
        // An operation on x0 and an immediate: a constant.
        let n: i64 = imm.parse().map_err(|_| LinkError::Unsupported {
            address: at,
            what: "an address computed from x0".into(),
        })?;
        let v = match op {
            Add | Or | Xor => n,
            AddW => n as i32 as i64,
            And | Sll | Srl | Sra | SllW | SrlW | SraW => 0,
            Slt => i64::from(0 < n),
            Sltu => i64::from(0 < n as u64),
            _ => unreachable!("no immediate form"),
        };
        writeln!(out, "load_imm_64 r{d}, {v}").ok();
        return Ok(());
    };
    let name = match op {
        Add => "add_imm_64",
        AddW => "add_imm_32",
        Slt => "set_lt_s_imm",
        Sltu => "set_lt_u_imm",
        Xor => "xor_imm",
        Or => "or_imm",
        And => "and_imm",
        Sll => "shlo_l_imm_64",
        Srl => "shlo_r_imm_64",
        Sra => "shar_r_imm_64",
        SllW => "shlo_l_imm_32",
        SrlW => "shlo_r_imm_32",
        SraW => "shar_r_imm_32",
        _ => unreachable!("no immediate form"),
    };
    if op == Add && imm == "0" {
        writeln!(out, "move_reg r{d}, r{a}").ok();
    } else {
        writeln!(out, "{name} r{d}, r{a}, {imm}").ok();
    }
    Ok(())
}

fn reg_name(op: AluOp) -> &'static str {
    use AluOp::*;
    match op {
        Add => "add_64",
        Sub => "sub_64",
        Sll => "shlo_l_64",
        Slt => "set_lt_s",
        Sltu => "set_lt_u",
        Xor => "xor",
        Srl => "shlo_r_64",
        Sra => "shar_r_64",
        Or => "or",
        And => "and",
        Mul => "mul_64",
        Mulh => "mul_upper_s_s",
        Mulhsu => "mul_upper_s_u",
        Mulhu => "mul_upper_u_u",
        Div => "div_s_64",
        Divu => "div_u_64",
        Rem => "rem_s_64",
        Remu => "rem_u_64",
        AddW => "add_32",
        SubW => "sub_32",
        SllW => "shlo_l_32",
        SrlW => "shlo_r_32",
        SraW => "shar_r_32",
        MulW => "mul_32",
        DivW => "div_s_32",
        DivuW => "div_u_32",
        RemW => "rem_s_32",
        RemuW => "rem_u_32",
    }
}

fn emit_alu(out: &mut String, op: AluOp, d: u8, a: Option<u8>, b: Option<u8>) {
    use AluOp::*;
    let text = match (a, b) {
        (Some(a), Some(b)) => format!("{} r{d}, r{a}, r{b}", reg_name(op)),
        // op(a, 0)
        (Some(a), None) => match op {
            Add | Sub | Xor | Or | Sll | Srl | Sra => format!("move_reg r{d}, r{a}"),
            AddW | SubW | SllW | SrlW | SraW => format!("add_imm_32 r{d}, r{a}, 0"),
            Slt => format!("set_lt_s_imm r{d}, r{a}, 0"),
            Sltu | And | Mul | Mulh | Mulhsu | Mulhu | MulW => format!("load_imm r{d}, 0"),
            Div | Divu | DivW | DivuW => format!("load_imm r{d}, -1"),
            Rem | Remu => format!("move_reg r{d}, r{a}"),
            RemW | RemuW => format!("add_imm_32 r{d}, r{a}, 0"),
        },
        // op(0, b)
        (None, Some(b)) => match op {
            Add | Xor | Or => format!("move_reg r{d}, r{b}"),
            AddW => format!("add_imm_32 r{d}, r{b}, 0"),
            Sub => format!("neg_add_imm_64 r{d}, r{b}, 0"),
            SubW => format!("neg_add_imm_32 r{d}, r{b}, 0"),
            Slt => format!("set_gt_s_imm r{d}, r{b}, 0"),
            Sltu => format!("set_gt_u_imm r{d}, r{b}, 0"),
            And | Sll | Srl | Sra | SllW | SrlW | SraW | Mul | Mulh | Mulhsu | Mulhu | MulW
            | Rem | Remu | RemW | RemuW => format!("load_imm r{d}, 0"),
            // 0 / b: −1 when b is 0, else 0.
            Div | Divu | DivW | DivuW if d != b => {
                format!("load_imm r{d}, 0\n{} r{d}, r{d}, r{b}", reg_name(op))
            }
            // rd = 0 / rd: −1 if rd (its low half for the W forms) is 0, else 0; no scratch
            // register needed.
            Div | Divu => format!("set_lt_u_imm r{d}, r{d}, 1\nneg_add_imm_64 r{d}, r{d}, 0"),
            DivW | DivuW => format!(
                "shlo_l_imm_64 r{d}, r{d}, 32\nset_lt_u_imm r{d}, r{d}, 1\nneg_add_imm_64 r{d}, r{d}, 0"
            ),
        },
        (None, None) => match op {
            Div | Divu | DivW | DivuW => format!("load_imm r{d}, -1"),
            _ => format!("load_imm r{d}, 0"),
        },
    };
    writeln!(out, "{text}").ok();
}

#[cfg(test)]
mod tests;
