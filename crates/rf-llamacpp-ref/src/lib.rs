//! # rf-llamacpp-ref
//!
//! llama.cpp's CPU arithmetic, operation for operation, for checking our GGUF path against it.
//! A test-only crate: rf-engine's tests use it; nothing the project ships does.
//!
//! [`rf_engine::Transformer`] computes in f32 on dequantised weights and matches HF transformers to
//! ~3e-6. llama.cpp does not compute that function exactly: before every quantised matmul it
//! quantises the activations to 8 bits, it keeps the KV cache in f16, and it uses its own exp
//! and accumulation orders. Its logits therefore differ from ours by a few tenths, and greedy
//! decoding parts at near-ties. [`LlamaCppReference`] redoes llama.cpp's CPU numerics (x86-64
//! AVX2/FMA build, flash attention off, f16 KV cache; the settings of
//! `scripts/make-llamacpp-reference.py`) so that a GGUF read by our loader and tokenised by our
//! tokenizer can be compared with llama.cpp token for token and logit for logit.
//!
//! Scope: llama-architecture GGUFs whose matrices are Q4_1 or Q8_0 (SmolLM2's). It is a scalar
//! reference, not a fast path. Bit-exactness also needs the platform's `cosf`/`sinf` to be
//! glibc's, as on x86-64 Linux, because llama.cpp's rotary tables come from them.
use half::f16;

use rf_engine::gguf::{GgmlType, GgufFile};
use rf_engine::{Architecture, EngineError, ModelConfig, Result};

/// A quantised matrix `[rows, cols]` unpacked to one integer per weight.
struct QMatrix {
    kind: GgmlType,
    rows: usize,
    cols: usize,
    /// Block scales (f16 values), `rows * cols / 32`.
    d: Vec<f32>,
    /// Q4_1 block minimums (f16 values); empty for Q8_0.
    m: Vec<f32>,
    /// Q4_1: 0..=15; Q8_0: -128..=127. Element order within a block is 0..32.
    q: Vec<i8>,
}

impl QMatrix {
    fn read(file: &GgufFile, name: &str) -> Result<Self> {
        let (kind, shape, raw) = file.tensor_raw(name)?;
        let (rows, cols) = match shape {
            [rows, cols] => (*rows, *cols),
            _ => return Err(EngineError::Gguf(format!("tensor '{name}' is not a matrix"))),
        };
        let block_bytes = match kind {
            GgmlType::Q4_1 => 20,
            GgmlType::Q8_0 => 34,
            other => {
                return Err(EngineError::UnsupportedQuant {
                    name: format!("{name} (llama.cpp reference numerics cover Q4_1 and Q8_0 matrices)"),
                    kind: other.name(),
                });
            }
        };
        let blocks = rows * cols / 32;
        let (mut d, mut m, mut q) = (Vec::with_capacity(blocks), Vec::new(), Vec::with_capacity(rows * cols));
        let half = |b: &[u8]| f16::from_le_bytes([b[0], b[1]]).to_f32();
        for b in raw.chunks_exact(block_bytes) {
            d.push(half(&b[0..2]));
            if kind == GgmlType::Q4_1 {
                m.push(half(&b[2..4]));
                let qs = &b[4..20];
                q.extend(qs.iter().map(|v| (v & 15) as i8));
                q.extend(qs.iter().map(|v| (v >> 4) as i8));
            } else {
                q.extend(b[2..34].iter().map(|&v| v as i8));
            }
        }
        Ok(Self { kind, rows, cols, d, m, q })
    }

    /// One row dequantised as llama.cpp's `get_rows` does (`d * q`, Q8_0 only here).
    fn row_f32(&self, row: usize) -> Vec<f32> {
        let nb = self.cols / 32;
        (0..self.cols)
            .map(|e| {
                let (d, q) = (self.d[row * nb + e / 32], self.q[row * self.cols + e] as f32);
                match self.kind {
                    GgmlType::Q4_1 => d * q + self.m[row * nb + e / 32],
                    _ => d * q,
                }
            })
            .collect()
    }

    /// `vec_dot_q4_1_q8_1` / `vec_dot_q8_0_q8_0` (AVX2): per block, 8 lanes of 4-product integer
    /// sums, each lane accumulated as `fma(d_w * d_x, lane, acc)`; then the horizontal sum plus
    /// the Q4_1 minimum term.
    fn dot(&self, row: usize, x: &QuantRow) -> f32 {
        let nb = self.cols / 32;
        let mut acc = [0f32; 8];
        let mut mins = 0f32;
        for b in 0..nb {
            let wq = &self.q[row * self.cols + b * 32..][..32];
            let xq = &x.q[b * 32..][..32];
            if self.kind == GgmlType::Q4_1 {
                mins += self.m[row * nb + b] * x.s[b];
            }
            let dd = self.d[row * nb + b] * x.d[b];
            for (lane, a) in acc.iter_mut().enumerate() {
                let sum: i32 = (lane * 4..lane * 4 + 4).map(|e| wq[e] as i32 * xq[e] as i32).sum();
                *a = dd.mul_add(sum as f32, *a);
            }
        }
        hsum8(&acc) + mins
    }

    /// `x · Wᵀ` for each row of `x` (`[t, cols]` → `[t, rows]`), activations quantised first.
    fn matmul(&self, x: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let with_sum = self.kind == GgmlType::Q4_1;
        let quantised: Vec<QuantRow> = x.iter().map(|r| QuantRow::new(r, with_sum)).collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let chunk = self.rows.div_ceil(threads);
        let mut out = vec![vec![0f32; self.rows]; x.len()];
        let parts: Vec<Vec<Vec<f32>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let quantised = &quantised;
                    s.spawn(move || {
                        let rows = t * chunk..((t + 1) * chunk).min(self.rows);
                        quantised.iter().map(|qx| rows.clone().map(|r| self.dot(r, qx)).collect()).collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
        });
        for (t, part) in parts.into_iter().enumerate() {
            for (i, values) in part.into_iter().enumerate() {
                out[i][t * chunk..t * chunk + values.len()].copy_from_slice(&values);
            }
        }
        out
    }
}

/// An activation row quantised to Q8_1 (with sums) or Q8_0 the AVX2 way.
struct QuantRow {
    q: Vec<i8>,
    /// `f16(amax / 127)` per block.
    d: Vec<f32>,
    /// Q8_1 only: `f16(d * Σq)` with the unrounded d.
    s: Vec<f32>,
}

impl QuantRow {
    fn new(x: &[f32], with_sum: bool) -> Self {
        let nb = x.len() / 32;
        let (mut q, mut d, mut s) = (Vec::with_capacity(x.len()), Vec::with_capacity(nb), Vec::new());
        for block in x.chunks_exact(32) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = amax / 127.0;
            let inverse = if amax != 0.0 { 127.0 / amax } else { 0.0 };
            let start = q.len();
            q.extend(block.iter().map(|v| (v * inverse).round_ties_even() as i8));
            d.push(round_f16(scale));
            if with_sum {
                let sum: i32 = q[start..].iter().map(|&v| v as i32).sum();
                s.push(round_f16(scale * sum as f32));
            }
        }
        Self { q, d, s }
    }
}

fn round_f16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

/// `hsum_float_8`: `((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7))`.
fn hsum8(a: &[f32; 8]) -> f32 {
    let r = [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]];
    (r[0] + r[2]) + (r[1] + r[3])
}

/// f32 dot product in tinyBLAS's order (llama.cpp's multi-token f16 matmul): element i goes to
/// FMA lane i % 8, then [`hsum8`].
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        acc[i % 8] = x.mul_add(*y, acc[i % 8]);
    }
    hsum8(&acc)
}

/// f32 dot product in `ggml_vec_dot_f16`'s order (single-token f16 matmul): four 8-lane FMA
/// accumulators over 32-element steps, reduced as `GGML_F32x8_REDUCE`.
fn dot_vec_f16(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [[0f32; 8]; 4];
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let (j, l) = ((i % 32) / 8, i % 8);
        acc[j][l] = x.mul_add(*y, acc[j][l]);
    }
    let a0: Vec<f32> = (0..8).map(|l| (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])).collect();
    let t = [a0[0] + a0[4], a0[1] + a0[5], a0[2] + a0[6], a0[3] + a0[7]];
    (t[0] + t[1]) + (t[2] + t[3])
}

/// `ggml_v_expf` (AVX2/FMA), one lane.
fn v_expf(x: f32) -> f32 {
    let r = f32::from_bits(0x4b40_0000); // 0x1.8p23
    let z = x.mul_add(f32::from_bits(0x3fb8_aa3b), r); // 0x1.715476p+0
    let n = z - r;
    let b = (-n).mul_add(f32::from_bits(0x35bf_be8e), (-n).mul_add(f32::from_bits(0x3f31_7200), x)); // 0x1.7f7d1cp-20, 0x1.62e4p-1
    let e = z.to_bits() << 23;
    let k = f32::from_bits(e.wrapping_add(1f32.to_bits()));
    let u = b * b;
    let j = f32::from_bits(0x3c07_2010) // 0x1.0e4020p-7
        .mul_add(b, f32::from_bits(0x3d2b_9f17)) // 0x1.573e2ep-5
        .mul_add(u, f32::from_bits(0x3e2a_af33).mul_add(b, f32::from_bits(0x3eff_fedb))) // 0x1.555e66p-3, 0x1.fffdb6p-2
        .mul_add(u, f32::from_bits(0x3f7f_fff6) * b); // 0x1.ffffecp-1
    if n.abs() <= 126.0 {
        return j.mul_add(k, k);
    }
    // Over/underflow branch of ggml_v_expf.
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f32::from_bits(g.wrapping_add(0x7f00_0000));
    let s2 = f32::from_bits(e.wrapping_sub(g));
    if n.abs() > 192.0 { s1 * s1 } else { s2.mul_add(j, s2) * s1 }
}

struct Layer {
    attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    q: QMatrix,
    k: QMatrix,
    v: QMatrix,
    o: QMatrix,
    gate: QMatrix,
    up: QMatrix,
    down: QMatrix,
    /// f16-rounded keys (after RoPE) and values, one `kv_heads * head_dim` row per position.
    k_cache: Vec<Vec<f32>>,
    v_cache: Vec<Vec<f32>>,
}

/// A llama GGUF evaluated with llama.cpp's CPU numerics. Feed the prompt as one batch and then
/// one token per call, as llama.cpp's own decode loop does: the batch size selects the
/// attention dot-product order.
pub struct LlamaCppReference {
    config: ModelConfig,
    token_embd: QMatrix,
    output: Option<QMatrix>,
    output_norm: Vec<f32>,
    layers: Vec<Layer>,
    seen: usize,
}

impl LlamaCppReference {
    /// Reads the weights of a llama-architecture GGUF (Q4_1/Q8_0 matrices, f32 norms).
    pub fn new(file: &GgufFile) -> Result<Self> {
        let config = ModelConfig::from_gguf(file)?;
        if config.architecture != Architecture::Llama {
            return Err(EngineError::UnsupportedArchitecture(
                "llama.cpp reference numerics cover the llama architecture only".into(),
            ));
        }
        let vector = |name: &str| file.tensor_f32(name).map(|t| t.data);
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let mat = |n: &str| QMatrix::read(file, &format!("blk.{i}.{n}.weight"));
            layers.push(Layer {
                attn_norm: vector(&format!("blk.{i}.attn_norm.weight"))?,
                ffn_norm: vector(&format!("blk.{i}.ffn_norm.weight"))?,
                q: mat("attn_q")?,
                k: mat("attn_k")?,
                v: mat("attn_v")?,
                o: mat("attn_output")?,
                gate: mat("ffn_gate")?,
                up: mat("ffn_up")?,
                down: mat("ffn_down")?,
                k_cache: Vec::new(),
                v_cache: Vec::new(),
            });
        }
        let output = if file.has_tensor("output.weight") { Some(QMatrix::read(file, "output.weight")?) } else { None };
        Ok(Self {
            token_embd: QMatrix::read(file, "token_embd.weight")?,
            output,
            output_norm: vector("output_norm.weight")?,
            layers,
            config,
            seen: 0,
        })
    }

    /// Empties the KV cache.
    pub fn reset(&mut self) {
        self.seen = 0;
        for layer in &mut self.layers {
            layer.k_cache.clear();
            layer.v_cache.clear();
        }
    }

    /// Evaluates `ids` as the next positions and returns the logits of the last one.
    pub fn forward(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.token_embd.rows) {
            return Err(EngineError::TokenOutOfRange { id, vocab_size: self.token_embd.rows });
        }
        let eps = self.config.rms_norm_eps as f32;
        let mut x: Vec<Vec<f32>> = ids.iter().map(|&id| self.token_embd.row_f32(id as usize)).collect();
        let (cos, sin) = self.rope_tables(ids.len());
        let start = self.seen;
        for layer in 0..self.layers.len() {
            let h: Vec<Vec<f32>> = x.iter().map(|r| rms_norm(r, &self.layers[layer].attn_norm, eps)).collect();
            let attn = self.attention(layer, &h, start, &cos, &sin);
            let attn = self.layers[layer].o.matmul(&attn);
            add_rows(&mut x, &attn);
            let l = &self.layers[layer];
            let h: Vec<Vec<f32>> = x.iter().map(|r| rms_norm(r, &l.ffn_norm, eps)).collect();
            let (gate, up) = (l.gate.matmul(&h), l.up.matmul(&h));
            let ff: Vec<Vec<f32>> = gate
                .iter()
                .zip(&up)
                .map(|(g, u)| g.iter().zip(u).map(|(g, u)| (g / (1.0 + v_expf(-g))) * u).collect())
                .collect();
            add_rows(&mut x, &l.down.matmul(&ff));
        }
        self.seen += ids.len();
        let last = rms_norm(&x[x.len() - 1], &self.output_norm, eps);
        let head = self.output.as_ref().unwrap_or(&self.token_embd);
        Ok(head.matmul(&[last]).remove(0))
    }

    /// Greedy continuation of `prompt` (one batch, then one token per step).
    pub fn greedy(&mut self, prompt: &[u32], new_tokens: usize) -> Result<Vec<u32>> {
        self.reset();
        let mut logits = self.forward(prompt)?;
        let mut out = Vec::with_capacity(new_tokens);
        for _ in 0..new_tokens {
            let next = logits.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b }).0 as u32;
            out.push(next);
            if out.len() < new_tokens {
                logits = self.forward(&[next])?;
            }
        }
        Ok(out)
    }

    /// cos/sin for the next `n` positions: `theta` starts at the position and is multiplied by
    /// `powf(base, -2/head_dim)` per pair, as ggml's rope cache does.
    fn rope_tables(&self, n: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let half = self.config.head_dim() / 2;
        let scale = (self.config.rope_theta as f32).powf(-2.0 / self.config.head_dim() as f32);
        (self.seen..self.seen + n)
            .map(|pos| {
                let mut theta = pos as f32;
                let (mut c, mut s) = (Vec::with_capacity(half), Vec::with_capacity(half));
                for _ in 0..half {
                    c.push(theta.cos());
                    s.push(theta.sin());
                    theta *= scale;
                }
                (c, s)
            })
            .unzip()
    }

    /// Self-attention of the new rows `h` (positions from `start`) as ggml computes it with
    /// flash attention off: f16 K/V cache, Q rounded to f16, scaled softmax with `ggml_v_expf`,
    /// probabilities rounded to f16.
    fn attention(&mut self, layer: usize, h: &[Vec<f32>], start: usize, cos: &[Vec<f32>], sin: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let (heads, kv_heads, hd) = (self.config.num_attention_heads, self.config.kv_heads(), self.config.head_dim());
        let l = &mut self.layers[layer];
        let mut q = l.q.matmul(h);
        let mut k = l.k.matmul(h);
        let v = l.v.matmul(h);
        for (t, (qr, kr)) in q.iter_mut().zip(&mut k).enumerate() {
            rope(qr, hd, &cos[t], &sin[t]);
            rope(kr, hd, &cos[t], &sin[t]);
        }
        for (kr, vr) in k.iter().zip(&v) {
            l.k_cache.push(kr.iter().map(|&x| round_f16(x)).collect());
            l.v_cache.push(vr.iter().map(|&x| round_f16(x)).collect());
        }
        let dot = if h.len() > 1 { dot_lanes } else { dot_vec_f16 };
        let scale = 1.0 / (hd as f32).sqrt();
        let group = heads / kv_heads;
        let mut out = vec![vec![0f32; heads * hd]; h.len()];
        for (t, qr) in q.iter().enumerate() {
            let visible = start + t + 1;
            for head in 0..heads {
                let kv = head / group;
                let qh: Vec<f32> = qr[head * hd..][..hd].iter().map(|&x| round_f16(x)).collect();
                let scores: Vec<f32> =
                    (0..visible).map(|s| dot(&l.k_cache[s][kv * hd..][..hd], &qh) * scale).collect();
                let max = scores.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let e: Vec<f32> = scores.iter().map(|&w| v_expf(w - max)).collect();
                // ggml_vec_soft_max_f32: each 8-element chunk summed in f32, chunks added in f64.
                let sum: f64 = e
                    .chunks(8)
                    .map(|c| {
                        let mut a = [0f32; 8];
                        a[..c.len()].copy_from_slice(c);
                        hsum8(&a) as f64
                    })
                    .sum();
                let inverse = (1.0 / sum) as f32;
                // Positions masked out of this row would add exact zeros: they are skipped.
                let p: Vec<f32> = e.iter().map(|&x| round_f16(x * inverse)).collect();
                for d in 0..hd {
                    let column: Vec<f32> = (0..p.len()).map(|s| l.v_cache[s][kv * hd + d]).collect();
                    out[t][head * hd + d] = dot(&column, &p);
                }
            }
        }
        out
    }
}

/// `ggml_rms_norm` then the weight: f64 sum of f32 squares, `1/sqrtf(mean + eps)` in f32.
fn rms_norm(x: &[f32], weight: &[f32], eps: f32) -> Vec<f32> {
    let sum: f64 = x.iter().map(|v| (v * v) as f64).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    x.iter().zip(weight).map(|(v, w)| (v * scale) * w).collect()
}

/// NORM-mode RoPE on adjacent pairs (GGUF keeps llama's Q/K rows permuted for this), with the
/// rotation contracted to FMAs as gcc compiles it.
fn rope(row: &mut [f32], hd: usize, cos: &[f32], sin: &[f32]) {
    for head in row.chunks_exact_mut(hd) {
        for i in 0..hd / 2 {
            let (x0, x1) = (head[2 * i], head[2 * i + 1]);
            head[2 * i] = x0.mul_add(cos[i], -(x1 * sin[i]));
            head[2 * i + 1] = x0.mul_add(sin[i], x1 * cos[i]);
        }
    }
}

fn add_rows(x: &mut [Vec<f32>], y: &[Vec<f32>]) {
    for (a, b) in x.iter_mut().zip(y) {
        for (u, v) in a.iter_mut().zip(b) {
            *u += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_expf_is_close_to_exp_and_handles_the_extremes() {
        for x in [-80.0f32, -10.5, -1.0, -0.125, 0.0, 0.3, 2.0, 40.0] {
            let rel = ((v_expf(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs();
            assert!(rel < 2e-6, "{x}: {} vs {}", v_expf(x), (x as f64).exp());
        }
        assert_eq!(v_expf(f32::NEG_INFINITY), 0.0);
        assert_eq!(v_expf(-200.0), 0.0);
        assert_eq!(v_expf(100.0), f32::INFINITY);
    }

    #[test]
    fn activation_quantisation_rounds_half_to_even_with_f16_scales() {
        let mut x = vec![0f32; 32];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = -3.5;
        x[3] = 0.5;
        let q = QuantRow::new(&x, true);
        assert_eq!(&q.q[..4], &[127, 2, -4, 0]);
        assert_eq!(q.d[0], 1.0);
        assert_eq!(q.s[0], 125.0);
    }

    #[test]
    fn dot_orders_reduce_like_ggml() {
        let a: Vec<f32> = (0..64).map(|i| 1.0 + i as f32 * 1e-3).collect();
        let b: Vec<f32> = (0..64).map(|i| 0.5 - i as f32 * 1e-4).collect();
        let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        assert!((dot_lanes(&a, &b) as f64 - exact).abs() < 1e-4);
        assert!((dot_vec_f16(&a, &b) as f64 - exact).abs() < 1e-4);
        assert_eq!(hsum8(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), 36.0);
    }
}
