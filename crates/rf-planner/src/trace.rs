//! The run record: everything a UI or an evaluation needs, as serde JSON.

use serde::{Deserialize, Serialize};

use crate::types::{ModelRole, RequestId, TemplateCard};

/// What an exchange with the driver was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeKind {
    /// Navigator writes the template trajectory.
    Plan,
    /// Template retrieval for one step.
    Retrieve,
    /// Inference model carries out one step under its template.
    Instantiate,
    /// Navigator judges an instantiated step.
    Evaluate,
    /// Inference model writes the final solution.
    Final,
    /// Bounded retry asking only for the `\boxed{}` answer.
    BoxedRetry,
    /// One direct chain-of-thought solution (Direct, fallback, Best-of-N sample).
    Solve,
    /// MCTS: one new reasoning step.
    MctsStep,
    /// MCTS: a rollout to a final answer.
    MctsRollout,
    /// MCTS: self-evaluation of a finished solution.
    MctsSelfEval,
}

/// One request/answer pair between the machine and its driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub request_id: RequestId,
    pub kind: ExchangeKind,
    /// `None` for retrievals.
    pub role: Option<ModelRole>,
    /// A short human-readable summary of the request.
    pub prompt_summary: String,
    /// Characters of prompt text sent (all messages).
    pub prompt_chars: u64,
    /// Generated text, or a one-line summary of the retrieved cards.
    pub output: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Backend error, if the request failed.
    pub error: Option<String>,
    /// The generation was cut off by its token budget or the context's end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One step of a navigator plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    /// Template name as the navigator wrote it.
    pub template: String,
    pub tags: Vec<String>,
    pub sub_goal: String,
}

impl PlanStep {
    /// The retrieval query for this step: name, tags and sub-goal.
    pub fn query(&self) -> String {
        let mut q = self.template.clone();
        if !self.tags.is_empty() {
            q.push_str(" | ");
            q.push_str(&self.tags.join(", "));
        }
        if !self.sub_goal.is_empty() && self.sub_goal != self.template {
            q.push_str(" | ");
            q.push_str(&self.sub_goal);
        }
        q
    }
}

/// How a plan was read from navigator text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// Valid JSON.
    Json,
    /// JSON that needed repair (or was cut short, wrapped, …).
    RepairedJson,
    /// A numbered list.
    NumberedList,
}

/// A plan (the initial one or a revision of the remaining steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// Index of the first step this plan covers (0 for the initial plan).
    pub from_step: usize,
    /// Request id of the generation the plan came from.
    pub request_id: RequestId,
    pub source: PlanSource,
    pub steps: Vec<PlanStep>,
}

/// Identity of a template card as used by a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub id: String,
    pub name: String,
    pub tags: Vec<String>,
}

impl From<&TemplateCard> for TemplateRef {
    fn from(c: &TemplateCard) -> Self {
        Self { id: c.id.clone(), name: c.name.clone(), tags: c.tags.clone() }
    }
}

/// The navigator's decision on an instantiated step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Continue,
    /// Replace the plan from the current step on.
    Revise { steps: Vec<PlanStep> },
    /// Retrieve a different template with this query and redo the step.
    Retrieve { query: String },
}

/// How a decision was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionSource {
    Json,
    Keyword,
    /// Nothing readable: continue.
    Default,
}

/// One evaluation of an instantiated step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationRecord {
    pub request_id: RequestId,
    /// What the navigator asked for.
    pub requested: Decision,
    pub source: DecisionSource,
    /// What the machine did (differs from `requested` when a limit forced `continue`).
    pub applied: Decision,
    pub reason: Option<String>,
    /// The round budget after this evaluation.
    pub round_budget: u32,
}

/// One try at a step (a step is retried after a `retrieve` decision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepAttempt {
    pub query: String,
    pub template: Option<TemplateRef>,
    pub retrieve_request: Option<RequestId>,
    pub instantiate_request: Option<RequestId>,
    pub output: String,
    pub evaluation: Option<EvaluationRecord>,
}

/// One plan step as executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTrace {
    /// Position in the plan.
    pub index: usize,
    pub step: PlanStep,
    pub attempts: Vec<StepAttempt>,
}

/// Fallbacks and limits hit during the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    /// Plan JSON needed repair.
    pub plan_repaired: bool,
    /// Plan was read from a numbered list.
    pub plan_numbered_list: bool,
    /// Corrective plan retries used.
    pub plan_retries: u32,
    /// Planning failed: the run fell back to direct chain-of-thought.
    pub direct_fallback: bool,
    /// The adaptive round budget ran out before the plan was finished.
    pub round_budget_exhausted: bool,
    /// The hard round cap was what stopped the run.
    pub round_cap_reached: bool,
    /// Evaluations overridden to `continue` because a step hit its redo limit.
    pub forced_continues: u32,
    /// Evaluations that could not be read (treated as `continue`).
    pub unreadable_evaluations: u32,
    /// The boxed-answer retry was used.
    pub boxed_retry: bool,
    /// No `\boxed{}` answer: the answer was read leniently (last number, "the answer is …").
    pub answer_unboxed: bool,
    /// No answer at all in the end.
    pub answer_missing: bool,
    /// No answer because the last generation was cut off by its token budget (or the context's
    /// end) before it got there: a bigger budget may help.
    #[serde(default)]
    pub budget_ran_out: bool,
    /// Backend failures observed.
    pub backend_errors: u32,
}

/// Exploration cost and token totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// ReasonFlux: navigator↔inference exchanges (instantiation + its evaluation).
    pub interplay_rounds: u32,
    /// MCTS: reasoning steps generated (expansions + steps inside rollouts).
    pub reasoning_steps: u32,
    /// Best-of-N / Direct: complete solution trajectories sampled.
    pub trajectories: u32,
    /// Generation requests.
    pub generations: u32,
    /// Retrieval requests.
    pub retrievals: u32,
    pub prompt_tokens: u64,
    pub generated_tokens: u64,
}

/// One cluster of equivalent answers (Best-of-N, MCTS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteCluster {
    pub answer: String,
    pub votes: u32,
    /// MCTS: summed reward (milli-units); Best-of-N: equal to `votes * 1000`.
    pub score_milli: u64,
    /// Request ids of the members.
    pub members: Vec<RequestId>,
}

/// MCTS summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MctsStats {
    pub iterations: u32,
    pub nodes: u32,
    pub max_depth_reached: u32,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The strategy's name ([`crate::StrategyKind::as_str`]).
    pub strategy: String,
    pub prompt_version: String,
    pub problem: String,
    /// ReasonFlux: the initial plan and every revision.
    pub plans: Vec<PlanRecord>,
    /// ReasonFlux: steps in execution order.
    pub steps: Vec<StepTrace>,
    /// Template-guided direct: the templates put into the solution prompt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guides: Vec<TemplateRef>,
    /// Every exchange with the driver, in order.
    pub exchanges: Vec<Exchange>,
    /// Best-of-N / MCTS answer clusters.
    pub votes: Vec<VoteCluster>,
    pub mcts: Option<MctsStats>,
    pub final_text: Option<String>,
    pub answer: Option<String>,
    pub totals: Totals,
    pub flags: Flags,
    pub finished: bool,
}

impl Trace {
    pub(crate) fn new(strategy: &str, problem: &str) -> Self {
        Self {
            strategy: strategy.to_string(),
            prompt_version: crate::prompts::PROMPT_VERSION.to_string(),
            problem: problem.to_string(),
            plans: Vec::new(),
            steps: Vec::new(),
            guides: Vec::new(),
            exchanges: Vec::new(),
            votes: Vec::new(),
            mcts: None,
            final_text: None,
            answer: None,
            totals: Totals::default(),
            flags: Flags::default(),
            finished: false,
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}
