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

/// Scales and rounds each group of [`Q8_GROUP`] values (the portable path, and the reference
/// of the SIMD ones).
#[cfg(any(test, not(all(target_arch = "wasm32", target_feature = "simd128"))))]
pub(crate) fn portable_groups(x: &[f32; QK], d: &mut [f32; QK / Q8_GROUP], qs: &mut [i8; QK]) {
    for (g, group) in x.chunks_exact(Q8_GROUP).enumerate() {
        let (dg, id) = scale(group);
        d[g] = dg;
        for (q, &v) in qs[g * Q8_GROUP..].iter_mut().zip(group) {
            *q = round_i8(v * id);
        }
    }
}

// One group is one register on SIMD, and `f32::round` is a library call on wasm and on
// baseline x86-64 (a prefill spent 6 % of its time here).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::wasm::quantize_groups;

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
use portable_groups as quantize_groups;

#[cfg(target_arch = "x86_64")]
fn quantize_groups(x: &[f32; QK], d: &mut [f32; QK / Q8_GROUP], qs: &mut [i8; QK]) {
    if std::arch::is_x86_feature_detected!("sse4.1") {
        // SAFETY: the CPU has SSE4.1.
        unsafe { crate::x86::quantize_groups_sse41(x, d, qs) }
    } else {
        portable_groups(x, d, qs)
    }
}

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
pub(crate) mod tests {
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

    /// Activation-like blocks: ties (which round away from zero), values just below them,
    /// zeros, outliers and tiny values.
    pub(crate) fn awkward_blocks() -> impl Iterator<Item = [f32; QK]> {
        let mut seed = 0x2545_f491u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        (0..2000).map(move |case| {
            std::array::from_fn(|i| match (case + i) % 5 {
                0 => (next() % 255) as f32 - 127.0 + 0.5,
                1 => f32::from_bits(next() % 0x4300_0000) * if next() % 2 == 0 { 1.0 } else { -1.0 },
                2 => 0.0,
                _ => (next() as i32 as f32) * 1e-9,
            })
        })
    }

    #[test]
    fn every_value_is_within_half_a_step_of_its_group() {
        for x in awkward_blocks() {
            let b = BlockQ8::quantize(&x);
            for (i, v) in x.iter().enumerate() {
                assert!((b.value(i) - v).abs() <= b.d[i / Q8_GROUP] * 0.5 * (1.0 + 1e-5), "{v} became {}", b.value(i));
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse41_quantiser_matches_the_portable_rounding_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("sse4.1") {
            eprintln!("no SSE4.1 on this CPU: nothing to compare");
            return;
        }
        let mut infinite = [1.5f32; QK];
        infinite[5] = f32::INFINITY;
        for (case, x) in awkward_blocks().chain([infinite]).enumerate() {
            let (mut d, mut q) = ([0f32; QK / Q8_GROUP], [0i8; QK]);
            let (mut d_ref, mut q_ref) = ([0f32; QK / Q8_GROUP], [0i8; QK]);
            // SAFETY: SSE4.1 checked above.
            unsafe { crate::x86::quantize_groups_sse41(&x, &mut d, &mut q) };
            portable_groups(&x, &mut d_ref, &mut q_ref);
            assert_eq!(d.map(f32::to_bits), d_ref.map(f32::to_bits), "case {case}");
            assert_eq!(q, q_ref, "case {case}");
        }
    }

    #[test]
    fn zeros_quantise_to_zero_scales() {
        let b = BlockQ8x8::quantize(&[0.0; 256]);
        assert!(b.iter().all(|b| b.d == [0.0; 8] && b.qs == [0; 32] && b.s == 0.0));
    }
}
