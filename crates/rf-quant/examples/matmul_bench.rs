//! Throughput of every format's matmul on this machine: weight GB/s for one token (decode, the
//! memory-bound case) and GMAC/s for 128 tokens (prefill).
//!
//! `cargo run --release -p rf-quant --example matmul_bench [-- ROWS COLS THREADS]`
//! (default 4864 × 896, the machine's parallelism; `RF_ISA` picks the kernels).
use std::time::Instant;

use rf_quant::{Compute, QuantFormat, QuantMatrix};

fn matrix(format: QuantFormat, rows: usize, cols: usize) -> QuantMatrix {
    let (len, bytes) = format.block_layout();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut data: Vec<u8> = (0..rows * cols / len * bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    // Finite, normal scales as in real checkpoints: the high byte of every 2-byte field gets
    // f16 exponent 11 (values near 1/16), whatever field the pair lands on.
    data.iter_mut().skip(1).step_by(2).for_each(|b| *b = (*b & 0x03) | 0x2c);
    if format == QuantFormat::F32 {
        let values: Vec<f32> = (0..rows * cols).map(|i| (i % 7) as f32 * 0.01).collect();
        return QuantMatrix::from_f32(rows, cols, &values).unwrap();
    }
    QuantMatrix::new(format, rows, cols, data.into()).unwrap()
}

/// Median seconds of `runs` calls of `f`.
fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (rows, cols) = (args.first().copied().unwrap_or(4864), args.get(1).copied().unwrap_or(896));
    let compute = Compute::new(args.get(2).copied().unwrap_or_else(Compute::default_threads));
    println!("{rows} × {cols}, {compute:?}");
    println!("| format | decode µs | decode weight GB/s | prefill (128) ms | prefill GMAC/s |");
    println!("|---|---|---|---|---|");
    for format in QuantFormat::ALL {
        if cols % format.block_layout().0 != 0 {
            continue;
        }
        let w = matrix(format, rows, cols);
        let x: Vec<f32> = (0..128 * cols).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
        let mut out = vec![0f32; 128 * rows];
        let one = time(200, || w.matmul(&x[..cols], 1, &mut out[..rows], &compute).unwrap());
        let many = time(5, || w.matmul(&x, 128, &mut out, &compute).unwrap());
        println!(
            "| {format} | {:.1} | {:.1} | {:.2} | {:.1} |",
            one * 1e6,
            w.byte_len() as f64 / one / 1e9,
            many * 1e3,
            (128 * rows * cols) as f64 / many / 1e9
        );
    }
}
