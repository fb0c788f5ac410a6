//! Each host function through the executor, on a real RocksDB: results, offsets and lengths,
//! availability per invocation, and every kind of bad guest pointer (GP's result: a code, or a
//! panic with nothing committed).

use std::collections::BTreeMap;
use std::sync::Arc;

use kiln_chain_spec::{blake2b_256, ChainSpec, GenesisService};
use kiln_node::executor::{
    AccumulateOperand, AccumulateRequest, ExecutorConfig, ExitStatus, Mode, Outcome, RefineRequest,
    ServiceExecutor, WorkResult,
};
use kiln_node::genesis::open_state;
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::host_calls::codes::{FULL, NONE, WHAT};
use kiln_pvm::{Backend, IsaVariant, StandardProgram};
use kiln_state::StateRead;

/// Where test services keep things: the result word and a 256-byte buffer (output), and
/// inputs (the key `key`, a hash) further up, all in writable memory.
const OUT: u64 = 0x20000;
const BUF: u64 = OUT + 8;
const KEY: u64 = 0x21000;
const HASH: u64 = 0x21010;
/// An address no standard program can access (the first 64 KiB).
const BAD: u64 = 0x100;
const BUF_LEN: usize = 256;

/// `ecalli id` with `φ7..` set as given.
fn call(id: u32, regs: &[u64]) -> String {
    let mut s = String::new();
    for (i, value) in regs.iter().enumerate() {
        s += &format!("load_imm_64 r{}, {value}\n", 7 + i);
    }
    s + &format!("ecalli {id}\n")
}

/// Stores `φ7` at `OUT` and halts with `OUT..BUF+256` as the output.
fn finish() -> String {
    format!(
        "load_imm r2, {OUT}\nstore_ind_u64 r7, r2, 0\nload_imm r7, {OUT}\nload_imm r8, {}\njump_ind r0, 0\n",
        8 + BUF_LEN
    )
}

/// A service whose refine and accumulate both run `body` (then `finish`), with `key` at
/// `KEY`, a zero hash at `HASH`, and the storage item `key` = `value`.
fn service(id: u32, body: &str, balance: u64) -> GenesisService {
    let src = format!(
        ".stack_size 4096\n.code\n.wide\njump main\n.wide\njump main\nmain:\n{body}{}",
        finish()
    );
    let Assembled::Standard(mut program) = assemble(&src, IsaVariant::Jam07).unwrap() else {
        panic!("a standard program")
    };
    let mut data = vec![0; 0x1000];
    data.extend_from_slice(b"key");
    data.resize(0x1010 + 32, 0);
    program.rw_data = data;
    program.heap_pages = 2;
    let mut storage = BTreeMap::new();
    storage.insert(b"key".to_vec(), b"value".to_vec());
    GenesisService {
        id,
        name: None,
        code: program.to_service_code(b"t"),
        balance,
        min_item_gas: 0,
        min_memo_gas: 0,
        gratis_storage: 0,
        storage,
    }
}

/// The service with `hash` at `HASH`.
fn with_hash(mut s: GenesisService, hash: [u8; 32]) -> GenesisService {
    let (_, mut program) = StandardProgram::parse_service_code(&s.code).unwrap();
    program.rw_data[0x1010..0x1030].copy_from_slice(&hash);
    s.code = program.to_service_code(b"t");
    s
}

struct Harness {
    _dir: tempfile::TempDir,
    ex: ServiceExecutor,
}

impl Harness {
    fn new(services: Vec<GenesisService>, backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = ChainSpec::dev();
        spec.genesis.services.extend(services);
        let db = open_state(dir.path(), &spec).unwrap();
        let config = ExecutorConfig {
            backend,
            ..ExecutorConfig::default()
        };
        let ex = ServiceExecutor::new(Arc::new(db), Arc::new(spec), config);
        Self { _dir: dir, ex }
    }

    fn accumulate(&self, service: u32) -> Outcome {
        let request = AccumulateRequest {
            service,
            slot: 7,
            gas: 1_000_000,
            operands: vec![operand(1), operand(2)],
            entropy: [0x42; 32],
        };
        self.ex.accumulate(&request, Mode::Commit).unwrap()
    }

    fn refine_payload(&self, service: u32) -> Outcome {
        self.refine(service)
    }

    fn refine(&self, service: u32) -> Outcome {
        let request = RefineRequest {
            service,
            payload: b"payload".to_vec(),
            gas: 1_000_000,
            core: 0,
            item_index: 3,
            package_hash: [0; 32],
        };
        self.ex.refine(&request).unwrap()
    }
}

fn operand(n: u8) -> AccumulateOperand {
    AccumulateOperand {
        package_hash: [n; 32],
        exports_root: [0; 32],
        authorizer_hash: [0; 32],
        payload_hash: [0; 32],
        gas_limit: 100,
        result: WorkResult::Ok(vec![n; 3]),
        auth_output: vec![],
    }
}

/// `φ7` and the buffer of a halted run.
fn result(o: &Outcome) -> (u64, &[u8]) {
    assert_eq!(o.status, ExitStatus::Halt, "{o:?}");
    (
        u64::from_le_bytes(o.output[..8].try_into().unwrap()),
        &o.output[8..],
    )
}

fn panicked(o: &Outcome) -> bool {
    o.status == ExitStatus::Panic && o.writes.is_empty() && !o.committed
}

#[test]
fn host_functions_answer_as_gp_says_on_both_backends() {
    for &backend in Backend::available() {
        check_all(backend);
    }
}

fn check_all(backend: Backend) {
    let fetch =
        |o: u64, f: u64, l: u64, selector: u64, index: u64| call(1, &[o, f, l, selector, index]);
    let read = |service: u64, key: u64, key_len: u64, o: u64, f: u64, l: u64| {
        call(3, &[service, key, key_len, o, f, l])
    };
    let cases: Vec<(u32, String)> = vec![
        (100, fetch(BUF, 0, 1000, 0, 0)),
        (101, fetch(BUF, 100, 10, 0, 0)),
        (102, fetch(BUF, 0, 10, 99, 0)),
        (103, fetch(BAD, 0, 10, 0, 0)),
        (104, fetch(BAD, 0, 0, 0, 0)),
        (105, fetch(BUF, 0, 256, 14, 0)),
        (106, fetch(BUF, 0, 256, 15, 1)),
        (107, fetch(BUF, 0, 256, 15, 2)),
        (108, fetch(BUF, 0, 256, 1, 0)),
        (110, read(NONE, KEY, 3, BUF, 0, 100)),
        (111, read(NONE, KEY, 3, BUF, 2, 100)),
        (112, read(NONE, KEY, 2, BUF, 0, 100)),
        (113, read(999, KEY, 3, BUF, 0, 100)),
        (114, read(NONE, BAD, 3, BUF, 0, 100)),
        (115, read(NONE, KEY, 3, BAD, 0, 100)),
        (116, read(NONE, KEY, 2, BAD, 0, 100)),
        (117, read(NONE, KEY, u64::MAX, BUF, 0, 100)),
        (118, read(NONE, u64::MAX - 1, 3, BUF, 0, 100)),
        // write: a new item, then read it back.
        (
            120,
            call(4, &[KEY, 2, KEY, 3]) + &read(NONE, KEY, 2, BUF, 0, 100),
        ),
        // write: replace (old length), then remove (old length), then read (NONE).
        (
            121,
            call(4, &[KEY, 3, KEY, 2])
                + &call(4, &[KEY, 3, 0, 0])
                + "load_imm r2, 0x20100\nstore_ind_u64 r7, r2, 0\n"
                + &read(NONE, KEY, 3, BUF, 0, 100),
        ),
        (122, call(4, &[BAD, 3, KEY, 3])),
        (123, call(4, &[KEY, 3, BAD, 3])),
        (124, call(4, &[KEY, 3, KEY, u64::MAX])),
        (125, call(4, &[KEY, 2, KEY, 3])),
        (130, call(2, &[1, HASH, BUF, 0, 256])),
        (131, call(2, &[NONE, BAD, BUF, 0, 256])),
        (132, call(2, &[NONE, HASH, BUF, 0, 256])),
        (140, call(5, &[NONE, BUF, 0, 256])),
        (141, call(5, &[999, BUF, 0, 256])),
        (142, call(5, &[NONE, BAD, 0, 256])),
        (143, call(5, &[1, BUF, 32, 8])),
        (150, call(0, &[])),
        (160, call(100, &[2, KEY, 3, KEY, 3])),
        (161, call(100, &[2, BAD, 3, KEY, 3])),
        (170, call(14, &[])),
    ];
    let rich = 1 << 40;
    let mut services: Vec<GenesisService> = cases
        .iter()
        .map(|(id, body)| service(*id, body, rich))
        .collect();
    // 125 can afford nothing beyond its genesis footprint.
    let poor = services.iter_mut().find(|s| s.id == 125).unwrap();
    let min = {
        let spec = ChainSpec::dev();
        poor.min_balance(&spec.protocol)
    };
    poor.balance = min;
    // 130 looks up service 1's code among service 1's preimages; 132 among its own, where
    // it is not (preimages belong to a service).
    let code_of_dev = ChainSpec::dev().genesis.services[0].code.clone();
    for s in services.iter_mut() {
        if s.id == 130 || s.id == 132 {
            *s = with_hash(s.clone(), blake2b_256(&code_of_dev));
        }
    }
    let h = Harness::new(services, backend);
    let spec = ChainSpec::dev();
    let constants = spec.protocol.encode_constants();
    let run = |id| h.accumulate(id);

    // fetch
    let o = run(100);
    let (v, buf) = result(&o);
    assert_eq!(v, constants.len() as u64);
    assert_eq!(&buf[..constants.len()], &constants[..]);
    let o = run(101);
    let (v, buf) = result(&o);
    assert_eq!(v, constants.len() as u64);
    assert_eq!(&buf[..10], &constants[100..110]);
    assert!(buf[10..].iter().all(|&b| b == 0), "l bounds the copy");
    assert_eq!(result(&run(102)).0, NONE);
    assert!(panicked(&run(103)));
    assert_eq!(
        result(&run(104)).0,
        constants.len() as u64,
        "nothing to write"
    );
    let o = run(105);
    let (v, buf) = result(&o);
    assert_eq!(buf[0], 2, "two operands");
    assert_eq!(v as usize, 1 + 2 * (128 + 1 + 5 + 1));
    let o = run(106);
    let (v, buf) = result(&o);
    assert_eq!(v, 128 + 1 + 5 + 1);
    assert_eq!(&buf[..32], &[2; 32], "the second operand");
    assert_eq!(result(&run(107)).0, NONE);
    let o = run(108);
    assert_eq!(&result(&o).1[..32], &[0x42; 32]);

    // read
    let o = run(110);
    let (v, buf) = result(&o);
    assert_eq!((v, &buf[..5]), (5, &b"value"[..]));
    let o = run(111);
    let (v, buf) = result(&o);
    assert_eq!((v, &buf[..3]), (5, &b"lue"[..]));
    assert_eq!(result(&run(112)).0, NONE);
    assert_eq!(result(&run(113)).0, NONE);
    assert!(panicked(&run(114)));
    assert!(panicked(&run(115)));
    assert_eq!(result(&run(116)).0, NONE, "no value: nothing to write");
    assert!(panicked(&run(117)), "a key beyond the address space");
    assert!(panicked(&run(118)), "a key wrapping the address space");

    // write
    let o = run(120);
    let (v, buf) = result(&o);
    assert_eq!((v, &buf[..3]), (3, &b"key"[..]));
    assert!(o.committed);
    assert_eq!(
        o.writes.storage.get(&(120, b"ke".to_vec())),
        Some(&Some(b"key".to_vec()))
    );
    let o = run(121);
    let (v, buf) = result(&o);
    assert_eq!(v, NONE, "removed");
    assert_eq!(
        u64::from_le_bytes(buf[0xF8..0x100].try_into().unwrap()),
        2,
        "the removal saw the replaced value's length"
    );
    assert_eq!(o.writes.storage.get(&(121, b"key".to_vec())), Some(&None));
    assert!(panicked(&run(122)));
    assert!(panicked(&run(123)));
    assert!(panicked(&run(124)), "a value beyond the address space");
    let o = run(125);
    assert_eq!(result(&o).0, FULL);
    assert!(o.writes.storage.is_empty());

    // lookup
    let o = run(130);
    let (v, buf) = result(&o);
    assert_eq!(v, code_of_dev.len() as u64);
    assert_eq!(buf, &code_of_dev[..BUF_LEN]);
    assert_eq!(result(&run(132)).0, NONE);
    assert!(panicked(&run(131)));

    // info
    let o = run(140);
    let (v, buf) = result(&o);
    assert_eq!(v, 96);
    let account = h.ex.state().account(140).unwrap().unwrap();
    assert_eq!(&buf[..32], &account.code_hash);
    assert_eq!(&buf[32..40], &(1u64 << 40).to_le_bytes());
    let threshold = 100 + 10 * u64::from(account.storage_items) + account.storage_bytes;
    assert_eq!(&buf[40..48], &threshold.to_le_bytes());
    assert_eq!(&buf[48..56], &account.min_item_gas.to_le_bytes());
    assert_eq!(&buf[56..64], &account.min_memo_gas.to_le_bytes());
    assert_eq!(&buf[64..72], &account.storage_bytes.to_le_bytes());
    assert_eq!(&buf[72..76], &account.storage_items.to_le_bytes());
    assert_eq!(&buf[76..84], &account.gratis_storage.to_le_bytes());
    assert_eq!(&buf[84..88], &account.created_slot.to_le_bytes());
    // As the run saw it; its commit then set the last-accumulation slot to the current one.
    assert_eq!(&buf[88..92], &0u32.to_le_bytes());
    assert_eq!(account.last_accumulation_slot, 7);
    assert_eq!(&buf[92..96], &account.parent.to_le_bytes());
    assert_eq!(result(&run(141)).0, NONE);
    assert!(panicked(&run(142)));
    let o = run(143);
    let (v, buf) = result(&o);
    assert_eq!(v, 96);
    let dev = h.ex.state().account(1).unwrap().unwrap();
    assert_eq!(
        &buf[..8],
        &dev.balance.to_le_bytes(),
        "another service, from offset 32"
    );

    // gas: what is left after paying for the call itself
    let o = run(150);
    let left = result(&o).0;
    assert!(left < 1_000_000 - 10 && left > 1_000_000 - 100, "{left}");

    // log
    let o = run(160);
    assert_eq!(result(&o).0, WHAT);
    assert_eq!(o.logs.len(), 1);
    assert_eq!(
        (o.logs[0].target.as_str(), o.logs[0].message.as_str()),
        ("key", "key")
    );
    let o = run(161);
    assert_eq!(result(&o).0, WHAT);
    assert!(o.logs.is_empty(), "a bad range logs nothing");

    // unimplemented accumulate functions answer WHAT
    assert_eq!(result(&run(170)).0, WHAT);

    // In refine only gas, fetch and log are available; the payload is fetch 13 at its index.
    assert_eq!(result(&h.refine(120)).0, WHAT, "write");
    assert_eq!(result(&h.refine(110)).0, WHAT, "read");
    assert_eq!(result(&h.refine(140)).0, WHAT, "info");
    assert_eq!(result(&h.refine(130)).0, WHAT, "lookup");
    assert_eq!(result(&h.refine(100)).0, constants.len() as u64);
}

/// A service with `heap_pages` pages of heap after its data.
fn big_service(id: u32, body: &str, heap_pages: u16) -> GenesisService {
    let mut s = service(id, body, 1 << 40);
    let (_, mut program) = StandardProgram::parse_service_code(&s.code).unwrap();
    program.heap_pages = heap_pages;
    s.code = program.to_service_code(b"t");
    s
}

#[test]
fn guests_cannot_make_the_host_work_or_allocate_without_bound() {
    const MIB: u64 = 1 << 20;
    let spec = ChainSpec::dev();
    let max_output = u64::from(spec.protocol.max_report_output);
    let services = vec![
        // `log` with ranges of almost 4 GiB, over and over: cheap to refuse, nothing logged.
        service(
            200,
            &format!(
                "load_imm r3, 1000\nfallthrough\nagain:\n{}add_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, again\n",
                call(100, &[0, KEY, 0xFFFF_0000, KEY, 0xFFFF_0000])
            ),
            1 << 40,
        ),
        // 1 MiB values written 70 times: the 8 MiB per-invocation budget answers FULL.
        big_service(
            201,
            &format!(
                "load_imm r3, 70\nfallthrough\nagain:\n{}add_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, again\n",
                call(4, &[KEY, 3, 0x22000, MIB])
            ),
            300,
        ),
        // Removing keys that do not exist records nothing.
        service(202, &call(4, &[KEY, 2, 0, 0]), 1 << 40),
        // Refine's entropy is the zero hash.
        service(203, &call(1, &[BUF, 0, 64, 1, 0]), 1 << 40),
        // An output longer than the chain's max_report_output.
        big_service(
            204,
            &format!("load_imm r7, {OUT}\nload_imm r8, {}\njump_ind r0, 0\n", max_output + 1),
            16,
        ),
    ];
    let h = Harness::new(services, Backend::Auto);

    let o = h.accumulate(200);
    assert_eq!(o.status, ExitStatus::Halt);
    assert_eq!(o.host_calls.get("log"), Some(&1000));
    assert!(o.logs.is_empty() && o.logs_dropped == 0);

    let o = h.accumulate(201);
    assert_eq!(result(&o).0, FULL, "the last write is refused");
    assert!(o.committed);
    assert_eq!(o.writes.storage.len(), 1);

    let o = h.accumulate(202);
    assert_eq!(result(&o).0, NONE);
    assert!(
        o.writes.storage.is_empty(),
        "nothing recorded: {:?}",
        o.writes
    );

    let o = h.refine(203);
    let (v, buf) = result(&o);
    assert_eq!((v, &buf[..32]), (32, &[0u8; 32][..]));

    let o = h.refine(204);
    assert_eq!(o.status, ExitStatus::OutputTooLarge);
    assert!(o.output.is_empty());
    let o = h.accumulate(204);
    assert_eq!(
        o.status,
        ExitStatus::Halt,
        "accumulate drops an oversized output"
    );
    assert!(o.output.is_empty());
}

#[test]
fn cached_code_still_needs_the_service_to_have_its_preimage() {
    let h = Harness::new(Vec::new(), Backend::Interpreter);
    let dev = h.ex.state().account(1).unwrap().unwrap();
    h.ex.update_state(|_| {
        let mut changes = kiln_state::Changes::default();
        changes.set_account(
            30,
            kiln_state::ServiceAccount {
                code_hash: dev.code_hash,
                balance: 1 << 40,
                ..Default::default()
            },
        );
        Ok((changes, ()))
    })
    .unwrap();
    assert_eq!(h.refine_payload(1).status, ExitStatus::Halt);
    let o = h.refine_payload(30);
    assert!(
        matches!(&o.status, ExitStatus::BadCode(why) if why.contains("not in its preimages")),
        "{o:?}"
    );
}

#[test]
fn a_time_limit_ends_runs_at_their_next_host_call() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::dev();
    let db = open_state(dir.path(), &spec).unwrap();
    let config = ExecutorConfig {
        time_limit: Some(std::time::Duration::ZERO),
        ..ExecutorConfig::default()
    };
    let ex = ServiceExecutor::new(Arc::new(db), Arc::new(spec), config);
    let request = AccumulateRequest {
        service: 1,
        slot: 1,
        gas: 1_000_000,
        operands: Vec::new(),
        entropy: [0; 32],
    };
    let o = ex.accumulate(&request, Mode::Commit).unwrap();
    assert_eq!(o.status, ExitStatus::TimeLimit);
    assert!(o.writes.is_empty() && !o.committed);
}
