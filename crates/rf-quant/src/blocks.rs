//! The GGUF block formats as ggml lays them out in the file, one `#[repr(C)]` struct each, with
//! its dequantisation and its scalar `vec_dot` against an 8-bit activation block.
//!
//! The scalar `vec_dot`s are the reference the SIMD kernels are tested against; they compute
//! exactly what the SIMD kernels compute (integer sums per block, then one float scale).
use half::f16;

use crate::act::{BlockQ8, BlockQ8x8, Q8_GROUP, round_i8, scale};
use crate::format::QuantFormat;

/// Elements per block of the 32-element formats.
pub const QK: usize = 32;
/// Elements per super-block of the K-quants.
pub const QK_K: usize = 256;

/// A weight block: `LEN` elements of one row, stored in `size_of::<Self>()` bytes.
pub trait Block: Copy + Send + Sync + 'static {
    const FORMAT: QuantFormat;
    const LEN: usize;
    /// The activation block this format is multiplied with.
    type Act: ActBlock;
    /// Writes the block's `LEN` values to `out`.
    fn dequantize(&self, out: &mut [f32]);
    /// `Σ w·x` over a row of blocks and the activation blocks of the same columns.
    fn vec_dot(w: &[Self], x: &[Self::Act]) -> f32;
}

/// An activation block: `LEN` values quantised to 8 bits with one f32 scale.
pub trait ActBlock: Copy + Send + Sync + 'static {
    const LEN: usize;
    /// Quantises `x` (exactly `LEN` values).
    fn quantize(x: &[f32]) -> Self;
}

/// `d·(q − 8)`, 4-bit.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4_0 {
    pub d: f16,
    /// Element `j` in the low nibble of byte `j`, element `j + 16` in its high nibble.
    pub qs: [u8; QK / 2],
}

/// `d·q + m`, 4-bit.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4_1 {
    pub d: f16,
    pub m: f16,
    pub qs: [u8; QK / 2],
}

/// `d·(q − 16)`, 5-bit: the fifth bit of element `j` is bit `j` of `qh`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5_0 {
    pub d: f16,
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// `d·q + m`, 5-bit.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5_1 {
    pub d: f16,
    pub m: f16,
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// `d·q`, 8-bit.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8_0 {
    pub d: f16,
    pub qs: [i8; QK],
}

/// 8 sub-blocks of 32: `d·sc·q − dmin·m` with 6-bit `sc`, `m` packed in `scales`; 4-bit `q`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4K {
    pub d: f16,
    pub dmin: f16,
    pub scales: [u8; 12],
    /// Byte `l` of chunk `c` holds element `64c + l` (low nibble) and `64c + 32 + l` (high).
    pub qs: [u8; QK_K / 2],
}

/// As [`BlockQ4K`] with a fifth bit: element `64c + l` takes bit `2c` of `qh[l]`,
/// element `64c + 32 + l` bit `2c + 1`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5K {
    pub d: f16,
    pub dmin: f16,
    pub scales: [u8; 12],
    pub qh: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 2],
}

/// 16 sub-blocks of 16: `d·sc·(q − 32)` with signed 8-bit `sc` and 6-bit `q` (4 low bits in
/// `ql`, 2 high bits in `qh`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ6K {
    pub ql: [u8; QK_K / 2],
    pub qh: [u8; QK_K / 4],
    pub scales: [i8; QK_K / 16],
    pub d: f16,
}

/// The 6-bit scale and min of sub-block `j` of a Q4_K/Q5_K super-block.
#[inline]
pub fn k_scale_min(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        ((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}

/// All eight 6-bit scales and mins of a Q4_K/Q5_K super-block at once, as little-endian bytes
/// (byte `j` is sub-block `j`): the same values as [`k_scale_min`], branch-free on 32-bit words.
#[inline]
pub fn k_scales_mins(q: &[u8; 12]) -> (u64, u64) {
    let word = |i: usize| u32::from_le_bytes([q[4 * i], q[4 * i + 1], q[4 * i + 2], q[4 * i + 3]]);
    let (w0, w1, w2) = (word(0), word(1), word(2));
    let (low6, low4, top2) = (0x3f3f_3f3fu32, 0x0f0f_0f0fu32, 0x0303_0303u32);
    let scales_hi = (w2 & low4) | ((w0 >> 6) & top2) << 4;
    let mins_hi = ((w2 >> 4) & low4) | ((w1 >> 6) & top2) << 4;
    ((w0 & low6) as u64 | (scales_hi as u64) << 32, (w1 & low6) as u64 | (mins_hi as u64) << 32)
}

/// A Q4_K/Q5_K super-block's scales per 16-value half (both halves of a sub-block share its
/// scale) and `dmin·m` per sub-block, as the 128-bit kernels (NEON, wasm) use them.
#[cfg(any(target_arch = "aarch64", target_arch = "wasm32"))]
#[inline]
pub(crate) fn k_half_scales_and_mins(scales: &[u8; 12], dmin: f32) -> ([i32; 16], [f32; 8]) {
    let (packed_sc, packed_m) = k_scales_mins(scales);
    let sc = std::array::from_fn(|i| (packed_sc >> (8 * (i / 2))) as u8 as i32);
    let mins = std::array::from_fn(|j| dmin * (packed_m >> (8 * j)) as u8 as f32);
    (sc, mins)
}

/// The 32 unsigned 4-bit values of a 32-element block, in element order.
#[inline]
fn nibbles(qs: &[u8; 16]) -> [u8; 32] {
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = qs[j] & 0x0f;
        q[j + 16] = qs[j] >> 4;
    }
    q
}

/// The 32 unsigned 5-bit values of a Q5_0/Q5_1 block, in element order.
#[inline]
fn five_bits(qh: [u8; 4], qs: &[u8; 16]) -> [u8; 32] {
    let high = u32::from_le_bytes(qh);
    let mut q = nibbles(qs);
    for (j, v) in q.iter_mut().enumerate() {
        *v |= (((high >> j) & 1) as u8) << 4;
    }
    q
}

/// The 256 unsigned 6-bit values of a Q6_K super-block, in element order.
#[inline]
pub(crate) fn six_bits(b: &BlockQ6K) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for half in 0..2 {
        let (ql, qh) = (&b.ql[64 * half..], &b.qh[32 * half..]);
        let y = &mut q[128 * half..];
        for l in 0..32 {
            y[l] = (ql[l] & 0x0f) | ((qh[l] & 3) << 4);
            y[l + 32] = (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4);
            y[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            y[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
    }
    q
}

/// The 256 unsigned values of a Q4_K (`high` = None) or Q5_K super-block, in element order.
#[inline]
fn k_values(qs: &[u8; 128], high: Option<&[u8; 32]>) -> [u8; QK_K] {
    let mut q = [0u8; QK_K];
    for c in 0..4 {
        for l in 0..32 {
            let (mut lo, mut hi) = (qs[32 * c + l] & 0x0f, qs[32 * c + l] >> 4);
            if let Some(qh) = high {
                lo |= ((qh[l] >> (2 * c)) & 1) << 4;
                hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
            }
            q[64 * c + l] = lo;
            q[64 * c + 32 + l] = hi;
        }
    }
    q
}

/// `Σ w·x` of a 32-value block (weights as integers) with each run of 4 products scaled by its
/// activation scale, as the SIMD lanes do.
fn grouped_dot(w: &[i32; QK], x: &BlockQ8) -> f32 {
    (0..QK / Q8_GROUP)
        .map(|g| {
            let sumi: i32 = (g * Q8_GROUP..(g + 1) * Q8_GROUP).map(|i| w[i] * x.qs[i] as i32).sum();
            x.d[g] * sumi as f32
        })
        .sum()
}

fn widen<T: Copy + Into<i32>>(q: [T; QK]) -> [i32; QK] {
    q.map(Into::into)
}

impl Block for BlockQ4_0 {
    const FORMAT: QuantFormat = QuantFormat::Q4_0;
    const LEN: usize = QK;
    type Act = BlockQ8;
    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (o, q) in out.iter_mut().zip(nibbles(&self.qs)) {
            *o = (q as i32 - 8) as f32 * d;
        }
    }
    fn vec_dot(w: &[Self], x: &[BlockQ8]) -> f32 {
        w.iter()
            .zip(x)
            .map(|(w, x)| {
                let d = w.d.to_f32();
                d * grouped_dot(&widen(nibbles(&w.qs)), x) - 8.0 * d * x.s
            })
            .sum()
    }
}

impl Block for BlockQ4_1 {
    const FORMAT: QuantFormat = QuantFormat::Q4_1;
    const LEN: usize = QK;
    type Act = BlockQ8;
    fn dequantize(&self, out: &mut [f32]) {
        let (d, m) = (self.d.to_f32(), self.m.to_f32());
        for (o, q) in out.iter_mut().zip(nibbles(&self.qs)) {
            *o = q as f32 * d + m;
        }
    }
    fn vec_dot(w: &[Self], x: &[BlockQ8]) -> f32 {
        w.iter()
            .zip(x)
            .map(|(w, x)| {
                w.d.to_f32() * grouped_dot(&widen(nibbles(&w.qs)), x) + w.m.to_f32() * x.s
            })
            .sum()
    }
}

impl Block for BlockQ5_0 {
    const FORMAT: QuantFormat = QuantFormat::Q5_0;
    const LEN: usize = QK;
    type Act = BlockQ8;
    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (o, q) in out.iter_mut().zip(five_bits(self.qh, &self.qs)) {
            *o = (q as i32 - 16) as f32 * d;
        }
    }
    fn vec_dot(w: &[Self], x: &[BlockQ8]) -> f32 {
        w.iter()
            .zip(x)
            .map(|(w, x)| {
                let d = w.d.to_f32();
                d * grouped_dot(&widen(five_bits(w.qh, &w.qs)), x) - 16.0 * d * x.s
            })
            .sum()
    }
}

impl Block for BlockQ5_1 {
    const FORMAT: QuantFormat = QuantFormat::Q5_1;
    const LEN: usize = QK;
    type Act = BlockQ8;
    fn dequantize(&self, out: &mut [f32]) {
        let (d, m) = (self.d.to_f32(), self.m.to_f32());
        for (o, q) in out.iter_mut().zip(five_bits(self.qh, &self.qs)) {
            *o = q as f32 * d + m;
        }
    }
    fn vec_dot(w: &[Self], x: &[BlockQ8]) -> f32 {
        w.iter()
            .zip(x)
            .map(|(w, x)| {
                w.d.to_f32() * grouped_dot(&widen(five_bits(w.qh, &w.qs)), x) + w.m.to_f32() * x.s
            })
            .sum()
    }
}

impl BlockQ8_0 {
    /// Rounds exactly [`QK`] values to `d·q` with `d = max|x| / 127`, as llama.cpp's reference
    /// `quantize_row_q8_0` does: how f32 checkpoints are made 8-bit at load.
    pub fn quantize(x: &[f32]) -> Self {
        assert_eq!(x.len(), QK, "a Q8_0 block holds {QK} values");
        let (d, id) = scale(x);
        Self { d: f16::from_f32(d), qs: std::array::from_fn(|i| round_i8(x[i] * id)) }
    }
}

impl Block for BlockQ8_0 {
    const FORMAT: QuantFormat = QuantFormat::Q8_0;
    const LEN: usize = QK;
    type Act = BlockQ8;
    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (o, &q) in out.iter_mut().zip(&self.qs) {
            *o = q as f32 * d;
        }
    }
    fn vec_dot(w: &[Self], x: &[BlockQ8]) -> f32 {
        w.iter()
            .zip(x)
            .map(|(w, x)| w.d.to_f32() * grouped_dot(&widen(w.qs), x))
            .sum()
    }
}

/// Σ over the 8 sub-blocks of a Q4_K/Q5_K super-block: `d·sc·Σq·x − dmin·m·Σx`.
fn k_dot(b: (f16, f16, &[u8; 12]), q: &[u8; QK_K], x: &BlockQ8x8) -> f32 {
    let (d, dmin, scales) = (b.0.to_f32(), b.1.to_f32(), b.2);
    (0..8)
        .map(|j| {
            let (sc, m) = k_scale_min(j, scales);
            let values: [i32; QK] = std::array::from_fn(|i| q[QK * j + i] as i32);
            d * sc as f32 * grouped_dot(&values, &x[j]) - dmin * m as f32 * x[j].s
        })
        .sum()
}

fn k_dequantize(d: f16, dmin: f16, scales: &[u8; 12], q: &[u8; QK_K], out: &mut [f32]) {
    let (d, dmin) = (d.to_f32(), dmin.to_f32());
    for j in 0..8 {
        let (sc, m) = k_scale_min(j, scales);
        for l in 0..32 {
            out[32 * j + l] = d * sc as f32 * q[32 * j + l] as f32 - dmin * m as f32;
        }
    }
}

impl Block for BlockQ4K {
    const FORMAT: QuantFormat = QuantFormat::Q4K;
    const LEN: usize = QK_K;
    type Act = BlockQ8x8;
    fn dequantize(&self, out: &mut [f32]) {
        k_dequantize(self.d, self.dmin, &self.scales, &k_values(&self.qs, None), out);
    }
    fn vec_dot(w: &[Self], x: &[BlockQ8x8]) -> f32 {
        w.iter().zip(x).map(|(w, x)| k_dot((w.d, w.dmin, &w.scales), &k_values(&w.qs, None), x)).sum()
    }
}

impl Block for BlockQ5K {
    const FORMAT: QuantFormat = QuantFormat::Q5K;
    const LEN: usize = QK_K;
    type Act = BlockQ8x8;
    fn dequantize(&self, out: &mut [f32]) {
        k_dequantize(self.d, self.dmin, &self.scales, &k_values(&self.qs, Some(&self.qh)), out);
    }
    fn vec_dot(w: &[Self], x: &[BlockQ8x8]) -> f32 {
        w.iter().zip(x).map(|(w, x)| k_dot((w.d, w.dmin, &w.scales), &k_values(&w.qs, Some(&w.qh)), x)).sum()
    }
}

impl Block for BlockQ6K {
    const FORMAT: QuantFormat = QuantFormat::Q6K;
    const LEN: usize = QK_K;
    type Act = BlockQ8x8;
    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (e, q) in six_bits(self).into_iter().enumerate() {
            out[e] = d * self.scales[e / 16] as f32 * (q as i32 - 32) as f32;
        }
    }
    fn vec_dot(w: &[Self], x: &[BlockQ8x8]) -> f32 {
        w.iter()
            .zip(x)
            .map(|(w, x)| {
                // Each weight times its group's scale: still an integer, as the SIMD lanes have it.
                let q = six_bits(w);
                let scaled = |j: usize| -> [i32; QK] {
                    std::array::from_fn(|i| (q[QK * j + i] as i32 - 32) * w.scales[(QK * j + i) / 16] as i32)
                };
                w.d.to_f32() * (0..8).map(|j| grouped_dot(&scaled(j), &x[j])).sum::<f32>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_quantize_rounds_each_value_to_the_nearest_step() {
        let x: Vec<f32> = (0..QK).map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.4).collect();
        let block = BlockQ8_0::quantize(&x);
        let mut back = [0f32; QK];
        block.dequantize(&mut back);
        let step = block.d.to_f32();
        for (b, v) in back.iter().zip(&x) {
            // Half a step, plus the f16 rounding of the scale times |q| ≤ 127.
            assert!((b - v).abs() <= step * 0.55, "{b} vs {v} (step {step})");
        }
        assert_eq!(block.qs.iter().map(|q| q.unsigned_abs()).max(), Some(127));
        assert!(BlockQ8_0::quantize(&[0.0; QK]).qs.iter().all(|&q| q == 0));
    }

    #[test]
    fn q8_0_block_decodes_scale_times_int8() {
        let mut qs = [0i8; 32];
        for (i, q) in qs.iter_mut().enumerate() {
            *q = i as i8 - 16;
        }
        let block = BlockQ8_0 { d: f16::from_f32(0.5), qs };
        let mut out = [0f32; 32];
        block.dequantize(&mut out);
        assert_eq!((out[0], out[31]), (-8.0, 7.5));
    }

    #[test]
    fn q4_0_block_uses_low_nibbles_first() {
        let block = BlockQ4_0 { d: f16::from_f32(2.0), qs: [0x9F; 16] };
        let mut out = [0f32; 32];
        block.dequantize(&mut out);
        assert_eq!((out[0], out[16]), (14.0, 2.0));
    }

    #[test]
    fn q5_0_fifth_bit_of_element_j_is_bit_j_of_qh() {
        // Bit 0 (element 0) and bit 16 (element 16) set; all nibbles zero.
        let block = BlockQ5_0 { d: f16::from_f32(1.0), qh: [1, 0, 1, 0], qs: [0; 16] };
        let mut out = [0f32; 32];
        block.dequantize(&mut out);
        assert_eq!((out[0], out[1], out[16], out[17]), (0.0, -16.0, 0.0, -16.0));
    }

    #[test]
    fn k_scales_mins_equals_k_scale_min_for_every_sub_block() {
        let mut state = 0x9e37_79b9u32;
        for _ in 0..1000 {
            let q: [u8; 12] = std::array::from_fn(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            });
            let (scales, mins) = k_scales_mins(&q);
            for j in 0..8 {
                assert_eq!(k_scale_min(j, &q), ((scales >> (8 * j)) as u8, (mins >> (8 * j)) as u8), "{q:?} sub-block {j}");
            }
        }
    }

    #[test]
    fn k_scale_min_reads_packed_high_bits() {
        let mut q = [0u8; 12];
        q[0] = 0b1100_0001; // sc0 = 1, top bits feed sc4
        q[4] = 0b0100_0010; // m0 = 2, top bits feed m4
        q[8] = 0x35; // sc4 low = 5, m4 low = 3
        assert_eq!(k_scale_min(0, &q), (1, 2));
        assert_eq!(k_scale_min(4, &q), (5 | (3 << 4), 3 | (1 << 4)));
    }

    #[test]
    fn block_sizes_match_ggml() {
        use std::mem::size_of;
        assert_eq!(
            [
                size_of::<BlockQ4_0>(),
                size_of::<BlockQ4_1>(),
                size_of::<BlockQ5_0>(),
                size_of::<BlockQ5_1>(),
                size_of::<BlockQ8_0>(),
                size_of::<BlockQ4K>(),
                size_of::<BlockQ5K>(),
                size_of::<BlockQ6K>(),
            ],
            [18, 20, 22, 24, 34, 144, 176, 210]
        );
    }
}
