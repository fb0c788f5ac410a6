//! The service executor on a real RocksDB in a temporary directory: genesis, the dev service's
//! refine and accumulate on both backends (same results and gas), dry-runs that leave the
//! database byte-for-byte unchanged, commits that survive reopening and SIGKILL, and bad
//! input (malformed, missing or oversized code, oversized payloads, gas above the limits,
//! services that loop or pass bad pointers) that ends in a clear status with nothing committed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kiln_chain_spec::{blake2b_256, ChainSpec, GenesisService};
use kiln_node::executor::{
    AccumulateRequest, ExecError, ExecutorConfig, ExitStatus, Mode, Outcome, RefineRequest,
    ServiceExecutor,
};
use kiln_node::genesis::open_state;
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::host_calls::codes;
use kiln_pvm::{Backend, IsaVariant};
use kiln_state::{Changes, ServiceAccount, StateDb, StateRead};

const COUNTER: u32 = 1;
const LOOPS: u32 = 10;
const BAD_POINTER: u32 = 11;
const HOST_CALLS: u32 = 12;
const GARBAGE_CODE: u32 = 20;
const MISSING_CODE: u32 = 21;
const HUGE_CODE: u32 = 22;

/// A service from Kiln assembly: refine at pc 0, accumulate at pc 5.
fn asm_service(id: u32, body: &str) -> GenesisService {
    let src =
        format!(".stack_size 4096\n.code\n.wide\njump refine\n.wide\njump accumulate\n{body}");
    let Assembled::Standard(program) = assemble(&src, IsaVariant::Jam07).unwrap() else {
        panic!("a standard program")
    };
    GenesisService {
        id,
        name: None,
        code: program.to_service_code(b"test"),
        balance: 1 << 40,
        min_item_gas: 0,
        min_memo_gas: 0,
        gratis_storage: 0,
        storage: BTreeMap::new(),
    }
}

/// The dev chain plus test services.
fn spec() -> ChainSpec {
    let mut spec = ChainSpec::dev();
    spec.genesis.services.extend([
        asm_service(LOOPS, "refine:\naccumulate:\njump accumulate\n"),
        asm_service(
            BAD_POINTER,
            "refine:\njump_ind r0, 0\n
            accumulate:
            load_imm r7, 0x20000
            load_imm r8, 3
            load_imm r9, 0x20000
            load_imm r10, 3
            ecalli 4
            load_imm r7, 0x100
            load_imm r8, 3
            ecalli 4
            jump_ind r0, 0\n",
        ),
        asm_service(
            HOST_CALLS,
            // Refine: `read` is not available (WHAT). Accumulate: an empty slot (WHAT, from
            // the kernel), `bless` (WHAT: not implemented), then `gas`; the answers are the
            // output.
            "refine:
            ecalli 3
            load_imm r2, 0x20000
            store_ind_u64 r7, r2, 0
            load_imm r7, 0x20000
            load_imm r8, 8
            jump_ind r0, 0
            accumulate:
            ecalli 77
            load_imm r2, 0x20000
            store_ind_u64 r7, r2, 0
            ecalli 14
            store_ind_u64 r7, r2, 8
            ecalli 0
            store_ind_u64 r7, r2, 16
            load_imm r7, 0x20000
            load_imm r8, 24
            jump_ind r0, 0\n",
        ),
    ]);
    // The test services need writable data at 0x20000.
    for service in spec.genesis.services.iter_mut().skip(1) {
        let (_, mut program) =
            kiln_pvm::StandardProgram::parse_service_code(&service.code).unwrap();
        program.rw_data = vec![b'k', b'e', b'y'];
        program.heap_pages = 1;
        service.code = program.to_service_code(b"test");
    }
    spec
}

/// Accounts whose code is broken in the ways state can break it.
fn break_code(db: &StateDb, spec: &ChainSpec) {
    let mut changes = Changes::default();
    let account = |code_hash| ServiceAccount {
        code_hash,
        balance: 1 << 40,
        ..ServiceAccount::default()
    };
    let garbage = b"not a program".to_vec();
    changes.set_account(GARBAGE_CODE, account(blake2b_256(&garbage)));
    changes.set_preimage(GARBAGE_CODE, blake2b_256(&garbage), garbage);
    changes.set_account(MISSING_CODE, account([0xAB; 32]));
    // A zero metadata length, then one byte more than the limit.
    let huge = vec![0; spec.protocol.max_service_code_size as usize + 2];
    changes.set_account(HUGE_CODE, account(blake2b_256(&huge)));
    changes.set_preimage(HUGE_CODE, blake2b_256(&huge), huge);
    db.commit(&changes).unwrap();
}

fn executor(dir: &Path, backend: Backend) -> ServiceExecutor {
    let spec = spec();
    let db = open_state(dir, &spec).unwrap();
    break_code(&db, &spec);
    let config = ExecutorConfig {
        backend,
        ..ExecutorConfig::default()
    };
    ServiceExecutor::new(Arc::new(db), Arc::new(spec), config)
}

fn refine(service: u32, payload: &[u8], gas: u64) -> RefineRequest {
    RefineRequest {
        service,
        payload: payload.to_vec(),
        gas,
        core: 0,
        item_index: 0,
        package_hash: [0; 32],
    }
}

fn accumulate(service: u32, gas: u64) -> AccumulateRequest {
    AccumulateRequest {
        service,
        slot: 1,
        gas,
        operands: Vec::new(),
        entropy: [0; 32],
    }
}

fn counter(db: &dyn StateRead) -> Option<u64> {
    db.storage(COUNTER, b"counter")
        .unwrap()
        .map(|v| u64::from_le_bytes(v.try_into().unwrap()))
}

/// Every file of the database but RocksDB's informational logs.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with("LOG"))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn genesis_creates_the_dev_service_once() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::dev();
    let code = &spec.genesis.services[0].code;
    {
        let db = open_state(dir.path(), &spec).unwrap();
        let account = db
            .account(COUNTER)
            .unwrap()
            .expect("the dev service exists");
        assert_eq!(account.code_hash, blake2b_256(code));
        assert_eq!(
            db.preimage(COUNTER, &account.code_hash).unwrap().as_ref(),
            Some(code)
        );
        // The code's lookup entry is its footprint: two items, 81 bytes plus the code.
        assert_eq!(account.storage_items, 2);
        assert_eq!(account.storage_bytes, 81 + code.len() as u64);
        assert!(db.genesis_applied().unwrap());
        let mut changes = Changes::default();
        changes.set_storage(
            COUNTER,
            b"counter".to_vec(),
            Some(vec![5, 0, 0, 0, 0, 0, 0, 0]),
        );
        db.commit(&changes).unwrap();
    }
    // Reopening does not apply genesis again over later writes.
    let db = open_state(dir.path(), &spec).unwrap();
    assert_eq!(counter(&db), Some(5));
    drop(db);
    // Another chain's spec is refused.
    let error = open_state(dir.path(), &ChainSpec::tiny()).unwrap_err();
    assert!(error.to_string().contains("chain"), "{error}");
}

/// Everything an outcome says except the wall-clock time and the backend.
fn comparable(o: &Outcome) -> String {
    format!(
        "{:?} {:?} {} {:?} {:?} {} {:?}",
        o.status, o.output, o.gas_used, o.host_calls, o.writes, o.committed, o.logs
    )
}

/// One session of calls; the outcomes.
fn session(backend: Backend) -> Vec<Outcome> {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path(), backend);
    let mut outcomes = vec![ex
        .refine(&refine(COUNTER, b"hello, Kiln!", 1_000_000))
        .unwrap()];
    for _ in 0..3 {
        outcomes.push(
            ex.accumulate(&accumulate(COUNTER, 1_000_000), Mode::Commit)
                .unwrap(),
        );
    }
    outcomes.push(
        ex.accumulate(&accumulate(COUNTER, 1_000_000), Mode::DryRun)
            .unwrap(),
    );
    outcomes.push(
        ex.refine(&refine(COUNTER, &[b'a'; 5000], 1_000_000))
            .unwrap(),
    );
    outcomes.push(ex.refine(&refine(LOOPS, b"", 100_000)).unwrap());
    outcomes.push(
        ex.accumulate(&accumulate(LOOPS, 100_000), Mode::Commit)
            .unwrap(),
    );
    outcomes.push(
        ex.accumulate(&accumulate(BAD_POINTER, 100_000), Mode::Commit)
            .unwrap(),
    );
    outcomes.push(ex.refine(&refine(HOST_CALLS, b"", 100_000)).unwrap());
    outcomes.push(
        ex.accumulate(&accumulate(HOST_CALLS, 100_000), Mode::Commit)
            .unwrap(),
    );
    // Too little gas for the dev service's accumulate.
    outcomes.push(
        ex.accumulate(&accumulate(COUNTER, 200), Mode::Commit)
            .unwrap(),
    );
    for service in [GARBAGE_CODE, MISSING_CODE, HUGE_CODE] {
        outcomes.push(
            ex.accumulate(&accumulate(service, 1000), Mode::Commit)
                .unwrap(),
        );
    }
    assert_eq!(counter(ex.state().as_ref()), Some(3));
    outcomes
}

#[test]
fn dev_service_refine_and_accumulate_agree_on_both_backends() {
    let mut sessions = Vec::new();
    for &backend in Backend::available() {
        let outcomes = session(backend);
        assert!(outcomes[..4].iter().all(|o| o.backend == backend));
        sessions.push(outcomes);
    }
    let o = &sessions[0];
    assert_eq!(o[0].status, ExitStatus::Halt);
    assert_eq!(o[0].output, b"HELLO, KILN!");
    assert!(o[0].writes.is_empty());
    for (n, accumulated) in o[1..4].iter().enumerate() {
        assert_eq!(accumulated.status, ExitStatus::Halt);
        assert!(accumulated.committed);
        let value = (n as u64 + 1).to_le_bytes().to_vec();
        assert_eq!(
            accumulated
                .writes
                .storage
                .get(&(COUNTER, b"counter".to_vec())),
            Some(&Some(value))
        );
        assert_eq!(accumulated.logs[0].message, format!("counter = {}", n + 1));
        assert_eq!(accumulated.host_calls.get("read"), Some(&1));
        assert_eq!(accumulated.host_calls.get("write"), Some(&1));
        assert_eq!(accumulated.host_calls.get("log"), Some(&1));
    }
    // The first accumulate created the item (its footprint grew); later ones only change it.
    assert!(o[1].writes.accounts.contains_key(&COUNTER));
    assert_eq!(o[2].gas_used, o[3].gas_used);
    assert!(!o[4].committed && o[4].status == ExitStatus::Halt);
    assert_eq!(
        o[5].output,
        vec![b'A'; 4096],
        "the refine output is capped at 4 KiB"
    );
    for (i, status) in [(6, ExitStatus::OutOfGas), (7, ExitStatus::OutOfGas)] {
        assert_eq!(o[i].status, status);
        assert_eq!(o[i].gas_used, 100_000);
        assert!(o[i].writes.is_empty() && !o[i].committed);
    }
    assert_eq!(o[8].status, ExitStatus::Panic);
    assert_eq!(o[8].host_calls.get("write"), Some(&2));
    assert!(o[8].writes.is_empty() && !o[8].committed);
    assert_eq!(o[9].output, codes::WHAT.to_le_bytes());
    assert_eq!(o[10].status, ExitStatus::Halt);
    assert_eq!(&o[10].output[..8], &codes::WHAT.to_le_bytes());
    assert_eq!(&o[10].output[8..16], &codes::WHAT.to_le_bytes());
    let gas_seen = u64::from_le_bytes(o[10].output[16..].try_into().unwrap());
    assert!(
        gas_seen < 100_000 - 30,
        "three host calls paid for: {gas_seen}"
    );
    assert_eq!(o[10].host_calls.get("bless"), Some(&1));
    assert_eq!(o[10].host_calls.get("gas"), Some(&1));
    assert_eq!(
        o[10].host_calls.len(),
        2,
        "the empty slot never reaches the host"
    );
    assert_eq!(o[11].status, ExitStatus::OutOfGas);
    assert_eq!(o[11].gas_used, 200);
    assert!(matches!(&o[12].status, ExitStatus::BadCode(why) if why.contains("malformed")));
    assert!(
        matches!(&o[13].status, ExitStatus::BadCode(why) if why.contains("not in its preimages"))
    );
    assert_eq!(o[14].status, ExitStatus::CodeTooBig);
    for failed in &o[11..] {
        assert!(failed.writes.is_empty() && !failed.committed);
    }
    for other in &sessions[1..] {
        let (a, b): (Vec<_>, Vec<_>) = (
            sessions[0].iter().map(comparable).collect(),
            other.iter().map(comparable).collect(),
        );
        assert_eq!(a, b, "the backends disagree");
    }
}

#[test]
fn a_dry_run_leaves_the_database_byte_for_byte_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path(), Backend::Interpreter);
    ex.accumulate(&accumulate(COUNTER, 1_000_000), Mode::Commit)
        .unwrap();
    let before = contents(dir.path());
    for _ in 0..5 {
        let dry = ex
            .accumulate(&accumulate(COUNTER, 1_000_000), Mode::DryRun)
            .unwrap();
        assert_eq!(dry.status, ExitStatus::Halt);
        assert!(!dry.committed);
        assert_eq!(
            dry.writes.storage.get(&(COUNTER, b"counter".to_vec())),
            Some(&Some(2u64.to_le_bytes().to_vec())),
            "each dry-run starts from the committed state"
        );
    }
    // Failed committing runs leave it unchanged too.
    for service in [LOOPS, BAD_POINTER, GARBAGE_CODE, MISSING_CODE, HUGE_CODE] {
        let failed = ex
            .accumulate(&accumulate(service, 10_000), Mode::Commit)
            .unwrap();
        assert_ne!(failed.status, ExitStatus::Halt);
    }
    assert_eq!(contents(dir.path()), before);
    assert_eq!(counter(ex.state().as_ref()), Some(1));
}

#[test]
fn commits_survive_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ex = executor(dir.path(), Backend::Auto);
        for _ in 0..3 {
            ex.accumulate(&accumulate(COUNTER, 1_000_000), Mode::Commit)
                .unwrap();
        }
    }
    let db = open_state(dir.path(), &spec()).unwrap();
    assert_eq!(counter(&db), Some(3));
    let ex = ServiceExecutor::new(Arc::new(db), Arc::new(spec()), ExecutorConfig::default());
    let next = ex
        .accumulate(&accumulate(COUNTER, 1_000_000), Mode::Commit)
        .unwrap();
    assert_eq!(next.logs[0].message, "counter = 4");
}

#[test]
fn requests_outside_the_chain_limits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path(), Backend::Interpreter);
    let limits = ex.spec().protocol;
    let too_big = vec![0; limits.max_package_size as usize + 1];
    let cases = [
        ex.refine(&refine(COUNTER, &too_big, 1000)).unwrap_err(),
        ex.refine(&refine(COUNTER, b"", limits.max_refine_gas + 1))
            .unwrap_err(),
        ex.refine(&refine(COUNTER, b"", u64::MAX)).unwrap_err(),
        ex.accumulate(&accumulate(COUNTER, limits.max_block_gas + 1), Mode::DryRun)
            .unwrap_err(),
        ex.refine(&refine(999, b"", 1000)).unwrap_err(),
    ];
    for (error, expected) in cases.iter().zip([
        "max_package_size",
        "max_refine_gas",
        "max_refine_gas",
        "max_block_gas",
        "service 999 does not exist",
    ]) {
        assert!(error.to_string().contains(expected), "{error}");
    }
    assert!(matches!(cases[4], ExecError::UnknownService(999)));
}

#[test]
fn concurrent_calls_prepare_the_code_once() {
    let dir = tempfile::tempdir().unwrap();
    let ex = Arc::new(executor(dir.path(), Backend::Auto));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let ex = ex.clone();
            std::thread::spawn(move || {
                let payload = format!("call {i}");
                let out = ex.refine(&refine(COUNTER, payload.as_bytes(), 100_000));
                (payload.to_uppercase(), out.unwrap().output)
            })
        })
        .collect();
    for t in threads {
        let (expected, output) = t.join().unwrap();
        assert_eq!(output, expected.as_bytes());
    }
    let stats = ex.cache().stats();
    assert_eq!((stats.misses, stats.hits), (1, 7));
}

/// The child side of the crash test: accumulates the dev service's counter until killed.
fn accumulate_until_killed(path: &Path) -> ! {
    let spec = Arc::new(ChainSpec::dev());
    let db = Arc::new(open_state(path, &spec).unwrap());
    let ex = ServiceExecutor::new(db, spec, ExecutorConfig::default());
    loop {
        let outcome = ex
            .accumulate(&accumulate(COUNTER, 1_000_000), Mode::Commit)
            .unwrap();
        assert!(outcome.committed);
    }
}

#[test]
fn a_process_killed_in_the_middle_of_accumulates_leaves_a_consistent_database() {
    if let Ok(path) = std::env::var("KILN_EXECUTOR_CRASH_CHILD") {
        accumulate_until_killed(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::dev();
    let code_len = spec.genesis.services[0].code.len() as u64;
    let mut last = 0;
    for round in 0..20 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_process_killed_in_the_middle_of_accumulates_leaves_a_consistent_database",
                "--nocapture",
            ])
            .env("KILN_EXECUTOR_CRASH_CHILD", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(250 + 13 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let db = open_state(dir.path(), &spec).unwrap();
        let account = db.account(COUNTER).unwrap().expect("genesis is complete");
        match counter(&db) {
            None => assert_eq!(account.storage_items, 2, "round {round}"),
            Some(n) => {
                // The item and the account's footprint were written together.
                assert_eq!(account.storage_items, 3, "round {round}");
                assert_eq!(
                    account.storage_bytes,
                    81 + code_len + 34 + 7 + 8,
                    "round {round}"
                );
                assert!(n >= last, "round {round}: the counter went back");
                last = n;
            }
        }
    }
    assert!(last > 0, "the child never committed");
}

#[test]
fn tiered_execution_gives_the_interpreters_results_and_gas_whichever_tier_runs() {
    use kiln_node::jit::{Jit, JitConfig};
    if !Backend::RECOMPILER_AVAILABLE {
        return;
    }
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let reference = executor(dir_a.path(), Backend::Interpreter);
    let spec = spec();
    let db = open_state(dir_b.path(), &spec).unwrap();
    break_code(&db, &spec);
    let jit = Arc::new(
        Jit::start(JitConfig {
            threshold: 2,
            ..JitConfig::default()
        })
        .unwrap(),
    );
    let tiered = ServiceExecutor::new(Arc::new(db), Arc::new(spec), ExecutorConfig::default())
        .with_jit(jit.clone());
    let mut backends = Vec::new();
    for i in 0..12u8 {
        let payload = [b'a' + i; 5];
        let calls: [(u32, bool); 3] = [(COUNTER, true), (COUNTER, false), (LOOPS, false)];
        for (service, refining) in calls {
            let (a, b) = if refining {
                let r = refine(service, &payload, 100_000);
                (reference.refine(&r).unwrap(), tiered.refine(&r).unwrap())
            } else {
                let r = accumulate(service, 100_000);
                (
                    reference.accumulate(&r, Mode::Commit).unwrap(),
                    tiered.accumulate(&r, Mode::Commit).unwrap(),
                )
            };
            assert_eq!(comparable(&a), comparable(&b), "call {i} to {service}");
            if service == COUNTER && refining {
                backends.push(b.backend);
            }
        }
        if i == 2 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while jit.resident() < 2 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the hot code never compiled"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
    assert_eq!(
        backends[0],
        Backend::Interpreter,
        "cold code is interpreted"
    );
    assert_eq!(
        *backends.last().unwrap(),
        Backend::Recompiler,
        "hot code is compiled"
    );
    assert_eq!(counter(reference.state().as_ref()), Some(12));
    assert_eq!(counter(tiered.state().as_ref()), Some(12));
}
