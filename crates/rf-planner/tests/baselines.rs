//! Direct, Best-of-N voting and MCTS on the same protocol.
mod common;

use common::*;
use rf_planner::{
    Action, Backend, BackendError, Observation, BestOfN, BestOfNConfig, Direct, DirectConfig, ExchangeKind, GenerateRequest, Generation,
    Guided, GuidedConfig, Mcts, MctsConfig, MctsValue, RetrieveRequest, Strategy, StrategyKind, StrategySpec, TemplateCard,
    run_to_completion,
};

#[test]
fn direct_is_one_generation() {
    let mut backend = Scripted::new(&[], &["25 - 12 = 13, so \\boxed{13}"]);
    let mut d = Direct::new(PROBLEM, DirectConfig::default());
    let trace = run_to_completion(&mut d, &mut backend).unwrap();
    assert_eq!(trace.strategy, "direct");
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert_eq!(trace.totals.trajectories, 1);
    assert_eq!(trace.totals.generations, 1);
    assert!(backend.user_prompt(0).contains(PROBLEM));
}

/// Feeds `replies` to a Direct run, each marked cut off by the budget or not.
fn direct_with_replies(replies: &[&str], truncated: bool) -> (Option<String>, bool) {
    let mut d = Direct::new(PROBLEM, DirectConfig::default());
    for text in replies {
        let Action::Generate(req) = d.next_action() else { panic!("expected a generation") };
        let obs = Observation::Generated { request_id: req.request_id, text: text.to_string(), tokens_in: 5, tokens_out: 2, truncated };
        d.feed(obs).unwrap();
    }
    let Action::Done(outcome) = d.next_action() else { panic!("expected the run to end") };
    (outcome.answer, d.trace().flags.budget_ran_out)
}

// The page showed "Final answer: 12" for a 2-token budget: the number the model was writing
// when it was stopped had been read leniently as its answer.
#[test]
fn number_in_a_cut_off_reply_is_not_an_answer() {
    let replies = ["1.\n\n12", "The answer is 12"];
    assert_eq!(direct_with_replies(&replies, false), (Some("12".to_string()), false));
    assert_eq!(direct_with_replies(&replies, true), (None, true));
}

#[test]
fn closed_box_in_a_cut_off_reply_is_still_the_answer() {
    assert_eq!(direct_with_replies(&["so \\boxed{13} and then we check that"], true), (Some("13".to_string()), false));
}

#[test]
fn guided_puts_the_cards_retrieved_for_the_problem_into_one_prompt() {
    let problem = PROBLEM;
    let mut backend = Scripted::new(&[], &["r+s = 5 and rs = 6, so r^2+s^2 = 25-12 = \\boxed{13}"]);
    let mut g = Guided::new(problem, GuidedConfig { templates: 1, ..Default::default() });
    let trace = run_to_completion(&mut g, &mut backend).unwrap();
    assert_eq!(trace.strategy, "guided");
    assert_eq!(backend.queries, vec![problem.to_string()], "the problem itself is the query");
    assert_eq!(backend.forms, vec![rf_planner::QueryForm::Problem]);
    assert_eq!(trace.guides.len(), 1);
    let prompt = backend.user_prompt(0);
    assert!(prompt.contains(&format!("Template: {}", trace.guides[0].name)), "{prompt}");
    assert!(prompt.contains(problem));
    assert_eq!(trace.answer.as_deref(), Some("13"));
    assert_eq!((trace.totals.retrievals, trace.totals.generations, trace.totals.trajectories), (1, 1, 1));
}

#[test]
fn guided_without_templates_is_the_direct_prompt() {
    let mut down = Scripted::new(&[], &["\\boxed{13}"]);
    down.retrieval_down = true;
    let trace = run_to_completion(&mut Guided::new(PROBLEM, GuidedConfig::default()), &mut down).unwrap();
    let mut direct = Scripted::new(&[], &["\\boxed{13}"]);
    run_to_completion(&mut Direct::new(PROBLEM, DirectConfig::default()), &mut direct).unwrap();
    assert_eq!(down.user_prompt(0), direct.user_prompt(0));
    assert!(trace.guides.is_empty());
    assert_eq!(trace.flags.backend_errors, 1);
    assert_eq!(trace.answer.as_deref(), Some("13"));

    let mut none = Scripted::new(&[], &["\\boxed{13}"]);
    run_to_completion(&mut Guided::new(PROBLEM, GuidedConfig { templates: 0, ..Default::default() }), &mut none).unwrap();
    assert!(none.queries.is_empty(), "templates = 0 retrieves nothing");
    assert_eq!(none.user_prompt(0), direct.user_prompt(0));
}

#[test]
fn spec_names_are_the_strategy_kind_names_and_unknown_fields_are_refused() {
    for kind in StrategyKind::ALL {
        let spec = StrategySpec::default_for(kind);
        assert_eq!(spec.kind(), kind);
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["strategy"], kind.as_str());
        assert_eq!(serde_json::from_value::<StrategySpec>(json).unwrap(), spec);
        assert_eq!(spec.start(PROBLEM).trace().strategy, kind.as_str());
    }
    let typo = r#"{"strategy": "reasonflux", "config": {"max_round": 8}}"#;
    let err = serde_json::from_str::<StrategySpec>(typo).unwrap_err().to_string();
    assert!(err.contains("max_round"), "{err}");
    let nested = r#"{"strategy": "direct", "config": {"sampling": {"temprature": 0.1}}}"#;
    let err = serde_json::from_str::<StrategySpec>(nested).unwrap_err().to_string();
    assert!(err.contains("temprature"), "{err}");
}

#[test]
fn best_of_n_majority_vote_uses_equivalence() {
    let outputs = ["\\boxed{12}", "\\boxed{\\frac{26}{2}}", "no answer at all", "\\boxed{13}", "\\boxed{13.0}", "\\boxed{12}"];
    let mut backend = Scripted::new(&[], &outputs);
    let mut b = BestOfN::new(PROBLEM, BestOfNConfig { n: 6, ..Default::default() });
    let trace = run_to_completion(&mut b, &mut backend).unwrap();
    assert!(backend.exhausted());
    assert_eq!(trace.totals.trajectories, 6);
    assert_eq!(trace.votes[0].votes, 3, "13, 26/2 and 13.0 are one cluster: {:?}", trace.votes);
    assert!(["13", "\\frac{26}{2}", "13.0"].contains(&trace.answer.as_deref().unwrap()));
    assert_eq!(trace.votes[1].votes, 2);
    assert_eq!(trace.final_text.as_deref(), Some("\\boxed{\\frac{26}{2}}"), "first member of the winning cluster");
    // Seeds differ per sample.
    let seeds: std::collections::HashSet<u64> = backend.requests.iter().map(|r| r.sampling.seed).collect();
    assert_eq!(seeds.len(), 6);
}

#[test]
fn best_of_n_tie_goes_to_the_first_answer_and_early_stop_works() {
    let mut backend = Scripted::new(&[], &["\\boxed{7}", "\\boxed{8}"]);
    let mut b = BestOfN::new(PROBLEM, BestOfNConfig { n: 2, ..Default::default() });
    let trace = run_to_completion(&mut b, &mut backend).unwrap();
    assert_eq!(trace.answer.as_deref(), Some("7"));

    let mut backend = Scripted::new(&[], &["\\boxed{5}", "\\boxed{5}", "\\boxed{6}", "\\boxed{6}"]);
    let mut b = BestOfN::new(PROBLEM, BestOfNConfig { n: 4, stop_at_votes: Some(2), ..Default::default() });
    let trace = run_to_completion(&mut b, &mut backend).unwrap();
    assert_eq!(trace.totals.trajectories, 2);
    assert_eq!(trace.answer.as_deref(), Some("5"));
}

/// Inference backend for MCTS: steps, rollouts and self-evaluations by request kind.
struct MctsFake {
    calls: usize,
    step_stops: Vec<Vec<String>>,
}

impl Backend for MctsFake {
    fn generate(&mut self, req: &GenerateRequest) -> Result<Generation, BackendError> {
        self.calls += 1;
        let prompt = &req.messages.last().unwrap().content;
        let text = if prompt.contains("next single step") {
            self.step_stops.push(req.stop.clone());
            match self.calls % 4 {
                0 => "Therefore r^2+s^2 = 13, \\boxed{13}".to_string(),
                1 => "By Vieta r+s=5.".to_string(),
                2 => "Guess: \\boxed{11}".to_string(),
                _ => "Square: (r+s)^2 = 25.".to_string(),
            }
        } else if prompt.contains("finish it") {
            if self.calls.is_multiple_of(3) { "So 25-12.\n\n\\boxed{13}".into() } else { "Hence\n\nthe answer \\boxed{13}".into() }
        } else {
            "Score: 6".into()
        };
        Ok(Generation { text, tokens_in: 10, tokens_out: 5, truncated: false })
    }
    fn retrieve(&mut self, _: &RetrieveRequest) -> Result<Vec<TemplateCard>, BackendError> {
        Err(BackendError::failed("no retrieval in mcts"))
    }
}

#[test]
fn mcts_terminates_and_votes() {
    for value in [MctsValue::SelfConsistency, MctsValue::SelfEvaluation] {
        let config = MctsConfig { iterations: 10, max_depth: 4, branching: 2, value, ..Default::default() };
        let mut m = Mcts::new(PROBLEM, config.clone());
        let mut backend = MctsFake { calls: 0, step_stops: Vec::new() };
        let trace = run_to_completion(&mut m, &mut backend).unwrap();
        assert!(m.is_done());
        let stats = trace.mcts.clone().unwrap();
        assert_eq!(stats.iterations, 10);
        assert!(stats.nodes > 1 && stats.max_depth_reached <= 4);
        assert_eq!(trace.answer.as_deref(), Some("13"), "{value:?}: {:?}", trace.votes);
        assert!(trace.totals.reasoning_steps >= stats.nodes - 1);
        assert!(trace.exchanges.len() < config.max_actions());
        assert!(backend.step_stops.iter().all(|s| s == &vec!["\n\n".to_string()]));
        let evals = trace.exchanges.iter().filter(|e| e.kind == ExchangeKind::MctsSelfEval).count();
        assert_eq!(evals > 0, value == MctsValue::SelfEvaluation);
    }
}

#[test]
fn mcts_with_useless_model_still_finishes() {
    let mut backend = Scripted::new(&[], &[]); // every generation fails
    let config = MctsConfig { iterations: 6, ..Default::default() };
    let mut m = Mcts::new(PROBLEM, config.clone());
    let trace = run_to_completion(&mut m, &mut backend).unwrap();
    assert_eq!(trace.answer, None);
    assert!(trace.flags.answer_missing);
    assert_eq!(trace.mcts.unwrap().iterations, 6);
    assert!(trace.exchanges.len() <= config.max_actions());
}
