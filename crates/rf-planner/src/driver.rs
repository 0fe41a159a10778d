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
use crate::types::{Action, GenerateRequest, Observation, PlannerError, TemplateCard};

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
}

/// A backend failure; the driver reports it to the machine as [`Observation::Failed`].
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("{0}")]
pub struct BackendError(pub String);

/// What the native CLI and the eval harness implement over the real engine.
pub trait Backend {
    fn generate(&mut self, request: &GenerateRequest) -> Result<Generation, BackendError>;
    fn retrieve(&mut self, query: &str, k: u32) -> Result<Vec<TemplateCard>, BackendError>;
}

/// Driver failures. A correct machine never produces these; they guard against bugs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DriveError {
    #[error("protocol error: {0}")]
    Protocol(#[from] PlannerError),
    #[error("the strategy did not finish within {limit} actions")]
    ActionLimit { limit: usize },
}

/// Drive `strategy` to the end with `backend`, returning the trace. Backend errors are fed to
/// the machine (which degrades gracefully), never returned.
pub fn run_to_completion<S, B>(strategy: &mut S, backend: &mut B) -> Result<Trace, DriveError>
where
    S: Strategy + ?Sized,
    B: Backend + ?Sized,
{
    let limit = strategy.max_actions();
    for _ in 0..limit {
        match perform(&strategy.next_action(), backend) {
            None => return Ok(strategy.trace().clone()),
            Some(obs) => strategy.feed(obs)?,
        }
    }
    Err(DriveError::ActionLimit { limit })
}

/// Carries out one action with `backend` and returns the observation to feed back (`None` for
/// `Done`). Backend errors become [`Observation::Failed`].
pub fn perform<B: Backend + ?Sized>(action: &Action, backend: &mut B) -> Option<Observation> {
    Some(match action {
        Action::Done(_) => return None,
        Action::Generate(req) => match backend.generate(req) {
            Ok(g) => Observation::Generated {
                request_id: req.request_id,
                text: g.text,
                tokens_in: g.tokens_in,
                tokens_out: g.tokens_out,
            },
            Err(e) => Observation::Failed { request_id: req.request_id, error: e.0 },
        },
        Action::Retrieve(req) => match backend.retrieve(&req.query, req.k) {
            Ok(templates) => Observation::Retrieved { request_id: req.request_id, templates },
            Err(e) => Observation::Failed { request_id: req.request_id, error: e.0 },
        },
    })
}
