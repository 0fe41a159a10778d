//! The common strategy interface, a serialisable wrapper over all strategies, and a small
//! synchronous driver for native callers.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::baselines::{BestOfN, BestOfNConfig, Direct, DirectConfig};
use crate::guided::{Guided, GuidedConfig};
use crate::kind::StrategyKind;
use crate::mcts::{Mcts, MctsConfig};
use crate::reasonflux::{Planner, PlannerConfig};
use crate::trace::Trace;
use crate::types::{Action, GenerateRequest, Observation, PlannerError, RetrieveRequest, SamplingConfig, TemplateCard};

/// A solving strategy driven by actions and observations.
///
/// Protocol: call [`next_action`](Strategy::next_action); for `Generate`/`Retrieve` perform the
/// request and [`feed`](Strategy::feed) exactly one observation quoting its `request_id`;
/// repeat until `Done`. `next_action` is idempotent while a request is outstanding (it returns
/// the same action again), so a resumed machine re-issues what it was waiting for.
pub trait Strategy {
    fn next_action(&mut self) -> Action;
    /// Feed the answer to the pending request. On error nothing changes.
    fn feed(&mut self, obs: Observation) -> Result<(), PlannerError>;
    /// The run so far (complete once done).
    fn trace(&self) -> &Trace;
    fn is_done(&self) -> bool;
    /// Upper bound on distinct actions of a run (Done included), from the configuration.
    fn max_actions(&self) -> usize;
}

/// Which strategy to run, with its settings.
/// Serialised as `{"strategy": <name>, "config": {...}}` with the names of [`StrategyKind`];
/// a config field that does not exist is an error, not silently ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", content = "config", deny_unknown_fields)]
pub enum StrategySpec {
    #[serde(rename = "reasonflux")]
    ReasonFlux(PlannerConfig),
    #[serde(rename = "direct")]
    Direct(DirectConfig),
    #[serde(rename = "guided")]
    Guided(GuidedConfig),
    #[serde(rename = "best-of-n")]
    BestOfN(BestOfNConfig),
    #[serde(rename = "mcts")]
    Mcts(MctsConfig),
}

impl StrategySpec {
    /// The strategy with its default settings.
    pub fn default_for(kind: StrategyKind) -> Self {
        match kind {
            StrategyKind::ReasonFlux => StrategySpec::ReasonFlux(PlannerConfig::default()),
            StrategyKind::Direct => StrategySpec::Direct(DirectConfig::default()),
            StrategyKind::Guided => StrategySpec::Guided(GuidedConfig::default()),
            StrategyKind::BestOfN => StrategySpec::BestOfN(BestOfNConfig::default()),
            StrategyKind::Mcts => StrategySpec::Mcts(MctsConfig::default()),
        }
    }

    /// Which strategy this is.
    pub fn kind(&self) -> StrategyKind {
        match self {
            StrategySpec::ReasonFlux(_) => StrategyKind::ReasonFlux,
            StrategySpec::Direct(_) => StrategyKind::Direct,
            StrategySpec::Guided(_) => StrategyKind::Guided,
            StrategySpec::BestOfN(_) => StrategyKind::BestOfN,
            StrategySpec::Mcts(_) => StrategyKind::Mcts,
        }
    }

    /// Bounds every generation of the strategy to at most `max_new_tokens` new tokens (the
    /// one "budget per generation" setting the CLI, the page and the widget expose). Budgets
    /// already below it, such as MCTS's short self-evaluation, stay as they are.
    pub fn cap_max_new_tokens(&mut self, max_new_tokens: u32) {
        let samplings: Vec<&mut SamplingConfig> = match self {
            StrategySpec::ReasonFlux(c) => vec![&mut c.navigator, &mut c.inference],
            StrategySpec::Direct(c) => vec![&mut c.sampling],
            StrategySpec::Guided(c) => vec![&mut c.sampling],
            StrategySpec::BestOfN(c) => vec![&mut c.sampling],
            StrategySpec::Mcts(c) => vec![&mut c.step_sampling, &mut c.rollout_sampling, &mut c.eval_sampling],
        };
        for s in samplings {
            s.max_new_tokens = s.max_new_tokens.min(max_new_tokens);
        }
    }

    /// Sets the base seed every request's sampling seed is derived from.
    pub fn set_seed(&mut self, seed: u64) {
        match self {
            StrategySpec::ReasonFlux(c) => c.seed = seed,
            StrategySpec::Direct(c) => c.seed = seed,
            StrategySpec::Guided(c) => c.seed = seed,
            StrategySpec::BestOfN(c) => c.seed = seed,
            StrategySpec::Mcts(c) => c.seed = seed,
        }
    }

    /// Start a run of this strategy on `problem`.
    pub fn start(&self, problem: impl Into<String>) -> AnyStrategy {
        match self {
            StrategySpec::ReasonFlux(c) => AnyStrategy::ReasonFlux(Planner::new(problem, c.clone())),
            StrategySpec::Direct(c) => AnyStrategy::Direct(Direct::new(problem, c.clone())),
            StrategySpec::Guided(c) => AnyStrategy::Guided(Guided::new(problem, c.clone())),
            StrategySpec::BestOfN(c) => AnyStrategy::BestOfN(BestOfN::new(problem, c.clone())),
            StrategySpec::Mcts(c) => AnyStrategy::Mcts(Mcts::new(problem, c.clone())),
        }
    }
}

/// Any strategy, as one serialisable value (what the browser keeps and saves).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", content = "state")]
pub enum AnyStrategy {
    #[serde(rename = "reasonflux")]
    ReasonFlux(Planner),
    #[serde(rename = "direct")]
    Direct(Direct),
    #[serde(rename = "guided")]
    Guided(Guided),
    #[serde(rename = "best-of-n")]
    BestOfN(BestOfN),
    #[serde(rename = "mcts")]
    Mcts(Mcts),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AnyStrategy::ReasonFlux($s) => $e,
            AnyStrategy::Direct($s) => $e,
            AnyStrategy::Guided($s) => $e,
            AnyStrategy::BestOfN($s) => $e,
            AnyStrategy::Mcts($s) => $e,
        }
    };
}

impl Strategy for AnyStrategy {
    fn next_action(&mut self) -> Action {
        each!(self, s => s.next_action())
    }
    fn feed(&mut self, obs: Observation) -> Result<(), PlannerError> {
        each!(self, s => s.feed(obs))
    }
    fn trace(&self) -> &Trace {
        each!(self, s => s.trace())
    }
    fn is_done(&self) -> bool {
        each!(self, s => s.is_done())
    }
    fn max_actions(&self) -> usize {
        each!(self, s => s.max_actions())
    }
}

/// A generation result from a backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    pub text: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Stopped by the token budget or the context's end, not by the model.
    #[serde(default)]
    pub truncated: bool,
}

/// Why a backend could not serve a request. A failed request is fed to the machine as
/// [`Observation::Failed`] (the strategy degrades gracefully); a fatal one stops the run,
/// because the backend cannot serve the next request either.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct BackendError {
    pub message: String,
    /// The backend cannot serve any further request (device lost, engine crashed, no model).
    pub fatal: bool,
}

impl BackendError {
    /// This request failed; later ones may succeed.
    pub fn failed(message: impl Into<String>) -> Self {
        Self { message: message.into(), fatal: false }
    }

    /// Nothing more can be served: the driver stops the run with this error.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self { message: message.into(), fatal: true }
    }
}

/// What the native CLI and the eval harness implement over the real engine.
pub trait Backend {
    fn generate(&mut self, request: &GenerateRequest) -> Result<Generation, BackendError>;
    fn retrieve(&mut self, request: &RetrieveRequest) -> Result<Vec<TemplateCard>, BackendError>;
}

/// Driver failures. A correct machine never produces these; they guard against bugs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DriveError {
    #[error("protocol error: {0}")]
    Protocol(#[from] PlannerError),
    #[error("the strategy did not finish within {limit} actions")]
    ActionLimit { limit: usize },
    #[error("the backend cannot go on: {0}")]
    Backend(BackendError),
}

/// Drive `strategy` to the end with `backend`, returning the trace. A failed request is fed to
/// the machine (which degrades gracefully); a fatal backend error ends the run with
/// [`DriveError::Backend`].
pub fn run_to_completion<S, B>(strategy: &mut S, backend: &mut B) -> Result<Trace, DriveError>
where
    S: Strategy + ?Sized,
    B: Backend + ?Sized,
{
    let limit = strategy.max_actions();
    for _ in 0..limit {
        match perform(&strategy.next_action(), backend).map_err(DriveError::Backend)? {
            None => return Ok(strategy.trace().clone()),
            Some(obs) => strategy.feed(obs)?,
        }
    }
    Err(DriveError::ActionLimit { limit })
}

/// Carries out one action with `backend` and returns the observation to feed back (`None` for
/// `Done`). A failed request becomes [`Observation::Failed`]; a fatal error is returned.
pub fn perform<B: Backend + ?Sized>(action: &Action, backend: &mut B) -> Result<Option<Observation>, BackendError> {
    let fed_back = |request_id, e: BackendError| if e.fatal { Err(e) } else { Ok(Observation::Failed { request_id, error: e.message }) };
    Ok(Some(match action {
        Action::Done(_) => return Ok(None),
        Action::Generate(req) => match backend.generate(req) {
            Ok(g) => Observation::Generated {
                request_id: req.request_id,
                text: g.text,
                tokens_in: g.tokens_in,
                tokens_out: g.tokens_out,
                truncated: g.truncated,
            },
            Err(e) => fed_back(req.request_id, e)?,
        },
        Action::Retrieve(req) => match backend.retrieve(req) {
            Ok(templates) => Observation::Retrieved { request_id: req.request_id, templates },
            Err(e) => fed_back(req.request_id, e)?,
        },
    }))
}
