//! The tiered JIT coordinator (issue 9, first part: the in-memory runtime). Executor threads
//! look compiled code up without ever waiting; a miss runs the interpreter and sends a lossy
//! "observed" event. One coordinator thread owns all policy: hotness counts with a threshold,
//! one compile per program at a time, a cap on pending jobs, a bounded cold table that ages, a
//! negative cache with backoff for programs that fail to compile, a generation counter so that
//! results finishing after a clear are dropped, and a byte budget for resident code (least
//! recently hit out first; code in use stays alive until its last run ends). Workers compile
//! with the recompiler; a compiler panic is contained and counted as a failure.
//!
//! Not yet here (the later parts): persisted artifacts and preload, metrics on
//! `/metrics`, CLI flags, and the executor's use of it.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select, tick, Receiver, Sender, TrySendError};
use kiln_pvm::{Backend, Code, Profile};
use kiln_state::Hash;

use crate::code_cache::{PreparedCode, COMPILER_VERSION};

/// What identifies compiled code: the program, the profile it is decoded for, the compiler
/// build and the CPU extensions the code may use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JitKey {
    /// Hash of the service code blob.
    pub code_hash: Hash,
    /// Profile.
    pub profile: Profile,
    /// The compiler build.
    pub compiler: &'static str,
    /// CPU extensions the code may use (a bit set).
    pub cpu: u8,
}

impl JitKey {
    /// The key of `code_hash` under `profile` for this build and this CPU.
    pub fn new(code_hash: Hash, profile: Profile) -> Self {
        Self {
            code_hash,
            profile,
            compiler: COMPILER_VERSION,
            cpu: cpu_bits(),
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn cpu_bits() -> u8 {
    let f = kiln_pvm::recompiler::CpuFeatures::host();
    u8::from(f.bmi2) | u8::from(f.lzcnt_tzcnt) << 1
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn cpu_bits() -> u8 {
    0
}

/// Turns interpreted code into compiled code (the recompiler; tests substitute their own).
pub type Compiler = Arc<dyn Fn(&PreparedCode) -> Result<Arc<PreparedCode>, String> + Send + Sync>;

/// Settings.
#[derive(Clone)]
pub struct JitConfig {
    /// The compiler.
    pub compiler: Compiler,
    /// Observations of a program before it is compiled.
    pub threshold: u32,
    /// Compiler threads.
    pub workers: usize,
    /// Compiles queued or running at once.
    pub max_pending: usize,
    /// Bytes of resident compiled code.
    pub budget_bytes: usize,
    /// Programs tracked while cold (the oldest is forgotten beyond it).
    pub max_cold: usize,
    /// Programs remembered as failing to compile.
    pub max_failed: usize,
    /// Wait before a failed program may be tried again (doubling per failure).
    pub backoff: Duration,
    /// Cold counts are halved this often, so that old observations fade.
    pub ageing: Duration,
    /// Lossy event queue length.
    pub events: usize,
    /// Told of each successful compile: its duration and bytes of machine code.
    pub on_compiled: Option<Arc<dyn Fn(Duration, usize) + Send + Sync>>,
}

impl Default for JitConfig {
    fn default() -> Self {
        Self {
            compiler: Arc::new(compile),
            threshold: 2,
            workers: 1,
            max_pending: 16,
            budget_bytes: 256 << 20,
            max_cold: 10_000,
            max_failed: 1_000,
            backoff: Duration::from_secs(5),
            ageing: Duration::from_secs(60),
            events: 4096,
            on_compiled: None,
        }
    }
}

impl std::fmt::Debug for JitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitConfig")
            .field("threshold", &self.threshold)
            .field("workers", &self.workers)
            .field("budget_bytes", &self.budget_bytes)
            .finish_non_exhaustive()
    }
}

/// Counters.
#[derive(Debug, Default)]
pub struct JitStats {
    /// Lookups answered with compiled code.
    pub hits: AtomicU64,
    /// Lookups that ran the interpreter.
    pub misses: AtomicU64,
    /// Observations dropped because the event queue was full.
    pub dropped: AtomicU64,
    /// Compiles started.
    pub compiles_started: AtomicU64,
    /// Compiles that produced code.
    pub compiles_succeeded: AtomicU64,
    /// Compiles that failed (errors and contained panics).
    pub compiles_failed: AtomicU64,
    /// Results dropped because a clear came after their start.
    pub stale_results: AtomicU64,
    /// Programs evicted to stay within the budget.
    pub evictions: AtomicU64,
    /// Bytes resident now.
    pub resident_bytes: AtomicU64,
}

struct Resident {
    code: Arc<PreparedCode>,
    /// Milliseconds since start at the last hit (for eviction).
    last_hit: AtomicU64,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

struct Shared {
    resident: RwLock<HashMap<JitKey, Resident>>,
    enabled: AtomicBool,
    /// Start of the clock for `last_hit`.
    epoch: Instant,
    stats: JitStats,
}

enum Event {
    Observed(JitKey, Arc<PreparedCode>),
    Clear,
}

struct Done {
    key: JitKey,
    generation: u64,
    result: Result<Arc<PreparedCode>, String>,
}

/// The runtime: a handle for executor threads; dropping it stops the coordinator.
pub struct Jit {
    shared: Arc<Shared>,
    events: Option<Sender<Event>>,
    coordinator: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit").finish_non_exhaustive()
    }
}

impl Jit {
    /// Starts the coordinator and its workers.
    pub fn start(config: JitConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            resident: RwLock::new(HashMap::new()),
            enabled: AtomicBool::new(true),
            epoch: Instant::now(),
            stats: JitStats::default(),
        });
        let (events, incoming) = bounded(config.events.max(1));
        let coordinator = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("kiln-jit".into())
                .spawn(move || coordinate(config, shared, incoming))?
        };
        Ok(Self {
            shared,
            events: Some(events),
            coordinator: Some(coordinator),
        })
    }

    /// The code to run for `key`: compiled code if resident, else `interpreted` (and the
    /// coordinator hears of the miss). Never blocks: a lock held elsewhere counts as a miss.
    pub fn lookup(&self, key: &JitKey, interpreted: &Arc<PreparedCode>) -> Arc<PreparedCode> {
        if self.shared.enabled.load(Ordering::Relaxed) {
            if let Ok(resident) = self.shared.resident.try_read() {
                if let Some(entry) = resident.get(key) {
                    entry
                        .last_hit
                        .store(self.shared.now_ms(), Ordering::Relaxed);
                    self.shared.stats.hits.fetch_add(1, Ordering::Relaxed);
                    return entry.code.clone();
                }
            }
            if let Some(events) = &self.events {
                match events.try_send(Event::Observed(key.clone(), interpreted.clone())) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                        self.shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        self.shared.stats.misses.fetch_add(1, Ordering::Relaxed);
        interpreted.clone()
    }

    /// Turns compiled lookups on or off at run time (off: everything runs interpreted).
    pub fn set_enabled(&self, enabled: bool) {
        self.shared.enabled.store(enabled, Ordering::Relaxed);
    }

    /// Drops every resident program; compiles finishing later are discarded.
    pub fn clear(&self) {
        if let Some(events) = &self.events {
            // Must arrive: block only as long as the queue is full.
            let _ = events.send_timeout(Event::Clear, Duration::from_secs(1));
        }
    }

    /// The counters.
    pub fn stats(&self) -> &JitStats {
        &self.shared.stats
    }

    /// Programs resident now.
    pub fn resident(&self) -> usize {
        self.shared.resident.read().map_or(0, |r| r.len())
    }

    /// Stops the coordinator, waiting at most `timeout` (workers finishing a compile are left
    /// to end on their own).
    pub fn shutdown(mut self, timeout: Duration) -> bool {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> bool {
        self.events = None;
        let Some(handle) = self.coordinator.take() else {
            return true;
        };
        let deadline = Instant::now() + timeout;
        while !handle.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        handle.join().is_ok()
    }
}

impl Drop for Jit {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(1));
    }
}

/// A program's record while it is not resident.
struct Cold {
    count: u32,
    seen: u64,
    in_flight: bool,
}

struct Failed {
    retry_at: Instant,
    failures: u32,
}

/// The coordinator thread: all policy lives here.
fn coordinate(config: JitConfig, shared: Arc<Shared>, incoming: Receiver<Event>) {
    let (jobs, job_queue) = bounded::<(JitKey, u64, Arc<PreparedCode>)>(config.max_pending);
    let (results, done) = bounded::<Done>(config.max_pending.max(1));
    for i in 0..config.workers.max(1) {
        let (job_queue, results, compiler, on_compiled) = (
            job_queue.clone(),
            results.clone(),
            config.compiler.clone(),
            config.on_compiled.clone(),
        );
        let _ = std::thread::Builder::new()
            .name(format!("kiln-jit-{i}"))
            .spawn(move || {
                for (key, generation, interpreted) in job_queue {
                    let started = Instant::now();
                    let result = catch_unwind(AssertUnwindSafe(|| compiler(&interpreted)))
                        .unwrap_or_else(|_| Err("the compiler panicked".into()));
                    if let (Ok(code), Some(observe)) = (&result, &on_compiled) {
                        let _ = catch_unwind(AssertUnwindSafe(|| {
                            observe(started.elapsed(), code.bytes)
                        }));
                    }
                    if results
                        .send(Done {
                            key,
                            generation,
                            result,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
            });
    }
    drop((job_queue, results));
    let mut cold: HashMap<JitKey, Cold> = HashMap::new();
    let mut failed: HashMap<JitKey, Failed> = HashMap::new();
    let mut generation = 0u64;
    let mut pending = 0usize;
    let ageing = tick(config.ageing);
    loop {
        select! {
            recv(incoming) -> event => match event {
                Err(_) => break,
                Ok(Event::Clear) => {
                    generation += 1;
                    if let Ok(mut resident) = shared.resident.write() {
                        resident.clear();
                    }
                    shared.stats.resident_bytes.store(0, Ordering::Relaxed);
                    cold.clear();
                    // Queued observations predate the clear.
                    while incoming.try_recv().is_ok() {}
                }
                Ok(Event::Observed(key, interpreted)) => {
                    let tick_now = shared.now_ms();
                    if shared.resident.read().is_ok_and(|r| r.contains_key(&key)) {
                        continue;
                    }
                    if failed.get(&key).is_some_and(|f| Instant::now() < f.retry_at) {
                        continue;
                    }
                    if !cold.contains_key(&key) && cold.len() >= config.max_cold {
                        // Forget the least recently seen program that is not compiling.
                        if let Some(oldest) = cold
                            .iter()
                            .filter(|(_, c)| !c.in_flight)
                            .min_by_key(|(_, c)| c.seen)
                            .map(|(k, _)| k.clone())
                        {
                            cold.remove(&oldest);
                        }
                    }
                    let entry = cold.entry(key.clone()).or_insert(Cold {
                        count: 0,
                        seen: tick_now,
                        in_flight: false,
                    });
                    entry.count = entry.count.saturating_add(1);
                    entry.seen = tick_now;
                    if entry.count >= config.threshold
                        && !entry.in_flight
                        && pending < config.max_pending
                        && jobs.try_send((key, generation, interpreted)).is_ok()
                    {
                        entry.in_flight = true;
                        pending += 1;
                        shared.stats.compiles_started.fetch_add(1, Ordering::Relaxed);
                    }
                }
            },
            recv(done) -> finished => {
                let Ok(Done { key, generation: started, result }) = finished else { continue };
                pending = pending.saturating_sub(1);
                if let Some(c) = cold.get_mut(&key) {
                    c.in_flight = false;
                }
                if started != generation {
                    shared.stats.stale_results.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                match result {
                    Ok(code) => {
                        shared.stats.compiles_succeeded.fetch_add(1, Ordering::Relaxed);
                        cold.remove(&key);
                        failed.remove(&key);
                        publish(&config, &shared, key, code);
                    }
                    Err(_) => {
                        shared.stats.compiles_failed.fetch_add(1, Ordering::Relaxed);
                        cold.remove(&key);
                        if !failed.contains_key(&key) && failed.len() >= config.max_failed {
                            if let Some(soonest) = failed
                                .iter()
                                .min_by_key(|(_, f)| f.retry_at)
                                .map(|(k, _)| k.clone())
                            {
                                failed.remove(&soonest);
                            }
                        }
                        let f = failed.entry(key).or_insert(Failed {
                            retry_at: Instant::now(),
                            failures: 0,
                        });
                        f.failures = f.failures.saturating_add(1);
                        let wait = config.backoff.saturating_mul(1 << f.failures.min(10));
                        f.retry_at = Instant::now() + wait;
                    }
                }
            },
            recv(ageing) -> _ => {
                for c in cold.values_mut() {
                    c.count /= 2;
                }
                cold.retain(|_, c| c.count > 0 || c.in_flight);
            },
        }
    }
}

/// Compiles the program behind interpreted code with the recompiler.
pub fn compile(interpreted: &PreparedCode) -> Result<Arc<PreparedCode>, String> {
    let code = Code::prepare(interpreted.code.program().clone(), Backend::Recompiler)
        .map_err(|e| e.to_string())?;
    let bytes = match &code {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        Code::Compiled(compiled) => compiled.code_len(),
        Code::Interpreted(_) => return Err("no recompiler on this target".into()),
    };
    Ok(Arc::new(PreparedCode {
        program: interpreted.program.clone(),
        code,
        bytes,
    }))
}

/// Makes `code` resident, evicting the least recently hit programs beyond the budget. A
/// program larger than the whole budget is not kept.
fn publish(config: &JitConfig, shared: &Shared, key: JitKey, code: Arc<PreparedCode>) {
    if code.bytes > config.budget_bytes {
        return;
    }
    let Ok(mut resident) = shared.resident.write() else {
        return;
    };
    let mut total: usize = resident.values().map(|r| r.code.bytes).sum::<usize>() + code.bytes;
    while total > config.budget_bytes {
        let Some(victim) = resident
            .iter()
            .min_by_key(|(_, r)| r.last_hit.load(Ordering::Relaxed))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        if let Some(gone) = resident.remove(&victim) {
            total -= gone.code.bytes;
            shared.stats.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }
    let now = shared.now_ms();
    resident.insert(
        key,
        Resident {
            code,
            last_hit: AtomicU64::new(now),
        },
    );
    shared
        .stats
        .resident_bytes
        .store(total as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_pvm::asm::{assemble, Assembled};
    use kiln_pvm::{ExitReason, IsaVariant};

    /// A program summing 1..=n for n in φ7 (a loop, so gas depends on the input).
    fn interpreted() -> Arc<PreparedCode> {
        let src = "
        .stack_size 4096
        .code
            load_imm r8, 0
            fallthrough
        again:
            add_64 r8, r8, r7
            add_imm_64 r7, r7, -1
            branch_ne_imm r7, 0, again
            move_reg r7, r8
            jump_ind r0, 0
        ";
        let Assembled::Standard(program) = assemble(src, IsaVariant::Jam07).unwrap() else {
            panic!("a standard program")
        };
        let decoded = Arc::new(program.decode(Profile::JAM_07).unwrap());
        let code = Code::prepare(decoded, Backend::Interpreter).unwrap();
        Arc::new(PreparedCode {
            program,
            code,
            bytes: 1000,
        })
    }

    fn run(code: &PreparedCode, n: u64) -> (u64, i64) {
        let mut vm = code
            .program
            .instantiate(&code.code, &[], 0, 1_000_000)
            .unwrap();
        vm.set_reg(7, n);
        assert_eq!(vm.run(), ExitReason::Halt);
        (vm.reg(7), vm.gas())
    }

    fn key(n: u8) -> JitKey {
        JitKey::new([n; 32], Profile::JAM_07)
    }

    fn wait_for(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn hot_code_tiers_up_and_every_tier_gives_the_same_results_and_gas() {
        if !Backend::RECOMPILER_AVAILABLE {
            return;
        }
        let jit = Jit::start(JitConfig::default()).unwrap();
        let cold = interpreted();
        let mut seen = Vec::new();
        for n in 1..=50u64 {
            let code = jit.lookup(&key(1), &cold);
            seen.push(code.code.backend());
            // Whichever tier ran, the results and gas are the interpreter's.
            assert_eq!(
                run(&code, n),
                run(&cold, n),
                "n = {n} on {:?}",
                code.code.backend()
            );
            if n == 2 {
                wait_for("the compile", || jit.resident() == 1);
            }
        }
        assert_eq!(seen[..2], [Backend::Interpreter, Backend::Interpreter]);
        assert!(
            seen[2..].iter().all(|&b| b == Backend::Recompiler),
            "{seen:?}"
        );
        let stats = jit.stats();
        assert_eq!(
            stats.compiles_started.load(Ordering::Relaxed),
            1,
            "compiled once"
        );
        assert_eq!(stats.hits.load(Ordering::Relaxed), 48);
        assert!(jit.shutdown(Duration::from_secs(5)));
    }

    /// A "compiler" that keeps the interpreted code, reporting `bytes`.
    fn pass_through(bytes: usize) -> Compiler {
        Arc::new(move |c: &PreparedCode| {
            Ok(Arc::new(PreparedCode {
                program: c.program.clone(),
                code: c.code.clone(),
                bytes,
            }))
        })
    }

    fn config(compiler: Compiler) -> JitConfig {
        JitConfig {
            compiler,
            threshold: 1,
            backoff: Duration::from_millis(200),
            ..JitConfig::default()
        }
    }

    #[test]
    fn failing_and_panicking_compiles_back_off_and_are_retried_later() {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = calls.clone();
        let jit = Jit::start(config(Arc::new(move |_: &PreparedCode| {
            match counted.fetch_add(1, Ordering::SeqCst) {
                0 => Err("cannot compile".into()),
                _ => panic!("a compiler bug"),
            }
        })))
        .unwrap();
        let cold = interpreted();
        jit.lookup(&key(1), &cold);
        wait_for("the failure", || {
            jit.stats().compiles_failed.load(Ordering::SeqCst) == 1
        });
        // Within the backoff nothing is retried, however hot.
        for _ in 0..20 {
            assert_eq!(
                jit.lookup(&key(1), &cold).code.backend(),
                Backend::Interpreter
            );
        }
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // After it (200 ms × 2), one retry, whose panic is contained and counted.
        std::thread::sleep(Duration::from_millis(450));
        jit.lookup(&key(1), &cold);
        wait_for("the retry", || {
            jit.stats().compiles_failed.load(Ordering::SeqCst) == 2
        });
        assert_eq!(jit.resident(), 0);
        // The coordinator lives on.
        assert!(jit.shutdown(Duration::from_secs(5)));
    }

    #[test]
    fn results_finishing_after_a_clear_are_dropped() {
        let (release, gate) = crossbeam_channel::bounded::<()>(0);
        let inner = pass_through(10);
        let jit = Jit::start(config(Arc::new(move |c: &PreparedCode| {
            let _ = gate.recv();
            inner(c)
        })))
        .unwrap();
        let cold = interpreted();
        jit.lookup(&key(1), &cold);
        wait_for("the start", || {
            jit.stats().compiles_started.load(Ordering::SeqCst) == 1
        });
        jit.clear();
        std::thread::sleep(Duration::from_millis(50));
        release.send(()).unwrap();
        wait_for("the stale result", || {
            jit.stats().stale_results.load(Ordering::SeqCst) == 1
        });
        assert_eq!(jit.resident(), 0);
        assert!(jit.shutdown(Duration::from_secs(5)));
    }

    #[test]
    fn the_budget_evicts_the_least_recently_hit_and_disabled_lookups_interpret() {
        let jit = Jit::start(JitConfig {
            budget_bytes: 25,
            ..config(pass_through(10))
        })
        .unwrap();
        let cold = interpreted();
        for n in 1..=2 {
            jit.lookup(&key(n), &cold);
            wait_for("residency", || jit.resident() == usize::from(n));
        }
        // Hit 1 after 2 was published, so that 2 is the least recently hit.
        std::thread::sleep(Duration::from_millis(20));
        jit.lookup(&key(1), &cold);
        std::thread::sleep(Duration::from_millis(20));
        jit.lookup(&key(3), &cold);
        wait_for("the eviction", || {
            jit.stats().evictions.load(Ordering::SeqCst) == 1
        });
        assert_eq!(jit.resident(), 2);
        let hits = jit.stats().hits.load(Ordering::SeqCst);
        jit.lookup(&key(1), &cold);
        assert_eq!(
            jit.stats().hits.load(Ordering::SeqCst),
            hits + 1,
            "1 stayed"
        );
        jit.set_enabled(false);
        jit.lookup(&key(1), &cold);
        assert_eq!(
            jit.stats().hits.load(Ordering::SeqCst),
            hits + 1,
            "disabled: interpreted"
        );
        assert!(jit.shutdown(Duration::from_secs(5)));
    }

    #[test]
    fn shutdown_does_not_wait_for_a_compile_that_never_ends() {
        let jit = Jit::start(config(Arc::new(|_: &PreparedCode| {
            std::thread::sleep(Duration::from_secs(3600));
            Err("never".into())
        })))
        .unwrap();
        jit.lookup(&key(1), &interpreted());
        wait_for("the start", || {
            jit.stats().compiles_started.load(Ordering::SeqCst) == 1
        });
        let started = Instant::now();
        assert!(jit.shutdown(Duration::from_secs(2)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
