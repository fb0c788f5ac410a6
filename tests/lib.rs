//! Helpers shared by Kiln's cross-crate tests.

#![warn(missing_docs)]

use std::path::PathBuf;

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `../shared/conformance` beside the repository, if present.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/conformance");
    dir.is_dir().then_some(dir)
}
