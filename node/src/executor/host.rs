//! GP 0.7 host functions: `gas`, `fetch`, `lookup`, `read`, `write`, `info` and JIP-1 `log`,
//! each available where GP makes it available (refine: `gas`, `fetch`, `log`; accumulate: all
//! of them). Every other id, and a function outside its context, answers `WHAT` at the base
//! cost. A host function that cannot be paid for stops the VM out of gas at its `ecalli`; one
//! given a guest range it cannot use panics the VM (GP's `☇`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use kiln_chain_spec::ChainSpec;
use kiln_pvm::host_calls::{codes, HostCall};
use kiln_pvm::Kernel;
use kiln_state::{Changes, Hash, Overlay, ServiceAccount, ServiceId, StateRead};

use super::args::{push_u32, push_u64};
use super::guest::{self, GuestError};
use super::{ExecError, LogLine};

/// Longest storage key a service may use (a longer `write` answers `FULL`; a longer `read`
/// finds nothing).
pub(super) const MAX_KEY_BYTES: usize = 1 << 20;
/// Longest storage value (a longer `write` answers `FULL`).
pub(super) const MAX_VALUE_BYTES: usize = 4 << 20;
/// Longest log target or message kept (longer ones are cut).
const MAX_LOG_BYTES: usize = 4096;
/// Key and value bytes one invocation may write in all (more `write`s answer `FULL`): the
/// overlay holding them is host memory, and a result listing them must fit a 32 MiB response.
pub(super) const MAX_WRITTEN_BYTES: u64 = 8 << 20;

/// The invocation the host functions serve, with what `fetch` can return.
pub(super) enum Invocation<'a> {
    /// Refine of one work item.
    Refine {
        /// The item's payload (`fetch` 13 with the item's index).
        payload: &'a [u8],
        /// The item's index in its package.
        item_index: u32,
    },
    /// Accumulate.
    Accumulate {
        /// The encoded operands (`fetch` 15).
        operands: &'a [Vec<u8>],
        /// All of them as one sequence (`fetch` 14).
        all_operands: &'a [u8],
        /// `η'₀` (`fetch` 1).
        entropy: &'a Hash,
    },
}

impl Invocation<'_> {
    /// Whether GP makes `call` available here (and Kiln implements it).
    fn allows(&self, call: HostCall) -> bool {
        match call {
            HostCall::Gas | HostCall::Fetch | HostCall::Log => true,
            HostCall::Lookup | HostCall::Read | HostCall::Write | HostCall::Info => {
                matches!(self, Invocation::Accumulate { .. })
            }
            _ => false,
        }
    }
}

/// The host side of one invocation: its state overlay, its account and what it recorded.
pub(super) struct HostEnv<'a> {
    state: Overlay<'a>,
    service: ServiceId,
    account: ServiceAccount,
    spec: &'a ChainSpec,
    invocation: Invocation<'a>,
    host_calls: BTreeMap<&'static str, u64>,
    logs: Vec<LogLine>,
    logs_dropped: u64,
    max_logs: usize,
    /// Key and value bytes written so far.
    written_bytes: u64,
}

/// What an invocation's host functions did.
pub(super) struct Record {
    pub host_calls: BTreeMap<&'static str, u64>,
    pub logs: Vec<LogLine>,
    pub logs_dropped: u64,
    pub changes: Changes,
}

impl<'a> HostEnv<'a> {
    pub(super) fn new(
        state: Overlay<'a>,
        service: ServiceId,
        account: ServiceAccount,
        spec: &'a ChainSpec,
        invocation: Invocation<'a>,
        max_logs: usize,
    ) -> Self {
        Self {
            state,
            service,
            account,
            spec,
            invocation,
            host_calls: BTreeMap::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            max_logs,
            written_bytes: 0,
        }
    }

    pub(super) fn finish(self) -> Record {
        Record {
            host_calls: self.host_calls,
            logs: self.logs,
            logs_dropped: self.logs_dropped,
            changes: self.state.into_changes(),
        }
    }

    /// The account of `target` as this invocation sees it (its own with its writes so far).
    fn account_of(&self, target: ServiceId) -> Result<Option<ServiceAccount>, ExecError> {
        if target == self.service {
            return Ok(Some(self.account.clone()));
        }
        Ok(self.state.account(target)?)
    }

    /// `ω = NONE` means this service; anything else a service id, if it exists.
    fn service_arg(&self, value: u64) -> Result<Option<ServiceId>, ExecError> {
        if value == codes::NONE || value == u64::from(self.service) {
            return Ok(Some(self.service));
        }
        match ServiceId::try_from(value) {
            Ok(id) if self.state.account(id)?.is_some() => Ok(Some(id)),
            _ => Ok(None),
        }
    }
}

/// What a host function does to the VM.
enum Effect {
    /// Continue with `ω7` set.
    Return(u64),
    /// The VM panics.
    Panic,
}

impl From<GuestError> for Effect {
    fn from(_: GuestError) -> Self {
        Effect::Panic
    }
}

/// Handles host call `id` of the active VM.
pub(super) fn call(kernel: &mut Kernel, env: &mut HostEnv<'_>, id: u32) -> Result<(), ExecError> {
    let known = HostCall::from_id(id, kernel.profile().host_calls);
    *env.host_calls
        .entry(known.map_or("unknown", HostCall::name))
        .or_default() += 1;
    let available = known.filter(|&c| env.invocation.allows(c));
    let cost = match available {
        Some(HostCall::Log) => env.spec.pvm.log_gas,
        _ => env.spec.pvm.host_call_gas,
    };
    let gas = kernel.gas();
    if gas < 0 || (gas as u64) < cost {
        kernel.host_call_out_of_gas();
        return Ok(());
    }
    kernel.set_gas(gas - cost as i64);
    let effect = match available {
        Some(HostCall::Gas) => Effect::Return(kernel.gas() as u64),
        Some(HostCall::Fetch) => fetch(kernel, env),
        Some(HostCall::Lookup) => lookup(kernel, env)?,
        Some(HostCall::Read) => read(kernel, env)?,
        Some(HostCall::Write) => write(kernel, env)?,
        Some(HostCall::Info) => info(kernel, env)?,
        Some(HostCall::Log) => log(kernel, env),
        _ => Effect::Return(codes::WHAT),
    };
    match effect {
        Effect::Return(value) => kernel.set_reg(7, value),
        Effect::Panic => kernel.host_call_panic(),
    }
    Ok(())
}

/// GP's common tail: `v` at `ω_o` from offset `f`, at most `l` bytes; `ω7` = `|v|`, or `NONE`
/// without `v`; a range that cannot be written panics.
fn respond(kernel: &mut Kernel, v: Option<&[u8]>, o: u64, f: u64, l: u64) -> Effect {
    let Some(v) = v else {
        return Effect::Return(codes::NONE);
    };
    let len = v.len() as u64;
    let from = f.min(len);
    let count = l.min(len - from);
    match guest::write(kernel, o, &v[from as usize..(from + count) as usize]) {
        Ok(()) => Effect::Return(len),
        Err(e) => e.into(),
    }
}

fn regs<const N: usize>(kernel: &Kernel) -> [u64; N] {
    std::array::from_fn(|i| kernel.reg(7 + i))
}

/// `fetch` (ω7 = o, ω8 = f, ω9 = l, ω10 = selector, ω11 = index).
fn fetch(kernel: &mut Kernel, env: &HostEnv<'_>) -> Effect {
    let [o, f, l, selector, index] = regs(kernel);
    let v: Option<Cow<'_, [u8]>> = match (selector, &env.invocation) {
        (0, _) => Some(Cow::Owned(env.spec.protocol.encode_constants())),
        // Refine's entropy is the zero hash (GP 0.7: `n = H₀`).
        (1, Invocation::Refine { .. }) => Some(Cow::Borrowed(&[0u8; 32][..])),
        (1, Invocation::Accumulate { entropy, .. }) => Some(Cow::Borrowed(&entropy[..])),
        (
            13,
            Invocation::Refine {
                payload,
                item_index,
            },
        ) if index == u64::from(*item_index) => Some(Cow::Borrowed(payload)),
        (14, Invocation::Accumulate { all_operands, .. }) => Some(Cow::Borrowed(all_operands)),
        (15, Invocation::Accumulate { operands, .. }) => usize::try_from(index)
            .ok()
            .and_then(|i| operands.get(i))
            .map(|o| Cow::Borrowed(o.as_slice())),
        _ => None,
    };
    respond(kernel, v.as_deref(), o, f, l)
}

/// `lookup` (ω7 = service, ω8 = hash address, ω9 = o, ω10 = f, ω11 = l).
fn lookup(kernel: &mut Kernel, env: &HostEnv<'_>) -> Result<Effect, ExecError> {
    let [target, h, o, f, l] = regs(kernel);
    let hash: Hash = match guest::read(kernel, h, 32, 32) {
        Ok(bytes) => bytes.try_into().expect("32 bytes read"),
        Err(e) => return Ok(e.into()),
    };
    let v = match env.service_arg(target)? {
        Some(id) => env.state.preimage(id, &hash)?,
        None => None,
    };
    Ok(respond(kernel, v.as_deref(), o, f, l))
}

/// `read` (ω7 = service, ω8/ω9 = key, ω10 = o, ω11 = f, ω12 = l).
fn read(kernel: &mut Kernel, env: &HostEnv<'_>) -> Result<Effect, ExecError> {
    let [target, key_at, key_len, o, f, l] = regs(kernel);
    let key = match guest::read(kernel, key_at, key_len, MAX_KEY_BYTES) {
        Ok(key) => Some(key),
        // No item can have a key that long.
        Err(GuestError::TooLarge) => None,
        Err(GuestError::Fault) => return Ok(Effect::Panic),
    };
    let v = match (env.service_arg(target)?, key) {
        (Some(id), Some(key)) => env.state.storage(id, &key)?,
        _ => None,
    };
    Ok(respond(kernel, v.as_deref(), o, f, l))
}

/// `write` (ω7/ω8 = key, ω9/ω10 = value; an empty value removes the item).
fn write(kernel: &mut Kernel, env: &mut HostEnv<'_>) -> Result<Effect, ExecError> {
    let [key_at, key_len, value_at, value_len] = regs(kernel);
    let key = guest::read(kernel, key_at, key_len, MAX_KEY_BYTES);
    let value = match value_len {
        0 => Ok(None),
        _ => guest::read(kernel, value_at, value_len, MAX_VALUE_BYTES).map(Some),
    };
    let (key, value) = match (key, value) {
        (Err(GuestError::Fault), _) | (_, Err(GuestError::Fault)) => return Ok(Effect::Panic),
        (Err(GuestError::TooLarge), _) | (_, Err(GuestError::TooLarge)) => {
            return Ok(Effect::Return(codes::FULL))
        }
        (Ok(key), Ok(value)) => (key, value),
    };
    let old = env.state.storage(env.service, &key)?;
    if old.is_none() && value.is_none() {
        // Removing what is not there changes nothing (and records nothing).
        return Ok(Effect::Return(codes::NONE));
    }
    let adds = key.len() as u64 + value.as_ref().map_or(0, |v| v.len() as u64);
    if env.written_bytes + adds > MAX_WRITTEN_BYTES {
        return Ok(Effect::Return(codes::FULL));
    }
    let mut account = env.account.clone();
    let item_bytes = |v: &[u8]| 34 + key.len() as u64 + v.len() as u64;
    if let Some(old) = &old {
        account.storage_items = account.storage_items.saturating_sub(1);
        account.storage_bytes = account.storage_bytes.saturating_sub(item_bytes(old));
    }
    if let Some(new) = &value {
        account.storage_items = account.storage_items.saturating_add(1);
        account.storage_bytes = account.storage_bytes.saturating_add(item_bytes(new));
    }
    if threshold(&account, env.spec) > account.balance {
        return Ok(Effect::Return(codes::FULL));
    }
    env.written_bytes += adds;
    env.state.set_storage(env.service, &key, value);
    env.state.set_account(env.service, account.clone());
    env.account = account;
    Ok(Effect::Return(
        old.map_or(codes::NONE, |old| old.len() as u64),
    ))
}

/// GP's threshold balance `a_t = max(0, B_S + B_I·a_i + B_L·a_o − a_f)`.
fn threshold(account: &ServiceAccount, spec: &ChainSpec) -> u64 {
    spec.protocol.threshold_balance(
        u64::from(account.storage_items),
        account.storage_bytes,
        account.gratis_storage,
    )
}

/// `info` (ω7 = service, ω8 = o, ω9 = f, ω10 = l).
fn info(kernel: &mut Kernel, env: &HostEnv<'_>) -> Result<Effect, ExecError> {
    let [target, o, f, l] = regs(kernel);
    let account = match env.service_arg(target)? {
        Some(id) => env.account_of(id)?,
        None => None,
    };
    let v = account.map(|a| {
        let mut v = Vec::with_capacity(96);
        v.extend_from_slice(&a.code_hash);
        push_u64(&mut v, a.balance);
        push_u64(&mut v, threshold(&a, env.spec));
        push_u64(&mut v, a.min_item_gas);
        push_u64(&mut v, a.min_memo_gas);
        push_u64(&mut v, a.storage_bytes);
        push_u32(&mut v, a.storage_items);
        push_u64(&mut v, a.gratis_storage);
        push_u32(&mut v, a.created_slot);
        push_u32(&mut v, a.last_accumulation_slot);
        push_u32(&mut v, a.parent);
        v
    });
    Ok(respond(kernel, v.as_deref(), o, f, l))
}

/// JIP-1 `log` (ω7 = level, ω8/ω9 = target, ω10/ω11 = message): no effect on a bad range;
/// `ω7` = `WHAT` either way.
fn log(kernel: &mut Kernel, env: &mut HostEnv<'_>) -> Effect {
    let [level, target_at, target_len, message_at, message_len] = regs(kernel);
    let text = |at: u64, len: u64| -> Option<String> {
        let shown = len.min(MAX_LOG_BYTES as u64);
        if !guest::readable(kernel, at, len) {
            return None;
        }
        let bytes = guest::read(kernel, at, shown, MAX_LOG_BYTES).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    };
    let (Some(target), Some(message)) =
        (text(target_at, target_len), text(message_at, message_len))
    else {
        return Effect::Return(codes::WHAT);
    };
    if env.logs.len() < env.max_logs {
        // Only kept lines reach the node's log: a guest cannot flood it.
        emit(env.service, level, &target, &message);
        env.logs.push(LogLine {
            level,
            target,
            message,
        });
    } else {
        env.logs_dropped += 1;
    }
    Effect::Return(codes::WHAT)
}

/// Passes a guest log line to the node's log, under the `kiln::guest` target, at debug level
/// (trace for the guest's own debug and trace levels) whatever level the guest chose: guest
/// text never poses as the node's warnings or errors, and line breaks are escaped.
fn emit(service: ServiceId, level: u64, target: &str, message: &str) {
    let message = message.escape_debug();
    let target = target.escape_debug();
    if level <= 2 {
        tracing::debug!(target: "kiln::guest", service, level, %target, "{message}");
    } else {
        tracing::trace!(target: "kiln::guest", service, level, %target, "{message}");
    }
}
