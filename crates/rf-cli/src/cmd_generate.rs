//! `reasonflux generate`: stream a completion from a local model.
use std::io::Write;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use rf_engine::{ChatMessage, GenerationConfig, SamplingConfig};

use crate::common::{DeviceArg, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The prompt text (with --chat: the user message).
    #[arg(long, short)]
    pub prompt: String,
    /// Wrap the prompt in the model's ChatML chat format.
    #[arg(long)]
    pub chat: bool,
    /// System message used with --chat.
    #[arg(long, default_value = "Please reason step by step, and put your final answer within \\boxed{}.")]
    pub system: String,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Stop when this string appears (repeatable).
    #[arg(long = "stop")]
    pub stop: Vec<String>,
    /// Print a JSON summary (tokens, timings, finish reason) after the text.
    #[arg(long)]
    pub json: bool,
}

/// Sampling flags shared by the commands that generate.
#[derive(clap::Args, Debug, Clone)]
pub struct SamplingArgs {
    /// Maximum number of new tokens.
    #[arg(long, default_value_t = 256)]
    pub max_new_tokens: usize,
    /// Sampling temperature; 0 means greedy.
    #[arg(long, default_value_t = 0.6)]
    pub temperature: f32,
    /// Nucleus sampling threshold.
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    /// Keep only the k most likely tokens (0 = all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Random seed for sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Greedy decoding (same as --temperature 0).
    #[arg(long)]
    pub greedy: bool,
}

impl SamplingArgs {
    pub fn config(&self, stop_strings: Vec<String>) -> GenerationConfig {
        GenerationConfig {
            max_new_tokens: self.max_new_tokens,
            sampling: SamplingConfig {
                temperature: if self.greedy { 0.0 } else { self.temperature },
                top_k: self.top_k,
                top_p: self.top_p,
                seed: self.seed,
            },
            stop_tokens: Vec::new(),
            stop_strings,
        }
    }
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let mut model = args.model.load()?;
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("installing the Ctrl-C handler")?;
    let cfg = args.sampling.config(args.stop.clone());
    let ids = if args.chat {
        model.chat_prompt(&[ChatMessage::new("system", &args.system), ChatMessage::new("user", &args.prompt)])?
    } else {
        if args.prompt.is_empty() {
            anyhow::bail!(rf_engine::EngineError::EmptyPrompt);
        }
        model.tokenizer.encode(&args.prompt)?
    };
    let mut stdout = std::io::stdout();
    let generation = model.generate_ids(&ids, &cfg, |event| {
        let _ = stdout.write_all(event.text.as_bytes());
        let _ = stdout.flush();
        if cancelled.load(Ordering::SeqCst) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    println!();
    report(&generation, args.json, args.model.device);
    Ok(())
}

fn report(g: &rf_engine::Generation, json: bool, device: DeviceArg) {
    let decode_tps = if g.decode_seconds > 0.0 { g.token_ids.len() as f64 / g.decode_seconds } else { 0.0 };
    eprintln!(
        "[{} prompt tokens, {} new tokens, finish: {:?}, prefill {:.2}s, decode {:.1} tok/s on {:?}]",
        g.prompt_tokens,
        g.token_ids.len(),
        g.finish_reason,
        g.prefill_seconds,
        decode_tps,
        device
    );
    if json {
        println!("{}", serde_json::json!({
            "text": g.text, "token_ids": g.token_ids, "prompt_tokens": g.prompt_tokens,
            "finish_reason": g.finish_reason, "prefill_seconds": g.prefill_seconds,
            "decode_seconds": g.decode_seconds, "decode_tokens_per_second": decode_tps,
        }));
    }
}

