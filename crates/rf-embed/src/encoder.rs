//! Text in, unit vector out: WordPiece tokenisation, the BERT encoder, mean pooling over the
//! tokens and L2 normalisation (sentence-transformers' `Transformer → Pooling(mean) → Normalize`).
use std::path::Path;

use burn::tensor::Device;
use rf_engine::SafetensorsWeights;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::config::BertConfig;
use crate::cpu::{CpuBert, CpuWeights};
use crate::error::EmbedError;
use crate::model::BertModel;

/// Where the encoder computes.
#[derive(Debug, Clone)]
pub enum EncoderRuntime {
    /// rf-quant's CPU kernels (SIMD; threads natively; `simd128` in wasm): the default, with
    /// 8-bit weights.
    Cpu(CpuWeights),
    /// The burn module in f32 on a device: the reference the parity test pins, and a GPU path.
    Burn(Device),
}

impl Default for EncoderRuntime {
    fn default() -> Self {
        Self::Cpu(CpuWeights::default())
    }
}

enum Model {
    Cpu(CpuBert),
    Burn(Box<BertModel>),
}

/// An encoder's files in memory: what the browser hands over and what
/// [`SentenceEncoder::load_dir`] reads.
pub struct EncoderFiles {
    pub config_json: String,
    pub safetensors: Vec<u8>,
    pub tokenizer_json: Vec<u8>,
    /// Longer texts are cut to this many tokens, as sentence-transformers'
    /// `sentence_bert_config.json` says (`max_seq_length`).
    pub max_seq_length: usize,
}

/// `sentence_bert_config.json`.
#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
}

/// `1_Pooling/config.json`: only mean pooling is implemented.
#[derive(Deserialize)]
struct PoolingConfig {
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

/// A sentence-transformers model with mean pooling, ready to embed texts.
pub struct SentenceEncoder {
    model: Model,
    tokenizer: Tokenizer,
    config: BertConfig,
    fingerprint: String,
}

impl SentenceEncoder {
    /// Reads a sentence-transformers folder (`config.json`, `model.safetensors`,
    /// `tokenizer.json`, `sentence_bert_config.json`, `1_Pooling/config.json`).
    pub fn load_dir(dir: &Path, runtime: &EncoderRuntime) -> Result<Self, EmbedError> {
        let read = |name: &str| std::fs::read(dir.join(name)).map_err(|source| EmbedError::Io { path: dir.join(name).display().to_string(), source });
        let text = |name: &str| read(name).map(|b| String::from_utf8_lossy(&b).into_owned());
        let pooling: PoolingConfig = serde_json::from_str(&text("1_Pooling/config.json")?)
            .map_err(|e| EmbedError::Config(format!("1_Pooling/config.json: {e}")))?;
        let only_mean = pooling.pooling_mode_mean_tokens
            && !(pooling.pooling_mode_cls_token || pooling.pooling_mode_max_tokens || pooling.pooling_mode_mean_sqrt_len_tokens);
        if !only_mean {
            return Err(EmbedError::Config("1_Pooling/config.json asks for a pooling other than the mean of the tokens".into()));
        }
        let sbert: SentenceBertConfig = serde_json::from_str(&text("sentence_bert_config.json")?)
            .map_err(|e| EmbedError::Config(format!("sentence_bert_config.json: {e}")))?;
        let files = EncoderFiles {
            config_json: text("config.json")?,
            safetensors: read("model.safetensors")?,
            tokenizer_json: read("tokenizer.json")?,
            max_seq_length: sbert.max_seq_length,
        };
        Self::from_files(files, runtime)
    }

    /// Builds the encoder from files in memory.
    pub fn from_files(files: EncoderFiles, runtime: &EncoderRuntime) -> Result<Self, EmbedError> {
        let config = BertConfig::from_json(&files.config_json)?;
        if files.max_seq_length == 0 || files.max_seq_length > config.max_position_embeddings {
            return Err(EmbedError::Config(format!(
                "max_seq_length {} is outside 1..={} (max_position_embeddings)",
                files.max_seq_length, config.max_position_embeddings
            )));
        }
        let digest: String = Sha256::digest(&files.safetensors).iter().take(8).map(|b| format!("{b:02x}")).collect();
        let fingerprint = format!("bert-{}x{} cut{} sha256:{digest}", config.num_hidden_layers, config.hidden_size, files.max_seq_length);
        let weights = SafetensorsWeights::from_shards(vec![files.safetensors])?;
        let model = match runtime {
            EncoderRuntime::Cpu(precision) => Model::Cpu(CpuBert::load(&config, &weights, *precision)?),
            EncoderRuntime::Burn(device) => Model::Burn(Box::new(BertModel::load(&config, &weights, device)?)),
        };
        let mut tokenizer = Tokenizer::from_bytes(&files.tokenizer_json).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // tokenizer.json pads every text to 128 and cuts there; sentence-transformers pads a batch
        // to its longest text and cuts at max_seq_length. One text at a time needs no padding.
        tokenizer.with_padding(None);
        let truncation = TruncationParams { max_length: files.max_seq_length, ..TruncationParams::default() };
        tokenizer.with_truncation(Some(truncation)).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // An id past the embedding table would be an out-of-bounds gather on the device.
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > config.vocab_size {
            return Err(EmbedError::Config(format!("tokenizer.json has {vocab} tokens, the model's vocab_size is {}", config.vocab_size)));
        }
        Ok(Self { model, tokenizer, config, fingerprint })
    }

    /// Names these weights and the cut (`bert-6x384 cut256 sha256:<first 8 bytes of the
    /// weights>`): template vectors stored in a bundle record it, and a query embedded otherwise
    /// is refused.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Length of the vectors [`SentenceEncoder::embed`] returns.
    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    /// The token ids the encoder sees for `text` (with `[CLS]` and `[SEP]`, cut to the limit).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        if text.trim().is_empty() {
            return Err(EmbedError::EmptyText);
        }
        let encoding = self.tokenizer.encode(text, true).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The unit-length embedding of `text`.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let ids = self.token_ids(text)?;
        let mut v = match &self.model {
            Model::Cpu(model) => mean_of_rows(&model.forward(&ids, &rf_engine::quant_model::shared_compute())?, self.dim()),
            Model::Burn(model) => {
                let data = model.forward(&ids).mean_dim(1).try_into_data();
                let data = data.map_err(|e| EmbedError::Device(format!("reading the embedding back: {e:?}")))?;
                data.try_into_vec::<f32>().map_err(|e| EmbedError::Device(format!("embedding dtype: {e:?}")))?
            }
        };
        normalize(&mut v);
        Ok(v)
    }
}

/// The mean of the `dim`-long rows of `x`.
fn mean_of_rows(x: &[f32], dim: usize) -> Vec<f32> {
    let rows = x.len() / dim;
    let mut mean = vec![0f32; dim];
    for row in x.chunks_exact(dim) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= rows as f32);
    mean
}

/// Scales `v` to unit length (a zero vector stays zero, as `torch.nn.functional.normalize` does).
fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}
