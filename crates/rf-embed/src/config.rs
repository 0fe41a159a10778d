//! The encoder's shape, read from an HF BERT `config.json`.
use serde::Deserialize;

use crate::error::EmbedError;

/// The fields of an HF BERT `config.json` the encoder needs; the many others are ignored (they
/// concern training, which this crate does not do).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub hidden_act: String,
    #[serde(default = "absolute")]
    pub position_embedding_type: String,
}

fn absolute() -> String {
    "absolute".to_string()
}

impl BertConfig {
    /// Parses and checks a `config.json`.
    pub fn from_json(text: &str) -> Result<Self, EmbedError> {
        let config: BertConfig =
            serde_json::from_str(text).map_err(|e| EmbedError::Config(format!("config.json: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses what the encoder does not implement rather than computing something else.
    pub fn validate(&self) -> Result<(), EmbedError> {
        let bad = |msg: String| Err(EmbedError::Config(msg));
        if self.hidden_act != "gelu" {
            return bad(format!("hidden_act '{}' (only the exact erf \"gelu\" is implemented)", self.hidden_act));
        }
        if self.position_embedding_type != "absolute" {
            return bad(format!("position_embedding_type '{}' (only \"absolute\")", self.position_embedding_type));
        }
        let sizes = [self.vocab_size, self.hidden_size, self.num_hidden_layers, self.num_attention_heads];
        if sizes.contains(&0) || self.intermediate_size == 0 || self.max_position_embeddings == 0 || self.type_vocab_size == 0 {
            return bad("a size in config.json is zero".to_string());
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{"hidden_act": "gelu", "hidden_size": 384, "intermediate_size": 1536,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
        "num_attention_heads": 12, "num_hidden_layers": 6, "type_vocab_size": 2, "vocab_size": 30522,
        "position_embedding_type": "absolute", "use_cache": true}"#;

    #[test]
    fn minilm_config_reads() {
        let c = BertConfig::from_json(MINILM).unwrap();
        assert_eq!((c.hidden_size, c.head_dim(), c.num_hidden_layers), (384, 32, 6));
    }

    #[test]
    fn unimplemented_activation_is_refused() {
        let err = BertConfig::from_json(&MINILM.replace("\"gelu\"", "\"gelu_new\"")).unwrap_err();
        assert!(err.to_string().contains("gelu_new"), "{err}");
    }

    #[test]
    fn heads_must_divide_hidden_size() {
        let err = BertConfig::from_json(&MINILM.replace("\"num_attention_heads\": 12", "\"num_attention_heads\": 5")).unwrap_err();
        assert!(err.to_string().contains("multiple"), "{err}");
    }
}
