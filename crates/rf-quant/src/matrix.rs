//! [`QuantMatrix`]: a weight matrix kept in its file format, and its matmul.
use std::ops::Range;
use std::sync::Arc;

use crate::act::quantize_row;
use crate::blocks::{
    ActBlock, Block, BlockQ4_0, BlockQ4_1, BlockQ4K, BlockQ5_0, BlockQ5_1, BlockQ5K, BlockQ6K, BlockQ8_0,
};
use crate::compute::Compute;
use crate::format::QuantFormat;
use crate::isa::Isa;
use crate::kernels::{self, OutRows};
use crate::{QuantError, Result};

/// Bytes shared between matrices: a whole file in memory or memory-mapped, of which each
/// matrix views a range. Nothing is copied at load.
#[derive(Clone)]
pub struct SharedBytes {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl SharedBytes {
    /// All of `owner`.
    pub fn new(owner: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        let len = (*owner).as_ref().len();
        Self { owner, range: 0..len }
    }

    /// The sub-range `range` of these bytes.
    pub fn slice(&self, range: Range<usize>) -> Result<Self> {
        if range.start > range.end || range.end > self.range.len() {
            return Err(QuantError::OutOfBounds { start: range.start, end: range.end, len: self.range.len() });
        }
        Ok(Self { owner: self.owner.clone(), range: self.range.start + range.start..self.range.start + range.end })
    }

    pub fn len(&self) -> usize {
        self.range.len()
    }

    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    pub fn as_slice(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.range.clone()]
    }
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedBytes({:?})", self.range)
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> Self {
        Self::new(Arc::new(v))
    }
}

/// A `[rows, cols]` weight matrix (row-major: each row is `cols / block_len` blocks) in one
/// [`QuantFormat`], used as `y = x · Wᵀ`.
#[derive(Clone)]
pub struct QuantMatrix {
    format: QuantFormat,
    rows: usize,
    cols: usize,
    data: SharedBytes,
}

impl std::fmt::Debug for QuantMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QuantMatrix({} [{}, {}])", self.format, self.rows, self.cols)
    }
}

impl QuantMatrix {
    /// Checks that `data` holds exactly `rows` rows of `cols` values in `format`. Blocks whose
    /// address does not suit the block struct's alignment are copied once to aligned memory.
    pub fn new(format: QuantFormat, rows: usize, cols: usize, data: SharedBytes) -> Result<Self> {
        let (block_len, block_bytes) = format.block_layout();
        if cols == 0 || rows == 0 || !cols.is_multiple_of(block_len) {
            return Err(QuantError::NotWholeBlocks { format, rows, cols, block_len });
        }
        let expected = rows.checked_mul(cols / block_len).and_then(|n| n.checked_mul(block_bytes));
        if expected != Some(data.len()) {
            return Err(QuantError::ByteLength {
                format,
                rows,
                cols,
                expected: expected.unwrap_or(usize::MAX),
                actual: data.len(),
            });
        }
        let align = match format {
            QuantFormat::F32 => 4,
            _ => 2,
        };
        let data = if (data.as_slice().as_ptr() as usize).is_multiple_of(align) { data } else { aligned_copy(data.as_slice()) };
        Ok(Self { format, rows, cols, data })
    }

    /// An f32 matrix from values.
    pub fn from_f32(rows: usize, cols: usize, values: &[f32]) -> Result<Self> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Self::new(QuantFormat::F32, rows, cols, aligned_copy(&bytes))
    }

    /// A Q8_0 matrix from f32 values (row-major `[rows, cols]`, `cols` a multiple of 32), each
    /// block rounded by [`BlockQ8_0::quantize`]: 34 bytes per 32 values instead of 128.
    pub fn quantize_q8_0(rows: usize, cols: usize, values: &[f32]) -> Result<Self> {
        let (block_len, block_bytes) = QuantFormat::Q8_0.block_layout();
        if cols == 0 || rows == 0 || !cols.is_multiple_of(block_len) {
            return Err(QuantError::NotWholeBlocks { format: QuantFormat::Q8_0, rows, cols, block_len });
        }
        if values.len() != rows * cols {
            return Err(QuantError::InputLength { expected: rows * cols, actual: values.len() });
        }
        let mut bytes = Vec::with_capacity(values.len() / block_len * block_bytes);
        for block in values.chunks_exact(block_len).map(BlockQ8_0::quantize) {
            bytes.extend_from_slice(&block.d.to_le_bytes());
            bytes.extend(block.qs.iter().map(|&q| q as u8));
        }
        Self::new(QuantFormat::Q8_0, rows, cols, aligned_copy(&bytes))
    }

    pub fn format(&self) -> QuantFormat {
        self.format
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes the matrix occupies (what one full pass over it reads).
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// The stored bytes.
    pub fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// Writes row `row` as f32 into `out` (`cols` values): how embedding rows are gathered.
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) -> Result<()> {
        if row >= self.rows {
            return Err(QuantError::RowOutOfRange { row, rows: self.rows });
        }
        if out.len() != self.cols {
            return Err(QuantError::InputLength { expected: self.cols, actual: out.len() });
        }
        let row_bytes = self.data.len() / self.rows;
        let raw = &self.bytes()[row * row_bytes..(row + 1) * row_bytes];
        dequantize(self.format, raw, out);
        Ok(())
    }

    /// The whole matrix as f32, row-major (tests and the f32 reference only).
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        dequantize(self.format, self.bytes(), &mut out);
        out
    }

    /// `out = x · Wᵀ` for `x` of `[m, cols]` and `out` of `[m, rows]`, with the best kernels.
    pub fn matmul(&self, x: &[f32], m: usize, out: &mut [f32], compute: &Compute) -> Result<()> {
        self.matmul_with(compute.isa(), x, m, out, compute)
    }

    /// As [`Self::matmul`] on the kernels of `isa`, which must be in [`Isa::available`].
    pub fn matmul_with(&self, isa: Isa, x: &[f32], m: usize, out: &mut [f32], compute: &Compute) -> Result<()> {
        if x.len() != m * self.cols {
            return Err(QuantError::InputLength { expected: m * self.cols, actual: x.len() });
        }
        if out.len() != m * self.rows {
            return Err(QuantError::OutputLength { expected: m * self.rows, actual: out.len() });
        }
        if !Isa::available().contains(&isa) {
            return Err(QuantError::IsaUnavailable(isa));
        }
        if m == 0 {
            return Ok(());
        }
        let raw = self.bytes();
        match self.format {
            QuantFormat::F32 => run::<f32>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
            QuantFormat::Q4_0 => run::<BlockQ4_0>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
            QuantFormat::Q4_1 => run::<BlockQ4_1>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
            QuantFormat::Q5_0 => run::<BlockQ5_0>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
            QuantFormat::Q5_1 => run::<BlockQ5_1>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
            QuantFormat::Q8_0 => run::<BlockQ8_0>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
            QuantFormat::Q4K => run::<BlockQ4K>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
            QuantFormat::Q5K => run::<BlockQ5K>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
            QuantFormat::Q6K => run::<BlockQ6K>(isa, cast(raw), self.rows, self.cols, x, m, out, compute),
        }
        Ok(())
    }
}

/// A copy of `bytes` in memory aligned for every block struct.
fn aligned_copy(bytes: &[u8]) -> SharedBytes {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    // SAFETY: a u64 buffer viewed as bytes; its length covers `bytes`.
    let view = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, words.len() * 8) };
    view[..bytes.len()].copy_from_slice(bytes);
    struct Words(Vec<u64>, usize);
    impl AsRef<[u8]> for Words {
        fn as_ref(&self) -> &[u8] {
            // SAFETY: as above; `self.1` bytes are initialised.
            unsafe { std::slice::from_raw_parts(self.0.as_ptr() as *const u8, self.1) }
        }
    }
    SharedBytes::new(Arc::new(Words(words, bytes.len())))
}

/// Views checked, aligned bytes as blocks.
fn cast<B: Copy>(raw: &[u8]) -> &[B] {
    debug_assert!(raw.len().is_multiple_of(std::mem::size_of::<B>()));
    debug_assert!((raw.as_ptr() as usize).is_multiple_of(std::mem::align_of::<B>()));
    // SAFETY: `QuantMatrix::new` checked the length and alignment; every bit pattern is a valid
    // block (plain integers and f16 values).
    unsafe { std::slice::from_raw_parts(raw.as_ptr() as *const B, raw.len() / std::mem::size_of::<B>()) }
}

/// Dequantises `raw` (whole blocks of `format`) into `out`.
pub fn dequantize(format: QuantFormat, raw: &[u8], out: &mut [f32]) {
    fn each<B: Block>(raw: &[u8], out: &mut [f32]) {
        let blocks: Vec<B> = raw
            .chunks_exact(std::mem::size_of::<B>())
            // SAFETY: one block's worth of bytes, read unaligned.
            .map(|c| unsafe { std::ptr::read_unaligned(c.as_ptr() as *const B) })
            .collect();
        for (b, o) in blocks.iter().zip(out.chunks_exact_mut(B::LEN)) {
            b.dequantize(o);
        }
    }
    match format {
        QuantFormat::F32 => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        QuantFormat::Q4_0 => each::<BlockQ4_0>(raw, out),
        QuantFormat::Q4_1 => each::<BlockQ4_1>(raw, out),
        QuantFormat::Q5_0 => each::<BlockQ5_0>(raw, out),
        QuantFormat::Q5_1 => each::<BlockQ5_1>(raw, out),
        QuantFormat::Q8_0 => each::<BlockQ8_0>(raw, out),
        QuantFormat::Q4K => each::<BlockQ4K>(raw, out),
        QuantFormat::Q5K => each::<BlockQ5K>(raw, out),
        QuantFormat::Q6K => each::<BlockQ6K>(raw, out),
    }
}

/// Quantises the activations, then splits the rows across the pool's threads.
#[allow(clippy::too_many_arguments)]
fn run<B: kernels::Gemm>(isa: Isa, w: &[B], rows: usize, cols: usize, x: &[f32], m: usize, out: &mut [f32], compute: &Compute) {
    let act = B::activations(x, compute);
    let nb = cols / B::LEN;
    let out_rows = OutRows::new(out, rows);
    let threads = compute.threads();
    // Chunks of whole tiles, so every thread runs the full-size tile kernel.
    let per_thread = rows.div_ceil(threads).next_multiple_of(kernels::ROW_TILE);
    compute.run(&|t| {
        let start = (t * per_thread).min(rows);
        let end = ((t + 1) * per_thread).min(rows);
        if start < end {
            B::gemm(isa, w, nb, start..end, &act, m, &out_rows);
        }
    });
}

/// Blocks below which quantising on one thread beats waking the others (one decode token of a
/// 4,864-wide row is 152).
const PARALLEL_QUANTIZE_BLOCKS: usize = 1024;

/// The activation rows of `x`, quantised for format `B`; a prefill's many rows on every thread.
pub(crate) fn quantize_all<A: ActBlock>(x: &[f32], compute: &Compute) -> Vec<A> {
    let blocks = x.len() / A::LEN;
    if blocks < PARALLEL_QUANTIZE_BLOCKS || compute.threads() == 1 {
        let mut out = Vec::with_capacity(blocks);
        quantize_row(x, &mut out);
        return out;
    }
    let mut out = vec![A::quantize(&x[..A::LEN]); blocks];
    let per_thread = blocks.div_ceil(compute.threads());
    compute.for_each_chunk(&mut out, per_thread, &|i, chunk| {
        let first = i * per_thread;
        let values = &x[first * A::LEN..(first + chunk.len()) * A::LEN];
        for (o, v) in chunk.iter_mut().zip(values.chunks_exact(A::LEN)) {
            *o = A::quantize(v);
        }
    });
    out
}
