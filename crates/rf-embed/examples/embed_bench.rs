//! Time to embed one query with all-MiniLM-L6-v2 on the CPU (median of repeated runs), on each
//! path: the burn module in f32, and rf-quant's kernels with f32 and with 8-bit weights.
//! Run: cargo run --release -p rf-embed --example embed_bench [-- MODEL_DIR [RUNS [burn|f32|q8_0]]]
use std::path::PathBuf;
use std::time::Instant;

use rf_embed::{CpuWeights, EncoderRuntime, SentenceEncoder};

const QUERIES: [&str; 3] = [
    "Chinese Remainder Theorem, congruences",
    "A triangle has sides 13, 14 and 15. Find the radius of the circle inscribed in it.",
    "Let $a$, $b$, $c$ be positive reals with $a + b + c = 3$. Find the minimum of \
     $\\frac{a^2}{b} + \\frac{b^2}{c} + \\frac{c^2}{a}$ and determine when equality holds, \
     given that the sequence defined by $x_1 = a$, $x_{n+1} = x_n^2 - x_n + 1$ stays bounded.",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("assets/all-MiniLM-L6-v2"));
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(21).max(1);
    let only = args.get(2).map(String::as_str);
    let runtimes = [
        ("burn", EncoderRuntime::Burn(rf_engine::Device::flex())),
        ("f32", EncoderRuntime::Cpu(CpuWeights::F32)),
        ("q8_0", EncoderRuntime::Cpu(CpuWeights::Q8_0)),
    ];
    for (label, runtime) in runtimes.into_iter().filter(|(label, _)| only.is_none_or(|o| o == *label)) {
        let t = Instant::now();
        let encoder = SentenceEncoder::load_dir(&dir, &runtime)?;
        println!("{label}: load {:.2} s ({})", t.elapsed().as_secs_f64(), encoder.fingerprint());
        for query in QUERIES {
            let (tokens, median, min) = time_query(&encoder, query, runs)?;
            println!("  {tokens:>4} tokens: median {median:.2} ms, min {min:.2} ms ({runs} runs)");
        }
    }
    Ok(())
}

/// Token count, median and fastest milliseconds of `runs` embeddings of `query` after a warm-up.
fn time_query(encoder: &SentenceEncoder, query: &str, runs: usize) -> Result<(usize, f64, f64), rf_embed::EmbedError> {
    let tokens = encoder.token_ids(query)?.len();
    encoder.embed(query)?;
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            encoder.embed(query).map(|_| t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_, _>>()?;
    ms.sort_by(f64::total_cmp);
    Ok((tokens, ms[runs / 2], ms[0]))
}
