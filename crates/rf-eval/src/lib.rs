//! # rf-eval: the ReasonFlux Web benchmark harness
//!
//! Loads the math benchmarks of the ReasonFlux paper, runs any solver over them with
//! resumable JSONL output, grades each answer with [`rf_grade::grade`], summarises the
//! results by benchmark × difficulty × strategy and plots exploration cost against
//! difficulty (the paper's Fig. 5). The crate holds no model code: the solver is a closure
//! that the caller (the CLI) builds around the engine and planner.
//!
//! ## Main types and functions
//!
//! * Loading ([`bench`]): [`Problem`], [`BenchmarkPaths`] (with
//!   [`BenchmarkPaths::default_for_repo`]), [`LoadOptions`], [`load_benchmark`],
//!   [`load_benchmark_with`], [`select_subset`], the list [`BENCHMARKS`]
//!   (`math500`, `math`, `gsm8k`, `aime24`, `amc23`, `olympiadbench`, `gaokao2023en`). The
//!   module docs give the files, fields and difficulty buckets of each set.
//! * Running ([`runner`]): [`run_eval`] with a solver
//!   `FnMut(&Problem) -> Result<SolveOutcome, E>`, [`SolveOutcome`], [`Cost`],
//!   [`RunOptions`], [`RunReport`], and the output line [`EvalRecord`].
//! * Summaries ([`summary`]): [`read_records`], [`read_records_many`], [`summarize`] →
//!   [`SummaryRow`]s, [`summary_markdown`], [`summary_json`].
//! * Fixed sets and sharding ([`sets`]): [`EvalSet`] (committed id lists, `evals/sets/*.txt`),
//!   [`draw_per_level`], [`Shard`] (`--shard I/N`).
//! * Statistics ([`stats`]): [`wilson_interval`], [`mcnemar_exact`], [`paired_comparison`] →
//!   [`PairedComparison`].
//! * Failure analysis ([`failures`]): [`classify_failure`] → [`FailureCause`],
//!   [`FailureTable`].
//! * Plots ([`plot`]): [`primary_cost`] / [`PrimaryCost`] (rounds for `reasonflux`, steps
//!   for `mcts`, trajectories for `best-of-n`, 1 for `direct`), [`cost_series`] →
//!   [`CostSeries`], [`cost_plot_svg`].
//! * Errors: [`EvalError`] (unknown benchmark, missing file with a hint, I/O, malformed line
//!   with its number, serialisation).
//!
//! ## Calling it from a CLI
//!
//! ```no_run
//! use std::path::Path;
//! use rf_eval::{BenchmarkPaths, Cost, LoadOptions, RunOptions, SolveOutcome};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let paths = BenchmarkPaths::default_for_repo(Path::new("."));
//!     let problems = rf_eval::load_benchmark_with(
//!         "math500",
//!         &paths,
//!         &LoadOptions { limit: Some(50), seed: Some(7) },
//!     )?;
//!
//!     // The CLI wraps the real engine/planner here; any error type that implements Display
//!     // works, and a failing problem is recorded and skipped over.
//!     let solver = |p: &rf_eval::Problem| -> Result<SolveOutcome, String> {
//!         let text = format!("... so the answer is \\boxed{{{}}}", p.gold.len());
//!         Ok(SolveOutcome {
//!             answer: rf_grade::extract_answer(&text),
//!             final_text: text,
//!             trace: serde_json::json!({ "plan": [] }),
//!             cost: Cost { rounds: 1, generated_tokens: 42, ..Cost::default() },
//!         })
//!     };
//!
//!     let out = Path::new("runs/math500-reasonflux.jsonl");
//!     // Re-running the same command resumes: recorded ids are skipped.
//!     let report = rf_eval::run_eval(&problems, "reasonflux", out, solver, &RunOptions::default())?;
//!     eprintln!("{}/{} correct", report.correct, report.recorded);
//!
//!     let rows = rf_eval::summarize(&rf_eval::read_records_many(&[out])?);
//!     println!("{}", rf_eval::summary_markdown(&rows));
//!     std::fs::write("runs/summary.json", rf_eval::summary_json(&rows)?)?;
//!     let svg = rf_eval::cost_plot_svg(&rf_eval::cost_series(&rows, Some("math500")), "MATH-500: exploration cost");
//!     std::fs::write("runs/cost-vs-level.svg", svg)?;
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]

pub mod bench;
mod error;
pub mod failures;
pub mod plot;
pub mod runner;
pub mod sets;
pub mod stats;
pub mod summary;

pub use bench::{BENCHMARKS, BenchmarkPaths, LoadOptions, Problem, load_benchmark, load_benchmark_with, parse_benchmark, select_subset};
pub use error::EvalError;
pub use plot::{CostSeries, PrimaryCost, SeriesLine, cost_plot_svg, cost_series, primary_cost, xml_escape};
pub use runner::{Cost, EvalRecord, RunOptions, RunReport, SolveOutcome, run_eval};
pub use failures::{FailureCause, FailureTable, classify_failure};
pub use sets::{EvalSet, Shard, draw_per_level};
pub use stats::{PairedComparison, mcnemar_exact, paired_comparison, wilson_interval};
pub use summary::{ALL_LEVELS, SummaryRow, level_cmp, read_records, read_records_many, summarize, summary_json, summary_markdown};
