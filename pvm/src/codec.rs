//! The Gray Paper's integer encodings: the variable-length natural `E(n)` and fixed-width `E_l(n)`.

/// Reading past the end of the input, or an encoding that cannot be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecError {
    /// The input ended before the value was complete.
    UnexpectedEnd,
    /// The value does not fit the requested width.
    Overflow,
}

/// A cursor over a byte slice that decodes GP integers and keeps track of its offset.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// The offset of the next byte to be read.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// Takes the next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        if len > self.remaining() {
            return Err(CodecError::UnexpectedEnd);
        }
        let slice = &self.bytes[self.offset..self.offset + len];
        self.offset += len;
        Ok(slice)
    }

    /// Reads a fixed-width little-endian natural `E_len` (len ≤ 8).
    pub fn fixed(&mut self, len: usize) -> Result<u64, CodecError> {
        debug_assert!(len <= 8);
        let bytes = self.take(len)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Reads a GP variable-length natural `E(n)`.
    pub fn natural(&mut self) -> Result<u64, CodecError> {
        let first = *self.take(1)?.first().ok_or(CodecError::UnexpectedEnd)?;
        let extra = first.leading_ones() as usize;
        if extra == 8 {
            return self.fixed(8);
        }
        let low = self.fixed(extra)?;
        let high = u64::from(first & 0xFFu8.checked_shr(extra as u32 + 1).unwrap_or(0));
        Ok(low | (high << (8 * extra)))
    }

    /// Reads `E(n)` and checks that it fits in a `u32`.
    pub fn natural_u32(&mut self) -> Result<u32, CodecError> {
        u32::try_from(self.natural()?).map_err(|_| CodecError::Overflow)
    }
}

/// Appends the GP variable-length natural encoding `E(n)` of `value`.
pub fn write_natural(out: &mut Vec<u8>, value: u64) {
    for extra in 0..8usize {
        if value < 1u64 << (7 * (extra + 1)) {
            let high = (value >> (8 * extra)) as u8;
            let prefix = !(0xFFu8 >> extra);
            out.push(prefix | high);
            out.extend_from_slice(&value.to_le_bytes()[..extra]);
            return;
        }
    }
    out.push(0xFF);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends the fixed-width little-endian encoding `E_len(value)`.
pub fn write_fixed(out: &mut Vec<u8>, value: u64, len: usize) {
    out.extend_from_slice(&value.to_le_bytes()[..len]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_round_trips_at_every_length_boundary() {
        let mut values = vec![0u64, 1, 127, 128, 255, u64::MAX, u64::MAX - 1];
        for bits in 1..64 {
            values.push((1u64 << bits) - 1);
            values.push(1u64 << bits);
        }
        for v in values {
            let mut out = Vec::new();
            write_natural(&mut out, v);
            let mut r = Reader::new(&out);
            assert_eq!(r.natural().unwrap(), v, "value {v:#x}");
            assert_eq!(r.remaining(), 0, "value {v:#x} left bytes");
        }
    }

    #[test]
    fn natural_lengths_follow_the_gray_paper() {
        let len = |v| {
            let mut out = Vec::new();
            write_natural(&mut out, v);
            out.len()
        };
        assert_eq!(len(127), 1);
        assert_eq!(len(128), 2);
        assert_eq!(len((1 << 14) - 1), 2);
        assert_eq!(len(1 << 14), 3);
        assert_eq!(len(1 << 56), 9);
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert_eq!(
            Reader::new(&[0x80]).natural(),
            Err(CodecError::UnexpectedEnd)
        );
        assert_eq!(Reader::new(&[]).natural(), Err(CodecError::UnexpectedEnd));
        assert_eq!(
            Reader::new(&[1, 2]).fixed(3),
            Err(CodecError::UnexpectedEnd)
        );
    }
}
