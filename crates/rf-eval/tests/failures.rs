//! Sorting wrong answers by cause.

use rf_eval::{Cost, EvalRecord, FailureCause, FailureTable, classify_failure};
use serde_json::{Value, json};

fn record(correct: bool, answer: Option<&str>, final_text: &str, trace: Value) -> EvalRecord {
    EvalRecord {
        id: "p1".into(),
        benchmark: "math500".into(),
        level: Some("Level 1".into()),
        subject: None,
        strategy: "reasonflux".into(),
        prompt_version: None,
        question: "q".into(),
        gold: "12".into(),
        answer: answer.map(String::from),
        correct,
        grade_reason: None,
        cost: Cost::default(),
        seconds: 1.0,
        final_text: final_text.into(),
        trace,
        error: None,
        failure: None,
    }
}

fn solve_trace(tokens_out: u64, fallback: bool) -> Value {
    json!({"exchanges": [{"kind": "plan", "tokens_out": 1024}, {"kind": "final", "tokens_out": tokens_out}], "flags": {"direct_fallback": fallback}})
}

#[test]
fn each_rule_names_its_cause() {
    let c = |r: &EvalRecord| classify_failure(r, 1024);
    assert_eq!(c(&record(true, Some("12"), "\\boxed{12}", solve_trace(10, false))), None);
    let mut err = record(false, None, "", Value::Null);
    err.error = Some("engine failed".into());
    assert_eq!(c(&err), Some(FailureCause::SolverError));
    assert_eq!(c(&record(false, Some("3"), "... 3", solve_trace(1024, false))), Some(FailureCause::BudgetExhausted));
    assert_eq!(c(&record(false, None, "nothing", solve_trace(100, false))), Some(FailureCause::NoAnswer));
    let boxed_twice = "so \\boxed{12} ... and the total is \\boxed{13}";
    assert_eq!(c(&record(false, Some("13"), boxed_twice, solve_trace(100, false))), Some(FailureCause::Extraction));
    assert_eq!(c(&record(false, Some("13"), "\\boxed{13}", solve_trace(100, true))), Some(FailureCause::PlanFallback));
    assert_eq!(c(&record(false, Some("13"), "\\boxed{13}", solve_trace(100, false))), Some(FailureCause::WrongAnswer));
}

#[test]
fn the_plan_budget_does_not_count_only_the_solution_does() {
    // The plan exchange used the whole budget, the final solution did not.
    let r = record(false, Some("13"), "\\boxed{13}", solve_trace(500, false));
    assert_eq!(classify_failure(&r, 1024), Some(FailureCause::WrongAnswer));
}

#[test]
fn table_groups_by_benchmark_and_strategy() {
    let mut a = record(false, Some("13"), "\\boxed{13}", solve_trace(100, false));
    let mut b = a.clone();
    b.id = "p2".into();
    let ok = record(true, Some("12"), "\\boxed{12}", solve_trace(100, false));
    a.strategy = "direct".into();
    let t = FailureTable::build(&[a, b, ok], 1024);
    assert_eq!(t.groups.len(), 2);
    assert_eq!(t.groups["math500 reasonflux"][&FailureCause::WrongAnswer], ["p2"]);
    let md = t.markdown();
    assert!(md.contains("| math500 direct | 1 | 0 | 0 | 0 | 0 | 0 | 1 |"), "{md}");
}

#[test]
fn slim_records_keep_their_cause() {
    let full = record(false, Some("3"), "... 3", solve_trace(1024, false));
    let slim = full.slim(1024);
    assert!(slim.is_slim());
    assert_eq!(classify_failure(&slim, 1024), Some(FailureCause::BudgetExhausted));
    let line = serde_json::to_string(&slim).unwrap();
    let back: EvalRecord = serde_json::from_str(&line).unwrap();
    assert_eq!(classify_failure(&back, 1024), Some(FailureCause::BudgetExhausted), "{line}");
    // Slimmed before records kept a cause: not silently a wrong answer.
    let mut old = back;
    old.failure = None;
    assert_eq!(classify_failure(&old, 1024), Some(FailureCause::Unclassified));
}
