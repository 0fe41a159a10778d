//! The adaptive round budget and its hard cap.
mod common;

use common::*;
use rf_planner::{Planner, PlannerConfig, Strategy, run_to_completion};

const ONE_STEP: &str = r#"{"steps": [{"template": "Vieta's formulas", "tags": ["quadratic"], "sub_goal": "all"}]}"#;
const REDO: &str = r#"{"decision": "retrieve", "reason": "try again"}"#;

#[test]
fn hard_cap_stops_an_unsatisfied_navigator() {
    let config = PlannerConfig { max_rounds: 5, max_redos_per_step: 100, ..PlannerConfig::default() };
    let navigator: Vec<&str> = std::iter::once(ONE_STEP).chain(std::iter::repeat_n(REDO, 50)).collect();
    let inference: Vec<&str> = std::iter::repeat_n("try", 5).chain(std::iter::once("\\boxed{13}")).collect();
    let mut backend = Scripted::new(&navigator, &inference);
    let mut planner = Planner::new(PROBLEM, config.clone());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert_eq!(trace.totals.interplay_rounds, 5);
    assert!(trace.flags.round_budget_exhausted);
    assert!(trace.flags.round_cap_reached);
    assert_eq!(trace.steps[0].attempts.iter().filter(|a| a.instantiate_request.is_some()).count(), 5);
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert!(backend.inference.is_empty(), "final solution still written");
    assert!(trace.exchanges.len() <= config.max_actions());
}

#[test]
fn budget_grows_with_each_failed_evaluation() {
    // 1 step → base budget 2; each failure adds 1, so a navigator that fails twice then accepts
    // needs 3 rounds and gets them.
    let mut backend = Scripted::new(&[ONE_STEP, REDO, REDO, CONTINUE], &["a", "b", "c", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    let budgets: Vec<u32> = trace.steps[0].attempts.iter().map(|a| a.evaluation.as_ref().unwrap().round_budget).collect();
    assert_eq!(budgets, vec![3, 4, 4]);
    assert_eq!(trace.totals.interplay_rounds, 3);
    assert!(!trace.flags.round_budget_exhausted);
}

#[test]
fn exhausted_budget_below_cap_is_not_the_cap() {
    // Growth 0: 2 steps × 2 = 4 rounds, all spent redoing step 1.
    let config = PlannerConfig { round_growth: 0, max_redos_per_step: 100, ..PlannerConfig::default() };
    let mut backend = Scripted::new(&[PLAN2, REDO, REDO, REDO, REDO], &["a", "b", "c", "d", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, config);
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert_eq!(trace.totals.interplay_rounds, 4);
    assert!(trace.flags.round_budget_exhausted);
    assert!(!trace.flags.round_cap_reached);
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert!(planner.is_done());
}

#[test]
fn unfinished_steps_are_handed_to_the_final_solution() {
    let config = PlannerConfig { max_rounds: 1, ..PlannerConfig::default() };
    let mut backend = Scripted::new(&[PLAN2, CONTINUE], &["step one\nResult: r+s=5", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, config);
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert!(trace.flags.round_cap_reached);
    let fin = backend.user_prompt(backend.requests.len() - 1);
    assert!(fin.contains("not carried out yet"));
    assert!(fin.contains("combine into r^2+s^2"));
    assert!(fin.contains("Result: r+s=5"));
}
