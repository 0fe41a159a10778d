//! Activations quantised to 8 bits, the right-hand side of every quantised matmul: [`BlockQ8`]
//! (32 values) for the 32-element formats, eight of them ([`BlockQ8x8`]) for a K-quant
//! super-block. Scales stay f32, so the only rounding is of the values themselves.
//!
//! [`BlockQ8`] has one scale per 4 values. An integer dot product sums each run of 4 products
//! into one 32-bit lane anyway (`vpdpbusd`, `maddubs`+`madd`, pairwise NEON adds), so the finer
//! scales cost nothing in the kernels, and they cut the activation rounding error several times
//! over one scale per 32 (activations have outliers that a shared scale spends its range on).
use crate::blocks::{ActBlock, QK};

/// Values per scale of a [`BlockQ8`].
pub const Q8_GROUP: usize = 4;

/// 32 activations: `x[i] ≈ d[i / 4]·q[i]`; `s = Σ d·q` serves the formats with a minimum
/// or an offset.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8 {
    pub d: [f32; QK / Q8_GROUP],
    pub qs: [i8; QK],
    pub s: f32,
}

/// The activations of one K-quant super-block (256 values).
pub type BlockQ8x8 = [BlockQ8; 8];

impl BlockQ8 {
    /// The value of element `i` as the kernels see it.
    pub fn value(&self, i: usize) -> f32 {
        self.d[i / Q8_GROUP] * self.qs[i] as f32
    }
}

/// `(d, 1/d)` for values whose largest magnitude is `amax`, so that `q` spans ±127.
pub(crate) fn scale(x: &[f32]) -> (f32, f32) {
    scale_of(x.iter().fold(0f32, |m, v| m.max(v.abs())))
}

/// `(d, 1/d)` for the largest magnitude `amax`.
pub(crate) fn scale_of(amax: f32) -> (f32, f32) {
    let d = amax / 127.0;
    (d, if d > 0.0 { 1.0 / d } else { 0.0 })
}

pub(crate) fn round_i8(v: f32) -> i8 {
    v.round().clamp(-127.0, 127.0) as i8
}

impl ActBlock for BlockQ8 {
    const LEN: usize = QK;
    fn quantize(x: &[f32]) -> Self {
        let x = x.first_chunk::<QK>().expect("an activation block is QK values");
        let mut b = BlockQ8 { d: [0.0; QK / Q8_GROUP], qs: [0; QK], s: 0.0 };
        quantize_groups(x, &mut b.d, &mut b.qs);
        b.s = (0..QK).map(|i| b.value(i)).sum();
        b
    }
}

/// Scales and rounds each group of [`Q8_GROUP`] values (the portable path).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn quantize_groups(x: &[f32; QK], d: &mut [f32; QK / Q8_GROUP], qs: &mut [i8; QK]) {
    for (g, group) in x.chunks_exact(Q8_GROUP).enumerate() {
        let (dg, id) = scale(group);
        d[g] = dg;
        for (q, &v) in qs[g * Q8_GROUP..].iter_mut().zip(group) {
            *q = round_i8(v * id);
        }
    }
}

// One group is one register there, and `f32::round`/`f32::max` are library calls in wasm.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::wasm::quantize_groups;

impl ActBlock for BlockQ8x8 {
    const LEN: usize = 8 * QK;
    fn quantize(x: &[f32]) -> Self {
        std::array::from_fn(|j| BlockQ8::quantize(&x[j * QK..(j + 1) * QK]))
    }
}

/// Quantises a row whose length is a multiple of `A::LEN`.
pub fn quantize_row<A: ActBlock>(x: &[f32], out: &mut Vec<A>) {
    out.clear();
    out.extend(x.chunks_exact(A::LEN).map(A::quantize));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_round_trip_is_within_half_a_step_of_each_group() {
        let x: Vec<f32> = (0..32).map(|i| (i as f32 - 12.3) * 0.37).collect();
        let b = BlockQ8::quantize(&x);
        for (i, v) in x.iter().enumerate() {
            assert!((b.value(i) - v).abs() <= b.d[i / Q8_GROUP] * 0.5 + 1e-6);
        }
        for group in b.qs.chunks_exact(Q8_GROUP) {
            assert_eq!(group.iter().map(|q| q.unsigned_abs()).max(), Some(127));
        }
        assert!((b.s - x.iter().sum::<f32>()).abs() < 0.1);
    }

    #[test]
    fn zeros_quantise_to_zero_scales() {
        let b = BlockQ8x8::quantize(&[0.0; 256]);
        assert!(b.iter().all(|b| b.d == [0.0; 8] && b.qs == [0; 32] && b.s == 0.0));
    }
}
