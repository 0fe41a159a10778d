//! x86-64 kernels on 256-bit registers, in two builds of one source: AVX2 (`maddubs`) and
//! AVX-VNNI (`vpdpbusd`). AVX-512 machines run [`crate::zmm`] instead.
//!
//! Every format's block dot product is unsigned weights × signed 8-bit activations, summed in
//! 32-bit lanes and scaled once per block (32 values) or per super-block (256). Formats with
//! an offset (`q − 8`, `q − 16`, `q − 32`) subtract it through the activation sums instead of
//! from each weight; Q8_0's signed weights use the sign trick (`|w|`, `x·sign(w)`).
use std::arch::x86_64::*;

use crate::act::{Q8_GROUP, scale_of};
use crate::blocks::QK;

/// The body shared by the three builds. Expects `mul_sum` (u8×i8 dot into i32 lanes) and
/// `fifth_bits` (bit `j` of a u32 → byte `j` equal to 0x10) in scope.
macro_rules! kernels {
    ($features:literal) => {
        use std::ops::Range;

        use crate::act::{BlockQ8, BlockQ8x8};
        use crate::blocks::*;
        use crate::kernels::{OutRows, ROW_CHUNK, ROW_TILE, TOKEN_TILE};

        /// Eight lanes of partial sums plus the scalar per-block corrections.
        #[derive(Clone, Copy)]
        pub(crate) struct Acc {
            v: __m256,
            s: f32,
        }

        /// One block format on this instruction set.
        pub(crate) trait Kernel: Block {
            /// A block unpacked for reuse across the tokens of a tile.
            type W: Copy;
            unsafe fn load(b: &Self) -> Self::W;
            unsafe fn dot(w: &Self::W, x: &Self::Act, acc: &mut Acc);
        }

        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn f16_to_f32(h: half::f16) -> f32 {
            _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h.to_bits() as i32)))
        }

        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn load256(p: *const u8) -> __m256i {
            unsafe { _mm256_loadu_si256(p as *const __m256i) }
        }

        /// The 32 nibbles of a 32-element block as bytes, in element order.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn nibbles(qs: &[u8; 16]) -> __m256i {
            let raw = unsafe { _mm_loadu_si128(qs.as_ptr() as *const __m128i) };
            let both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
            _mm256_and_si256(both, _mm256_set1_epi8(0x0f))
        }

        /// Adds `d_w·Σ d_x[lane]·lane` to the accumulator: lane `i` of an integer dot product
        /// holds the 4 products that share activation scale `i`.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn scale_lanes_add(acc: &mut Acc, d_w: __m256, x: &BlockQ8, sumi: __m256i) {
            let d = _mm256_mul_ps(d_w, unsafe { _mm256_loadu_ps(x.d.as_ptr()) });
            acc.v = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc.v);
        }

        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn hsum(v: __m256) -> f32 {
            let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
            _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)))
        }

        /// A 32-element block as unsigned bytes, its scale (in every lane), and the factor of
        /// `x.s` (`−offset·d` or the block minimum).
        #[derive(Clone, Copy)]
        pub(crate) struct Small {
            q: __m256i,
            d: __m256,
            c: f32,
        }

        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn small(q: __m256i, d: f32, c: f32) -> Small {
            Small { q, d: _mm256_set1_ps(d), c }
        }

        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn dot_small(w: &Small, x: &BlockQ8, acc: &mut Acc) {
            let sumi = unsafe { mul_sum(_mm256_setzero_si256(), w.q, load256(x.qs.as_ptr() as *const u8)) };
            unsafe { scale_lanes_add(acc, w.d, x, sumi) };
            acc.s += w.c * x.s;
        }

        impl Kernel for BlockQ4_0 {
            type W = Small;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(b: &Self) -> Small {
                let d = unsafe { f16_to_f32(b.d) };
                unsafe { small(nibbles(&b.qs), d, -8.0 * d) }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot(w: &Small, x: &BlockQ8, acc: &mut Acc) {
                unsafe { dot_small(w, x, acc) }
            }
        }

        impl Kernel for BlockQ4_1 {
            type W = Small;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(b: &Self) -> Small {
                unsafe { small(nibbles(&b.qs), f16_to_f32(b.d), f16_to_f32(b.m)) }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot(w: &Small, x: &BlockQ8, acc: &mut Acc) {
                unsafe { dot_small(w, x, acc) }
            }
        }

        impl Kernel for BlockQ5_0 {
            type W = Small;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(b: &Self) -> Small {
                let d = unsafe { f16_to_f32(b.d) };
                let q = unsafe { _mm256_or_si256(nibbles(&b.qs), fifth_bits(u32::from_le_bytes(b.qh))) };
                unsafe { small(q, d, -16.0 * d) }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot(w: &Small, x: &BlockQ8, acc: &mut Acc) {
                unsafe { dot_small(w, x, acc) }
            }
        }

        impl Kernel for BlockQ5_1 {
            type W = Small;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(b: &Self) -> Small {
                let q = unsafe { _mm256_or_si256(nibbles(&b.qs), fifth_bits(u32::from_le_bytes(b.qh))) };
                unsafe { small(q, f16_to_f32(b.d), f16_to_f32(b.m)) }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot(w: &Small, x: &BlockQ8, acc: &mut Acc) {
                unsafe { dot_small(w, x, acc) }
            }
        }

        /// Q8_0: signed weights and their magnitudes.
        #[derive(Clone, Copy)]
        pub(crate) struct Signed {
            q: __m256i,
            abs: __m256i,
            d: __m256,
        }

        impl Kernel for BlockQ8_0 {
            type W = Signed;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(b: &Self) -> Signed {
                let q = unsafe { load256(b.qs.as_ptr() as *const u8) };
                Signed { q, abs: _mm256_sign_epi8(q, q), d: _mm256_set1_ps(unsafe { f16_to_f32(b.d) }) }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot(w: &Signed, x: &BlockQ8, acc: &mut Acc) {
                let xs = _mm256_sign_epi8(unsafe { load256(x.qs.as_ptr() as *const u8) }, w.q);
                let sumi = unsafe { mul_sum(_mm256_setzero_si256(), w.abs, xs) };
                unsafe { scale_lanes_add(acc, w.d, x, sumi) };
            }
        }

        /// Adds `Σ d_x[lane]·lane` to `tmp`: the per-lane activation scales of one
        /// 32-value sub-block (the weight scale is applied once per super-block).
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn lanes_add(tmp: __m256, x: &BlockQ8, sumi: __m256i) -> __m256 {
            _mm256_fmadd_ps(unsafe { _mm256_loadu_ps(x.d.as_ptr()) }, _mm256_cvtepi32_ps(sumi), tmp)
        }

        /// A Q4_K/Q5_K super-block: its packed values, sub-block scales, and `dmin·m` per
        /// sub-block.
        #[derive(Clone, Copy)]
        pub(crate) struct KQuant {
            qs: *const u8,
            qh: *const u8,
            scales: [i16; 8],
            mins: [f32; 8],
            d: __m256,
        }

        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn k_quant(scales: &[u8; 12], d: half::f16, dmin: half::f16, qs: *const u8, qh: *const u8) -> KQuant {
            let dmin = unsafe { f16_to_f32(dmin) };
            let (mut sc, mut mins) = ([0i16; 8], [0f32; 8]);
            let (packed_sc, packed_m) = k_scales_mins(scales);
            for j in 0..8 {
                let (s, m) = ((packed_sc >> (8 * j)) as u8, (packed_m >> (8 * j)) as u8);
                sc[j] = s as i16;
                mins[j] = dmin * m as f32;
            }
            KQuant { qs, qh, scales: sc, mins, d: _mm256_set1_ps(unsafe { f16_to_f32(d) }) }
        }

        /// `d·Σ_j sc_j·Σ q·x − Σ_j dmin·m_j·Σx` over the eight 32-value sub-blocks; `FIVE` adds
        /// the fifth bits.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn k_dot<const FIVE: bool>(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
            let m4 = _mm256_set1_epi8(0x0f);
            let bit = _mm256_set1_epi8(0x10);
            let mut high = if FIVE { unsafe { load256(w.qh) } } else { _mm256_setzero_si256() };
            let mut tmp = _mm256_setzero_ps();
            for c in 0..4 {
                let q = unsafe { load256(w.qs.add(32 * c)) };
                let mut lo = _mm256_and_si256(q, m4);
                let mut hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                if FIVE {
                    lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(high, 4), bit));
                    hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(high, 3), bit));
                    high = _mm256_srli_epi16(high, 2);
                }
                for (j, values) in [(2 * c, lo), (2 * c + 1, hi)] {
                    let p = _mm256_maddubs_epi16(values, unsafe { load256(x[j].qs.as_ptr() as *const u8) });
                    let sumi = _mm256_madd_epi16(p, _mm256_set1_epi16(w.scales[j]));
                    tmp = unsafe { lanes_add(tmp, &x[j], sumi) };
                    acc.s -= w.mins[j] * x[j].s;
                }
            }
            acc.v = _mm256_fmadd_ps(w.d, tmp, acc.v);
        }

        impl Kernel for BlockQ4K {
            type W = KQuant;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(b: &Self) -> KQuant {
                unsafe { k_quant(&b.scales, b.d, b.dmin, b.qs.as_ptr(), std::ptr::null()) }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
                unsafe { k_dot::<false>(w, x, acc) }
            }
        }

        impl Kernel for BlockQ5K {
            type W = KQuant;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(b: &Self) -> KQuant {
                unsafe { k_quant(&b.scales, b.d, b.dmin, b.qs.as_ptr(), b.qh.as_ptr()) }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot(w: &KQuant, x: &BlockQ8x8, acc: &mut Acc) {
                unsafe { k_dot::<true>(w, x, acc) }
            }
        }

        /// The four 32-value runs of one Q6_K half (128 values) as unsigned 6-bit bytes.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn q6_half(b: &BlockQ6K, h: usize) -> [__m256i; 4] {
            let m4 = _mm256_set1_epi8(0x0f);
            let ql0 = unsafe { load256(b.ql.as_ptr().add(64 * h)) };
            let ql1 = unsafe { load256(b.ql.as_ptr().add(64 * h + 32)) };
            let qh = unsafe { load256(b.qh.as_ptr().add(32 * h)) };
            let bits = |mask: i8| _mm256_and_si256(qh, _mm256_set1_epi8(mask));
            [
                _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(bits(0x03), 4)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(bits(0x0c), 2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), bits(0x30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_srli_epi16(bits(-64), 2)),
            ]
        }

        impl Kernel for BlockQ6K {
            type W = *const BlockQ6K;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(b: &Self) -> *const BlockQ6K {
                b
            }
            /// Signed weights `q − 32` through the sign trick; the 16-value group scales
            /// multiply in `madd`.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot(w: &*const BlockQ6K, x: &BlockQ8x8, acc: &mut Acc) {
                let b = unsafe { &**w };
                let mut tmp = _mm256_setzero_ps();
                for h in 0..2 {
                    for (k, v) in unsafe { q6_half(b, h) }.into_iter().enumerate() {
                        let (j, g) = (4 * h + k, 8 * h + 2 * k);
                        let signed = _mm256_sub_epi8(v, _mm256_set1_epi8(32));
                        let xs = _mm256_sign_epi8(unsafe { load256(x[j].qs.as_ptr() as *const u8) }, signed);
                        let p = _mm256_maddubs_epi16(_mm256_sign_epi8(signed, signed), xs);
                        let sc = _mm256_set_m128i(_mm_set1_epi16(b.scales[g + 1] as i16), _mm_set1_epi16(b.scales[g] as i16));
                        tmp = unsafe { lanes_add(tmp, &x[j], _mm256_madd_epi16(p, sc)) };
                    }
                }
                acc.v = _mm256_fmadd_ps(_mm256_set1_ps(unsafe { f16_to_f32(b.d) }), tmp, acc.v);
            }
        }

        /// `R` rows × `T` tokens over all blocks of a row.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn tile<B: Kernel, const R: usize, const T: usize>(w: &[B], nb: usize, r0: usize, x: &[B::Act], t0: usize, out: &OutRows) {
            let zero = Acc { v: _mm256_setzero_ps(), s: 0.0 };
            let mut acc = [[zero; T]; R];
            let rows: [&[B]; R] = std::array::from_fn(|i| &w[(r0 + i) * nb..(r0 + i + 1) * nb]);
            let toks: [&[B::Act]; T] = std::array::from_fn(|j| &x[(t0 + j) * nb..(t0 + j + 1) * nb]);
            for kb in 0..nb {
                if T == 1 {
                    // Decode streams the matrix from memory: fetch two tiles ahead, as in zmm.rs.
                    for row in &rows {
                        _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().wrapping_add(kb + 2 * R * nb) as *const i8);
                    }
                }
                for i in 0..R {
                    // SAFETY: kb < nb = each slice's length.
                    let wb = unsafe { B::load(rows[i].get_unchecked(kb)) };
                    for j in 0..T {
                        unsafe { B::dot(&wb, toks[j].get_unchecked(kb), &mut acc[i][j]) };
                    }
                }
            }
            for i in 0..R {
                for j in 0..T {
                    out.set(t0 + j, r0 + i, unsafe { hsum(acc[i][j].v) } + acc[i][j].s);
                }
            }
        }

        /// Rows `rows` of `out = x·Wᵀ` for `m` tokens.
        ///
        /// # Safety
        /// The CPU must have this module's target features.
        #[target_feature(enable = $features)]
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
    };
}

/// AVX2 + FMA + F16C: `maddubs` then `madd` by ones.
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn mul_sum(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn fifth_bits(bits: u32) -> __m256i {
        unsafe { super::spread_bits(bits) }
    }

    kernels!("avx2,fma,f16c");
}

/// AVX-VNNI: `vpdpbusd` on 256-bit registers.
pub(crate) mod avx_vnni {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma,f16c,avxvnni")]
    #[inline]
    unsafe fn mul_sum(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        _mm256_dpbusd_avx_epi32(acc, u, s)
    }

    #[target_feature(enable = "avx2,fma,f16c,avxvnni")]
    #[inline]
    unsafe fn fifth_bits(bits: u32) -> __m256i {
        unsafe { super::spread_bits(bits) }
    }

    kernels!("avx2,fma,f16c,avxvnni");
}

/// Bit `j` of `bits` → byte `j` = 0x10 (else 0), with AVX2 only: broadcast the four bytes so
/// that byte `j` holds source byte `j / 8`, keep bit `j % 8` of it, compare.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn spread_bits(bits: u32) -> __m256i {
    let bytes = _mm256_shuffle_epi8(
        _mm256_set1_epi32(bits as i32),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0),
    );
    let select = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, select), select);
    _mm256_and_si256(set, _mm256_set1_epi8(0x10))
}

/// [`crate::act::BlockQ8`]'s quantiser, one group of 4 values per register. Rounds half away
/// from zero as `f32::round` does (truncate, then one step when the remainder is at least ½),
/// so the blocks are bit for bit those of the portable path.
#[target_feature(enable = "sse4.1")]
pub(crate) unsafe fn quantize_groups_sse41(x: &[f32; QK], d: &mut [f32; QK / Q8_GROUP], qs: &mut [i8; QK]) {
    let sign = _mm_set1_ps(-0.0);
    for (g, (group, out)) in x.as_chunks::<Q8_GROUP>().0.iter().zip(qs.as_chunks_mut::<Q8_GROUP>().0).enumerate() {
        // SAFETY: reads the 4 values of `group`.
        let v = unsafe { _mm_loadu_ps(group.as_ptr()) };
        let a = _mm_andnot_ps(sign, v);
        let a = _mm_max_ps(a, _mm_shuffle_ps::<0b01_00_11_10>(a, a));
        let amax = _mm_cvtss_f32(_mm_max_ps(a, _mm_shuffle_ps::<0b10_11_00_01>(a, a)));
        let (dg, id) = scale_of(amax);
        d[g] = dg;
        let y = _mm_mul_ps(v, _mm_set1_ps(id));
        let t = _mm_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(y);
        let step = _mm_cmpge_ps(_mm_andnot_ps(sign, _mm_sub_ps(y, t)), _mm_set1_ps(0.5));
        let away = _mm_or_ps(_mm_and_ps(y, sign), _mm_set1_ps(1.0));
        let r = _mm_add_ps(t, _mm_and_ps(step, away));
        // NaN (an infinite input times a zero inverse scale) becomes 0, as `as i8` makes it.
        let r = _mm_and_ps(r, _mm_cmpord_ps(r, r));
        let r = _mm_max_ps(_mm_min_ps(r, _mm_set1_ps(127.0)), _mm_set1_ps(-127.0));
        let q = _mm_cvttps_epi32(r);
        let q = _mm_packs_epi16(_mm_packs_epi32(q, q), _mm_setzero_si128());
        *out = _mm_cvtsi128_si32(q).to_le_bytes().map(|b| b as i8);
    }
}

/// f32 dot product: four 8-lane FMA accumulators.
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only called for ISAs that imply AVX2 + FMA.
    unsafe { dot_f32_fma(a, b) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot_f32_fma(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            let (x, y) = unsafe { (_mm256_loadu_ps(a.as_ptr().add(i + 8 * k)), _mm256_loadu_ps(b.as_ptr().add(i + 8 * k))) };
            *acc = _mm256_fmadd_ps(x, y, *acc);
        }
        i += 32;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    let mut sum = _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
    for j in i..n {
        sum += a[j] * b[j];
    }
    sum
}
