//! Putting a model together: device choice, weights, config and tokenizer, from files or bytes.
use std::ops::ControlFlow;

use burn::tensor::Device;

use crate::config::ModelConfig;
use crate::decoder::{Decoder, WeightFormat};
use crate::error::{EngineError, Result};
use crate::generate::{Generation, GenerationConfig, TokenEvent, generate};
use crate::gguf::GgufFile;
use crate::model::Transformer;
use crate::quant_model::{KvCacheDtype, QuantTransformer, shared_compute};
use crate::tokenizer::{ChatMessage, TextTokenizer, format_chatml};
use crate::weights::{GgufWeights, SafetensorsWeights, WeightSource};

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// burn's pure-Rust CPU backend (flex); also the browser fallback.
    Cpu,
    /// wgpu: Vulkan/Metal natively, WebGPU in the browser.
    Wgpu,
}

/// Creates the burn device; a missing GPU adapter is an error, not a panic.
#[cfg(not(target_arch = "wasm32"))]
pub fn init_device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::flex()),
        DeviceChoice::Wgpu => {
            #[cfg(target_os = "linux")]
            let options = Device::wgpu_options().graphics_api(burn::tensor::wgpu::WgpuBackend::Vulkan);
            #[cfg(not(target_os = "linux"))]
            let options = Device::wgpu_options();
            options.init().map_err(|e| EngineError::Device(format!("no usable wgpu adapter: {e}")))
        }
    }
}

/// How a model is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Prompt plus generated tokens; sizes the KV cache.
    pub context_len: usize,
    /// Quantized CPU kernels (the burn device is then unused) or the f32 burn module.
    pub weights: WeightFormat,
    /// Element type of the quantized decoder's KV cache (the f32 module's is always f32).
    pub kv_cache: KvCacheDtype,
}

impl LoadOptions {
    /// Quantized weights and an f32 KV cache for `context_len` positions.
    pub fn new(context_len: usize) -> Self {
        Self { context_len, weights: WeightFormat::Quant, kv_cache: KvCacheDtype::F32 }
    }

    pub fn weights(self, weights: WeightFormat) -> Self {
        Self { weights, ..self }
    }

    pub fn kv_cache(self, kv_cache: KvCacheDtype) -> Self {
        Self { kv_cache, ..self }
    }
}

/// The files of a model in memory: what the browser hands over, and what [`LocalModel::load_path`] reads.
pub enum ModelFiles {
    /// A GGUF file; the tokenizer comes from its metadata unless a tokenizer.json is given.
    Gguf { gguf: Vec<u8>, tokenizer_json: Option<Vec<u8>> },
    /// An HF checkpoint: config.json text, one or more safetensors shards, tokenizer.json.
    HuggingFace { config_json: String, shards: Vec<Vec<u8>>, tokenizer_json: Vec<u8> },
}

/// A model ready to generate: its decoder plus its tokenizer.
pub struct LocalModel {
    pub model: Decoder,
    pub tokenizer: TextTokenizer,
}

/// Builds the decoder `options` ask for from a weight source.
fn build(config: &ModelConfig, weights: &dyn WeightSource, device: &Device, options: &LoadOptions) -> Result<Decoder> {
    Ok(match options.weights {
        WeightFormat::Quant => {
            Decoder::Quant(QuantTransformer::load(config, weights, options.context_len, options.kv_cache, shared_compute())?)
        }
        WeightFormat::F32 => Decoder::F32(Transformer::load(config, weights, options.context_len, device)?),
    })
}

impl LocalModel {
    /// Loads from in-memory files.
    pub fn from_files(files: ModelFiles, device: &Device, options: &LoadOptions) -> Result<Self> {
        match files {
            ModelFiles::Gguf { gguf, tokenizer_json } => Self::from_gguf(GgufFile::parse(gguf)?, tokenizer_json, device, options),
            ModelFiles::HuggingFace { config_json, shards, tokenizer_json } => {
                let config = ModelConfig::from_hf_json(&config_json)?;
                let weights = SafetensorsWeights::from_shards(shards)?;
                let model = build(&config, &weights, device, options)?;
                Ok(Self { model, tokenizer: TextTokenizer::from_json_bytes(&tokenizer_json)? })
            }
        }
    }

    /// Loads from a parsed GGUF file; the tokenizer comes from its metadata unless given.
    pub fn from_gguf(file: GgufFile, tokenizer_json: Option<Vec<u8>>, device: &Device, options: &LoadOptions) -> Result<Self> {
        let config = ModelConfig::from_gguf(&file)?;
        let tokenizer = match tokenizer_json {
            Some(json) => TextTokenizer::from_json_bytes(&json)?,
            None => TextTokenizer::from_gguf(&file)?,
        };
        let weights = GgufWeights::new(file, &config);
        Ok(Self { model: build(&config, &weights, device, options)?, tokenizer })
    }

    /// Loads a `.gguf` file (memory-mapped) or an HF folder (config.json, model.safetensors or
    /// model.safetensors.index.json with shards, tokenizer.json). `tokenizer` overrides the
    /// tokenizer file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_path(path: &std::path::Path, tokenizer: Option<&std::path::Path>, device: &Device, options: &LoadOptions) -> Result<Self> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|source| EngineError::Io { path: p.display().to_string(), source })
        };
        let tokenizer_json = tokenizer.map(read).transpose()?;
        let files = if path.is_dir() {
            let config_json = String::from_utf8(read(&path.join("config.json"))?)
                .map_err(|_| EngineError::Config("config.json is not UTF-8".into()))?;
            let index = path.join("model.safetensors.index.json");
            let shards = if index.exists() {
                let index_json = String::from_utf8(read(&index)?)
                    .map_err(|_| EngineError::Safetensors("index.json is not UTF-8".into()))?;
                SafetensorsWeights::shard_files(&index_json)?
                    .iter()
                    .map(|f| read(&path.join(f)))
                    .collect::<Result<Vec<_>>>()?
            } else {
                vec![read(&path.join("model.safetensors"))?]
            };
            let tokenizer_json = match tokenizer_json {
                Some(t) => t,
                None => read(&path.join("tokenizer.json"))?,
            };
            ModelFiles::HuggingFace { config_json, shards, tokenizer_json }
        } else {
            return Self::from_gguf(GgufFile::open(path)?, tokenizer_json, device, options);
        };
        Self::from_files(files, device, options)
    }

    /// Token ids that end a turn: the config's EOS plus ChatML's `<|im_end|>` and `<|endoftext|>`.
    pub fn stop_tokens(&self) -> Vec<u32> {
        let mut ids = self.model.config().eos_ids();
        for t in ["<|im_end|>", "<|endoftext|>"] {
            if let Some(id) = self.tokenizer.token_id(t) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Tokenises a ChatML conversation ending with the assistant header.
    pub fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        self.tokenizer.encode(&format_chatml(messages))
    }

    /// Generates from raw prompt text; the model's stop tokens are added to `cfg`'s.
    pub fn generate_text(
        &mut self,
        prompt: &str,
        cfg: &GenerationConfig,
        on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
    ) -> Result<Generation> {
        if prompt.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let ids = self.tokenizer.encode(prompt)?;
        self.generate_ids(&ids, cfg, on_token)
    }

    /// Generates from token ids; the model's stop tokens are added to `cfg`'s.
    pub fn generate_ids(
        &mut self,
        ids: &[u32],
        cfg: &GenerationConfig,
        on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
    ) -> Result<Generation> {
        let mut cfg = cfg.clone();
        cfg.stop_tokens.extend(self.stop_tokens());
        generate(&mut self.model, &self.tokenizer, ids, &cfg, on_token)
    }
}
