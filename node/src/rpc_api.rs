//! [`NodeService`]: the node behind the JSON-RPC methods — request conversion and checks,
//! the executor, state reads, dev-chain uploads, and metrics for every execution.

use std::sync::Arc;
use std::time::Instant;

use kiln_chain_spec::blake2b_256;
use kiln_pvm::StandardProgram;
use kiln_rpc::types::{
    AccumulateParams, BlockGas, Bytes, ExecutionResult, Hash32, Health, LogEntry, RefineParams,
    ServiceInfo, StorageWrite, UploadCodeParams, UploadResult, Version, WorkResultParam,
};
use kiln_rpc::{ApiError, NodeApi};
use kiln_state::{Changes, ServiceAccount, StateRead};

use crate::executor::{
    AccumulateOperand, AccumulateRequest, ExecError, ExitStatus, Mode, Outcome, RefineRequest,
    ServiceExecutor, WorkResult,
};
use crate::genesis::{LOOKUP_BYTES, LOOKUP_ITEMS};
use crate::metrics::NodeMetrics;

/// Storage a new uploaded service can pay for, beyond its code, by default.
const UPLOAD_DEFAULT_STORAGE: u64 = 1 << 20;

/// Most gas a profiled run may take: profiling runs on the interpreter and records every block.
const MAX_PROFILED_GAS: u64 = 100_000_000;

fn check_profiled_gas(profile: bool, gas: u64) -> Result<(), ApiError> {
    if profile && gas > MAX_PROFILED_GAS {
        return Err(ApiError::InvalidParams(format!(
            "gas: a profiled run takes at most {MAX_PROFILED_GAS} gas (it runs on the interpreter)"
        )));
    }
    Ok(())
}

/// The node's side of the API.
pub struct NodeService {
    executor: Arc<ServiceExecutor>,
    metrics: NodeMetrics,
    started: Instant,
    /// The chain spec's hash, computed once (it encodes the whole spec).
    spec_hash: [u8; 32],
}

impl std::fmt::Debug for NodeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeService")
            .field("executor", &self.executor)
            .finish()
    }
}

impl NodeService {
    /// The API over `executor`, recording into `metrics`.
    pub fn new(executor: Arc<ServiceExecutor>, metrics: NodeMetrics) -> Self {
        let spec_hash = executor.spec().hash();
        Self {
            executor,
            metrics,
            started: Instant::now(),
            spec_hash,
        }
    }

    fn record(&self, kind: &str, outcome: &Outcome) {
        let numbering = self.executor.spec().pvm.profile.host_calls;
        self.metrics.executed(kind, outcome, numbering);
    }

    fn dev_only(&self, method: &str) -> Result<(), ApiError> {
        let spec = self.executor.spec();
        if spec.dev_rpc {
            Ok(())
        } else {
            Err(ApiError::NotAllowed(format!(
                "{method} is not allowed on chain `{}` (its spec sets dev_rpc = false)",
                spec.id
            )))
        }
    }

    fn accumulate(
        &self,
        request: AccumulateParams,
        mode: Mode,
    ) -> Result<ExecutionResult, ApiError> {
        check_profiled_gas(request.profile, request.gas)?;
        let p = &self.executor.spec().protocol;
        let max_operands = usize::from(p.num_cores) * usize::from(p.max_work_items);
        if request.operands.len() > max_operands {
            return Err(ApiError::InvalidParams(format!(
                "operands: {} given, at most {max_operands} (num_cores × max_work_items)",
                request.operands.len()
            )));
        }
        let max_output = p.max_report_output as usize;
        for (i, o) in request.operands.iter().enumerate() {
            let ok_len = match &o.result {
                WorkResultParam::Ok(bytes) => bytes.0.len(),
                WorkResultParam::Error(_) => 0,
            };
            if ok_len > max_output || o.auth_output.0.len() > max_output {
                return Err(ApiError::InvalidParams(format!(
                    "operands[{i}]: the result and the authorizer output take at most \
                     {max_output} bytes each (max_report_output)"
                )));
            }
        }
        let operands = request
            .operands
            .iter()
            .enumerate()
            .map(|(i, o)| operand(i, o))
            .collect::<Result<Vec<_>, _>>()?;
        let call = AccumulateRequest {
            service: request.service,
            slot: request.slot,
            gas: request.gas,
            operands,
            entropy: request.entropy.0,
        };
        let (outcome, profile) = if request.profile {
            let (o, p) = self
                .executor
                .accumulate_profiled(&call, mode)
                .map_err(exec_error)?;
            (o, Some(blocks(p)))
        } else {
            (
                self.executor.accumulate(&call, mode).map_err(exec_error)?,
                None,
            )
        };
        self.record("accumulate", &outcome);
        Ok(result(outcome, profile))
    }
}

fn blocks(profile: Vec<crate::executor::BlockGas>) -> Vec<BlockGas> {
    profile
        .into_iter()
        .map(|b| BlockGas {
            pc: b.pc,
            entries: b.entries,
            gas: b.gas,
        })
        .collect()
}

fn exec_error(e: ExecError) -> ApiError {
    match e {
        ExecError::UnknownService(id) => ApiError::UnknownService(id),
        ExecError::InvalidRequest(why) => ApiError::InvalidParams(why),
        other => ApiError::Internal(other.to_string()),
    }
}

fn state_error(e: kiln_state::StateError) -> ApiError {
    ApiError::Internal(e.to_string())
}

fn operand(index: usize, o: &kiln_rpc::types::OperandParam) -> Result<AccumulateOperand, ApiError> {
    let result = match &o.result {
        WorkResultParam::Ok(bytes) => WorkResult::Ok(bytes.0.clone()),
        WorkResultParam::Error(name) => match name.as_str() {
            "out-of-gas" => WorkResult::OutOfGas,
            "panic" => WorkResult::Panic,
            "bad-exports" => WorkResult::BadExports,
            "oversize" => WorkResult::Oversize,
            "bad-code" => WorkResult::BadCode,
            "code-too-big" => WorkResult::CodeTooBig,
            other => {
                return Err(ApiError::InvalidParams(format!(
                    "operands[{index}].result.error: `{other}` is not one of out-of-gas, panic, \
                     bad-exports, oversize, bad-code, code-too-big"
                )))
            }
        },
    };
    Ok(AccumulateOperand {
        package_hash: o.package_hash.0,
        exports_root: o.exports_root.0,
        authorizer_hash: o.authorizer_hash.0,
        payload_hash: o.payload_hash.0,
        gas_limit: o.gas_limit,
        result,
        auth_output: o.auth_output.0.clone(),
    })
}

fn result(outcome: Outcome, profile: Option<Vec<BlockGas>>) -> ExecutionResult {
    let detail = match &outcome.status {
        ExitStatus::PageFault(address) => Some(format!("page fault at {address:#x}")),
        ExitStatus::BadCode(why) | ExitStatus::HostFailure(why) => Some(why.clone()),
        _ => None,
    };
    ExecutionResult {
        status: outcome.status.name().to_string(),
        detail,
        output: Bytes(outcome.output),
        gas_used: outcome.gas_used,
        host_calls: outcome
            .host_calls
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        writes: outcome
            .writes
            .storage
            .iter()
            .map(|((service, key), value)| StorageWrite {
                service: *service,
                key: Bytes(key.clone()),
                value: value.clone().map(Bytes),
            })
            .collect(),
        accounts_changed: outcome.writes.accounts.keys().copied().collect(),
        committed: outcome.committed,
        logs: outcome
            .logs
            .into_iter()
            .map(|l| LogEntry {
                level: l.level,
                target: l.target,
                message: l.message,
            })
            .collect(),
        backend: outcome.backend.name().to_string(),
        elapsed_micros: outcome.elapsed.as_micros() as u64,
        block_profile: profile,
    }
}

impl NodeApi for NodeService {
    fn dry_run_refine(&self, request: RefineParams) -> Result<ExecutionResult, ApiError> {
        check_profiled_gas(request.profile, request.gas)?;
        let p = &self.executor.spec().protocol;
        if request.core >= p.num_cores {
            return Err(ApiError::InvalidParams(format!(
                "core: {} is not below the chain's num_cores ({})",
                request.core, p.num_cores
            )));
        }
        if request.item_index >= u32::from(p.max_work_items) {
            return Err(ApiError::InvalidParams(format!(
                "itemIndex: {} is not below the chain's max_work_items ({})",
                request.item_index, p.max_work_items
            )));
        }
        let call = RefineRequest {
            service: request.service,
            payload: request.payload.0,
            gas: request.gas,
            core: request.core,
            item_index: request.item_index,
            package_hash: request.package_hash.0,
        };
        let (outcome, profile) = if request.profile {
            let (o, p) = self.executor.refine_profiled(&call).map_err(exec_error)?;
            (o, Some(blocks(p)))
        } else {
            (self.executor.refine(&call).map_err(exec_error)?, None)
        };
        self.record("refine", &outcome);
        Ok(result(outcome, profile))
    }

    fn dry_run_accumulate(&self, request: AccumulateParams) -> Result<ExecutionResult, ApiError> {
        self.accumulate(request, Mode::DryRun)
    }

    fn apply_accumulate(&self, request: AccumulateParams) -> Result<ExecutionResult, ApiError> {
        self.dev_only("kiln_applyAccumulate")?;
        self.accumulate(request, Mode::Commit)
    }

    fn service_info(&self, service: u32) -> Result<Option<ServiceInfo>, ApiError> {
        let account = self
            .executor
            .state()
            .account(service)
            .map_err(state_error)?;
        Ok(account.map(|a| ServiceInfo {
            service,
            code_hash: Hash32(a.code_hash),
            balance: a.balance,
            min_item_gas: a.min_item_gas,
            min_memo_gas: a.min_memo_gas,
            storage_bytes: a.storage_bytes,
            storage_items: a.storage_items,
            gratis_storage: a.gratis_storage,
            created_slot: a.created_slot,
            last_accumulation_slot: a.last_accumulation_slot,
            parent: a.parent,
        }))
    }

    fn storage(&self, service: u32, key: Vec<u8>) -> Result<Option<Vec<u8>>, ApiError> {
        self.executor
            .state()
            .storage(service, &key)
            .map_err(state_error)
    }

    fn code(&self, service: u32) -> Result<Option<Vec<u8>>, ApiError> {
        let state = self.executor.state();
        let Some(account) = state.account(service).map_err(state_error)? else {
            return Ok(None);
        };
        state
            .preimage(service, &account.code_hash)
            .map_err(state_error)
    }

    fn code_hash(&self, service: u32) -> Result<Option<[u8; 32]>, ApiError> {
        let account = self
            .executor
            .state()
            .account(service)
            .map_err(state_error)?;
        Ok(account.map(|a| a.code_hash))
    }

    fn upload_code(&self, request: UploadCodeParams) -> Result<UploadResult, ApiError> {
        self.dev_only("kiln_uploadCode")?;
        let spec = self.executor.spec().clone();
        let code = request.code.0;
        let limit = spec.protocol.max_service_code_size;
        if code.len() as u64 > u64::from(limit) {
            return Err(ApiError::InvalidParams(format!(
                "code: {} bytes, more than the chain's max_service_code_size ({limit})",
                code.len()
            )));
        }
        if let Err(e) = StandardProgram::parse_service_code(&code) {
            return Err(ApiError::InvalidParams(format!(
                "code: not service code (E(↕metadata) ++ standard program): {e}"
            )));
        }
        let code_hash = blake2b_256(&code);
        let service = request.service;
        // A new service must at least afford its code (GP's threshold balance).
        let p = &spec.protocol;
        let needed = p.threshold_balance(
            u64::from(LOOKUP_ITEMS),
            LOOKUP_BYTES.saturating_add(code.len() as u64),
            0,
        );
        if let Some(balance) = request.balance.filter(|&b| b < needed) {
            return Err(ApiError::InvalidParams(format!(
                "balance: {balance} is below the {needed} a service with this code must hold"
            )));
        }
        let created = self
            .executor
            .update_state(|state| {
                let mut changes = Changes::default();
                let account = match state.account(service)? {
                    Some(mut account) => {
                        let old = state.preimage(service, &account.code_hash)?;
                        let old_len = old.as_ref().map_or(0, |o| o.len() as u64);
                        if account.code_hash != code_hash {
                            changes.preimages.insert((service, account.code_hash), None);
                        }
                        account.storage_bytes =
                            account.storage_bytes.saturating_sub(old_len) + code.len() as u64;
                        account.code_hash = code_hash;
                        (account, false)
                    }
                    None => {
                        let p = &spec.protocol;
                        let bytes = LOOKUP_BYTES + code.len() as u64;
                        let minimum = p.threshold_balance(
                            u64::from(LOOKUP_ITEMS),
                            bytes.saturating_add(UPLOAD_DEFAULT_STORAGE),
                            0,
                        );
                        let account = ServiceAccount {
                            code_hash,
                            balance: request.balance.unwrap_or(minimum),
                            storage_bytes: bytes,
                            storage_items: LOOKUP_ITEMS,
                            ..ServiceAccount::default()
                        };
                        (account, true)
                    }
                };
                changes.set_preimage(service, code_hash, code.clone());
                changes.set_account(service, account.0);
                Ok((changes, account.1))
            })
            .map_err(state_error)?;
        Ok(UploadResult {
            service,
            code_hash: Hash32(code_hash),
            created,
        })
    }

    fn health(&self) -> Health {
        Health {
            status: "ok".into(),
            chain: self.executor.spec().id.clone(),
            uptime_seconds: self.started.elapsed().as_secs(),
            executions_in_flight: 0,
        }
    }

    fn dev_methods(&self) -> Result<(), ApiError> {
        self.dev_only("kiln_uploadCode and kiln_applyAccumulate")
    }

    fn version(&self) -> Version {
        let spec = self.executor.spec();
        Version {
            version: env!("CARGO_PKG_VERSION").to_string(),
            chain: spec.id.clone(),
            chain_spec_hash: Hash32(self.spec_hash),
            profile: spec.pvm.profile.name(),
            backend: self.executor.backend().name().to_string(),
        }
    }
}
