//! Test-vector files: the w3f v0.4 format, the step format of the gas-model vectors, and files
//! with only `program` + `block-gas-costs`, all read into one [`Case`] shape.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// A memory chunk `{address, contents}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Chunk {
    /// Start address.
    pub address: u32,
    /// Bytes.
    pub contents: Vec<u8>,
}

/// What an `assert` step (or a w3f file's `expected-*` fields) requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// `halt`, `panic`, `page-fault`, `out-of-gas` or `ecalli`/`host`.
    pub status: String,
    /// Gas left.
    pub gas: Option<i64>,
    /// pc at the exit.
    pub pc: Option<u32>,
    /// All 13 registers.
    pub regs: Option<Vec<u64>>,
    /// Every non-zero byte of accessible memory.
    pub memory: Option<Vec<Chunk>>,
    /// Page-fault address.
    pub page_fault_address: Option<u32>,
    /// Host-call id.
    pub hostcall: Option<u32>,
}

/// One action of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Make pages accessible.
    Map {
        /// Start address.
        address: u32,
        /// Length in bytes.
        length: u32,
        /// Read-write (else read-only).
        writable: bool,
    },
    /// Write bytes, ignoring access rights.
    Write(Chunk),
    /// Set a register.
    SetReg {
        /// Register index.
        reg: usize,
        /// Value.
        value: u64,
    },
    /// Run until the next exit.
    Run,
    /// Compare the state after the last run.
    Assert(Expect),
}

/// Which vector format a file was in (it decides the default profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// w3f PVM vectors v0.4 (GP 0.7 numbering, 1 gas per instruction).
    W3f,
    /// The step format of the gas-model vectors.
    Steps,
    /// Only `program` and `block-gas-costs`.
    BlockCosts,
}

/// A test case, whatever its file format.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case name.
    pub name: String,
    /// The file format.
    pub format: Format,
    /// The code blob.
    pub program: Vec<u8>,
    /// Entry pc.
    pub initial_pc: u32,
    /// Initial gas.
    pub initial_gas: i64,
    /// Actions in order.
    pub steps: Vec<Step>,
    /// Expected per-block gas, by block pc.
    pub block_gas_costs: Option<BTreeMap<u32, u64>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PageMapEntry {
    address: u32,
    length: u32,
    #[serde(alias = "is_writable")]
    is_writable: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawFile {
    name: Option<String>,
    #[serde(default)]
    initial_regs: Option<Vec<u64>>,
    #[serde(default)]
    initial_pc: Option<u32>,
    #[serde(default)]
    initial_page_map: Option<Vec<PageMapEntry>>,
    #[serde(default)]
    initial_memory: Option<Vec<Chunk>>,
    #[serde(default)]
    initial_gas: Option<i64>,
    program: Vec<u8>,
    #[serde(default)]
    expected_status: Option<String>,
    #[serde(default)]
    expected_regs: Option<Vec<u64>>,
    #[serde(default)]
    expected_pc: Option<u32>,
    #[serde(default)]
    expected_memory: Option<Vec<Chunk>>,
    #[serde(default)]
    expected_gas: Option<i64>,
    #[serde(default)]
    expected_page_fault_address: Option<u32>,
    #[serde(default)]
    block_gas_costs: Option<BTreeMap<String, u64>>,
    #[serde(default)]
    steps: Option<Vec<RawStep>>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum RawStep {
    Map {
        address: u32,
        length: u32,
        #[serde(alias = "is-writable")]
        is_writable: bool,
    },
    Write {
        address: u32,
        contents: Vec<u8>,
    },
    SetReg {
        reg: usize,
        value: u64,
    },
    Run,
    Assert {
        status: String,
        #[serde(default)]
        gas: Option<i64>,
        #[serde(default)]
        pc: Option<u32>,
        #[serde(default)]
        regs: Option<Vec<u64>>,
        #[serde(default)]
        memory: Option<Vec<Chunk>>,
        #[serde(default, alias = "page-fault-address")]
        page_fault_address: Option<u32>,
        #[serde(default)]
        hostcall: Option<u32>,
    },
}

/// Why a vector file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The JSON does not match any vector format.
    #[error("{path}: not a PVM test vector: {message}")]
    Format {
        /// File.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Largest vector file accepted (a guard against reading something that is not a vector).
pub const MAX_VECTOR_FILE: u64 = 64 << 20;

impl Case {
    /// Reads a vector file.
    pub fn load(path: &Path) -> Result<Case, VectorError> {
        let display = path.display().to_string();
        let io = |source| VectorError::Io {
            path: display.clone(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_VECTOR_FILE {
            return Err(VectorError::Format {
                path: display,
                message: format!("file is {len} bytes, above the {MAX_VECTOR_FILE}-byte limit"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let fallback = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::parse(&text, &fallback).map_err(|message| VectorError::Format {
            path: display,
            message,
        })
    }

    /// Parses vector JSON; `fallback_name` names cases without a `name`.
    pub fn parse(text: &str, fallback_name: &str) -> Result<Case, String> {
        let raw: RawFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let name = raw
            .name
            .clone()
            .unwrap_or_else(|| fallback_name.to_string());
        let block_gas_costs = raw
            .block_gas_costs
            .as_ref()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        k.parse::<u32>()
                            .map(|pc| (pc, *v))
                            .map_err(|_| format!("block-gas-costs key {k:?} is not a pc"))
                    })
                    .collect::<Result<BTreeMap<_, _>, _>>()
            })
            .transpose()?;
        let base = |format| Case {
            name: name.clone(),
            format,
            program: raw.program.clone(),
            initial_pc: raw.initial_pc.unwrap_or(0),
            initial_gas: raw.initial_gas.unwrap_or(10_000),
            steps: Vec::new(),
            block_gas_costs: block_gas_costs.clone(),
        };
        if let Some(status) = &raw.expected_status {
            let mut case = base(Format::W3f);
            for entry in raw.initial_page_map.iter().flatten() {
                case.steps.push(Step::Map {
                    address: entry.address,
                    length: entry.length,
                    writable: entry.is_writable,
                });
            }
            for chunk in raw.initial_memory.iter().flatten() {
                case.steps.push(Step::Write(chunk.clone()));
            }
            let regs = raw.initial_regs.clone().unwrap_or_else(|| vec![0; 13]);
            check_regs(&regs, "initial-regs")?;
            for (reg, value) in regs.into_iter().enumerate() {
                case.steps.push(Step::SetReg { reg, value });
            }
            if let Some(r) = &raw.expected_regs {
                check_regs(r, "expected-regs")?;
            }
            case.steps.push(Step::Run);
            case.steps.push(Step::Assert(Expect {
                status: status.clone(),
                gas: raw.expected_gas,
                pc: raw.expected_pc,
                regs: raw.expected_regs.clone(),
                memory: raw.expected_memory.clone(),
                page_fault_address: raw.expected_page_fault_address,
                hostcall: None,
            }));
            return Ok(case);
        }
        if let Some(steps) = raw.steps {
            let mut case = base(Format::Steps);
            for step in steps {
                case.steps.push(match step {
                    RawStep::Map {
                        address,
                        length,
                        is_writable,
                    } => Step::Map {
                        address,
                        length,
                        writable: is_writable,
                    },
                    RawStep::Write { address, contents } => {
                        Step::Write(Chunk { address, contents })
                    }
                    RawStep::SetReg { reg, value } => {
                        if reg >= 13 {
                            return Err(format!("set-reg names register {reg}; there are 13"));
                        }
                        Step::SetReg { reg, value }
                    }
                    RawStep::Run => Step::Run,
                    RawStep::Assert {
                        status,
                        gas,
                        pc,
                        regs,
                        memory,
                        page_fault_address,
                        hostcall,
                    } => {
                        if let Some(r) = &regs {
                            check_regs(r, "assert regs")?;
                        }
                        Step::Assert(Expect {
                            status,
                            gas,
                            pc,
                            regs,
                            memory,
                            page_fault_address,
                            hostcall,
                        })
                    }
                });
            }
            return Ok(case);
        }
        if block_gas_costs.is_some() {
            return Ok(base(Format::BlockCosts));
        }
        Err("expected `expected-status`, `steps` or `block-gas-costs`".into())
    }
}

fn check_regs(regs: &[u64], field: &str) -> Result<(), String> {
    if regs.len() == 13 {
        Ok(())
    } else {
        Err(format!(
            "{field} has {} values; there are 13 registers",
            regs.len()
        ))
    }
}
