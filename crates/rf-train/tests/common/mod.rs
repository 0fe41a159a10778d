// Shared by the integration tests: the tiny random Qwen2 of the parity fixtures on an
// autodiff CPU device.
#![allow(dead_code)]
use std::path::PathBuf;

use rf_engine::{Device, ModelConfig, SafetensorsWeights, Transformer};
use rf_train::loss::Tokenized;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/parity/qwen2-tiny")
}

pub fn autodiff_cpu() -> Device {
    rf_engine::init_device(rf_engine::DeviceChoice::Cpu).unwrap().autodiff()
}

pub fn tiny_model(device: &Device) -> Transformer {
    let dir = fixture_dir();
    let config = ModelConfig::from_hf_json(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let weights = SafetensorsWeights::from_shards(vec![std::fs::read(dir.join("model.safetensors")).unwrap()]).unwrap();
    Transformer::load(&config, &weights, 64, device).unwrap()
}

pub fn seq(prompt: &[u32], response: &[u32]) -> Tokenized {
    Tokenized { prompt: prompt.to_vec(), response: response.to_vec() }
}
