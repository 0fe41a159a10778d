#!/usr/bin/env bash
# CPU speed reference: runs the same benchmark as `reasonflux bench` (128-token prompt of the
# fixed seed sentence, one prefill, 64 greedy tokens with no stop, 1 warm-up + 3 measured runs,
# medians, peak RSS from VmHWM) with candle's quantised GGUF models (candle-core /
# candle-transformers from crates.io, default features, CPU only).
#
# The candle project is written from scratch into a cache directory OUTSIDE the repository
# (candle is not a dependency of ReasonFlux Web) and built in release there.
#
# Usage: scripts/bench-candle.sh [MODEL.gguf ...]   (default: the SmolLM2 and Qwen2.5 GGUFs in assets/)
# Env:   CANDLE_BENCH_DIR  project dir   (default ~/.cache/reasonflux-web/candle-bench)
#        CARGO_TARGET_DIR  build dir     (default $CANDLE_BENCH_DIR/target)
#        CANDLE_VERSION    crate version (default 0.11.1)
#        CARGO_JOBS        cargo -j      (default: cargo's own)
#        BENCH_ARGS        extra args, e.g. "--runs 5 --prompt-tokens 128 --decode-tokens 64"
# Set RAYON_NUM_THREADS to pin candle's thread count (default: all cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${CANDLE_BENCH_DIR:-$HOME/.cache/reasonflux-web/candle-bench}"
version="${CANDLE_VERSION:-0.11.1}"
case "$dir" in "$root"|"$root"/*) echo "CANDLE_BENCH_DIR must be outside the repository" >&2; exit 2;; esac
mkdir -p "$dir/src"

cat > "$dir/Cargo.toml" <<EOF
[package]
name = "candle-bench"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
candle-core = "=$version"
candle-transformers = "=$version"
anyhow = "1"

[profile.release]
opt-level = 3
EOF

cat > "$dir/build.rs" <<'EOF'
// Records the resolved candle-core version for the report.
fn main() {
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut version = "unknown".to_string();
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"candle-core\"" {
            if let Some(v) = lines.next() {
                version = v.trim_start_matches("version = ").trim_matches('"').to_string();
            }
        }
    }
    println!("cargo:rustc-env=CANDLE_VERSION={version}");
    println!("cargo:rerun-if-changed=Cargo.lock");
}
EOF

cat > "$dir/src/main.rs" <<'EOF'
//! Candle CPU reference benchmark mirroring `reasonflux bench`: 128-token prompt
//! (seed sentence tokenised without BOS, repeated and truncated), one prefill, then
//! greedy argmax decode of 64 tokens with no stop; 1 warm-up + N measured runs, medians.
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};

// "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
// encoded with add_special_tokens=false (llama.cpp vocab_only tokeniser on each GGUF; the Qwen ids
// equal the HF tokenizers encoding of assets/qwen-tokenizer.json).
const SEED_SMOLLM2: [u32; 27] = [
    62, 6927, 542, 3459, 23026, 288, 216, 36, 40, 282, 874, 2428, 281, 4124, 28, 284, 965, 1041, 3459, 2745, 347,
    800, 23026, 281, 2405, 30, 216,
];
const SEED_QWEN2: [u32; 27] = [
    45, 4212, 685, 6088, 26111, 311, 220, 19, 23, 315, 1059, 4780, 304, 5813, 11, 323, 1221, 1340, 6088, 4279, 438,
    1657, 26111, 304, 3217, 13, 220,
];

enum Model {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
}

impl Model {
    fn forward(&mut self, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Model::Llama(m) => m.forward(x, pos),
            Model::Qwen2(m) => m.forward(x, pos),
        }
    }
    fn reset(&mut self) {
        match self {
            Model::Llama(m) => m.clear_kv_cache(),
            Model::Qwen2(m) => m.clear_kv_cache(),
        }
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn argmax(logits: &Tensor) -> Result<u32> {
    let v: Vec<f32> = logits.squeeze(0)?.to_dtype(candle_core::DType::F32)?.to_vec1()?;
    let mut best = 0usize;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    Ok(best as u32)
}

/// Prefill + greedy decode; returns (prefill_s, decode_s, generated ids).
fn generate(model: &mut Model, prompt: &[u32], n: usize, dev: &Device) -> Result<(f64, f64, Vec<u32>)> {
    model.reset();
    let t = Instant::now();
    let input = Tensor::new(prompt, dev)?.unsqueeze(0)?;
    let logits = model.forward(&input, 0)?;
    let mut next = argmax(&logits)?;
    let prefill = t.elapsed().as_secs_f64();
    // Same step count as rf_engine::generate: n tokens chosen and n single-token forwards
    // (the last forward's logits are unused there as well).
    let t = Instant::now();
    let mut out = Vec::with_capacity(n);
    let mut pos = prompt.len();
    for _ in 0..n {
        out.push(next);
        let input = Tensor::new(&[next], dev)?.unsqueeze(0)?;
        let logits = model.forward(&input, pos)?;
        pos += 1;
        next = argmax(&logits)?;
    }
    Ok((prefill, t.elapsed().as_secs_f64(), out))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        bail!("usage: candle-bench MODEL.gguf [--prompt-tokens 128] [--decode-tokens 64] [--runs 3]");
    }
    let path = std::path::PathBuf::from(&args[1]);
    let (mut prompt_tokens, mut decode_tokens, mut runs) = (128usize, 64usize, 3usize);
    let mut i = 2;
    while i + 1 < args.len() {
        let v: usize = args[i + 1].parse()?;
        match args[i].as_str() {
            "--prompt-tokens" => prompt_tokens = v,
            "--decode-tokens" => decode_tokens = v,
            "--runs" => runs = v,
            o => bail!("unknown option {o}"),
        }
        i += 2;
    }
    let dev = Device::Cpu;
    let load_start = Instant::now();
    let mut file = std::fs::File::open(&path).with_context(|| format!("open {}", path.display()))?;
    let content = gguf_file::Content::read(&mut file).map_err(|e| e.with_path(&path))?;
    let arch = content.metadata.get("general.architecture").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
    let vocab: Vec<String> = content
        .metadata
        .get("tokenizer.ggml.tokens")
        .and_then(|v| v.to_vec().ok())
        .map(|v| v.iter().map(|t| t.to_string().cloned().unwrap_or_default()).collect())
        .unwrap_or_default();
    let mut dtypes = std::collections::BTreeMap::<String, usize>::new();
    for info in content.tensor_infos.values() {
        *dtypes.entry(format!("{:?}", info.ggml_dtype)).or_default() += 1;
    }
    eprintln!("{}: arch {arch}, tensor types {dtypes:?}, avx2+fma kernels available: {}", path.display(), candle_core::utils::with_avx());
    let (mut model, seed) = match arch.as_str() {
        "llama" => (Model::Llama(quantized_llama::ModelWeights::from_gguf(content, &mut file, &dev)?), &SEED_SMOLLM2[..]),
        "qwen2" => (Model::Qwen2(quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &dev)?), &SEED_QWEN2[..]),
        a => bail!("unsupported architecture {a}"),
    };
    let load_seconds = load_start.elapsed().as_secs_f64();
    let mut ids = Vec::new();
    while ids.len() < prompt_tokens {
        ids.extend_from_slice(seed);
    }
    ids.truncate(prompt_tokens.max(1));

    let (mut prefill, mut decode) = (Vec::new(), Vec::new());
    let mut sample = Vec::new();
    for run in 0..=runs.max(1) {
        let (p, d, out) = generate(&mut model, &ids, decode_tokens, &dev)?;
        eprintln!("run {run}{}: prefill {:.3}s decode {:.3}s", if run == 0 { " (warm-up)" } else { "" }, p, d);
        if run == 0 {
            sample = out;
            continue;
        }
        prefill.push(ids.len() as f64 / p.max(1e-9));
        decode.push(decode_tokens as f64 / d.max(1e-9));
    }
    let text: String = sample.iter().map(|&t| vocab.get(t as usize).map(String::as_str).unwrap_or("?")).collect::<String>();
    eprintln!("greedy continuation: {:?}", text.replace('Ġ', " ").replace('Ċ', "\n"));
    let (prefill_tps, decode_tps) = (median(prefill), median(decode));
    let peak = peak_rss_mib();
    let threads = candle_core::utils::get_num_threads();
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    println!("| engine | model | threads | load s | prompt tok | prefill tok/s | decode tok | decode tok/s | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| candle {} | {} | {} | {:.2} | {} | {:.1} | {} | {:.2} | {} |",
        env!("CANDLE_VERSION"),
        name,
        threads,
        load_seconds,
        ids.len(),
        prefill_tps,
        decode_tokens,
        decode_tps,
        peak.map_or("n/a".into(), |p| format!("{p:.0}"))
    );
    println!(
        "{{\"engine\":\"candle\",\"candle_version\":\"{}\",\"model\":\"{}\",\"architecture\":\"{}\",\"device\":\"cpu\",\"threads\":{},\"avx\":{},\"load_seconds\":{:.4},\"prompt_tokens\":{},\"prefill_tokens_per_second\":{:.3},\"decode_tokens\":{},\"decode_tokens_per_second\":{:.3},\"runs\":{},\"peak_rss_mib\":{}}}",
        env!("CANDLE_VERSION"),
        path.display(),
        arch,
        threads,
        candle_core::utils::with_avx(),
        load_seconds,
        ids.len(),
        prefill_tps,
        decode_tokens,
        decode_tps,
        runs.max(1),
        peak.map_or("null".into(), |p| format!("{p:.1}"))
    );
    Ok(())
}
EOF

jobs=()
[ -n "${CARGO_JOBS:-}" ] && jobs=(-j "$CARGO_JOBS")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$dir/target}"
(cd "$dir" && cargo build --release "${jobs[@]}")
bin="$CARGO_TARGET_DIR/release/candle-bench"

if [ "$#" -eq 0 ]; then
  set -- "$root/assets/SmolLM2-135M-Instruct.Q4_1.gguf" "$root/assets/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)   cpus: $(nproc)" >&2
for model in "$@"; do
  # shellcheck disable=SC2086
  "$bin" "$model" ${BENCH_ARGS:-}
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
