//! The runner with scripted fake solvers: records, grading, failures, resume.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use rf_eval::{Cost, EvalError, EvalRecord, Problem, RunOptions, SolveOutcome, read_records, run_eval};
use serde_json::json;

fn tmp_file(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rf-eval-runner-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let f = d.join(format!("{name}.jsonl"));
    let _ = std::fs::remove_file(&f);
    f
}

fn problems(n: usize) -> Vec<Problem> {
    (0..n)
        .map(|i| Problem {
            id: format!("p{i}"),
            benchmark: "fake".into(),
            question: format!("What is {i} + 1?"),
            gold: (i + 1).to_string(),
            level: Some(format!("Level {}", i % 3 + 1)),
            subject: None,
        })
        .collect()
}

fn quiet() -> RunOptions {
    RunOptions { progress: false, ..RunOptions::default() }
}

/// Always right, with a cost that identifies the problem.
fn right(p: &Problem) -> Result<SolveOutcome, String> {
    let i: u32 = p.id[1..].parse().unwrap();
    Ok(SolveOutcome {
        answer: Some(p.gold.clone()),
        final_text: format!("so \\boxed{{{}}}", p.gold),
        trace: json!({ "problem": p.id }),
        cost: Cost { rounds: i + 1, steps: 2, trajectories: 1, prompt_tokens: 10, generated_tokens: 20 },
    })
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn records_grading_and_failures() {
    let out = tmp_file("grading");
    let ps = problems(6);
    // p0 right, p1 wrong, p2 answer extracted from text, p3 solver error, p4 panic, p5 no answer at all.
    let solver = |p: &Problem| -> Result<SolveOutcome, String> {
        match p.id.as_str() {
            "p0" => right(p),
            "p1" => Ok(SolveOutcome { answer: Some("99".into()), final_text: "99".into(), ..Default::default() }),
            "p2" => Ok(SolveOutcome { answer: None, final_text: "thus the answer is \\boxed{3}".into(), ..Default::default() }),
            "p3" => Err("model exploded".to_string()),
            "p4" => panic!("index out of range in the fake solver"),
            _ => Ok(SolveOutcome { answer: Some("  ".into()), final_text: "I do not know.".into(), ..Default::default() }),
        }
    };
    let report = run_eval(&ps, "reasonflux", &out, solver, &quiet()).unwrap();
    assert_eq!((report.total, report.resumed, report.solved, report.failed, report.correct, report.recorded), (6, 0, 6, 2, 2, 6));
    assert!((report.accuracy() - 2.0 / 6.0).abs() < 1e-12);

    let recs = read_records(&out).unwrap();
    assert_eq!(recs.len(), 6);
    let by = |id: &str| -> &EvalRecord { recs.iter().find(|r| r.id == id).unwrap() };

    let r0 = by("p0");
    assert!(r0.correct && r0.error.is_none());
    assert_eq!((r0.benchmark.as_str(), r0.strategy.as_str(), r0.level.as_deref()), ("fake", "reasonflux", Some("Level 1")));
    assert_eq!((r0.gold.as_str(), r0.answer.as_deref()), ("1", Some("1")));
    assert_eq!(r0.question, "What is 0 + 1?");
    assert_eq!(r0.cost, Cost { rounds: 1, steps: 2, trajectories: 1, prompt_tokens: 10, generated_tokens: 20 });
    assert_eq!(r0.trace, json!({ "problem": "p0" }));
    assert!(r0.seconds >= 0.0 && r0.seconds < 60.0);
    assert_eq!(r0.grade_reason, Some(rf_grade::Reason::Identical));

    assert!(!by("p1").correct);
    assert_eq!(by("p1").grade_reason, Some(rf_grade::Reason::Different));
    assert!(by("p2").correct, "answer extracted from final_text");
    assert_eq!(by("p2").answer.as_deref(), Some("3"));
    assert_eq!(by("p3").error.as_deref(), Some("model exploded"));
    assert!(!by("p3").correct);
    let e4 = by("p4").error.as_deref().unwrap();
    assert!(e4.starts_with("solver panicked") && e4.contains("index out of range"), "{e4}");
    assert!(!by("p5").correct);
    assert_eq!(by("p5").answer, None);
    assert_eq!(by("p5").grade_reason, None);
}

#[test]
fn resume_after_truncated_last_line() {
    let out = tmp_file("resume");
    let ps = problems(10);
    let first = run_eval(&ps, "mcts", &out, right, &RunOptions { max_new: Some(4), ..quiet() }).unwrap();
    assert_eq!((first.solved, first.recorded), (4, 4));
    assert_eq!(lines(&out).len(), 4);

    // Simulate an interruption in the middle of writing p3's record: cut its line in half.
    let text = std::fs::read_to_string(&out).unwrap();
    let start_of_last = text[..text.len() - 1].rfind('\n').unwrap() + 1;
    let cut = start_of_last + (text.len() - start_of_last) / 2;
    std::fs::write(&out, &text.as_bytes()[..cut]).unwrap();

    let calls = RefCell::new(Vec::new());
    let solver = |p: &Problem| {
        calls.borrow_mut().push(p.id.clone());
        right(p)
    };
    let second = run_eval(&ps, "mcts", &out, solver, &quiet()).unwrap();
    let expected: Vec<String> = (3..10).map(|i| format!("p{i}")).collect();
    assert_eq!(*calls.borrow(), expected, "p0..p2 resumed, p3 (truncated) redone");
    assert_eq!((second.resumed, second.solved, second.recorded, second.correct), (3, 7, 10, 10));

    // Every line parses, each problem exactly once, in order.
    let recs = read_records(&out).unwrap();
    let ids: Vec<&str> = recs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"]);
    assert_eq!(lines(&out).len(), 10);

    // A third run has nothing to do.
    let third =
        run_eval(&ps, "mcts", &out, |_: &Problem| -> Result<SolveOutcome, String> { panic!("must not be called") }, &quiet()).unwrap();
    assert_eq!((third.resumed, third.solved, third.correct), (10, 0, 10));
}

#[test]
fn resume_keeps_complete_record_without_newline() {
    let out = tmp_file("no-newline");
    let ps = problems(4);
    run_eval(&ps, "direct", &out, right, &RunOptions { max_new: Some(2), ..quiet() }).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::write(&out, text.trim_end_matches('\n')).unwrap();

    let calls = RefCell::new(0);
    let report = run_eval(
        &ps,
        "direct",
        &out,
        |p: &Problem| {
            *calls.borrow_mut() += 1;
            right(p)
        },
        &quiet(),
    )
    .unwrap();
    assert_eq!(*calls.borrow(), 2);
    assert_eq!((report.resumed, report.solved), (2, 2));
    assert_eq!(read_records(&out).unwrap().len(), 4);
    assert_eq!(lines(&out).len(), 4);
}

#[test]
fn strategies_are_resumed_separately() {
    let out = tmp_file("strategies");
    let ps = problems(3);
    run_eval(&ps, "reasonflux", &out, right, &quiet()).unwrap();
    let r = run_eval(&ps, "best-of-4", &out, right, &RunOptions { keep_trace: false, ..quiet() }).unwrap();
    assert_eq!((r.resumed, r.solved), (0, 3));
    let recs = read_records(&out).unwrap();
    assert_eq!(recs.len(), 6);
    assert!(recs.iter().filter(|r| r.strategy == "best-of-4").all(|r| r.trace.is_null()));
    assert!(recs.iter().filter(|r| r.strategy == "reasonflux").all(|r| !r.trace.is_null()));
}

#[test]
fn corrupt_middle_line_is_an_error_and_file_untouched() {
    let out = tmp_file("corrupt");
    let ps = problems(3);
    run_eval(&ps, "reasonflux", &out, right, &RunOptions { max_new: Some(2), ..quiet() }).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let broken = format!("{}\n{{not json}}\n{}", lines(&out)[0], &text[text.find('\n').unwrap() + 1..]);
    std::fs::write(&out, &broken).unwrap();
    match run_eval(&ps, "reasonflux", &out, right, &quiet()) {
        Err(EvalError::Malformed { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&out).unwrap(), broken);
}

#[test]
fn creates_parent_directories_and_grades_leading_zeros() {
    let out = tmp_file("nested").with_extension("d").join("deeper").join("run.jsonl");
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
    let p = Problem {
        id: "67".into(),
        benchmark: "aime24".into(),
        question: "q".into(),
        gold: "025".into(),
        level: Some("Level 1".into()),
        subject: None,
    };
    let r = run_eval(
        std::slice::from_ref(&p),
        "direct",
        &out,
        |_: &Problem| -> Result<SolveOutcome, String> { Ok(SolveOutcome { answer: Some("25".into()), ..Default::default() }) },
        &quiet(),
    )
    .unwrap();
    assert_eq!(r.correct, 1, "AIME gold 025 equals 25");
}
