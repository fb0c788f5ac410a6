//! Line parsing: comments, labels, directives and instruction operands.

use super::AsmErrorKind;
use crate::isa::{Format, Opcode};

/// An immediate operand, resolved after the whole source is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImmExpr {
    /// A literal value, already in the decoder's sign-extended 64-bit form.
    Value(u64),
    /// `&label`: the dynamic-jump address of the label's jump-table entry.
    JumpTableAddr(String),
}

/// A branch/jump target or jump-table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A label.
    Label(String),
    /// `@<pc>`.
    Abs(i64),
}

/// A parsed instruction, before label resolution.
#[derive(Debug, Clone)]
pub(crate) struct InsnSpec {
    pub op: Opcode,
    pub ra: u8,
    pub rb: u8,
    pub rd: u8,
    pub imm1: ImmExpr,
    pub imm2: ImmExpr,
    pub target: Option<Target>,
}

/// One statement.
#[derive(Debug, Clone)]
pub(crate) enum Stmt {
    Insn(InsnSpec),
    InsnBytes(Vec<u8>),
    Raw(Vec<u8>),
    JumpTable(Vec<Target>),
    RoData,
    RwData,
    Code,
    Data(Vec<u8>),
    HeapPages(u16),
    StackSize(u32),
    /// `.wide`: the next instruction's target offset takes all four bytes.
    Wide,
}

/// A source line: labels defined on it and its statement, if any.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub labels: Vec<String>,
    pub stmt: Option<Stmt>,
}

/// The kind of one instruction operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reg,
    Imm,
    Imm64,
    Target,
}

/// Operand kinds per format, in source order, and a human-readable syntax for errors.
fn operand_kinds(format: Format) -> (&'static [Kind], &'static str) {
    use Kind::*;
    match format {
        Format::NoArgs => (&[], "no operands"),
        Format::Imm => (&[Imm], "imm"),
        Format::RegImm64 => (&[Reg, Imm64], "reg, imm64"),
        Format::ImmImm => (&[Imm, Imm], "imm, imm"),
        Format::Offset => (&[Target], "target"),
        Format::RegImm => (&[Reg, Imm], "reg, imm"),
        Format::RegImmImm => (&[Reg, Imm, Imm], "reg, imm, imm"),
        Format::RegImmOffset => (&[Reg, Imm, Target], "reg, imm, target"),
        Format::RegReg => (&[Reg, Reg], "rd, ra"),
        Format::RegRegImm => (&[Reg, Reg, Imm], "ra, rb, imm"),
        Format::RegRegOffset => (&[Reg, Reg, Target], "ra, rb, target"),
        Format::RegRegImmImm => (&[Reg, Reg, Imm, Imm], "ra, rb, imm, imm"),
        Format::RegRegReg => (&[Reg, Reg, Reg], "rd, ra, rb"),
    }
}

/// RISC-V ABI register aliases, in index order.
pub(crate) const ALIASES: [&str; 13] = [
    "ra", "sp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
];

/// Removes a `#` or `//` comment that is not inside a string literal.
fn strip_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'#' => return &text[..i],
            b'/' if bytes.get(i + 1) == Some(&b'/') => return &text[..i],
            _ => {}
        }
    }
    text
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// Whether `s` is a valid label name (not a register name).
pub(crate) fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && is_ident_start(b[0])
        && b.iter().all(|&c| is_ident_char(c))
        && parse_register(s).is_none()
}

/// Parses one source line.
pub(crate) fn parse_line(text: &str) -> Result<Line, AsmErrorKind> {
    let mut rest = strip_comment(text).trim();
    let mut labels = Vec::new();
    loop {
        let len = rest.bytes().take_while(|&b| is_ident_char(b)).count();
        if len == 0 || !rest[len..].trim_start().starts_with(':') {
            break;
        }
        let name = &rest[..len];
        if !is_label_name(name) {
            return Err(AsmErrorKind::InvalidLabel(name.to_string()));
        }
        labels.push(name.to_string());
        rest = rest[len..].trim_start()[1..].trim_start();
    }
    if rest.is_empty() {
        return Ok(Line { labels, stmt: None });
    }
    let split = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    let (word, operands) = (&rest[..split], rest[split..].trim());
    let stmt = if word.starts_with('.') {
        parse_directive(word, operands)?
    } else {
        Stmt::Insn(parse_instruction(word, operands)?)
    };
    Ok(Line {
        labels,
        stmt: Some(stmt),
    })
}

/// Splits comma-separated operands; an empty string has none.
fn split_operands(operands: &str) -> Result<Vec<&str>, AsmErrorKind> {
    if operands.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = operands.split(',').map(str::trim).collect();
    if let Some(i) = parts.iter().position(|p| p.is_empty()) {
        return Err(AsmErrorKind::EmptyOperand(i + 1));
    }
    Ok(parts)
}

fn parse_instruction(word: &str, operands: &str) -> Result<InsnSpec, AsmErrorKind> {
    let op = Opcode::from_name(&word.to_ascii_lowercase())
        .ok_or_else(|| AsmErrorKind::UnknownMnemonic(word.to_string()))?;
    let (kinds, syntax) = operand_kinds(op.format());
    let parts = split_operands(operands)?;
    if parts.len() != kinds.len() {
        return Err(AsmErrorKind::OperandCount {
            mnemonic: op.name().to_string(),
            expected: kinds.len(),
            found: parts.len(),
            syntax,
        });
    }
    let mut regs = Vec::new();
    let mut imms = Vec::new();
    let mut target = None;
    for (&kind, part) in kinds.iter().zip(&parts) {
        match kind {
            Kind::Reg => regs.push(register(part)?),
            Kind::Imm | Kind::Imm64 => {
                let imm = immediate(part, kind == Kind::Imm64).map_err(|e| match e {
                    AsmErrorKind::ImmediateOutOfRange {
                        value, expected, ..
                    } => AsmErrorKind::ImmediateOutOfRange {
                        value,
                        context: format!("`{}`", op.name()),
                        expected,
                    },
                    other => other,
                })?;
                imms.push(imm);
            }
            Kind::Target => target = Some(parse_target(part)?),
        }
    }
    let reg = |i: usize| regs.get(i).copied().unwrap_or(0);
    let (ra, rb, rd) = match op.format() {
        Format::RegReg => (reg(1), 0, reg(0)),
        Format::RegRegReg => (reg(1), reg(2), reg(0)),
        _ => (reg(0), reg(1), 0),
    };
    let mut imms = imms.into_iter();
    Ok(InsnSpec {
        op,
        ra,
        rb,
        rd,
        imm1: imms.next().unwrap_or(ImmExpr::Value(0)),
        imm2: imms.next().unwrap_or(ImmExpr::Value(0)),
        target,
    })
}

/// A register name's index, if `s` names one (`r13` and above are not registers).
fn parse_register(s: &str) -> Option<u8> {
    if let Some(i) = ALIASES.iter().position(|&a| a.eq_ignore_ascii_case(s)) {
        return Some(i as u8);
    }
    let digits = s.strip_prefix('r').or_else(|| s.strip_prefix('R'))?;
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u8>().ok().filter(|&n| n <= 12)
}

fn register(s: &str) -> Result<u8, AsmErrorKind> {
    if let Some(r) = parse_register(s) {
        return Ok(r);
    }
    let looks_numbered = s
        .strip_prefix(['r', 'R'])
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    Err(if looks_numbered {
        AsmErrorKind::RegisterOutOfRange(s.to_string())
    } else {
        AsmErrorKind::ExpectedRegister(s.to_string())
    })
}

/// Parses an integer literal: optional sign, then decimal, `0x` hex or `0b` binary digits with
/// optional `_` separators.
pub(crate) fn parse_number(s: &str) -> Result<i128, AsmErrorKind> {
    let bad = || AsmErrorKind::InvalidNumber(s.to_string());
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else {
        (10, body)
    };
    let mut value: i128 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(radix).ok_or_else(bad)?;
        value = value
            .checked_mul(i128::from(radix))
            .and_then(|v| v.checked_add(i128::from(d)))
            .filter(|&v| v < 1 << 100)
            .ok_or_else(bad)?;
        any = true;
    }
    if !any {
        return Err(bad());
    }
    Ok(if negative { -value } else { value })
}

const IMM32_RANGE: &str =
    "a sign-extended 32-bit value (-2^31..=2^32-1, or its 64-bit sign extension)";
const IMM64_RANGE: &str = "a 64-bit value (-2^63..=2^64-1)";

/// Converts a literal to the decoder's form of an ordinary (sign-extended 32-bit) immediate.
pub(crate) fn imm32_value(v: i128) -> Option<u64> {
    const TWO_31: i128 = 1 << 31;
    const TWO_32: i128 = 1 << 32;
    const TWO_64: i128 = 1 << 64;
    if (-TWO_31..TWO_31).contains(&v) {
        Some(v as i64 as u64)
    } else if (TWO_31..TWO_32).contains(&v) {
        Some(v as u32 as i32 as i64 as u64)
    } else if (TWO_64 - TWO_31..TWO_64).contains(&v) {
        Some(v as u64)
    } else {
        None
    }
}

fn immediate(s: &str, wide: bool) -> Result<ImmExpr, AsmErrorKind> {
    if let Some(label) = s.strip_prefix('&') {
        let label = label.trim();
        if !is_label_name(label) {
            return Err(AsmErrorKind::InvalidLabel(label.to_string()));
        }
        return Ok(ImmExpr::JumpTableAddr(label.to_string()));
    }
    let v = parse_number(s)?;
    let out_of_range = |expected| AsmErrorKind::ImmediateOutOfRange {
        value: s.to_string(),
        context: String::new(),
        expected,
    };
    if wide {
        if (-(1i128 << 63)..(1i128 << 64)).contains(&v) {
            Ok(ImmExpr::Value(v as u64))
        } else {
            Err(out_of_range(IMM64_RANGE))
        }
    } else {
        imm32_value(v)
            .map(ImmExpr::Value)
            .ok_or_else(|| out_of_range(IMM32_RANGE))
    }
}

fn parse_target(s: &str) -> Result<Target, AsmErrorKind> {
    if let Some(pc) = s.strip_prefix('@') {
        let v = parse_number(pc.trim())?;
        return i64::try_from(v)
            .map(Target::Abs)
            .map_err(|_| AsmErrorKind::InvalidNumber(s.to_string()));
    }
    if is_label_name(s) {
        Ok(Target::Label(s.to_string()))
    } else {
        Err(AsmErrorKind::ExpectedTarget(s.to_string()))
    }
}

/// Parses whitespace- or comma-separated hex bytes (`01 ff 0x2a`).
fn hex_bytes(directive: &str, operands: &str) -> Result<Vec<u8>, AsmErrorKind> {
    let mut out = Vec::new();
    for token in operands
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        let digits = token
            .strip_prefix("0x")
            .or(token.strip_prefix("0X"))
            .unwrap_or(token);
        if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AsmErrorKind::Syntax(format!(
                "`{directive}` expects hex bytes such as `0a ff`, found `{token}`"
            )));
        }
        let byte = u8::from_str_radix(digits, 16).map_err(|_| {
            AsmErrorKind::Syntax(format!("`{token}` is not a hex byte in `{directive}`"))
        })?;
        out.push(byte);
    }
    Ok(out)
}

/// Parses a double-quoted string literal with escapes into bytes.
fn string_literal(s: &str) -> Result<Vec<u8>, AsmErrorKind> {
    let syntax = |m: &str| AsmErrorKind::Syntax(format!("`.string`: {m}"));
    let inner = s
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|_| s.len() >= 2)
        .ok_or_else(|| syntax("expects one double-quoted string"))?;
    let mut out = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Err(syntax("unescaped `\"` inside the string")),
            '\\' => match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('t') => out.push(b'\t'),
                Some('r') => out.push(b'\r'),
                Some('0') => out.push(0),
                Some('\\') => out.push(b'\\'),
                Some('"') => out.push(b'"'),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    let byte = (hex.len() == 2 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                        .then(|| u8::from_str_radix(&hex, 16).ok())
                        .flatten()
                        .ok_or_else(|| syntax("`\\x` needs two hex digits"))?;
                    out.push(byte);
                }
                _ => return Err(syntax("unknown escape")),
            },
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Ok(out)
}

fn parse_directive(word: &str, operands: &str) -> Result<Stmt, AsmErrorKind> {
    let no_operands = |stmt: Stmt, syntax| {
        if operands.is_empty() {
            Ok(stmt)
        } else {
            Err(AsmErrorKind::OperandCount {
                mnemonic: word.to_string(),
                expected: 0,
                found: split_operands(operands).map_or(1, |p| p.len()),
                syntax,
            })
        }
    };
    let number = |max: u64, what: &'static str| -> Result<u64, AsmErrorKind> {
        let v = parse_number(operands)?;
        u64::try_from(v)
            .ok()
            .filter(|&v| v <= max)
            .ok_or(AsmErrorKind::ImmediateOutOfRange {
                value: operands.to_string(),
                context: format!("`{word}`"),
                expected: what,
            })
    };
    let nonempty = |bytes: Vec<u8>| {
        if bytes.is_empty() {
            Err(AsmErrorKind::Syntax(format!(
                "`{word}` expects at least one hex byte"
            )))
        } else {
            Ok(bytes)
        }
    };
    match word {
        ".ro_data" => no_operands(Stmt::RoData, "no operands"),
        ".rw_data" => no_operands(Stmt::RwData, "no operands"),
        ".code" => no_operands(Stmt::Code, "no operands"),
        ".wide" => no_operands(Stmt::Wide, "no operands"),
        ".jump_table" => {
            let targets = split_operands(operands)?
                .into_iter()
                .map(parse_target)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Stmt::JumpTable(targets))
        }
        ".insn" => Ok(Stmt::InsnBytes(nonempty(hex_bytes(word, operands)?)?)),
        ".raw" => Ok(Stmt::Raw(nonempty(hex_bytes(word, operands)?)?)),
        ".bytes" => Ok(Stmt::Data(hex_bytes(word, operands)?)),
        ".string" => Ok(Stmt::Data(string_literal(operands)?)),
        ".heap_pages" => Ok(Stmt::HeapPages(
            number(u64::from(u16::MAX), "0..=65535 pages")? as u16,
        )),
        ".stack_size" => Ok(Stmt::StackSize(
            number(0xFF_FFFF, "0..=16777215 bytes")? as u32
        )),
        _ => Err(AsmErrorKind::UnknownDirective(word.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_labels() {
        let l = parse_line("  a: b : add_64 r1, r2, r3 # c").unwrap();
        assert_eq!(l.labels, vec!["a", "b"]);
        assert!(matches!(l.stmt, Some(Stmt::Insn(ref i)) if (i.rd, i.ra, i.rb) == (1, 2, 3)));
        let l = parse_line(".string \"a # b // c\" // x").unwrap();
        assert!(matches!(l.stmt, Some(Stmt::Data(ref d)) if d == b"a # b // c"));
        assert!(parse_line("// only").unwrap().stmt.is_none());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("-0x10"), Ok(-16));
        assert_eq!(parse_number("1_000"), Ok(1000));
        assert_eq!(parse_number("0b101"), Ok(5));
        assert!(parse_number("0x").is_err());
        assert!(parse_number("-").is_err());
        assert!(parse_number("12a").is_err());
        assert!(parse_number(&"9".repeat(60)).is_err());
        assert_eq!(imm32_value(0x8000_0000), Some(0xFFFF_FFFF_8000_0000));
        assert_eq!(imm32_value(-1), Some(u64::MAX));
        assert_eq!(imm32_value(1 << 32), None);
    }

    #[test]
    fn strings_and_bytes() {
        assert_eq!(string_literal(r#""a\n\x41\"\\""#), Ok(b"a\nA\"\\".to_vec()));
        assert!(string_literal("\"").is_err());
        assert!(string_literal("\"a\"b\"").is_err());
        assert_eq!(hex_bytes(".bytes", "01 ff,0x2a"), Ok(vec![1, 0xFF, 0x2A]));
        assert!(hex_bytes(".bytes", "123").is_err());
    }
}
