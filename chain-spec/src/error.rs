//! [`SpecError`]: why a chain spec could not be loaded, naming the file and the field.

use std::path::{Path, PathBuf};

/// Why a chain spec could not be read, parsed or validated.
///
/// Every message names what to fix: the file (when the spec came from one), the field as a JSON
/// path such as `genesis.services[1].id`, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// [`ChainSpec::load`](crate::ChainSpec::load) was given a name that is neither a built-in
    /// spec nor a readable file.
    #[error(
        "cannot read chain spec `{}` (it is not a built-in spec: {}): {source}",
        path.display(),
        crate::BUILTIN_IDS.join(", ")
    )]
    Read {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A field is malformed (bad JSON, wrong type, bad hex, unknown field) or invalid (a zero
    /// count, a duplicate service id, oversize code, a missing code file, ...).
    #[error("{}{field}: {message}", in_file(file.as_deref()))]
    Field {
        /// The spec file, when the spec was loaded from one.
        file: Option<PathBuf>,
        /// The JSON path of the field, e.g. `protocol.num_cores` or `genesis.services[0].code`;
        /// `(document)` when the JSON as a whole is at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

fn in_file(file: Option<&Path>) -> String {
    match file {
        Some(path) => format!("{}: ", path.display()),
        None => String::new(),
    }
}

impl SpecError {
    /// An error in `field` (a JSON path) with no file yet.
    pub(crate) fn at(field: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError::Field {
            file: None,
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, attributed to the spec file `path`.
    pub(crate) fn in_file(self, path: &Path) -> Self {
        match self {
            SpecError::Field { field, message, .. } => SpecError::Field {
                file: Some(path.to_path_buf()),
                field,
                message,
            },
            other => other,
        }
    }

    /// The JSON path of the offending field (`None` for [`SpecError::Read`]).
    pub fn field(&self) -> Option<&str> {
        match self {
            SpecError::Field { field, .. } => Some(field),
            SpecError::Read { .. } => None,
        }
    }
}
