//! Bad encoder files and texts give typed errors, not panics.
use rf_embed::{EmbedError, EncoderFiles, SentenceEncoder};

const CONFIG: &str = r#"{"hidden_act": "gelu", "hidden_size": 8, "intermediate_size": 16, "layer_norm_eps": 1e-12,
    "max_position_embeddings": 16, "num_attention_heads": 2, "num_hidden_layers": 1, "type_vocab_size": 2, "vocab_size": 10}"#;

/// A one-tensor safetensors file: enough to reach the weight checks.
fn safetensors_with(name: &str, shape: &[usize]) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let header = format!(r#"{{"{name}":{{"dtype":"F32","shape":{shape:?},"data_offsets":[0,{}]}}}}"#, n * 4);
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(std::iter::repeat_n(0u8, n * 4));
    out
}

fn files(safetensors: Vec<u8>, max_seq_length: usize) -> EncoderFiles {
    EncoderFiles { config_json: CONFIG.to_string(), safetensors, tokenizer_json: b"{}".to_vec(), max_seq_length }
}

fn load(files: EncoderFiles) -> EmbedError {
    match SentenceEncoder::from_files(files, &rf_engine::Device::flex()) {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    }
}

#[test]
fn a_missing_weight_is_named() {
    let err = load(files(safetensors_with("embeddings.word_embeddings.weight", &[10, 8]), 16));
    assert!(err.to_string().contains("embeddings.position_embeddings.weight"), "{err}");
}

#[test]
fn a_weight_of_the_wrong_shape_is_named() {
    let err = load(files(safetensors_with("embeddings.word_embeddings.weight", &[10, 9]), 16));
    assert!(err.to_string().contains("[10, 9]"), "{err}");
}

#[test]
fn truncated_safetensors_is_an_error() {
    let mut bytes = safetensors_with("embeddings.word_embeddings.weight", &[10, 8]);
    bytes.truncate(bytes.len() - 7);
    assert!(matches!(load(files(bytes, 16)), EmbedError::Weights(_)));
}

#[test]
fn a_cut_longer_than_the_positions_is_refused() {
    let err = load(files(safetensors_with("x", &[1]), 17));
    assert!(matches!(err, EmbedError::Config(_)), "{err}");
}

#[test]
fn a_folder_without_files_names_the_file() {
    let dir = std::env::temp_dir().join(format!("rf-embed-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = SentenceEncoder::load_dir(&dir, &rf_engine::Device::flex()).err().expect("loaded");
    assert!(matches!(err, EmbedError::Io { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
