//! [`ServiceExecutor`]: runs a service's refine or accumulate on the kernel with GP host
//! functions, on a consistent snapshot of the state, and commits the writes of a successful
//! accumulate atomically (or, for a dry-run, only returns them).
//!
//! - `args.rs`: the GP 0.7 invocation arguments and accumulate operands;
//! - `host.rs`: the host functions;
//! - `guest.rs`: checked access to guest memory for host functions.

mod args;
mod guest;
mod host;
mod profile;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln_chain_spec::ChainSpec;
use kiln_pvm::kernel::{KernelConfig, KernelError};
use kiln_pvm::standard::StandardError;
use kiln_pvm::{Backend, Kernel, KernelExit};
use kiln_state::{Changes, Hash, Overlay, ServiceId, StateDb, StateError, StateRead};

use crate::code_cache::{CodeCache, CodeError, CodeKey, PreparedCode};
use crate::jit::{Jit, JitKey};
pub use args::{AccumulateOperand, WorkResult};
use host::{HostEnv, Invocation};
pub use profile::BlockGas;
use profile::BlockProfiler;

/// GP 0.7 entry pcs.
const REFINE_PC: u32 = 0;
const ACCUMULATE_PC: u32 = 5;

/// How the executor runs code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// Backend for service code (`Auto`: the recompiler where it can, else the interpreter).
    pub backend: Backend,
    /// Bytes of prepared code the cache keeps.
    pub code_cache_bytes: usize,
    /// Limits of each invocation's kernel.
    pub kernel: KernelConfig,
    /// Guest log lines kept in an outcome (more are counted, not kept).
    pub max_log_lines: usize,
    /// Wall-clock limit of one invocation, checked at each host call (gas bounds the rest):
    /// beyond it the invocation ends as `time-limit` and keeps nothing. `None`: gas only.
    pub time_limit: Option<Duration>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Auto,
            code_cache_bytes: 256 << 20,
            kernel: KernelConfig::default(),
            max_log_lines: 256,
            time_limit: None,
        }
    }
}

/// A refine call: `Ψ_M(code, pc 0, gas, E(core, item, service, ↕payload, H(package)))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefineRequest {
    /// The service whose code runs.
    pub service: ServiceId,
    /// The work item's payload.
    pub payload: Vec<u8>,
    /// Gas limit.
    pub gas: u64,
    /// Core index.
    pub core: u16,
    /// Index of the work item in its package.
    pub item_index: u32,
    /// Hash of the work package.
    pub package_hash: Hash,
}

/// An accumulate call: `Ψ_M(code, pc 5, gas, E(slot, service, |operands|))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulateRequest {
    /// The service whose code runs.
    pub service: ServiceId,
    /// The timeslot.
    pub slot: u32,
    /// Gas limit.
    pub gas: u64,
    /// The work results to accumulate (`fetch` selectors 14 and 15).
    pub operands: Vec<AccumulateOperand>,
    /// The entropy `η'₀` (`fetch` selector 1).
    pub entropy: Hash,
}

/// Whether the writes are committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run on a snapshot and return the writes; the database is not touched.
    DryRun,
    /// Commit the writes of a successful run atomically.
    Commit,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// The code halted; `output` holds its result.
    Halt,
    /// The code panicked (GP ☇).
    Panic,
    /// The code touched an inaccessible page at this address (GP treats it as ☇).
    PageFault(u32),
    /// The gas ran out (GP ∞).
    OutOfGas,
    /// The service's code is missing or not a valid program (GP BAD).
    BadCode(String),
    /// The service's code is larger than the chain allows (GP BIG).
    CodeTooBig,
    /// The output is larger than the chain's `max_report_output` (GP ⊖; refine only: an
    /// accumulate's oversized output is just dropped).
    OutputTooLarge,
    /// The invocation ran past the node's wall-clock limit (a node policy, not GP).
    TimeLimit,
    /// The host could not give the invocation the resources it needed (address space, say).
    HostFailure(String),
}

impl ExitStatus {
    /// Stable lower-case name (`halt`, `panic`, `page-fault`, `out-of-gas`, `bad-code`,
    /// `code-too-big`, `oversize`, `time-limit`, `host-failure`).
    pub fn name(&self) -> &'static str {
        match self {
            ExitStatus::Halt => "halt",
            ExitStatus::Panic => "panic",
            ExitStatus::PageFault(_) => "page-fault",
            ExitStatus::OutOfGas => "out-of-gas",
            ExitStatus::BadCode(_) => "bad-code",
            ExitStatus::CodeTooBig => "code-too-big",
            ExitStatus::OutputTooLarge => "oversize",
            ExitStatus::TimeLimit => "time-limit",
            ExitStatus::HostFailure(_) => "host-failure",
        }
    }
}

/// One guest log line (JIP-1 `log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Level: 0 error, 1 warning, 2 info, 3 debug, 4 trace.
    pub level: u64,
    /// Target (lossy UTF-8).
    pub target: String,
    /// Message (lossy UTF-8).
    pub message: String,
}

/// What an invocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub status: ExitStatus,
    /// The output (after a halt).
    pub output: Vec<u8>,
    /// Gas used, host functions included.
    pub gas_used: u64,
    /// Host calls made, by host-function name (`unknown` for ids without a function).
    pub host_calls: BTreeMap<&'static str, u64>,
    /// The state writes: those of a successful accumulate (committed unless a dry-run);
    /// empty after a failure, since nothing of a failed invocation is kept.
    pub writes: Changes,
    /// Whether `writes` were committed to the database.
    pub committed: bool,
    /// Guest log lines (at most the configured number).
    pub logs: Vec<LogLine>,
    /// Log lines beyond the kept ones.
    pub logs_dropped: u64,
    /// The backend that ran the code.
    pub backend: Backend,
    /// Wall-clock time of the run (code preparation included).
    pub elapsed: Duration,
}

/// Why a request could not run at all (the code's own failures are [`ExitStatus`]es).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The service does not exist.
    #[error("service {0} does not exist")]
    UnknownService(ServiceId),
    /// The request is outside the chain's limits.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The state store failed; nothing was committed.
    #[error("state store: {0}")]
    State(#[from] StateError),
    /// The invocation could not be set up (its memory, say).
    #[error("setting up the invocation failed: {0}")]
    Setup(String),
}

/// Runs service code against the state store.
pub struct ServiceExecutor {
    state: Arc<StateDb>,
    spec: Arc<ChainSpec>,
    cache: Arc<CodeCache>,
    config: ExecutorConfig,
    /// With `Backend::Auto`: tiered execution (interpreted until hot, then compiled in the
    /// background). Without it, `Auto` compiles on first use.
    jit: Option<Arc<Jit>>,
}

impl std::fmt::Debug for ServiceExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceExecutor")
            .field("chain", &self.spec.id)
            .field("config", &self.config)
            .finish()
    }
}

impl ServiceExecutor {
    /// An executor over `state` for the chain `spec`.
    pub fn new(state: Arc<StateDb>, spec: Arc<ChainSpec>, config: ExecutorConfig) -> Self {
        let cache = Arc::new(CodeCache::new(config.code_cache_bytes));
        Self::with_cache(state, spec, config, cache)
    }

    /// As [`ServiceExecutor::new`], sharing `cache` (with other executors, say).
    pub fn with_cache(
        state: Arc<StateDb>,
        spec: Arc<ChainSpec>,
        config: ExecutorConfig,
        cache: Arc<CodeCache>,
    ) -> Self {
        Self {
            state,
            spec,
            cache,
            config,
            jit: None,
        }
    }

    /// Runs `Backend::Auto` code tiered through `jit`: interpreted until hot, then compiled.
    pub fn with_jit(mut self, jit: Arc<Jit>) -> Self {
        self.jit = Some(jit);
        self
    }

    /// The JIT coordinator, when execution is tiered.
    pub fn jit(&self) -> Option<&Arc<Jit>> {
        self.jit.as_ref()
    }

    /// The code cache.
    pub fn cache(&self) -> &Arc<CodeCache> {
        &self.cache
    }

    /// The chain spec.
    pub fn spec(&self) -> &Arc<ChainSpec> {
        &self.spec
    }

    /// The state store.
    pub fn state(&self) -> &Arc<StateDb> {
        &self.state
    }

    /// Runs refine. Refine cannot write state, so the outcome's writes are always empty.
    pub fn refine(&self, request: &RefineRequest) -> Result<Outcome, ExecError> {
        Ok(self.refine_with(request, false)?.0)
    }

    /// As [`ServiceExecutor::refine`], on the interpreter, also returning the gas charged per
    /// basic block of the service's code.
    pub fn refine_profiled(
        &self,
        request: &RefineRequest,
    ) -> Result<(Outcome, Vec<BlockGas>), ExecError> {
        let (outcome, profile) = self.refine_with(request, true)?;
        Ok((outcome, profile.unwrap_or_default()))
    }

    fn refine_with(
        &self,
        request: &RefineRequest,
        profile: bool,
    ) -> Result<(Outcome, Option<Vec<BlockGas>>), ExecError> {
        let limit = self.spec.protocol.max_refine_gas;
        check_gas(request.gas, limit, "max_refine_gas")?;
        let max_payload = self.spec.protocol.max_package_size;
        if request.payload.len() as u64 > u64::from(max_payload) {
            return Err(ExecError::InvalidRequest(format!(
                "payload of {} bytes is larger than the chain's max_package_size ({max_payload})",
                request.payload.len()
            )));
        }
        let args = args::refine(request);
        let snapshot = self.state.snapshot();
        let invocation = Invocation::Refine {
            payload: &request.payload,
            item_index: request.item_index,
        };
        let run = self.run(
            &snapshot,
            request.service,
            REFINE_PC,
            &args,
            request.gas,
            invocation,
            profile,
        )?;
        Ok((run.outcome, run.profile))
    }

    /// Runs accumulate; with [`Mode::Commit`], a halt commits the writes in one batch.
    pub fn accumulate(
        &self,
        request: &AccumulateRequest,
        mode: Mode,
    ) -> Result<Outcome, ExecError> {
        Ok(self.accumulate_with(request, mode, false)?.0)
    }

    /// As [`ServiceExecutor::accumulate`], on the interpreter, also returning the gas charged
    /// per basic block of the service's code.
    pub fn accumulate_profiled(
        &self,
        request: &AccumulateRequest,
        mode: Mode,
    ) -> Result<(Outcome, Vec<BlockGas>), ExecError> {
        let (outcome, profile) = self.accumulate_with(request, mode, true)?;
        Ok((outcome, profile.unwrap_or_default()))
    }

    fn accumulate_with(
        &self,
        request: &AccumulateRequest,
        mode: Mode,
        profile: bool,
    ) -> Result<(Outcome, Option<Vec<BlockGas>>), ExecError> {
        let limit = self.spec.protocol.max_block_gas;
        check_gas(request.gas, limit, "max_block_gas")?;
        let args = args::accumulate(request);
        let operands = args::encode_operands(&request.operands);
        let all_operands = args::sequence(&operands);
        let invocation = Invocation::Accumulate {
            operands: &operands,
            all_operands: &all_operands,
            entropy: &request.entropy,
        };
        // Held from snapshot to commit, so that two committing calls never build on the
        // same state.
        let guard = match mode {
            Mode::Commit => Some(self.state.write_lock()),
            Mode::DryRun => None,
        };
        let snapshot = self.state.snapshot();
        let run = self.run(
            &snapshot,
            request.service,
            ACCUMULATE_PC,
            &args,
            request.gas,
            invocation,
            profile,
        )?;
        let (mut outcome, mut changes) = (run.outcome, run.changes);
        if outcome.status == ExitStatus::Halt {
            // GP: an accumulated service's last-accumulation slot is the current one.
            let mut account = match changes.accounts.get(&request.service) {
                Some(Some(written)) => Some(written.clone()),
                _ => snapshot.account(request.service)?,
            };
            if let Some(account) = account.as_mut() {
                account.last_accumulation_slot = request.slot;
                changes.set_account(request.service, account.clone());
            }
            outcome.writes = changes;
            if mode == Mode::Commit {
                self.state.commit(&outcome.writes)?;
                outcome.committed = true;
            }
        }
        drop(guard);
        Ok((outcome, run.profile))
    }

    /// Applies writes computed from the current state (`update` sees it and returns the
    /// writes and a result), serialised with committing invocations and committed in one batch.
    pub fn update_state<T>(
        &self,
        update: impl FnOnce(&dyn StateRead) -> Result<(Changes, T), StateError>,
    ) -> Result<T, StateError> {
        let _guard = self.state.write_lock();
        let snapshot = self.state.snapshot();
        let (changes, result) = update(&snapshot)?;
        self.state.commit(&changes)?;
        Ok(result)
    }

    /// The backend service code runs on.
    pub fn backend(&self) -> Backend {
        self.config.backend
    }

    /// Runs service `service`'s code at `pc` on an overlay over `base` (on the interpreter,
    /// recording a block profile, with `profile`).
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        base: &dyn StateRead,
        service: ServiceId,
        pc: u32,
        args: &[u8],
        gas: u64,
        invocation: Invocation<'_>,
        profile: bool,
    ) -> Result<Run, ExecError> {
        let started = Instant::now();
        let account = base
            .account(service)?
            .ok_or(ExecError::UnknownService(service))?;
        let mut outcome = Outcome {
            status: ExitStatus::Halt,
            output: Vec::new(),
            gas_used: 0,
            host_calls: BTreeMap::new(),
            writes: Changes::default(),
            committed: false,
            logs: Vec::new(),
            logs_dropped: 0,
            backend: resolved(self.config.backend),
            elapsed: Duration::ZERO,
        };
        let tiered = !profile && self.config.backend == Backend::Auto && self.jit.is_some();
        let backend = if profile || tiered {
            Backend::Interpreter
        } else {
            self.config.backend
        };
        // The code must be among this service's own preimages, cached or not.
        let prepared = if !base.has_preimage(service, &account.code_hash)? {
            Err(CodeError::Missing(hex(&account.code_hash)))
        } else {
            self.prepare(base, service, &account.code_hash, backend)
        };
        let prepared = match (prepared, &self.jit) {
            (Ok(interpreted), Some(jit)) if tiered => Ok(jit.lookup(
                &JitKey::new(account.code_hash, self.spec.pvm.profile),
                &interpreted,
            )),
            (prepared, _) => prepared,
        };
        let prepared = match prepared {
            Ok(prepared) => prepared,
            Err(CodeError::State(e)) => return Err(ExecError::Setup(e)),
            Err(e) => {
                outcome.status = match e {
                    CodeError::TooBig { .. } => ExitStatus::CodeTooBig,
                    // Not a program: GP's Y = ∅, a panic using no gas.
                    CodeError::InvalidProgram(_) => ExitStatus::Panic,
                    CodeError::Panicked(why) => ExitStatus::HostFailure(why),
                    other => ExitStatus::BadCode(other.to_string()),
                };
                outcome.elapsed = started.elapsed();
                return Ok(Run::ended(outcome));
            }
        };
        outcome.backend = prepared.code.backend();
        let max_output = u64::from(self.spec.protocol.max_report_output);
        let config = KernelConfig {
            max_output_bytes: max_output,
            ..self.config.kernel
        };
        let refining = matches!(invocation, Invocation::Refine { .. });
        let kernel = Kernel::from_code(
            &prepared.program,
            prepared.code.clone(),
            args,
            pc,
            gas as i64,
            config,
        );
        let mut kernel = match kernel {
            Ok(kernel) => kernel,
            Err(KernelError::Standard(StandardError::Memory(e))) | Err(KernelError::Memory(e)) => {
                outcome.status = ExitStatus::HostFailure(format!("guest memory: {e}"));
                outcome.elapsed = started.elapsed();
                return Ok(Run::ended(outcome));
            }
            // The program's layout cannot hold these arguments: GP's Y = ∅, a panic using
            // no gas.
            Err(KernelError::Standard(_)) => {
                outcome.status = ExitStatus::Panic;
                outcome.elapsed = started.elapsed();
                return Ok(Run::ended(outcome));
            }
            Err(e) => return Err(ExecError::Setup(e.to_string())),
        };
        let profiler = profile.then(|| BlockProfiler::attach(&mut kernel, prepared.code.program()));
        let mut env = HostEnv::new(
            Overlay::new(base),
            service,
            account,
            &self.spec,
            invocation,
            self.config.max_log_lines,
        );
        let deadline = self.config.time_limit.map(|limit| started + limit);
        loop {
            match kernel.run() {
                KernelExit::HostCall(_) if deadline.is_some_and(|d| Instant::now() > d) => {
                    outcome.status = ExitStatus::TimeLimit;
                    break;
                }
                KernelExit::HostCall(id) => host::call(&mut kernel, &mut env, id)?,
                KernelExit::Halt(output) => {
                    if refining && kernel.reg(8) > max_output {
                        outcome.status = ExitStatus::OutputTooLarge;
                    }
                    outcome.output = output;
                    break;
                }
                KernelExit::Panic => {
                    outcome.status = ExitStatus::Panic;
                    break;
                }
                KernelExit::OutOfGas => {
                    outcome.status = ExitStatus::OutOfGas;
                    break;
                }
                KernelExit::PageFault(address) => {
                    outcome.status = ExitStatus::PageFault(address);
                    break;
                }
                KernelExit::HostFailure(reason) => {
                    outcome.status = ExitStatus::HostFailure(reason);
                    break;
                }
            }
        }
        // Out of gas uses all of it (GP: the charge that could not be paid takes the rest).
        let left = match outcome.status {
            ExitStatus::OutOfGas => 0,
            _ => kernel.total_gas().max(0) as u64,
        };
        outcome.gas_used = gas - left.min(gas);
        let record = env.finish();
        outcome.host_calls = record.host_calls;
        outcome.logs = record.logs;
        outcome.logs_dropped = record.logs_dropped;
        outcome.elapsed = started.elapsed();
        Ok(Run {
            outcome,
            changes: record.changes,
            profile: profiler.map(BlockProfiler::finish),
        })
    }

    /// The prepared code of `code_hash`, from the cache or loaded from `service`'s preimages.
    fn prepare(
        &self,
        base: &dyn StateRead,
        service: ServiceId,
        code_hash: &Hash,
        backend: Backend,
    ) -> Result<Arc<PreparedCode>, CodeError> {
        let key = CodeKey::new(*code_hash, self.spec.pvm.profile, backend);
        let limit = u64::from(self.spec.protocol.max_service_code_size);
        self.cache.get_or_prepare(&key, || {
            let blob = base
                .preimage(service, code_hash)
                .map_err(|e| CodeError::State(e.to_string()))?
                .ok_or_else(|| CodeError::Missing(hex(code_hash)))?;
            // GP's limit is on the code after its metadata.
            let code_len = blob.len() - metadata_prefix_len(&blob)?;
            if code_len as u64 > limit {
                return Err(CodeError::TooBig {
                    size: code_len,
                    limit,
                });
            }
            Ok(blob)
        })
    }
}

/// What one run produced.
struct Run {
    outcome: Outcome,
    changes: Changes,
    profile: Option<Vec<BlockGas>>,
}

impl Run {
    /// A run that ended before the code started.
    fn ended(outcome: Outcome) -> Self {
        Self {
            outcome,
            changes: Changes::default(),
            profile: None,
        }
    }
}

/// Bytes of `E(↕metadata)` at the start of a service code blob.
fn metadata_prefix_len(blob: &[u8]) -> Result<usize, CodeError> {
    let mut reader = kiln_pvm::codec::Reader::new(blob);
    let bad = |what: &str| CodeError::BadMetadata(format!("{what} is cut short"));
    let len = reader.natural().map_err(|_| bad("the metadata length"))?;
    let len = usize::try_from(len).map_err(|_| bad("the metadata"))?;
    reader.take(len).map_err(|_| bad("the metadata"))?;
    Ok(reader.offset())
}

/// The backend `Auto` means here, for reports of runs that ended before their code was ready.
fn resolved(backend: Backend) -> Backend {
    match backend {
        Backend::Auto if Backend::RECOMPILER_AVAILABLE => Backend::Recompiler,
        Backend::Auto => Backend::Interpreter,
        other => other,
    }
}

fn check_gas(gas: u64, limit: u64, name: &str) -> Result<(), ExecError> {
    if gas > limit || gas > i64::MAX as u64 {
        return Err(ExecError::InvalidRequest(format!(
            "gas {gas} is above the chain's {name} ({limit})"
        )));
    }
    Ok(())
}

/// `0x`-prefixed lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
