//! all-MiniLM-L6-v2 against sentence-transformers: the same token ids, and embeddings within
//! 1e-4 per component on the f32 paths (burn and CPU kernels), close in angle with 8-bit weights
//! (fixture: `scripts/make-embed-fixtures.py`).
use std::path::PathBuf;

use rf_embed::{CpuWeights, EncoderRuntime, SentenceEncoder};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct Fixture {
    model_sha256: String,
    max_seq_length: usize,
    cases: Vec<Case>,
}

/// The model folder, or `None` when it was not fetched (rf_test_assets' rule).
fn minilm() -> Option<PathBuf> {
    rf_test_assets::asset("all-MiniLM-L6-v2/model.safetensors", "minilm").and_then(|w| w.parent().map(PathBuf::from))
}

/// Every fixture text: the same ids, each component within `max_diff` and the cosine with the
/// reference at least `min_cosine`.
fn check_against_fixture(runtime: EncoderRuntime, max_diff: f32, min_cosine: f32) {
    let Some(dir) = minilm() else { return };
    let text = std::fs::read_to_string(rf_test_assets::repo_root().join("tests/fixtures/minilm/embeddings.json")).unwrap();
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    let encoder = SentenceEncoder::load_dir(&dir, &runtime).unwrap();
    assert_eq!(encoder.dim(), 384);
    assert!(encoder.fingerprint().ends_with(&fixture.model_sha256[..16]), "{} is not the fixture's model", encoder.fingerprint());
    let (mut worst, mut least_cosine) = (0f32, 1f32);
    for case in &fixture.cases {
        assert_eq!(encoder.token_ids(&case.text).unwrap(), case.ids, "token ids of {:?}", case.text);
        let got = encoder.embed(&case.text).unwrap();
        let diff = got.iter().zip(&case.embedding).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let cosine: f32 = got.iter().zip(&case.embedding).map(|(a, b)| a * b).sum();
        assert!(diff <= max_diff && cosine >= min_cosine, "{:?}: max |Δ| = {diff}, cosine {cosine}", case.text);
        (worst, least_cosine) = (worst.max(diff), least_cosine.min(cosine));
    }
    assert!(fixture.cases.iter().any(|c| c.ids.len() == fixture.max_seq_length), "the fixture has a text at the cut");
    eprintln!("{runtime:?}: {} texts, worst component difference {worst:.2e}, least cosine {least_cosine:.6}", fixture.cases.len());
}

#[test]
fn burn_reference_matches_sentence_transformers() {
    check_against_fixture(EncoderRuntime::Burn(rf_engine::Device::flex()), 1e-4, 0.99999);
}

#[test]
fn cpu_kernels_in_f32_match_sentence_transformers() {
    check_against_fixture(EncoderRuntime::Cpu(CpuWeights::F32), 1e-4, 0.99999);
}

/// 8-bit weights and activations turn each vector by about a degree (cosine 0.999 is 2.6°).
#[test]
fn cpu_kernels_with_8_bit_weights_stay_within_three_degrees() {
    check_against_fixture(EncoderRuntime::Cpu(CpuWeights::Q8_0), 2e-2, 0.999);
}

#[test]
fn embeddings_rank_the_matching_method_first() {
    let Some(dir) = minilm() else { return };
    let encoder = SentenceEncoder::load_dir(&dir, &EncoderRuntime::default()).unwrap();
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let query = encoder.embed("A triangle has sides 13, 14 and 15. Find its area.").unwrap();
    let heron = encoder.embed("Heron's formula: the area of a triangle from its three side lengths").unwrap();
    let crt = encoder.embed("Chinese Remainder Theorem for simultaneous congruences").unwrap();
    assert!(cos(&query, &heron) > cos(&query, &crt) + 0.1, "{} vs {}", cos(&query, &heron), cos(&query, &crt));
    assert!(matches!(encoder.embed(" \n "), Err(rf_embed::EmbedError::EmptyText)));
}
