//! aarch64 NEON kernels, on baseline NEON only (`sdot` is not stable in Rust yet).
//!
//! Every weight fits a signed byte (4/5/6-bit values are below 64, Q8_0 is signed, Q6_K's
//! `q − 32` lies in ±32), so a block's dot product is `smull` into 16-bit products and two
//! pairwise adds into one 32-bit lane per 4 products: exactly the values that share one
//! activation scale. Offsets and minimums go through the activation sums, as in the scalar
//! `vec_dot`s; each block is unpacked once by `load` and reused for every token of a tile.
use std::arch::aarch64::*;
use std::ops::Range;

use crate::act::{BlockQ8, BlockQ8x8};
use crate::blocks::*;
use crate::kernels::{OutRows, ROW_CHUNK, ROW_TILE, TOKEN_TILE};

/// Four lanes of partial sums plus the scalar per-block corrections.
#[derive(Clone, Copy)]
pub(crate) struct Acc {
    v: float32x4_t,
    s: f32,
}

/// One block format on NEON.
pub(crate) trait Kernel: Block {
    /// A block unpacked for reuse across the tokens of a tile.
    type W: Copy;
    unsafe fn load(b: &Self) -> Self::W;
    unsafe fn dot(w: &Self::W, x: &Self::Act, acc: &mut Acc);
}

/// 32 values as bytes, in element order (two registers).
type Bytes32 = [int8x16_t; 2];

#[target_feature(enable = "neon")]
#[inline]
fn load16(p: &[u8; 16]) -> uint8x16_t {
    // SAFETY: reads the 16 bytes of `p`.
    unsafe { vld1q_u8(p.as_ptr()) }
}

#[target_feature(enable = "neon")]
#[inline]
fn load32(p: &[u8; 32]) -> [uint8x16_t; 2] {
    // SAFETY: reads the 32 bytes of `p`.
    unsafe { [vld1q_u8(p.as_ptr()), vld1q_u8(p.as_ptr().add(16))] }
}

#[target_feature(enable = "neon")]
#[inline]
fn load_i8x32(q: &[i8; 32]) -> Bytes32 {
    // SAFETY: reads the 32 bytes of `q`.
    unsafe { [vld1q_s8(q.as_ptr()), vld1q_s8(q.as_ptr().add(16))] }
}

/// `Σ` of each run of 4 products of 16 weights and 16 activations, one run per lane.
#[target_feature(enable = "neon")]
#[inline]
fn group_sums(w: int8x16_t, x: int8x16_t) -> int32x4_t {
    let lo = vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(x)));
    let hi = vpaddlq_s16(vmull_high_s8(w, x));
    vpaddq_s32(lo, hi)
}

/// Adds `Σ d_x[lane]·sums[lane]` over a 32-value block to `tmp` (weight scales come later).
#[target_feature(enable = "neon")]
#[inline]
fn lanes_add(tmp: float32x4_t, x: &BlockQ8, sums: [int32x4_t; 2]) -> float32x4_t {
    // SAFETY: reads the 8 scales of `x.d`.
    let d = unsafe { [vld1q_f32(x.d.as_ptr()), vld1q_f32(x.d.as_ptr().add(4))] };
    let tmp = vfmaq_f32(tmp, d[0], vcvtq_f32_s32(sums[0]));
    vfmaq_f32(tmp, d[1], vcvtq_f32_s32(sums[1]))
}

/// The 32 nibbles of a 32-element block: low nibbles are elements 0..16, high ones 16..32.
#[target_feature(enable = "neon")]
#[inline]
fn nibbles(qs: &[u8; 16]) -> [uint8x16_t; 2] {
    let raw = load16(qs);
    [vandq_u8(raw, vdupq_n_u8(0x0f)), vshrq_n_u8::<4>(raw)]
}

/// Bit `j` of `bits` → byte `j` = 0x10 (else 0): broadcast byte `j / 8`, test bit `j % 8`.
#[target_feature(enable = "neon")]
#[inline]
fn fifth_bits(bits: u32) -> [uint8x16_t; 2] {
    let select = vreinterpretq_u8_u64(vdupq_n_u64(0x8040_2010_0804_0201));
    let b = bits.to_le_bytes();
    [0, 1].map(|h| {
        let bytes = vcombine_u8(vdup_n_u8(b[2 * h]), vdup_n_u8(b[2 * h + 1]));
        vandq_u8(vtstq_u8(bytes, select), vdupq_n_u8(0x10))
    })
}

#[target_feature(enable = "neon")]
#[inline]
fn or2(a: [uint8x16_t; 2], b: [uint8x16_t; 2]) -> [uint8x16_t; 2] {
    [vorrq_u8(a[0], b[0]), vorrq_u8(a[1], b[1])]
}

/// A 32-element block as bytes, its scale, and the factor of `x.s` (`−offset·d`, the block
/// minimum, or 0 for Q8_0).
#[derive(Clone, Copy)]
pub(crate) struct Small {
    q: Bytes32,
    d: f32,
    c: f32,
}

#[target_feature(enable = "neon")]
#[inline]
fn small(q: [uint8x16_t; 2], d: f32, c: f32) -> Small {
    Small { q: q.map(|v| vreinterpretq_s8_u8(v)), d, c }
}

#[target_feature(enable = "neon")]
#[inline]
fn dot_small(w: &Small, x: &BlockQ8, acc: &mut Acc) {
    let xq = load_i8x32(&x.qs);
    let sums = [0, 1].map(|h| group_sums(w.q[h], xq[h]));
    acc.v = vfmaq_n_f32(acc.v, lanes_add(vdupq_n_f32(0.0), x, sums), w.d);
    acc.s += w.c * x.s;
}

/// The `Kernel` impl of a 32-element format: `$load` unpacks a block into a [`Small`].
macro_rules! small_kernel {
    ($($block:ty => |$b:ident| $load:expr),* $(,)?) => {$(
        impl Kernel for $block {
            type W = Small;
            #[target_feature(enable = "neon")]
            #[inline]
            unsafe fn load($b: &Self) -> Small {
                $load
            }
            #[target_feature(enable = "neon")]
            #[inline]
            unsafe fn dot(w: &Small, x: &BlockQ8, acc: &mut Acc) {
                dot_small(w, x, acc)
            }
        }
    )*};
}

small_kernel!(
    BlockQ4_0 => |b| {
        let d = b.d.to_f32();
        small(nibbles(&b.qs), d, -8.0 * d)
    },
    BlockQ4_1 => |b| small(nibbles(&b.qs), b.d.to_f32(), b.m.to_f32()),
    BlockQ5_0 => |b| {
        let d = b.d.to_f32();
        small(or2(nibbles(&b.qs), fifth_bits(u32::from_le_bytes(b.qh))), d, -16.0 * d)
    },
    BlockQ5_1 => |b| small(or2(nibbles(&b.qs), fifth_bits(u32::from_le_bytes(b.qh))), b.d.to_f32(), b.m.to_f32()),
    // Signed weights: `smull` takes them as they are, and there is no offset.
    BlockQ8_0 => |b| Small { q: load_i8x32(&b.qs), d: b.d.to_f32(), c: 0.0 },
);

/// A K-quant super-block unpacked: eight 32-value sub-blocks of signed bytes, the integer
/// scale of each 16-value half, and the super-block scale.
#[derive(Clone, Copy)]
pub(crate) struct Super {
    q: [Bytes32; 8],
    scales: [i32; 16],
    d: f32,
}

/// `d·Σ_j Σ_half sc·Σ q·x` of a super-block, added to `acc.v`.
#[target_feature(enable = "neon")]
#[inline]
fn super_dot(w: &Super, x: &BlockQ8x8, acc: &mut Acc) {
    let mut tmp = vdupq_n_f32(0.0);
    for (j, x) in x.iter().enumerate() {
        let xq = load_i8x32(&x.qs);
        // Integer sums times integer scales: exact, as in the scalar reference.
        let sums = [0, 1].map(|h| vmulq_n_s32(group_sums(w.q[j][h], xq[h]), w.scales[2 * j + h]));
        tmp = lanes_add(tmp, x, sums);
    }
    acc.v = vfmaq_n_f32(acc.v, tmp, w.d);
}

/// A Q4_K/Q5_K super-block: its [`Super`] and `dmin·m` per sub-block.
#[derive(Clone, Copy)]
pub(crate) struct KQuant {
    sup: Super,
    mins: [f32; 8],
}

#[target_feature(enable = "neon")]
#[inline]
fn k_quant(q: [[uint8x16_t; 2]; 8], scales: &[u8; 12], d: half::f16, dmin: half::f16) -> KQuant {
    let (sc, mins) = k_half_scales_and_mins(scales, dmin.to_f32());
    let q = q.map(|v| v.map(|v| vreinterpretq_s8_u8(v)));
    KQuant { sup: Super { q, scales: sc, d: d.to_f32() }, mins }
}

/// `d·Σ sc·Σ q·x − Σ dmin·m·Σx` over the eight sub-blocks.
#[target_feature(enable = "neon")]
#[inline]
fn k_dot(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
    super_dot(&w.sup, x, acc);
    for (m, x) in w.mins.iter().zip(x) {
        acc.s -= m * x.s;
    }
}

/// Q4_K's 4-bit values: 32-byte chunk `c` holds sub-block `2c` in its low nibbles and
/// `2c + 1` in its high ones.
#[target_feature(enable = "neon")]
#[inline]
fn q4k_values(qs: &[u8; 128]) -> [[uint8x16_t; 2]; 8] {
    let mut q = [[vdupq_n_u8(0); 2]; 8];
    for (c, chunk) in qs.as_chunks::<32>().0.iter().enumerate() {
        let raw = load32(chunk);
        q[2 * c] = raw.map(|v| vandq_u8(v, vdupq_n_u8(0x0f)));
        q[2 * c + 1] = raw.map(|v| vshrq_n_u8::<4>(v));
    }
    q
}

/// Q5_K's values: Q4_K's plus bit `j` of `qh[l]` as the fifth bit of sub-block `j`, value `l`.
#[target_feature(enable = "neon")]
#[inline]
fn q5k_values(qs: &[u8; 128], qh: &[u8; 32]) -> [[uint8x16_t; 2]; 8] {
    let high = load32(qh);
    let mut q = q4k_values(qs);
    for (j, q) in q.iter_mut().enumerate() {
        let bit = high.map(|h| vandq_u8(vtstq_u8(h, vdupq_n_u8(1 << j)), vdupq_n_u8(0x10)));
        *q = or2(*q, bit);
    }
    q
}

impl Kernel for BlockQ4K {
    type W = KQuant;
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn load(b: &Self) -> KQuant {
        k_quant(q4k_values(&b.qs), &b.scales, b.d, b.dmin)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn dot(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
        k_dot(w, x, acc)
    }
}

impl Kernel for BlockQ5K {
    type W = KQuant;
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn load(b: &Self) -> KQuant {
        k_quant(q5k_values(&b.qs, &b.qh), &b.scales, b.d, b.dmin)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn dot(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
        k_dot(w, x, acc)
    }
}

/// Q6_K's values `q − 32`, per 128-value half `h`: 4 low bits from `ql` (two 32-byte chunks,
/// low then high nibbles), 2 high bits from `qh` (bit pairs 0-1, 2-3, 4-5, 6-7).
#[target_feature(enable = "neon")]
#[inline]
fn q6k_values(b: &BlockQ6K) -> [Bytes32; 8] {
    let m4 = vdupq_n_u8(0x0f);
    let (ql, qh) = (b.ql.as_chunks::<32>().0, b.qh.as_chunks::<32>().0);
    let mut q = [[vdupq_n_s8(0); 2]; 8];
    for h in 0..2 {
        let (ql0, ql1, high) = (load32(&ql[2 * h]), load32(&ql[2 * h + 1]), load32(&qh[h]));
        for i in 0..2 {
            let bits = |mask: u8| vandq_u8(high[i], vdupq_n_u8(mask));
            let six = [
                vorrq_u8(vandq_u8(ql0[i], m4), vshlq_n_u8::<4>(bits(0x03))),
                vorrq_u8(vandq_u8(ql1[i], m4), vshlq_n_u8::<2>(bits(0x0c))),
                vorrq_u8(vshrq_n_u8::<4>(ql0[i]), bits(0x30)),
                vorrq_u8(vshrq_n_u8::<4>(ql1[i]), vshrq_n_u8::<2>(bits(0xc0))),
            ];
            for (k, v) in six.into_iter().enumerate() {
                q[4 * h + k][i] = vsubq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(32));
            }
        }
    }
    q
}

impl Kernel for BlockQ6K {
    type W = Super;
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn load(b: &Self) -> Super {
        Super { q: q6k_values(b), scales: b.scales.map(i32::from), d: b.d.to_f32() }
    }
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn dot(w: &Super, x: &BlockQ8x8, acc: &mut Acc) {
        super_dot(w, x, acc)
    }
}

/// `R` rows × `T` tokens over all blocks of a row.
#[target_feature(enable = "neon")]
#[inline]
unsafe fn tile<B: Kernel, const R: usize, const T: usize>(w: &[B], nb: usize, r0: usize, x: &[B::Act], t0: usize, out: &OutRows) {
    let mut acc = [[Acc { v: vdupq_n_f32(0.0), s: 0.0 }; T]; R];
    let rows: [&[B]; R] = std::array::from_fn(|i| &w[(r0 + i) * nb..(r0 + i + 1) * nb]);
    let toks: [&[B::Act]; T] = std::array::from_fn(|j| &x[(t0 + j) * nb..(t0 + j + 1) * nb]);
    for kb in 0..nb {
        for i in 0..R {
            // SAFETY: kb < nb = each slice's length; NEON is enabled here.
            let wb = unsafe { B::load(rows[i].get_unchecked(kb)) };
            for j in 0..T {
                unsafe { B::dot(&wb, toks[j].get_unchecked(kb), &mut acc[i][j]) };
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, a) in row.iter().enumerate() {
            out.set(t0 + j, r0 + i, vaddvq_f32(a.v) + a.s);
        }
    }
}

/// Rows `rows` of `out = x·Wᵀ` for `m` tokens.
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn gemm<B: Kernel>(w: &[B], nb: usize, rows: Range<usize>, x: &[B::Act], m: usize, out: &OutRows) {
    let mut chunk = rows.start;
    while chunk < rows.end {
        let chunk_end = (chunk + ROW_CHUNK).min(rows.end);
        if m == 1 {
            let mut r = chunk;
            while r + ROW_TILE <= chunk_end {
                unsafe { tile::<B, ROW_TILE, 1>(w, nb, r, x, 0, out) };
                r += ROW_TILE;
            }
            for r in r..chunk_end {
                unsafe { tile::<B, 1, 1>(w, nb, r, x, 0, out) };
            }
        } else {
            let mut t = 0;
            while t + TOKEN_TILE <= m {
                for r in chunk..chunk_end {
                    unsafe { tile::<B, 1, TOKEN_TILE>(w, nb, r, x, t, out) };
                }
                t += TOKEN_TILE;
            }
            for t in t..m {
                for r in chunk..chunk_end {
                    unsafe { tile::<B, 1, 1>(w, nb, r, x, t, out) };
                }
            }
        }
        chunk = chunk_end;
    }
}
