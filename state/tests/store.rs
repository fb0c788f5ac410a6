//! The state store on a real RocksDB in a temporary directory: commits survive reopening,
//! overlays (dry-runs) change nothing on disk, snapshots are consistent under concurrent
//! commits, the wrong chain is refused, and a process killed in the middle of commits leaves a
//! consistent database.

use std::collections::BTreeMap;
use std::path::Path;

use kiln_state::{Changes, Overlay, ServiceAccount, StateDb, StateError, StateRead};

const CHAIN: [u8; 32] = [7; 32];

fn account(balance: u64) -> ServiceAccount {
    ServiceAccount {
        code_hash: [1; 32],
        balance,
        min_item_gas: 100,
        min_memo_gas: 10,
        storage_bytes: 0,
        storage_items: 0,
        ..ServiceAccount::default()
    }
}

#[test]
fn a_commit_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = StateDb::open(dir.path(), &CHAIN).unwrap();
        assert_eq!(db.account(1).unwrap(), None);
        let mut changes = Changes::default();
        changes.set_account(1, account(500));
        changes.set_preimage(1, [9; 32], b"code".to_vec());
        changes.set_storage(1, b"counter".to_vec(), Some(vec![3]));
        changes.set_storage(2, b"counter".to_vec(), Some(vec![4]));
        db.commit(&changes).unwrap();
        let mut removal = Changes::default();
        removal.set_storage(2, b"counter".to_vec(), None);
        db.commit(&removal).unwrap();
    }
    let db = StateDb::open(dir.path(), &CHAIN).unwrap();
    assert_eq!(db.account(1).unwrap(), Some(account(500)));
    assert_eq!(db.preimage(1, &[9; 32]).unwrap(), Some(b"code".to_vec()));
    // Preimages belong to a service, as in GP.
    assert_eq!(db.preimage(2, &[9; 32]).unwrap(), None);
    assert_eq!(db.storage(1, b"counter").unwrap(), Some(vec![3]));
    assert_eq!(db.storage(2, b"counter").unwrap(), None);
    // Service ids separate storage: the same key in another service is another item.
    assert_eq!(db.storage(3, b"counter").unwrap(), None);
}

#[test]
fn a_database_of_another_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(StateDb::open(dir.path(), &CHAIN).unwrap());
    let error = StateDb::open(dir.path(), &[8; 32]).unwrap_err();
    assert!(matches!(error, StateError::WrongChain { .. }), "{error}");
    assert!(error.to_string().contains("0707"), "{error}");
    // And one already open elsewhere in this process: RocksDB's lock, a clear error.
    let db = StateDb::open(dir.path(), &CHAIN).unwrap();
    let error = StateDb::open(dir.path(), &CHAIN).unwrap_err();
    assert!(error.to_string().contains("lock"), "{error}");
    drop(db);
}

/// Every file of the database but RocksDB's informational logs.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with("LOG"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_dry_run_sees_its_own_writes_and_leaves_the_database_byte_for_byte_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = StateDb::open(dir.path(), &CHAIN).unwrap();
    let mut genesis = Changes::default();
    genesis.set_account(1, account(1));
    genesis.set_storage(1, b"k".to_vec(), Some(b"v".to_vec()));
    db.commit(&genesis).unwrap();
    let before = contents(dir.path());
    {
        let snapshot = db.snapshot();
        let mut overlay = Overlay::new(&snapshot);
        overlay.set_storage(1, b"k", Some(b"changed".to_vec()));
        overlay.set_storage(1, b"new", Some(b"x".to_vec()));
        overlay.set_account(1, account(2));
        assert_eq!(overlay.storage(1, b"k").unwrap(), Some(b"changed".to_vec()));
        assert_eq!(overlay.storage(1, b"new").unwrap(), Some(b"x".to_vec()));
        assert_eq!(overlay.account(1).unwrap(), Some(account(2)));
        overlay.set_storage(1, b"k", None);
        assert_eq!(
            overlay.storage(1, b"k").unwrap(),
            None,
            "a removal shadows the base"
        );
        assert_eq!(db.storage(1, b"k").unwrap(), Some(b"v".to_vec()));
    }
    assert_eq!(contents(dir.path()), before);
}

#[test]
fn snapshots_stay_consistent_while_commits_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = StateDb::open(dir.path(), &CHAIN).unwrap();
    let pair = |n: u64| {
        let mut c = Changes::default();
        c.set_storage(1, b"a".to_vec(), Some(n.to_le_bytes().to_vec()));
        c.set_storage(1, b"b".to_vec(), Some(n.to_le_bytes().to_vec()));
        c
    };
    db.commit(&pair(0)).unwrap();
    let old = db.snapshot();
    db.commit(&pair(1)).unwrap();
    assert_eq!(
        old.storage(1, b"a").unwrap(),
        Some(0u64.to_le_bytes().to_vec())
    );
    assert_eq!(
        db.storage(1, b"a").unwrap(),
        Some(1u64.to_le_bytes().to_vec())
    );
    drop(old);
    // Readers on other threads always see both items of one commit.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..500 {
                    let view = db.snapshot();
                    assert_eq!(
                        view.storage(1, b"a").unwrap(),
                        view.storage(1, b"b").unwrap()
                    );
                }
            });
        }
        s.spawn(|| {
            for n in 2..200 {
                db.commit(&pair(n)).unwrap();
            }
        });
    });
}

/// The child side of the crash test: commits pairs forever, until killed.
fn commit_until_killed(path: &Path) -> ! {
    let db = StateDb::open(path, &CHAIN).unwrap();
    let mut n: u64 = db
        .storage(1, b"a")
        .unwrap()
        .map(|v| u64::from_le_bytes(v.try_into().unwrap()))
        .unwrap_or(0);
    loop {
        n += 1;
        let mut c = Changes::default();
        let value = n.to_le_bytes().to_vec();
        c.set_storage(1, b"a".to_vec(), Some(value.clone()));
        c.set_storage(1, b"b".to_vec(), Some(value.clone()));
        c.set_preimage(n as u32, [n as u8; 32], value);
        db.commit(&c).unwrap();
    }
}

#[test]
fn a_process_killed_in_the_middle_of_commits_leaves_a_consistent_database() {
    if let Ok(path) = std::env::var("KILN_STATE_CRASH_CHILD") {
        commit_until_killed(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut last = 0u64;
    for round in 0..20 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_process_killed_in_the_middle_of_commits_leaves_a_consistent_database",
                "--nocapture",
            ])
            .env("KILN_STATE_CRASH_CHILD", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30 + 7 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let db = StateDb::open(dir.path(), &CHAIN).unwrap();
        let a = db.storage(1, b"a").unwrap();
        let b = db.storage(1, b"b").unwrap();
        assert_eq!(a, b, "round {round}: a commit was torn");
        if let Some(a) = a {
            let n = u64::from_le_bytes(a.try_into().unwrap());
            assert!(
                n >= last,
                "round {round}: committed state went back ({n} < {last})"
            );
            assert_eq!(
                db.preimage(n as u32, &[n as u8; 32]).unwrap(),
                Some(n.to_le_bytes().to_vec())
            );
            last = n;
        }
    }
    assert!(last > 0, "the child never committed");
}
