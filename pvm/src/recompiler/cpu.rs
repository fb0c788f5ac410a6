//! The x86-64 extensions generated code may use beyond the baseline ISA. Code compiled with an
//! extension runs only on CPUs that have it, so the set is part of what a persisted artifact
//! must record and check.

/// Optional instruction-set extensions, each used only when enabled here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CpuFeatures {
    /// BMI2: `shlx` / `shrx` / `sarx` (shifts by a register without `cl`).
    pub bmi2: bool,
    /// LZCNT and BMI1's TZCNT: zero counts in one instruction, defined for a zero input.
    pub lzcnt_tzcnt: bool,
}

impl CpuFeatures {
    /// No optional extension: runs on any x86-64 with `popcnt`.
    pub const BASELINE: CpuFeatures = CpuFeatures {
        bmi2: false,
        lzcnt_tzcnt: false,
    };

    /// What this CPU supports.
    pub fn host() -> CpuFeatures {
        CpuFeatures {
            bmi2: std::arch::is_x86_feature_detected!("bmi2"),
            lzcnt_tzcnt: std::arch::is_x86_feature_detected!("lzcnt")
                && std::arch::is_x86_feature_detected!("bmi1"),
        }
    }

    /// Whether code that uses `self` can run where `available` holds.
    pub fn runs_on(self, available: CpuFeatures) -> bool {
        (!self.bmi2 || available.bmi2) && (!self.lzcnt_tzcnt || available.lzcnt_tzcnt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_code_runs_everywhere_and_extensions_need_the_cpu() {
        let all = CpuFeatures {
            bmi2: true,
            lzcnt_tzcnt: true,
        };
        assert!(CpuFeatures::BASELINE.runs_on(CpuFeatures::BASELINE));
        assert!(CpuFeatures::BASELINE.runs_on(all));
        assert!(!all.runs_on(CpuFeatures::BASELINE));
        assert!(CpuFeatures::host().runs_on(CpuFeatures::host()));
    }
}
