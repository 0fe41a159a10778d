//! # rf-embed
//!
//! Sentence embeddings for dense template retrieval: a BERT encoder with mean pooling and L2
//! normalisation, as sentence-transformers computes them for all-MiniLM-L6-v2.
//!
//! - [`BertConfig`] mirrors HF `config.json` of a BERT checkpoint.
//! - [`BertModel`] is the encoder as a burn module, its fields named like the checkpoint's
//!   tensors (`embeddings.word_embeddings`, `encoder.layer.N.attention.self.query`, …), loaded
//!   from safetensors through [`rf_engine::WeightSource`].
//! - [`CpuBert`] is the same encoder in plain Rust on rf-quant's kernels, with f32 or 8-bit
//!   ([`CpuWeights`]) matrices: the default path ([`EncoderRuntime`]), natively and in wasm.
//! - [`SentenceEncoder`] adds the WordPiece tokenizer and pooling: [`SentenceEncoder::embed`]
//!   turns a text into a unit vector. It loads from a model folder natively
//!   ([`SentenceEncoder::load_dir`]) or from bytes ([`EncoderFiles`]), which is what the browser
//!   hands over.
//!
//! Every failure is an [`EmbedError`].
pub mod config;
pub mod cpu;
pub mod encoder;
pub mod error;
pub mod model;

pub use config::BertConfig;
pub use cpu::{CpuBert, CpuWeights};
pub use encoder::{EncoderFiles, EncoderRuntime, SentenceEncoder};
pub use error::EmbedError;
pub use model::BertModel;
