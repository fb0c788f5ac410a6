//! [`ProtocolParams`]: the JAM protocol constants that a chain may choose, exactly the set that
//! JAM's `fetch` host call returns for selector 0, and their encoding.
//!
//! # Sources
//!
//! - **Which constants, in which order, at which widths**: the Gray Paper 0.7.0 (commit
//!   `38c4e62d`, 25 June 2025), appendix B.6 "General Functions", `fetch` = 1, the case
//!   `ω10 = 0`: `c = E(E_8(B_I), E_8(B_L), E_8(B_S), E_2(C), E_4(D), E_4(E), E_8(G_A), E_8(G_I),
//!   E_8(G_R), E_8(G_T), E_2(H), E_2(I), E_2(J), E_2(K), E_4(L), E_2(N), E_2(O), E_2(P), E_2(Q),
//!   E_2(R), E_2(T), E_2(U), E_2(V), E_4(W_A), E_4(W_B), E_4(W_C), E_4(W_E), E_4(W_M), E_4(W_P),
//!   E_4(W_R), E_4(W_T), E_4(W_X), E_4(Y))`: 33 constants, 134 bytes, read from the Markdown
//!   rendering of that release kept in FluffyLabs/graypaper-archive. The same list, order and
//!   widths appear in independent implementations (jamzig's `encodeJamParams`; a Kotlin
//!   implementation's accumulate test host, which writes the tiny blob byte by byte).
//! - **Full values**: the Gray Paper 0.7.0 appendix I.4.4 "Constants" (same document).
//! - **Tiny values**: the w3f test vectors' chain-spec table (`UPSTREAM-README.md` of the
//!   accumulate vectors, mirrored at docs.jamcha.in/basics/chain-spec/tiny) fixes V, C, D, P, E,
//!   Y, N, K, R, W_P, G_T and G_R; every other constant takes its Gray Paper value except two that
//!   the table implies or that implementations agree on: `W_E = 4` (so that `W_E · W_P = W_G =
//!   4104`, as for full: 684 · 6), and `L = 24` (typeberry's tiny spec, citing the jam-conformance
//!   repository, and the Kotlin implementation's tiny blob).
//!
//! # Uncertainty
//!
//! - Tiny `L = 24` is not in the w3f table itself; it comes from the conformance tooling as
//!   reported by two implementations. One Python implementation reports `L = 14,400` (with other
//!   values that disagree with the w3f table, so it was not followed).
//! - `W_B` changed across releases: 13,794,305 in 0.7.0 (used here); the 0.8 draft gives
//!   13,791,360 and one TypeScript implementation already uses that.
//! - Later releases change this list (the 0.8 draft drops N, V, W_E and W_P from the blob and
//!   moves `fetch` to id 2); this module follows 0.7.0, the version the `jam-0.7` profile runs.

use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// The segment size `W_G = W_E · W_P` the Gray Paper fixes (4104 octets).
pub const SEGMENT_SIZE: u64 = 4104;

/// The JAM protocol constants of a chain (Gray Paper 0.7.0 symbols in each field's doc).
///
/// The fields are exactly the constants `fetch` returns for selector 0, in that order, each
/// typed with the width of its encoding there, so every value a spec can hold encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolParams {
    /// `B_I`: the additional minimum balance per item of elective service state (GP: 10).
    pub item_deposit: u64,
    /// `B_L`: the additional minimum balance per octet of elective service state (GP: 1).
    pub byte_deposit: u64,
    /// `B_S`: the basic minimum balance of every service (GP: 100).
    pub base_deposit: u64,
    /// `C`: the number of cores (GP: 341).
    pub num_cores: u16,
    /// `D`: the period in timeslots after which an unreferenced preimage may be expunged
    /// (GP: 19,200).
    pub preimage_expunge_period: u32,
    /// `E`: the length of an epoch in timeslots (GP: 600).
    pub epoch_length: u32,
    /// `G_A`: the gas allocated to a work-report's Accumulation (GP: 10,000,000).
    pub max_accumulate_gas: u64,
    /// `G_I`: the gas allocated to a work-package's Is-Authorized logic (GP: 50,000,000).
    pub max_is_authorized_gas: u64,
    /// `G_R`: the gas allocated to a work-package's Refine logic (GP: 5,000,000,000).
    pub max_refine_gas: u64,
    /// `G_T`: the total gas allocated across all Accumulation in a block (GP: 3,500,000,000).
    pub max_block_gas: u64,
    /// `H`: the size of recent history, in blocks (GP: 8).
    pub recent_history: u16,
    /// `I`: the maximum number of work items in a package (GP: 16).
    pub max_work_items: u16,
    /// `J`: the maximum sum of dependency items in a work-report (GP: 8).
    pub max_dependencies: u16,
    /// `K`: the maximum number of tickets in a single extrinsic (GP: 16).
    pub max_tickets_per_extrinsic: u16,
    /// `L`: the maximum age in timeslots of the lookup anchor (GP: 14,400).
    pub max_lookup_anchor_age: u32,
    /// `N`: the number of ticket entries per validator (GP: 2).
    pub tickets_per_validator: u16,
    /// `O`: the maximum number of items in the authorizations pool (GP: 8).
    pub auth_pool_size: u16,
    /// `P`: the slot period, in seconds (GP: 6).
    pub slot_duration: u16,
    /// `Q`: the number of items in the authorizations queue (GP: 80).
    pub auth_queue_size: u16,
    /// `R`: the rotation period of validator-core assignments, in timeslots (GP: 10).
    pub rotation_period: u16,
    /// `T`: the maximum number of extrinsics in a work-package (GP: 128).
    pub max_extrinsics: u16,
    /// `U`: the period in timeslots after which reported but unavailable work may be replaced
    /// (GP: 5).
    pub assurance_timeout: u16,
    /// `V`: the total number of validators (GP: 1023).
    pub num_validators: u16,
    /// `W_A`: the maximum size of is-authorized code in octets (GP: 64,000).
    pub max_authorizer_code_size: u32,
    /// `W_B`: the maximum size of an encoded work-package with its extrinsic data and import
    /// implications, in octets (GP 0.7.0: 13,794,305).
    pub max_package_size: u32,
    /// `W_C`: the maximum size of service code in octets (GP: 4,000,000).
    pub max_service_code_size: u32,
    /// `W_E`: the basic size of erasure-coded pieces in octets (GP: 684).
    pub erasure_piece_size: u32,
    /// `W_M`: the maximum number of imports in a work-package (GP: 3,072).
    pub max_imports: u32,
    /// `W_P`: the number of erasure-coded pieces in a segment (GP: 6).
    pub pieces_per_segment: u32,
    /// `W_R`: the maximum total size of all unbounded blobs in a work-report, in octets
    /// (GP: 48 · 2¹⁰ = 49,152).
    pub max_report_output: u32,
    /// `W_T`: the size of a transfer memo in octets (GP: 128).
    pub transfer_memo_size: u32,
    /// `W_X`: the maximum number of exports in a work-package (GP: 3,072).
    pub max_exports: u32,
    /// `Y`: the number of slots into an epoch at which ticket submission ends (GP: 500).
    pub contest_duration: u32,
}

/// Length of [`ProtocolParams::encode_constants`]: 3·8 + 2 + 2·4 + 4·8 + 4·2 + 4 + 8·2 + 10·4.
pub const ENCODED_CONSTANTS_LEN: usize = 134;

impl ProtocolParams {
    /// GP's threshold balance `a_t = max(0, B_S + B_I·items + B_L·octets − gratis)`: what an
    /// account with this storage footprint must hold (saturating, never overflowing).
    pub fn threshold_balance(&self, items: u64, octets: u64, gratis: u64) -> u64 {
        let total = u128::from(self.base_deposit)
            + u128::from(self.item_deposit) * u128::from(items)
            + u128::from(self.byte_deposit) * u128::from(octets);
        u64::try_from(total.saturating_sub(u128::from(gratis))).unwrap_or(u64::MAX)
    }

    /// The w3f "tiny" parameters (6 validators, 2 cores, 12-slot epochs); see the module docs.
    pub const TINY: ProtocolParams = ProtocolParams {
        num_cores: 2,
        preimage_expunge_period: 32,
        epoch_length: 12,
        max_refine_gas: 1_000_000_000,
        max_block_gas: 20_000_000,
        max_tickets_per_extrinsic: 3,
        max_lookup_anchor_age: 24,
        tickets_per_validator: 3,
        rotation_period: 4,
        num_validators: 6,
        erasure_piece_size: 4,
        pieces_per_segment: 1026,
        contest_duration: 10,
        ..ProtocolParams::FULL
    };

    /// The Gray Paper 0.7.0 parameters ("full": 1023 validators, 341 cores).
    pub const FULL: ProtocolParams = ProtocolParams {
        item_deposit: 10,
        byte_deposit: 1,
        base_deposit: 100,
        num_cores: 341,
        preimage_expunge_period: 19_200,
        epoch_length: 600,
        max_accumulate_gas: 10_000_000,
        max_is_authorized_gas: 50_000_000,
        max_refine_gas: 5_000_000_000,
        max_block_gas: 3_500_000_000,
        recent_history: 8,
        max_work_items: 16,
        max_dependencies: 8,
        max_tickets_per_extrinsic: 16,
        max_lookup_anchor_age: 14_400,
        tickets_per_validator: 2,
        auth_pool_size: 8,
        slot_duration: 6,
        auth_queue_size: 80,
        rotation_period: 10,
        max_extrinsics: 128,
        assurance_timeout: 5,
        num_validators: 1023,
        max_authorizer_code_size: 64_000,
        max_package_size: 13_794_305,
        max_service_code_size: 4_000_000,
        erasure_piece_size: 684,
        max_imports: 3072,
        pieces_per_segment: 6,
        max_report_output: 48 << 10,
        transfer_memo_size: 128,
        max_exports: 3072,
        contest_duration: 500,
    };

    /// What `fetch` returns for selector 0 (GP 0.7.0 B.6): every constant, in field order,
    /// little-endian at its fixed width; [`ENCODED_CONSTANTS_LEN`] bytes.
    pub fn encode_constants(&self) -> Vec<u8> {
        let p = self;
        let mut out = Vec::with_capacity(ENCODED_CONSTANTS_LEN);
        for v in [p.item_deposit, p.byte_deposit, p.base_deposit] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&p.num_cores.to_le_bytes());
        for v in [p.preimage_expunge_period, p.epoch_length] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            p.max_accumulate_gas,
            p.max_is_authorized_gas,
            p.max_refine_gas,
            p.max_block_gas,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            p.recent_history,
            p.max_work_items,
            p.max_dependencies,
            p.max_tickets_per_extrinsic,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&p.max_lookup_anchor_age.to_le_bytes());
        for v in [
            p.tickets_per_validator,
            p.auth_pool_size,
            p.slot_duration,
            p.auth_queue_size,
            p.rotation_period,
            p.max_extrinsics,
            p.assurance_timeout,
            p.num_validators,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            p.max_authorizer_code_size,
            p.max_package_size,
            p.max_service_code_size,
            p.erasure_piece_size,
            p.max_imports,
            p.pieces_per_segment,
            p.max_report_output,
            p.transfer_memo_size,
            p.max_exports,
            p.contest_duration,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        debug_assert_eq!(out.len(), ENCODED_CONSTANTS_LEN);
        out
    }

    /// `W_G = W_E · W_P`, the segment size in octets (4104 in every valid spec).
    pub fn segment_size(&self) -> u64 {
        u64::from(self.erasure_piece_size) * u64::from(self.pieces_per_segment)
    }

    /// `⌊2V/3⌋ + 1`, the validator super-majority.
    pub fn validators_super_majority(&self) -> u64 {
        u64::from(self.num_validators) * 2 / 3 + 1
    }

    /// Checks the parameters; errors name the field as `protocol.<name>`.
    ///
    /// Counts, sizes, durations and gas limits must be positive (only the deposits `B_*`, `J`,
    /// `L`, `T`, `W_M`, `W_T` and `W_X` may be 0), and the Gray Paper's relations must hold:
    /// `Y < E`; `G_T ≥ G_A · C`; `(⌊2V/3⌋ + 1) · N ≥ E` (a super-majority can fill the ticket
    /// contest); `W_E · W_P = 4104`; `D ≥ L`.
    pub fn validate(&self) -> Result<(), SpecError> {
        let p = self;
        let positive: [(&str, u64); 23] = [
            ("num_cores", p.num_cores.into()),
            ("preimage_expunge_period", p.preimage_expunge_period.into()),
            ("epoch_length", p.epoch_length.into()),
            ("max_accumulate_gas", p.max_accumulate_gas),
            ("max_is_authorized_gas", p.max_is_authorized_gas),
            ("max_refine_gas", p.max_refine_gas),
            ("max_block_gas", p.max_block_gas),
            ("recent_history", p.recent_history.into()),
            ("max_work_items", p.max_work_items.into()),
            (
                "max_tickets_per_extrinsic",
                p.max_tickets_per_extrinsic.into(),
            ),
            ("tickets_per_validator", p.tickets_per_validator.into()),
            ("auth_pool_size", p.auth_pool_size.into()),
            ("slot_duration", p.slot_duration.into()),
            ("auth_queue_size", p.auth_queue_size.into()),
            ("rotation_period", p.rotation_period.into()),
            ("assurance_timeout", p.assurance_timeout.into()),
            ("num_validators", p.num_validators.into()),
            (
                "max_authorizer_code_size",
                p.max_authorizer_code_size.into(),
            ),
            ("max_package_size", p.max_package_size.into()),
            ("max_service_code_size", p.max_service_code_size.into()),
            ("erasure_piece_size", p.erasure_piece_size.into()),
            ("pieces_per_segment", p.pieces_per_segment.into()),
            ("contest_duration", p.contest_duration.into()),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(field(name, "must be at least 1, got 0"));
            }
        }
        if p.max_report_output == 0 {
            return Err(field("max_report_output", "must be at least 1, got 0"));
        }
        if p.contest_duration >= p.epoch_length {
            return Err(field(
                "contest_duration",
                format!(
                    "{} must be less than protocol.epoch_length ({}) (GP: Y < E)",
                    p.contest_duration, p.epoch_length
                ),
            ));
        }
        let accumulate_all = u128::from(p.max_accumulate_gas) * u128::from(p.num_cores);
        if u128::from(p.max_block_gas) < accumulate_all {
            return Err(field(
                "max_block_gas",
                format!(
                    "{} is less than protocol.max_accumulate_gas × protocol.num_cores = {} × {} \
                     = {accumulate_all} (GP: G_T ≥ G_A · C)",
                    p.max_block_gas, p.max_accumulate_gas, p.num_cores
                ),
            ));
        }
        let tickets = p.validators_super_majority() * u64::from(p.tickets_per_validator);
        if tickets < u64::from(p.epoch_length) {
            return Err(field(
                "tickets_per_validator",
                format!(
                    "a super-majority of validators can submit only (⌊2·{}/3⌋ + 1) × {} = \
                     {tickets} tickets, fewer than protocol.epoch_length ({}) slots",
                    p.num_validators, p.tickets_per_validator, p.epoch_length
                ),
            ));
        }
        if p.segment_size() != SEGMENT_SIZE {
            return Err(field(
                "pieces_per_segment",
                format!(
                    "protocol.erasure_piece_size × protocol.pieces_per_segment = {} × {} = {} \
                     must equal the segment size W_G = {SEGMENT_SIZE}",
                    p.erasure_piece_size,
                    p.pieces_per_segment,
                    p.segment_size()
                ),
            ));
        }
        if p.preimage_expunge_period < p.max_lookup_anchor_age {
            return Err(field(
                "preimage_expunge_period",
                format!(
                    "{} is less than protocol.max_lookup_anchor_age ({}) (GP: D = L + 4,800)",
                    p.preimage_expunge_period, p.max_lookup_anchor_age
                ),
            ));
        }
        Ok(())
    }
}

fn field(name: &str, message: impl Into<String>) -> SpecError {
    SpecError::at(format!("protocol.{name}"), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The tiny blob written out from the GP 0.7.0 width list and the tiny values (independently
    /// of `encode_constants`).
    const TINY_BLOB: &str = "0a000000000000000100000000000000640000000000000002002000\
        00000c000000809698000000000080f0fa020000000000ca9a3b00000000002d3101000000000800100008\
        000300180000000300080006005000040080000500060000fa0000017cd20000093d000400000000\
        0c00000204000000c0000080000000000c00000a000000";

    /// The same for full.
    const FULL_BLOB: &str = "0a000000000000000100000000000000640000000000000055010\
        04b000058020000809698000000000080f0fa020000000000f2052a0100000000c39dd000000000080010\
        00080010004038000002000800060050000a0080000500ff0300fa0000017cd20000093d00ac020000\
        000c00000600000000c0000080000000000c0000f4010000";

    #[test]
    fn tiny_and_full_encode_to_the_expected_blobs() {
        let tiny = ProtocolParams::TINY.encode_constants();
        assert_eq!(tiny.len(), ENCODED_CONSTANTS_LEN);
        assert_eq!(tiny, hex(&TINY_BLOB.replace(' ', "")));
        assert_eq!(
            ProtocolParams::FULL.encode_constants(),
            hex(&FULL_BLOB.replace(' ', ""))
        );
    }

    #[test]
    fn every_field_lands_at_its_offset_and_width() {
        // (offset, width) of each constant in GP order, and a setter for it.
        type Set = fn(&mut ProtocolParams);
        let cases: [(usize, usize, Set); 33] = [
            (0, 8, |p| p.item_deposit = u64::MAX),
            (8, 8, |p| p.byte_deposit = u64::MAX),
            (16, 8, |p| p.base_deposit = u64::MAX),
            (24, 2, |p| p.num_cores = u16::MAX),
            (26, 4, |p| p.preimage_expunge_period = u32::MAX),
            (30, 4, |p| p.epoch_length = u32::MAX),
            (34, 8, |p| p.max_accumulate_gas = u64::MAX),
            (42, 8, |p| p.max_is_authorized_gas = u64::MAX),
            (50, 8, |p| p.max_refine_gas = u64::MAX),
            (58, 8, |p| p.max_block_gas = u64::MAX),
            (66, 2, |p| p.recent_history = u16::MAX),
            (68, 2, |p| p.max_work_items = u16::MAX),
            (70, 2, |p| p.max_dependencies = u16::MAX),
            (72, 2, |p| p.max_tickets_per_extrinsic = u16::MAX),
            (74, 4, |p| p.max_lookup_anchor_age = u32::MAX),
            (78, 2, |p| p.tickets_per_validator = u16::MAX),
            (80, 2, |p| p.auth_pool_size = u16::MAX),
            (82, 2, |p| p.slot_duration = u16::MAX),
            (84, 2, |p| p.auth_queue_size = u16::MAX),
            (86, 2, |p| p.rotation_period = u16::MAX),
            (88, 2, |p| p.max_extrinsics = u16::MAX),
            (90, 2, |p| p.assurance_timeout = u16::MAX),
            (92, 2, |p| p.num_validators = u16::MAX),
            (94, 4, |p| p.max_authorizer_code_size = u32::MAX),
            (98, 4, |p| p.max_package_size = u32::MAX),
            (102, 4, |p| p.max_service_code_size = u32::MAX),
            (106, 4, |p| p.erasure_piece_size = u32::MAX),
            (110, 4, |p| p.max_imports = u32::MAX),
            (114, 4, |p| p.pieces_per_segment = u32::MAX),
            (118, 4, |p| p.max_report_output = u32::MAX),
            (122, 4, |p| p.transfer_memo_size = u32::MAX),
            (126, 4, |p| p.max_exports = u32::MAX),
            (130, 4, |p| p.contest_duration = u32::MAX),
        ];
        let zero = ProtocolParams {
            item_deposit: 0,
            byte_deposit: 0,
            base_deposit: 0,
            num_cores: 0,
            preimage_expunge_period: 0,
            epoch_length: 0,
            max_accumulate_gas: 0,
            max_is_authorized_gas: 0,
            max_refine_gas: 0,
            max_block_gas: 0,
            recent_history: 0,
            max_work_items: 0,
            max_dependencies: 0,
            max_tickets_per_extrinsic: 0,
            max_lookup_anchor_age: 0,
            tickets_per_validator: 0,
            auth_pool_size: 0,
            slot_duration: 0,
            auth_queue_size: 0,
            rotation_period: 0,
            max_extrinsics: 0,
            assurance_timeout: 0,
            num_validators: 0,
            max_authorizer_code_size: 0,
            max_package_size: 0,
            max_service_code_size: 0,
            erasure_piece_size: 0,
            max_imports: 0,
            pieces_per_segment: 0,
            max_report_output: 0,
            transfer_memo_size: 0,
            max_exports: 0,
            contest_duration: 0,
        };
        assert_eq!(zero.encode_constants(), vec![0; ENCODED_CONSTANTS_LEN]);
        let mut end = 0;
        for (offset, width, set) in cases {
            assert_eq!(offset, end, "constants are contiguous");
            end = offset + width;
            let mut p = zero;
            set(&mut p);
            let blob = p.encode_constants();
            let mut expected = vec![0u8; ENCODED_CONSTANTS_LEN];
            expected[offset..offset + width].fill(0xFF);
            assert_eq!(blob, expected, "field at offset {offset}");
        }
        assert_eq!(end, ENCODED_CONSTANTS_LEN);
    }

    #[test]
    fn builtin_parameters_validate() {
        ProtocolParams::TINY.validate().unwrap();
        ProtocolParams::FULL.validate().unwrap();
        assert_eq!(ProtocolParams::TINY.segment_size(), SEGMENT_SIZE);
        assert_eq!(ProtocolParams::FULL.segment_size(), SEGMENT_SIZE);
        assert_eq!(ProtocolParams::TINY.validators_super_majority(), 5);
        assert_eq!(ProtocolParams::FULL.validators_super_majority(), 683);
    }

    #[test]
    fn relations_are_checked_and_name_the_field() {
        let check = |f: fn(&mut ProtocolParams), field: &str, needle: &str| {
            let mut p = ProtocolParams::TINY;
            f(&mut p);
            let err = p.validate().unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        };
        check(
            |p| p.num_validators = 0,
            "protocol.num_validators",
            "at least 1",
        );
        check(
            |p| p.max_report_output = 0,
            "protocol.max_report_output",
            "at least 1",
        );
        check(
            |p| p.contest_duration = 12,
            "protocol.contest_duration",
            "less than",
        );
        check(
            |p| p.max_block_gas = 19_999_999,
            "protocol.max_block_gas",
            "G_T ≥ G_A · C",
        );
        check(
            |p| p.tickets_per_validator = 2,
            "protocol.tickets_per_validator",
            "10 tickets",
        );
        check(
            |p| p.pieces_per_segment = 1025,
            "protocol.pieces_per_segment",
            "4104",
        );
        check(
            |p| p.max_lookup_anchor_age = 33,
            "protocol.preimage_expunge_period",
            "33",
        );
        // Zero is allowed where the protocol allows it.
        let mut p = ProtocolParams::TINY;
        p.item_deposit = 0;
        p.byte_deposit = 0;
        p.base_deposit = 0;
        p.max_dependencies = 0;
        p.max_imports = 0;
        p.max_exports = 0;
        p.validate().unwrap();
    }
}
