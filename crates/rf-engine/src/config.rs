//! Model hyper-parameters, read from HF `config.json` or GGUF metadata.
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::gguf::GgufFile;

/// The decoder families this engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Qwen2 / Qwen2.5: biased q/k/v projections.
    Qwen2,
    /// Llama family (SmolLM2): no attention biases.
    Llama,
}

/// Mirror of the fields of HF `config.json` that the forward pass needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// `model_type` in config.json.
    #[serde(rename = "model_type")]
    pub architecture: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    #[serde(default = "default_rms_eps")]
    pub rms_norm_eps: f64,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
    /// Llama checkpoints may declare q/k/v biases; Qwen2 always has them.
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    #[serde(default)]
    pub eos_token_id: Option<EosTokenIds>,
}

/// `eos_token_id` is a number in most configs and a list in some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EosTokenIds {
    One(u32),
    Many(Vec<u32>),
}

fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_rms_eps() -> f64 {
    1e-6
}
fn default_max_positions() -> usize {
    4096
}

impl ModelConfig {
    /// Parses HF `config.json` text and checks it.
    pub fn from_hf_json(text: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| EngineError::Config(format!("config.json: {e}")))?;
        let model_type = value.get("model_type").and_then(|v| v.as_str()).unwrap_or("");
        if !matches!(model_type, "qwen2" | "llama") {
            return Err(EngineError::UnsupportedArchitecture(model_type.to_string()));
        }
        // transformers ≥ 5 writes `rope_parameters.rope_theta` instead of a top-level `rope_theta`.
        let mut value = value;
        if value.get("rope_theta").is_none() {
            if let Some(theta) = value.pointer("/rope_parameters/rope_theta").cloned() {
                value["rope_theta"] = theta;
            }
        }
        let config: ModelConfig = serde_json::from_value(value)
            .map_err(|e| EngineError::Config(format!("config.json: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads the hyper-parameters from GGUF metadata (`general.architecture` and `<arch>.*` keys).
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let arch_name = file.metadata_str("general.architecture")?;
        let architecture = match arch_name {
            "qwen2" => Architecture::Qwen2,
            "llama" => Architecture::Llama,
            other => return Err(EngineError::UnsupportedArchitecture(other.to_string())),
        };
        let key = |k: &str| format!("{arch_name}.{k}");
        let hidden_size = file.metadata_usize(&key("embedding_length"))?;
        let num_attention_heads = file.metadata_usize(&key("attention.head_count"))?;
        let num_key_value_heads = file
            .metadata_usize(&key("attention.head_count_kv"))
            .unwrap_or(num_attention_heads);
        let vocab_size = match file.metadata_usize(&key("vocab_size")) {
            Ok(v) => v,
            Err(_) => file.metadata_array_len("tokenizer.ggml.tokens")?,
        };
        let config = ModelConfig {
            architecture,
            vocab_size,
            hidden_size,
            intermediate_size: file.metadata_usize(&key("feed_forward_length"))?,
            num_hidden_layers: file.metadata_usize(&key("block_count"))?,
            num_attention_heads,
            num_key_value_heads: Some(num_key_value_heads),
            head_dim: file.metadata_usize(&key("attention.key_length")).ok(),
            rope_theta: file.metadata_f64(&key("rope.freq_base")).unwrap_or(10_000.0),
            rms_norm_eps: file.metadata_f64(&key("attention.layer_norm_rms_epsilon"))?,
            tie_word_embeddings: !file.has_tensor("output.weight"),
            max_position_embeddings: file.metadata_usize(&key("context_length")).unwrap_or(4096),
            attention_bias: architecture == Architecture::Qwen2,
            bos_token_id: file.metadata_usize("tokenizer.ggml.bos_token_id").ok().map(|v| v as u32),
            eos_token_id: file
                .metadata_usize("tokenizer.ggml.eos_token_id")
                .ok()
                .map(|v| EosTokenIds::One(v as u32)),
        };
        config.validate()?;
        Ok(config)
    }

    /// HF `config.json` text for a checkpoint of this model in f32, readable by
    /// [`Self::from_hf_json`] and by HF transformers (`LlamaForCausalLM` / `Qwen2ForCausalLM`).
    pub fn to_hf_json(&self) -> String {
        let (arch, model_type) = match self.architecture {
            Architecture::Qwen2 => ("Qwen2ForCausalLM", "qwen2"),
            Architecture::Llama => ("LlamaForCausalLM", "llama"),
        };
        let mut v = serde_json::json!({
            "architectures": [arch],
            "model_type": model_type,
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.kv_heads(),
            "head_dim": self.head_dim(),
            "hidden_act": "silu",
            "rope_theta": self.rope_theta,
            "rms_norm_eps": self.rms_norm_eps,
            "tie_word_embeddings": self.tie_word_embeddings,
            "max_position_embeddings": self.max_position_embeddings,
            "torch_dtype": "float32",
        });
        if self.architecture == Architecture::Llama {
            v["attention_bias"] = self.attention_bias.into();
            v["mlp_bias"] = false.into();
        }
        if let Some(id) = self.bos_token_id {
            v["bos_token_id"] = id.into();
        }
        if let Some(eos) = &self.eos_token_id {
            v["eos_token_id"] = serde_json::to_value(eos).unwrap_or_default();
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// Number of key/value heads (grouped-query attention).
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Whether q/k/v projections carry a bias.
    pub fn has_qkv_bias(&self) -> bool {
        self.architecture == Architecture::Qwen2 || self.attention_bias
    }

    /// End-of-sequence ids declared by the config.
    pub fn eos_ids(&self) -> Vec<u32> {
        match &self.eos_token_id {
            Some(EosTokenIds::One(id)) => vec![*id],
            Some(EosTokenIds::Many(ids)) => ids.clone(),
            None => Vec::new(),
        }
    }

    fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(EngineError::Config(m));
        if self.vocab_size == 0 || self.hidden_size == 0 || self.num_hidden_layers == 0 {
            return fail("vocab_size, hidden_size and num_hidden_layers must be positive".into());
        }
        if self.num_attention_heads == 0 || self.kv_heads() == 0 {
            return fail("head counts must be positive".into());
        }
        if self.num_attention_heads % self.kv_heads() != 0 {
            return fail(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads,
                self.kv_heads()
            ));
        }
        if self.head_dim() == 0 || self.head_dim() % 2 != 0 {
            return fail(format!("head_dim {} must be even and positive", self.head_dim()));
        }
        if self.intermediate_size == 0 {
            return fail("intermediate_size must be positive".into());
        }
        if !(self.rms_norm_eps > 0.0) || !(self.rope_theta > 0.0) {
            return fail("rms_norm_eps and rope_theta must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#""model_type":"qwen2","vocab_size":16,"hidden_size":8,"intermediate_size":16,
        "num_hidden_layers":1,"num_attention_heads":2"#;

    #[test]
    fn hf_json_round_trips() {
        let c = ModelConfig::from_hf_json(&format!(r#"{{{BASE},"num_key_value_heads":1,"tie_word_embeddings":true,"eos_token_id":[3,4]}}"#)).unwrap();
        assert_eq!(ModelConfig::from_hf_json(&c.to_hf_json()).unwrap(), ModelConfig { head_dim: Some(4), ..c });
    }

    #[test]
    fn rope_theta_is_read_from_rope_parameters_when_not_top_level() {
        let c = ModelConfig::from_hf_json(&format!(r#"{{{BASE},"rope_parameters":{{"rope_theta":1000000.0}}}}"#)).unwrap();
        assert_eq!(c.rope_theta, 1e6);
        let c = ModelConfig::from_hf_json(&format!(r#"{{{BASE},"rope_theta":5.0,"rope_parameters":{{"rope_theta":7.0}}}}"#)).unwrap();
        assert_eq!(c.rope_theta, 5.0);
        let c = ModelConfig::from_hf_json(&format!("{{{BASE}}}")).unwrap();
        assert_eq!(c.rope_theta, 10_000.0);
    }
}
