//! Bookkeeping shared by all machines: request ids, the pending request, protocol checks and
//! exchange recording.

use serde::{Deserialize, Serialize};

use crate::text::{clamp_chars, one_line};
use crate::trace::{Exchange, ExchangeKind, Trace};
use crate::types::{
    Action, ChatMessage, GenerateRequest, ModelRole, Observation, Outcome, PlannerError,
    QueryForm, RequestId, RetrieveRequest, SamplingConfig, TemplateCard,
};

/// A request the machine is waiting on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub action: Action,
    pub kind: ExchangeKind,
    pub summary: String,
}

/// The answer to a pending request, normalised.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// Generated text (empty when the backend failed) and whether it was cut off.
    Text { request_id: RequestId, text: String, truncated: bool },
    /// Retrieved cards (empty when the backend failed).
    Cards { request_id: RequestId, cards: Vec<TemplateCard> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Core {
    pub next_request_id: RequestId,
    pub base_seed: u64,
    pub pending: Option<Pending>,
    pub outcome: Option<Outcome>,
    pub trace: Trace,
}

impl Core {
    pub fn new(strategy: &str, problem: &str, base_seed: u64) -> Self {
        Self {
            next_request_id: 1,
            base_seed,
            pending: None,
            outcome: None,
            trace: Trace::new(strategy, problem),
        }
    }

    /// The action to return if one is outstanding (pending request or final outcome).
    pub fn current(&self) -> Option<Action> {
        if let Some(p) = &self.pending {
            return Some(p.action.clone());
        }
        self.outcome.as_ref().map(|o| Action::Done(o.clone()))
    }

    fn fresh_id(&mut self) -> RequestId {
        let id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        id
    }

    /// Issue a generation request and make it pending.
    pub fn generate(
        &mut self,
        kind: ExchangeKind,
        summary: String,
        role: ModelRole,
        messages: Vec<ChatMessage>,
        sampling: &SamplingConfig,
        stop: Vec<String>,
    ) -> Action {
        let id = self.fresh_id();
        let action = Action::Generate(GenerateRequest {
            request_id: id,
            role,
            messages,
            sampling: sampling.with_seed(self.base_seed, id),
            stop,
        });
        self.pending = Some(Pending { action: action.clone(), kind, summary });
        action
    }

    /// Issue a retrieval request and make it pending.
    pub fn retrieve(&mut self, query: String, form: QueryForm, k: u32) -> Action {
        let id = self.fresh_id();
        let summary = format!("retrieve k={k}: {}", clamp_chars(&one_line(&query), 160));
        let action = Action::Retrieve(RetrieveRequest { request_id: id, query, k, form });
        self.pending =
            Some(Pending { action: action.clone(), kind: ExchangeKind::Retrieve, summary });
        action
    }

    /// Check an observation against the pending request without changing anything.
    pub fn check(&self, obs: &Observation) -> Result<(), PlannerError> {
        let got = obs.request_id();
        let Some(p) = &self.pending else {
            if self.outcome.is_some() {
                return Err(PlannerError::AlreadyDone);
            }
            return Err(PlannerError::NoPendingRequest { got });
        };
        let expected = p.action.request_id().unwrap_or(0);
        if expected != got {
            return Err(PlannerError::UnknownRequest { expected, got });
        }
        let ok = matches!(
            (&p.action, obs),
            (Action::Generate(_), Observation::Generated { .. })
                | (Action::Retrieve(_), Observation::Retrieved { .. })
                | (_, Observation::Failed { .. })
        );
        if !ok {
            let expected = match &p.action {
                Action::Generate(_) => "generate",
                Action::Retrieve(_) => "retrieve",
                Action::Done(_) => "done",
            };
            return Err(PlannerError::WrongObservationKind {
                expected: expected.to_string(),
                got: obs.kind_name().to_string(),
            });
        }
        Ok(())
    }

    /// Check, then consume the observation: record the exchange, update totals, clear pending.
    pub fn accept(&mut self, obs: Observation) -> Result<Reply, PlannerError> {
        self.check(&obs)?;
        let Some(p) = self.pending.take() else {
            // `check` guarantees a pending request; keep the state untouched regardless.
            return Err(PlannerError::NoPendingRequest { got: obs.request_id() });
        };
        let (role, prompt_chars) = match &p.action {
            Action::Generate(g) => {
                (Some(g.role), g.messages.iter().map(|m| m.content.chars().count() as u64).sum())
            }
            Action::Retrieve(r) => (None, r.query.chars().count() as u64),
            Action::Done(_) => (None, 0),
        };
        let is_generate = matches!(p.action, Action::Generate(_));
        let totals = &mut self.trace.totals;
        if is_generate {
            totals.generations += 1;
        } else {
            totals.retrievals += 1;
        }
        let mut exchange = Exchange {
            request_id: obs.request_id(),
            kind: p.kind,
            role,
            prompt_summary: p.summary,
            prompt_chars,
            output: String::new(),
            tokens_in: 0,
            tokens_out: 0,
            error: None,
            truncated: false,
        };
        let reply = match obs {
            Observation::Generated { request_id, text, tokens_in, tokens_out, truncated } => {
                totals.prompt_tokens = totals.prompt_tokens.saturating_add(tokens_in);
                totals.generated_tokens = totals.generated_tokens.saturating_add(tokens_out);
                exchange.tokens_in = tokens_in;
                exchange.tokens_out = tokens_out;
                exchange.truncated = truncated;
                exchange.output = text.clone();
                Reply::Text { request_id, text, truncated }
            }
            Observation::Retrieved { request_id, templates } => {
                let names: Vec<String> = templates
                    .iter()
                    .map(|c| format!("{} [{}]", clamp_chars(&c.name, 80), clamp_chars(&c.id, 40)))
                    .collect();
                exchange.output = format!("{} card(s): {}", templates.len(), names.join("; "));
                Reply::Cards { request_id, cards: templates }
            }
            Observation::Failed { request_id, error } => {
                self.trace.flags.backend_errors += 1;
                exchange.error = Some(error);
                if is_generate {
                    Reply::Text { request_id, text: String::new(), truncated: false }
                } else {
                    Reply::Cards { request_id, cards: Vec::new() }
                }
            }
        };
        self.trace.exchanges.push(exchange);
        Ok(reply)
    }

    /// Finish the run.
    pub fn finish(&mut self, final_text: String, answer: Option<String>) -> Action {
        self.trace.flags.answer_missing = answer.is_none();
        self.trace.final_text = Some(final_text.clone());
        self.trace.answer = answer.clone();
        self.trace.finished = true;
        let outcome = Outcome { answer, final_text, totals: self.trace.totals.clone() };
        self.pending = None;
        self.outcome = Some(outcome.clone());
        Action::Done(outcome)
    }
}

impl Reply {
    /// Text of a generation reply (empty for cards).
    pub fn into_text(self) -> String {
        self.into_generated().0
    }

    /// Text of a generation reply and whether it was cut off (empty and false for cards).
    pub fn into_generated(self) -> (String, bool) {
        match self {
            Reply::Text { text, truncated, .. } => (text, truncated),
            Reply::Cards { .. } => (String::new(), false),
        }
    }

    pub fn request_id(&self) -> RequestId {
        match self {
            Reply::Text { request_id, .. } | Reply::Cards { request_id, .. } => *request_id,
        }
    }
}
