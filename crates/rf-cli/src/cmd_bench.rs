//! `reasonflux bench`: prefill and decode speed and peak memory for one model and device.
use std::ops::ControlFlow;
use std::time::Instant;

use rf_engine::{GenerationConfig, SamplingConfig};

use crate::common::ModelArgs;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Prompt length in tokens for the prefill measurement.
    #[arg(long, default_value_t = 128)]
    pub prompt_tokens: usize,
    /// Tokens to decode (greedy, no stop tokens).
    #[arg(long, default_value_t = 64)]
    pub decode_tokens: usize,
    /// Measured repetitions after one warm-up run; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Write the figures as JSON to this file as well.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The CPU's model name (Linux `/proc/cpuinfo`), for the record.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let load_start = Instant::now();
    let mut model = args.model.load()?;
    let load_seconds = load_start.elapsed().as_secs_f64();
    // A fixed, ordinary English prompt, repeated to the requested length.
    let seed_text = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. ";
    let mut ids = Vec::new();
    while ids.len() < args.prompt_tokens {
        ids.extend(model.tokenizer.encode(seed_text)?);
    }
    ids.truncate(args.prompt_tokens.max(1));
    let cfg = GenerationConfig {
        max_new_tokens: args.decode_tokens,
        sampling: SamplingConfig::greedy(),
        stop_tokens: Vec::new(),
        stop_strings: Vec::new(),
    };
    let (mut prefill, mut decode) = (Vec::new(), Vec::new());
    for run in 0..=args.runs.max(1) {
        // Bypasses LocalModel's stop tokens so every run decodes the full count.
        let g = rf_engine::generate(&mut model.model, &model.tokenizer, &ids, &cfg, |_| ControlFlow::Continue(()))?;
        if run == 0 {
            continue; // warm-up: kernel compilation and allocator growth
        }
        prefill.push(ids.len() as f64 / g.prefill_seconds.max(1e-9));
        decode.push(g.token_ids.len() as f64 / g.decode_seconds.max(1e-9));
    }
    let (prefill_tps, decode_tps) = (median(prefill), median(decode));
    let peak = peak_rss_mib();
    let cfg = model.model.config();
    let weights = model.model.weights();
    let weight_bytes = model.model.weight_bytes();
    let kernels = match &model.model {
        rf_engine::Decoder::Quant(m) => format!("{} × {} threads", m.compute().isa().name(), m.compute().threads()),
        rf_engine::Decoder::F32(_) => "burn".to_string(),
    };
    println!("| model | device | weights | kernels | load s | prompt tok | prefill tok/s | decode tok | decode tok/s | weight GB/s | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {:?} | {weights} | {kernels} | {:.2} | {} | {:.1} | {} | {:.2} | {:.1} | {} |",
        args.model.model.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        args.model.device,
        load_seconds,
        ids.len(),
        prefill_tps,
        args.decode_tokens,
        decode_tps,
        weight_bytes as f64 * decode_tps / 1e9,
        peak.map_or("n/a".into(), |p| format!("{p:.0}")),
    );
    let json = serde_json::json!({
        "model": args.model.model.display().to_string(),
        "architecture": cfg.architecture,
        "layers": cfg.num_hidden_layers,
        "hidden_size": cfg.hidden_size,
        "device": format!("{:?}", args.model.device).to_lowercase(),
        "weights": weights,
        "kernels": kernels,
        "weight_bytes": weight_bytes,
        "load_s": load_seconds,
        "prompt_tokens": ids.len(),
        "prefill_tok_s": prefill_tps,
        "decode_tokens": args.decode_tokens,
        "decode_tok_s": decode_tps,
        // Weight bytes read per second while decoding: every token reads every weight once.
        "decode_weight_gb_s": weight_bytes as f64 * decode_tps / 1e9,
        "runs": args.runs.max(1),
        "peak_rss_mib": peak,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu_model(),
    });
    println!("{}", serde_json::to_string(&json)?);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}
