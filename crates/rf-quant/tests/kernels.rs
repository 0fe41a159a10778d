//! Every kernel path against "dequantise, then f32 matmul", per format, on seeded random
//! blocks, for one token (decode) and 37 tokens (prefill tiles plus a remainder).
use half::f16;
use rf_quant::act::BlockQ8;
use rf_quant::blocks::ActBlock;
use rf_quant::{Compute, Isa, QuantFormat, QuantMatrix};

/// SplitMix64, so the data is the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Offsets of the f16 fields (scales, minimums) inside one block.
fn f16_fields(format: QuantFormat) -> &'static [usize] {
    match format {
        QuantFormat::Q4_0 | QuantFormat::Q5_0 | QuantFormat::Q8_0 => &[0],
        QuantFormat::Q4_1 | QuantFormat::Q5_1 | QuantFormat::Q4K | QuantFormat::Q5K => &[0, 2],
        QuantFormat::Q6K => &[208],
        QuantFormat::F32 => &[],
    }
}

/// Random blocks: random bytes, with every f16 field set to a finite value of either sign.
fn random_matrix(format: QuantFormat, rows: usize, cols: usize, rng: &mut Rng) -> QuantMatrix {
    let (len, bytes) = format.block_layout();
    if format == QuantFormat::F32 {
        let values: Vec<f32> = (0..rows * cols).map(|_| rng.signed()).collect();
        return QuantMatrix::from_f32(rows, cols, &values).unwrap();
    }
    let mut data: Vec<u8> = (0..rows * cols / len * bytes).map(|_| rng.next() as u8).collect();
    for block in data.chunks_exact_mut(bytes) {
        for &at in f16_fields(format) {
            let v = f16::from_f32(rng.signed() * 0.05);
            block[at..at + 2].copy_from_slice(&v.to_le_bytes());
        }
    }
    QuantMatrix::new(format, rows, cols, data.into()).unwrap()
}

/// The activations as the kernels see them: quantised to 8 bits (one scale per 4 values),
/// then widened. K-quants take eight such blocks per super-block, so the same round trip holds.
fn quantised_activations(format: QuantFormat, x: &[f32]) -> Vec<f32> {
    match format {
        QuantFormat::F32 => x.to_vec(),
        _ => x.chunks_exact(32).flat_map(|c| {
            let b = BlockQ8::quantize(c);
            (0..32).map(move |i| b.value(i))
        }).collect(),
    }
}

/// `x · Wᵀ` in f64, and Σ|w·x| per output (the scale the rounding error is measured against).
fn reference(w: &[f32], x: &[f32], rows: usize, cols: usize, m: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut out, mut mag) = (vec![0f64; m * rows], vec![0f64; m * rows]);
    for t in 0..m {
        for r in 0..rows {
            for k in 0..cols {
                let p = w[r * cols + k] as f64 * x[t * cols + k] as f64;
                out[t * rows + r] += p;
                mag[t * rows + r] += p.abs();
            }
        }
    }
    (out, mag)
}

fn check(format: QuantFormat, m: usize, seed: u64) {
    check_shape(format, 13, 512, m, seed);
}

fn check_shape(format: QuantFormat, rows: usize, cols: usize, m: usize, seed: u64) {
    let mut rng = Rng(seed);
    let w = random_matrix(format, rows, cols, &mut rng);
    let x: Vec<f32> = (0..m * cols).map(|_| rng.signed() * 3.0).collect();
    let (expected, magnitude) = reference(&w.to_f32(), &quantised_activations(format, &x), rows, cols, m);
    for isa in Isa::available() {
        for threads in [1, 3] {
            let compute = Compute::with_isa(isa, threads).unwrap();
            let mut out = vec![f32::NAN; m * rows];
            w.matmul(&x, m, &mut out, &compute).unwrap();
            for (i, (&got, (&want, &mag))) in out.iter().zip(expected.iter().zip(&magnitude)).enumerate() {
                let err = (got as f64 - want).abs();
                assert!(
                    err <= 1e-3 * mag.max(1e-12),
                    "{format} {isa:?} threads {threads} m {m} out[{i}] = {got}, expected {want} (Σ|wx| = {mag})"
                );
            }
        }
    }
}

macro_rules! format_tests {
    ($($name:ident => $format:expr),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[test]
            fn one_token() {
                check($format, 1, 11);
            }
            #[test]
            fn thirty_seven_tokens() {
                check($format, 37, 12);
            }
        }
    )*};
}

format_tests!(
    f32_weights => QuantFormat::F32,
    q4_0 => QuantFormat::Q4_0,
    q4_1 => QuantFormat::Q4_1,
    q5_0 => QuantFormat::Q5_0,
    q5_1 => QuantFormat::Q5_1,
    q8_0 => QuantFormat::Q8_0,
    q4_k => QuantFormat::Q4K,
    q5_k => QuantFormat::Q5K,
    q6_k => QuantFormat::Q6K,
);

/// Rows of an odd number of 32-value blocks (the 512-bit kernels take blocks in pairs).
#[test]
fn odd_block_counts() {
    for format in [QuantFormat::Q4_0, QuantFormat::Q4_1, QuantFormat::Q5_0, QuantFormat::Q5_1, QuantFormat::Q8_0] {
        for m in [1, 6] {
            check_shape(format, 9, 96, m, 21);
        }
    }
}

/// The activation quantisation itself: against the exact f32 product the error stays at the
/// 8-bit level (a few tenths of a percent of Σ|w·x|).
#[test]
fn eight_bit_activations_cost_a_few_tenths_of_a_percent() {
    let (rows, cols, m) = (16, 1024, 4);
    let mut rng = Rng(5);
    for format in QuantFormat::ALL {
        let w = random_matrix(format, rows, cols, &mut rng);
        let x: Vec<f32> = (0..m * cols).map(|_| rng.signed()).collect();
        let (exact, magnitude) = reference(&w.to_f32(), &x, rows, cols, m);
        let mut out = vec![0f32; m * rows];
        w.matmul(&x, m, &mut out, &Compute::new(2)).unwrap();
        let worst = out
            .iter()
            .zip(exact.iter().zip(&magnitude))
            .map(|(&g, (&e, &mag))| (g as f64 - e).abs() / mag)
            .fold(0f64, f64::max);
        assert!(worst < 5e-3, "{format}: error {worst} of Σ|w·x|");
    }
}

#[test]
fn every_available_isa_is_named_and_the_best_is_available() {
    let available = Isa::available();
    assert_eq!(available[0], Isa::Scalar);
    assert!(available.contains(&Isa::best()));
    for isa in available {
        assert_eq!(Isa::from_name(isa.name()), Some(isa));
    }
}
