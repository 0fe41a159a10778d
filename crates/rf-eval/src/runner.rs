//! The resumable evaluation runner.
//!
//! [`run_eval`] calls a solver on each problem and appends one [`EvalRecord`] per problem as a
//! JSON line to the output file, flushed to the operating system after every record, so an
//! interruption loses at most the problem being solved. On start it reads the records
//! already in the file and skips every problem whose `(benchmark, strategy, id)` is recorded
//! there; a truncated last line (the trace of an interruption mid-write) is cut off before
//! appending. Any other unreadable line is an error: the runner never rewrites data it does
//! not understand.
//!
//! A solver error (or a panic inside the solver) is recorded in the problem's `error` field,
//! counted as wrong, and the run goes on.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::failures::{FailureCause, classify_failure};

use crate::bench::Problem;
use crate::error::EvalError;

/// What one solve cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// Planner rounds (ReasonFlux's retrieve → instantiate → evaluate/adjust loop).
    #[serde(default)]
    pub rounds: u32,
    /// Reasoning steps generated (MCTS node expansions for tree search).
    #[serde(default)]
    pub steps: u32,
    /// Complete trajectories sampled (best-of-N).
    #[serde(default)]
    pub trajectories: u32,
    /// Tokens fed to the model, summed over all calls.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated, summed over all calls.
    #[serde(default)]
    pub generated_tokens: u64,
}

/// What a solver returns for one problem.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SolveOutcome {
    /// The final answer. When `None` (or blank), the answer is extracted from `final_text`
    /// with [`rf_grade::extract_answer`].
    pub answer: Option<String>,
    /// The final response text.
    pub final_text: String,
    /// Strategy-specific trace (plan, rounds, tree, …), stored verbatim.
    pub trace: Value,
    /// What the solve cost.
    pub cost: Cost,
}

impl EvalRecord {
    /// The record without question, final text and trace: what `evals/results` keeps, enough
    /// to regrade and to summarise. The failure cause, which needs the trace, is classified
    /// first and kept (`budget`: the run's `--max-new-tokens`).
    pub fn slim(&self, budget: u64) -> EvalRecord {
        let failure = classify_failure(self, budget);
        EvalRecord { question: String::new(), final_text: String::new(), trace: Value::Null, failure, ..self.clone() }
    }

    /// A slim record: its text and trace were left out.
    pub fn is_slim(&self) -> bool {
        self.trace.is_null() && self.final_text.is_empty()
    }

    /// Grade `answer` against `gold` again with the current grader. A slim record that turns
    /// from right to wrong has no known failure cause (its trace is gone).
    pub fn regrade(&mut self) {
        let verdict = self.answer.as_deref().map(|a| rf_grade::grade(&self.gold, a));
        self.correct = verdict.as_ref().is_some_and(|v| v.equivalent);
        self.grade_reason = verdict.map(|v| v.reason);
        if self.correct {
            self.failure = None;
        }
    }
}

/// One line of an evaluation JSONL file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    pub id: String,
    pub benchmark: String,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    pub strategy: String,
    /// The planner's prompt set (`rf_planner::prompts::PROMPT_VERSION`), from the trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_version: Option<String>,
    /// Left out of the slim records of `evals/results` (empty there).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub question: String,
    #[serde(default)]
    pub gold: String,
    /// The answer that was graded (the solver's, or the one extracted from `final_text`).
    #[serde(default)]
    pub answer: Option<String>,
    /// `rf_grade::grade(gold, answer).equivalent`; `false` without an answer or on error.
    #[serde(default)]
    pub correct: bool,
    /// How the grader decided (`None` without an answer).
    #[serde(default)]
    pub grade_reason: Option<rf_grade::Reason>,
    #[serde(default)]
    pub cost: Cost,
    /// Wall-clock seconds spent in the solver.
    #[serde(default)]
    pub seconds: f64,
    /// Left out of the slim records (empty there).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub final_text: String,
    /// Left out of the slim records (`null` there).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub trace: Value,
    /// The solver's error message when it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Why a wrong answer was wrong, as classified from the full record; only slim records
    /// carry it (a full record is classified from its trace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureCause>,
}

/// Options of [`run_eval`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Show an indicatif progress bar on stderr with the running accuracy.
    pub progress: bool,
    /// Store each outcome's `trace` (otherwise `null`).
    pub keep_trace: bool,
    /// Stop after this many newly solved problems (the rest stay for a later resume).
    pub max_new: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { progress: true, keep_trace: true, max_new: None }
    }
}

/// What a [`run_eval`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// Problems passed in.
    pub total: usize,
    /// Problems skipped because the output file already had them.
    pub resumed: usize,
    /// Problems solved in this call.
    pub solved: usize,
    /// Of those, how many the solver failed on.
    pub failed: usize,
    /// Correct answers among the problems passed in (resumed and new).
    pub correct: usize,
    /// Problems passed in that now have a record (resumed + solved).
    pub recorded: usize,
}

impl RunReport {
    /// `correct / recorded` (0 when nothing is recorded).
    pub fn accuracy(&self) -> f64 {
        if self.recorded == 0 { 0.0 } else { self.correct as f64 / self.recorded as f64 }
    }
}

/// The key a record is resumed by.
type Key = (String, String, String);

fn key(benchmark: &str, strategy: &str, id: &str) -> Key {
    (benchmark.to_string(), strategy.to_string(), id.to_string())
}

#[derive(Deserialize)]
struct RecordKey {
    id: String,
    benchmark: String,
    strategy: String,
    #[serde(default)]
    correct: bool,
}

/// Split JSONL bytes into `(line_no, start, end, has_newline)` of non-blank lines.
fn lines(bytes: &[u8]) -> Vec<(usize, usize, usize, bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut line_no = 1;
    while start < bytes.len() {
        let (end, nl) = match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(p) => (start + p, true),
            None => (bytes.len(), false),
        };
        if !bytes[start..end].iter().all(|b| b.is_ascii_whitespace()) {
            out.push((line_no, start, end, nl));
        }
        start = end + 1;
        line_no += 1;
    }
    out
}

/// Parse JSONL `bytes` of `path` into `T`s. A last line that does not parse is treated as a
/// truncated write: it is dropped and its byte offset returned (`Some(cut)`); any earlier bad
/// line is an error. Returns the parsed values and whether the kept content lacks a final
/// newline.
pub(crate) fn parse_jsonl<T: for<'de> Deserialize<'de>>(path: &Path, bytes: &[u8]) -> Result<(Vec<T>, Option<usize>, bool), EvalError> {
    let ls = lines(bytes);
    let mut out = Vec::with_capacity(ls.len());
    let mut missing_newline = false;
    for (k, &(line_no, start, end, nl)) in ls.iter().enumerate() {
        let last = k + 1 == ls.len();
        let parsed = std::str::from_utf8(&bytes[start..end])
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str::<T>(s).map_err(|e| e.to_string()));
        match parsed {
            Ok(v) => {
                out.push(v);
                missing_newline = last && !nl;
            }
            Err(_) if last => return Ok((out, Some(start), false)),
            Err(e) => return Err(EvalError::malformed(path, line_no, format!("unreadable evaluation record: {e}"))),
        }
    }
    Ok((out, None, missing_newline))
}

/// Read the existing output (if any), cut a truncated last line, and open it for appending.
fn open_output(path: &Path) -> Result<(File, HashMap<Key, bool>), EvalError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
    }
    let mut done = HashMap::new();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(EvalError::io(path, e)),
    };
    let (keys, cut, missing_newline) = parse_jsonl::<RecordKey>(path, &bytes)?;
    for r in keys {
        done.insert(key(&r.benchmark, &r.strategy, &r.id), r.correct);
    }
    if let Some(cut) = cut {
        let f = OpenOptions::new().write(true).open(path).map_err(|e| EvalError::io(path, e))?;
        f.set_len(cut as u64).map_err(|e| EvalError::io(path, e))?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| EvalError::io(path, e))?;
    if missing_newline {
        file.write_all(b"\n").map_err(|e| EvalError::io(path, e))?;
    }
    Ok((file, done))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Grade an outcome into a record.
fn record_for(problem: &Problem, strategy: &str, result: Result<SolveOutcome, String>, seconds: f64, keep_trace: bool) -> EvalRecord {
    let mut rec = EvalRecord {
        id: problem.id.clone(),
        benchmark: problem.benchmark.clone(),
        level: problem.level.clone(),
        subject: problem.subject.clone(),
        strategy: strategy.to_string(),
        prompt_version: None,
        question: problem.question.clone(),
        gold: problem.gold.clone(),
        answer: None,
        correct: false,
        grade_reason: None,
        cost: Cost::default(),
        seconds,
        final_text: String::new(),
        trace: Value::Null,
        error: None,
        failure: None,
    };
    match result {
        Ok(out) => {
            let answer = out.answer.filter(|a| !a.trim().is_empty()).or_else(|| rf_grade::extract_answer(&out.final_text));
            if let Some(a) = &answer {
                let verdict = rf_grade::grade(&problem.gold, a);
                rec.correct = verdict.equivalent;
                rec.grade_reason = Some(verdict.reason);
            }
            rec.answer = answer;
            rec.cost = out.cost;
            rec.final_text = out.final_text;
            rec.prompt_version = out.trace.get("prompt_version").and_then(Value::as_str).map(str::to_string);
            if keep_trace {
                rec.trace = out.trace;
            }
        }
        Err(e) => rec.error = Some(e),
    }
    rec
}

fn progress_bar(len: u64, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}") {
        pb.set_style(style);
    }
    pb
}

/// Run `solver` on every problem of `problems` not yet recorded in `out_path` under
/// `strategy`, appending one [`EvalRecord`] per problem (see the module docs).
///
/// The solver's `Err` values (and panics) become the record's `error`; only I/O and
/// unreadable existing output stop the run.
pub fn run_eval<E, F>(
    problems: &[Problem],
    strategy: &str,
    out_path: &Path,
    mut solver: F,
    opts: &RunOptions,
) -> Result<RunReport, EvalError>
where
    E: std::fmt::Display,
    F: FnMut(&Problem) -> Result<SolveOutcome, E>,
{
    let (mut file, done) = open_output(out_path)?;
    let mut report = RunReport { total: problems.len(), ..RunReport::default() };
    let mut todo = Vec::new();
    for p in problems {
        match done.get(&key(&p.benchmark, strategy, &p.id)) {
            Some(&correct) => {
                report.resumed += 1;
                report.recorded += 1;
                report.correct += usize::from(correct);
            }
            None => todo.push(p),
        }
    }
    if let Some(max) = opts.max_new {
        todo.truncate(max);
    }
    let pb = progress_bar(todo.len() as u64, opts.progress);
    let set_msg = |pb: &indicatif::ProgressBar, r: &RunReport| {
        pb.set_message(format!("{strategy}: {}/{} correct ({:.1}%), {} failed", r.correct, r.recorded, 100.0 * r.accuracy(), r.failed));
    };
    set_msg(&pb, &report);
    for p in todo {
        let start = Instant::now();
        let result = match catch_unwind(AssertUnwindSafe(|| solver(p))) {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(e.to_string()),
            Err(payload) => Err(format!("solver panicked: {}", panic_message(payload.as_ref()))),
        };
        let seconds = start.elapsed().as_secs_f64();
        let rec = record_for(p, strategy, result, seconds, opts.keep_trace);
        let mut line = serde_json::to_string(&rec)?;
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(|e| EvalError::io(out_path, e))?;
        file.flush().map_err(|e| EvalError::io(out_path, e))?;
        report.solved += 1;
        report.recorded += 1;
        report.failed += usize::from(rec.error.is_some());
        report.correct += usize::from(rec.correct);
        pb.inc(1);
        set_msg(&pb, &report);
    }
    pb.finish();
    Ok(report)
}
