//! Bundle size and decode-to-ready time for the real library, or for a built bundle file (one
//! with template embeddings: `reasonflux templates build --encoder DIR`).
//! Run: cargo run --release -p rf-templates --example bundle_bench [-- TEMPLATES_DIR|BUNDLE_FILE [RUNS]]

use std::path::PathBuf;
use std::time::Instant;

use rf_templates::{Bundle, Library};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"));
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(31).max(1);

    let t0 = Instant::now();
    let bytes = if dir.is_file() { std::fs::read(&dir)? } else { Bundle::from_library(Library::load_dir(&dir)?).encode()? };
    let encode_ms = t0.elapsed().as_secs_f64() * 1e3;
    let decoded = Bundle::decode(&bytes)?;
    let (n, dense) = (decoded.library.len(), decoded.dense.map(|d| format!("{} × {} ({})", d.len(), d.dim, d.encoder)));
    let header = rf_templates::read_header(&bytes)?;

    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let (library, retriever) = Bundle::decode(&bytes)?.into_parts()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box((library, retriever));
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];

    println!("templates:        {n}");
    println!("library version:  {}", header.library_version);
    println!("bundle size:      {} bytes ({:.1} KB)", bytes.len(), bytes.len() as f64 / 1000.0);
    println!("payload sha256:   {}", header.sha256_hex());
    println!("embeddings:       {}", dense.as_deref().unwrap_or("none"));
    println!("encode (or read): {encode_ms:.0} ms");
    println!("decode-to-ready:  median {median:.2} ms over {runs} runs (min {:.2}, max {:.2})", times[0], times[times.len() - 1]);
    Ok(())
}
