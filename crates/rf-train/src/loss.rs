//! Sequence log-probabilities and the two training objectives.
use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Int, Tensor, TensorData};
use rf_engine::Transformer;

use crate::{Result, TrainError};

/// A prompt and the response the model is scored (or trained) on, as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenized {
    pub prompt: Vec<u32>,
    pub response: Vec<u32>,
}

/// `Σ_t log π(response_t | prompt, response_<t)`: the response's log-probability.
///
/// # Shapes
/// - returns `[1]`
pub fn response_logprob(model: &Transformer, seq: &Tokenized) -> Result<Tensor<1>> {
    let (p, r) = (seq.prompt.len(), seq.response.len());
    if p == 0 || r == 0 {
        return Err(TrainError::BadExample { index: 0, reason: "empty prompt or response".into() });
    }
    let ids: Vec<u32> = seq.prompt.iter().chain(&seq.response).copied().collect();
    // Row i of the logits predicts ids[i + 1]; the response is predicted by rows p-1 .. p+r-2.
    let logits = model.forward_sequence(&ids[..ids.len() - 1], p - 1)?;
    let logp = log_softmax(logits, 1);
    let targets: Vec<i32> = seq.response.iter().map(|&t| t as i32).collect();
    let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [r, 1]), model.device());
    Ok(logp.gather(1, targets).sum())
}

/// Causal-LM loss on the response tokens only: the mean negative log-likelihood per token.
///
/// # Shapes
/// - returns `[1]`
pub fn sft_loss(model: &Transformer, seq: &Tokenized) -> Result<Tensor<1>> {
    Ok(response_logprob(model, seq)?.neg().div_scalar(seq.response.len() as f64))
}

/// The DPO objective for one pair, with the frozen reference's log-probabilities as numbers.
pub struct DpoTerms {
    /// `−log σ(β·[(π_c − ref_c) − (π_r − ref_r)])`, shape `[1]`.
    pub loss: Tensor<1>,
    /// `β·[(π_c − ref_c) − (π_r − ref_r)]`: the implicit reward margin.
    pub margin: f64,
}

/// DPO loss for policy log-probabilities `chosen` / `rejected` (each `[1]`) against the
/// reference's `ref_chosen` / `ref_rejected`.
pub fn dpo_loss(chosen: Tensor<1>, rejected: Tensor<1>, ref_chosen: f64, ref_rejected: f64, beta: f64) -> Result<DpoTerms> {
    let z = (chosen.sub_scalar(ref_chosen) - rejected.sub_scalar(ref_rejected)).mul_scalar(beta);
    let margin = scalar(z.clone())?;
    Ok(DpoTerms { loss: log_sigmoid(z).neg(), margin })
}

/// Reads a one-element tensor back.
pub fn scalar(t: Tensor<1>) -> Result<f64> {
    let data = t
        .try_into_data()
        .map_err(|e| rf_engine::EngineError::Device(format!("reading a scalar back: {e:?}")))?;
    let v: Vec<f32> = data
        .convert::<f32>()
        .try_to_vec()
        .map_err(|e| rf_engine::EngineError::Device(format!("unexpected dtype: {e:?}")))?;
    Ok(v.first().copied().unwrap_or(f32::NAN) as f64)
}
