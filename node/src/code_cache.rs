//! The compiled-code cache: prepared programs (the kernel's CODE caps) by code hash, profile,
//! backend and compiler version, least recently used first out, bounded by the bytes of code
//! they hold. A program is prepared at most once while resident, also when many calls ask for
//! it at the same time: the first prepares it, the others wait for that result.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kiln_pvm::standard::StandardError;
use kiln_pvm::{Backend, Code, Profile, StandardProgram};
use kiln_state::Hash;
use lru::LruCache;

/// The build of the compiler whose output the cache holds (part of every key, so that
/// code from another build is never mistaken for this one's).
pub const COMPILER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What identifies one prepared program.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodeKey {
    /// Hash of the service code blob.
    pub code_hash: Hash,
    /// Profile it is decoded for.
    pub profile: Profile,
    /// Backend it is prepared for.
    pub backend: Backend,
    /// [`COMPILER_VERSION`] of the build that prepared it.
    pub compiler: &'static str,
}

impl CodeKey {
    /// The key of `code_hash` under `profile` and `backend`, for this build.
    pub fn new(code_hash: Hash, profile: Profile, backend: Backend) -> Self {
        Self {
            code_hash,
            profile,
            backend,
            compiler: COMPILER_VERSION,
        }
    }
}

/// A program ready to instantiate: its layout and data, and its prepared code.
#[derive(Debug)]
pub struct PreparedCode {
    /// The standard program (data sections, stack and heap sizes, code).
    pub program: StandardProgram,
    /// The code, decoded and (on the recompiler) compiled; cloning it is cheap.
    pub code: Code,
    /// Bytes it holds: machine code when compiled, code and decoded instructions otherwise.
    pub bytes: usize,
}

/// Why service code could not be prepared (GP's BAD and BIG, or the store failing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The code blob is not in the service's preimages (GP: BAD).
    #[error("the service's code (hash {0}) is not in its preimages")]
    Missing(String),
    /// The code blob is larger than the chain allows (GP: BIG).
    #[error("the service's code is {size} bytes, more than the chain's limit of {limit}")]
    TooBig {
        /// Its size.
        size: usize,
        /// The chain's `max_service_code_size`.
        limit: u64,
    },
    /// The code blob does not start with `E(↕metadata)` (GP: BAD).
    #[error("the service's code blob is malformed: {0}")]
    BadMetadata(String),
    /// After its metadata, the blob is not a valid standard program (GP: `Y = ∅`, a panic).
    #[error("the service's code is not a valid program: {0}")]
    InvalidProgram(String),
    /// The state store failed while reading the code.
    #[error("reading the service's code failed: {0}")]
    State(String),
    /// The compiler panicked (a Kiln bug, contained and reported).
    #[error("preparing the service's code failed unexpectedly: {0}")]
    Panicked(String),
}

/// Counters of the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache (waiting for a preparation already running included).
    pub hits: u64,
    /// Lookups that prepared the program.
    pub misses: u64,
    /// Programs dropped to stay within the budget.
    pub evictions: u64,
    /// Programs resident now.
    pub entries: usize,
    /// Bytes resident now.
    pub resident_bytes: usize,
}

type Slot = Arc<OnceLock<Result<Arc<PreparedCode>, CodeError>>>;

/// Told of each successful preparation: its duration and bytes.
pub type PrepareObserver = Box<dyn Fn(Duration, usize) + Send + Sync>;

struct Inner {
    lru: LruCache<CodeKey, Arc<PreparedCode>>,
    resident_bytes: usize,
    /// Preparations running now; later askers wait on the slot.
    in_flight: HashMap<CodeKey, Slot>,
}

/// The cache (shared by every executor thread).
pub struct CodeCache {
    inner: Mutex<Inner>,
    budget_bytes: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    observer: OnceLock<PrepareObserver>,
}

impl std::fmt::Debug for CodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeCache")
            .field("budget_bytes", &self.budget_bytes)
            .field("stats", &self.stats())
            .finish()
    }
}

impl CodeCache {
    /// An empty cache holding at most `budget_bytes` of code.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                lru: LruCache::unbounded(),
                resident_bytes: 0,
                in_flight: HashMap::new(),
            }),
            budget_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            observer: OnceLock::new(),
        }
    }

    /// Sets the function told of each successful preparation (once; later calls are ignored).
    pub fn on_prepared(&self, observer: PrepareObserver) {
        let _ = self.observer.set(observer);
    }

    /// The program of `key`: from the cache, or prepared from the blob `load` returns (a
    /// service code blob, `E(↕metadata) ++ standard program`). `load` runs only on a miss.
    pub fn get_or_prepare(
        &self,
        key: &CodeKey,
        load: impl FnOnce() -> Result<Vec<u8>, CodeError>,
    ) -> Result<Arc<PreparedCode>, CodeError> {
        let slot = {
            let mut inner = self.lock();
            if let Some(found) = inner.lru.get(key) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(found.clone());
            }
            if let Some(running) = inner.in_flight.get(key) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                let running = running.clone();
                drop(inner);
                return running.wait().clone();
            }
            self.misses.fetch_add(1, Ordering::Relaxed);
            let slot = Slot::default();
            inner.in_flight.insert(key.clone(), slot.clone());
            slot
        };
        // A panic inside preparation must still release the waiters.
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| prepare(key, load)))
            .unwrap_or_else(|panic| Err(CodeError::Panicked(panic_message(&panic))));
        let took = started.elapsed();
        let _ = slot.set(result.clone());
        let mut inner = self.lock();
        inner.in_flight.remove(key);
        if let Ok(prepared) = &result {
            // A program larger than the whole budget runs, but is not kept.
            if prepared.bytes <= self.budget_bytes {
                inner.resident_bytes += prepared.bytes;
                if let Some(old) = inner.lru.put(key.clone(), prepared.clone()) {
                    inner.resident_bytes -= old.bytes;
                }
                while inner.resident_bytes > self.budget_bytes {
                    let Some((_, evicted)) = inner.lru.pop_lru() else {
                        break;
                    };
                    inner.resident_bytes -= evicted.bytes;
                    self.evictions.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        drop(inner);
        if let (Ok(prepared), Some(observer)) = (&result, self.observer.get()) {
            // Told after the slot is settled: a panicking observer cannot strand waiters.
            let _ = catch_unwind(AssertUnwindSafe(|| observer(took, prepared.bytes)));
        }
        result
    }

    /// The counters now.
    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: inner.lru.len(),
            resident_bytes: inner.resident_bytes,
        }
    }

    /// Drops every resident program (running instances keep theirs until they finish).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.lru.clear();
        inner.resident_bytes = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The lock guards plain bookkeeping that no panic leaves half-done.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Parses, decodes and (for the recompiler) compiles a service code blob.
fn prepare(
    key: &CodeKey,
    load: impl FnOnce() -> Result<Vec<u8>, CodeError>,
) -> Result<Arc<PreparedCode>, CodeError> {
    let blob = load()?;
    let (_metadata, program) = StandardProgram::parse_service_code(&blob).map_err(|e| match e {
        StandardError::Truncated { field, .. } if field.starts_with("metadata") => {
            CodeError::BadMetadata(e.to_string())
        }
        other => CodeError::InvalidProgram(other.to_string()),
    })?;
    let decoded = program
        .decode(key.profile)
        .map_err(|e| CodeError::InvalidProgram(e.to_string()))?;
    let code = Code::prepare(Arc::new(decoded), key.backend)
        .map_err(|e| CodeError::InvalidProgram(e.to_string()))?;
    let bytes = code_bytes(&code) + program_bytes(&program);
    Ok(Arc::new(PreparedCode {
        program,
        code,
        bytes,
    }))
}

/// Fixed host memory of one cache entry beyond its code and data (records, tables).
const ENTRY_OVERHEAD: usize = 1024;

/// What prepared code holds in memory, for the budget: the decoded program (code, decoded
/// instructions, tables) and, when compiled, the machine code.
fn code_bytes(code: &Code) -> usize {
    let program = code.program();
    let decoded = program.code().len()
        + std::mem::size_of_val(program.insts())
        + std::mem::size_of_val(program.block_costs_raw())
        + std::mem::size_of_val(program.jump_targets());
    match code {
        Code::Interpreted(_) => decoded,
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        Code::Compiled(compiled) => decoded + compiled.code_len(),
    }
}

/// What the kept standard program holds: its data sections and code blob.
fn program_bytes(program: &StandardProgram) -> usize {
    program.ro_data.len() + program.rw_data.len() + program.code.len() + ENTRY_OVERHEAD
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_pvm::asm::{assemble, Assembled};
    use kiln_pvm::IsaVariant;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Barrier;

    /// Service code whose program differs by `n` (so each has its own size).
    fn code(n: usize) -> Vec<u8> {
        let src = format!(
            ".stack_size 4096\n.code\n{}jump_ind r0, 0\n",
            "fallthrough\n".repeat(n)
        );
        let Assembled::Standard(p) = assemble(&src, IsaVariant::Jam07).unwrap() else {
            panic!("a standard program")
        };
        p.to_service_code(b"")
    }

    fn key(n: u8) -> CodeKey {
        CodeKey::new([n; 32], Profile::JAM_07, Backend::Interpreter)
    }

    #[test]
    fn concurrent_askers_share_one_preparation() {
        let cache = Arc::new(CodeCache::new(1 << 20));
        let loads = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, loads, barrier) = (cache.clone(), loads.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    cache
                        .get_or_prepare(&key(1), || {
                            loads.fetch_add(1, Ordering::SeqCst);
                            // Long enough for every other thread to arrive and wait.
                            std::thread::sleep(Duration::from_millis(100));
                            Ok(code(3))
                        })
                        .unwrap()
                })
            })
            .collect();
        let prepared: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert!(prepared.iter().all(|p| Arc::ptr_eq(p, &prepared[0])));
        let stats = cache.stats();
        assert_eq!((stats.misses, stats.hits, stats.entries), (1, 7, 1));
        assert_eq!(stats.resident_bytes, prepared[0].bytes);
    }

    #[test]
    fn the_byte_budget_evicts_the_least_recently_used() {
        let one = CodeCache::new(usize::MAX)
            .get_or_prepare(&key(0), || Ok(code(0)))
            .unwrap()
            .bytes;
        // Room for two programs of this size, not three.
        let cache = CodeCache::new(2 * one + one / 2);
        for n in [1, 2] {
            cache.get_or_prepare(&key(n), || Ok(code(0))).unwrap();
        }
        // Touch 1, so that 2 is the least recently used when 3 arrives.
        cache.get_or_prepare(&key(1), || panic!("a hit")).unwrap();
        cache.get_or_prepare(&key(3), || Ok(code(0))).unwrap();
        let stats = cache.stats();
        assert_eq!((stats.evictions, stats.entries), (1, 2));
        assert_eq!(stats.resident_bytes, 2 * one);
        cache
            .get_or_prepare(&key(1), || panic!("still resident"))
            .unwrap();
        let reloaded = AtomicUsize::new(0);
        cache
            .get_or_prepare(&key(2), || {
                reloaded.fetch_add(1, Ordering::SeqCst);
                Ok(code(0))
            })
            .unwrap();
        assert_eq!(reloaded.load(Ordering::SeqCst), 1, "2 was evicted");
        // A program larger than the whole budget runs but is not kept.
        let tiny = CodeCache::new(1);
        tiny.get_or_prepare(&key(9), || Ok(code(0))).unwrap();
        assert_eq!(tiny.stats().entries, 0);
        assert_eq!(tiny.stats().resident_bytes, 0);
    }

    #[test]
    fn failures_are_reported_and_not_cached() {
        let cache = CodeCache::new(1 << 20);
        let error = cache
            .get_or_prepare(&key(1), || Ok(b"\x00garbage".to_vec()))
            .unwrap_err();
        assert!(matches!(error, CodeError::InvalidProgram(_)), "{error}");
        let error = cache
            .get_or_prepare(&key(1), || Ok(vec![0x80]))
            .unwrap_err();
        assert!(matches!(error, CodeError::BadMetadata(_)), "{error}");
        let error = cache
            .get_or_prepare(&key(1), || Err(CodeError::Missing("0x01".into())))
            .unwrap_err();
        assert!(matches!(error, CodeError::Missing(_)), "{error}");
        // A panic while preparing is contained, reported, and releases the slot.
        let error = cache
            .get_or_prepare(&key(1), || panic!("compiler bug"))
            .unwrap_err();
        assert_eq!(error, CodeError::Panicked("compiler bug".into()));
        cache.get_or_prepare(&key(1), || Ok(code(1))).unwrap();
        assert_eq!(cache.stats().entries, 1);
    }

    #[test]
    fn keys_separate_profiles_and_backends() {
        let cache = CodeCache::new(1 << 20);
        let mut other_profile = key(1);
        other_profile.profile = Profile::GAS_DRAFT;
        let mut other_backend = key(1);
        other_backend.backend = Backend::Auto;
        for k in [key(1), other_profile, other_backend] {
            cache.get_or_prepare(&k, || Ok(code(0))).unwrap();
        }
        assert_eq!(cache.stats().misses, 3);
        assert_eq!(cache.stats().entries, 3);
    }
}
