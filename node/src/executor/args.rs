//! GP 0.7 invocation arguments and accumulate operands, in the Gray Paper's encoding
//! (variable-length naturals `E(x)`, fixed-width `E_l(x)`, length prefixes `↕x`).

use kiln_pvm::codec::{write_fixed, write_natural};
use kiln_state::Hash;

use super::{AccumulateRequest, RefineRequest};

/// A work result as accumulate sees it: output blob or the reason there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkResult {
    /// Refine halted with this output.
    Ok(Vec<u8>),
    /// Refine ran out of gas (∞).
    OutOfGas,
    /// Refine panicked (☇).
    Panic,
    /// The number of exports was wrong (⊚).
    BadExports,
    /// The output was too large (⊖).
    Oversize,
    /// The code was not available (BAD).
    BadCode,
    /// The code was too large (BIG).
    CodeTooBig,
}

/// One accumulate operand (GP 0.7's `O`): a work item's result with its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulateOperand {
    /// Work-package hash.
    pub package_hash: Hash,
    /// Exports (segment) root.
    pub exports_root: Hash,
    /// Authorizer hash.
    pub authorizer_hash: Hash,
    /// Hash of the work item's payload.
    pub payload_hash: Hash,
    /// The gas limit of the work item's accumulation.
    pub gas_limit: u64,
    /// The refine result.
    pub result: WorkResult,
    /// The authorizer's output (trace).
    pub auth_output: Vec<u8>,
}

/// `E(core, item, service, ↕payload, H(package))`.
pub(super) fn refine(request: &RefineRequest) -> Vec<u8> {
    let mut out = Vec::with_capacity(request.payload.len() + 48);
    write_natural(&mut out, u64::from(request.core));
    write_natural(&mut out, u64::from(request.item_index));
    write_natural(&mut out, u64::from(request.service));
    write_natural(&mut out, request.payload.len() as u64);
    out.extend_from_slice(&request.payload);
    out.extend_from_slice(&request.package_hash);
    out
}

/// `E(slot, service, |operands|)`.
pub(super) fn accumulate(request: &AccumulateRequest) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    write_natural(&mut out, u64::from(request.slot));
    write_natural(&mut out, u64::from(request.service));
    write_natural(&mut out, request.operands.len() as u64);
    out
}

/// Each operand encoded: `E(p, e, a, y, g, O(d), ↕o)`.
pub(super) fn encode_operands(operands: &[AccumulateOperand]) -> Vec<Vec<u8>> {
    operands.iter().map(encode_operand).collect()
}

fn encode_operand(o: &AccumulateOperand) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 * 32 + 16 + o.auth_output.len());
    for hash in [
        &o.package_hash,
        &o.exports_root,
        &o.authorizer_hash,
        &o.payload_hash,
    ] {
        out.extend_from_slice(hash);
    }
    write_natural(&mut out, o.gas_limit);
    match &o.result {
        WorkResult::Ok(blob) => {
            out.push(0);
            write_natural(&mut out, blob.len() as u64);
            out.extend_from_slice(blob);
        }
        WorkResult::OutOfGas => out.push(1),
        WorkResult::Panic => out.push(2),
        WorkResult::BadExports => out.push(3),
        WorkResult::Oversize => out.push(4),
        WorkResult::BadCode => out.push(5),
        WorkResult::CodeTooBig => out.push(6),
    }
    write_natural(&mut out, o.auth_output.len() as u64);
    out.extend_from_slice(&o.auth_output);
    out
}

/// `E(↕items)`: a length-prefixed sequence of already encoded items.
pub(super) fn sequence(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    write_natural(&mut out, items.len() as u64);
    for item in items {
        out.extend_from_slice(item);
    }
    out
}

/// `E_8(x)` helper for the `info` encoding.
pub(super) fn push_u64(out: &mut Vec<u8>, value: u64) {
    write_fixed(out, value, 8);
}

/// `E_4(x)` helper for the `info` encoding.
pub(super) fn push_u32(out: &mut Vec<u8>, value: u32) {
    write_fixed(out, u64::from(value), 4);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refine_arguments_are_naturals_then_payload_then_hash() {
        let request = RefineRequest {
            service: 300,
            payload: b"hi".to_vec(),
            gas: 1,
            core: 1,
            item_index: 0,
            package_hash: [7; 32],
        };
        let args = refine(&request);
        // 300 needs two bytes: prefix 0x80 | (300 >> 8), then 300 & 0xff.
        assert_eq!(&args[..6], &[1, 0, 0x81, 0x2C, 2, b'h']);
        assert_eq!(args.len(), 7 + 32);
        assert_eq!(&args[7..], &[7; 32]);
    }

    #[test]
    fn operands_encode_results_by_kind() {
        let mut o = AccumulateOperand {
            package_hash: [1; 32],
            exports_root: [2; 32],
            authorizer_hash: [3; 32],
            payload_hash: [4; 32],
            gas_limit: 1000,
            result: WorkResult::Ok(vec![9, 9]),
            auth_output: vec![],
        };
        let ok = encode_operand(&o);
        assert_eq!(ok.len(), 128 + 2 + 1 + 1 + 2 + 1);
        assert_eq!(&ok[130..], &[0, 2, 9, 9, 0]);
        o.result = WorkResult::Panic;
        assert_eq!(&encode_operand(&o)[130..], &[2, 0]);
        assert_eq!(sequence(&[ok.clone(), ok.clone()])[0], 2);
    }
}
