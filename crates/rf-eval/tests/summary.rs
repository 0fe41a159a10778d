//! Summary aggregation numbers, ordering, de-duplication and the two output formats.

use std::path::{Path, PathBuf};

use rf_eval::{Cost, EvalRecord, SummaryRow, read_records_many, summarize, summary_json, summary_markdown};
use serde_json::Value;

#[allow(clippy::too_many_arguments)]
fn rec(
    bench: &str,
    level: Option<&str>,
    strategy: &str,
    id: &str,
    correct: bool,
    cost: Cost,
    seconds: f64,
    error: Option<&str>,
) -> EvalRecord {
    EvalRecord {
        id: id.into(),
        benchmark: bench.into(),
        level: level.map(String::from),
        subject: None,
        strategy: strategy.into(),
        prompt_version: None,
        question: "q".into(),
        gold: "1".into(),
        answer: Some(if correct { "1" } else { "2" }.into()),
        correct,
        grade_reason: None,
        cost,
        seconds,
        final_text: String::new(),
        trace: Value::Null,
        error: error.map(String::from),
        failure: None,
    }
}

fn rounds(r: u32, prompt: u64, generated: u64) -> Cost {
    Cost { rounds: r, prompt_tokens: prompt, generated_tokens: generated, ..Cost::default() }
}

fn sample() -> Vec<EvalRecord> {
    vec![
        rec("math500", Some("Level 1"), "reasonflux", "a", true, rounds(2, 100, 10), 1.0, None),
        rec("math500", Some("Level 1"), "reasonflux", "b", false, rounds(4, 300, 30), 3.0, None),
        rec("math500", Some("Level 2"), "reasonflux", "c", true, rounds(6, 100, 50), 2.0, None),
        rec("math500", Some("Level 2"), "reasonflux", "d", true, rounds(8, 100, 70), 4.0, None),
        rec("math500", Some("Level 2"), "reasonflux", "e", false, Cost::default(), 0.5, Some("boom")),
        rec("math500", Some("Level 10"), "reasonflux", "f", true, rounds(1, 0, 0), 1.0, None),
        rec("math500", Some("Level 1"), "mcts", "a", false, Cost { steps: 10, ..Cost::default() }, 5.0, None),
        rec("olympiadbench", None, "direct", "x", true, Cost { trajectories: 1, ..Cost::default() }, 2.0, None),
        rec("olympiadbench", None, "direct", "y", false, Cost { trajectories: 1, ..Cost::default() }, 4.0, None),
    ]
}

fn find<'a>(rows: &'a [SummaryRow], bench: &str, level: &str, strategy: &str) -> &'a SummaryRow {
    rows.iter()
        .find(|r| r.benchmark == bench && r.level == level && r.strategy == strategy)
        .unwrap_or_else(|| panic!("no row {bench}/{level}/{strategy}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn aggregation_numbers() {
    let rows = summarize(&sample());

    let l1 = find(&rows, "math500", "Level 1", "reasonflux");
    assert_eq!((l1.n, l1.n_ok, l1.correct, l1.errors), (2, 2, 1, 0));
    assert!(close(l1.pass_at_1, 0.5));
    assert!(close(l1.mean_rounds, 3.0) && close(l1.mean_primary_cost, 3.0));
    assert!(close(l1.mean_prompt_tokens, 200.0) && close(l1.mean_generated_tokens, 20.0));
    assert!(close(l1.mean_seconds, 2.0));

    // The failed record counts in n and pass@1 but not in the cost/time means.
    let l2 = find(&rows, "math500", "Level 2", "reasonflux");
    assert_eq!((l2.n, l2.n_ok, l2.correct, l2.errors), (3, 2, 2, 1));
    assert!(close(l2.pass_at_1, 2.0 / 3.0));
    assert!(close(l2.mean_rounds, 7.0));
    assert!(close(l2.mean_seconds, 3.0));

    let all = find(&rows, "math500", "all", "reasonflux");
    assert_eq!((all.n, all.n_ok, all.correct, all.errors), (6, 5, 4, 1));
    assert!(close(all.pass_at_1, 4.0 / 6.0));
    assert!(close(all.mean_rounds, (2.0 + 4.0 + 6.0 + 8.0 + 1.0) / 5.0));

    // MCTS is measured in steps.
    let m = find(&rows, "math500", "Level 1", "mcts");
    assert!(close(m.mean_steps, 10.0) && close(m.mean_primary_cost, 10.0) && close(m.mean_rounds, 0.0));
    assert!(close(m.pass_at_1, 0.0));

    // A set without levels gets a single `all` row; `direct` costs 1.
    let o: Vec<&SummaryRow> = rows.iter().filter(|r| r.benchmark == "olympiadbench").collect();
    assert_eq!(o.len(), 1);
    assert_eq!((o[0].level.as_str(), o[0].n, o[0].correct), ("all", 2, 1));
    assert!(close(o[0].mean_primary_cost, 1.0) && close(o[0].mean_seconds, 3.0));
}

#[test]
fn row_order_is_natural() {
    let rows = summarize(&sample());
    let keys: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r.benchmark.as_str(), r.level.as_str(), r.strategy.as_str())).collect();
    assert_eq!(
        keys,
        [
            ("math500", "Level 1", "mcts"),
            ("math500", "Level 1", "reasonflux"),
            ("math500", "Level 2", "reasonflux"),
            ("math500", "Level 10", "reasonflux"),
            ("math500", "all", "mcts"),
            ("math500", "all", "reasonflux"),
            ("olympiadbench", "all", "direct"),
        ]
    );
}

#[test]
fn missing_level_in_a_leveled_group_is_unknown() {
    let recs = vec![
        rec("gsm8k", Some("Level 1"), "direct", "1", true, Cost::default(), 1.0, None),
        rec("gsm8k", None, "direct", "2", false, Cost::default(), 1.0, None),
    ];
    let rows = summarize(&recs);
    let levels: Vec<&str> = rows.iter().map(|r| r.level.as_str()).collect();
    assert_eq!(levels, ["Level 1", "unknown", "all"]);
    assert_eq!(find(&rows, "gsm8k", "all", "direct").n, 2);
}

#[test]
fn empty_input_gives_no_rows() {
    assert!(summarize(&[]).is_empty());
    assert_eq!(summary_markdown(&[]).lines().count(), 2, "header only");
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rf-eval-summary-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn write_jsonl(path: &Path, recs: &[EvalRecord]) {
    let text: String = recs.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn several_files_last_record_wins() {
    let a = tmp("a.jsonl");
    let b = tmp("b.jsonl");
    write_jsonl(
        &a,
        &[
            rec("amc23", Some("Level 1"), "reasonflux", "1", false, rounds(3, 0, 0), 1.0, Some("crash")),
            rec("amc23", Some("Level 1"), "reasonflux", "2", true, rounds(1, 0, 0), 1.0, None),
        ],
    );
    write_jsonl(&b, &[rec("amc23", Some("Level 1"), "reasonflux", "1", true, rounds(5, 0, 0), 1.0, None)]);
    // A truncated last line in a result file is ignored.
    let mut text = std::fs::read_to_string(&b).unwrap();
    text.push_str("{\"id\":\"3\",\"bench");
    std::fs::write(&b, text).unwrap();

    let recs = read_records_many(&[&a, &b]).unwrap();
    assert_eq!(recs.len(), 2);
    let rows = summarize(&recs);
    let r = find(&rows, "amc23", "Level 1", "reasonflux");
    assert_eq!((r.n, r.correct, r.errors), (2, 2, 0));
    assert!(close(r.mean_rounds, 3.0));
}

#[test]
fn markdown_and_json() {
    let rows = summarize(&sample());
    let md = summary_markdown(&rows);
    let mut ls = md.lines();
    assert_eq!(
        ls.next().unwrap(),
        "| benchmark | level | strategy | n | pass@1 | 95 % CI | rounds | steps | trajectories | prompt tok | gen tok | seconds | errors |"
    );
    assert!(ls.next().unwrap().starts_with("|---|"));
    assert_eq!(md.lines().count(), 2 + rows.len());
    assert!(md.contains("| math500 | Level 2 | reasonflux | 3 | 66.7% | 20.8–93.9 | 7.00 | 0.00 | 0.00 | 100.0 | 60.0 | 3.00 | 1 |"), "{md}");
    // Every row has the same number of cells.
    assert!(md.lines().all(|l| l.matches('|').count() == 14), "{md}");

    let json = summary_json(&rows).unwrap();
    let back: Vec<SummaryRow> = serde_json::from_str(&json).unwrap();
    // serde_json's float parsing may differ from the value in the last bit.
    assert_eq!(back.len(), rows.len());
    for (b, r) in back.iter().zip(&rows) {
        assert_eq!((&b.benchmark, &b.level, &b.strategy, b.n, b.correct), (&r.benchmark, &r.level, &r.strategy, r.n, r.correct));
        assert!(close(b.ci_low, r.ci_low) && close(b.ci_high, r.ci_high) && close(b.mean_seconds, r.mean_seconds));
    }
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["benchmark"], "math500");
    assert!(v[0].get("pass_at_1").is_some() && v[0].get("mean_primary_cost").is_some());
}

#[test]
fn pipe_in_names_does_not_break_the_table() {
    let rows = summarize(&[rec("b|x", Some("L|1"), "s", "1", true, Cost::default(), 1.0, None)]);
    let md = summary_markdown(&rows);
    assert!(md.lines().skip(2).all(|l| l.matches('|').count() - l.matches("\\|").count() == 14), "{md}");
}

#[test]
fn rows_carry_the_wilson_interval() {
    let rows = summarize(&sample());
    for r in &rows {
        let (lo, hi) = rf_eval::wilson_interval(r.correct, r.n);
        assert!(close(r.ci_low, lo) && close(r.ci_high, hi), "{r:?}");
        assert!(r.ci_low <= r.pass_at_1 && r.pass_at_1 <= r.ci_high, "{r:?}");
    }
}

#[test]
fn paired_comparison_counts_only_problems_both_strategies_have() {
    let c = Cost::default();
    let recs = vec![
        rec("math500", None, "guided", "a", true, c, 1.0, None),
        rec("math500", None, "direct", "a", false, c, 1.0, None),
        rec("math500", None, "guided", "b", true, c, 1.0, None),
        rec("math500", None, "direct", "b", true, c, 1.0, None),
        rec("math500", None, "guided", "c", false, c, 1.0, None),
        rec("math500", None, "direct", "c", true, c, 1.0, None),
        rec("math500", None, "guided", "d", true, c, 1.0, None),
        rec("math500", None, "guided", "e", false, c, 1.0, None),
        rec("math500", None, "direct", "e", false, c, 1.0, None),
        rec("gsm8k", None, "direct", "d", false, c, 1.0, None),
    ];
    let p = rf_eval::paired_comparison(&recs, "math500", "guided", "direct");
    assert_eq!((p.n, p.both_correct, p.only_a, p.only_b, p.both_wrong), (4, 1, 1, 1, 1));
    assert_eq!(p.p_value, 1.0);
}

#[test]
fn slim_records_keep_what_regrading_needs() {
    let mut r = rec("math500", Some("Level 2"), "direct", "a", false, rounds(1, 5, 6), 2.5, None);
    r.final_text = "long text".into();
    r.trace = serde_json::json!({"prompt_version": "x"});
    r.gold = "\\frac{1}{2}".into();
    r.answer = Some("0.5".into());
    let line = serde_json::to_string(&r.slim(1024)).unwrap();
    assert!(!line.contains("long text") && !line.contains("\"trace\"") && !line.contains("\"question\""), "{line}");
    let mut back: EvalRecord = serde_json::from_str(&line).unwrap();
    assert!(!back.correct);
    back.regrade();
    assert!(back.correct, "0.5 = 1/2 after regrading");
    assert_eq!((back.cost, back.seconds, back.level.as_deref()), (r.cost, 2.5, Some("Level 2")));
}
