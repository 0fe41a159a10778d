//! Malformed inputs must give typed errors, never panics.
mod common;

use common::GgufBuilder;
use rf_engine::{Device, EngineError, GgufFile, LoadOptions, LocalModel, ModelConfig, ModelFiles, WeightFormat};

/// A structurally valid llama GGUF with one layer of hidden size 8 (weights all 0.01).
fn tiny_llama_gguf(hidden: usize, shape_override: Option<(&str, Vec<usize>)>) -> Vec<u8> {
    let (vocab, ff, heads) = (16usize, 16usize, 2u32);
    let mut b = GgufBuilder::new()
        .string("general.architecture", "llama")
        .u32("llama.embedding_length", hidden as u32)
        .u32("llama.feed_forward_length", ff as u32)
        .u32("llama.block_count", 1)
        .u32("llama.attention.head_count", heads)
        .u32("llama.attention.head_count_kv", heads)
        .u32("llama.vocab_size", vocab as u32)
        .u32("llama.context_length", 64)
        .f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
        .f32("llama.rope.freq_base", 10000.0);
    let tensors: Vec<(&str, Vec<usize>)> = vec![
        ("token_embd.weight", vec![vocab, hidden]),
        ("output_norm.weight", vec![hidden]),
        ("blk.0.attn_norm.weight", vec![hidden]),
        ("blk.0.ffn_norm.weight", vec![hidden]),
        ("blk.0.attn_q.weight", vec![hidden, hidden]),
        ("blk.0.attn_k.weight", vec![hidden, hidden]),
        ("blk.0.attn_v.weight", vec![hidden, hidden]),
        ("blk.0.attn_output.weight", vec![hidden, hidden]),
        ("blk.0.ffn_gate.weight", vec![ff, hidden]),
        ("blk.0.ffn_up.weight", vec![ff, hidden]),
        ("blk.0.ffn_down.weight", vec![hidden, ff]),
    ];
    for (name, shape) in tensors {
        let shape = match &shape_override {
            Some((n, s)) if *n == name => s.clone(),
            _ => shape,
        };
        let n: usize = shape.iter().product();
        b = b.tensor_f32(name, &shape, &vec![0.01; n]);
    }
    b.build()
}

fn load_gguf(bytes: Vec<u8>) -> Result<LocalModel, EngineError> {
    load_gguf_as(bytes, WeightFormat::Quant)
}

fn load_gguf_as(bytes: Vec<u8>, weights: WeightFormat) -> Result<LocalModel, EngineError> {
    // The tokenizer is irrelevant to these checks: give a trivial valid one.
    let tokenizer = br#"{"version":"1.0","model":{"type":"WordLevel","vocab":{"a":0,"b":1,"[UNK]":2},"unk_token":"[UNK]"}}"#;
    LocalModel::from_files(
        ModelFiles::Gguf { gguf: bytes, tokenizer_json: Some(tokenizer.to_vec()) },
        &Device::flex(),
        &LoadOptions::new(64).weights(weights),
    )
}

#[test]
fn valid_tiny_gguf_loads_and_runs_on_both_decoders() {
    let mut quant = load_gguf(tiny_llama_gguf(8, None)).expect("tiny model loads");
    let mut reference = load_gguf_as(tiny_llama_gguf(8, None), WeightFormat::F32).expect("tiny model loads");
    let logits = quant.model.forward_host(&[1, 2, 3], true).unwrap();
    assert_eq!(logits.len(), 3);
    assert_eq!(logits[0].len(), 16);
    assert!(logits.iter().flatten().all(|v| v.is_finite()));
    // f32 weights stay f32 in both decoders: the same function to rounding.
    let expected = reference.model.forward_host(&[1, 2, 3], true).unwrap();
    for (a, b) in logits.iter().flatten().zip(expected.iter().flatten()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

/// A one-layer GGUF like [`tiny_llama_gguf`] whose `attn_q` is stored as `ggml_type` bytes.
fn tiny_gguf_with_raw_q(shape: &[usize], ggml_type: u32, bytes: &[u8]) -> Vec<u8> {
    let full = tiny_llama_gguf(8, Some(("blk.0.attn_q.weight", vec![1])));
    let file = GgufFile::parse(full).unwrap();
    let mut b = GgufBuilder::new()
        .string("general.architecture", "llama")
        .u32("llama.embedding_length", 8)
        .u32("llama.feed_forward_length", 16)
        .u32("llama.block_count", 1)
        .u32("llama.attention.head_count", 2)
        .u32("llama.attention.head_count_kv", 2)
        .u32("llama.vocab_size", 16)
        .u32("llama.context_length", 64)
        .f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
        .f32("llama.rope.freq_base", 10000.0);
    for (name, info) in &file.tensors {
        if name == "blk.0.attn_q.weight" {
            b = b.tensor_raw(name, shape, ggml_type, bytes);
        } else {
            b = b.tensor_f32(name, &info.shape, &file.tensor_f32(name).unwrap().data);
        }
    }
    b.build()
}

#[test]
fn quantized_rows_that_are_not_whole_blocks_are_a_typed_error() {
    // [2, 32] Q8_0 values are two whole blocks in the file, but a row of the 8-wide model's
    // attn_q cannot be: the shape is checked against the config, the blocks against the shape.
    let bytes = vec![0u8; 2 * 34];
    let err = load_gguf(tiny_gguf_with_raw_q(&[2, 32], 8, &bytes)).err().expect("must fail");
    assert!(matches!(err, EngineError::ShapeMismatch { .. }), "{err}");
    let err = load_gguf(tiny_gguf_with_raw_q(&[8, 8], 8, &bytes)).err().expect("must fail");
    assert!(matches!(err, EngineError::Quant { source: rf_quant::QuantError::NotWholeBlocks { .. }, .. }), "{err}");
}

#[test]
fn truncated_block_data_is_a_typed_error() {
    // One Q4_K super-block (144 bytes) declared, 100 present at the end of the file.
    let full = tiny_gguf_with_raw_q(&[1, 256], 12, &[0u8; 144]);
    let err = GgufFile::parse(full[..full.len() - 44].to_vec()).err().expect("must fail");
    assert!(matches!(err, EngineError::Gguf(ref m) if m.contains("truncated")), "{err}");
}

#[test]
fn unknown_block_format_is_a_typed_error() {
    let err = load_gguf(tiny_gguf_with_raw_q(&[8, 8], 99, &[0u8; 64])).err().expect("must fail");
    assert!(matches!(err, EngineError::UnsupportedQuant { .. }), "{err}");
}

#[test]
fn truncated_gguf_is_a_typed_error_at_every_cut() {
    let full = tiny_llama_gguf(8, None);
    for cut in [0, 3, 4, 10, 24, 40, 100, full.len() / 2, full.len() - 1] {
        let err = GgufFile::parse(full[..cut].to_vec()).err().unwrap_or_else(|| panic!("cut at {cut} parsed"));
        assert!(matches!(err, EngineError::Gguf(_)), "cut {cut}: {err}");
    }
}

#[test]
fn bad_magic_is_rejected() {
    let mut bytes = tiny_llama_gguf(8, None);
    bytes[0] = b'X';
    assert!(matches!(GgufFile::parse(bytes), Err(EngineError::Gguf(m)) if m.contains("magic")));
}

#[test]
fn corrupt_header_counts_are_rejected_without_allocating() {
    let mut bytes = tiny_llama_gguf(8, None);
    bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes()); // metadata count
    assert!(matches!(GgufFile::parse(bytes), Err(EngineError::Gguf(_))));
}

#[test]
fn unknown_quant_type_names_the_tensor() {
    let bytes = GgufBuilder::new()
        .string("general.architecture", "llama")
        .tensor_raw("token_embd.weight", &[4, 32], 10 /* Q2_K */, &[0u8; 256])
        .build();
    match GgufFile::parse(bytes) {
        Err(EngineError::UnsupportedQuant { name, kind }) => {
            assert_eq!(name, "token_embd.weight");
            assert_eq!(kind, "ggml type 10");
        }
        other => panic!("expected UnsupportedQuant, got {:?}", other.err()),
    }
}

#[test]
fn wrong_tensor_shape_is_a_shape_mismatch() {
    let bytes = tiny_llama_gguf(8, Some(("blk.0.ffn_up.weight", vec![12, 8])));
    match load_gguf(bytes) {
        Err(EngineError::ShapeMismatch { name, expected, actual }) => {
            assert_eq!(name, "model.layers.0.mlp.up_proj.weight");
            assert_eq!(expected, vec![16, 8]);
            assert_eq!(actual, vec![12, 8]);
        }
        other => panic!("expected ShapeMismatch, got {:?}", other.err()),
    }
}

#[test]
fn missing_tensor_is_reported_by_name() {
    let bytes = GgufBuilder::new()
        .string("general.architecture", "llama")
        .u32("llama.embedding_length", 8)
        .u32("llama.feed_forward_length", 16)
        .u32("llama.block_count", 1)
        .u32("llama.attention.head_count", 2)
        .u32("llama.vocab_size", 16)
        .f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
        .tensor_f32("token_embd.weight", &[16, 8], &[0.0; 128])
        .build();
    let err = load_gguf(bytes).err().expect("must fail");
    assert!(matches!(&err, EngineError::MissingWeight(n) if n.starts_with("model.layers.0")), "{err}");
}

#[test]
fn config_that_disagrees_with_weights_is_rejected() {
    let config = r#"{"model_type":"llama","vocab_size":16,"hidden_size":8,"intermediate_size":16,
        "num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":2,"rms_norm_eps":1e-5,
        "tie_word_embeddings":true}"#;
    // Embedding says vocab 10, config says 16.
    let mut st = std::collections::HashMap::new();
    let data = vec![0u8; 10 * 8 * 4];
    st.insert(
        "model.embed_tokens.weight".to_string(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![10, 8], &data).unwrap(),
    );
    let bytes = safetensors::serialize(&st, None).unwrap();
    let err = LocalModel::from_files(
        ModelFiles::HuggingFace { config_json: config.into(), shards: vec![bytes], tokenizer_json: Vec::new() },
        &Device::flex(),
        &LoadOptions::new(64),
    )
    .err()
    .expect("must fail");
    assert!(matches!(err, EngineError::ShapeMismatch { ref name, .. } if name == "model.embed_tokens.weight"), "{err}");
}

#[test]
fn invalid_configs_are_typed_errors() {
    assert!(matches!(ModelConfig::from_hf_json("{"), Err(EngineError::Config(_))));
    assert!(matches!(
        ModelConfig::from_hf_json(r#"{"model_type":"gpt2"}"#),
        Err(EngineError::UnsupportedArchitecture(a)) if a == "gpt2"
    ));
    let bad_heads = r#"{"model_type":"qwen2","vocab_size":16,"hidden_size":8,"intermediate_size":16,
        "num_hidden_layers":1,"num_attention_heads":3,"num_key_value_heads":2}"#;
    assert!(matches!(ModelConfig::from_hf_json(bad_heads), Err(EngineError::Config(_))));
}

#[test]
fn corrupt_safetensors_is_a_typed_error() {
    let err = rf_engine::SafetensorsWeights::from_shards(vec![vec![0xff; 64]]).err().expect("must fail");
    assert!(matches!(err, EngineError::Safetensors(_)));
    let err = rf_engine::SafetensorsWeights::from_shards(vec![vec![1, 2, 3]]).err().expect("must fail");
    assert!(matches!(err, EngineError::Safetensors(_)));
}

#[test]
fn empty_prompt_and_overlong_prompt_are_typed_errors() {
    let mut model = load_gguf(tiny_llama_gguf(8, None)).unwrap();
    let cfg = rf_engine::GenerationConfig::default();
    let noop = |_: &rf_engine::TokenEvent| std::ops::ControlFlow::Continue(());
    assert!(matches!(model.generate_ids(&[], &cfg, noop), Err(EngineError::EmptyPrompt)));
    assert!(matches!(model.generate_text("", &cfg, noop), Err(EngineError::EmptyPrompt)));
    let long = vec![1u32; 64];
    assert!(matches!(
        model.generate_ids(&long, &cfg, noop),
        Err(EngineError::PromptTooLong { prompt_tokens: 64, context_len: 64, .. })
    ));
    assert!(matches!(
        model.model.forward_host(&[99], false),
        Err(EngineError::TokenOutOfRange { id: 99, vocab_size: 16 })
    ));
}

#[test]
fn missing_file_is_an_io_error() {
    let err = LocalModel::load_path(std::path::Path::new("/nonexistent/model.gguf"), None, &Device::flex(), &LoadOptions::new(64))
        .err()
        .expect("must fail");
    assert!(matches!(err, EngineError::Io { .. }));
}
