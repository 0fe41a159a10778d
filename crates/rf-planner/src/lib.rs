//! # rf-planner
//!
//! The ReasonFlux inference loop and its baselines as **pure, serialisable state machines**.
//! No model code lives here: a machine says what it needs next as an [`Action`]
//! (`Generate` a completion, `Retrieve` templates, or `Done`), the caller performs it and feeds
//! back an [`Observation`] (`Generated`, `Retrieved` or `Failed`). JavaScript (through
//! wasm-bindgen) and native Rust drive the same machines.
//!
//! ## Main types
//!
//! - [`Strategy`]: the common interface: [`Strategy::next_action`], [`Strategy::feed`],
//!   [`Strategy::trace`]. Implemented by:
//!   - [`Planner`] (configured by [`PlannerConfig`]): ReasonFlux. The navigator writes a JSON
//!     trajectory of template steps; each step is retrieved ([`TemplateCard`]), instantiated by
//!     the inference model and evaluated by the navigator (`continue` / `revise` the rest /
//!     `retrieve` another template and redo); the inference model then writes the final
//!     solution with a `\boxed{}` answer. Interplay rounds have an adaptive budget under a hard
//!     cap; unreadable plans are repaired, retried, and finally replaced by direct
//!     chain-of-thought.
//!   - [`Guided`] (template-guided direct): the cards retrieved for the problem itself go into
//!     one chain-of-thought prompt.
//!   - [`Direct`], [`BestOfN`] (majority vote over `rf_grade`-equivalent answers) and [`Mcts`]
//!     (step-level UCT search): the baselines.
//!   - [`AnyStrategy`]: all of the above as one serde value; build one from a
//!     [`StrategySpec`]. [`StrategyKind`] names them (`reasonflux`, `direct`, `guided`,
//!     `best-of-n`, `mcts`), one spelling everywhere.
//! - [`Trace`]: the whole run (plans, steps with their templates and evaluations, every
//!   [`Exchange`], final text and answer, [`Totals`] of exploration cost and tokens, [`Flags`]);
//!   it records [`prompts::PROMPT_VERSION`].
//! - [`Backend`] + [`run_to_completion`]: a synchronous driver for native callers.
//!
//! ## Composition
//!
//! ```text
//! StrategySpec ──start(problem)──▶ AnyStrategy ──next_action()──▶ Action ──▶ caller / Backend
//!                                      ▲                                        │
//!                                      └────────────feed(Observation)◀──────────┘
//! ```
//!
//! Every machine, action and observation is `Serialize + Deserialize`: save a run at any point,
//! restore it, and it continues exactly as the original would (request ids and seeds are part
//! of the state). `next_action` repeats the outstanding request until it is answered; an
//! observation with the wrong request id or kind returns a [`PlannerError`] and changes nothing.
//! Every run ends in `Done` within [`Strategy::max_actions`] actions whatever the model says.
//!
//! ## Example
//!
//! ```
//! use rf_planner::{Action, Observation, Planner, PlannerConfig, Strategy};
//!
//! let mut planner = Planner::new("What is 1 + 1?", PlannerConfig::default());
//! let Action::Generate(req) = planner.next_action() else { unreachable!() };
//! planner
//!     .feed(Observation::Generated {
//!         request_id: req.request_id,
//!         text: r#"{"steps": [{"template": "Addition", "tags": ["arithmetic"], "sub_goal": "add"}]}"#.into(),
//!         tokens_in: 10,
//!         tokens_out: 20,
//!         truncated: false,
//!     })
//!     .unwrap();
//! assert!(matches!(planner.next_action(), Action::Retrieve(_)));
//! ```

#![forbid(unsafe_code)]

mod baselines;
mod core;
mod driver;
mod finish;
mod guided;
mod kind;
pub mod lenient;
mod mcts;
pub mod parse;
pub mod prompts;
mod reasonflux;
pub mod text;
mod trace;
mod types;

pub use baselines::{BestOfN, BestOfNConfig, Direct, DirectConfig};
pub use guided::{Guided, GuidedConfig};
pub use kind::{StrategyKind, UnknownStrategy};
pub use driver::{AnyStrategy, Backend, BackendError, DriveError, Generation, Strategy, StrategySpec, perform, run_to_completion};
pub use mcts::{Mcts, MctsConfig, MctsValue};
pub use reasonflux::{Planner, PlannerConfig};
pub use trace::{
    Decision, DecisionSource, EvaluationRecord, Exchange, ExchangeKind, Flags, MctsStats, PlanRecord, PlanSource,
    PlanStep, StepAttempt, StepTrace, TemplateRef, Totals, Trace, VoteCluster,
};
pub use types::{
    Action, ChatMessage, ChatRole, GenerateRequest, ModelRole, Observation, Outcome, PlannerError, QueryForm,
    RequestId, RetrieveRequest, Sampling, SamplingConfig, TemplateCard,
};
