//! all-MiniLM-L6-v2 against sentence-transformers: the same token ids, and embeddings within
//! 1e-4 per component (fixture: `scripts/make-embed-fixtures.py`).
use std::path::PathBuf;

use rf_embed::SentenceEncoder;
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

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The model folder, or `None` when it was not fetched (CI sets `RF_REQUIRE_ASSETS=1`).
fn minilm() -> Option<PathBuf> {
    let path = repo_root().join("assets/all-MiniLM-L6-v2");
    if path.join("model.safetensors").exists() {
        return Some(path);
    }
    assert!(std::env::var("RF_REQUIRE_ASSETS").as_deref() != Ok("1"), "assets/all-MiniLM-L6-v2 is missing; run scripts/fetch-assets.sh minilm");
    eprintln!("skipping: assets/all-MiniLM-L6-v2 is missing (scripts/fetch-assets.sh minilm)");
    None
}

#[test]
fn minilm_matches_sentence_transformers() {
    let Some(dir) = minilm() else { return };
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/minilm/embeddings.json")).unwrap();
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    let encoder = SentenceEncoder::load_dir(&dir, &rf_engine::Device::flex()).unwrap();
    assert_eq!(encoder.dim(), 384);
    assert!(encoder.fingerprint().ends_with(&fixture.model_sha256[..16]), "{} is not the fixture's model", encoder.fingerprint());
    let mut worst = 0f32;
    for case in &fixture.cases {
        assert_eq!(encoder.token_ids(&case.text).unwrap(), case.ids, "token ids of {:?}", case.text);
        let got = encoder.embed(&case.text).unwrap();
        let diff = got.iter().zip(&case.embedding).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(diff <= 1e-4, "{:?}: max |Δ| = {diff}", case.text);
        worst = worst.max(diff);
    }
    assert!(fixture.cases.iter().any(|c| c.ids.len() == fixture.max_seq_length), "the fixture has a text at the cut");
    eprintln!("{} texts, worst component difference {worst:.2e}", fixture.cases.len());
}

#[test]
fn embeddings_rank_the_matching_method_first() {
    let Some(dir) = minilm() else { return };
    let encoder = SentenceEncoder::load_dir(&dir, &rf_engine::Device::flex()).unwrap();
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let query = encoder.embed("A triangle has sides 13, 14 and 15. Find its area.").unwrap();
    let heron = encoder.embed("Heron's formula: the area of a triangle from its three side lengths").unwrap();
    let crt = encoder.embed("Chinese Remainder Theorem for simultaneous congruences").unwrap();
    assert!(cos(&query, &heron) > cos(&query, &crt) + 0.1, "{} vs {}", cos(&query, &heron), cos(&query, &crt));
    assert!(matches!(encoder.embed(" \n "), Err(rf_embed::EmbedError::EmptyText)));
}
