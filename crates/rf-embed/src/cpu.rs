//! [`CpuBert`]: the encoder of [`crate::BertModel`] in plain Rust on rf-quant's matmul kernels
//! (AVX2/AVX-512 or NEON natively, with threads; `simd128` in wasm), the default for queries.
//!
//! With [`CpuWeights::F32`] every matmul is in f32 and the output matches the burn module to
//! rounding. With [`CpuWeights::Q8_0`] the matrices and the word-embedding table are rounded to
//! 8 bits per value at load (llama.cpp's Q8_0, a quarter of the bytes) and each matmul quantises
//! its input to 8 bits, as the decoder's quantized path does.
use rf_engine::WeightSource;
use rf_engine::quant_model::attend;
use rf_quant::{Compute, QuantMatrix};
use serde::{Deserialize, Serialize};

use crate::config::BertConfig;
use crate::error::EmbedError;
use crate::model::checked_tensor;

/// How the CPU path stores the encoder's matrices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuWeights {
    /// As in the checkpoint: the reference numbers.
    #[serde(rename = "f32")]
    F32,
    /// Rounded to 8 bits per value with one f16 scale per 32 (Q8_0): 4× smaller, faster.
    #[default]
    #[serde(rename = "q8_0")]
    Q8_0,
}

impl CpuWeights {
    pub const ALL: [CpuWeights; 2] = [CpuWeights::F32, CpuWeights::Q8_0];

    pub fn as_str(self) -> &'static str {
        match self {
            CpuWeights::F32 => "f32",
            CpuWeights::Q8_0 => "q8_0",
        }
    }

    pub fn parse(s: &str) -> Option<CpuWeights> {
        CpuWeights::ALL.into_iter().find(|w| w.as_str() == s)
    }

    fn matrix(self, rows: usize, cols: usize, values: &[f32]) -> Result<QuantMatrix, EmbedError> {
        Ok(match self {
            CpuWeights::F32 => QuantMatrix::from_f32(rows, cols, values)?,
            CpuWeights::Q8_0 => QuantMatrix::quantize_q8_0(rows, cols, values)?,
        })
    }
}

impl std::fmt::Display for CpuWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `y = x · Wᵀ + b`, `W` as HF stores it (`[out, in]`).
struct Linear {
    weight: QuantMatrix,
    bias: Vec<f32>,
}

impl Linear {
    /// # Shapes
    /// - x: `[m, in]` → `[m, out]`
    fn forward(&self, x: &[f32], m: usize, compute: &Compute) -> Result<Vec<f32>, EmbedError> {
        let mut out = vec![0f32; m * self.weight.rows()];
        self.weight.matmul(x, m, &mut out, compute)?;
        for row in out.chunks_exact_mut(self.bias.len()) {
            row.iter_mut().zip(&self.bias).for_each(|(y, b)| *y += b);
        }
        Ok(out)
    }
}

struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    /// Normalises each row of `x` in place (biased variance, as torch does).
    fn forward(&self, x: &mut [f32]) {
        let n = self.weight.len() as f32;
        for row in x.chunks_exact_mut(self.weight.len()) {
            let mean = row.iter().sum::<f32>() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            let inv = 1.0 / (var + self.eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Layer {
    /// # Shapes
    /// - x: `[seq, hidden]` → `[seq, hidden]`
    fn forward(&self, x: &[f32], seq: usize, heads: usize, compute: &Compute) -> Result<Vec<f32>, EmbedError> {
        let (q, k, v) = (self.query.forward(x, seq, compute)?, self.key.forward(x, seq, compute)?, self.value.forward(x, seq, compute)?);
        let context = attention(&q, &k, &v, seq, heads, compute);
        let mut attended = self.attention_output.forward(&context, seq, compute)?;
        attended.iter_mut().zip(x).for_each(|(a, r)| *a += r);
        self.attention_norm.forward(&mut attended);
        let mut hidden = self.intermediate.forward(&attended, seq, compute)?;
        let ff = hidden.len() / seq;
        compute.for_each_chunk(&mut hidden, ff, &|_, row| row.iter_mut().for_each(|h| *h = gelu(*h)));
        let mut out = self.output.forward(&hidden, seq, compute)?;
        out.iter_mut().zip(&attended).for_each(|(o, r)| *o += r);
        self.output_norm.forward(&mut out);
        Ok(out)
    }
}

/// Every position attends every position (one unpadded sequence, so no mask); one output row
/// per task.
///
/// # Shapes
/// - q, k, v: `[seq, hidden]` → `[seq, hidden]`
fn attention(q: &[f32], k: &[f32], v: &[f32], seq: usize, heads: usize, compute: &Compute) -> Vec<f32> {
    let hidden = q.len() / seq;
    let hd = hidden / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    // `attend` takes one head's keys and values contiguous: `[heads, seq, head_dim]`.
    let by_head = |t: &[f32]| -> Vec<f32> {
        (0..heads).flat_map(|h| (0..seq).flat_map(move |j| j * hidden + h * hd..j * hidden + (h + 1) * hd)).map(|i| t[i]).collect()
    };
    let (k, v) = (by_head(k), by_head(v));
    let mut out = vec![0f32; seq * hidden];
    compute.for_each_chunk(&mut out, hidden, &|i, row| {
        let mut scores = Vec::with_capacity(seq);
        for (h, o) in row.chunks_exact_mut(hd).enumerate() {
            let head = h * seq * hd..(h + 1) * seq * hd;
            attend(&q[i * hidden + h * hd..][..hd], &k[head.clone()], &v[head], scale, &mut scores, o);
        }
    });
    out
}

/// BERT's exact GELU, `x·Φ(x)`.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

/// Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7), evaluated in f64.
fn erf(x: f32) -> f32 {
    let (sign, x) = if x < 0.0 { (-1.0, -f64::from(x)) } else { (1.0, f64::from(x)) };
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    (sign * (1.0 - poly * (-x * x).exp())) as f32
}

/// The BERT encoder on the CPU kernels (no pooler).
pub struct CpuBert {
    word_embeddings: QuantMatrix,
    /// `[max_position_embeddings, hidden]`, f32.
    position_embeddings: Vec<f32>,
    /// Row 0 of the token-type table (every token is type 0).
    token_type: Vec<f32>,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
}

impl CpuBert {
    /// Loads every weight the config calls for, checking each shape, and stores the matrices as
    /// `weights` says.
    pub fn load(config: &BertConfig, source: &dyn WeightSource, weights: CpuWeights) -> Result<Self, EmbedError> {
        config.validate()?;
        let (d, ff) = (config.hidden_size, config.intermediate_size);
        let tensor = |name: &str, shape: &[usize]| checked_tensor(source, name, shape).map(|t| t.data);
        let linear = |prefix: &str, d_in: usize, d_out: usize| -> Result<Linear, EmbedError> {
            let w = tensor(&format!("{prefix}.weight"), &[d_out, d_in])?;
            Ok(Linear { weight: weights.matrix(d_out, d_in, &w)?, bias: tensor(&format!("{prefix}.bias"), &[d_out])? })
        };
        let norm = |prefix: &str| -> Result<LayerNorm, EmbedError> {
            let (weight, bias) = (tensor(&format!("{prefix}.weight"), &[d])?, tensor(&format!("{prefix}.bias"), &[d])?);
            Ok(LayerNorm { weight, bias, eps: config.layer_norm_eps as f32 })
        };
        let word = tensor("embeddings.word_embeddings.weight", &[config.vocab_size, d])?;
        let positions = tensor("embeddings.position_embeddings.weight", &[config.max_position_embeddings, d])?;
        let token_types = tensor("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, d])?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    query: linear(&format!("{p}.attention.self.query"), d, d)?,
                    key: linear(&format!("{p}.attention.self.key"), d, d)?,
                    value: linear(&format!("{p}.attention.self.value"), d, d)?,
                    attention_output: linear(&format!("{p}.attention.output.dense"), d, d)?,
                    attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                    intermediate: linear(&format!("{p}.intermediate.dense"), d, ff)?,
                    output: linear(&format!("{p}.output.dense"), ff, d)?,
                    output_norm: norm(&format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>, EmbedError>>()?;
        Ok(Self {
            word_embeddings: weights.matrix(config.vocab_size, d, &word)?,
            position_embeddings: positions,
            token_type: token_types[..d].to_vec(),
            embeddings_norm: norm("embeddings.LayerNorm")?,
            layers,
            heads: config.num_attention_heads,
            hidden: d,
        })
    }

    /// The last layer's token states for one sequence of token ids (token type 0 throughout).
    ///
    /// # Shapes
    /// - ids: `seq` ids, `1 ≤ seq ≤ max_position_embeddings` → `[seq, hidden]`
    pub fn forward(&self, ids: &[u32], compute: &Compute) -> Result<Vec<f32>, EmbedError> {
        let (seq, d) = (ids.len(), self.hidden);
        let positions = self.position_embeddings.len() / d;
        if seq == 0 || seq > positions {
            return Err(EmbedError::Config(format!("{seq} tokens: the encoder takes 1 to {positions}")));
        }
        let mut x = vec![0f32; seq * d];
        for (t, (&id, row)) in ids.iter().zip(x.chunks_exact_mut(d)).enumerate() {
            self.word_embeddings.dequantize_row(id as usize, row)?;
            let position = &self.position_embeddings[t * d..][..d];
            row.iter_mut().zip(position).zip(&self.token_type).for_each(|((x, p), t)| *x += p + t);
        }
        self.embeddings_norm.forward(&mut x);
        for layer in &self.layers {
            x = layer.forward(&x, seq, self.heads, compute)?;
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [(0.0, 0.0), (0.5, 0.520_499_9), (1.0, 0.842_700_8), (-2.0, -0.995_322_3), (3.5, 0.999_999_3)] {
            assert!((erf(x) - want).abs() < 3e-7, "erf({x}) = {} not {want}", erf(x));
        }
    }

    #[test]
    fn weights_names_round_trip() {
        for w in CpuWeights::ALL {
            assert_eq!(CpuWeights::parse(w.as_str()), Some(w));
        }
        assert_eq!(CpuWeights::parse("q4"), None);
    }
}
