//! Malformed matrices and arguments give typed errors, never a panic.
use rf_quant::{Compute, Isa, QuantError, QuantFormat, QuantMatrix, SharedBytes};

#[test]
fn byte_count_not_matching_the_shape_is_refused() {
    // Two Q8_0 rows of 64 values need 4 blocks of 34 bytes.
    let err = QuantMatrix::new(QuantFormat::Q8_0, 2, 64, vec![0u8; 4 * 34 - 1].into()).unwrap_err();
    assert_eq!(err, QuantError::ByteLength { format: QuantFormat::Q8_0, rows: 2, cols: 64, expected: 136, actual: 135 });
    assert!(QuantMatrix::new(QuantFormat::Q8_0, 2, 64, vec![0u8; 4 * 34 + 34].into()).is_err());
}

#[test]
fn rows_that_are_not_whole_blocks_are_refused() {
    let err = QuantMatrix::new(QuantFormat::Q4K, 1, 300, vec![0u8; 144].into()).unwrap_err();
    assert!(matches!(err, QuantError::NotWholeBlocks { block_len: 256, cols: 300, .. }), "{err}");
    assert!(QuantMatrix::new(QuantFormat::Q4_0, 0, 32, Vec::new().into()).is_err());
}

#[test]
fn truncated_shared_bytes_are_out_of_bounds() {
    let bytes = SharedBytes::from(vec![0u8; 100]);
    assert!(bytes.slice(10..90).is_ok());
    assert_eq!(bytes.slice(50..101).unwrap_err(), QuantError::OutOfBounds { start: 50, end: 101, len: 100 });
    assert!(bytes.slice(10..90).unwrap().slice(0..81).is_err());
}

#[test]
fn misaligned_blocks_are_copied_and_still_correct() {
    // One Q8_0 block (d = 1.0, q = 0..32) placed at an odd address.
    let mut raw = vec![0u8; 35];
    raw[1..3].copy_from_slice(&half::f16::from_f32(1.0).to_le_bytes());
    for i in 0..32 {
        raw[3 + i] = i as u8;
    }
    let odd = SharedBytes::from(raw).slice(1..35).unwrap();
    let w = QuantMatrix::new(QuantFormat::Q8_0, 1, 32, odd).unwrap();
    let mut row = vec![0f32; 32];
    w.dequantize_row(0, &mut row).unwrap();
    assert_eq!(row, (0..32).map(|i| i as f32).collect::<Vec<_>>());
}

#[test]
fn wrong_activation_or_output_lengths_are_refused() {
    let w = QuantMatrix::from_f32(2, 32, &[0.5; 64]).unwrap();
    let compute = Compute::new(1);
    let mut out = vec![0f32; 2];
    assert_eq!(w.matmul(&[1.0; 31], 1, &mut out, &compute), Err(QuantError::InputLength { expected: 32, actual: 31 }));
    assert_eq!(w.matmul(&[1.0; 32], 1, &mut [0f32; 3], &compute), Err(QuantError::OutputLength { expected: 2, actual: 3 }));
    assert_eq!(w.dequantize_row(2, &mut [0f32; 32]), Err(QuantError::RowOutOfRange { row: 2, rows: 2 }));
    w.matmul(&[1.0; 32], 1, &mut out, &compute).unwrap();
    assert_eq!(out, vec![16.0, 16.0]);
}

#[test]
fn kernels_this_cpu_lacks_are_refused() {
    let missing = [Isa::Avx2, Isa::Neon, Isa::Simd128].into_iter().find(|i| !Isa::available().contains(i));
    if let Some(isa) = missing {
        assert_eq!(Compute::with_isa(isa, 1).unwrap_err(), QuantError::IsaUnavailable(isa));
        let w = QuantMatrix::from_f32(1, 32, &[0.0; 32]).unwrap();
        let compute = Compute::new(1);
        assert!(w.matmul_with(isa, &[0.0; 32], 1, &mut [0.0], &compute).is_err());
    }
}
