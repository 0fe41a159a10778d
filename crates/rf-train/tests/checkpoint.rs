//! Checkpoints are HF folders the engine loads back to the same logits, and training resumes.
mod common;

use burn::module::Module;
use common::*;
use rf_engine::{LoadOptions, LocalModel, TextTokenizer, WeightFormat};
use rf_train::checkpoint::{checkpoints, save_hf};
use rf_train::trainer::{Sft, TrainConfig, find_start, train};

use std::path::PathBuf;

/// A word-level tokenizer over the tiny model's 256 ids (the checkpoint must carry one).
fn tokenizer() -> TextTokenizer {
    let vocab: serde_json::Map<String, serde_json::Value> = (0..256).map(|i| (format!("w{i}"), i.into())).collect();
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "w0"}
    });
    TextTokenizer::from_json_bytes(json.to_string().as_bytes()).unwrap()
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn saved_checkpoint_reloads_to_the_same_logits() {
    let device = autodiff_cpu();
    let model = tiny_model(&device);
    let dir = tempdir("roundtrip");
    save_hf(&dir, &model, &tokenizer()).unwrap();
    for f in ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let plain = rf_engine::init_device(rf_engine::DeviceChoice::Cpu).unwrap();
    let mut reloaded = LocalModel::load_path(&dir, None, &plain, &LoadOptions::new(64).weights(WeightFormat::F32)).unwrap();
    let mut original = model.valid();
    let ids = [3u32, 77, 12, 200, 9];
    let a = original.forward_host(&ids, true).unwrap();
    let b = reloaded.model.forward_host(&ids, true).unwrap();
    // The weights come back bit for bit; the logits differ only by summation order.
    assert_eq!(original.to_hf_tensors().unwrap(), reloaded.model.as_f32().unwrap().to_hf_tensors().unwrap());
    assert!(max_abs_diff(&a, &b) < 1e-5, "{}", max_abs_diff(&a, &b));
}

#[test]
fn sft_resumes_from_its_last_checkpoint() {
    let device = autodiff_cpu();
    let out = tempdir("resume");
    let items = vec![seq(&[1, 2, 3], &[4, 5, 6]), seq(&[7, 8], &[9, 10, 11, 12])];
    let sft = Sft { items };
    let cfg = TrainConfig { lr: 1e-2, warmup: 1, steps: 4, accum: 1, save_every: 2, keep: 2, ..Default::default() };
    let tok = tokenizer();

    // Uninterrupted run.
    let full = train(tiny_model(&device), &tok, &sft, &cfg, &tempdir("full"), &find_start(&tempdir("none"), "sft").unwrap(), |_| {}).unwrap();

    // Interrupted after step 2, then resumed from the checkpoint.
    let first = TrainConfig { steps: 2, ..cfg.clone() };
    train(tiny_model(&device), &tok, &sft, &first, &out, &find_start(&out, "sft").unwrap(), |_| {}).unwrap();
    let start = find_start(&out, "sft").unwrap();
    assert_eq!(start.step, 2);
    let reloaded = LocalModel::load_path(start.checkpoint.as_ref().unwrap(), None, &device, &LoadOptions::new(64).weights(WeightFormat::F32)).unwrap().model.into_f32().unwrap();
    let resumed = train(reloaded, &tok, &sft, &cfg, &out, &start, |_| {}).unwrap();
    assert_eq!(checkpoints(&out).iter().map(|c| c.0).collect::<Vec<_>>(), vec![2, 4]);

    let ids = [1u32, 2, 3, 4, 5];
    let a = full.valid().forward_host(&ids, true).unwrap();
    let b = resumed.valid().forward_host(&ids, true).unwrap();
    // Same steps, same order, same optimizer moments: equal up to float noise.
    assert!(max_abs_diff(&a, &b) < 1e-4, "{}", max_abs_diff(&a, &b));
    let log = std::fs::read_to_string(out.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 4);
    assert!(find_start(&out, "dpo").is_err(), "an SFT folder is not resumed as DPO");
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rf-train-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
