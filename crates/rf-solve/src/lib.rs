//! What every driver of the planner shares, so the CLI, the evaluation harness, training and
//! the browser engine answer the planner's requests by the same rules.
//!
//! - [`TemplateIndex`]: a template library with its retriever; [`TemplateIndex::cards`] turns a
//!   query into the [`rf_planner::TemplateCard`]s a `retrieve` action is answered with, each
//!   built by [`card`]; lexical by default, dense or hybrid after [`TemplateIndex::use_encoder`]
//!   (template vectors from the bundle, or [`embed_templates`] for a library read from sources).
//! - [`engine_messages`] and [`generation_config`]: a planner `generate` request as the
//!   engine's chat messages and generation settings, with the one rule for how many new tokens
//!   fit ([`rf_engine::fit_new_tokens`]).
//! - [`backend_error`]: an engine failure as a planner [`rf_planner::BackendError`], fatal when
//!   the engine cannot serve another request.
//! - [`EngineBackend`]: the native synchronous [`rf_planner::Backend`] over one or two
//!   [`rf_engine::LocalModel`]s (the browser drives the same planner from its worker).
mod backend;
mod request;
mod templates;

pub use backend::{EngineBackend, TextSink};
pub use request::{backend_error, engine_messages, generation_config, sampling_config};
pub use templates::{RetrievalError, RetrieverChoice, TemplateIndex, TemplateLoadError, card, embed_templates};
