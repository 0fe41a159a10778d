//! Save/restore at any point equals continuing; protocol misuse is rejected without effect.
mod common;

use common::*;
use rf_planner::{
    Action, AnyStrategy, BestOfNConfig, DirectConfig, GuidedConfig, MctsConfig, MctsValue, Observation, PlannerConfig,
    PlannerError, Strategy, StrategySpec,
};

/// Run once uninterrupted, recording every action and the observation fed back.
fn reference(spec: &StrategySpec, mut backend: Scripted) -> (Vec<Action>, Vec<Observation>, AnyStrategy) {
    let mut m = spec.start(PROBLEM);
    let mut actions = Vec::new();
    let mut observations = Vec::new();
    for _ in 0..m.max_actions() {
        let a = m.next_action();
        actions.push(a.clone());
        let Some(obs) = rf_planner::perform(&a, &mut backend).expect("scripted backends fail only softly") else { break };
        observations.push(obs.clone());
        m.feed(obs).unwrap();
    }
    assert!(m.is_done());
    (actions, observations, m)
}

fn roundtrip(m: &AnyStrategy) -> AnyStrategy {
    let json = serde_json::to_string(m).unwrap();
    let back: AnyStrategy = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, m);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    back
}

fn check_resume_everywhere(spec: &StrategySpec, make: impl Fn() -> Scripted) {
    let (actions, observations, finished) = reference(spec, make());
    for cut in 0..=observations.len() {
        for pending in [false, true] {
            let mut m = spec.start(PROBLEM);
            for obs in &observations[..cut] {
                m.next_action();
                m.feed(obs.clone()).unwrap();
            }
            if pending {
                m.next_action(); // save while a request is outstanding
            }
            let mut m = roundtrip(&m);
            for (i, obs) in observations[cut..].iter().enumerate() {
                assert_eq!(m.next_action(), actions[cut + i], "cut {cut} pending {pending}: action {i}");
                m.feed(obs.clone()).unwrap();
            }
            assert_eq!(m.next_action(), *actions.last().unwrap());
            assert_eq!(m, finished, "cut {cut} pending {pending}");
        }
    }
}

const REVISE: &str = r#"{"decision":"revise","steps":[{"template":"Factoring quadratics","tags":["factoring"],"sub_goal":"factor"}]}"#;
const REDO: &str = r#"{"decision":"retrieve","query":"Quadratic formula"}"#;

#[test]
fn reasonflux_resumes_anywhere() {
    let spec = StrategySpec::ReasonFlux(PlannerConfig { seed: 7, ..PlannerConfig::default() });
    check_resume_everywhere(&spec, || {
        Scripted::new(&["junk", PLAN2, REDO, REVISE, CONTINUE], &["a", "b", "c", "no box", "\\boxed{13}"])
    });
}

#[test]
fn baselines_resume_anywhere() {
    let outputs = ["\\boxed{13}", "\\boxed{12}", "\\boxed{13}", "x"];
    check_resume_everywhere(&StrategySpec::Direct(DirectConfig::default()), || Scripted::new(&[], &["no", "\\boxed{1}"]));
    check_resume_everywhere(&StrategySpec::Guided(GuidedConfig::default()), || Scripted::new(&[], &["no", "\\boxed{1}"]));
    check_resume_everywhere(&StrategySpec::BestOfN(BestOfNConfig { n: 4, ..Default::default() }), || {
        Scripted::new(&[], &outputs)
    });
    for value in [MctsValue::SelfConsistency, MctsValue::SelfEvaluation] {
        let spec = StrategySpec::Mcts(MctsConfig { iterations: 4, value, ..Default::default() });
        check_resume_everywhere(&spec, || {
            let many: Vec<&str> = ["Step A", "We get 5. \\boxed{13}", "Score: 7", "", "then \\boxed{12}", "Score: 3"]
                .iter()
                .copied()
                .cycle()
                .take(30)
                .collect();
            Scripted::new(&[], &many)
        });
    }
}

#[test]
fn next_action_repeats_the_outstanding_request() {
    let mut m = StrategySpec::ReasonFlux(PlannerConfig::default()).start(PROBLEM);
    let a = m.next_action();
    assert_eq!(m.next_action(), a);
    assert_eq!(m.next_action(), a);
}

#[test]
fn misuse_is_rejected_and_changes_nothing() {
    let mut m = StrategySpec::ReasonFlux(PlannerConfig::default()).start(PROBLEM);
    let plan_obs = |id| Observation::Generated { request_id: id, text: PLAN2.into(), tokens_in: 1, tokens_out: 1, truncated: false };

    // Before any action.
    let before = serde_json::to_string(&m).unwrap();
    assert_eq!(m.feed(plan_obs(1)), Err(PlannerError::NoPendingRequest { got: 1 }));
    assert_eq!(serde_json::to_string(&m).unwrap(), before);

    let Action::Generate(req) = m.next_action() else { panic!("expected generate") };
    let before = serde_json::to_string(&m).unwrap();
    assert_eq!(
        m.feed(plan_obs(req.request_id + 5)),
        Err(PlannerError::UnknownRequest { expected: req.request_id, got: req.request_id + 5 })
    );
    assert!(matches!(
        m.feed(Observation::Retrieved { request_id: req.request_id, templates: vec![] }),
        Err(PlannerError::WrongObservationKind { .. })
    ));
    assert_eq!(serde_json::to_string(&m).unwrap(), before);

    m.feed(plan_obs(req.request_id)).unwrap();
    // Feeding the same answer twice is an error too.
    assert!(matches!(m.feed(plan_obs(req.request_id)), Err(PlannerError::NoPendingRequest { .. })));
    let Action::Retrieve(r) = m.next_action() else { panic!("expected retrieve") };
    assert!(matches!(m.feed(plan_obs(r.request_id)), Err(PlannerError::WrongObservationKind { .. })));
    // Failed answers either kind.
    m.feed(Observation::Failed { request_id: r.request_id, error: "down".into() }).unwrap();

    // After Done.
    let mut d = StrategySpec::Direct(DirectConfig::default()).start(PROBLEM);
    let Action::Generate(req) = d.next_action() else { panic!() };
    d.feed(Observation::Generated { request_id: req.request_id, text: "\\boxed{2}".into(), tokens_in: 0, tokens_out: 0, truncated: false })
        .unwrap();
    assert!(d.next_action().is_done());
    let before = serde_json::to_string(&d).unwrap();
    assert_eq!(d.feed(plan_obs(req.request_id)), Err(PlannerError::AlreadyDone));
    assert_eq!(serde_json::to_string(&d).unwrap(), before);
}

#[test]
fn wire_format_is_tagged_json() {
    let mut m = StrategySpec::ReasonFlux(PlannerConfig::default()).start(PROBLEM);
    let a = serde_json::to_value(m.next_action()).unwrap();
    assert_eq!(a["type"], "generate");
    assert_eq!(a["role"], "navigator");
    assert_eq!(a["messages"][0]["role"], "system");
    let obs: Observation = serde_json::from_value(serde_json::json!({
        "type": "generated", "request_id": a["request_id"], "text": PLAN2, "tokens_in": 3, "tokens_out": 4
    }))
    .unwrap();
    m.feed(obs).unwrap();
    let r = serde_json::to_value(m.next_action()).unwrap();
    assert_eq!(r["type"], "retrieve");
    assert_eq!(r["k"], 3);
    let spec: StrategySpec = serde_json::from_str(r#"{"strategy": "best-of-n", "config": {"n": 3}}"#).unwrap();
    assert!(matches!(spec, StrategySpec::BestOfN(c) if c.n == 3 && c.sampling.temperature == 0.6));
}
