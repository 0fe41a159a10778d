//! Text ↔ token ids, from an HF `tokenizer.json` or from the tokenizer stored in GGUF metadata.
use serde_json::{Value, json};

use crate::error::{EngineError, Result};
use crate::gguf::{GgufFile, MetaValue};

/// GPT-2 style byte-level BPE split used by Qwen2 (llama.cpp pre-tokenizer "qwen2").
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama-3 style split (llama.cpp pre-tokenizer "llama-bpe").
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A loaded tokenizer.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
}

impl TextTokenizer {
    /// Loads an HF `tokenizer.json`.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| EngineError::Tokenizer(e.to_string()))?;
        Ok(Self { inner })
    }

    /// The tokenizer as HF `tokenizer.json` text (also for one rebuilt from GGUF metadata).
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_string(true).map_err(|e| EngineError::Tokenizer(e.to_string()))
    }

    /// Rebuilds the byte-level BPE tokenizer that a GGUF file carries in its metadata.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let model = file.metadata_str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(EngineError::Tokenizer(format!(
                "GGUF tokenizer model '{model}' is not supported (only byte-level BPE 'gpt2'); pass a tokenizer.json"
            )));
        }
        let strings = |key: &str| -> Result<Vec<String>> {
            file.metadata_array(key)?
                .iter()
                .map(|v| match v {
                    MetaValue::Str(s) => Ok(s.clone()),
                    _ => Err(EngineError::Tokenizer(format!("{key} holds a non-string"))),
                })
                .collect()
        };
        let tokens = strings("tokenizer.ggml.tokens")?;
        let merges = strings("tokenizer.ggml.merges")?;
        let types: Vec<i64> = match file.metadata_array("tokenizer.ggml.token_type") {
            Ok(items) => items
                .iter()
                .map(|v| match v {
                    MetaValue::Int(i) => *i,
                    MetaValue::UInt(u) => *u as i64,
                    _ => 1,
                })
                .collect(),
            Err(_) => vec![1; tokens.len()],
        };
        let pre = file.metadata_str("tokenizer.ggml.pre").unwrap_or("default");
        let json = gpt2_tokenizer_json(&tokens, &types, &merges, pre)?;
        Self::from_json_bytes(json.to_string().as_bytes())
    }

    /// Token ids of `text`; special tokens written in the text (e.g. `<|im_start|>`) map to their ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self.inner.encode(text, false).map_err(|e| EngineError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens included.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| EngineError::Tokenizer(e.to_string()))
    }

    /// The id of a token written exactly as `token`.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

fn gpt2_tokenizer_json(tokens: &[String], types: &[i64], merges: &[String], pre: &str) -> Result<Value> {
    let mut vocab = serde_json::Map::with_capacity(tokens.len());
    let mut added = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        vocab.insert(token.clone(), json!(id));
        // GGUF token types: 3 = control, 4 = user-defined; both are matched whole in text.
        let kind = types.get(id).copied().unwrap_or(1);
        if kind == 3 || kind == 4 {
            added.push(json!({
                "id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": kind == 3
            }));
        }
    }
    let merges: Vec<Value> = merges
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| json!([a, b]))
                .ok_or_else(|| EngineError::Tokenizer(format!("merge '{m}' has no space")))
        })
        .collect::<Result<_>>()?;
    let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": use_regex});
    let split = |pattern: &str| json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false});
    let (normalizer, pre_tokenizer) = match pre {
        "smollm" => (Value::Null, json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level(true)]})),
        "qwen2" => (json!({"type": "NFC"}), json!({"type": "Sequence", "pretokenizers": [split(QWEN2_SPLIT), byte_level(false)]})),
        "llama-bpe" | "llama3" => (Value::Null, json!({"type": "Sequence", "pretokenizers": [split(LLAMA3_SPLIT), byte_level(false)]})),
        _ => (Value::Null, byte_level(true)),
    };
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": merges
        }
    }))
}

/// One chat turn.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> Self {
        Self { role: role.to_string(), content: content.to_string() }
    }
}

/// Formats messages in ChatML (Qwen, SmolLM2), ending with the assistant header.
pub fn format_chatml(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str("<|im_start|>");
        out.push_str(&m.role);
        out.push('\n');
        out.push_str(&m.content);
        out.push_str("<|im_end|>\n");
    }
    out.push_str("<|im_start|>assistant\n");
    out
}
