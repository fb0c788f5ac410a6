//! Profiles: an ISA variant, a gas model and a host-call numbering, chosen together.

use crate::isa::IsaVariant;

/// How instruction costs are summed into per-block gas charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GasModel {
    /// Every instruction costs 1 (GP 0.7.x; the w3f vectors), charged per basic block.
    PerInstruction,
    /// The GP 0.8 draft pipeline simulation (load latency 25), charged per basic block.
    Pipeline,
}

impl GasModel {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            GasModel::PerInstruction => "per-instruction",
            GasModel::Pipeline => "pipeline",
        }
    }

    /// Parses a name given by [`GasModel::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [GasModel::PerInstruction, GasModel::Pipeline]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// Which host-call id table applies (GP §B / reference §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostCallNumbering {
    /// GP 0.7.x ids (`fetch` = 1, …).
    Gp07,
    /// GP 0.8 draft ids (`grow_heap` = 1, `fetch` = 2, …).
    Gp08Draft,
}

/// ISA variant + gas model + host-call numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Profile {
    /// Opcode numbering.
    pub isa: IsaVariant,
    /// Gas model.
    pub gas: GasModel,
    /// Host-call id table.
    pub host_calls: HostCallNumbering,
}

impl Profile {
    /// GP 0.7.x: the w3f PVM vectors' profile.
    pub const JAM_07: Profile = Profile {
        isa: IsaVariant::Jam07,
        gas: GasModel::PerInstruction,
        host_calls: HostCallNumbering::Gp07,
    };
    /// The gas-model-draft vectors' profile: 0.7 numbering + `unlikely`, pipeline gas.
    pub const GAS_DRAFT: Profile = Profile {
        isa: IsaVariant::GasDraft,
        gas: GasModel::Pipeline,
        host_calls: HostCallNumbering::Gp07,
    };
    /// The GP 0.8 draft: `JamV1` numbering, pipeline gas, 0.8 host-call ids.
    pub const JAM_08: Profile = Profile {
        isa: IsaVariant::Jam08,
        gas: GasModel::Pipeline,
        host_calls: HostCallNumbering::Gp08Draft,
    };

    /// The named profiles.
    pub const NAMED: [(&'static str, Profile); 3] = [
        ("jam-0.7", Profile::JAM_07),
        ("gas-draft", Profile::GAS_DRAFT),
        ("jam-0.8", Profile::JAM_08),
    ];

    /// Parses a profile name: `jam-0.7`, `gas-draft`, `jam-0.8`, optionally followed by
    /// `+per-instruction` or `+pipeline` to override the gas model.
    pub fn from_name(name: &str) -> Option<Profile> {
        let (base, gas) = match name.split_once('+') {
            Some((b, g)) => (b, Some(GasModel::from_name(g)?)),
            None => (name, None),
        };
        let mut profile = Self::NAMED.iter().find(|(n, _)| *n == base)?.1;
        if let Some(gas) = gas {
            profile.gas = gas;
        }
        Some(profile)
    }

    /// The canonical name (`jam-0.7`, or `jam-0.7+pipeline` for a non-default gas model).
    pub fn name(&self) -> String {
        match Self::NAMED.iter().find(|(_, p)| p == self) {
            Some((n, _)) => (*n).to_string(),
            None => {
                let base = Self::NAMED
                    .iter()
                    .find(|(_, p)| p.isa == self.isa)
                    .map(|(n, _)| *n)
                    .unwrap_or("?");
                format!("{base}+{}", self.gas.name())
            }
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (name, p) in Profile::NAMED {
            assert_eq!(Profile::from_name(name), Some(p));
            assert_eq!(p.name(), name);
        }
        let p = Profile::from_name("jam-0.7+pipeline").unwrap();
        assert_eq!(p.gas, GasModel::Pipeline);
        assert_eq!(p.name(), "jam-0.7+pipeline");
        assert_eq!(Profile::from_name("jam-0.9"), None);
        assert_eq!(Profile::from_name("jam-0.7+fast"), None);
    }
}
