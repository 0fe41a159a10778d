//! wasm32 `simd128` kernels, compiled only with `-C target-feature=+simd128` (wasm has no run-time
//! feature detection: a module with SIMD instructions does not load on an engine without them).
//!
//! Every weight fits a signed byte (4/5/6-bit values are below 64, Q8_0 is signed, Q6_K's
//! `q − 32` lies in ±32), so a block's dot product is `extmul` into 16-bit products, a pairwise
//! add into 32 bits and one shuffle-add so that each 32-bit lane holds the 4 products that share
//! one activation scale. Offsets and minimums go through the activation sums, as in the scalar
//! `vec_dot`s; each block is unpacked once by `load` and reused for every token of a tile.
use std::arch::wasm32::*;
use std::ops::Range;

use crate::act::{BlockQ8, BlockQ8x8};
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
    fn load(b: &Self) -> Self::W;
    fn dot(w: &Self::W, x: &Self::Act, acc: &mut Acc);
}

/// 32 values as bytes, in element order (two registers).
type Bytes32 = [v128; 2];

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

/// `Σ` of each run of 4 products of 16 weights and 16 activations, one run per lane.
#[inline]
fn group_sums(w: v128, x: v128) -> v128 {
    let lo = i32x4_extadd_pairwise_i16x8(i16x8_extmul_low_i8x16(w, x));
    let hi = i32x4_extadd_pairwise_i16x8(i16x8_extmul_high_i8x16(w, x));
    // Lanes hold pairs of products; add neighbouring pairs across both halves.
    i32x4_add(i32x4_shuffle::<0, 2, 4, 6>(lo, hi), i32x4_shuffle::<1, 3, 5, 7>(lo, hi))
}

/// Adds `Σ d_x[lane]·sums[lane]` over a 32-value block to `tmp` (weight scales come later).
#[inline]
fn lanes_add(tmp: v128, x: &BlockQ8, sums: [v128; 2]) -> v128 {
    let d = load32(&x.d);
    let tmp = f32x4_add(tmp, f32x4_mul(d[0], f32x4_convert_i32x4(sums[0])));
    f32x4_add(tmp, f32x4_mul(d[1], f32x4_convert_i32x4(sums[1])))
}

/// The 32 nibbles of a 32-element block: low nibbles are elements 0..16, high ones 16..32.
#[inline]
fn nibbles(qs: &[u8; 16]) -> Bytes32 {
    let raw = load16(qs);
    [v128_and(raw, u8x16_splat(0x0f)), u8x16_shr(raw, 4)]
}

/// Bit `j` of `bits` → byte `j` = 0x10 (else 0): broadcast byte `j / 8`, test bit `j % 8`.
#[inline]
fn fifth_bits(bits: u32) -> Bytes32 {
    let select = u64x2_splat(0x8040_2010_0804_0201);
    let b = bits.to_le_bytes().map(|b| b as u64 * 0x0101_0101_0101_0101);
    [0, 1].map(|h| {
        let set = i8x16_eq(v128_and(u64x2(b[2 * h], b[2 * h + 1]), select), select);
        v128_and(set, u8x16_splat(0x10))
    })
}

#[inline]
fn or2(a: Bytes32, b: Bytes32) -> Bytes32 {
    [v128_or(a[0], b[0]), v128_or(a[1], b[1])]
}

/// A 32-element block as bytes, its scale, and the factor of `x.s` (`−offset·d`, the block
/// minimum, or 0 for Q8_0).
#[derive(Clone, Copy)]
pub(crate) struct Small {
    q: Bytes32,
    d: f32,
    c: f32,
}

#[inline]
fn dot_small(w: &Small, x: &BlockQ8, acc: &mut Acc) {
    let xq = load32(&x.qs);
    let sums = [0, 1].map(|h| group_sums(w.q[h], xq[h]));
    acc.v = f32x4_add(acc.v, f32x4_mul(lanes_add(f32x4_splat(0.0), x, sums), f32x4_splat(w.d)));
    acc.s += w.c * x.s;
}

/// The `Kernel` impl of a 32-element format: `$load` unpacks a block into a [`Small`].
macro_rules! small_kernel {
    ($($block:ty => |$b:ident| $load:expr),* $(,)?) => {$(
        impl Kernel for $block {
            type W = Small;
            #[inline]
            fn load($b: &Self) -> Small {
                $load
            }
            #[inline]
            fn dot(w: &Small, x: &BlockQ8, acc: &mut Acc) {
                dot_small(w, x, acc)
            }
        }
    )*};
}

small_kernel!(
    BlockQ4_0 => |b| {
        let d = b.d.to_f32();
        Small { q: nibbles(&b.qs), d, c: -8.0 * d }
    },
    BlockQ4_1 => |b| Small { q: nibbles(&b.qs), d: b.d.to_f32(), c: b.m.to_f32() },
    BlockQ5_0 => |b| {
        let d = b.d.to_f32();
        Small { q: or2(nibbles(&b.qs), fifth_bits(u32::from_le_bytes(b.qh))), d, c: -16.0 * d }
    },
    BlockQ5_1 => |b| {
        let q = or2(nibbles(&b.qs), fifth_bits(u32::from_le_bytes(b.qh)));
        Small { q, d: b.d.to_f32(), c: b.m.to_f32() }
    },
    // Signed weights: `extmul` takes them as they are, and there is no offset.
    BlockQ8_0 => |b| Small { q: load32(&b.qs), d: b.d.to_f32(), c: 0.0 },
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
#[inline]
fn super_dot(w: &Super, x: &BlockQ8x8, acc: &mut Acc) {
    let mut tmp = f32x4_splat(0.0);
    for (j, x) in x.iter().enumerate() {
        let xq = load32(&x.qs);
        // Integer sums times integer scales: exact, as in the scalar reference.
        let sums = [0, 1].map(|h| i32x4_mul(group_sums(w.q[j][h], xq[h]), i32x4_splat(w.scales[2 * j + h])));
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
    let dmin = dmin.to_f32();
    let (mut sc, mut mins) = ([0i32; 16], [0f32; 8]);
    let (packed_sc, packed_m) = k_scales_mins(scales);
    for j in 0..8 {
        let (s, m) = ((packed_sc >> (8 * j)) as u8, (packed_m >> (8 * j)) as u8);
        // Both 16-value halves of a sub-block share its scale.
        sc[2 * j] = s as i32;
        sc[2 * j + 1] = s as i32;
        mins[j] = dmin * m as f32;
    }
    KQuant { sup: Super { q, scales: sc, d: d.to_f32() }, mins }
}

/// `d·Σ sc·Σ q·x − Σ dmin·m·Σx` over the eight sub-blocks.
#[inline]
fn k_dot(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
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
    #[inline]
    fn load(b: &Self) -> KQuant {
        k_quant(q4k_values(&b.qs), &b.scales, b.d, b.dmin)
    }
    #[inline]
    fn dot(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
        k_dot(w, x, acc)
    }
}

impl Kernel for BlockQ5K {
    type W = KQuant;
    #[inline]
    fn load(b: &Self) -> KQuant {
        k_quant(q5k_values(&b.qs, &b.qh), &b.scales, b.d, b.dmin)
    }
    #[inline]
    fn dot(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
        k_dot(w, x, acc)
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
    #[inline]
    fn load(b: &Self) -> Super {
        Super { q: q6k_values(b), scales: b.scales.map(i32::from), d: b.d.to_f32() }
    }
    #[inline]
    fn dot(w: &Super, x: &BlockQ8x8, acc: &mut Acc) {
        super_dot(w, x, acc)
    }
}

fn hsum(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v)) + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
}

/// `R` rows × `T` tokens over all blocks of a row.
#[inline]
fn tile<B: Kernel, const R: usize, const T: usize>(w: &[B], nb: usize, r0: usize, x: &[B::Act], t0: usize, out: &OutRows) {
    let mut acc = [[Acc { v: f32x4_splat(0.0), s: 0.0 }; T]; R];
    let rows: [&[B]; R] = std::array::from_fn(|i| &w[(r0 + i) * nb..(r0 + i + 1) * nb]);
    let toks: [&[B::Act]; T] = std::array::from_fn(|j| &x[(t0 + j) * nb..(t0 + j + 1) * nb]);
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
