//! The training forward scores exactly the response: its log-probability equals the one read
//! from the inference forward's logits (every position, through the KV cache path).
mod common;

use common::*;
use rf_train::loss::{response_logprob, scalar};

fn log_softmax_at(row: &[f32], target: u32) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
    row[target as usize] as f64 - max - sum.ln()
}

#[test]
fn response_logprob_matches_the_inference_logits() {
    let device = autodiff_cpu();
    let mut model = tiny_model(&device);
    for (prompt, response) in [(&[5u32, 17, 99, 3][..], &[42u32, 7, 200, 11][..]), (&[9][..], &[1, 2][..]), (&[4, 4, 4, 4, 4, 4][..], &[250][..])] {
        let trained = scalar(response_logprob(&model, &seq(prompt, response)).unwrap()).unwrap();
        let ids: Vec<u32> = prompt.iter().chain(response).copied().collect();
        model.reset();
        let rows = model.forward_host(&ids, true).unwrap();
        let expected: f64 = response.iter().enumerate().map(|(i, &t)| log_softmax_at(&rows[prompt.len() - 1 + i], t)).sum();
        assert!((trained - expected).abs() < 1e-4 * expected.abs().max(1.0), "{trained} vs {expected}");
    }
}

#[test]
fn training_forward_refuses_an_empty_scored_range() {
    let model = tiny_model(&autodiff_cpu());
    assert!(matches!(
        model.forward_sequence(&[1, 2, 3], 3),
        Err(rf_engine::EngineError::EmptyScoredRange { from: 3, len: 3 })
    ));
}
