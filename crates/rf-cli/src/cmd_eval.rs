//! `reasonflux eval`: run a strategy over a benchmark, resumably, then summarise and plot.
use std::path::PathBuf;

use rf_eval::{BenchmarkPaths, Cost, LoadOptions, RunOptions, SolveOutcome};
use rf_planner::run_to_completion;

use crate::backend::{EngineBackend, load_templates};
use crate::cmd_solve::StrategyArgs;
use crate::common::ModelArgs;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Benchmark: math500, math, gsm8k, aime24, amc23, olympiadbench, gaokao2023en.
    #[arg(long)]
    pub bench: String,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub strategy: StrategyArgs,
    /// Evaluate only this many problems (a seeded subset when --subset-seed is given).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed choosing the subset for --limit (default: the first N problems).
    #[arg(long)]
    pub subset_seed: Option<u64>,
    /// Output folder: <bench>-<strategy>.jsonl (appended to; re-running resumes), summary.md,
    /// summary.json and cost-vs-level.svg.
    #[arg(long, default_value = "runs")]
    pub out: PathBuf,
    /// Repository root holding assets/ (and ../shared for the extra benchmarks).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let paths = BenchmarkPaths::default_for_repo(&args.root);
    let problems =
        rf_eval::load_benchmark_with(&args.bench, &paths, &LoadOptions { limit: args.limit, seed: args.subset_seed })?;
    let (library, retriever) = load_templates(args.strategy.bundle.as_deref(), &args.strategy.templates)?;
    let mut inference = args.model.load()?;
    let mut navigator = args.model.load_navigator(args.strategy.navigator.as_ref())?;
    let spec = args.strategy.spec();
    let strategy = args.strategy.strategy.name();
    std::fs::create_dir_all(&args.out)?;
    let out = args.out.join(format!("{}-{}.jsonl", args.bench, strategy));
    let solver = |problem: &rf_eval::Problem| -> anyhow::Result<SolveOutcome> {
        let mut backend = EngineBackend {
            inference: &mut inference,
            navigator: navigator.as_mut(),
            library: &library,
            retriever: &retriever,
            sink: None,
        };
        let mut machine = spec.start(problem.question.clone());
        let trace = run_to_completion(&mut machine, &mut backend)?;
        let t = &trace.totals;
        Ok(SolveOutcome {
            answer: trace.answer.clone(),
            final_text: trace.final_text.clone().unwrap_or_default(),
            cost: Cost {
                rounds: t.interplay_rounds,
                steps: t.reasoning_steps,
                trajectories: t.trajectories,
                prompt_tokens: t.prompt_tokens,
                generated_tokens: t.generated_tokens,
            },
            trace: serde_json::to_value(&trace)?,
        })
    };
    let report = rf_eval::run_eval(&problems, strategy, &out, solver, &RunOptions::default())?;
    eprintln!(
        "{}: {} recorded ({} resumed), {} correct, {} failed → {}",
        args.bench,
        report.recorded,
        report.resumed,
        report.correct,
        report.failed,
        out.display()
    );
    // Summarise every strategy run into this folder so far.
    let files: Vec<PathBuf> = std::fs::read_dir(&args.out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    let rows = rf_eval::summarize(&rf_eval::read_records_many(&files)?);
    let table = rf_eval::summary_markdown(&rows);
    println!("{table}");
    std::fs::write(args.out.join("summary.md"), &table)?;
    std::fs::write(args.out.join("summary.json"), rf_eval::summary_json(&rows)?)?;
    let svg = rf_eval::cost_plot_svg(
        &rf_eval::cost_series(&rows, Some(&args.bench)),
        &format!("{}: exploration cost by difficulty", args.bench),
    );
    std::fs::write(args.out.join("cost-vs-level.svg"), svg)?;
    Ok(())
}
