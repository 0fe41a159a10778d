//! The ReasonFlux inference loop: plan → (retrieve → instantiate → evaluate)* → final solution.

use serde::{Deserialize, Serialize};

use crate::core::{Core, Reply};
use crate::finish::{FinalStage, FinalStep};
use crate::parse::{parse_decision, parse_plan};
use crate::prompts;
use crate::text::{clamp_chars, clamp_middle, one_line};
use crate::trace::{
    Decision, DecisionSource, EvaluationRecord, ExchangeKind, PlanRecord, PlanSource, PlanStep,
    StepAttempt, StepTrace, TemplateRef, Trace,
};
use crate::types::{Action, ChatMessage, ModelRole, Observation, PlannerError, QueryForm, SamplingConfig, TemplateCard};
use crate::Strategy;

/// Settings of the ReasonFlux loop. [`Default`] follows the paper's sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerConfig {
    /// Navigator sampling (planning, evaluation).
    pub navigator: SamplingConfig,
    /// Inference-model sampling (instantiation, final solution).
    pub inference: SamplingConfig,
    /// Base seed; each request uses `seed + request_id`.
    pub seed: u64,
    /// Longest plan (and longest revision) accepted.
    pub max_plan_steps: usize,
    /// Planning generations before falling back to direct chain-of-thought (≥ 1).
    pub max_plan_attempts: u32,
    /// Templates asked for per retrieval (more lets a re-retrieval pick a different one).
    pub retrieve_k: u32,
    /// Initial round budget per planned step.
    pub rounds_per_step: u32,
    /// Budget growth on each failed evaluation (revise / retrieve).
    pub round_growth: u32,
    /// Hard cap on interplay rounds.
    pub max_rounds: u32,
    /// Redos (revise / retrieve) allowed on one plan position before `continue` is forced.
    pub max_redos_per_step: u32,
    /// Ask the navigator to evaluate each instantiated step.
    pub evaluate_steps: bool,
    /// Follow-ups asking only for the boxed answer when the final text has none.
    pub max_boxed_retries: u32,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        Self {
            navigator: SamplingConfig::paper(1024),
            inference: SamplingConfig::paper(3072),
            seed: 0,
            max_plan_steps: 6,
            max_plan_attempts: 3,
            retrieve_k: 3,
            rounds_per_step: 2,
            round_growth: 1,
            max_rounds: 16,
            max_redos_per_step: 2,
            evaluate_steps: true,
            max_boxed_retries: 1,
        }
    }
}

impl PlannerConfig {
    /// Upper bound on the number of distinct actions (Done included) of one run.
    pub fn max_actions(&self) -> usize {
        let per_round = if self.evaluate_steps { 3 } else { 2 };
        self.max_plan_attempts.max(1) as usize
            + per_round * self.max_rounds as usize
            + 1
            + self.max_boxed_retries as usize
            + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Phase {
    Plan,
    Retrieve { step: usize },
    Instantiate { step: usize },
    Evaluate { step: usize },
    Final,
}

/// The ReasonFlux state machine. Drive it with [`Strategy::next_action`] / [`Strategy::feed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planner {
    config: PlannerConfig,
    core: Core,
    phase: Phase,
    plan_messages: Vec<ChatMessage>,
    plan_attempt: u32,
    plan: Vec<PlanStep>,
    /// Output of each executed plan position (`results.len()` = positions done).
    results: Vec<String>,
    /// Retrieval query override for the current step (from a `retrieve` decision).
    query_override: Option<String>,
    /// Template ids already used at the current position.
    tried: Vec<String>,
    card: Option<TemplateCard>,
    redos: u32,
    rounds_used: u32,
    round_budget: u32,
    final_stage: Option<FinalStage>,
}

impl Planner {
    pub fn new(problem: impl Into<String>, config: PlannerConfig) -> Self {
        let problem = problem.into();
        let mut config = config;
        config.max_plan_attempts = config.max_plan_attempts.max(1);
        config.max_plan_steps = config.max_plan_steps.max(1);
        let core = Core::new(crate::StrategyKind::ReasonFlux.as_str(), &problem, config.seed);
        let plan_messages = prompts::plan_messages(&problem, config.max_plan_steps);
        Self {
            config,
            core,
            phase: Phase::Plan,
            plan_messages,
            plan_attempt: 0,
            plan: Vec::new(),
            results: Vec::new(),
            query_override: None,
            tried: Vec::new(),
            card: None,
            redos: 0,
            rounds_used: 0,
            round_budget: 0,
            final_stage: None,
        }
    }

    pub fn config(&self) -> &PlannerConfig {
        &self.config
    }

    /// The current plan.
    pub fn plan(&self) -> &[PlanStep] {
        &self.plan
    }

    /// Interplay rounds used and the current budget.
    pub fn rounds(&self) -> (u32, u32) {
        (self.rounds_used, self.round_budget)
    }

    fn problem(&self) -> &str {
        &self.core.trace.problem
    }

    fn start_step(&mut self, index: usize) {
        self.query_override = None;
        self.tried.clear();
        self.card = None;
        self.redos = 0;
        if let Some(step) = self.plan.get(index) {
            self.core.trace.steps.push(StepTrace { index, step: step.clone(), attempts: Vec::new() });
        }
    }

    fn current_attempt(&mut self) -> Option<&mut StepAttempt> {
        self.core.trace.steps.last_mut().and_then(|s| s.attempts.last_mut())
    }

    fn go_final(&mut self) {
        let done = self.results.len().min(self.plan.len());
        let pairs: Vec<(PlanStep, String)> =
            self.plan[..done].iter().cloned().zip(self.results.iter().cloned()).collect();
        let unfinished = self.plan[done..].to_vec();
        let messages = prompts::final_messages(self.problem(), &self.plan, &pairs, &unfinished);
        self.final_stage = Some(FinalStage::new(messages, ExchangeKind::Final, "inference: final solution"));
        self.phase = Phase::Final;
    }

    fn go_direct(&mut self) {
        self.core.trace.flags.direct_fallback = true;
        let messages = prompts::direct_messages(self.problem());
        self.final_stage =
            Some(FinalStage::new(messages, ExchangeKind::Solve, "inference: direct chain-of-thought (planning failed)"));
        self.phase = Phase::Final;
    }

    fn advance(&mut self) -> Action {
        // Each pass either returns an action or moves to Final; Final always returns.
        loop {
            match self.phase {
                Phase::Plan => {
                    let summary = format!("navigator: plan (attempt {})", self.plan_attempt + 1);
                    return self.core.generate(
                        ExchangeKind::Plan,
                        summary,
                        ModelRole::Navigator,
                        self.plan_messages.clone(),
                        &self.config.navigator,
                        Vec::new(),
                    );
                }
                Phase::Retrieve { step } => {
                    if step >= self.plan.len() {
                        self.go_final();
                        continue;
                    }
                    if self.rounds_used >= self.round_budget {
                        self.core.trace.flags.round_budget_exhausted = true;
                        if self.round_budget >= self.config.max_rounds {
                            self.core.trace.flags.round_cap_reached = true;
                        }
                        self.go_final();
                        continue;
                    }
                    let query = match &self.query_override {
                        Some(q) if !q.trim().is_empty() => q.clone(),
                        _ => self.plan[step].query(),
                    };
                    if let Some(st) = self.core.trace.steps.last_mut() {
                        st.attempts.push(StepAttempt {
                            query: query.clone(),
                            template: None,
                            retrieve_request: None,
                            instantiate_request: None,
                            output: String::new(),
                            evaluation: None,
                        });
                    }
                    return self.core.retrieve(query, QueryForm::PlanStep, self.config.retrieve_k);
                }
                Phase::Instantiate { step } => {
                    let done = step.min(self.results.len()).min(self.plan.len());
                    let previous: Vec<(PlanStep, String)> =
                        self.plan[..done].iter().cloned().zip(self.results.iter().cloned()).collect();
                    let messages =
                        prompts::instantiate_messages(self.problem(), &self.plan, step, self.card.as_ref(), &previous);
                    let summary = format!(
                        "inference: instantiate step {}/{} \"{}\" with {}",
                        step + 1,
                        self.plan.len(),
                        clamp_chars(&self.plan.get(step).map(|s| s.template.clone()).unwrap_or_default(), 80),
                        self.card.as_ref().map(|c| format!("template \"{}\"", clamp_chars(&c.name, 80))).unwrap_or_else(|| "no template".into())
                    );
                    return self.core.generate(
                        ExchangeKind::Instantiate,
                        summary,
                        ModelRole::Inference,
                        messages,
                        &self.config.inference,
                        Vec::new(),
                    );
                }
                Phase::Evaluate { step } => {
                    let output = self.results.get(step).cloned().unwrap_or_default();
                    let messages = prompts::evaluate_messages(
                        self.problem(),
                        &self.plan,
                        step,
                        self.card.as_ref().map(|c| c.name.as_str()),
                        &output,
                        self.config.max_plan_steps,
                    );
                    let summary = format!("navigator: evaluate step {}/{}", step + 1, self.plan.len());
                    return self.core.generate(
                        ExchangeKind::Evaluate,
                        summary,
                        ModelRole::Navigator,
                        messages,
                        &self.config.navigator,
                        Vec::new(),
                    );
                }
                Phase::Final => {
                    if self.final_stage.is_none() {
                        self.go_final();
                    }
                    if let Some(stage) = &self.final_stage {
                        return stage.action(&mut self.core, &self.config.inference);
                    }
                    // Unreachable in practice; finish rather than loop.
                    return self.core.finish(String::new(), None);
                }
            }
        }
    }

    fn on_reply(&mut self, reply: Reply) {
        let request_id = reply.request_id();
        match (self.phase, reply) {
            (Phase::Plan, reply) => {
                let text = reply.into_text();
                match parse_plan(&text, self.config.max_plan_steps) {
                    Some((steps, source)) => {
                        let flags = &mut self.core.trace.flags;
                        match source {
                            PlanSource::Json => {}
                            PlanSource::RepairedJson => flags.plan_repaired = true,
                            PlanSource::NumberedList => flags.plan_numbered_list = true,
                        }
                        self.core.trace.plans.push(PlanRecord { from_step: 0, request_id, source, steps: steps.clone() });
                        let base = self.config.rounds_per_step.saturating_mul(steps.len() as u32).max(1);
                        self.round_budget = base.min(self.config.max_rounds);
                        self.plan = steps;
                        self.start_step(0);
                        self.phase = Phase::Retrieve { step: 0 };
                    }
                    None => {
                        self.plan_attempt += 1;
                        if self.plan_attempt >= self.config.max_plan_attempts {
                            self.go_direct();
                        } else {
                            self.core.trace.flags.plan_retries += 1;
                            self.plan_messages.push(ChatMessage::assistant(clamp_middle(&text, 2000)));
                            self.plan_messages.push(ChatMessage::user(prompts::plan_correction(self.config.max_plan_steps)));
                        }
                    }
                }
            }
            (Phase::Retrieve { step }, reply) => {
                let cards = match reply {
                    Reply::Cards { cards, .. } => cards,
                    Reply::Text { .. } => Vec::new(),
                };
                let pick = cards
                    .iter()
                    .find(|c| !self.tried.contains(&c.id))
                    .or_else(|| cards.first())
                    .cloned();
                if let Some(c) = &pick {
                    self.tried.push(c.id.clone());
                }
                if let Some(a) = self.current_attempt() {
                    a.retrieve_request = Some(request_id);
                    a.template = pick.as_ref().map(TemplateRef::from);
                }
                self.card = pick;
                self.phase = Phase::Instantiate { step };
            }
            (Phase::Instantiate { step }, reply) => {
                let text = reply.into_text();
                self.rounds_used += 1;
                self.core.trace.totals.interplay_rounds = self.rounds_used;
                self.results.truncate(step);
                self.results.push(text.clone());
                if let Some(a) = self.current_attempt() {
                    a.instantiate_request = Some(request_id);
                    a.output = text;
                }
                if self.config.evaluate_steps {
                    self.phase = Phase::Evaluate { step };
                } else {
                    self.next_step(step);
                }
            }
            (Phase::Evaluate { step }, reply) => {
                let text = reply.into_text();
                self.on_evaluation(step, request_id, &text);
            }
            (Phase::Final, reply) => {
                let (text, truncated) = reply.into_generated();
                let max = self.config.max_boxed_retries;
                let Some(stage) = self.final_stage.as_mut() else {
                    self.core.finish(text, None);
                    return;
                };
                match stage.on_text(text, truncated, max, &mut self.core) {
                    FinalStep::Again => {}
                    FinalStep::Finished { final_text, answer } => {
                        if self.core.trace.flags.direct_fallback {
                            self.core.trace.totals.trajectories = 1;
                        }
                        self.core.finish(final_text, answer);
                    }
                }
            }
        }
    }

    fn next_step(&mut self, step: usize) {
        if step + 1 < self.plan.len() {
            self.start_step(step + 1);
            self.phase = Phase::Retrieve { step: step + 1 };
        } else {
            self.go_final();
        }
    }

    fn on_evaluation(&mut self, step: usize, request_id: u64, text: &str) {
        let (requested, source, reason) = parse_decision(text, self.config.max_plan_steps);
        if source == DecisionSource::Default {
            self.core.trace.flags.unreadable_evaluations += 1;
        }
        // A `revise` without usable steps becomes "redo this step with another template".
        let mut applied = match &requested {
            Decision::Revise { steps } if steps.is_empty() => Decision::Retrieve { query: String::new() },
            other => other.clone(),
        };
        if applied != Decision::Continue && self.redos >= self.config.max_redos_per_step {
            self.core.trace.flags.forced_continues += 1;
            applied = Decision::Continue;
        }
        let cap = self.config.max_rounds;
        match &applied {
            Decision::Continue => {}
            Decision::Retrieve { query } => {
                self.round_budget = self.round_budget.saturating_add(self.config.round_growth).min(cap);
                self.redos += 1;
                self.query_override = if query.trim().is_empty() { None } else { Some(one_line(query)) };
            }
            Decision::Revise { steps } => {
                let need = self.rounds_used.saturating_add(steps.len() as u32);
                self.round_budget = self.round_budget.saturating_add(self.config.round_growth).max(need).min(cap);
            }
        }
        let record = EvaluationRecord {
            request_id,
            requested,
            source,
            applied: applied.clone(),
            reason,
            round_budget: self.round_budget,
        };
        if let Some(a) = self.current_attempt() {
            a.evaluation = Some(record);
        }
        match applied {
            Decision::Continue => self.next_step(step),
            Decision::Retrieve { .. } => {
                self.phase = Phase::Retrieve { step };
            }
            Decision::Revise { steps } => {
                let redos = self.redos + 1;
                self.plan.truncate(step);
                self.plan.extend(steps.iter().cloned());
                self.plan.truncate(step + self.config.max_plan_steps);
                self.results.truncate(step);
                self.core.trace.plans.push(PlanRecord {
                    from_step: step,
                    request_id,
                    source: if source == DecisionSource::Json { PlanSource::Json } else { PlanSource::NumberedList },
                    steps,
                });
                self.start_step(step);
                self.redos = redos;
                self.phase = Phase::Retrieve { step };
            }
        }
    }
}

impl Strategy for Planner {
    fn next_action(&mut self) -> Action {
        if let Some(a) = self.core.current() {
            return a;
        }
        self.advance()
    }

    fn feed(&mut self, obs: Observation) -> Result<(), PlannerError> {
        let reply = self.core.accept(obs)?;
        self.on_reply(reply);
        Ok(())
    }

    fn trace(&self) -> &Trace {
        &self.core.trace
    }

    fn is_done(&self) -> bool {
        self.core.outcome.is_some()
    }

    fn max_actions(&self) -> usize {
        self.config.max_actions()
    }
}
