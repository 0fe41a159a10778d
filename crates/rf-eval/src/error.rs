//! Typed errors of the harness.

use std::path::PathBuf;

/// Everything that can go wrong while loading benchmarks, running an evaluation or reading
/// result files. Bad data is always reported as an error, never as a panic.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The benchmark name is not one of [`crate::BENCHMARKS`].
    #[error("unknown benchmark `{name}` (known: {known})")]
    UnknownBenchmark { name: String, known: String },

    /// The benchmark's data file is absent; `hint` says how to get it.
    #[error("data file for benchmark `{benchmark}` not found at {path}: {hint}")]
    MissingFile { benchmark: String, path: PathBuf, hint: String },

    /// An I/O error on `path`.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A line of a JSONL file (benchmark data or evaluation records) could not be used.
    /// `line` is 1-based.
    #[error("{path}:{line}: {message}")]
    Malformed { path: PathBuf, line: usize, message: String },

    /// An evaluation set names a problem its benchmark does not have.
    #[error("evaluation set of `{benchmark}` lists id `{id}`, which the benchmark data does not have")]
    SetMismatch { benchmark: String, id: String },

    /// A record could not be serialised.
    #[error("cannot serialise: {0}")]
    Serialize(#[from] serde_json::Error),
}

impl EvalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EvalError::Io { path: path.into(), source }
    }

    pub(crate) fn malformed(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        EvalError::Malformed { path: path.into(), line, message: message.into() }
    }
}
