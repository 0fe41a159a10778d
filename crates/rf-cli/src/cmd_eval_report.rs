//! `reasonflux eval-set` draws a fixed evaluation set; `reasonflux eval-report` turns run
//! folders into the committed results: slim per-problem records, accuracy with Wilson
//! intervals, paired tests against a baseline, cost plots.
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rf_eval::{BenchmarkPaths, EvalRecord, EvalSet, FailureTable, PairedComparison, SummaryRow};
use rf_planner::StrategyKind;
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct EvalSetArgs {
    /// Benchmark to draw from.
    #[arg(long)]
    pub bench: String,
    /// Problems per difficulty level (seeded draw); without it, the whole benchmark.
    #[arg(long)]
    pub per_level: Option<usize>,
    /// Seed of the draw.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Name written in the file's first comment line.
    #[arg(long)]
    pub name: String,
    /// Repository root holding assets/.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

/// Prints the set file to stdout.
pub fn run_set(args: EvalSetArgs) -> anyhow::Result<()> {
    let problems = rf_eval::load_benchmark(&args.bench, &BenchmarkPaths::default_for_repo(&args.root))?;
    let (picked, how) = match args.per_level {
        Some(k) => (rf_eval::draw_per_level(problems, k, args.seed), format!("{k} problems per level, seeded draw")),
        None => (problems, "every problem, in file order".to_string()),
    };
    let set = EvalSet { benchmark: args.bench.clone(), ids: picked.into_iter().map(|p| p.id).collect() };
    let mut cmd = format!("reasonflux eval-set --bench {} --name {}", args.bench, args.name);
    if let Some(k) = args.per_level {
        write!(cmd, " --per-level {k} --seed {}", args.seed)?;
    }
    let comment = format!("{}: {} problems of {}, {how}\nmade by: {cmd}", args.name, set.ids.len(), args.bench);
    print!("{}", set.to_text(&comment));
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct EvalReportArgs {
    /// Folders of `reasonflux eval` output (every *.jsonl in them; shards are merged).
    #[arg(long, required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Where the report goes: records/<bench>-<strategy>.jsonl (slim), summary.json,
    /// summary.md, cost-<bench>.svg.
    #[arg(long)]
    pub out: PathBuf,
    /// Strategy every other one is compared with, problem by problem.
    #[arg(long, default_value = "direct")]
    pub baseline: StrategyKind,
    /// Grade the recorded answers again with the current grader.
    #[arg(long)]
    pub regrade: bool,
    /// The runs' --max-new-tokens (a solution that used all of it counts as cut off).
    #[arg(long, default_value_t = 1024)]
    pub budget: u64,
}

/// What summary.json holds.
#[derive(Serialize)]
struct Report<'a> {
    rows: &'a [SummaryRow],
    paired: &'a [PairedComparison],
    failures: &'a FailureTable,
}

pub fn run_report(args: EvalReportArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for dir in &args.runs {
        files.extend(jsonl_files(dir)?);
    }
    let mut records = rf_eval::read_records_many(&files)?;
    if args.regrade {
        records.iter_mut().for_each(EvalRecord::regrade);
    }
    anyhow::ensure!(!records.is_empty(), "no evaluation records in {:?}", args.runs);
    write_slim_records(&args.out.join("records"), &records, args.budget)?;
    let rows = rf_eval::summarize(&records);
    let paired = paired_against(&records, args.baseline.as_str());
    let failures = FailureTable::build(&records, args.budget);
    let report = Report { rows: &rows, paired: &paired, failures: &failures };
    std::fs::write(args.out.join("summary.json"), serde_json::to_string_pretty(&report)?)?;
    let md = format!("{}\n{}\n{}", rf_eval::summary_markdown(&rows), paired_markdown(&paired), failures.markdown());
    std::fs::write(args.out.join("summary.md"), &md)?;
    for bench in records.iter().map(|r| r.benchmark.as_str()).collect::<BTreeSet<_>>() {
        let series = rf_eval::cost_series(&rows, Some(bench));
        let svg = rf_eval::cost_plot_svg(&series, &format!("{bench}: exploration cost by difficulty"));
        std::fs::write(args.out.join(format!("cost-{bench}.svg")), svg)?;
    }
    println!("{md}");
    Ok(())
}

/// The `*.jsonl` files directly in `dir`, sorted.
pub fn jsonl_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    Ok(files)
}

/// One file per (benchmark, strategy), records sorted by id, without texts and traces.
fn write_slim_records(dir: &Path, records: &[EvalRecord], budget: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let groups: BTreeSet<(&str, &str)> = records.iter().map(|r| (r.benchmark.as_str(), r.strategy.as_str())).collect();
    for (bench, strategy) in groups {
        let mut group: Vec<&EvalRecord> = records.iter().filter(|r| r.benchmark == bench && r.strategy == strategy).collect();
        group.sort_by(|a, b| a.id.cmp(&b.id));
        let mut text = String::new();
        for r in group {
            text.push_str(&serde_json::to_string(&r.slim(budget))?);
            text.push('\n');
        }
        std::fs::write(dir.join(format!("{bench}-{strategy}.jsonl")), text)?;
    }
    Ok(())
}

/// Every other strategy against `baseline`, per benchmark.
fn paired_against(records: &[EvalRecord], baseline: &str) -> Vec<PairedComparison> {
    let pairs: BTreeSet<(&str, &str)> = records
        .iter()
        .filter(|r| r.strategy != baseline)
        .map(|r| (r.benchmark.as_str(), r.strategy.as_str()))
        .collect();
    pairs
        .into_iter()
        .map(|(bench, strategy)| rf_eval::paired_comparison(records, bench, strategy, baseline))
        .filter(|p| p.n > 0)
        .collect()
}

fn paired_markdown(paired: &[PairedComparison]) -> String {
    let mut s = String::from(
        "| benchmark | strategy | vs | paired n | both right | only strategy | only baseline | both wrong | McNemar exact p |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for p in paired {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.3} |\n",
            p.benchmark, p.a, p.b, p.n, p.both_correct, p.only_a, p.only_b, p.both_wrong, p.p_value
        ));
    }
    s
}
