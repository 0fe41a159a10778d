//! # rf-engine
//!
//! Runs small Qwen2 and Llama checkpoints on burn, natively (CPU or wgpu) and in the browser.
//!
//! - [`ModelConfig`] mirrors HF `config.json` or is read from GGUF metadata.
//! - Weights come from a [`WeightSource`]: [`GgufWeights`] ([`gguf`], memory-mapped natively) or
//!   [`SafetensorsWeights`] (single file or shards; f32, f16, bf16), both read under HF names,
//!   as stored ([`rf_quant::QuantMatrix`]) or dequantised to f32.
//! - Two decoders, chosen by [`WeightFormat`] ([`Decoder`]): [`QuantTransformer`] keeps GGUF
//!   blocks and runs the integer-dot CPU kernels of `rf-quant` with a KV cache written in place
//!   (the default on the CPU, natively and in wasm); [`Transformer`] is the f32 burn module
//!   (the reference, the trainable model, and the wgpu path). [`TextTokenizer`] maps text to ids.
//! - [`LocalModel`] bundles decoder and tokenizer; [`generate()`] runs sampling, stop
//!   conditions, streaming and cancellation on top.
//!
//! (llama.cpp's own arithmetic, for comparing with it token for token, lives in the test-only
//! crate `rf-llamacpp-ref`.)
//!
//! Every failure on the load and generation paths is an [`EngineError`].
pub mod config;
pub mod decoder;
pub mod error;
pub mod generate;
pub mod gguf;
mod load;
pub mod model;
pub mod quant_model;
pub mod tokenizer;
pub mod weights;

pub use config::{Architecture, ModelConfig};
pub use decoder::{Decoder, WeightFormat};
pub use error::{EngineError, Result};
pub use generate::{
    DecodeSession, FinishReason, Generation, GenerationConfig, MIN_NEW_TOKENS, SamplingConfig, Step, TokenEvent, fit_new_tokens, generate,
};
pub use gguf::GgufFile;
pub use load::{DeviceChoice, LoadOptions, LocalModel, ModelFiles};
#[cfg(not(target_arch = "wasm32"))]
pub use load::init_device;
pub use model::Transformer;
pub use quant_model::{KvCacheDtype, QuantTransformer};
pub use tokenizer::{ChatMessage, TextTokenizer, format_chatml};
pub use weights::{GgufWeights, HostTensor, SafetensorsWeights, WeightSource};

/// The burn device type, re-exported so callers need not depend on burn directly.
pub use burn::tensor::Device;
