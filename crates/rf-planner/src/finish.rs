//! The last stage every solving strategy shares: one solution generation, then at most
//! `max_retries` short follow-ups asking only for the `\boxed{}` answer.

use serde::{Deserialize, Serialize};

use crate::core::Core;
use crate::prompts;
use crate::text::{boxed_answer, clamp_middle, extract_answer};
use crate::trace::ExchangeKind;
use crate::types::{Action, ChatMessage, ModelRole, SamplingConfig};

/// Tokens allowed for the boxed-answer follow-up.
const BOXED_RETRY_TOKENS: u32 = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FinalStage {
    pub messages: Vec<ChatMessage>,
    pub kind: ExchangeKind,
    pub summary: String,
    /// 0 = the solution itself; n = the n-th boxed-answer retry.
    pub attempt: u32,
    pub text: String,
}

/// What the stage concluded after a reply.
pub(crate) enum FinalStep {
    Again,
    Finished { final_text: String, answer: Option<String> },
}

impl FinalStage {
    pub fn new(messages: Vec<ChatMessage>, kind: ExchangeKind, summary: impl Into<String>) -> Self {
        Self { messages, kind, summary: summary.into(), attempt: 0, text: String::new() }
    }

    pub fn action(&self, core: &mut Core, sampling: &SamplingConfig) -> Action {
        if self.attempt == 0 {
            core.generate(self.kind, self.summary.clone(), ModelRole::Inference, self.messages.clone(), sampling, Vec::new())
        } else {
            let s = sampling.with_max_tokens(sampling.max_new_tokens.min(BOXED_RETRY_TOKENS));
            core.generate(
                ExchangeKind::BoxedRetry,
                format!("inference: boxed-answer retry {}", self.attempt),
                ModelRole::Inference,
                self.messages.clone(),
                &s,
                Vec::new(),
            )
        }
    }

    /// `truncated`: the reply was cut off by its budget. Only a closed `\boxed{}` counts as
    /// an answer in a cut-off text; the lenient reading would pick up whatever number the
    /// model was writing when it was stopped.
    pub fn on_text(&mut self, text: String, truncated: bool, max_retries: u32, core: &mut Core) -> FinalStep {
        let answer = boxed_answer(&text);
        if self.attempt == 0 {
            self.text = text.clone();
        } else if !text.trim().is_empty() {
            self.text = if self.text.trim().is_empty() { text.clone() } else { format!("{}\n\n{}", self.text, text.trim()) };
        }
        if answer.is_some() {
            return FinalStep::Finished { final_text: self.text.clone(), answer };
        }
        if self.attempt >= max_retries {
            if truncated {
                core.trace.flags.budget_ran_out = true;
                return FinalStep::Finished { final_text: self.text.clone(), answer: None };
            }
            // No boxed answer even after the retries: read it as benchmarks would.
            let answer = extract_answer(&self.text);
            core.trace.flags.answer_unboxed = answer.is_some();
            return FinalStep::Finished { final_text: self.text.clone(), answer };
        }
        core.trace.flags.boxed_retry = true;
        self.messages.push(ChatMessage::assistant(clamp_middle(&text, prompts::MAX_QUOTED_CHARS)));
        self.messages.push(ChatMessage::user(prompts::BOXED_RETRY));
        self.attempt += 1;
        FinalStep::Again
    }
}
