//! The BERT encoder: embeddings (word + position + token type, then LayerNorm) and post-norm
//! transformer layers with bidirectional attention and an erf-GELU feed-forward.
//!
//! Field names mirror the HF checkpoint's tensor names (`attention.self.query`,
//! `intermediate.dense`, `output.LayerNorm`, …).
use burn::module::{Module, Param};
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rf_engine::{EngineError, HostTensor, WeightSource};

use crate::config::BertConfig;
use crate::error::EmbedError;

#[derive(Module, Debug)]
struct Embeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    layer_norm: LayerNorm,
}

#[derive(Module, Debug)]
struct SelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    #[module(skip)]
    heads: usize,
}

impl SelfAttention {
    /// Every position attends every position (one unpadded sequence, so no mask).
    ///
    /// # Shapes
    /// - x: `[batch, seq, hidden]` → `[batch, seq, hidden]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, seq, hidden] = x.dims();
        let hd = hidden / self.heads;
        let split = |t: Tensor<3>| t.reshape([batch, seq, self.heads, hd]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(1.0 / (hd as f64).sqrt());
        softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([batch, seq, hidden])
    }
}

/// A dense projection added to the residual, then LayerNorm (BERT's `*.output` blocks).
#[derive(Module, Debug)]
struct ResidualOutput {
    dense: Linear,
    layer_norm: LayerNorm,
}

impl ResidualOutput {
    fn forward(&self, x: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        self.layer_norm.forward(self.dense.forward(x) + residual)
    }
}

#[derive(Module, Debug)]
struct Layer {
    attention_self: SelfAttention,
    attention_output: ResidualOutput,
    intermediate: Linear,
    output: ResidualOutput,
}

impl Layer {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let attended = self.attention_output.forward(self.attention_self.forward(x.clone()), x);
        self.output.forward(gelu(self.intermediate.forward(attended.clone())), attended)
    }
}

/// A BERT encoder without the pooler (sentence-transformers pools the token states itself).
#[derive(Module, Debug)]
pub struct BertModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl BertModel {
    /// Loads every weight the config calls for, checking each shape.
    pub fn load(config: &BertConfig, source: &dyn WeightSource, device: &Device) -> Result<Self, EmbedError> {
        config.validate()?;
        let ld = Loader { source, device, eps: config.layer_norm_eps };
        let (d, ff) = (config.hidden_size, config.intermediate_size);
        let embeddings = Embeddings {
            word_embeddings: ld.embedding("embeddings.word_embeddings.weight", config.vocab_size, d)?,
            position_embeddings: ld.embedding("embeddings.position_embeddings.weight", config.max_position_embeddings, d)?,
            token_type_embeddings: ld.embedding("embeddings.token_type_embeddings.weight", config.type_vocab_size, d)?,
            layer_norm: ld.layer_norm("embeddings.LayerNorm", d)?,
        };
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    attention_self: SelfAttention {
                        query: ld.linear(&format!("{p}.attention.self.query"), d, d)?,
                        key: ld.linear(&format!("{p}.attention.self.key"), d, d)?,
                        value: ld.linear(&format!("{p}.attention.self.value"), d, d)?,
                        heads: config.num_attention_heads,
                    },
                    attention_output: ResidualOutput {
                        dense: ld.linear(&format!("{p}.attention.output.dense"), d, d)?,
                        layer_norm: ld.layer_norm(&format!("{p}.attention.output.LayerNorm"), d)?,
                    },
                    intermediate: ld.linear(&format!("{p}.intermediate.dense"), d, ff)?,
                    output: ResidualOutput {
                        dense: ld.linear(&format!("{p}.output.dense"), ff, d)?,
                        layer_norm: ld.layer_norm(&format!("{p}.output.LayerNorm"), d)?,
                    },
                })
            })
            .collect::<Result<Vec<_>, EmbedError>>()?;
        Ok(Self { embeddings, layers })
    }

    /// The last layer's token states for one sequence of token ids (token type 0 throughout).
    ///
    /// # Shapes
    /// - ids: `seq` ids, `seq ≤ max_position_embeddings` → `[1, seq, hidden]`
    pub fn forward(&self, ids: &[u32]) -> Tensor<3> {
        let device = self.embeddings.word_embeddings.weight.device();
        let seq = ids.len();
        let as_ints = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [1, seq]), &device);
        let e = &self.embeddings;
        let x = e.word_embeddings.forward(as_ints(ids.iter().map(|&i| i64::from(i)).collect()))
            + e.position_embeddings.forward(as_ints((0..seq as i64).collect()))
            + e.token_type_embeddings.forward(as_ints(vec![0; seq]));
        self.layers.iter().fold(e.layer_norm.forward(x), |x, layer| layer.forward(x))
    }
}

/// The tensor `name` from `source`, refused unless its shape is `expected`.
pub(crate) fn checked_tensor(source: &dyn WeightSource, name: &str, expected: &[usize]) -> Result<HostTensor, EmbedError> {
    let t = source.tensor(name)?;
    if t.shape != expected {
        let err = EngineError::ShapeMismatch { name: name.to_string(), expected: expected.to_vec(), actual: t.shape };
        return Err(err.into());
    }
    Ok(t)
}

/// Builds device tensors from a [`WeightSource`], checking each shape.
struct Loader<'a> {
    source: &'a dyn WeightSource,
    device: &'a Device,
    eps: f64,
}

impl Loader<'_> {
    fn host(&self, name: &str, expected: &[usize]) -> Result<HostTensor, EmbedError> {
        checked_tensor(self.source, name, expected)
    }

    fn tensor<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Tensor<D>, EmbedError> {
        let t = self.host(name, &shape)?;
        Ok(Tensor::from_data(TensorData::new(t.data, shape), self.device))
    }

    fn embedding(&self, name: &str, rows: usize, d: usize) -> Result<Embedding, EmbedError> {
        Ok(Embedding { weight: Param::from_tensor(self.tensor(name, [rows, d])?) })
    }

    /// HF stores `[out, in]`; burn's `Linear` multiplies by `[in, out]`.
    fn linear(&self, prefix: &str, d_in: usize, d_out: usize) -> Result<Linear, EmbedError> {
        let hf = self.host(&format!("{prefix}.weight"), &[d_out, d_in])?.data;
        let transposed: Vec<f32> = (0..d_in * d_out).map(|i| hf[(i % d_out) * d_in + i / d_out]).collect();
        let weight = Tensor::from_data(TensorData::new(transposed, [d_in, d_out]), self.device);
        let bias = self.tensor(&format!("{prefix}.bias"), [d_out])?;
        Ok(Linear { weight: Param::from_tensor(weight), bias: Some(Param::from_tensor(bias)) })
    }

    fn layer_norm(&self, prefix: &str, d: usize) -> Result<LayerNorm, EmbedError> {
        let mut norm = LayerNormConfig::new(d).with_epsilon(self.eps).init(self.device);
        norm.gamma = Param::from_tensor(self.tensor(&format!("{prefix}.weight"), [d])?);
        norm.beta = Some(Param::from_tensor(self.tensor(&format!("{prefix}.bias"), [d])?));
        Ok(norm)
    }
}
