//! The GP code blob `E(|j|) ++ E_1(z) ++ E(|c|) ++ E_z(j…) ++ c ++ k` (GP §A.2), validated once.

use crate::codec::{CodecError, Reader};

/// Largest instruction-code length accepted (PolkaVM's limit).
pub const MAX_CODE_LEN: usize = 32 << 20;
/// Largest jump table accepted, in entries.
pub const MAX_JUMP_TABLE_ENTRIES: usize = 16 << 20;

/// Why a byte string is not a valid code blob. Every variant names the byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The blob ended before a field was complete.
    #[error("blob truncated at offset {offset}: {field} needs at least {needed} more byte(s)")]
    Truncated {
        /// Offset where the field starts.
        offset: usize,
        /// The field being read.
        field: &'static str,
        /// Bytes missing, at least (1 for a cut variable-length integer).
        needed: usize,
    },
    /// A length field is larger than allowed.
    #[error("{field} at offset {offset} is {value}, above the limit {limit}")]
    TooLarge {
        /// Offset of the field.
        offset: usize,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// The bitmask's padding bits (past the end of the code) are not zero.
    #[error("opcode bitmask byte at offset {offset} has non-zero padding bits {bits:#04x}")]
    MaskPadding {
        /// Offset of the last bitmask byte.
        offset: usize,
        /// The offending bits.
        bits: u8,
    },
    /// A hand-built blob whose bitmask does not have one bit per code byte.
    #[error("opcode bitmask has {actual} byte(s); {expected} are needed for the code")]
    MaskLength {
        /// Bytes needed (⌈|c| / 8⌉).
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// Bytes follow the bitmask.
    #[error("{count} unexpected byte(s) after the bitmask at offset {offset}")]
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
        /// How many extra bytes there are.
        count: usize,
    },
}

/// A parsed (not yet decoded) code blob: jump table, instruction bytes and opcode bitmask.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeBlob {
    /// Jump-table entries (code offsets).
    pub jump_table: Vec<u32>,
    /// Instruction bytes `c`.
    pub code: Vec<u8>,
    /// Opcode bitmask `k`, one bit per code byte, LSB first, padding bits zero.
    pub mask: Vec<u8>,
}

fn truncated(
    offset: usize,
    field: &'static str,
    needed: usize,
) -> impl Fn(CodecError) -> BlobError {
    move |_| BlobError::Truncated {
        offset,
        field,
        needed,
    }
}

/// The set padding bits of the last bitmask byte (bits past the end of the code), if any.
/// `mask` must hold ⌈code_len / 8⌉ bytes.
fn padding_bits(mask: &[u8], code_len: usize) -> Option<u8> {
    if code_len % 8 == 0 {
        return None;
    }
    let bits = mask[mask.len() - 1] & !((1u8 << (code_len % 8)) - 1);
    (bits != 0).then_some(bits)
}

impl CodeBlob {
    /// Parses and validates `bytes` as a GP code blob.
    pub fn parse(bytes: &[u8]) -> Result<Self, BlobError> {
        let mut r = Reader::new(bytes);
        let at = r.offset();
        let jump_count = r.natural().map_err(truncated(at, "jump table length", 1))?;
        if jump_count > MAX_JUMP_TABLE_ENTRIES as u64 {
            return Err(BlobError::TooLarge {
                offset: at,
                field: "jump table length",
                value: jump_count,
                limit: MAX_JUMP_TABLE_ENTRIES as u64,
            });
        }
        let at = r.offset();
        let entry_size = r.fixed(1).map_err(truncated(at, "jump entry size", 1))?;
        if entry_size > 4 {
            return Err(BlobError::TooLarge {
                offset: at,
                field: "jump entry size",
                value: entry_size,
                limit: 4,
            });
        }
        let at = r.offset();
        let code_len = r.natural().map_err(truncated(at, "code length", 1))?;
        if code_len > MAX_CODE_LEN as u64 {
            return Err(BlobError::TooLarge {
                offset: at,
                field: "code length",
                value: code_len,
                limit: MAX_CODE_LEN as u64,
            });
        }
        let (jump_count, entry_size, code_len) =
            (jump_count as usize, entry_size as usize, code_len as usize);

        let at = r.offset();
        let table_bytes = jump_count * entry_size;
        let table = r.take(table_bytes).map_err(truncated(
            at,
            "jump table",
            table_bytes.saturating_sub(r.remaining()),
        ))?;
        let jump_table = if entry_size == 0 {
            vec![0; jump_count]
        } else {
            table
                .chunks_exact(entry_size)
                .map(|e| {
                    e.iter()
                        .rev()
                        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
                })
                .collect()
        };

        let at = r.offset();
        let code = r
            .take(code_len)
            .map_err(truncated(
                at,
                "code",
                code_len.saturating_sub(r.remaining()),
            ))?
            .to_vec();
        let at = r.offset();
        let mask_len = code_len.div_ceil(8);
        let mask = r
            .take(mask_len)
            .map_err(truncated(
                at,
                "opcode bitmask",
                mask_len.saturating_sub(r.remaining()),
            ))?
            .to_vec();
        if let Some(bits) = padding_bits(&mask, code_len) {
            return Err(BlobError::MaskPadding {
                offset: at + mask_len - 1,
                bits,
            });
        }
        if r.remaining() != 0 {
            return Err(BlobError::TrailingBytes {
                offset: r.offset(),
                count: r.remaining(),
            });
        }
        Ok(Self {
            jump_table,
            code,
            mask,
        })
    }

    /// Checks the invariants [`CodeBlob::parse`] guarantees, for blobs built by hand: size
    /// limits, one bitmask bit per code byte, zero padding bits.
    pub fn validate(&self) -> Result<(), BlobError> {
        if self.code.len() > MAX_CODE_LEN {
            return Err(BlobError::TooLarge {
                offset: 0,
                field: "code length",
                value: self.code.len() as u64,
                limit: MAX_CODE_LEN as u64,
            });
        }
        if self.jump_table.len() > MAX_JUMP_TABLE_ENTRIES {
            return Err(BlobError::TooLarge {
                offset: 0,
                field: "jump table length",
                value: self.jump_table.len() as u64,
                limit: MAX_JUMP_TABLE_ENTRIES as u64,
            });
        }
        let expected = self.code.len().div_ceil(8);
        if self.mask.len() != expected {
            return Err(BlobError::MaskLength {
                expected,
                actual: self.mask.len(),
            });
        }
        if let Some(bits) = padding_bits(&self.mask, self.code.len()) {
            return Err(BlobError::MaskPadding {
                offset: expected - 1,
                bits,
            });
        }
        Ok(())
    }

    /// Encodes the blob, choosing the smallest jump-entry size that fits.
    pub fn to_bytes(&self) -> Vec<u8> {
        let max = self.jump_table.iter().copied().max().unwrap_or(0);
        let entry_size = match max {
            0 if self.jump_table.is_empty() => 0,
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        };
        let mut out = Vec::with_capacity(self.code.len() + self.mask.len() + 16);
        crate::codec::write_natural(&mut out, self.jump_table.len() as u64);
        out.push(entry_size as u8);
        crate::codec::write_natural(&mut out, self.code.len() as u64);
        for &entry in &self.jump_table {
            crate::codec::write_fixed(&mut out, u64::from(entry), entry_size);
        }
        out.extend_from_slice(&self.code);
        out.extend_from_slice(&self.mask);
        out
    }

    /// Whether the bitmask marks `pc` as an instruction start.
    #[inline]
    pub fn is_instruction_start(&self, pc: usize) -> bool {
        pc < self.code.len() && self.mask[pc / 8] & (1 << (pc % 8)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_minimal_blob() {
        // One trap instruction, no jump table.
        let blob = CodeBlob::parse(&[0, 0, 1, 0, 1]).unwrap();
        assert_eq!(blob.code, vec![0]);
        assert_eq!(blob.mask, vec![1]);
        assert_eq!(CodeBlob::parse(&blob.to_bytes()).unwrap(), blob);
    }

    #[test]
    fn rejects_malformed_blobs_with_offsets() {
        assert!(matches!(
            CodeBlob::parse(&[]),
            Err(BlobError::Truncated { offset: 0, .. })
        ));
        assert!(matches!(
            CodeBlob::parse(&[0, 5, 0]),
            Err(BlobError::TooLarge {
                offset: 1,
                field: "jump entry size",
                ..
            })
        ));
        assert!(matches!(
            CodeBlob::parse(&[0, 0, 1, 0, 0x03]),
            Err(BlobError::MaskPadding {
                offset: 4,
                bits: 0x02
            })
        ));
        assert!(matches!(
            CodeBlob::parse(&[0, 0, 1, 0, 1, 9]),
            Err(BlobError::TrailingBytes {
                offset: 5,
                count: 1
            })
        ));
        assert!(matches!(
            CodeBlob::parse(&[0, 0, 4, 0]),
            Err(BlobError::Truncated {
                offset: 3,
                field: "code",
                ..
            })
        ));
        // A huge claimed code length is rejected before allocating.
        assert!(matches!(
            CodeBlob::parse(&[0, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(BlobError::TooLarge {
                field: "code length",
                ..
            })
        ));
    }

    #[test]
    fn jump_entries_are_little_endian() {
        let blob = CodeBlob::parse(&[2, 2, 1, 0x34, 0x12, 0x01, 0x00, 0, 1]).unwrap();
        assert_eq!(blob.jump_table, vec![0x1234, 1]);
    }
}
