//! Summaries of evaluation records: benchmark × difficulty level × strategy.
//!
//! * `n` counts every record, failed ones included; `pass_at_1 = correct / n` (one sample per
//!   problem, so pass@1 is plain accuracy).
//! * The cost and time means (`mean_rounds`, …, `mean_seconds`, `mean_primary_cost`) are over
//!   the `n_ok` records without a solver error, so a crash does not pull the cost towards 0;
//!   they are 0 when `n_ok` is 0.
//! * Records without a level are grouped under `all` when none of the group's records has a
//!   level (OlympiadBench, Gaokao); otherwise under `unknown`. For a (benchmark, strategy)
//!   with levels, an extra `all` row pools every level.
//! * Rows are sorted by benchmark, then level (natural order: `Level 2` before `Level 10`,
//!   `all` last), then strategy.
//! * When the same (benchmark, strategy, id) appears more than once (e.g. two files), the
//!   last occurrence wins.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::plot::primary_cost;
use crate::runner::{EvalRecord, parse_jsonl};

/// Level label of pooled rows and of sets without levels.
pub const ALL_LEVELS: &str = "all";

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub benchmark: String,
    pub level: String,
    pub strategy: String,
    /// Records in the group.
    pub n: usize,
    /// Records without a solver error (the denominator of the means).
    pub n_ok: usize,
    pub correct: usize,
    /// Records whose solver failed.
    pub errors: usize,
    /// `correct / n`.
    pub pass_at_1: f64,
    /// The 95 % Wilson interval of `pass_at_1` ([`crate::wilson_interval`]).
    #[serde(default)]
    pub ci_low: f64,
    #[serde(default)]
    pub ci_high: f64,
    pub mean_rounds: f64,
    pub mean_steps: f64,
    pub mean_trajectories: f64,
    pub mean_prompt_tokens: f64,
    pub mean_generated_tokens: f64,
    pub mean_seconds: f64,
    /// Mean of the strategy's primary exploration cost ([`crate::primary_cost`]).
    pub mean_primary_cost: f64,
}

/// Read the records of one JSONL file (a truncated last line is ignored).
pub fn read_records(path: &Path) -> Result<Vec<EvalRecord>, EvalError> {
    let bytes = std::fs::read(path).map_err(|e| EvalError::io(path, e))?;
    let (records, _, _) = parse_jsonl::<EvalRecord>(path, &bytes)?;
    Ok(records)
}

/// Read several files, keeping the last record of each (benchmark, strategy, id).
pub fn read_records_many<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<EvalRecord>, EvalError> {
    let mut all = Vec::new();
    for p in paths {
        all.extend(read_records(p.as_ref())?);
    }
    Ok(dedup_last(all))
}

fn dedup_last(records: Vec<EvalRecord>) -> Vec<EvalRecord> {
    let mut index: HashMap<(String, String, String), usize> = HashMap::new();
    let mut out: Vec<EvalRecord> = Vec::new();
    for r in records {
        let k = (r.benchmark.clone(), r.strategy.clone(), r.id.clone());
        match index.get(&k) {
            Some(&i) => out[i] = r,
            None => {
                index.insert(k, out.len());
                out.push(r);
            }
        }
    }
    out
}

/// Natural order of level labels: by the number in them (`Level 2` < `Level 10`), then by
/// text; `all` last.
pub fn level_cmp(a: &str, b: &str) -> Ordering {
    let rank = |s: &str| -> (u8, Option<u64>, String) {
        if s == ALL_LEVELS {
            return (2, None, String::new());
        }
        let digits: String = s.chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
        match digits.parse::<u64>() {
            Ok(n) => (0, Some(n), s.to_string()),
            Err(_) => (1, None, s.to_string()),
        }
    };
    rank(a).cmp(&rank(b))
}

#[derive(Default)]
struct Acc {
    n: usize,
    n_ok: usize,
    correct: usize,
    errors: usize,
    rounds: f64,
    steps: f64,
    trajectories: f64,
    prompt: f64,
    generated: f64,
    seconds: f64,
    primary: f64,
}

impl Acc {
    fn add(&mut self, r: &EvalRecord) {
        self.n += 1;
        self.correct += usize::from(r.correct);
        if r.error.is_some() {
            self.errors += 1;
            return;
        }
        self.n_ok += 1;
        self.rounds += f64::from(r.cost.rounds);
        self.steps += f64::from(r.cost.steps);
        self.trajectories += f64::from(r.cost.trajectories);
        self.prompt += r.cost.prompt_tokens as f64;
        self.generated += r.cost.generated_tokens as f64;
        self.seconds += r.seconds;
        self.primary += primary_cost(&r.strategy).of(&r.cost);
    }

    fn row(&self, benchmark: &str, level: &str, strategy: &str) -> SummaryRow {
        let mean = |x: f64| if self.n_ok == 0 { 0.0 } else { x / self.n_ok as f64 };
        let (ci_low, ci_high) = crate::stats::wilson_interval(self.correct, self.n);
        SummaryRow {
            benchmark: benchmark.to_string(),
            level: level.to_string(),
            strategy: strategy.to_string(),
            n: self.n,
            n_ok: self.n_ok,
            correct: self.correct,
            errors: self.errors,
            pass_at_1: if self.n == 0 { 0.0 } else { self.correct as f64 / self.n as f64 },
            ci_low,
            ci_high,
            mean_rounds: mean(self.rounds),
            mean_steps: mean(self.steps),
            mean_trajectories: mean(self.trajectories),
            mean_prompt_tokens: mean(self.prompt),
            mean_generated_tokens: mean(self.generated),
            mean_seconds: mean(self.seconds),
            mean_primary_cost: mean(self.primary),
        }
    }
}

/// Aggregate records into rows (see the module docs for the rules).
pub fn summarize(records: &[EvalRecord]) -> Vec<SummaryRow> {
    // (benchmark, strategy) → records
    let mut groups: BTreeMap<(&str, &str), Vec<&EvalRecord>> = BTreeMap::new();
    for r in records {
        groups.entry((r.benchmark.as_str(), r.strategy.as_str())).or_default().push(r);
    }
    let mut rows = Vec::new();
    for ((bench, strat), recs) in groups {
        let leveled = recs.iter().any(|r| r.level.is_some());
        let mut by_level: BTreeMap<&str, Acc> = BTreeMap::new();
        let mut total = Acc::default();
        for r in &recs {
            let label = match (&r.level, leveled) {
                (Some(l), _) => l.as_str(),
                (None, true) => "unknown",
                (None, false) => ALL_LEVELS,
            };
            by_level.entry(label).or_default().add(r);
            total.add(r);
        }
        for (level, acc) in &by_level {
            rows.push(acc.row(bench, level, strat));
        }
        if leveled {
            rows.push(total.row(bench, ALL_LEVELS, strat));
        }
    }
    rows.sort_by(|a, b| {
        a.benchmark.cmp(&b.benchmark).then_with(|| level_cmp(&a.level, &b.level)).then_with(|| a.strategy.cmp(&b.strategy))
    });
    rows
}

/// The rows as a GitHub-flavoured Markdown table.
pub fn summary_markdown(rows: &[SummaryRow]) -> String {
    let mut s = String::from(
        "| benchmark | level | strategy | n | pass@1 | 95 % CI | rounds | steps | trajectories | prompt tok | gen tok | seconds | errors |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.1}% | {:.1}–{:.1} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.2} | {} |\n",
            md_cell(&r.benchmark),
            md_cell(&r.level),
            md_cell(&r.strategy),
            r.n,
            100.0 * r.pass_at_1,
            100.0 * r.ci_low,
            100.0 * r.ci_high,
            r.mean_rounds,
            r.mean_steps,
            r.mean_trajectories,
            r.mean_prompt_tokens,
            r.mean_generated_tokens,
            r.mean_seconds,
            r.errors,
        ));
    }
    s
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The rows as pretty-printed JSON (an array of [`SummaryRow`]).
pub fn summary_json(rows: &[SummaryRow]) -> Result<String, EvalError> {
    Ok(serde_json::to_string_pretty(rows)?)
}
