//! The wire types shared by every strategy: what a machine asks for ([`Action`]), what the
//! driver answers ([`Observation`]) and the errors a misplaced answer produces.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::trace::Totals;

/// Identifies one request a machine issued; answers must quote it back.
pub type RequestId = u64;

/// Which model a generation is addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelRole {
    /// The high-level planner that writes and adjusts template trajectories.
    Navigator,
    /// The model that carries out steps and writes solutions.
    Inference,
}

/// Chat roles, as in every chat template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: ChatRole::System, content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: ChatRole::User, content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: ChatRole::Assistant, content: content.into() }
    }
}

/// Sampling parameters of one generation. `top_k == 0` means "no top-k cut".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: u32,
    pub max_new_tokens: u32,
    pub seed: u64,
}

/// Per-role sampling defaults (the seed is derived per request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingConfig {
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: u32,
    pub max_new_tokens: u32,
}

impl SamplingConfig {
    /// The paper's sampling (temperature 0.6, top-p 0.95) with the given token budget.
    pub fn paper(max_new_tokens: u32) -> Self {
        Self { temperature: 0.6, top_p: 0.95, top_k: 0, max_new_tokens }
    }

    /// Concrete sampling for one request. The seed is `base_seed + request_id` so a resumed run
    /// asks for exactly the same samples.
    pub fn with_seed(&self, base_seed: u64, request_id: RequestId) -> Sampling {
        Sampling {
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            max_new_tokens: self.max_new_tokens,
            seed: base_seed.wrapping_add(request_id),
        }
    }

    /// The same sampling with another token budget.
    pub fn with_max_tokens(&self, max_new_tokens: u32) -> Self {
        Self { max_new_tokens, ..self.clone() }
    }
}

/// A generation request (the payload of [`Action::Generate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    pub request_id: RequestId,
    pub role: ModelRole,
    pub messages: Vec<ChatMessage>,
    pub sampling: Sampling,
    /// Stop strings; generation ends before (or at) the first one. Empty: run to EOS / budget.
    pub stop: Vec<String>,
}

/// What a retrieval query is: the retrievers rank the two forms differently well (a problem as
/// stated rarely shares words with its method's template; a plan step names the method), so a
/// backend may pick its ranking by form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueryForm {
    /// The problem text itself (template-guided direct).
    Problem,
    /// A navigator plan step: template name, tags and sub-goal (ReasonFlux).
    #[default]
    PlanStep,
}

/// A retrieval request (the payload of [`Action::Retrieve`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrieveRequest {
    pub request_id: RequestId,
    pub query: String,
    pub k: u32,
    /// Absent in runs saved before the field existed; those were ReasonFlux plan-step queries
    /// or guided problem queries, and are read as plan steps (ranked lexically under `auto`).
    #[serde(default)]
    pub form: QueryForm,
}

/// One thought template as the retriever returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TemplateCard {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub steps: Vec<String>,
    #[serde(default)]
    pub example: Option<String>,
}

/// What the machine reports when it finishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The extracted final answer (content of the last `\boxed{}`), if any.
    pub answer: Option<String>,
    /// The final solution text.
    pub final_text: String,
    /// Exploration cost and token totals.
    pub totals: Totals,
}

/// What a machine asks its driver to do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Generate(GenerateRequest),
    Retrieve(RetrieveRequest),
    Done(Outcome),
}

impl Action {
    /// The request id of a Generate/Retrieve action.
    pub fn request_id(&self) -> Option<RequestId> {
        match self {
            Action::Generate(g) => Some(g.request_id),
            Action::Retrieve(r) => Some(r.request_id),
            Action::Done(_) => None,
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self, Action::Done(_))
    }
}

/// What the driver feeds back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Observation {
    /// `truncated`: the generation was stopped by its token budget or the end of the context
    /// rather than ending by itself (a cut-off text is never read leniently for an answer).
    Generated {
        request_id: RequestId,
        text: String,
        tokens_in: u64,
        tokens_out: u64,
        #[serde(default)]
        truncated: bool,
    },
    Retrieved { request_id: RequestId, templates: Vec<TemplateCard> },
    /// The backend could not serve the request. The machine treats this like an empty answer.
    Failed { request_id: RequestId, error: String },
}

impl Observation {
    pub fn request_id(&self) -> RequestId {
        match self {
            Observation::Generated { request_id, .. }
            | Observation::Retrieved { request_id, .. }
            | Observation::Failed { request_id, .. } => *request_id,
        }
    }

    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Observation::Generated { .. } => "generated",
            Observation::Retrieved { .. } => "retrieved",
            Observation::Failed { .. } => "failed",
        }
    }
}

/// Misuse of the feed protocol. A machine that returns one of these is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlannerError {
    #[error("observation for request {got} but no request is pending (call next_action first)")]
    NoPendingRequest { got: RequestId },
    #[error("observation for request {got} but the pending request is {expected}")]
    UnknownRequest { expected: RequestId, got: RequestId },
    #[error("a `{got}` observation cannot answer a pending `{expected}` action")]
    WrongObservationKind { expected: String, got: String },
    #[error("the run has already finished")]
    AlreadyDone,
}
