//! wasm32 `simd128` kernels, compiled only with `-C target-feature=+simd128` (wasm has no run-time
//! feature detection: a module with SIMD instructions does not load on an engine without them).
//!
//! Every weight fits a signed byte (4/5/6-bit values are below 64, Q8_0 is signed, Q6_K's
//! `q − 32` lies in ±32). Weights and activations are widened to 16 bits and split into the even-
//! and odd-indexed values of each 16-value run; `i32x4.dot_i16x8_s` (one `pmaddwd` on x86) of the
//! even halves plus that of the odd halves leaves in lane `m` the sum of values `4m..4m+3`:
//! exactly the 4 products that share one activation scale, with no shuffles. Activations are
//! widened once per call and shared by every row; a weight block is widened once per tile and
//! reused for every token of it. Offsets and minimums go through the activation sums, as in the
//! scalar `vec_dot`s.
use std::arch::wasm32::*;
use std::ops::Range;

use crate::act::{BlockQ8, Q8_GROUP, scale_of};
use crate::blocks::*;
use crate::kernels::{OutRows, ROW_CHUNK, ROW_TILE, TOKEN_TILE};

/// Four lanes of partial sums plus the scalar per-block corrections.
#[derive(Clone, Copy)]
pub(crate) struct Acc {
    v: v128,
    s: f32,
}

/// One block format on simd128.
pub(crate) trait Kernel: Block {
    /// A block unpacked for reuse across the tokens of a tile.
    type W: Copy;
    /// The widened activations of one block.
    type X;
    fn load(b: &Self) -> Self::W;
    fn dot(w: &Self::W, x: &Self::X, acc: &mut Acc);
    fn widen(x: &[Self::Act]) -> Vec<Self::X>;
}

/// 32 values as bytes, in element order (two registers).
type Bytes32 = [v128; 2];

/// 16 values as 16-bit lanes: the even-indexed values, then the odd-indexed ones.
type Split = [v128; 2];

#[inline]
fn load16(p: &[u8; 16]) -> v128 {
    // SAFETY: reads the 16 bytes of `p`; `v128_load` has no alignment requirement.
    unsafe { v128_load(p.as_ptr() as *const v128) }
}

/// The 32 bytes of `p` (32 bytes of any plain values) as two registers.
#[inline]
fn load32<T: Copy, const N: usize>(p: &[T; N]) -> Bytes32 {
    const { assert!(size_of::<[T; N]>() == 32) };
    let p = p.as_ptr() as *const v128;
    // SAFETY: `p` spans 32 bytes (checked at compile time); no alignment requirement.
    unsafe { [v128_load(p), v128_load(p.add(1))] }
}

/// An f16 scale as f32 in a few integer operations (`half` has no hardware path on wasm, and
/// its portable one branches per value); infinities and NaNs take `half`'s path.
#[inline]
fn f16_to_f32(h: half::f16) -> f32 {
    let bits = h.to_bits() as u32;
    let exponent = bits & 0x7c00;
    if exponent == 0x7c00 {
        return h.to_f32();
    }
    let magnitude = if exponent == 0 {
        // Subnormal: mantissa · 2⁻²⁴, exact in f32 (and no f32 subnormal arithmetic).
        (bits & 0x3ff) as f32 * f32::from_bits(0x3380_0000)
    } else {
        // Normal: rebias the exponent from 15 to 127.
        f32::from_bits(((bits & 0x7fff) << 13) + (112 << 23))
    };
    f32::from_bits(magnitude.to_bits() | (bits & 0x8000) << 16)
}

#[cfg(test)]
mod tests {
    use crate::act::Q8_GROUP;
    use crate::blocks::QK;

    #[test]
    fn simd_activation_quantiser_matches_the_portable_rounding_bit_for_bit() {
        for (case, x) in crate::act::tests::awkward_blocks().enumerate() {
            let (mut d, mut q) = ([0f32; QK / Q8_GROUP], [0i8; QK]);
            let (mut d_ref, mut q_ref) = ([0f32; QK / Q8_GROUP], [0i8; QK]);
            super::quantize_groups(&x, &mut d, &mut q);
            crate::act::portable_groups(&x, &mut d_ref, &mut q_ref);
            assert_eq!(d.map(f32::to_bits), d_ref.map(f32::to_bits), "case {case}");
            assert_eq!(q, q_ref, "case {case}");
        }
    }

    #[test]
    fn f16_to_f32_matches_half_for_every_bit_pattern() {
        for bits in 0..=u16::MAX {
            let h = half::f16::from_bits(bits);
            let (got, want) = (super::f16_to_f32(h), h.to_f32());
            assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{bits:#06x}: {got} vs {want}");
        }
    }
}

/// [`BlockQ8`]'s quantiser, one group of 4 values per register. Rounds half away from zero
/// as `f32::round` does (`trunc`, then one step when the remainder is at least ½), so for finite
/// values the blocks are bit for bit those of the portable path.
pub(crate) fn quantize_groups(x: &[f32; QK], d: &mut [f32; QK / Q8_GROUP], qs: &mut [i8; QK]) {
    let sign = f32x4_splat(-0.0);
    for (g, (group, out)) in x.as_chunks::<Q8_GROUP>().0.iter().zip(qs.as_chunks_mut::<Q8_GROUP>().0).enumerate() {
        // SAFETY: reads the 16 bytes of `group`; `v128_load` has no alignment requirement.
        let v = unsafe { v128_load(group.as_ptr() as *const v128) };
        let a = f32x4_abs(v);
        let a = f32x4_max(a, i32x4_shuffle::<2, 3, 0, 1>(a, a));
        let amax = f32x4_extract_lane::<0>(f32x4_max(a, i32x4_shuffle::<1, 0, 3, 2>(a, a)));
        let (dg, id) = scale_of(amax);
        d[g] = dg;
        let y = f32x4_mul(v, f32x4_splat(id));
        let t = f32x4_trunc(y);
        let step = f32x4_ge(f32x4_abs(f32x4_sub(y, t)), f32x4_splat(0.5));
        let away = v128_or(v128_and(y, sign), f32x4_splat(1.0));
        let q = i32x4_trunc_sat_f32x4(f32x4_add(t, v128_and(step, away)));
        let q = i32x4_max(i32x4_min(q, i32x4_splat(127)), i32x4_splat(-127));
        let q = i8x16_narrow_i16x8(i16x8_narrow_i32x4(q, q), i16x8_splat(0));
        *out = i32x4_extract_lane::<0>(q).to_le_bytes().map(|b| b as i8);
    }
}

/// 16 unsigned bytes below 128 as [`Split`].
#[inline]
fn split_unsigned(v: v128) -> Split {
    [v128_and(v, u16x8_splat(0x00ff)), u16x8_shr(v, 8)]
}

/// 16 signed bytes as [`Split`], sign-extended.
#[inline]
fn split_signed(v: v128) -> Split {
    [i16x8_shr(i16x8_shl(v, 8), 8), i16x8_shr(v, 8)]
}

/// 32 activations widened, their 8 scales and `s = Σ d·q`.
#[derive(Clone, Copy)]
pub(crate) struct WideX {
    q: [Split; 2],
    d: [v128; 2],
    s: f32,
}

impl WideX {
    #[inline]
    fn new(b: &BlockQ8) -> Self {
        WideX { q: load32(&b.qs).map(split_signed), d: load32(&b.d), s: b.s }
    }
}

/// `Σ` of each run of 4 products of 16 weights and 16 activations, one run per lane.
#[inline]
fn group_sums(w: &Split, x: &Split) -> v128 {
    i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1]))
}

/// Adds `Σ d_x[lane]·sums[lane]` over a 32-value block to `tmp` (weight scales come later).
#[inline]
fn lanes_add(tmp: v128, x: &WideX, sums: [v128; 2]) -> v128 {
    let tmp = f32x4_add(tmp, f32x4_mul(x.d[0], f32x4_convert_i32x4(sums[0])));
    f32x4_add(tmp, f32x4_mul(x.d[1], f32x4_convert_i32x4(sums[1])))
}

/// The 32 values of a 4-bit block as two [`Split`] runs (low nibbles are elements 0..16, high
/// ones 16..32), straight from the packed bytes seen as 16-bit lanes.
#[inline]
fn nibbles(qs: &[u8; 16]) -> [Split; 2] {
    let raw = load16(qs);
    let m = u16x8_splat(0x000f);
    [[v128_and(raw, m), v128_and(u16x8_shr(raw, 8), m)], [v128_and(u16x8_shr(raw, 4), m), u16x8_shr(raw, 12)]]
}

/// Bit `j` of `bits` → 0x10 in the lane of element `j`, as two [`Split`] runs: each lane tests
/// its bit of the run's 16 bits (`2k` in even lane `k`, `2k + 1` in odd lane `k`).
#[inline]
fn fifth_bits(bits: u32) -> [Split; 2] {
    const EVEN: v128 = u16x8(1, 1 << 2, 1 << 4, 1 << 6, 1 << 8, 1 << 10, 1 << 12, 1 << 14);
    const ODD: v128 = u16x8(1 << 1, 1 << 3, 1 << 5, 1 << 7, 1 << 9, 1 << 11, 1 << 13, 1 << 15);
    let test = |run: v128, bit: v128| v128_and(i16x8_eq(v128_and(run, bit), bit), u16x8_splat(0x10));
    let (low, high) = (u16x8_splat(bits as u16), u16x8_splat((bits >> 16) as u16));
    [[test(low, EVEN), test(low, ODD)], [test(high, EVEN), test(high, ODD)]]
}

/// `a | b` lane by lane.
#[inline]
fn or_split(a: [Split; 2], b: [Split; 2]) -> [Split; 2] {
    [0, 1].map(|h| [v128_or(a[h][0], b[h][0]), v128_or(a[h][1], b[h][1])])
}

#[inline]
fn or2(a: Bytes32, b: Bytes32) -> Bytes32 {
    [v128_or(a[0], b[0]), v128_or(a[1], b[1])]
}

/// A 32-element block widened, its scale, and the factor of `x.s` (`−offset·d`, the block
/// minimum, or 0 for Q8_0).
#[derive(Clone, Copy)]
pub(crate) struct Small {
    q: [Split; 2],
    d: f32,
    c: f32,
}

#[inline]
fn dot_small(w: &Small, x: &WideX, acc: &mut Acc) {
    let sums = [0, 1].map(|h| group_sums(&w.q[h], &x.q[h]));
    acc.v = f32x4_add(acc.v, f32x4_mul(lanes_add(f32x4_splat(0.0), x, sums), f32x4_splat(w.d)));
    acc.s += w.c * x.s;
}

/// The `Kernel` impl of a 32-element format: `$load` unpacks a block into a [`Small`].
macro_rules! small_kernel {
    ($($block:ty => |$b:ident| $load:expr),* $(,)?) => {$(
        impl Kernel for $block {
            type W = Small;
            type X = WideX;
            #[inline]
            fn load($b: &Self) -> Small {
                $load
            }
            #[inline]
            fn dot(w: &Small, x: &WideX, acc: &mut Acc) {
                dot_small(w, x, acc)
            }
            fn widen(x: &[BlockQ8]) -> Vec<WideX> {
                x.iter().map(WideX::new).collect()
            }
        }
    )*};
}

small_kernel!(
    BlockQ4_0 => |b| {
        let d = f16_to_f32(b.d);
        Small { q: nibbles(&b.qs), d, c: -8.0 * d }
    },
    BlockQ4_1 => |b| Small { q: nibbles(&b.qs), d: f16_to_f32(b.d), c: f16_to_f32(b.m) },
    BlockQ5_0 => |b| {
        let d = f16_to_f32(b.d);
        let q = or_split(nibbles(&b.qs), fifth_bits(u32::from_le_bytes(b.qh)));
        Small { q, d, c: -16.0 * d }
    },
    BlockQ5_1 => |b| {
        let q = or_split(nibbles(&b.qs), fifth_bits(u32::from_le_bytes(b.qh)));
        Small { q, d: f16_to_f32(b.d), c: f16_to_f32(b.m) }
    },
    // Signed weights, no offset.
    BlockQ8_0 => |b| Small { q: load32(&b.qs).map(split_signed), d: f16_to_f32(b.d), c: 0.0 },
);

/// A K-quant super-block unpacked: eight 32-value sub-blocks widened, the integer scale of
/// each 16-value half, and the super-block scale.
#[derive(Clone, Copy)]
pub(crate) struct Super {
    q: [[Split; 2]; 8],
    scales: [i32; 16],
    d: f32,
}

/// The activations of one super-block.
type WideX8 = [WideX; 8];

fn widen_super(x: &[[BlockQ8; 8]]) -> Vec<WideX8> {
    x.iter().map(|b| b.each_ref().map(WideX::new)).collect()
}

/// `d·Σ_j Σ_half sc·Σ q·x` of a super-block, added to `acc.v`.
#[inline]
fn super_dot(w: &Super, x: &WideX8, acc: &mut Acc) {
    let mut tmp = f32x4_splat(0.0);
    for (j, x) in x.iter().enumerate() {
        // Integer sums times integer scales: exact, as in the scalar reference.
        let sums = [0, 1].map(|h| i32x4_mul(group_sums(&w.q[j][h], &x.q[h]), i32x4_splat(w.scales[2 * j + h])));
        tmp = lanes_add(tmp, x, sums);
    }
    acc.v = f32x4_add(acc.v, f32x4_mul(tmp, f32x4_splat(w.d)));
}

/// A Q4_K/Q5_K super-block: its [`Super`] and `dmin·m` per sub-block.
#[derive(Clone, Copy)]
pub(crate) struct KQuant {
    sup: Super,
    mins: [f32; 8],
}

fn k_quant(q: [Bytes32; 8], scales: &[u8; 12], d: half::f16, dmin: half::f16) -> KQuant {
    let q = q.map(|sub| sub.map(split_unsigned));
    let (sc, mins) = k_half_scales_and_mins(scales, f16_to_f32(dmin));
    KQuant { sup: Super { q, scales: sc, d: f16_to_f32(d) }, mins }
}

/// `d·Σ sc·Σ q·x − Σ dmin·m·Σx` over the eight sub-blocks.
#[inline]
fn k_dot(w: &KQuant, x: &WideX8, acc: &mut Acc) {
    super_dot(&w.sup, x, acc);
    for (m, x) in w.mins.iter().zip(x) {
        acc.s -= m * x.s;
    }
}

/// Q4_K's 4-bit values: 32-byte chunk `c` holds sub-block `2c` in its low nibbles and
/// `2c + 1` in its high ones.
#[inline]
fn q4k_values(qs: &[u8; 128]) -> [Bytes32; 8] {
    let mut q = [[u8x16_splat(0); 2]; 8];
    for (c, chunk) in qs.as_chunks::<32>().0.iter().enumerate() {
        let raw = load32(chunk);
        q[2 * c] = raw.map(|v| v128_and(v, u8x16_splat(0x0f)));
        q[2 * c + 1] = raw.map(|v| u8x16_shr(v, 4));
    }
    q
}

/// Q5_K's values: Q4_K's plus bit `j` of `qh[l]` as the fifth bit of sub-block `j`, value `l`.
#[inline]
fn q5k_values(qs: &[u8; 128], qh: &[u8; 32]) -> [Bytes32; 8] {
    let high = load32(qh);
    let mut q = q4k_values(qs);
    for (j, q) in q.iter_mut().enumerate() {
        // Move bit `j` to bit 4.
        let bit = high.map(|h| v128_and(u8x16_shl(u8x16_shr(h, j as u32), 4), u8x16_splat(0x10)));
        *q = or2(*q, bit);
    }
    q
}

impl Kernel for BlockQ4K {
    type W = KQuant;
    type X = WideX8;
    #[inline]
    fn load(b: &Self) -> KQuant {
        k_quant(q4k_values(&b.qs), &b.scales, b.d, b.dmin)
    }
    #[inline]
    fn dot(w: &KQuant, x: &WideX8, acc: &mut Acc) {
        k_dot(w, x, acc)
    }
    fn widen(x: &[[BlockQ8; 8]]) -> Vec<WideX8> {
        widen_super(x)
    }
}

impl Kernel for BlockQ5K {
    type W = KQuant;
    type X = WideX8;
    #[inline]
    fn load(b: &Self) -> KQuant {
        k_quant(q5k_values(&b.qs, &b.qh), &b.scales, b.d, b.dmin)
    }
    #[inline]
    fn dot(w: &KQuant, x: &WideX8, acc: &mut Acc) {
        k_dot(w, x, acc)
    }
    fn widen(x: &[[BlockQ8; 8]]) -> Vec<WideX8> {
        widen_super(x)
    }
}

/// Q6_K's values `q − 32`, per 128-value half `h`: 4 low bits from `ql` (two 32-byte chunks,
/// low then high nibbles), 2 high bits from `qh` (bit pairs 0-1, 2-3, 4-5, 6-7).
#[inline]
fn q6k_values(b: &BlockQ6K) -> [Bytes32; 8] {
    let m4 = u8x16_splat(0x0f);
    let mut q = [[u8x16_splat(0); 2]; 8];
    let (ql, qh) = (b.ql.as_chunks::<32>().0, b.qh.as_chunks::<32>().0);
    for h in 0..2 {
        let (ql0, ql1, high) = (load32(&ql[2 * h]), load32(&ql[2 * h + 1]), load32(&qh[h]));
        for i in 0..2 {
            let bits = |mask: u8| v128_and(high[i], u8x16_splat(mask));
            let six = [
                v128_or(v128_and(ql0[i], m4), u8x16_shl(bits(0x03), 4)),
                v128_or(v128_and(ql1[i], m4), u8x16_shl(bits(0x0c), 2)),
                v128_or(u8x16_shr(ql0[i], 4), bits(0x30)),
                v128_or(u8x16_shr(ql1[i], 4), u8x16_shr(bits(0xc0), 2)),
            ];
            for (k, v) in six.into_iter().enumerate() {
                q[4 * h + k][i] = i8x16_sub(v, i8x16_splat(32));
            }
        }
    }
    q
}

impl Kernel for BlockQ6K {
    type W = Super;
    type X = WideX8;
    #[inline]
    fn load(b: &Self) -> Super {
        Super { q: q6k_values(b).map(|sub| sub.map(split_signed)), scales: b.scales.map(i32::from), d: f16_to_f32(b.d) }
    }
    #[inline]
    fn dot(w: &Super, x: &WideX8, acc: &mut Acc) {
        super_dot(w, x, acc)
    }
    fn widen(x: &[[BlockQ8; 8]]) -> Vec<WideX8> {
        widen_super(x)
    }
}

fn hsum(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v)) + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
}

/// `R` rows × `T` tokens over all blocks of a row.
#[inline]
fn tile<B: Kernel, const R: usize, const T: usize>(w: &[B], nb: usize, r0: usize, x: &[B::X], t0: usize, out: &OutRows) {
    let mut acc = [[Acc { v: f32x4_splat(0.0), s: 0.0 }; T]; R];
    let rows: [&[B]; R] = std::array::from_fn(|i| &w[(r0 + i) * nb..(r0 + i + 1) * nb]);
    let toks: [&[B::X]; T] = std::array::from_fn(|j| &x[(t0 + j) * nb..(t0 + j + 1) * nb]);
    for kb in 0..nb {
        for i in 0..R {
            let wb = B::load(&rows[i][kb]);
            for j in 0..T {
                B::dot(&wb, &toks[j][kb], &mut acc[i][j]);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, a) in row.iter().enumerate() {
            out.set(t0 + j, r0 + i, hsum(a.v) + a.s);
        }
    }
}

/// Rows `rows` of `out = x·Wᵀ` for `m` tokens.
pub(crate) fn gemm<B: Kernel>(w: &[B], nb: usize, rows: Range<usize>, x: &[B::Act], m: usize, out: &OutRows) {
    let x = &B::widen(x)[..];
    let mut chunk = rows.start;
    while chunk < rows.end {
        let chunk_end = (chunk + ROW_CHUNK).min(rows.end);
        if m == 1 {
            let mut r = chunk;
            while r + ROW_TILE <= chunk_end {
                tile::<B, ROW_TILE, 1>(w, nb, r, x, 0, out);
                r += ROW_TILE;
            }
            for r in r..chunk_end {
                tile::<B, 1, 1>(w, nb, r, x, 0, out);
            }
        } else {
            let mut t = 0;
            while t + TOKEN_TILE <= m {
                for r in chunk..chunk_end {
                    tile::<B, 1, TOKEN_TILE>(w, nb, r, x, t, out);
                }
                t += TOKEN_TILE;
            }
            for t in t..m {
                for r in chunk..chunk_end {
                    tile::<B, 1, 1>(w, nb, r, x, t, out);
                }
            }
        }
        chunk = chunk_end;
    }
}
