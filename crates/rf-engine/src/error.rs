//! The engine's one error type.
use thiserror::Error;

/// Everything that can go wrong while loading a model or generating text.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("I/O error reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed GGUF file: {0}")]
    Gguf(String),
    #[error("GGUF tensor '{name}' uses quantisation type {kind}, which this engine cannot dequantise")]
    UnsupportedQuant { name: String, kind: String },
    #[error("malformed safetensors data: {0}")]
    Safetensors(String),
    #[error("tensor '{name}' has dtype {dtype}, expected F32, F16 or BF16")]
    UnsupportedDtype { name: String, dtype: String },
    #[error("invalid model config: {0}")]
    Config(String),
    #[error("unsupported architecture '{0}' (supported: qwen2, llama)")]
    UnsupportedArchitecture(String),
    #[error("weight '{0}' is missing from the checkpoint")]
    MissingWeight(String),
    #[error("weight '{name}' has shape {actual:?}, but the config implies {expected:?}")]
    ShapeMismatch {
        name: String,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("no positions to score: logits asked from position {from} of a {len}-token sequence")]
    EmptyScoredRange { from: usize, len: usize },
    #[error("the prompt has {prompt_tokens} tokens but the context holds {context_len} (including {max_new_tokens} new tokens requested)")]
    PromptTooLong {
        prompt_tokens: usize,
        max_new_tokens: usize,
        context_len: usize,
    },
    #[error("token id {id} is outside the vocabulary of {vocab_size}")]
    TokenOutOfRange { id: u32, vocab_size: usize },
    #[error("the compute device failed: {0}")]
    Device(String),
    #[error("invalid sampling settings: {0}")]
    Sampling(String),
    #[error("weight '{name}': {source}")]
    Quant {
        name: String,
        #[source]
        source: rf_quant::QuantError,
    },
    #[error("quantized weights run on the CPU only (the wgpu kernels are not built yet): load with f32 weights on wgpu")]
    QuantizedNeedsCpu,
    #[error("this needs the f32 burn module (training, checkpoints): load the model with f32 weights")]
    NeedsF32Weights,
}

impl EngineError {
    /// A [`rf_quant::QuantError`] about the weight `name`.
    pub fn quant(name: &str, source: rf_quant::QuantError) -> Self {
        Self::Quant { name: name.to_string(), source }
    }

    /// The engine cannot serve another request after this (the compute device failed or was
    /// lost); every other error concerns only the request or the file that caused it.
    pub fn is_fatal(&self) -> bool {
        matches!(self, EngineError::Device(_))
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
