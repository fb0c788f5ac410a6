//! The conformance runner: runs PVM test vectors on Kiln's backends and reports differences.

mod run;
mod vectors;

pub use kiln_pvm::Backend;
pub use run::{all_backends, run_case, CaseOutcome};
pub use vectors::{Case, Chunk, Expect, Format, Step, VectorError};

use std::path::{Path, PathBuf};

use kiln_pvm::Profile;

/// The profile a vector format implies when none is given.
pub fn default_profile(format: Format) -> Profile {
    match format {
        Format::W3f => Profile::JAM_07,
        Format::Steps | Format::BlockCosts => Profile::GAS_DRAFT,
    }
}

/// Every `.json` file under `paths` (files as given, directories recursively), sorted.
pub fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        let named =
            |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if path.is_dir() {
            walk(path, &mut out).map_err(named)?;
        } else {
            std::fs::metadata(path).map_err(named)?;
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Totals of a conformance run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Cases (× backends) that passed.
    pub passed: usize,
    /// Cases (× backends) that failed or could not be read.
    pub failed: usize,
}

/// Runs every vector file under `paths` on `backends`, writing one line per failure to `out`,
/// then the `N passed, M failed` line. `profile` overrides the format's default.
pub fn run_paths(
    paths: &[PathBuf],
    backends: &[Backend],
    profile: Option<Profile>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    for file in collect_files(paths)? {
        let case = match Case::load(&file) {
            Ok(case) => case,
            Err(e) => {
                writeln!(out, "FAIL {}: {e}", file.display())?;
                summary.failed += backends.len();
                continue;
            }
        };
        let profile = profile.unwrap_or_else(|| default_profile(case.format));
        for &backend in backends {
            match run_case(&case, profile, backend) {
                CaseOutcome::Passed => summary.passed += 1,
                CaseOutcome::Failed(diffs) => {
                    summary.failed += 1;
                    writeln!(
                        out,
                        "FAIL {} [{} {}]: {}",
                        file.display(),
                        backend.name(),
                        profile,
                        diffs.join("; ")
                    )?;
                }
            }
        }
    }
    writeln!(out, "{} passed, {} failed", summary.passed, summary.failed)?;
    Ok(summary)
}
