mod common;

use common::{GOOD, templates_dir};
use rf_templates::{Bundle, BundleError, DenseIndex, Library, RetrieverKind, SearchOptions, WorkedExamples, read_header};
use sha2::{Digest, Sha256};

fn real_library() -> Library {
    Library::load_dir(&templates_dir()).expect("templates load")
}

fn small_bundle() -> Vec<u8> {
    let library = Library::from_sources([("a.toml", GOOD)]).expect("fixture");
    Bundle::from_library(library).encode().expect("encode")
}

#[test]
fn real_library_round_trips_and_is_deterministic() {
    let library = real_library();
    let bundle = Bundle::from_library(library.clone());
    let bytes = bundle.encode().expect("encode");
    // Same sources, loaded again: identical bytes.
    let again = Bundle::from_library(real_library()).encode().expect("encode");
    assert!(bytes == again, "bundle bytes differ between two builds");

    let decoded = Bundle::decode(&bytes).expect("decode");
    assert!(decoded.library.templates.iter().all(|t| t.example.is_none()), "worked examples live in their own file");
    let mut attached = decoded.library.clone();
    let examples = WorkedExamples::from_library(&library).expect("examples").encode().expect("encode");
    WorkedExamples::decode(&examples).expect("decode examples").attach_to(&mut attached).expect("attach");
    assert_eq!(attached, library);
    assert_eq!(decoded.index, bundle.index);
    let header = read_header(&bytes).expect("header");
    assert_eq!(header.library_version, library.version);
    assert_eq!(header.payload_len + header.payload_offset, bytes.len());

    // The retriever from the bundle ranks exactly like one built from sources.
    let (_, from_bundle) = decoded.into_parts().expect("parts");
    let from_sources = rf_templates::Retriever::build(&library);
    for t in library.templates.iter().step_by(37) {
        assert_eq!(from_bundle.search(&t.name, 5), from_sources.search(&t.name, 5));
    }
}

#[test]
fn bad_magic() {
    let mut b = small_bundle();
    b[0] = b'X';
    assert_eq!(Bundle::decode(&b).unwrap_err(), BundleError::BadMagic);
    assert_eq!(Bundle::decode(b"PK\x03\x04 something else").unwrap_err(), BundleError::BadMagic);
}

#[test]
fn wrong_version() {
    let mut b = small_bundle();
    b[4] = 99;
    assert!(matches!(Bundle::decode(&b).unwrap_err(), BundleError::UnsupportedVersion { found: 99, .. }));
}

#[test]
fn truncated() {
    let b = small_bundle();
    for cut in [0, 2, 5, 7, 20, b.len() / 2, b.len() - 1] {
        let err = Bundle::decode(&b[..cut]).unwrap_err();
        assert!(matches!(err, BundleError::Truncated { .. }), "cut at {cut}: {err:?}");
    }
}

#[test]
fn trailing_bytes() {
    let mut b = small_bundle();
    b.push(0);
    assert_eq!(Bundle::decode(&b).unwrap_err(), BundleError::TrailingData(1));
}

#[test]
fn checksum_mismatch() {
    let mut b = small_bundle();
    let last = b.len() - 1;
    b[last] ^= 0x55;
    assert!(matches!(Bundle::decode(&b).unwrap_err(), BundleError::ChecksumMismatch { .. }));
}

/// Replaces the payload and fixes up length and checksum, so only the payload is bad.
fn with_payload(bundle: &[u8], payload: &[u8]) -> Vec<u8> {
    let h = read_header(bundle).expect("header");
    let mut out = bundle[..h.payload_offset - 36].to_vec();
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn corrupt_payload() {
    let b = small_bundle();
    // Not brotli at all.
    let err = Bundle::decode(&with_payload(&b, b"\xff\xfe definitely not brotli \x00\x01")).unwrap_err();
    assert!(matches!(err, BundleError::Corrupt(_)), "{err:?}");
    // Valid brotli of a truncated inner payload.
    let h = read_header(&b).unwrap();
    let mut inner = Vec::new();
    let mut rd = brotli::Decompressor::new(&b[h.payload_offset..], 4096);
    std::io::Read::read_to_end(&mut rd, &mut inner).unwrap();
    for cut in [1, inner.len() / 3, inner.len() - 1] {
        let mut packed = Vec::new();
        let params = brotli::enc::BrotliEncoderParams::default();
        brotli::BrotliCompress(&mut &inner[..cut], &mut packed, &params).unwrap();
        let err = Bundle::decode(&with_payload(&b, &packed)).unwrap_err();
        assert!(matches!(err, BundleError::Corrupt(_)), "cut {cut}: {err:?}");
    }
    // Flipped bytes inside the inner payload must never panic.
    for i in (0..inner.len()).step_by(7) {
        let mut bad = inner.clone();
        bad[i] ^= 0xa5;
        let mut packed = Vec::new();
        brotli::BrotliCompress(&mut &bad[..], &mut packed, &brotli::enc::BrotliEncoderParams::default()).unwrap();
        let _ = Bundle::decode(&with_payload(&b, &packed));
    }
}

/// A bundle of the small fixture library with made-up 3-d template vectors.
fn small_dense_bundle() -> (Bundle, Vec<Vec<f32>>) {
    let library = Library::from_sources([("a.toml", GOOD)]).expect("fixture");
    let vectors: Vec<Vec<f32>> = (0..library.len()).map(|i| vec![1.0, i as f32, -0.5]).collect();
    let dense = DenseIndex::quantize("test-encoder", 3, &vectors).expect("quantize");
    (Bundle::from_library(library).with_dense(dense).expect("rows match"), vectors)
}

#[test]
fn template_embeddings_round_trip() {
    let (bundle, vectors) = small_dense_bundle();
    let decoded = Bundle::decode(&bundle.encode().expect("encode")).expect("decode");
    assert_eq!(decoded.dense, bundle.dense);
    let (_, retriever) = decoded.into_parts().expect("parts");
    let hits = retriever.search_by(RetrieverKind::Dense, "", Some(&vectors[0]), 1, &SearchOptions::default()).expect("search");
    assert_eq!(hits.len(), 1);
    let wrong = retriever.search_by(RetrieverKind::Dense, "", Some(&[1.0]), 1, &SearchOptions::default());
    assert!(matches!(wrong, Err(rf_templates::DenseError::QueryDimension { expected: 3, found: 1 })), "{wrong:?}");
}

#[test]
fn embeddings_of_another_scheme_or_cut_short_are_refused() {
    let (bundle, _) = small_dense_bundle();
    let mut other = bundle.clone();
    other.dense.as_mut().expect("dense").scheme = "int4/v0".into();
    let err = Bundle::decode(&other.encode().expect("encode")).unwrap_err();
    assert!(matches!(err, BundleError::UnsupportedEmbeddingScheme { .. }), "{err}");
    let mut short = bundle;
    short.dense.as_mut().expect("dense").values.pop();
    assert!(matches!(short.encode(), Err(BundleError::Embeddings(_))), "an inconsistent index is not written");
    short.library.templates.clear();
    assert!(short.into_parts().is_err(), "embeddings that no longer match the library are an error, not a panic");
}

fn small_library() -> Library {
    Library::from_sources([("a.toml", GOOD)]).expect("fixture")
}

#[test]
fn worked_examples_attach_only_to_their_own_library() {
    let library = small_library();
    let examples = WorkedExamples::from_library(&library).expect("examples");
    let mut core = Bundle::decode(&small_bundle()).expect("decode").library;

    let mut other = examples.clone();
    other.library_version = "sha256:0000000000000000".into();
    assert!(matches!(other.attach_to(&mut core.clone()), Err(BundleError::ExamplesForOtherLibrary { .. })));
    let mut short = examples.clone();
    short.examples.pop();
    let err = short.attach_to(&mut core.clone()).unwrap_err();
    assert_eq!(err, BundleError::ExampleCount { found: library.len() - 1, expected: library.len() });

    let unchanged = core.clone();
    let err = WorkedExamples::from_library(&unchanged).unwrap_err();
    assert!(matches!(err, BundleError::ExampleMissing(_)), "a bundle without examples cannot write them: {err}");
    examples.attach_to(&mut core).expect("attach");
    assert_eq!(core, library);
}

#[test]
fn damaged_worked_examples_are_typed_errors() {
    let bytes = WorkedExamples::from_library(&small_library()).expect("examples").encode().expect("encode");
    assert_eq!(WorkedExamples::decode(&small_bundle()).unwrap_err(), BundleError::BadMagic, "the bundle is not its examples");
    assert_eq!(Bundle::decode(&bytes).unwrap_err(), BundleError::BadMagic, "nor the other way round");
    for cut in [3, 10, bytes.len() - 1] {
        assert!(matches!(WorkedExamples::decode(&bytes[..cut]), Err(BundleError::Truncated { .. })), "cut at {cut}");
    }
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    assert!(matches!(WorkedExamples::decode(&flipped), Err(BundleError::ChecksumMismatch { .. })));
    let mut version = bytes;
    version[4] = 9;
    assert!(matches!(WorkedExamples::decode(&version), Err(BundleError::UnsupportedVersion { found: 9, supported: 1 })));
}
