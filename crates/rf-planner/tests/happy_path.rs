//! Plan → retrieve → instantiate → evaluate → final boxed answer.
mod common;

use common::*;
use rf_planner::{
    ExchangeKind, ModelRole, Planner, PlannerConfig, Strategy, Trace, prompts::PROMPT_VERSION, run_to_completion,
};

fn happy() -> (Trace, Scripted) {
    let mut backend = Scripted::new(
        &[PLAN2, CONTINUE, CONTINUE],
        &[
            "By Vieta, r+s=5 and rs=6.\nResult: r+s=5, rs=6",
            "r^2+s^2=(r+s)^2-2rs=25-12=13.\nResult: 13",
            "We have r+s=5, rs=6, so r^2+s^2=25-12=13. Final: \\boxed{13}",
        ],
    );
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(planner.is_done());
    (trace, backend)
}

#[test]
fn full_loop_reaches_boxed_answer() {
    let (trace, backend) = happy();
    assert!(backend.exhausted(), "every scripted reply must be used");
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert!(trace.final_text.as_deref().unwrap_or("").contains("\\boxed{13}"));
    assert!(trace.finished);
    assert_eq!(trace.strategy, "reasonflux");
    assert_eq!(trace.prompt_version, PROMPT_VERSION);
    let kinds: Vec<ExchangeKind> = trace.exchanges.iter().map(|e| e.kind).collect();
    use ExchangeKind::*;
    assert_eq!(kinds, vec![Plan, Retrieve, Instantiate, Evaluate, Retrieve, Instantiate, Evaluate, Final]);
    assert_eq!(trace.totals.interplay_rounds, 2);
    assert_eq!(trace.totals.retrievals, 2);
    assert_eq!(trace.totals.generations, 6);
    assert!(trace.totals.prompt_tokens > 0 && trace.totals.generated_tokens > 0);
    let tokens: u64 = trace.exchanges.iter().map(|e| e.tokens_out).sum();
    assert_eq!(tokens, trace.totals.generated_tokens);
    assert_eq!(trace.flags, Default::default());
}

#[test]
fn trace_records_plan_templates_and_evaluations() {
    let (trace, _) = happy();
    assert_eq!(trace.plans.len(), 1);
    assert_eq!(trace.plans[0].steps.len(), 2);
    assert_eq!(trace.plans[0].steps[0].template, "Vieta's formulas");
    assert_eq!(trace.plans[0].steps[0].tags, vec!["quadratic", "roots"]);
    assert_eq!(trace.steps.len(), 2);
    let t0 = trace.steps[0].attempts[0].template.as_ref().expect("template");
    assert_eq!(t0.id, "quad-vieta");
    let t1 = trace.steps[1].attempts[0].template.as_ref().expect("template");
    assert_eq!(t1.id, "quad-formula");
    for s in &trace.steps {
        assert_eq!(s.attempts.len(), 1);
        let ev = s.attempts[0].evaluation.as_ref().expect("evaluated");
        assert_eq!(ev.applied, rf_planner::Decision::Continue);
        assert_eq!(ev.source, rf_planner::DecisionSource::Json);
    }
    // The trace is plain JSON.
    let json = trace.to_json();
    let back: Trace = serde_json::from_str(&json).expect("trace json");
    assert_eq!(back, trace);
}

#[test]
fn prompts_carry_template_query_and_previous_results() {
    let (_, backend) = happy();
    // Query = name + tags + sub-goal.
    assert!(backend.queries[0].contains("Vieta's formulas"));
    assert!(backend.forms.iter().all(|f| *f == rf_planner::QueryForm::PlanStep), "{:?}", backend.forms);
    assert!(backend.queries[0].contains("quadratic"));
    assert!(backend.queries[0].contains("find r+s and rs"));
    // requests: plan, inst1, eval1, inst2, eval2, final
    let roles: Vec<ModelRole> = backend.requests.iter().map(|r| r.role).collect();
    use ModelRole::*;
    assert_eq!(roles, vec![Navigator, Inference, Navigator, Inference, Navigator, Inference]);
    let inst1 = backend.user_prompt(1);
    assert!(inst1.contains(PROBLEM));
    assert!(inst1.contains("Template: Vieta's formulas"));
    assert!(inst1.contains("Identify the pieces."));
    assert!(inst1.contains("r \\neq s"), "LaTeX in worked examples (`\\neq`) reaches the prompt intact");
    let eval1 = backend.user_prompt(2);
    assert!(eval1.contains("Result: r+s=5, rs=6"));
    let inst2 = backend.user_prompt(3);
    assert!(inst2.contains("Result: r+s=5, rs=6"), "step 2 sees step 1's result");
    assert!(inst2.contains("Template: Quadratic formula"));
    let fin = backend.user_prompt(5);
    assert!(fin.contains("Result: 13"));
    for r in &backend.requests {
        assert_eq!(r.sampling.temperature, 0.6);
        assert_eq!(r.sampling.top_p, 0.95);
        assert_eq!(r.sampling.seed, r.request_id, "seed = base seed 0 + request id");
    }
    assert_eq!(backend.requests[0].sampling.max_new_tokens, 1024);
    assert_eq!(backend.requests[1].sampling.max_new_tokens, 3072);
}

#[test]
fn retrieval_failure_degrades_to_untemplated_steps() {
    let mut backend = Scripted::new(&[PLAN2, CONTINUE, CONTINUE], &["a\nResult: x", "b\nResult: 13", "\\boxed{13}"]);
    backend.retrieval_down = true;
    let mut planner = Planner::new(PROBLEM, PlannerConfig::default());
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert_eq!(trace.flags.backend_errors, 2);
    assert!(trace.steps.iter().all(|s| s.attempts[0].template.is_none()));
    assert!(backend.user_prompt(1).contains("No library template was found"));
}

#[test]
fn without_evaluation_each_step_is_one_round() {
    let mut backend = Scripted::new(&[PLAN2], &["a", "b", "\\boxed{13}"]);
    let config = PlannerConfig { evaluate_steps: false, ..PlannerConfig::default() };
    let mut planner = Planner::new(PROBLEM, config);
    let trace = run_to_completion(&mut planner, &mut backend).expect("run");
    assert!(backend.exhausted());
    assert_eq!(trace.totals.interplay_rounds, 2);
    assert_eq!(trace.answer.as_deref(), Some("13"));
}
