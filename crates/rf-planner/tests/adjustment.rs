//! Navigator adjustments: revising the remaining plan and retrieving a different template.
mod common;

use common::*;
use rf_planner::{Decision, Planner, PlannerConfig, PlanSource, run_to_completion};

const REVISE: &str = r#"The route is wrong. {"decision": "revise", "reason": "factor instead",
  "steps": [
    {"template": "Factoring quadratics", "tags": ["factoring"], "sub_goal": "factor to get the roots"},
    {"template": "Direct substitution", "tags": ["arithmetic"], "sub_goal": "square and add"}
  ]}"#;

#[test]
fn revise_replaces_the_rest_of_the_plan() {
    let mut backend = Scripted::new(
        &[PLAN2, REVISE, CONTINUE, CONTINUE],
        &["wrong step", "(x-2)(x-3), roots 2, 3\nResult: r=2, s=3", "4+9=13\nResult: 13", "\\boxed{13}"],
    );
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert_eq!(trace.plans.len(), 2);
    assert_eq!(trace.plans[1].from_step, 0);
    assert_eq!(trace.plans[1].steps[0].template, "Factoring quadratics");
    assert_eq!(planner.plan()[1].template, "Direct substitution");
    // Old step 0 (revised away), new step 0, new step 1.
    assert_eq!(trace.steps.len(), 3);
    let ev = trace.steps[0].attempts[0].evaluation.as_ref().unwrap();
    assert!(matches!(&ev.applied, Decision::Revise { steps } if steps.len() == 2));
    assert_eq!(ev.reason.as_deref(), Some("factor instead"));
    assert_eq!(trace.steps[1].attempts[0].template.as_ref().unwrap().id, "quad-factor");
    assert_eq!(trace.totals.interplay_rounds, 3);
    // Budget: 2 steps × 2 = 4, grown by 1 on the failed evaluation.
    assert_eq!(ev.round_budget, 5);
    // The step after the revision sees only the new step's result, not the rejected one.
    let inst = backend.user_prompt(5);
    assert!(inst.contains("Result: r=2, s=3"));
    assert!(!inst.contains("wrong step"));
}

#[test]
fn retrieve_redoes_the_step_with_a_different_template() {
    let redo = r#"{"decision": "retrieve", "reason": "factoring is simpler", "query": "Factoring quadratics factoring"}"#;
    let mut backend = Scripted::new(
        &[PLAN2, redo, CONTINUE, CONTINUE],
        &["first try", "second try\nResult: r=2, s=3", "13\nResult: 13", "\\boxed{13}"],
    );
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert_eq!(backend.queries.len(), 3);
    assert_eq!(backend.queries[1], "Factoring quadratics factoring");
    assert_eq!(trace.steps.len(), 2);
    let attempts = &trace.steps[0].attempts;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].template.as_ref().unwrap().id, "quad-vieta");
    assert_eq!(attempts[1].template.as_ref().unwrap().id, "quad-factor");
    assert_eq!(attempts[0].output, "first try");
    assert_eq!(attempts[1].output, "second try\nResult: r=2, s=3");
    assert_eq!(trace.totals.interplay_rounds, 3);
    assert!(backend.user_prompt(3).contains("Template: Factoring quadratics"));
}

#[test]
fn retrieve_without_query_skips_templates_already_tried() {
    let redo = r#"{"decision": "retrieve"}"#;
    let mut backend = Scripted::new(&[PLAN2, redo, CONTINUE, CONTINUE], &["a", "b", "c", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert_eq!(backend.queries[0], backend.queries[1], "same query");
    let a = &trace.steps[0].attempts;
    assert_ne!(a[0].template.as_ref().unwrap().id, a[1].template.as_ref().unwrap().id);
}

#[test]
fn redo_limit_forces_continue() {
    let redo = r#"{"decision": "retrieve"}"#;
    let config = PlannerConfig { max_redos_per_step: 1, ..PlannerConfig::default() };
    let mut backend = Scripted::new(&[PLAN2, redo, redo, CONTINUE], &["a", "b", "c", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, config);
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert_eq!(trace.flags.forced_continues, 1);
    let ev = trace.steps[0].attempts[1].evaluation.as_ref().unwrap();
    assert!(matches!(ev.requested, Decision::Retrieve { .. }));
    assert_eq!(ev.applied, Decision::Continue);
}

#[test]
fn unreadable_evaluation_counts_and_continues() {
    let mut backend = Scripted::new(&[PLAN2, "hmm, fine I guess", "no idea"], &["a", "b", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert_eq!(trace.flags.unreadable_evaluations, 2);
    assert_eq!(trace.totals.interplay_rounds, 2);
    assert_eq!(trace.plans[0].source, PlanSource::Json);
}
