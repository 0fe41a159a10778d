//! The crate's one error type.
use thiserror::Error;

/// Everything that can go wrong loading an encoder or embedding a text.
#[derive(Debug, Error)]
pub enum EmbedError {
    #[error("I/O error reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid encoder config: {0}")]
    Config(String),
    #[error("encoder weights: {0}")]
    Weights(#[from] rf_engine::EngineError),
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    #[error("nothing to embed: the text is empty")]
    EmptyText,
    #[error("encoder matmul: {0}")]
    Kernel(#[from] rf_quant::QuantError),
    #[error("the compute device failed: {0}")]
    Device(String),
}
