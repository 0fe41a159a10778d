//! AVX-512 kernels (F, BW, VL, VNNI) on 512-bit registers: each instruction covers 64 values,
//! two 32-value blocks or a quarter of a K-quant super-block.
//!
//! Each thread first copies its activations into a layout 512-bit loads want (values
//! contiguous, scales contiguous); that costs one pass over `m × cols` bytes per call, next to
//! `rows × cols × m` multiply-adds. Per (row, token, 64 values) the 32-value formats then take
//! four vector instructions: `vpdpbusd`, a scale product, a conversion and an FMA. Offsets
//! (`q − 8`, `q − 16`, and Q8_0 stored as `q + 128`) start the integer sum at `−offset·Σx`,
//! computed once per token and shared by the rows of a tile; minimums add `m·Σx` the same way.
use std::arch::x86_64::*;
use std::ops::Range;

use crate::act::BlockQ8;
use crate::blocks::*;
use crate::kernels::{OutRows, ROW_CHUNK};

macro_rules! zmm_fn {
    ($(#[$m:meta])* unsafe fn $($rest:tt)*) => {
        $(#[$m])*
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        #[inline]
        unsafe fn $($rest)*
    };
}

/// One token's activations at the start of a step: 8-bit values, a scale per 4 values, and
/// `s = Σ d·q` per 32 values.
#[derive(Clone, Copy)]
pub(crate) struct XAt {
    qs: *const i8,
    d: *const f32,
    s: *const f32,
}

/// The partial sums of one (row, token): 16 lanes, plus 8 for K-quant minimums.
#[derive(Clone, Copy)]
pub(crate) struct Acc {
    v: __m512,
    mins: __m256,
}

/// A block format on 512-bit registers.
pub(crate) trait Kernel: Block {
    /// Blocks per step (a step is 64 values or one super-block).
    const STEP: usize;
    /// Rows and tokens of a prefill tile.
    const ROWS: usize;
    /// Weights of one step, unpacked once per tile.
    type W: Copy;
    /// Activations of one step, prepared once per token and shared by the rows.
    type X: Copy;
    unsafe fn load(w: *const Self) -> Self::W;
    unsafe fn prep(x: XAt) -> Self::X;
    unsafe fn dot(w: &Self::W, x: &Self::X, acc: &mut Acc);
    /// The activation blocks of a row, one [`BlockQ8`] per 32 values.
    fn blocks(x: &[Self::Act]) -> &[BlockQ8];
}

zmm_fn! {
    /// Two f16 scales as 16 lanes: the first 8 lanes `a`, the last 8 `b`.
    unsafe fn scale_pair(a: half::f16, b: half::f16) -> __m512 {
        let both = _mm_cvtph_ps(_mm_cvtsi32_si128((a.to_bits() as u32 | (b.to_bits() as u32) << 16) as i32));
        _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_castps128_ps512(both))
    }
}

zmm_fn! {
    /// The nibbles of two 32-value blocks as 64 bytes in element order.
    unsafe fn nibbles2(a: &[u8; 16], b: &[u8; 16]) -> __m512i {
        let raw = unsafe { _mm256_set_m128i(_mm_loadu_si128(b.as_ptr() as *const __m128i), _mm_loadu_si128(a.as_ptr() as *const __m128i)) };
        let m4 = _mm256_set1_epi8(0x0f);
        let (lo, hi) = (_mm256_and_si256(raw, m4), _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4));
        // [lo a, lo b, hi a, hi b] → [lo a, hi a, lo b, hi b] (128-bit lanes).
        let z = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        _mm512_shuffle_i64x2(z, z, 0b11_01_10_00)
    }
}

/// Two 32-value blocks as unsigned bytes, their scales and (min formats) minimums.
#[derive(Clone, Copy)]
pub(crate) struct Pair {
    q: __m512i,
    d: __m512,
    m: __m512,
}

/// A token's 64 activations, their scales, and the start of the integer sum (`−offset·Σx`)
/// or the minimum's factor (`d·Σq` per lane).
#[derive(Clone, Copy)]
pub(crate) struct XPair {
    q: __m512i,
    d: __m512,
    init: __m512i,
    ds: __m512,
}

zmm_fn! {
    unsafe fn prep_pair<const OFFSET: u8, const MIN: bool>(x: XAt) -> XPair {
        let q = unsafe { _mm512_loadu_si512(x.qs as *const __m512i) };
        let d = unsafe { _mm512_loadu_ps(x.d) };
        let zero = _mm512_setzero_si512();
        let init = if OFFSET > 0 { _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(OFFSET as i8), q)) } else { zero };
        let ds = if MIN { _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, _mm512_set1_epi8(1), q))) } else { _mm512_setzero_ps() };
        XPair { q, d, init, ds }
    }
}

zmm_fn! {
    unsafe fn dot_pair<const MIN: bool>(w: &Pair, x: &XPair, acc: &mut Acc) {
        let sumi = _mm512_dpbusd_epi32(x.init, w.q, x.q);
        acc.v = _mm512_fmadd_ps(_mm512_mul_ps(w.d, x.d), _mm512_cvtepi32_ps(sumi), acc.v);
        if MIN {
            acc.v = _mm512_fmadd_ps(w.m, x.ds, acc.v);
        }
    }
}

/// `impl Kernel` for a 32-value format: `$load` unpacks two blocks `a`, `b` into `Pair`.
macro_rules! pair_kernel {
    ($block:ty, $offset:expr, $min:expr, |$a:ident, $b:ident| $load:expr) => {
        impl Kernel for $block {
            const STEP: usize = 2;
            const ROWS: usize = 2;
            type W = Pair;
            type X = XPair;
            zmm_fn! {
                unsafe fn load(w: *const Self) -> Pair {
                    let ($a, $b) = unsafe { (&*w, &*w.add(1)) };
                    unsafe { $load }
                }
            }
            zmm_fn! {
                unsafe fn prep(x: XAt) -> XPair {
                    unsafe { prep_pair::<$offset, $min>(x) }
                }
            }
            zmm_fn! {
                unsafe fn dot(w: &Pair, x: &XPair, acc: &mut Acc) {
                    unsafe { dot_pair::<$min>(w, x, acc) }
                }
            }
            fn blocks(x: &[BlockQ8]) -> &[BlockQ8] {
                x
            }
        }
    };
}

/// The fifth bits of two Q5 blocks as 0x10 bytes.
#[inline]
fn fifth_bits(a: [u8; 4], b: [u8; 4]) -> u64 {
    u32::from_le_bytes(a) as u64 | (u32::from_le_bytes(b) as u64) << 32
}

pair_kernel!(BlockQ4_0, 8, false, |a, b| Pair { q: nibbles2(&a.qs, &b.qs), d: scale_pair(a.d, b.d), m: _mm512_setzero_ps() });
pair_kernel!(BlockQ4_1, 0, true, |a, b| Pair { q: nibbles2(&a.qs, &b.qs), d: scale_pair(a.d, b.d), m: scale_pair(a.m, b.m) });
pair_kernel!(BlockQ5_0, 16, false, |a, b| Pair {
    q: _mm512_or_si512(nibbles2(&a.qs, &b.qs), _mm512_maskz_set1_epi8(fifth_bits(a.qh, b.qh), 0x10)),
    d: scale_pair(a.d, b.d),
    m: _mm512_setzero_ps(),
});
pair_kernel!(BlockQ5_1, 0, true, |a, b| Pair {
    q: _mm512_or_si512(nibbles2(&a.qs, &b.qs), _mm512_maskz_set1_epi8(fifth_bits(a.qh, b.qh), 0x10)),
    d: scale_pair(a.d, b.d),
    m: scale_pair(a.m, b.m),
});
// Q8_0 as `q + 128` (unsigned), offset 128: vpdpbusd needs an unsigned left operand.
pair_kernel!(BlockQ8_0, 128, false, |a, b| Pair {
    q: _mm512_xor_si512(
        _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256(a.qs.as_ptr() as *const __m256i)),
            _mm256_loadu_si256(b.qs.as_ptr() as *const __m256i),
            1
        ),
        _mm512_set1_epi8(-128)
    ),
    d: scale_pair(a.d, b.d),
    m: _mm512_setzero_ps(),
});

/// A K-quant super-block unpacked: four runs of 64 unsigned values, the integer scale of each
/// value pair (for `vpmaddwd`), the super-block scale, and `dmin·m` per sub-block.
#[derive(Clone, Copy)]
pub(crate) struct KBlock {
    q: [__m512i; 4],
    scales: [__m512i; 4],
    d: __m512,
    mins: __m256,
}

/// For each run `c` (64 values) of a super-block whose runs hold `groups` scale groups each, the
/// group of each of its 32 value pairs: `groups · c + i / (32 / groups)`.
const fn pair_groups(groups: usize) -> [[i16; 32]; 4] {
    let mut out = [[0i16; 32]; 4];
    let mut c = 0;
    while c < 4 {
        let mut i = 0;
        while i < 32 {
            out[c][i] = (groups * c + i / (32 / groups)) as i16;
            i += 1;
        }
        c += 1;
    }
    out
}

/// Q4_K/Q5_K: two 32-value sub-blocks per run.
const K_SUB_BLOCKS: [[i16; 32]; 4] = pair_groups(2);

zmm_fn! {
    unsafe fn k_block(d: half::f16, dmin: half::f16, scales: &[u8; 12], q: [__m512i; 4]) -> KBlock {
        let (sc, mins) = k_scales_mins(scales);
        let factors = _mm_cvtph_ps(_mm_cvtsi32_si128((d.to_bits() as u32 | (dmin.to_bits() as u32) << 16) as i32));
        let sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(sc as i64)));
        let mut scales = [_mm512_setzero_si512(); 4];
        for (c, v) in scales.iter_mut().enumerate() {
            *v = _mm512_permutexvar_epi16(unsafe { _mm512_loadu_si512(K_SUB_BLOCKS[c].as_ptr() as *const __m512i) }, sc16);
        }
        let mins = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(mins as i64)));
        KBlock {
            q,
            scales,
            d: _mm512_broadcastss_ps(factors),
            mins: _mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(factors)), mins),
        }
    }
}

zmm_fn! {
    /// 32 bytes of nibbles as 64 bytes: low nibbles (one sub-block) then high (the next).
    unsafe fn split_nibbles(raw: __m256i) -> __m512i {
        let m4 = _mm256_set1_epi8(0x0f);
        _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(raw, m4)), _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), 1)
    }
}

zmm_fn! {
    /// `d·Σ_j sc_j·Σ q·x − Σ_j dmin·m_j·s_j` for a Q4_K/Q5_K super-block.
    unsafe fn k_dot(w: &KBlock, x: &XAt, acc: &mut Acc) {
        let mut tmp = _mm512_setzero_ps();
        for c in 0..4 {
            let xq = unsafe { _mm512_loadu_si512(x.qs.add(64 * c) as *const __m512i) };
            let p = _mm512_madd_epi16(_mm512_maddubs_epi16(w.q[c], xq), w.scales[c]);
            tmp = _mm512_fmadd_ps(unsafe { _mm512_loadu_ps(x.d.add(16 * c)) }, _mm512_cvtepi32_ps(p), tmp);
        }
        acc.v = _mm512_fmadd_ps(w.d, tmp, acc.v);
        acc.mins = _mm256_fmadd_ps(w.mins, unsafe { _mm256_loadu_ps(x.s) }, acc.mins);
    }
}

/// `impl Kernel` for Q4_K/Q5_K: `$values` turns super-block `$b` into its four runs of 64
/// unsigned values; the scales, minimums and dot product are shared.
macro_rules! k_kernel {
    ($block:ty, |$b:ident| $values:expr) => {
        impl Kernel for $block {
            const STEP: usize = 1;
            const ROWS: usize = 1;
            type W = KBlock;
            type X = XAt;
            zmm_fn! {
                unsafe fn load(w: *const Self) -> KBlock {
                    let $b = unsafe { &*w };
                    let q: [__m512i; 4] = unsafe { $values };
                    unsafe { k_block($b.d, $b.dmin, &$b.scales, q) }
                }
            }
            zmm_fn! {
                unsafe fn prep(x: XAt) -> XAt {
                    x
                }
            }
            zmm_fn! {
                unsafe fn dot(w: &KBlock, x: &XAt, acc: &mut Acc) {
                    unsafe { k_dot(w, x, acc) }
                }
            }
            fn blocks(x: &[[BlockQ8; 8]]) -> &[BlockQ8] {
                x.as_flattened()
            }
        }
    };
}

zmm_fn! {
    /// Q4_K's runs: 32-byte chunk `c` holds sub-block `2c` in its low nibbles, `2c + 1` in its
    /// high ones.
    unsafe fn q4k_runs(b: &BlockQ4K) -> [__m512i; 4] {
        let mut q = [_mm512_setzero_si512(); 4];
        for (c, v) in q.iter_mut().enumerate() {
            *v = unsafe { split_nibbles(_mm256_loadu_si256(b.qs.as_ptr().add(32 * c) as *const __m256i)) };
        }
        q
    }
}

zmm_fn! {
    /// Q5_K's runs: Q4_K's, with bits `2c` and `2c + 1` of each `qh` byte as the fifth bits of
    /// the two sub-blocks of run `c`.
    unsafe fn q5k_runs(b: &BlockQ5K) -> [__m512i; 4] {
        let bit = _mm256_set1_epi8(0x10);
        let mut h = unsafe { _mm256_loadu_si256(b.qh.as_ptr() as *const __m256i) };
        let mut q = [_mm512_setzero_si512(); 4];
        for (c, v) in q.iter_mut().enumerate() {
            let (lo, hi) = (_mm256_and_si256(_mm256_slli_epi16(h, 4), bit), _mm256_and_si256(_mm256_slli_epi16(h, 3), bit));
            let fifth = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            *v = _mm512_or_si512(unsafe { split_nibbles(_mm256_loadu_si256(b.qs.as_ptr().add(32 * c) as *const __m256i)) }, fifth);
            h = _mm256_srli_epi16(h, 2);
        }
        q
    }
}

k_kernel!(BlockQ4K, |b| q4k_runs(b));
k_kernel!(BlockQ5K, |b| q5k_runs(b));

/// A Q6_K super-block unpacked: four runs of 64 values as `|q − 32|` with the sign bits of
/// `q − 32` (`vpmaddubsw` needs an unsigned left operand, so the sign moves to the activation),
/// the 16-value group scale of each value pair, and the super-block scale.
#[derive(Clone, Copy)]
pub(crate) struct Q6Block {
    abs: [__m512i; 4],
    negative: [__mmask64; 4],
    scales: [__m512i; 4],
    d: __m512,
}

zmm_fn! {
    /// Runs `2h` and `2h + 1` (64 values each) of Q6_K half `h`, unsigned: the low 32 bytes of
    /// a run take `qh` bits 0-1 (then 4-5), the high 32 bytes bits 2-3 (then 6-7).
    unsafe fn q6_half(b: &BlockQ6K, h: usize) -> [__m512i; 2] {
        let ql = unsafe { _mm512_loadu_si512(b.ql.as_ptr().add(64 * h) as *const __m512i) };
        let qh = _mm512_broadcast_i64x4(unsafe { _mm256_loadu_si256(b.qh.as_ptr().add(32 * h) as *const __m256i) });
        let (m4, bits) = (_mm512_set1_epi8(0x0f), _mm512_set1_epi8(0x30));
        let per_half = |lo: i64, hi: i64| _mm512_set_epi64(hi, hi, hi, hi, lo, lo, lo, lo);
        let first_high = _mm512_and_si512(_mm512_sllv_epi16(qh, per_half(0x0004_0004_0004_0004, 0x0002_0002_0002_0002)), bits);
        let second_high = _mm512_and_si512(_mm512_srlv_epi16(qh, per_half(0, 0x0002_0002_0002_0002)), bits);
        [
            _mm512_or_si512(_mm512_and_si512(ql, m4), first_high),
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), second_high),
        ]
    }
}

/// Q6_K: four 16-value scale groups per run.
const Q6_GROUPS: [[i16; 32]; 4] = pair_groups(4);

impl Kernel for BlockQ6K {
    const STEP: usize = 1;
    const ROWS: usize = 1;
    type W = Q6Block;
    type X = XAt;
    zmm_fn! {
        unsafe fn load(w: *const Self) -> Q6Block {
            let b = unsafe { &*w };
            let [a, c] = unsafe { q6_half(b, 0) };
            let [e, f] = unsafe { q6_half(b, 1) };
            let all = _mm512_cvtepi8_epi16(unsafe { _mm256_castsi128_si256(_mm_loadu_si128(b.scales.as_ptr() as *const __m128i)) });
            let mut w = Q6Block { abs: [a; 4], negative: [0; 4], scales: [a; 4], d: _mm512_set1_ps(b.d.to_f32()) };
            for (c, v) in [a, c, e, f].into_iter().enumerate() {
                let signed = _mm512_sub_epi8(v, _mm512_set1_epi8(32));
                w.abs[c] = _mm512_abs_epi8(signed);
                w.negative[c] = _mm512_movepi8_mask(signed);
                // Value pair i of run c lies in group 4c + i / 8.
                w.scales[c] = _mm512_permutexvar_epi16(unsafe { _mm512_loadu_si512(Q6_GROUPS[c].as_ptr() as *const __m512i) }, all);
            }
            w
        }
    }
    zmm_fn! {
        unsafe fn prep(x: XAt) -> XAt {
            x
        }
    }
    zmm_fn! {
        unsafe fn dot(w: &Q6Block, x: &XAt, acc: &mut Acc) {
            let mut tmp = _mm512_setzero_ps();
            for c in 0..4 {
                let xq = unsafe { _mm512_loadu_si512(x.qs.add(64 * c) as *const __m512i) };
                let xs = _mm512_mask_sub_epi8(xq, w.negative[c], _mm512_setzero_si512(), xq);
                let p = _mm512_madd_epi16(_mm512_maddubs_epi16(w.abs[c], xs), w.scales[c]);
                tmp = _mm512_fmadd_ps(unsafe { _mm512_loadu_ps(x.d.add(16 * c)) }, _mm512_cvtepi32_ps(p), tmp);
            }
            acc.v = _mm512_fmadd_ps(w.d, tmp, acc.v);
        }
    }
    fn blocks(x: &[[BlockQ8; 8]]) -> &[BlockQ8] {
        x.as_flattened()
    }
}

/// `m` rows of activations copied to the layout above.
struct Soa {
    qs: Vec<i8>,
    d: Vec<f32>,
    s: Vec<f32>,
    /// Activation blocks per row.
    nq: usize,
}

impl Soa {
    fn new(blocks: &[BlockQ8], m: usize) -> Self {
        let mut soa = Soa { qs: Vec::with_capacity(blocks.len() * 32), d: Vec::with_capacity(blocks.len() * 8), s: Vec::new(), nq: blocks.len() / m };
        for b in blocks {
            soa.qs.extend_from_slice(&b.qs);
            soa.d.extend_from_slice(&b.d);
            soa.s.push(b.s);
        }
        soa
    }

    /// Token `t` at activation block `q`.
    fn at(&self, t: usize, q: usize) -> XAt {
        let i = t * self.nq + q;
        XAt { qs: self.qs[i * 32..].as_ptr(), d: self.d[i * 8..].as_ptr(), s: self.s[i..].as_ptr() }
    }
}

zmm_fn! {
    /// `R` rows × `T` tokens over all steps of a row; a last odd block takes the scalar path.
    unsafe fn tile<B: Kernel, const R: usize, const T: usize>(w: &[B], nb: usize, r0: usize, x: &[B::Act], soa: &Soa, t0: usize, out: &OutRows) {
        let zero = Acc { v: _mm512_setzero_ps(), mins: _mm256_setzero_ps() };
        let mut acc = [[zero; T]; R];
        let per_step = B::LEN * B::STEP / 32;
        for step in 0..nb / B::STEP {
            let at = |i: usize| unsafe { w.as_ptr().add((r0 + i) * nb + step * B::STEP) };
            if T == 1 {
                // Decode streams the matrix once from memory: fetch the same place two tiles
                // ahead (measured: 1.5-2x weight GB/s on a matrix larger than the caches).
                for i in 0..R {
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(at(i).add(2 * R * nb) as *const i8) };
                }
            }
            let mut ws = [unsafe { B::load(at(0)) }; R];
            for (i, wi) in ws.iter_mut().enumerate().skip(1) {
                *wi = unsafe { B::load(at(i)) };
            }
            for j in 0..T {
                let xp = unsafe { B::prep(soa.at(t0 + j, step * per_step)) };
                for i in 0..R {
                    unsafe { B::dot(&ws[i], &xp, &mut acc[i][j]) };
                }
            }
        }
        let tail = nb - nb % B::STEP;
        for i in 0..R {
            for j in 0..T {
                let a = acc[i][j];
                let mut sum = _mm512_reduce_add_ps(a.v) - unsafe { hsum256(a.mins) };
                if tail < nb {
                    let row = &w[(r0 + i) * nb + tail..(r0 + i + 1) * nb];
                    sum += B::vec_dot(row, &x[(t0 + j) * nb + tail..(t0 + j + 1) * nb]);
                }
                out.set(t0 + j, r0 + i, sum);
            }
        }
    }
}

zmm_fn! {
    unsafe fn hsum256(v: __m256) -> f32 {
        let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
        _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)))
    }
}

zmm_fn! {
    /// Rows `rows` of `m` tokens, in chunks of [`ROW_CHUNK`] rows; single rows at the end of a
    /// chunk that a tile does not fill.
    unsafe fn rows_of<B: Kernel, const R: usize, const T: usize>(w: &[B], nb: usize, rows: Range<usize>, x: &[B::Act], soa: &Soa, m: usize, out: &OutRows) {
        let mut chunk = rows.start;
        while chunk < rows.end {
            let end = (chunk + ROW_CHUNK).min(rows.end);
            let mut t = 0;
            while t < m {
                let full_t = t + T <= m;
                let mut r = chunk;
                while r < end {
                    match (r + R <= end, full_t) {
                        (true, true) => unsafe { tile::<B, R, T>(w, nb, r, x, soa, t, out) },
                        (true, false) => {
                            for t in t..m {
                                unsafe { tile::<B, R, 1>(w, nb, r, x, soa, t, out) }
                            }
                        }
                        (false, true) => {
                            for r in r..end {
                                unsafe { tile::<B, 1, T>(w, nb, r, x, soa, t, out) }
                            }
                        }
                        (false, false) => {
                            for (r, t) in (r..end).flat_map(|r| (t..m).map(move |t| (r, t))) {
                                unsafe { tile::<B, 1, 1>(w, nb, r, x, soa, t, out) }
                            }
                        }
                    }
                    r = if r + R <= end { r + R } else { end };
                }
                t = if full_t { t + T } else { m };
            }
            chunk = end;
        }
    }
}

/// Rows `rows` of `out = x·Wᵀ` for `m` tokens.
///
/// # Safety
/// The CPU must have AVX-512 F/BW/VL/VNNI, AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn gemm<B: Kernel>(w: &[B], nb: usize, rows: Range<usize>, x: &[B::Act], m: usize, out: &OutRows) {
    let soa = Soa::new(B::blocks(x), m);
    unsafe {
        if m == 1 {
            rows_of::<B, 4, 1>(w, nb, rows, x, &soa, m, out);
        } else if B::ROWS == 2 {
            rows_of::<B, 2, 4>(w, nb, rows, x, &soa, m, out);
        } else {
            rows_of::<B, 1, 4>(w, nb, rows, x, &soa, m, out);
        }
    }
}
