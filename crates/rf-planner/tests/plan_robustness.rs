//! Broken navigator output: repair, numbered lists, corrective retries, direct fallback,
//! and the bounded boxed-answer retry.
mod common;

use common::*;
use rf_planner::{ChatRole, ExchangeKind, Planner, PlannerConfig, PlanSource, Strategy, run_to_completion};

#[test]
fn malformed_json_plan_is_repaired() {
    // Prose, a code fence, unquoted keys, single quotes, trailing commas, cut off mid-string.
    let plan = "Let me think. The problem is about a quadratic.\n```json\n{steps: [{template: 'Vieta formulas', \
                tags: ['quadratic', 'roots',], sub_goal: 'sum and product',}, {template: 'Quadratic formula', \
                tags: ['quadratic'], sub_goal: 'finish the comp";
    let mut backend = Scripted::new(&[plan, CONTINUE, CONTINUE], &["a", "b", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert!(trace.flags.plan_repaired);
    assert!(!trace.flags.direct_fallback);
    assert_eq!(trace.plans[0].source, PlanSource::RepairedJson);
    let steps = &trace.plans[0].steps;
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].template, "Vieta formulas");
    assert_eq!(steps[0].tags, vec!["quadratic", "roots"]);
    assert_eq!(steps[1].sub_goal, "finish the comp");
    assert_eq!(trace.answer.as_deref(), Some("13"));
}

#[test]
fn json_after_latex_prose_is_found() {
    let plan = "We need \\frac{r^2+s^2}{1} = {(r+s)^2 - 2rs}. Plan: [{\"template\": \"Vieta's formulas\", \"sub_goal\": \"s\"}]";
    let mut backend = Scripted::new(&[plan, CONTINUE], &["a", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert_eq!(trace.plans[0].steps.len(), 1);
    assert_eq!(trace.plans[0].steps[0].template, "Vieta's formulas");
    assert_eq!(trace.plans[0].source, PlanSource::Json);
}

#[test]
fn numbered_list_plan_is_accepted() {
    let plan = "Plan:\n1. Vieta's formulas: get r+s and rs (tags: quadratic, roots)\n2. Squares identity: use (r+s)^2-2rs";
    let mut backend = Scripted::new(&[plan, CONTINUE, CONTINUE], &["a", "b", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(trace.flags.plan_numbered_list);
    assert_eq!(trace.plans[0].source, PlanSource::NumberedList);
    assert_eq!(trace.plans[0].steps[0].template, "Vieta's formulas");
    assert_eq!(trace.plans[0].steps[0].tags, vec!["quadratic", "roots"]);
    assert_eq!(trace.plans[0].steps[1].sub_goal, "use (r+s)^2-2rs");
}

#[test]
fn unreadable_plan_is_retried_with_a_correction() {
    let mut backend = Scripted::new(&["I would rather not.", PLAN2, CONTINUE, CONTINUE], &["a", "b", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert_eq!(trace.flags.plan_retries, 1);
    assert!(!trace.flags.direct_fallback);
    let retry = &backend.requests[1];
    assert_eq!(retry.messages.len(), 4);
    assert_eq!(retry.messages[2].role, ChatRole::Assistant);
    assert_eq!(retry.messages[2].content, "I would rather not.");
    assert!(retry.messages[3].content.contains("could not read a plan"));
    assert_eq!(trace.answer.as_deref(), Some("13"));
}

#[test]
fn planning_failure_falls_back_to_direct_chain_of_thought() {
    let mut backend = Scripted::new(&["no", "", "still no plan"], &["Direct work: 25-12=13, \\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert!(trace.flags.direct_fallback);
    assert_eq!(trace.flags.plan_retries, 2);
    assert!(trace.plans.is_empty());
    assert_eq!(trace.totals.interplay_rounds, 0);
    assert_eq!(trace.totals.trajectories, 1);
    assert_eq!(trace.exchanges.last().unwrap().kind, ExchangeKind::Solve);
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert!(backend.user_prompt(3).contains(PROBLEM));
}

#[test]
fn navigator_backend_errors_fall_back_too() {
    // Navigator queue empty: every navigator request fails.
    let mut backend = Scripted::new(&[], &["\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(trace.flags.direct_fallback);
    assert_eq!(trace.flags.backend_errors, 3);
    assert_eq!(trace.answer.as_deref(), Some("13"));
}

#[test]
fn missing_boxed_answer_gets_one_retry() {
    let mut backend =
        Scripted::new(&[PLAN2, CONTINUE, CONTINUE], &["a", "b", "So the sum is thirteen.", "\\boxed{13}"]);
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert!(trace.flags.boxed_retry);
    assert!(!trace.flags.answer_unboxed);
    assert_eq!(trace.exchanges.last().unwrap().kind, ExchangeKind::BoxedRetry);
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert!(trace.final_text.as_deref().unwrap().starts_with("So the sum is thirteen."));
    let retry = backend.requests.last().unwrap();
    assert!(retry.messages.last().unwrap().content.contains("\\boxed"));
    assert!(retry.sampling.max_new_tokens <= 256);
}

#[test]
fn boxed_retry_is_bounded() {
    let mut backend = Scripted::new(
        &[PLAN2, CONTINUE, CONTINUE],
        &["a", "b", "I think it is 13 but I am not sure", "still no box, sorry", "never used"],
    );
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert_eq!(backend.inference.len(), 1, "exactly one retry");
    assert!(trace.flags.boxed_retry);
    assert!(trace.flags.answer_unboxed, "answer read leniently from the text");
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert!(planner.is_done());
}
