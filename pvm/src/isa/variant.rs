//! ISA variants: opcode-number maps over the one instruction set of [`Opcode`].

use super::Opcode;

/// A numbering of the PVM instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsaVariant {
    /// GP 0.7.x numbering, `sbrk` at 101 (the w3f v0.4 vectors).
    Jam07,
    /// GP 0.7 numbering plus `unlikely` at 3, without `sbrk` (the gas-model-draft vectors).
    GasDraft,
    /// GP 0.8 draft / PolkaVM `JamV1`: `sbrk` removed, 102–111 moved down by one, `unlikely` at 2.
    Jam08,
}

/// A byte → instruction map and its inverse for one ISA variant.
#[derive(Debug)]
pub struct OpcodeTable {
    decode: [Option<Opcode>; 256],
    encode: [Option<u8>; 256],
}

impl OpcodeTable {
    /// The instruction a raw opcode byte denotes, if any.
    #[inline(always)]
    pub fn decode(&self, byte: u8) -> Option<Opcode> {
        self.decode[byte as usize]
    }

    /// The opcode byte of `op`, if the variant has the instruction.
    #[inline]
    pub fn encode(&self, op: Opcode) -> Option<u8> {
        self.encode[op as usize]
    }
}

const fn number_in(variant: IsaVariant, op: Opcode) -> Option<u8> {
    match (variant, op) {
        (IsaVariant::Jam07, Opcode::Unlikely) => None,
        (IsaVariant::GasDraft, Opcode::Unlikely) => Some(3),
        (IsaVariant::Jam08, Opcode::Unlikely) => Some(2),
        (IsaVariant::GasDraft | IsaVariant::Jam08, Opcode::Sbrk) => None,
        (IsaVariant::Jam08, _) => match op.gp07_number() {
            Some(n) if n >= 102 && n <= 111 => Some(n - 1),
            other => other,
        },
        _ => op.gp07_number(),
    }
}

const fn build(variant: IsaVariant) -> OpcodeTable {
    let mut decode = [None; 256];
    let mut encode = [None; 256];
    let mut i = 0;
    while i < Opcode::ALL.len() {
        let op = Opcode::ALL[i];
        if let Some(n) = number_in(variant, op) {
            decode[n as usize] = Some(op);
            encode[op as usize] = Some(n);
        }
        i += 1;
    }
    OpcodeTable { decode, encode }
}

static JAM07: OpcodeTable = build(IsaVariant::Jam07);
static GAS_DRAFT: OpcodeTable = build(IsaVariant::GasDraft);
static JAM08: OpcodeTable = build(IsaVariant::Jam08);

impl IsaVariant {
    /// Every variant.
    pub const ALL: [IsaVariant; 3] = [IsaVariant::Jam07, IsaVariant::GasDraft, IsaVariant::Jam08];

    /// The variant's opcode table.
    pub fn table(self) -> &'static OpcodeTable {
        match self {
            IsaVariant::Jam07 => &JAM07,
            IsaVariant::GasDraft => &GAS_DRAFT,
            IsaVariant::Jam08 => &JAM08,
        }
    }

    /// The stable name used on the command line and in chain specs.
    pub fn name(self) -> &'static str {
        match self {
            IsaVariant::Jam07 => "jam-0.7",
            IsaVariant::GasDraft => "gas-draft",
            IsaVariant::Jam08 => "jam-0.8",
        }
    }

    /// Parses a name given by [`IsaVariant::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Whether loading requires GP 0.8's whole-blob validity (every instruction valid and the
    /// instruction walk ending exactly at the end of the code).
    pub fn requires_strict_code(self) -> bool {
        matches!(self, IsaVariant::Jam08)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_have_139_opcodes_each() {
        for v in IsaVariant::ALL {
            let count = (0..=255u8)
                .filter(|&b| v.table().decode(b).is_some())
                .count();
            // 0.7: 139 with sbrk; gas-draft: 138 + unlikely; 0.8: sbrk out, unlikely in.
            assert_eq!(count, 139, "{v:?}");
            for b in 0..=255u8 {
                if let Some(op) = v.table().decode(b) {
                    assert_eq!(v.table().encode(op), Some(b));
                }
            }
        }
    }

    #[test]
    fn jam08_renumbering() {
        let t = IsaVariant::Jam08.table();
        assert_eq!(t.decode(2), Some(Opcode::Unlikely));
        assert_eq!(t.decode(101), Some(Opcode::CountSetBits64));
        assert_eq!(t.decode(110), Some(Opcode::ReverseBytes));
        assert_eq!(t.decode(111), None);
        assert_eq!(IsaVariant::Jam07.table().decode(101), Some(Opcode::Sbrk));
        assert_eq!(
            IsaVariant::GasDraft.table().decode(3),
            Some(Opcode::Unlikely)
        );
        assert_eq!(IsaVariant::GasDraft.table().decode(101), None);
    }
}
