//! Dispatch from a format and an [`Isa`] to a monomorphic kernel, and the portable kernels.
//!
//! Every path computes the same tiles: rows of the weight matrix in chunks that stay in cache,
//! tokens four at a time (prefill) so each weight block is unpacked once for four tokens, or
//! four rows at a time (decode, one token) for independent accumulators.
use std::ops::Range;

use crate::act::{BlockQ8, BlockQ8x8};
use crate::blocks::{Block, BlockQ4_0, BlockQ4_1, BlockQ4K, BlockQ5_0, BlockQ5_1, BlockQ5K, BlockQ6K, BlockQ8_0};
use crate::compute::Compute;
use crate::isa::Isa;
use crate::matrix::quantize_all;

/// Rows per decode tile and the granularity of the split across threads.
pub(crate) const ROW_TILE: usize = 4;
/// Tokens per prefill tile.
pub(crate) const TOKEN_TILE: usize = 4;
/// Rows whose weights are reused across every token tile before moving on (about 32 KiB of
/// 4-bit weights for a 4096-wide row set: L1/L2 resident).
pub(crate) const ROW_CHUNK: usize = 16;

/// The output `[m, rows]`, written by several threads at disjoint rows.
pub(crate) struct OutRows {
    ptr: *mut f32,
    rows: usize,
    len: usize,
}

// SAFETY: threads write disjoint rows (the pool hands each a distinct row range).
unsafe impl Sync for OutRows {}
unsafe impl Send for OutRows {}

impl OutRows {
    pub(crate) fn new(out: &mut [f32], rows: usize) -> Self {
        Self { ptr: out.as_mut_ptr(), rows, len: out.len() }
    }

    /// Stores the value of token `t`, row `r`.
    #[inline]
    pub(crate) fn set(&self, t: usize, r: usize, v: f32) {
        let i = t * self.rows + r;
        assert!(i < self.len && r < self.rows);
        // SAFETY: in bounds (checked); no other thread writes row `r`.
        unsafe { *self.ptr.add(i) = v }
    }
}

/// A weight element type with its activation form and its matmul on every [`Isa`].
pub(crate) trait Gemm: Copy + Send + Sync + 'static {
    /// Values per block.
    const LEN: usize;
    type Act: Copy + Send + Sync;
    /// `x` (`[m, cols]`) in the form the kernels take.
    fn activations(x: &[f32], compute: &Compute) -> Vec<Self::Act>;
    /// Rows `rows` of `out` for all `m` tokens; `isa` is available on this machine.
    fn gemm(isa: Isa, w: &[Self], nb: usize, rows: Range<usize>, x: &[Self::Act], m: usize, out: &OutRows);
}

/// The SIMD kernels every block format has on this target.
#[cfg(target_arch = "x86_64")]
pub(crate) trait Simd: Block + crate::x86::avx2::Kernel + crate::x86::avx_vnni::Kernel + crate::zmm::Kernel {}
#[cfg(target_arch = "x86_64")]
impl<B: Block + crate::x86::avx2::Kernel + crate::x86::avx_vnni::Kernel + crate::zmm::Kernel> Simd for B {}

#[cfg(target_arch = "aarch64")]
pub(crate) trait Simd: Block + crate::neon::Kernel {}
#[cfg(target_arch = "aarch64")]
impl<B: Block + crate::neon::Kernel> Simd for B {}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) trait Simd: Block + crate::wasm::Kernel {}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl<B: Block + crate::wasm::Kernel> Simd for B {}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", all(target_arch = "wasm32", target_feature = "simd128"))))]
pub(crate) trait Simd: Block {}
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", all(target_arch = "wasm32", target_feature = "simd128"))))]
impl<B: Block> Simd for B {}

macro_rules! block_gemm {
    ($($block:ty => $act:ty),* $(,)?) => {$(
        impl Gemm for $block {
            const LEN: usize = <$block as Block>::LEN;
            type Act = $act;
            fn activations(x: &[f32], compute: &Compute) -> Vec<$act> {
                quantize_all(x, compute)
            }
            fn gemm(isa: Isa, w: &[Self], nb: usize, rows: Range<usize>, x: &[$act], m: usize, out: &OutRows) {
                simd_gemm(isa, w, nb, rows, x, m, out)
            }
        }
    )*};
}

block_gemm!(
    BlockQ4_0 => BlockQ8,
    BlockQ4_1 => BlockQ8,
    BlockQ5_0 => BlockQ8,
    BlockQ5_1 => BlockQ8,
    BlockQ8_0 => BlockQ8,
    BlockQ4K => BlockQ8x8,
    BlockQ5K => BlockQ8x8,
    BlockQ6K => BlockQ8x8,
);

/// The block kernels of `isa`.
fn simd_gemm<B: Simd>(isa: Isa, w: &[B], nb: usize, rows: Range<usize>, x: &[B::Act], m: usize, out: &OutRows) {
    // SAFETY (each arm): `isa` is in `Isa::available()`, checked by the caller, so the CPU has
    // the target features the kernel is compiled for; slices hold `rows × nb` and `m × nb` blocks.
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { crate::x86::avx2::gemm(w, nb, rows, x, m, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::AvxVnni => unsafe { crate::x86::avx_vnni::gemm(w, nb, rows, x, m, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni => unsafe { crate::zmm::gemm(w, nb, rows, x, m, out) },
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { crate::neon::gemm(w, nb, rows, x, m, out) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Isa::Simd128 => crate::wasm::gemm(w, nb, rows, x, m, out),
        _ => scalar_gemm(w, nb, rows, x, m, out),
    }
}

/// The portable path: one `vec_dot` per row and token.
fn scalar_gemm<B: Block>(w: &[B], nb: usize, rows: Range<usize>, x: &[B::Act], m: usize, out: &OutRows) {
    let end = rows.end;
    for chunk in rows.step_by(ROW_CHUNK).map(|r| r..(r + ROW_CHUNK).min(end)) {
        for t in 0..m {
            let xt = &x[t * nb..(t + 1) * nb];
            for r in chunk.clone() {
                out.set(t, r, B::vec_dot(&w[r * nb..(r + 1) * nb], xt));
            }
        }
    }
}

impl Gemm for f32 {
    const LEN: usize = 1;
    type Act = f32;
    fn activations(x: &[f32], _: &Compute) -> Vec<f32> {
        x.to_vec()
    }
    fn gemm(isa: Isa, w: &[f32], cols: usize, rows: Range<usize>, x: &[f32], m: usize, out: &OutRows) {
        let dot: fn(&[f32], &[f32]) -> f32 = match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 | Isa::AvxVnni | Isa::Avx512Vnni => crate::x86::dot_f32,
            _ => dot_f32,
        };
        let end = rows.end;
        for chunk in rows.step_by(ROW_CHUNK).map(|r| r..(r + ROW_CHUNK).min(end)) {
            for t in 0..m {
                let xt = &x[t * cols..(t + 1) * cols];
                for r in chunk.clone() {
                    out.set(t, r, dot(&w[r * cols..(r + 1) * cols], xt));
                }
            }
        }
    }
}

/// f32 dot product with 8 independent sums (which the compiler vectorises).
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}
