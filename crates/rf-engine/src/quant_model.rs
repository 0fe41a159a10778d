//! [`QuantTransformer`]: the Qwen2/Llama decoder on weights kept in their file format
//! ([`rf_quant::QuantMatrix`]), the default engine on the CPU, natively and in the browser.
//!
//! It computes the function of [`crate::Transformer`] except that each matmul quantises its
//! input to 8 bits per block first (as llama.cpp does). The KV cache is allocated for the whole
//! context once and written in place; memory pages are only touched as positions fill.
use std::sync::{Arc, OnceLock};

use half::f16;
use half::slice::HalfFloatSliceExt;
use rf_quant::{Compute, QuantMatrix};
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::{EngineError, Result};
use crate::weights::WeightSource;

/// The element type of the KV cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvCacheDtype {
    /// Exact: the reference path's numbers.
    #[default]
    F32,
    /// Half the memory; keys and values rounded to f16 as llama.cpp stores them.
    F16,
}

/// One process-wide [`Compute`] (kernels and thread pool) for every model loaded, so two
/// models (navigator and inference) never compete with two pools.
pub fn shared_compute() -> Arc<Compute> {
    static SHARED: OnceLock<Arc<Compute>> = OnceLock::new();
    SHARED.get_or_init(|| Arc::new(Compute::default())).clone()
}

/// A linear layer: `y = x · Wᵀ + b`.
struct Linear {
    weight: QuantMatrix,
    bias: Option<Vec<f32>>,
}

impl Linear {
    /// # Shapes
    /// - x: `[m, in]` → out: `[m, out]`
    fn forward(&self, x: &[f32], m: usize, out: &mut [f32], compute: &Compute) -> Result<()> {
        self.weight.matmul(x, m, out, compute).map_err(|e| EngineError::quant("linear layer", e))?;
        if let Some(bias) = &self.bias {
            for row in out.chunks_exact_mut(bias.len()) {
                row.iter_mut().zip(bias).for_each(|(y, b)| *y += b);
            }
        }
        Ok(())
    }
}

struct DecoderLayer {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
    input_layernorm: Vec<f32>,
    post_attention_layernorm: Vec<f32>,
}

/// Rotary tables: `[max_len, head_dim / 2]` (rotate-half convention, HF row order).
struct Rope {
    cos: Vec<f32>,
    sin: Vec<f32>,
    half: usize,
    max_len: usize,
}

impl Rope {
    fn new(head_dim: usize, theta: f64, max_len: usize) -> Self {
        let half = head_dim / 2;
        let (mut cos, mut sin) = (Vec::with_capacity(max_len * half), Vec::with_capacity(max_len * half));
        for pos in 0..max_len {
            for i in 0..half {
                let angle = pos as f64 / theta.powf(2.0 * i as f64 / head_dim as f64);
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Self { cos, sin, half, max_len }
    }

    /// Rotates each head of `row` (one position).
    fn apply(&self, row: &mut [f32], pos: usize) {
        let (cos, sin) = (&self.cos[pos * self.half..][..self.half], &self.sin[pos * self.half..][..self.half]);
        for head in row.chunks_exact_mut(2 * self.half) {
            let (x1, x2) = head.split_at_mut(self.half);
            for i in 0..self.half {
                let (a, b) = (x1[i], x2[i]);
                x1[i] = a * cos[i] - b * sin[i];
                x2[i] = b * cos[i] + a * sin[i];
            }
        }
    }
}

/// Keys and values of every layer, `[layer, kv_head, position, head_dim]`, for the whole
/// context, written in place.
enum KvStore {
    F32(Vec<f32>),
    F16(Vec<f16>),
}

impl KvStore {
    fn new(dtype: KvCacheDtype, len: usize) -> Self {
        match dtype {
            KvCacheDtype::F32 => Self::F32(vec![0.0; len]),
            KvCacheDtype::F16 => Self::F16(vec![f16::ZERO; len]),
        }
    }

    fn write(&mut self, at: usize, values: &[f32]) {
        match self {
            Self::F32(v) => v[at..at + values.len()].copy_from_slice(values),
            Self::F16(v) => v[at..at + values.len()].convert_from_f32_slice(values),
        }
    }

    /// `len` values from `at` as f32: borrowed, or widened into `buf`.
    fn read<'a>(&'a self, at: usize, len: usize, buf: &'a mut Vec<f32>) -> &'a [f32] {
        match self {
            Self::F32(v) => &v[at..at + len],
            Self::F16(v) => {
                buf.resize(len, 0.0);
                v[at..at + len].convert_to_f32_slice(buf);
                buf
            }
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Self::F32(v) => v.len() * 4,
            Self::F16(v) => v.len() * 2,
        }
    }
}

/// A loaded decoder with its KV cache.
pub struct QuantTransformer {
    config: ModelConfig,
    embed_tokens: QuantMatrix,
    layers: Vec<DecoderLayer>,
    norm: Vec<f32>,
    lm_head: QuantMatrix,
    rope: Rope,
    keys: KvStore,
    values: KvStore,
    compute: Arc<Compute>,
    seen: usize,
}

impl std::fmt::Debug for QuantTransformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QuantTransformer({} layers, {} weight bytes, {:?})", self.layers.len(), self.weight_bytes(), self.compute)
    }
}

/// Reads weights by HF name, checking every shape against the config.
struct Loader<'a> {
    source: &'a dyn WeightSource,
}

impl Loader<'_> {
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<QuantMatrix> {
        let m = self.source.matrix(name)?;
        if (m.rows(), m.cols()) != (rows, cols) {
            return Err(EngineError::ShapeMismatch { name: name.into(), expected: vec![rows, cols], actual: vec![m.rows(), m.cols()] });
        }
        Ok(m)
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        let t = self.source.tensor(name)?;
        if t.shape != [len] {
            return Err(EngineError::ShapeMismatch { name: name.into(), expected: vec![len], actual: t.shape });
        }
        Ok(t.data)
    }

    fn linear(&self, prefix: &str, d_in: usize, d_out: usize, bias: bool) -> Result<Linear> {
        Ok(Linear {
            weight: self.matrix(&format!("{prefix}.weight"), d_out, d_in)?,
            bias: if bias { Some(self.vector(&format!("{prefix}.bias"), d_out)?) } else { None },
        })
    }

    fn layer(&self, config: &ModelConfig, i: usize) -> Result<DecoderLayer> {
        let (d, ff, hd) = (config.hidden_size, config.intermediate_size, config.head_dim());
        let (h, kvh, bias) = (config.num_attention_heads, config.kv_heads(), config.has_qkv_bias());
        let p = format!("model.layers.{i}");
        Ok(DecoderLayer {
            q_proj: self.linear(&format!("{p}.self_attn.q_proj"), d, h * hd, bias)?,
            k_proj: self.linear(&format!("{p}.self_attn.k_proj"), d, kvh * hd, bias)?,
            v_proj: self.linear(&format!("{p}.self_attn.v_proj"), d, kvh * hd, bias)?,
            o_proj: self.linear(&format!("{p}.self_attn.o_proj"), h * hd, d, false)?,
            gate_proj: self.linear(&format!("{p}.mlp.gate_proj"), d, ff, false)?,
            up_proj: self.linear(&format!("{p}.mlp.up_proj"), d, ff, false)?,
            down_proj: self.linear(&format!("{p}.mlp.down_proj"), ff, d, false)?,
            input_layernorm: self.vector(&format!("{p}.input_layernorm.weight"), d)?,
            post_attention_layernorm: self.vector(&format!("{p}.post_attention_layernorm.weight"), d)?,
        })
    }
}

/// Per-forward work buffers, `rows` positions at a time.
struct Scratch {
    normed: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// Attention output, head-major `[heads, rows, head_dim]` (one contiguous slice per head).
    heads: Vec<f32>,
    attn: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    out: Vec<f32>,
}

impl Scratch {
    fn new(c: &ModelConfig, rows: usize) -> Self {
        let (d, ff) = (c.hidden_size, c.intermediate_size);
        let (qd, kvd) = (c.num_attention_heads * c.head_dim(), c.kv_heads() * c.head_dim());
        Self {
            normed: vec![0.0; rows * d],
            q: vec![0.0; rows * qd],
            k: vec![0.0; rows * kvd],
            v: vec![0.0; rows * kvd],
            heads: vec![0.0; rows * qd],
            attn: vec![0.0; rows * qd],
            gate: vec![0.0; rows * ff],
            up: vec![0.0; rows * ff],
            out: vec![0.0; rows * d],
        }
    }
}

/// `x / rms(x) · weight`, row by row.
fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let d = weight.len();
    for (row, o) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let mean = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
        let scale = 1.0 / (mean + eps).sqrt();
        for ((o, &v), &w) in o.iter_mut().zip(row).zip(weight) {
            *o = v * scale * w;
        }
    }
}

impl QuantTransformer {
    /// Loads every weight the config calls for; `context_len` bounds prompt + generation and
    /// sizes the KV cache.
    pub fn load(config: &ModelConfig, source: &dyn WeightSource, context_len: usize, kv: KvCacheDtype, compute: Arc<Compute>) -> Result<Self> {
        let ld = Loader { source };
        let d = config.hidden_size;
        let embed_tokens = ld.matrix("model.embed_tokens.weight", config.vocab_size, d)?;
        let lm_head = if source.contains("lm_head.weight") && !config.tie_word_embeddings {
            ld.matrix("lm_head.weight", config.vocab_size, d)?
        } else {
            embed_tokens.clone()
        };
        let layers = (0..config.num_hidden_layers).map(|i| ld.layer(config, i)).collect::<Result<Vec<_>>>()?;
        let context_len = context_len.clamp(1, config.max_position_embeddings.max(1));
        let cache_len = config.num_hidden_layers * config.kv_heads() * context_len * config.head_dim();
        Ok(Self {
            embed_tokens,
            layers,
            norm: ld.vector("model.norm.weight", d)?,
            lm_head,
            rope: Rope::new(config.head_dim(), config.rope_theta, context_len),
            keys: KvStore::new(kv, cache_len),
            values: KvStore::new(kv, cache_len),
            config: config.clone(),
            compute,
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

    /// Empties the KV cache (nothing is freed or cleared: positions are overwritten).
    pub fn reset(&mut self) {
        self.seen = 0;
    }

    /// Bytes of weights as held (shared with the file; a tied LM head counts once).
    pub fn weight_bytes(&self) -> usize {
        let tied = std::ptr::eq(self.embed_tokens.bytes().as_ptr(), self.lm_head.bytes().as_ptr());
        let layers: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj]
                    .iter()
                    .map(|x| x.weight.byte_len() + x.bias.as_ref().map_or(0, |b| b.len() * 4))
                    .sum::<usize>()
                    + 8 * self.config.hidden_size
            })
            .sum();
        layers + self.embed_tokens.byte_len() + if tied { 0 } else { self.lm_head.byte_len() } + 4 * self.norm.len()
    }

    /// Bytes reserved for the KV cache (keys and values, the whole context).
    pub fn kv_cache_bytes(&self) -> usize {
        self.keys.bytes() + self.values.bytes()
    }

    /// The kernels and threads the matmuls run on.
    pub fn compute(&self) -> &Compute {
        &self.compute
    }

    /// Runs `ids` as the next positions of the current sequence and returns the logits of every
    /// position (`all_positions`) or only of the last one.
    pub fn forward(&mut self, ids: &[u32], all_positions: bool) -> Result<Vec<Vec<f32>>> {
        let start = self.seen;
        self.check(ids, start)?;
        let (rows, d) = (ids.len(), self.config.hidden_size);
        let mut x = vec![0f32; rows * d];
        for (&id, row) in ids.iter().zip(x.chunks_exact_mut(d)) {
            self.embed_tokens.dequantize_row(id as usize, row).map_err(|e| EngineError::quant("model.embed_tokens.weight", e))?;
        }
        let mut s = Scratch::new(&self.config, rows);
        for layer in 0..self.layers.len() {
            self.layer_forward(layer, &mut x, start, &mut s)?;
        }
        self.seen += rows;
        let first = if all_positions { 0 } else { rows - 1 };
        self.head(&x[first * d..], rows - first)
    }

    fn check(&self, ids: &[u32], start: usize) -> Result<()> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.config.vocab_size) {
            return Err(EngineError::TokenOutOfRange { id, vocab_size: self.config.vocab_size });
        }
        if start + ids.len() > self.rope.max_len {
            return Err(EngineError::PromptTooLong { prompt_tokens: start + ids.len(), max_new_tokens: 0, context_len: self.rope.max_len });
        }
        Ok(())
    }

    /// One decoder layer over `x` (`[rows, hidden]`, positions from `start`), in place.
    fn layer_forward(&mut self, index: usize, x: &mut [f32], start: usize, s: &mut Scratch) -> Result<()> {
        let eps = self.config.rms_norm_eps as f32;
        let rows = x.len() / self.config.hidden_size;
        let compute = self.compute.clone();
        let c = &*compute;
        let l = &self.layers[index];
        rms_norm(x, &l.input_layernorm, eps, &mut s.normed);
        l.q_proj.forward(&s.normed, rows, &mut s.q, c)?;
        l.k_proj.forward(&s.normed, rows, &mut s.k, c)?;
        l.v_proj.forward(&s.normed, rows, &mut s.v, c)?;
        let (qd, kvd) = (s.q.len() / rows, s.k.len() / rows);
        for t in 0..rows {
            self.rope.apply(&mut s.q[t * qd..(t + 1) * qd], start + t);
            self.rope.apply(&mut s.k[t * kvd..(t + 1) * kvd], start + t);
        }
        self.store_kv(index, start, &s.k, &s.v);
        self.attention(index, start, rows, s);
        let l = &self.layers[index];
        l.o_proj.forward(&s.attn, rows, &mut s.out, c)?;
        x.iter_mut().zip(&s.out).for_each(|(a, b)| *a += b);
        rms_norm(x, &l.post_attention_layernorm, eps, &mut s.normed);
        l.gate_proj.forward(&s.normed, rows, &mut s.gate, c)?;
        l.up_proj.forward(&s.normed, rows, &mut s.up, c)?;
        for (g, u) in s.gate.iter_mut().zip(&s.up) {
            *g = *g / (1.0 + (-*g).exp()) * u;
        }
        l.down_proj.forward(&s.gate, rows, &mut s.out, c)?;
        x.iter_mut().zip(&s.out).for_each(|(a, b)| *a += b);
        Ok(())
    }

    /// Offset of `(layer, kv_head, pos)` in the KV cache.
    fn kv_at(&self, layer: usize, kv_head: usize, pos: usize) -> usize {
        let hd = self.config.head_dim();
        ((layer * self.config.kv_heads() + kv_head) * self.rope.max_len + pos) * hd
    }

    /// Writes the new positions' keys and values (`[rows, kv_heads · head_dim]`) in place.
    fn store_kv(&mut self, layer: usize, start: usize, k: &[f32], v: &[f32]) {
        let (hd, kvh) = (self.config.head_dim(), self.config.kv_heads());
        for (t, (kr, vr)) in k.chunks_exact(kvh * hd).zip(v.chunks_exact(kvh * hd)).enumerate() {
            for h in 0..kvh {
                let at = self.kv_at(layer, h, start + t);
                self.keys.write(at, &kr[h * hd..(h + 1) * hd]);
                self.values.write(at, &vr[h * hd..(h + 1) * hd]);
            }
        }
    }

    /// Causal grouped-query attention of the new rows over the cache, heads in parallel;
    /// leaves `[rows, heads · head_dim]` in `s.attn`.
    fn attention(&self, layer: usize, start: usize, rows: usize, s: &mut Scratch) {
        let (h, kvh, hd) = (self.config.num_attention_heads, self.config.kv_heads(), self.config.head_dim());
        let seen = start + rows;
        // Per KV head: keys and values of positions 0..seen (views, or f32 copies of an f16 cache).
        let mut widened = vec![Vec::new(); 2 * kvh];
        let mut views: Vec<&[f32]> = Vec::with_capacity(2 * kvh);
        for (i, buf) in widened.iter_mut().enumerate() {
            let store = if i % 2 == 0 { &self.keys } else { &self.values };
            views.push(store.read(self.kv_at(layer, i / 2, 0), seen * hd, buf));
        }
        let q = &s.q;
        let scale = 1.0 / (hd as f32).sqrt();
        self.compute.for_each_chunk(&mut s.heads, rows * hd, &|head, out| {
            let g = head / (h / kvh);
            let (k, v) = (views[2 * g], views[2 * g + 1]);
            let mut scores = Vec::with_capacity(seen);
            for t in 0..rows {
                let qt = &q[(t * h + head) * hd..][..hd];
                attend(qt, &k[..(start + t + 1) * hd], &v[..(start + t + 1) * hd], scale, &mut scores, &mut out[t * hd..(t + 1) * hd]);
            }
        });
        for t in 0..rows {
            for head in 0..h {
                s.attn[(t * h + head) * hd..][..hd].copy_from_slice(&s.heads[(head * rows + t) * hd..][..hd]);
            }
        }
    }

    /// Final norm and LM head for `rows` positions of `x`.
    fn head(&self, x: &[f32], rows: usize) -> Result<Vec<Vec<f32>>> {
        let (d, vocab) = (self.config.hidden_size, self.config.vocab_size);
        let mut normed = vec![0f32; rows * d];
        rms_norm(&x[..rows * d], &self.norm, self.config.rms_norm_eps as f32, &mut normed);
        let mut logits = vec![0f32; rows * vocab];
        self.lm_head.matmul(&normed, rows, &mut logits, &self.compute).map_err(|e| EngineError::quant("lm_head.weight", e))?;
        Ok(logits.chunks_exact(vocab).map(<[f32]>::to_vec).collect())
    }
}

/// One query over `keys`/`values` (`[positions, head_dim]`): softmax of scaled dot products,
/// then the weighted sum of values into `out`. The sentence encoder's attention uses it too.
pub fn attend(q: &[f32], keys: &[f32], values: &[f32], scale: f32, scores: &mut Vec<f32>, out: &mut [f32]) {
    let hd = q.len();
    scores.clear();
    scores.extend(keys.chunks_exact(hd).map(|k| rf_quant::dot_f32(q, k) * scale));
    let max = scores.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut total = 0f32;
    for p in scores.iter_mut() {
        *p = (*p - max).exp();
        total += *p;
    }
    out.fill(0.0);
    for (p, v) in scores.iter().zip(values.chunks_exact(hd)) {
        let w = p / total;
        out.iter_mut().zip(v).for_each(|(o, &x)| *o += w * x);
    }
}
