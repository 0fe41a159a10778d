//! `reasonflux train`: structure-based fine-tuning, preference pairs, DPO, and the
//! template-name hit rate of a navigator.
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rf_eval::Shard;
use rf_planner::PlannerConfig;
use rf_templates::Library;
use rf_train::data::{self, SftExample};
use rf_train::loss::Tokenized;
use rf_train::dpo::{self, DpoReport};
use rf_train::pairs::{self, PairsLog, PreferencePair, Problem, ScoredProblem, Split};
use rf_train::trainer::{Dpo, ScoredPair, Sft, StepLog, TrainConfig, find_start, train};

use rf_solve::{EngineBackend, TemplateIndex};
use crate::common::ModelArgs;

#[derive(clap::Subcommand, Debug)]
pub enum TrainCommand {
    /// Structure-based fine-tuning on the template library ((name, tags) → (description,
    /// scope), its reverse, and problem → trajectory). Re-running with the same --out resumes.
    Sft(SftArgs),
    /// Sample trajectories from a navigator, score them with the planner and grader, and append
    /// preference pairs to a JSONL file (re-running skips the problems already done).
    Pairs(PairsArgs),
    /// Trajectory-level DPO on a pairs file against the frozen starting model.
    Dpo(DpoArgs),
    /// Exact template-name hit rate of a navigator's plans on the held-out problems.
    Names(NamesArgs),
}

/// Optimisation flags shared by `sft` and `dpo`.
#[derive(clap::Args, Debug)]
pub struct OptimArgs {
    /// Checkpoints (step-NNNNNN/: HF safetensors + config + tokenizer + optimizer state) and
    /// log.jsonl go here; an existing run in it is resumed.
    #[arg(long)]
    pub out: PathBuf,
    /// Total optimizer steps.
    #[arg(long, default_value_t = 100)]
    pub steps: u64,
    /// Peak learning rate (AdamW).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Warm-up steps (then cosine decay to 10 %).
    #[arg(long, default_value_t = 10)]
    pub warmup: u64,
    /// Examples per optimizer step.
    #[arg(long, default_value_t = 4)]
    pub accum: usize,
    /// Per-tensor gradient-norm clip (0: off).
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f64,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Checkpoint every N steps (and at the end).
    #[arg(long, default_value_t = 50)]
    pub save_every: u64,
    /// Checkpoints kept (newest).
    #[arg(long, default_value_t = 2)]
    pub keep: usize,
    /// Seed of the example order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Skip examples longer than this many tokens (prompt + response).
    #[arg(long, default_value_t = 512)]
    pub max_len: usize,
}

impl OptimArgs {
    fn config(&self, default_lr: f64) -> TrainConfig {
        TrainConfig {
            lr: self.lr.unwrap_or(default_lr),
            warmup: self.warmup,
            steps: self.steps,
            accum: self.accum,
            grad_clip: self.grad_clip,
            weight_decay: self.weight_decay,
            save_every: self.save_every,
            keep: self.keep,
            seed: self.seed,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct SftArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Template library folder.
    #[arg(long, default_value = "templates")]
    pub templates: PathBuf,
    /// Example kinds to train on: structure ((name, tags) → (description, scope), the paper's),
    /// recall (the reverse: the library's names as output), trajectory (problem → plan).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "structure,recall,trajectory")]
    pub kinds: Vec<KindArg>,
    #[command(flatten)]
    pub optim: OptimArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum KindArg {
    Structure,
    Recall,
    Trajectory,
}

impl From<KindArg> for data::ExampleKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Structure => data::ExampleKind::Structure,
            KindArg::Recall => data::ExampleKind::Recall,
            KindArg::Trajectory => data::ExampleKind::Trajectory,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct DpoArgs {
    /// The model to train and the frozen reference (usually the SFT checkpoint).
    #[command(flatten)]
    pub model: ModelArgs,
    /// Pairs file from `train pairs`.
    #[arg(long)]
    pub pairs: PathBuf,
    /// DPO temperature β.
    #[arg(long, default_value_t = 0.5)]
    pub beta: f64,
    #[command(flatten)]
    pub optim: OptimArgs,
}

#[derive(clap::Args, Debug)]
pub struct PairsArgs {
    /// The inference model (carries out the plans).
    #[command(flatten)]
    pub model: ModelArgs,
    /// The navigator that samples trajectories (default: the inference model).
    #[arg(long)]
    pub navigator: Option<PathBuf>,
    #[arg(long, default_value = "templates")]
    pub templates: PathBuf,
    /// JSONL file the pairs are appended to.
    #[arg(long)]
    pub out: PathBuf,
    /// Take the problems from this benchmark (e.g. gsm8k) instead of the library's worked
    /// examples: the first --problems for training, the next --held-out-problems held out.
    #[arg(long)]
    pub bench: Option<String>,
    /// With --bench: order its problems shortest first before slicing (the small inference
    /// models solve few long ones, and pairs need trajectories whose scores differ).
    #[arg(long)]
    pub shortest_first: bool,
    /// Repository root holding assets/ (for --bench).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Training problems to use (default source: worked examples of the non-held-out templates
    /// written here, shortest first).
    #[arg(long, default_value_t = 8)]
    pub problems: usize,
    /// Held-out problems (from held-out templates) for measuring preference accuracy.
    #[arg(long, default_value_t = 4)]
    pub held_out_problems: usize,
    /// Distinct trajectories per problem.
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// Similar problems each trajectory is also scored on.
    #[arg(long, default_value_t = 1)]
    pub similar: usize,
    /// Times each trajectory is carried out on each problem (different inference seeds); its
    /// score is the mean accuracy, so one lucky sample does not decide a pair.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Pairs kept per problem.
    #[arg(long, default_value_t = 3)]
    pub max_pairs: usize,
    /// Token budget of each navigator sample.
    #[arg(long, default_value_t = 160)]
    pub plan_tokens: usize,
    /// Token budget of each inference step and final answer while scoring.
    #[arg(long, default_value_t = 256)]
    pub step_tokens: u32,
    /// Longest plan carried out while scoring.
    #[arg(long, default_value_t = 2)]
    pub max_plan_steps: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Score only every N-th problem, starting at the I-th (`I/N`, I from 1, as in `reasonflux
    /// eval`), so N processes with the same flags and their own --out split the work; each
    /// problem keeps the seed it has in an unsharded run, so the concatenated files match one
    /// run's.
    #[arg(long, default_value = "1/1")]
    pub shard: Shard,
}

#[derive(clap::Args, Debug)]
pub struct NamesArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, default_value = "templates")]
    pub templates: PathBuf,
    /// Evaluate at most this many held-out problems (templates, with --recall).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Token budget of each plan (each recall reply, with --recall).
    #[arg(long, default_value_t = 160)]
    pub max_tokens: usize,
    /// Write the report (and every plan or reply) as JSON here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Score the plans saved in an earlier --report instead of generating (no model needed).
    #[arg(long)]
    pub rescore: Option<PathBuf>,
    /// Instead of plans, ask for each held-out template's name from its description and scope
    /// (the recall examples, which training covers for every template): does the model know the
    /// names at all?
    #[arg(long, conflicts_with = "rescore")]
    pub recall: bool,
}

/// `train names --recall`.
fn recall(args: &NamesArgs, library: &Library) -> anyhow::Result<()> {
    let mut held: Vec<_> = data::recall_examples(library).into_iter().filter(|e| data::is_held_out(&e.template_id)).collect();
    held.truncate(args.limit.unwrap_or(usize::MAX));
    let mut model = args.model.load()?;
    let bar = ProgressBar::new(held.len() as u64);
    let mut replies = Vec::new();
    let report = rf_train::names::evaluate_recall(&mut model, &held, args.max_tokens, |i, text| {
        bar.set_position(i as u64 + 1);
        replies.push(serde_json::json!({"template_id": held[i].template_id, "reply": text}));
    })?;
    bar.finish_and_clear();
    println!(
        "{} held-out templates: name recalled exactly from description and scope {}/{} = {:.3}",
        report.templates,
        report.exact,
        report.templates,
        report.exact as f64 / report.templates.max(1) as f64
    );
    if let Some(path) = &args.report {
        let json = serde_json::json!({"model": args.model.model, "report": report, "replies": replies});
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}

pub fn run(command: TrainCommand) -> anyhow::Result<()> {
    match command {
        TrainCommand::Sft(args) => sft(args),
        TrainCommand::Pairs(args) => pairs(args),
        TrainCommand::Dpo(args) => dpo(args),
        TrainCommand::Names(args) => names(args),
    }
}

/// Loads the model to train (from the newest checkpoint when resuming) on an autodiff device.
fn load_for_training(model: &ModelArgs, resume: Option<&Path>) -> anyhow::Result<rf_engine::LocalModel> {
    let device = model.init_device()?;
    let path = resume.unwrap_or(&model.model);
    let tokenizer = if resume.is_some() { None } else { model.tokenizer.as_deref() };
    rf_train::checkpoint::load_trainable(path, tokenizer, &device, model.context_len)
        .with_context(|| format!("loading {} for training", path.display()))
}

fn progress(total: u64, done: u64) -> ProgressBar {
    let bar = ProgressBar::new(total).with_position(done);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps, {elapsed} elapsed, ETA {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

fn step_message(log: &StepLog) -> String {
    match (log.margin, log.accuracy) {
        (Some(m), Some(a)) => format!("loss {:.4} margin {m:+.4} acc {a:.2} lr {:.2e}", log.loss, log.lr),
        _ => format!("loss {:.4} lr {:.2e} ({:.1} s/step)", log.loss, log.lr, log.seconds),
    }
}

/// The burn module of a model loaded for training (always f32).
fn trainable(model: &rf_engine::LocalModel) -> anyhow::Result<&rf_engine::Transformer> {
    Ok(model.model.as_f32().ok_or(rf_engine::EngineError::NeedsF32Weights)?)
}

/// Tokenises examples, dropping (and counting) those longer than `max_len`.
fn tokenize_all(model: &rf_engine::LocalModel, examples: &[SftExample], max_len: usize) -> anyhow::Result<Vec<Tokenized>> {
    let mut items = Vec::new();
    let mut skipped = 0;
    for ex in examples {
        match data::tokenize(model, &ex.messages, &ex.response, max_len) {
            Ok(t) => items.push(t),
            Err(rf_train::TrainError::BadExample { .. }) => skipped += 1,
            Err(e) => return Err(e.into()),
        }
    }
    eprintln!("{} examples ({skipped} longer than --max-len {max_len} skipped)", items.len());
    Ok(items)
}

fn sft(args: SftArgs) -> anyhow::Result<()> {
    let library = Library::load_dir(&args.templates).with_context(|| format!("loading {}", args.templates.display()))?;
    let cfg = args.optim.config(2e-5);
    let start = find_start(&args.optim.out, "sft")?;
    if let Some(dir) = &start.checkpoint {
        eprintln!("resuming from {} (step {})", dir.display(), start.step);
    }
    let model = load_for_training(&args.model, start.checkpoint.as_deref())?;
    let kinds: Vec<data::ExampleKind> = args.kinds.iter().map(|&k| k.into()).collect();
    let examples = data::sft_dataset(&library, &kinds);
    let items = tokenize_all(&model, &examples, args.optim.max_len)?;
    let bar = progress(cfg.steps, start.step);
    bar.set_prefix("sft");
    train(model.model.into_f32()?, &model.tokenizer, &Sft { items }, &cfg, &args.optim.out, &start, |log| {
        bar.set_position(log.step);
        bar.set_message(step_message(log));
    })?;
    bar.finish();
    println!("checkpoints and log.jsonl in {}", args.optim.out.display());
    Ok(())
}

fn pairs(args: PairsArgs) -> anyhow::Result<()> {
    let templates = TemplateIndex::load(None, &args.templates)?;
    let mut inference = args.model.load()?;
    let mut navigator = args.model.load_navigator(args.navigator.as_ref())?;
    let mut log = PairsLog::open(&args.out)?;
    let config = PlannerConfig {
        inference: rf_planner::SamplingConfig::paper(args.step_tokens),
        max_plan_steps: args.max_plan_steps,
        max_plan_attempts: 1,
        evaluate_steps: false,
        seed: args.seed,
        ..PlannerConfig::default()
    };
    let pools = match &args.bench {
        Some(name) => {
            let mut all: Vec<Problem> =
                rf_eval::load_benchmark_with(name, &rf_eval::BenchmarkPaths::default_for_repo(&args.root), &Default::default())?
                    .into_iter()
                    .map(|p| Problem { text: p.question, answer: p.gold })
                    .collect();
            if args.shortest_first {
                all.sort_by_key(|p| p.text.chars().count());
            }
            pairs::benchmark_pools(&all, args.problems, args.held_out_problems)
        }
        // The whole side of the split: similar problems are drawn from all of it.
        None => [Split::Train, Split::HeldOut].map(|split| (split, pairs::template_problems(&templates.library, split))),
    };
    for (split, pool) in &pools {
        let count = if *split == Split::Train { args.problems } else { args.held_out_problems };
        for (i, problem) in pool.iter().take(count).enumerate() {
            if !args.shard.takes(i) || log.is_done(&problem.text) {
                continue;
            }
            let nav = navigator.as_mut().unwrap_or(&mut inference);
            let trajectories =
                pairs::sample_trajectories(nav, &problem.text, args.samples, args.samples * 3, args.seed + i as u64 * 1000, args.plan_tokens)?;
            let similar = pairs::similar_problems(problem, pool, args.similar);
            let mut backend = EngineBackend { inference: &mut inference, navigator: navigator.as_mut(), templates: &templates, sink: None };
            let scored = pairs::score_trajectories(&trajectories, problem, &similar, &config, args.runs as usize, &mut backend)?;
            let new = pairs::make_pairs(&problem.text, &scored, *split, args.max_pairs);
            let scores: Vec<f64> = scored.iter().map(|s| s.score).collect();
            log.record(&ScoredProblem { problem: problem.text.clone(), split: *split, scores: scores.clone(), pairs: new.len() }, &new)?;
            eprintln!("[{} {}/{count}] {} trajectories, scores {scores:?}, {} pairs", split.as_str(), i + 1, trajectories.len(), new.len());
        }
    }
    Ok(())
}

fn dpo(args: DpoArgs) -> anyhow::Result<()> {
    let all = pairs::read_pairs(&args.pairs)?;
    let cfg = args.optim.config(5e-7);
    let start = find_start(&args.optim.out, "dpo")?;
    let model = load_for_training(&args.model, start.checkpoint.as_deref())?;
    let tokenized = |pairs: &[&PreferencePair]| -> anyhow::Result<Vec<(Tokenized, Tokenized)>> {
        pairs
            .iter()
            .map(|p| {
                let messages = rf_planner::prompts::plan_messages(&p.problem, data::PLAN_STEPS);
                Ok((
                    data::tokenize(&model, &messages, &p.chosen, args.optim.max_len)?,
                    data::tokenize(&model, &messages, &p.rejected, args.optim.max_len)?,
                ))
            })
            .collect()
    };
    let (train_pairs, held_pairs): (Vec<&PreferencePair>, Vec<&PreferencePair>) = all.iter().partition(|p| p.split == Split::Train);
    if train_pairs.is_empty() {
        bail!("{} has no training pairs", args.pairs.display());
    }
    let train_tok = tokenized(&train_pairs)?;
    let held_tok = tokenized(&held_pairs)?;
    let all_tok: Vec<(Tokenized, Tokenized)> = train_tok.iter().chain(&held_tok).cloned().collect();
    if !args.optim.out.join(dpo::REFERENCE_FILE).exists() {
        eprintln!("reference log-probabilities for {} pairs…", all_tok.len());
    }
    let refs = dpo::cached_reference_logprobs(&args.optim.out, start.checkpoint.is_some(), trainable(&model)?, &all_tok)?;
    let scored = |toks: &[(Tokenized, Tokenized)], offset: usize| -> Vec<ScoredPair> {
        toks.iter()
            .zip(&refs[offset..])
            .map(|((c, r), (rc, rr))| ScoredPair { chosen: c.clone(), rejected: r.clone(), ref_chosen: *rc, ref_rejected: *rr })
            .collect()
    };
    let train_set = Dpo { pairs: scored(&train_tok, 0), beta: args.beta };
    let held_set = Dpo { pairs: scored(&held_tok, train_tok.len()), beta: args.beta };
    // "Before" means the reference itself, which only a run from the start has.
    let held_before = if start.checkpoint.is_none() { Some(held_set.margins(trainable(&model)?)?) } else { None };
    let bar = progress(cfg.steps, start.step);
    bar.set_prefix("dpo");
    let trained = train(model.model.into_f32()?, &model.tokenizer, &train_set, &cfg, &args.optim.out, &start, |log| {
        bar.set_position(log.step);
        bar.set_message(step_message(log));
    })?;
    bar.finish();
    let report = DpoReport::new(args.beta, &train_set.margins(&trained)?, held_before.as_deref(), held_set.margins(&trained)?);
    report.write(&args.optim.out)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn names(args: NamesArgs) -> anyhow::Result<()> {
    let library = Library::load_dir(&args.templates).with_context(|| format!("loading {}", args.templates.display()))?;
    if args.recall {
        return recall(&args, &library);
    }
    let mut plans = Vec::new();
    let report = match &args.rescore {
        Some(path) => {
            let saved: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            )?;
            plans = saved["plans"].as_array().cloned().unwrap_or_default();
            let pairs: Vec<(&str, &str)> = plans
                .iter()
                .filter_map(|p| Some((p["template_id"].as_str()?, p["plan"].as_str()?)))
                .collect();
            rf_train::names::score_plans(&library, pairs)
        }
        None => {
            let mut held = data::trajectory_examples(&library, true);
            held.truncate(args.limit.unwrap_or(usize::MAX));
            let mut model = args.model.load()?;
            let bar = ProgressBar::new(held.len() as u64);
            let report = rf_train::names::evaluate_names(&mut model, &library, &held, args.max_tokens, |i, text| {
                bar.set_position(i as u64 + 1);
                plans.push(serde_json::json!({"template_id": held[i].template_id, "plan": text}));
            })?;
            bar.finish_and_clear();
            report
        }
    };
    println!(
        "{} held-out problems: plans parsed {:.3}; steps naming a library template exactly {}/{} = {:.3}; \
         own template named {:.3}; own template retrieved (top {}) from the plan {:.3}",
        report.problems,
        report.parse_rate(),
        report.library_name_hits,
        report.steps,
        report.step_hit_rate(),
        report.gold_hit_rate(),
        rf_train::names::RETRIEVE_K,
        report.gold_retrieved_rate()
    );
    if let Some(path) = &args.report {
        let json = serde_json::json!({
            "model": args.model.model, "report": report, "step_hit_rate": report.step_hit_rate(),
            "gold_hit_rate": report.gold_hit_rate(), "gold_retrieved_rate": report.gold_retrieved_rate(), "plans": plans
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(())
}
