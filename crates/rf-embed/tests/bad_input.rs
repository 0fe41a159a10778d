//! Bad encoder files and texts give typed errors, not panics.
use rf_embed::{CpuWeights, EmbedError, EncoderFiles, EncoderRuntime, SentenceEncoder};

const CONFIG: &str = r#"{"hidden_act": "gelu", "hidden_size": 8, "intermediate_size": 16, "layer_norm_eps": 1e-12,
    "max_position_embeddings": 16, "num_attention_heads": 2, "num_hidden_layers": 1, "type_vocab_size": 2, "vocab_size": 10}"#;

/// A safetensors file of zero-filled f32 tensors.
fn safetensors_of(tensors: &[(&str, &[usize])]) -> Vec<u8> {
    let (mut entries, mut offset) = (Vec::new(), 0);
    for (name, shape) in tensors {
        let bytes = shape.iter().product::<usize>() * 4;
        entries.push(format!(r#""{name}":{{"dtype":"F32","shape":{shape:?},"data_offsets":[{offset},{}]}}"#, offset + bytes));
        offset += bytes;
    }
    let header = format!("{{{}}}", entries.join(","));
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(std::iter::repeat_n(0u8, offset));
    out
}

/// A one-tensor safetensors file: enough to reach the weight checks.
fn safetensors_with(name: &str, shape: &[usize]) -> Vec<u8> {
    safetensors_of(&[(name, shape)])
}

fn files(safetensors: Vec<u8>, max_seq_length: usize) -> EncoderFiles {
    EncoderFiles { config_json: CONFIG.to_string(), safetensors, tokenizer_json: b"{}".to_vec(), max_seq_length }
}

fn load(files: EncoderFiles) -> EmbedError {
    match SentenceEncoder::from_files(files, &EncoderRuntime::default()) {
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
    let err = SentenceEncoder::load_dir(&dir, &EncoderRuntime::default()).err().expect("loaded");
    assert!(matches!(err, EmbedError::Io { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every tensor of `CONFIG` (hidden size 8), so loading reaches the weight format.
#[test]
fn eight_bit_weights_need_rows_of_whole_blocks() {
    let mut names: Vec<(String, Vec<usize>)> = vec![
        ("embeddings.word_embeddings.weight".into(), vec![10, 8]),
        ("embeddings.position_embeddings.weight".into(), vec![16, 8]),
        ("embeddings.token_type_embeddings.weight".into(), vec![2, 8]),
    ];
    let norm = |p: &str| [(format!("{p}.weight"), vec![8]), (format!("{p}.bias"), vec![8])];
    let linear = |p: &str, i: usize, o: usize| [(format!("{p}.weight"), vec![o, i]), (format!("{p}.bias"), vec![o])];
    names.extend(norm("embeddings.LayerNorm"));
    for p in ["query", "key", "value"] {
        names.extend(linear(&format!("encoder.layer.0.attention.self.{p}"), 8, 8));
    }
    names.extend(linear("encoder.layer.0.attention.output.dense", 8, 8));
    names.extend(norm("encoder.layer.0.attention.output.LayerNorm"));
    names.extend(linear("encoder.layer.0.intermediate.dense", 8, 16));
    names.extend(linear("encoder.layer.0.output.dense", 16, 8));
    names.extend(norm("encoder.layer.0.output.LayerNorm"));
    let tensors: Vec<(&str, &[usize])> = names.iter().map(|(n, s)| (n.as_str(), s.as_slice())).collect();
    let bytes = safetensors_of(&tensors);
    let err = SentenceEncoder::from_files(files(bytes.clone(), 16), &EncoderRuntime::Cpu(CpuWeights::Q8_0)).err().expect("loaded");
    assert!(matches!(err, EmbedError::Kernel(_)), "{err}");
    // The same weights in f32 load; the stub tokenizer is what stops them.
    let err = SentenceEncoder::from_files(files(bytes, 16), &EncoderRuntime::Cpu(CpuWeights::F32)).err().expect("loaded");
    assert!(matches!(err, EmbedError::Tokenizer(_)), "{err}");
}
