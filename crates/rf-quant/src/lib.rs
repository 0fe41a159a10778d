//! # rf-quant
//!
//! Weight matrices kept in their GGUF block format, and the CPU kernels that multiply them.
//!
//! - [`QuantMatrix`] holds `[rows, cols]` weights as the file stores them (Q4_0, Q4_1, Q5_0,
//!   Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, or f32), viewing [`SharedBytes`] of a file held in memory or
//!   memory-mapped: no f32 copy is ever made. [`QuantMatrix::dequantize_row`] gathers one row
//!   (embeddings); [`QuantMatrix::matmul`] computes `x · Wᵀ`.
//! - The matmul quantises the activations to 8 bits per block ([`act`]) and takes integer dot
//!   products per block, as llama.cpp does: on x86-64 with AVX2, AVX-VNNI or AVX-512 VNNI
//!   (chosen at run time, [`Isa`]), on aarch64 with NEON, on wasm32 with `simd128`, and in
//!   portable Rust everywhere ([`blocks`], the reference the SIMD paths are tested against).
//! - [`Compute`] is the kernel choice plus a thread pool that splits rows across cores.
//!   Prefill (many tokens) runs tiles of four tokens per unpacked weight block.
pub mod act;
pub mod blocks;
mod compute;
mod format;
mod isa;
mod kernels;
mod matrix;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(not(target_arch = "wasm32"))]
mod pool;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;
#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
mod zmm;

pub use compute::Compute;
pub use format::QuantFormat;
pub use isa::Isa;
pub use matrix::{QuantMatrix, SharedBytes, dequantize};

/// `Σ a·b` over two f32 slices of equal length, on the best kernels of this machine.
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if matches!(Isa::best(), Isa::Avx2 | Isa::AvxVnni | Isa::Avx512Vnni) {
        return x86::dot_f32(a, b);
    }
    kernels::dot_f32(a, b)
}

/// What can be wrong with a matrix or a matmul's arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantError {
    #[error("a {format} matrix of shape [{rows}, {cols}] is not whole blocks of {block_len} values per row")]
    NotWholeBlocks { format: QuantFormat, rows: usize, cols: usize, block_len: usize },
    #[error("a {format} matrix of shape [{rows}, {cols}] needs {expected} bytes, got {actual}")]
    ByteLength { format: QuantFormat, rows: usize, cols: usize, expected: usize, actual: usize },
    #[error("byte range {start}..{end} is outside the {len} bytes available")]
    OutOfBounds { start: usize, end: usize, len: usize },
    #[error("row {row} is outside the matrix's {rows} rows")]
    RowOutOfRange { row: usize, rows: usize },
    #[error("input has {actual} values, expected {expected}")]
    InputLength { expected: usize, actual: usize },
    #[error("output has room for {actual} values, expected {expected}")]
    OutputLength { expected: usize, actual: usize },
    #[error("this CPU cannot run the {} kernels", .0.name())]
    IsaUnavailable(Isa),
}

/// Shorthand used across the crate.
pub type Result<T, E = QuantError> = std::result::Result<T, E>;
