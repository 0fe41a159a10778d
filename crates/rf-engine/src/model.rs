//! The decoder-only transformer shared by Qwen2 and Llama: RMSNorm, rotary embeddings
//! (rotate-half layout), grouped-query attention with a KV cache, SwiGLU MLP.
//!
//! Field names mirror the HF checkpoint's tensor names (`self_attn.q_proj`, `mlp.gate_proj`, …).
use burn::module::Param;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::config::ModelConfig;
use crate::error::{EngineError, Result};
use crate::weights::{HostTensor, WeightSource};

/// Precomputed rotary tables for positions `0..max_len`.
struct Rope {
    /// `[max_len, head_dim]`, each half repeated (rotate-half convention).
    cos: Tensor<2>,
    sin: Tensor<2>,
    max_len: usize,
}

impl Rope {
    fn new(head_dim: usize, theta: f64, max_len: usize, device: &Device) -> Self {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(max_len * head_dim);
        let mut sin = Vec::with_capacity(max_len * head_dim);
        for pos in 0..max_len {
            let row: Vec<f64> = (0..half)
                .map(|i| pos as f64 / theta.powf(2.0 * i as f64 / head_dim as f64))
                .collect();
            for _ in 0..2 {
                cos.extend(row.iter().map(|a| a.cos() as f32));
                sin.extend(row.iter().map(|a| a.sin() as f32));
            }
        }
        Self {
            cos: Tensor::from_data(TensorData::new(cos, [max_len, head_dim]), device),
            sin: Tensor::from_data(TensorData::new(sin, [max_len, head_dim]), device),
            max_len,
        }
    }

    /// Rotates `x` whose positions start at `start`.
    ///
    /// # Shapes
    /// - x: `[batch, heads, seq, head_dim]` → same
    fn apply(&self, x: Tensor<4>, start: usize) -> Tensor<4> {
        let [_, _, seq, head_dim] = x.dims();
        let half = head_dim / 2;
        let cos = self.cos.clone().narrow(0, start, seq).unsqueeze::<4>();
        let sin = self.sin.clone().narrow(0, start, seq).unsqueeze::<4>();
        let x1 = x.clone().narrow(3, 0, half);
        let x2 = x.clone().narrow(3, half, half);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        x * cos + rotated * sin
    }
}

struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    /// Keys and values of the positions seen so far: `[batch, kv_heads, seen, head_dim]`.
    cache: Option<(Tensor<4>, Tensor<4>)>,
}

impl Attention {
    /// # Shapes
    /// - x: `[batch, seq, hidden]` → `[batch, seq, hidden]`
    fn forward(&mut self, x: Tensor<3>, rope: &Rope, start: usize) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let (h, kvh, hd) = (self.heads, self.kv_heads, self.head_dim);
        let split = |t: Tensor<3>, n: usize| t.reshape([batch, seq, n, hd]).swap_dims(1, 2);
        let q = rope.apply(split(self.q_proj.forward(x.clone()), h), start);
        let k = rope.apply(split(self.k_proj.forward(x.clone()), kvh), start);
        let v = split(self.v_proj.forward(x), kvh);
        let (k, v) = match self.cache.take() {
            Some((ck, cv)) => (Tensor::cat(vec![ck, k], 2), Tensor::cat(vec![cv, v], 2)),
            None => (k, v),
        };
        self.cache = Some((k.clone(), v.clone()));
        let seen = k.dims()[2];
        let group = h / kvh;
        // Grouped-query attention without copying K/V: the `group` query heads that share a
        // KV head become extra rows, ordered (head-in-group, position).
        let q = q.reshape([batch, kvh, group * seq, hd]);
        let mut scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(1.0 / (hd as f64).sqrt());
        if seq > 1 {
            let device = scores.device();
            scores = scores + causal_mask(group, seq, start, seen, &device).unsqueeze::<4>();
        }
        let out = softmax(scores, 3).matmul(v);
        let out = out.reshape([batch, h, seq, hd]).swap_dims(1, 2).reshape([batch, seq, h * hd]);
        self.o_proj.forward(out)
    }
}

/// Additive mask `[group*seq, seen]`: row (g, i) may attend keys `0..=start+i`.
fn causal_mask(group: usize, seq: usize, start: usize, seen: usize, device: &Device) -> Tensor<2> {
    let mut mask = vec![0f32; group * seq * seen];
    for g in 0..group {
        for i in 0..seq {
            let row = (g * seq + i) * seen;
            for j in (start + i + 1)..seen {
                mask[row + j] = f32::NEG_INFINITY;
            }
        }
    }
    Tensor::from_data(TensorData::new(mask, [group * seq, seen]), device)
}

struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

impl Mlp {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.down_proj.forward(silu(self.gate_proj.forward(x.clone())) * self.up_proj.forward(x))
    }
}

struct DecoderLayer {
    self_attn: Attention,
    mlp: Mlp,
    input_layernorm: RmsNorm,
    post_attention_layernorm: RmsNorm,
}

/// A loaded Qwen2/Llama decoder with its KV cache.
pub struct Transformer {
    embed_tokens: Embedding,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Linear,
    rope: Rope,
    config: ModelConfig,
    device: Device,
    /// Number of positions already in the KV cache.
    seen: usize,
}

/// Builds device tensors from a [`WeightSource`], checking every shape against the config.
struct Loader<'a> {
    source: &'a dyn WeightSource,
    device: &'a Device,
}

impl Loader<'_> {
    fn host(&self, name: &str, expected: &[usize]) -> Result<HostTensor> {
        let t = self.source.tensor(name)?;
        if t.shape != expected {
            return Err(EngineError::ShapeMismatch {
                name: name.to_string(),
                expected: expected.to_vec(),
                actual: t.shape,
            });
        }
        Ok(t)
    }

    fn vector(&self, name: &str, len: usize) -> Result<Tensor<1>> {
        let t = self.host(name, &[len])?;
        Ok(Tensor::from_data(TensorData::new(t.data, [len]), self.device))
    }

    /// A matrix stored as HF `[rows, cols]`, uploaded transposed to burn's `[cols, rows]`.
    fn transposed(&self, t: HostTensor) -> Tensor<2> {
        let (rows, cols) = (t.shape[0], t.shape[1]);
        let mut data = vec![0f32; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                data[c * rows + r] = t.data[r * cols + c];
            }
        }
        Tensor::from_data(TensorData::new(data, [cols, rows]), self.device)
    }

    fn linear(&self, prefix: &str, d_in: usize, d_out: usize, bias: bool) -> Result<Linear> {
        let weight = self.transposed(self.host(&format!("{prefix}.weight"), &[d_out, d_in])?);
        let bias = if bias { Some(Param::from_tensor(self.vector(&format!("{prefix}.bias"), d_out)?)) } else { None };
        Ok(Linear { weight: Param::from_tensor(weight), bias })
    }

    fn norm(&self, name: &str, len: usize, eps: f64) -> Result<RmsNorm> {
        Ok(RmsNorm { gamma: Param::from_tensor(self.vector(name, len)?), epsilon: eps })
    }
}

impl Transformer {
    /// Loads every weight the config calls for; `context_len` bounds prompt + generation.
    pub fn load(config: &ModelConfig, source: &dyn WeightSource, context_len: usize, device: &Device) -> Result<Self> {
        let ld = Loader { source, device };
        let (d, ff, hd) = (config.hidden_size, config.intermediate_size, config.head_dim());
        let (h, kvh) = (config.num_attention_heads, config.kv_heads());
        let eps = config.rms_norm_eps;
        let embed = ld.host("model.embed_tokens.weight", &[config.vocab_size, d])?;
        let lm_head = if source.contains("lm_head.weight") && !config.tie_word_embeddings {
            ld.linear("lm_head", d, config.vocab_size, false)?
        } else {
            Linear { weight: Param::from_tensor(ld.transposed(embed.clone())), bias: None }
        };
        let embed_tokens = Embedding {
            weight: Param::from_tensor(Tensor::from_data(TensorData::new(embed.data, [config.vocab_size, d]), device)),
        };
        let bias = config.has_qkv_bias();
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            layers.push(DecoderLayer {
                self_attn: Attention {
                    q_proj: ld.linear(&format!("{p}.self_attn.q_proj"), d, h * hd, bias)?,
                    k_proj: ld.linear(&format!("{p}.self_attn.k_proj"), d, kvh * hd, bias)?,
                    v_proj: ld.linear(&format!("{p}.self_attn.v_proj"), d, kvh * hd, bias)?,
                    o_proj: ld.linear(&format!("{p}.self_attn.o_proj"), h * hd, d, false)?,
                    heads: h,
                    kv_heads: kvh,
                    head_dim: hd,
                    cache: None,
                },
                mlp: Mlp {
                    gate_proj: ld.linear(&format!("{p}.mlp.gate_proj"), d, ff, false)?,
                    up_proj: ld.linear(&format!("{p}.mlp.up_proj"), d, ff, false)?,
                    down_proj: ld.linear(&format!("{p}.mlp.down_proj"), ff, d, false)?,
                },
                input_layernorm: ld.norm(&format!("{p}.input_layernorm.weight"), d, eps)?,
                post_attention_layernorm: ld.norm(&format!("{p}.post_attention_layernorm.weight"), d, eps)?,
            });
        }
        let context_len = context_len.clamp(1, config.max_position_embeddings.max(1));
        Ok(Self {
            embed_tokens,
            layers,
            norm: ld.norm("model.norm.weight", d, eps)?,
            lm_head,
            rope: Rope::new(hd, config.rope_theta, context_len, device),
            config: config.clone(),
            device: device.clone(),
            seen: 0,
        })
    }

    /// The hyper-parameters this model was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Maximum number of positions (prompt plus generated tokens).
    pub fn context_len(&self) -> usize {
        self.rope.max_len
    }

    /// Positions currently held in the KV cache.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Empties the KV cache so the next call starts a new sequence.
    pub fn reset(&mut self) {
        self.seen = 0;
        for layer in &mut self.layers {
            layer.self_attn.cache = None;
        }
    }

    /// Runs `ids` as the next positions of the current sequence and returns logits for every
    /// position (`all_positions`) or only the last one.
    ///
    /// # Shapes
    /// - returns `[ids.len() or 1, vocab_size]`
    pub fn forward(&mut self, ids: &[u32], all_positions: bool) -> Result<Tensor<2>> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.config.vocab_size) {
            return Err(EngineError::TokenOutOfRange { id, vocab_size: self.config.vocab_size });
        }
        if self.seen + ids.len() > self.rope.max_len {
            return Err(EngineError::PromptTooLong {
                prompt_tokens: self.seen + ids.len(),
                max_new_tokens: 0,
                context_len: self.rope.max_len,
            });
        }
        let seq = ids.len();
        let input: Vec<i32> = ids.iter().map(|&id| id as i32).collect();
        let input = Tensor::<2, Int>::from_data(TensorData::new(input, [1, seq]), &self.device);
        let mut x = self.embed_tokens.forward(input);
        let start = self.seen;
        for layer in &mut self.layers {
            let attn = layer.self_attn.forward(layer.input_layernorm.forward(x.clone()), &self.rope, start);
            x = x + attn;
            x = x.clone() + layer.mlp.forward(layer.post_attention_layernorm.forward(x));
        }
        self.seen += seq;
        let x = if all_positions { x } else { x.narrow(1, seq - 1, 1) };
        let rows = x.dims()[1];
        let logits = self.lm_head.forward(self.norm.forward(x));
        Ok(logits.reshape([rows, self.config.vocab_size]))
    }

    /// Like [`Self::forward`] but reads the logits back to the host, row by row. A failed
    /// readback (for example a lost GPU device) is [`EngineError::Device`].
    pub fn forward_host(&mut self, ids: &[u32], all_positions: bool) -> Result<Vec<Vec<f32>>> {
        let logits = self.forward(ids, all_positions)?;
        let [rows, vocab] = logits.dims();
        let data = logits.try_into_data().map_err(|e| EngineError::Device(format!("reading logits back: {e:?}")))?;
        split_rows(data, rows, vocab)
    }

    /// [`Self::forward_host`] for the browser, where GPU readback must be awaited.
    pub async fn forward_host_async(&mut self, ids: &[u32], all_positions: bool) -> Result<Vec<Vec<f32>>> {
        let logits = self.forward(ids, all_positions)?;
        let [rows, vocab] = logits.dims();
        let data = logits
            .into_data_async()
            .await
            .map_err(|e| EngineError::Device(format!("reading logits back: {e:?}")))?;
        split_rows(data, rows, vocab)
    }
}

fn split_rows(data: TensorData, rows: usize, vocab: usize) -> Result<Vec<Vec<f32>>> {
    let flat: Vec<f32> = data.try_into_vec::<f32>().map_err(|e| EngineError::Device(format!("logits have an unexpected dtype: {e:?}")))?;
    if flat.len() != rows * vocab {
        return Err(EngineError::Device(format!("read {} logits, expected {}", flat.len(), rows * vocab)));
    }
    Ok(flat.chunks_exact(vocab).map(<[f32]>::to_vec).collect())
}
