//! # rf-grade: final-answer extraction and math-answer equivalence
//!
//! The grader used by ReasonFlux Web to score a model's final answer against a gold answer,
//! in the spirit of the graders of math benchmarks (MATH, MATH-500). It is pure Rust and
//! builds for `wasm32-unknown-unknown`.
//!
//! Main entry points:
//!
//! * [`extract_answer`] — the last `\boxed{...}` (brace-matched; also `\boxed 5` and
//!   `\fbox{...}`), else the text after "final answer is" / "the answer is" / "Answer:",
//!   else the last number; `None` when nothing is there.
//! * [`grade`] — `grade(gold, candidate) -> Verdict`: are two final answers equivalent?
//! * [`grade_response`] — extract from a full response, then [`grade`].
//!
//! Main types: [`Verdict`] (`equivalent` + a [`Reason`] + a human `detail`), [`Reason`]
//! (how the decision was reached), [`GradeError`] (typed input errors: empty, too large, too
//! deeply nested, unparsable), and the parsed forms [`Answer`] / [`Expr`] from
//! [`parse_answer`].
//!
//! ## How equivalence is decided
//!
//! 1. LaTeX normalisation ([`normalize`]): `\dfrac`/`\tfrac` → `\frac`, `\left`/`\right`,
//!    `\text{}`/`\mathrm{}`/`\mbox{}` (unit words after a value are dropped), `^\circ`,
//!    `\%`/"percent", thousands separators `1,000` / `1{,}000`, `\!`, `\,`, `$`, a trailing
//!    period; one spelling for the empty set (`\varnothing`, `∅`, `\{\}` → `\emptyset`),
//!    repeating decimals as exact fractions (`0.3\overline{6}` → 11/30), and a set-builder
//!    answer `\{x \mid cond\}` as its condition.
//! 2. Parsing into an [`Answer`]: a scalar [`Expr`] (+ − × ÷ · ^, implicit multiplication,
//!    `\frac`, `\sqrt[n]{}`, `\pi`, `e`, `i`, trig/log/ln/exp, factorial, `\binom`,
//!    variables), a relation chain (`y = 2x + 1`, `x > 3`), a tuple, an interval (open/closed
//!    ends matter), a union of intervals, a set `\{...\}` or a bare list `3, 5` (order-free),
//!    or a matrix (`pmatrix`/`bmatrix`/...).
//! 3. Comparison: exact rationals (`num-rational`) when both sides are rational; a written
//!    decimal is compared after rounding both sides to 6 decimal places (so `1/3` = `0.333333`,
//!    as math-verify does); irrational constants numerically (relative 1e-9); expressions
//!    with variables by evaluation at 10 seeded random points (relative 1e-7, complex
//!    arithmetic); equations up to a non-zero constant factor; `x = 5` vs `5` and
//!    `y = 2x+1` vs `2x+1` by the right-hand side (so `m+n=7` matches `7`); an inequality in
//!    one variable against the interval it describes (`x \le 3` = `(-\infty, 3]`);
//!    percentages match both `50` and `0.5`.
//!
//! ## Where the grader stops
//!
//! It decides *notation*, never *reasoning*: two answers are the same when one rewrites into
//! the other by the rules above or they agree as values (exactly, or at sample points). It
//! does not solve equations (`x^2 = 4` is not `x = 2, -2`), does not read words beyond units
//! and `\text{}` wrappers (`\text{two}` is not `2`), does not combine several inequalities
//! (`x < 1 \text{ or } x > 2` is not a union), and a repeating decimal needs `\overline{}`
//! (`0.333…` written out is a 6-place decimal). Outside these rules the answer is
//! `different` or `unparsable`, never a guess.
//!
//! The behaviour is calibrated against `math-verify==0.9.0` with the golden pairs in
//! `tests/data/golden.jsonl` (see `scripts/make-grading-golden.py`).
//!
//! ## Robustness
//!
//! [`grade`] and [`extract_answer`] never panic and never hang: answers over
//! [`MAX_ANSWER_BYTES`] are rejected at once, the lexer stops after
//! [`expr::MAX_TOKENS`] tokens, the parser after [`expr::MAX_DEPTH`] nesting levels, and
//! exact arithmetic falls back to floating point when numbers grow past a few thousand bits.
#![forbid(unsafe_code)]

mod compare;
mod eval;
pub mod expr;
mod extract;
mod normalize;
mod notation;

use serde::{Deserialize, Serialize};

pub use expr::{Answer, Expr, Interval, RelOp};
pub use normalize::normalize;

/// Answers (gold or candidate) larger than this many bytes are rejected without parsing.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024;

/// Errors from parsing an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum GradeError {
    #[error("empty answer")]
    Empty,
    #[error("answer too large")]
    TooLarge,
    #[error("answer nested too deeply")]
    TooDeep,
    #[error("cannot parse answer: {0}")]
    Parse(String),
}

/// How a [`Verdict`] was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Same text after normalisation (or identical parse trees).
    Identical,
    /// Equal as exact rational numbers.
    ExactValue,
    /// Equal after rounding a written decimal to 6 places.
    RoundedValue,
    /// Equal numerically (irrational constants, relative tolerance 1e-9).
    NumericValue,
    /// Expressions with variables agree at all sampled points.
    Evaluation,
    /// Tuples / intervals / sets / matrices agree element by element.
    Structure,
    /// Equations or inequalities are equivalent.
    Relation,
    /// Both parsed, but they are not equivalent.
    Different,
    /// At least one side could not be parsed and the texts differ.
    Unparsable,
    /// An input was empty, too large or too deeply nested.
    Invalid,
    /// [`grade_response`] found no final answer in the response.
    NoAnswer,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Reason::Identical => "identical after normalisation",
            Reason::ExactValue => "equal as exact rational numbers",
            Reason::RoundedValue => "equal after rounding to 6 decimal places",
            Reason::NumericValue => "numerically equal",
            Reason::Evaluation => "agree at every sampled point",
            Reason::Structure => "equal element by element",
            Reason::Relation => "equivalent relations",
            Reason::Different => "not equivalent",
            Reason::Unparsable => "could not parse, and the texts differ",
            Reason::Invalid => "invalid input",
            Reason::NoAnswer => "no final answer found",
        };
        f.write_str(s)
    }
}

/// The result of [`grade`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the candidate is equivalent to the gold answer.
    pub equivalent: bool,
    /// How the decision was reached.
    pub reason: Reason,
    /// Human-readable explanation (normalised forms, what differed).
    pub detail: String,
}

impl Verdict {
    fn new(equivalent: bool, reason: Reason, detail: impl Into<String>) -> Verdict {
        Verdict {
            equivalent,
            reason,
            detail: detail.into(),
        }
    }
}

/// Extract the final answer from a model response: the last `\boxed{...}` (brace-depth
/// matched; also `\boxed 5` and `\fbox{...}`), else the text after "final answer is" /
/// "the answer is" / "Answer:", else the last number. `None` when there is none (or the
/// response is over 1 MiB).
pub fn extract_answer(text: &str) -> Option<String> {
    extract::extract(text)
}

/// The content of every `\boxed{...}` of a response, in order (a solution may box several
/// intermediate results; [`extract_answer`] takes the last). A box repeating the one just
/// before it is listed once.
pub fn boxed_answers(text: &str) -> Vec<String> {
    let mut starts: Vec<usize> = ["\\boxed", "\\fbox"].iter().flat_map(|cmd| text.match_indices(cmd).map(|(i, _)| i)).collect();
    starts.sort_unstable();
    let ends = starts.iter().skip(1).copied().chain(std::iter::once(text.len()));
    let mut boxed: Vec<String> = ends.filter_map(|end| extract::last_boxed(&text[..end])).collect();
    // An unclosed box yields the one before it again.
    boxed.dedup();
    boxed
}

/// Parse a final answer (after [`normalize`]) into an [`Answer`].
pub fn parse_answer(answer: &str) -> Result<Answer, GradeError> {
    if answer.len() > MAX_ANSWER_BYTES {
        return Err(GradeError::TooLarge);
    }
    let n = normalize(answer);
    if n.is_empty() {
        return Err(GradeError::Empty);
    }
    expr::parse_answer(&n)
}

/// If the answer carries a `\boxed{}`, keep its content; otherwise the answer itself.
fn unbox(s: &str) -> String {
    if (s.contains("\\boxed") || s.contains("\\fbox"))
        && let Some(b) = extract::last_boxed(s)
    {
        return b;
    }
    s.to_string()
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Decide whether `candidate` is mathematically equivalent to `gold`. Both are final
/// answers (a `\boxed{}` wrapper is removed). Never panics; inputs over
/// [`MAX_ANSWER_BYTES`] are rejected with [`Reason::Invalid`].
pub fn grade(gold: &str, candidate: &str) -> Verdict {
    if gold.len() > MAX_ANSWER_BYTES || candidate.len() > MAX_ANSWER_BYTES {
        return Verdict::new(false, Reason::Invalid, GradeError::TooLarge.to_string());
    }
    let (g_raw, c_raw) = (unbox(gold), unbox(candidate));
    let (gn, cn) = (normalize(&g_raw), normalize(&c_raw));
    if gn.is_empty() || cn.is_empty() {
        return Verdict::new(false, Reason::Invalid, GradeError::Empty.to_string());
    }
    let detail_base = format!("gold `{gn}` vs candidate `{cn}`");
    let (gs, cs) = (squash(&gn), squash(&cn));
    if gs == cs {
        return Verdict::new(true, Reason::Identical, detail_base);
    }
    // Multi-letter words compare case-insensitively (`\text{Evelyn}` vs `evelyn`).
    let wordy = |s: &str| s.chars().count() > 1 && s.chars().all(|c| c.is_alphabetic());
    if wordy(&gs) && wordy(&cs) && gs.to_lowercase() == cs.to_lowercase() {
        return Verdict::new(true, Reason::Identical, detail_base);
    }
    let g = expr::parse_answer(&gn);
    let c = expr::parse_answer(&cn);
    match (g, c) {
        (Ok(g), Ok(c)) => match compare::answer_eq(&g, &c, 0) {
            Ok(reason) => Verdict::new(true, reason, format!("{detail_base}: {reason}")),
            Err(why) => Verdict::new(false, Reason::Different, format!("{detail_base}: {why}")),
        },
        (Err(e @ (GradeError::TooLarge | GradeError::TooDeep)), _)
        | (_, Err(e @ (GradeError::TooLarge | GradeError::TooDeep))) => {
            Verdict::new(false, Reason::Invalid, format!("{detail_base}: {e}"))
        }
        (Err(e), _) | (_, Err(e)) => {
            Verdict::new(false, Reason::Unparsable, format!("{detail_base}: {e}"))
        }
    }
}

/// Extract the final answer from a full model `response` with [`extract_answer`], then
/// [`grade`] it against `gold`.
pub fn grade_response(gold: &str, response: &str) -> Verdict {
    match extract_answer(response) {
        Some(ans) => grade(gold, &ans),
        None => Verdict::new(
            false,
            Reason::NoAnswer,
            "no final answer found in the response",
        ),
    }
}
