//! The decoder-only transformer shared by Qwen2 and Llama: RMSNorm, rotary embeddings
//! (rotate-half layout), grouped-query attention with a KV cache, SwiGLU MLP.
//!
//! Field names mirror the HF checkpoint's tensor names (`self_attn.q_proj`, `mlp.gate_proj`, …).
//! [`Transformer`] is a burn [`Module`]: loaded on an autodiff device its weights are trainable
//! parameters, [`Transformer::forward_sequence`] is the cache-free forward used for training, and
//! [`Transformer::to_hf_tensors`] reads the weights back under their HF names for checkpoints.
use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::config::ModelConfig;
use crate::error::{EngineError, Result};
use crate::weights::{HostTensor, WeightSource};

/// Precomputed rotary tables for positions `0..max_len`.
#[derive(Clone, Debug)]
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

/// Keys and values of the positions seen so far: `[batch, kv_heads, seen, head_dim]` each.
type KvCache = (Tensor<4>, Tensor<4>);

#[derive(Module, Debug)]
struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    #[module(skip)]
    heads: usize,
    #[module(skip)]
    kv_heads: usize,
    #[module(skip)]
    head_dim: usize,
    #[module(skip)]
    cache: Option<KvCache>,
}

impl Attention {
    /// Attends `x` (positions from `start`) over `past` plus itself; returns the output and
    /// the extended keys/values.
    ///
    /// # Shapes
    /// - x: `[batch, seq, hidden]` → `[batch, seq, hidden]`
    fn forward(&self, x: Tensor<3>, rope: &Rope, start: usize, past: Option<KvCache>) -> (Tensor<3>, KvCache) {
        let [batch, seq, _] = x.dims();
        let (h, kvh, hd) = (self.heads, self.kv_heads, self.head_dim);
        let split = |t: Tensor<3>, n: usize| t.reshape([batch, seq, n, hd]).swap_dims(1, 2);
        let q = rope.apply(split(self.q_proj.forward(x.clone()), h), start);
        let k = rope.apply(split(self.k_proj.forward(x.clone()), kvh), start);
        let v = split(self.v_proj.forward(x), kvh);
        let (k, v) = match past {
            Some((ck, cv)) => (Tensor::cat(vec![ck, k], 2), Tensor::cat(vec![cv, v], 2)),
            None => (k, v),
        };
        let cache = (k.clone(), v.clone());
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
        (self.o_proj.forward(out), cache)
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

#[derive(Module, Debug)]
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

#[derive(Module, Debug)]
struct DecoderLayer {
    self_attn: Attention,
    mlp: Mlp,
    input_layernorm: RmsNorm,
    post_attention_layernorm: RmsNorm,
}

impl DecoderLayer {
    /// # Shapes
    /// - x: `[batch, seq, hidden]` → `[batch, seq, hidden]`
    fn forward(&self, x: Tensor<3>, rope: &Rope, start: usize, past: Option<KvCache>) -> (Tensor<3>, KvCache) {
        let (attn, cache) = self.self_attn.forward(self.input_layernorm.forward(x.clone()), rope, start, past);
        let x = x + attn;
        let x = x.clone() + self.mlp.forward(self.post_attention_layernorm.forward(x));
        (x, cache)
    }
}

/// A loaded Qwen2/Llama decoder with its KV cache.
#[derive(Module, Debug)]
pub struct Transformer {
    /// `None` when the embeddings are tied: rows are then read from `lm_head`, so training
    /// updates one shared matrix, as in the HF model.
    embed_tokens: Option<Embedding>,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Linear,
    #[module(skip)]
    rope: Rope,
    #[module(skip)]
    config: ModelConfig,
    #[module(skip)]
    device: Device,
    /// Number of positions already in the KV cache.
    #[module(skip)]
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
        let t = transpose(&t);
        Tensor::from_data(TensorData::new(t.data, [t.shape[0], t.shape[1]]), self.device)
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
        let (embed_tokens, lm_head) = if source.contains("lm_head.weight") && !config.tie_word_embeddings {
            let rows = Tensor::from_data(TensorData::new(embed.data, [config.vocab_size, d]), device);
            (Some(Embedding { weight: Param::from_tensor(rows) }), ld.linear("lm_head", d, config.vocab_size, false)?)
        } else {
            (None, Linear { weight: Param::from_tensor(ld.transposed(embed)), bias: None })
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

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
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
        let start = self.seen;
        let mut x = self.embed(ids, start)?;
        for layer in &mut self.layers {
            let past = layer.self_attn.cache.take();
            let (y, cache) = layer.forward(x, &self.rope, start, past);
            layer.self_attn.cache = Some(cache);
            x = y;
        }
        self.seen += ids.len();
        let x = if all_positions { x } else { x.narrow(1, ids.len() - 1, 1) };
        Ok(self.head(x))
    }

    /// Logits for the positions `logits_from..` of `ids` as a fresh sequence, without reading or
    /// touching the KV cache. This is the training forward: on an autodiff device the result is
    /// tracked. Training scores only the response, so the prompt's rows skip the vocabulary
    /// projection (a fifth of a small model's work per token).
    ///
    /// # Shapes
    /// - returns `[ids.len() - logits_from, vocab_size]`
    pub fn forward_sequence(&self, ids: &[u32], logits_from: usize) -> Result<Tensor<2>> {
        if logits_from >= ids.len() {
            return Err(EngineError::EmptyScoredRange { from: logits_from, len: ids.len() });
        }
        let mut x = self.embed(ids, 0)?;
        for layer in &self.layers {
            x = layer.forward(x, &self.rope, 0, None).0;
        }
        Ok(self.head(x.narrow(1, logits_from, ids.len() - logits_from)))
    }

    /// Checks `ids` (to be placed from position `start`) and looks up their embeddings.
    ///
    /// # Shapes
    /// - returns `[1, ids.len(), hidden]`
    fn embed(&self, ids: &[u32], start: usize) -> Result<Tensor<3>> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.config.vocab_size) {
            return Err(EngineError::TokenOutOfRange { id, vocab_size: self.config.vocab_size });
        }
        if start + ids.len() > self.rope.max_len {
            return Err(EngineError::PromptTooLong {
                prompt_tokens: start + ids.len(),
                max_new_tokens: 0,
                context_len: self.rope.max_len,
            });
        }
        let seq = ids.len();
        let input: Vec<i32> = ids.iter().map(|&id| id as i32).collect();
        Ok(match &self.embed_tokens {
            Some(embedding) => {
                embedding.forward(Tensor::<2, Int>::from_data(TensorData::new(input, [1, seq]), &self.device))
            }
            None => {
                let cols = Tensor::<1, Int>::from_data(TensorData::new(input, [seq]), &self.device);
                self.lm_head.weight.val().select(1, cols).transpose().unsqueeze::<3>()
            }
        })
    }

    /// Final norm and LM head.
    ///
    /// # Shapes
    /// - x: `[1, rows, hidden]` → `[rows, vocab_size]`
    fn head(&self, x: Tensor<3>) -> Tensor<2> {
        let rows = x.dims()[1];
        self.lm_head.forward(self.norm.forward(x)).reshape([rows, self.config.vocab_size])
    }

    /// Every weight under its HF name and in HF layout (`[out, in]` matrices), read back to the
    /// host; tied models list `model.embed_tokens.weight` only. Used to write checkpoints.
    pub fn to_hf_tensors(&self) -> Result<Vec<(String, HostTensor)>> {
        let mut out = Vec::new();
        fn linear(out: &mut Vec<(String, HostTensor)>, name: String, l: &Linear) -> Result<()> {
            out.push((format!("{name}.weight"), transpose(&read_host(l.weight.val())?)));
            if let Some(b) = &l.bias {
                out.push((format!("{name}.bias"), read_host(b.val())?));
            }
            Ok(())
        }
        match &self.embed_tokens {
            Some(e) => {
                linear(&mut out, "lm_head".into(), &self.lm_head)?;
                out.push(("model.embed_tokens.weight".into(), read_host(e.weight.val())?));
            }
            None => linear(&mut out, "model.embed_tokens".into(), &self.lm_head)?,
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            let a = &layer.self_attn;
            for (n, l) in [("q_proj", &a.q_proj), ("k_proj", &a.k_proj), ("v_proj", &a.v_proj), ("o_proj", &a.o_proj)] {
                linear(&mut out, format!("{p}.self_attn.{n}"), l)?;
            }
            let m = &layer.mlp;
            for (n, l) in [("gate_proj", &m.gate_proj), ("up_proj", &m.up_proj), ("down_proj", &m.down_proj)] {
                linear(&mut out, format!("{p}.mlp.{n}"), l)?;
            }
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            out.push((format!("{p}.input_layernorm.weight"), read_host(layer.input_layernorm.gamma.val())?));
            out.push((format!("{p}.post_attention_layernorm.weight"), read_host(layer.post_attention_layernorm.gamma.val())?));
        }
        out.push(("model.norm.weight".into(), read_host(self.norm.gamma.val())?));
        Ok(out)
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

fn read_host<const D: usize>(t: Tensor<D>) -> Result<HostTensor> {
    let shape = t.dims().to_vec();
    let data = t.try_into_data().map_err(|e| EngineError::Device(format!("reading weights back: {e:?}")))?;
    let data = data.convert::<f32>().try_to_vec::<f32>().map_err(|e| EngineError::Device(format!("weights have an unexpected dtype: {e:?}")))?;
    Ok(HostTensor { shape, data })
}

/// `[rows, cols]` → `[cols, rows]`.
fn transpose(t: &HostTensor) -> HostTensor {
    let (rows, cols) = (t.shape[0], t.shape[1]);
    let mut data = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            data[c * rows + r] = t.data[r * cols + c];
        }
    }
    HostTensor { shape: vec![cols, rows], data }
}

fn split_rows(data: TensorData, rows: usize, vocab: usize) -> Result<Vec<Vec<f32>>> {
    let flat: Vec<f32> = data.try_into_vec::<f32>().map_err(|e| EngineError::Device(format!("logits have an unexpected dtype: {e:?}")))?;
    if flat.len() != rows * vocab {
        return Err(EngineError::Device(format!("read {} logits, expected {}", flat.len(), rows * vocab)));
    }
    Ok(flat.chunks_exact(vocab).map(<[f32]>::to_vec).collect())
}
