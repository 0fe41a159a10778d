//! Bundle size and decode-to-ready time for the real library, or for a built bundle file (one
//! with template embeddings: `reasonflux templates build --encoder DIR`) and its worked
//! examples beside it.
//! Run: cargo run --release -p rf-templates --example bundle_bench [-- TEMPLATES_DIR|BUNDLE_FILE [RUNS]]

use std::path::PathBuf;
use std::time::Instant;

use rf_templates::{Bundle, Library, WorkedExamples, examples_path};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"));
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(31).max(1);

    let t0 = Instant::now();
    let (bytes, examples) = if dir.is_file() {
        (std::fs::read(&dir)?, std::fs::read(examples_path(&dir))?)
    } else {
        let library = Library::load_dir(&dir)?;
        (Bundle::from_library(library.clone()).encode()?, WorkedExamples::from_library(&library)?.encode()?)
    };
    let encode_ms = t0.elapsed().as_secs_f64() * 1e3;
    let decoded = Bundle::decode(&bytes)?;
    let (n, dense) = (decoded.library.len(), decoded.dense.map(|d| format!("{} × {} ({})", d.len(), d.dim, d.encoder)));
    let header = rf_templates::read_header(&bytes)?;

    let mut times = Vec::with_capacity(runs);
    let mut example_times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let (mut library, retriever) = Bundle::decode(&bytes)?.into_parts()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        WorkedExamples::decode(&examples)?.attach_to(&mut library)?;
        example_times.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box((library, retriever));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (examples_ms, median) = (median(&mut example_times), median(&mut times));

    println!("templates:        {n}");
    println!("library version:  {}", header.library_version);
    println!("bundle size:      {} bytes ({:.1} KB)", bytes.len(), bytes.len() as f64 / 1000.0);
    println!("payload sha256:   {}", header.sha256_hex());
    println!("embeddings:       {}", dense.as_deref().unwrap_or("none"));
    println!("worked examples:  {} bytes ({:.1} KB), a second file", examples.len(), examples.len() as f64 / 1000.0);
    println!("encode (or read): {encode_ms:.0} ms");
    println!("decode-to-ready:  median {median:.2} ms over {runs} runs (min {:.2}, max {:.2})", times[0], times[times.len() - 1]);
    println!("attach examples:  median {examples_ms:.2} ms");
    Ok(())
}
