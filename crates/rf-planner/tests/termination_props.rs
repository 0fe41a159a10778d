//! Property: whatever the models say (random strings, JSON fragments, empty, huge, failures),
//! every strategy reaches Done within its configured action bound, and the state
//! serialises/deserialises at every step with resume equal to continuing.
use proptest::prelude::*;
use rf_planner::{
    Action, AnyStrategy, BestOfNConfig, DirectConfig, GuidedConfig, MctsConfig, MctsValue, Observation, PlannerConfig, Strategy as _,
    StrategySpec, TemplateCard,
};

const FRAGMENTS: &[&str] = &[
    "{", "}", "[", "]", ",", ":", "\"", "'", "```json\n", "```", "\\boxed{", "\\boxed{13}", "\n\n", "1. ", "Step 2: ",
    r#"{"steps": ["#, r#"{"template": "Vieta", "tags": ["quadratic"], "sub_goal": "sum"}"#, r#""decision""#,
    r#"{"decision": "continue"}"#, r#"{"decision": "revise", "steps": []}"#,
    r#"{"decision": "revise", "steps": [{"template": "Factoring"}, {"template": "Substitution"}]}"#,
    r#"{"decision": "retrieve", "query": "other"}"#, "retrieve", "revise", "continue", "Score: 9", "null", "True",
    "\\frac{1}{2}", "{{{{{{{{", "]]]]", "\u{0}", "é漢字🙂", "tags: a, b", "Result: 5",
];

#[derive(Debug, Clone)]
enum Reply {
    Text(String),
    Fail,
}

/// Well-formed navigator/inference replies with random content, so the deep paths (plans,
/// revisions, re-retrievals, boxed answers) are exercised, not only the fallbacks.
fn structured() -> impl Strategy<Value = String> {
    let step = ("[a-z ]{0,12}", prop::collection::vec("[a-z]{1,6}", 0..3), "[a-z ]{0,20}").prop_map(|(n, t, g)| {
        serde_json::json!({"template": n, "tags": t, "sub_goal": g}).to_string()
    });
    let steps = prop::collection::vec(step, 0..10).prop_map(|v| v.join(","));
    prop_oneof![
        steps.clone().prop_map(|s| format!(r#"{{"steps": [{s}]}}"#)),
        steps.prop_map(|s| format!(r#"{{"decision": "revise", "steps": [{s}]}}"#)),
        "[a-z ]{0,10}".prop_map(|q| format!(r#"{{"decision": "retrieve", "query": "{q}"}}"#)),
        Just(r#"{"decision": "continue"}"#.to_string()),
        "-?[0-9]{1,3}".prop_map(|a| format!("so the answer is \\boxed{{{a}}}")),
        (0u8..11).prop_map(|n| format!("Score: {n}")),
    ]
}

fn model_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => structured(),
        2 => Just(String::new()),
        3 => any::<String>(),
        5 => prop::collection::vec(prop::sample::select(FRAGMENTS), 0..24).prop_map(|v| v.concat()),
        1 => (prop::sample::select(FRAGMENTS), 2_000usize..20_000).prop_map(|(f, n)| f.repeat(n)),
        1 => (any::<String>(), 1usize..50).prop_map(|(s, n)| format!("{{\"steps\": [{}", s.repeat(n))),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![9 => model_text().prop_map(Reply::Text), 1 => Just(Reply::Fail)]
}

fn cards() -> impl Strategy<Value = Vec<TemplateCard>> {
    prop::collection::vec(
        (0u8..4, any::<String>(), prop::option::of(any::<String>())).prop_map(|(id, name, example)| TemplateCard {
            id: format!("t{id}"),
            name,
            tags: vec!["tag".into()],
            description: "d".into(),
            steps: vec!["s".into()],
            example,
        }),
        0..4,
    )
}

fn specs() -> Vec<StrategySpec> {
    vec![
        StrategySpec::ReasonFlux(PlannerConfig::default()),
        StrategySpec::ReasonFlux(PlannerConfig {
            max_rounds: 3,
            max_plan_attempts: 1,
            max_redos_per_step: 5,
            max_plan_steps: 2,
            ..PlannerConfig::default()
        }),
        StrategySpec::Direct(DirectConfig::default()),
        StrategySpec::Guided(GuidedConfig::default()),
        StrategySpec::Guided(GuidedConfig { templates: 0, ..Default::default() }),
        StrategySpec::BestOfN(BestOfNConfig { n: 3, stop_at_votes: Some(2), ..Default::default() }),
        StrategySpec::Mcts(MctsConfig { iterations: 5, max_depth: 3, ..Default::default() }),
        StrategySpec::Mcts(MctsConfig { iterations: 4, branching: 1, value: MctsValue::SelfEvaluation, ..Default::default() }),
    ]
}

fn observe(action: &Action, replies: &[Reply], cards: &[Vec<TemplateCard>], n: usize) -> Option<Observation> {
    match action {
        Action::Done(_) => None,
        Action::Generate(req) => Some(match &replies[n % replies.len()] {
            Reply::Text(t) => Observation::Generated {
                request_id: req.request_id,
                text: t.clone(),
                tokens_in: 3,
                tokens_out: t.len() as u64,
                // Some replies arrive cut off by the budget, which changes how answers are read.
                truncated: t.len() % 3 == 0,
            },
            Reply::Fail => Observation::Failed { request_id: req.request_id, error: "boom".into() },
        }),
        Action::Retrieve(req) => Some(if cards.is_empty() {
            Observation::Failed { request_id: req.request_id, error: "no retriever".into() }
        } else {
            Observation::Retrieved { request_id: req.request_id, templates: cards[n % cards.len()].clone() }
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_strategy_terminates_and_resumes(
        replies in prop::collection::vec(reply(), 1..12),
        cards in prop::collection::vec(cards(), 0..3),
        spec_index in 0usize..6,
    ) {
        let spec = &specs()[spec_index];
        let problem = "Find r^2+s^2 where r, s are roots of x^2-5x+6.";
        let mut straight = spec.start(problem);
        let mut resumed = spec.start(problem);
        let bound = straight.max_actions();
        let mut actions = 0usize;
        loop {
            actions += 1;
            prop_assert!(actions <= bound, "more than {} actions", bound);
            let a = straight.next_action();
            // Save/restore the resumed copy at every step, pending request included.
            let b = resumed.next_action();
            let json = serde_json::to_string(&resumed).expect("serialise");
            resumed = serde_json::from_str::<AnyStrategy>(&json).expect("deserialise");
            prop_assert_eq!(&resumed.next_action(), &b);
            prop_assert_eq!(&a, &b);
            let Some(obs) = observe(&a, &replies, &cards, actions) else { break };
            straight.feed(obs.clone()).expect("feed");
            resumed.feed(obs).expect("feed resumed");
        }
        prop_assert!(straight.is_done());
        prop_assert_eq!(&straight, &resumed);
        let trace = straight.trace();
        prop_assert!(trace.finished);
        prop_assert!(trace.final_text.is_some());
        prop_assert_eq!(trace.exchanges.len(), actions - 1);
        let json = serde_json::to_string(trace).expect("trace json");
        prop_assert!(serde_json::from_str::<rf_planner::Trace>(&json).is_ok());
    }
}
