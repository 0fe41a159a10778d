//! Logit parity with HF transformers on tiny random Qwen2 and Llama checkpoints
//! (fixtures made by `scripts/make-parity-fixtures.py`), on the CPU backend and on wgpu.
mod common;

use std::path::Path;

use rf_engine::{Device, DeviceChoice, ModelConfig, SafetensorsWeights, Transformer, init_device};
use serde::Deserialize;

const TOLERANCE: f32 = 1e-4;
const FIXTURES: [&str; 3] = ["qwen2-tiny", "qwen2-tiny-f16", "llama-tiny"];

#[derive(Deserialize)]
struct Reference {
    input_ids: Vec<u32>,
    logits: Vec<Vec<f32>>,
    decode_logits: Vec<Vec<f32>>,
    generate_greedy: Greedy,
}

#[derive(Deserialize)]
struct Greedy {
    prompt_ids: Vec<u32>,
    new_token_ids: Vec<u32>,
}

fn load(dir: &Path, device: &Device) -> (Transformer, Reference) {
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()));
    let config = ModelConfig::from_hf_json(std::str::from_utf8(&read("config.json")).unwrap()).unwrap();
    let index = dir.join("model.safetensors.index.json");
    let shards = if index.exists() {
        let files = SafetensorsWeights::shard_files(&std::fs::read_to_string(index).unwrap()).unwrap();
        assert!(files.len() >= 2, "the sharded fixture must have several shards");
        files.iter().map(|f| read(f)).collect()
    } else {
        vec![read("model.safetensors")]
    };
    let weights = SafetensorsWeights::from_shards(shards).unwrap();
    let model = Transformer::load(&config, &weights, 128, device).unwrap();
    let reference: Reference = serde_json::from_slice(&read("logits.json")).unwrap();
    (model, reference)
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "row count");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "row width");
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

fn argmax(row: &[f32]) -> u32 {
    row.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b }).0 as u32
}

fn check_fixture(name: &str, device: &Device) {
    let dir = rf_test_assets::repo_root().join("tests/fixtures/parity").join(name);
    let (mut model, reference) = load(&dir, device);

    let logits = model.forward_host(&reference.input_ids, true).unwrap();
    let diff = max_abs_diff(&logits, &reference.logits);
    eprintln!("{name}: full-sequence max |Δ| = {diff:e}");
    assert!(diff <= TOLERANCE, "{name}: full-sequence logits differ by {diff}");

    // Incremental decoding through the KV cache must give the same rows.
    model.reset();
    model.forward_host(&reference.input_ids[..8], false).unwrap();
    let decoded: Vec<Vec<f32>> = reference.input_ids[8..]
        .iter()
        .map(|&id| model.forward_host(&[id], false).unwrap().remove(0))
        .collect();
    let diff = max_abs_diff(&decoded, &reference.decode_logits);
    eprintln!("{name}: cached-decode max |Δ| = {diff:e}");
    assert!(diff <= TOLERANCE, "{name}: cached decode logits differ by {diff}");

    // Greedy continuation equals transformers' generate(do_sample=False).
    model.reset();
    let greedy = &reference.generate_greedy;
    let mut ids = Vec::new();
    let mut next = argmax(&model.forward_host(&greedy.prompt_ids, false).unwrap()[0]);
    while ids.len() < greedy.new_token_ids.len() {
        ids.push(next);
        next = argmax(&model.forward_host(&[next], false).unwrap()[0]);
    }
    assert_eq!(ids, greedy.new_token_ids, "{name}: greedy ids");
}

#[test]
fn cpu_logits_match_transformers() {
    let device = init_device(DeviceChoice::Cpu).unwrap();
    for name in FIXTURES {
        check_fixture(name, &device);
    }
}

#[test]
fn wgpu_logits_match_transformers() {
    let device = match init_device(DeviceChoice::Wgpu) {
        Ok(d) => d,
        Err(e) if std::env::var("RF_REQUIRE_WGPU").is_ok_and(|v| v == "1") => panic!("wgpu required: {e}"),
        Err(e) => {
            eprintln!("skipping wgpu parity: {e} (set RF_REQUIRE_WGPU=1 to make this a failure)");
            return;
        }
    };
    for name in FIXTURES {
        check_fixture(name, &device);
    }
}
