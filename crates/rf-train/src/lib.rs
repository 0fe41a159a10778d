//! # rf-train
//!
//! Trains the ReasonFlux navigator on burn autodiff, natively.
//!
//! - [`data`] builds the datasets: structure-based examples ((name, tags) → (description,
//!   scope)) and navigator examples (problem → template trajectory in the planner's plan format),
//!   from an [`rf_templates::Library`], with a deterministic held-out split.
//! - [`loss`] has the per-sequence response log-probability, the causal-LM loss on response
//!   tokens and the DPO loss.
//! - [`trainer`] runs SFT and DPO with AdamW, warm-up + cosine schedule, gradient clipping,
//!   resumable checkpoints and a JSON-lines log; [`checkpoint`] writes HF-layout checkpoints
//!   (safetensors + config.json + tokenizer.json) that `rf-engine` and HF transformers load.
//! - [`pairs`] samples trajectories from a navigator, scores them with the planner and grader,
//!   and writes preference pairs resumably ([`pairs::PairsLog`]); [`dpo`] keeps the reference
//!   policy's log-probabilities across resumed runs and reports held-out preference accuracy;
//!   [`names`] measures the exact template-name hit rate.
//!
//! The model is [`rf_engine::Transformer`], loaded on an autodiff device.
pub mod checkpoint;
pub mod data;
pub mod dpo;
pub mod loss;
pub mod names;
pub mod pairs;
pub mod trainer;

use thiserror::Error;

/// Everything that can go wrong while training.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Engine(#[from] rf_engine::EngineError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("example {index} is unusable: {reason}")]
    BadExample { index: usize, reason: String },
    #[error("no training examples")]
    NoExamples,
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: String, message: String },
    #[error("{path} line {line}: {message}")]
    Record { path: String, line: usize, message: String },
}

pub type Result<T> = std::result::Result<T, TrainError>;

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io { path: path.display().to_string(), source }
}
