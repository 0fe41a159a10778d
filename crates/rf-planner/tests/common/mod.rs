//! Scripted fake backend for tests only.
#![allow(dead_code)]

use std::collections::VecDeque;

use rf_planner::{
    Backend, BackendError, ChatRole, GenerateRequest, Generation, ModelRole, QueryForm, RetrieveRequest, Strategy,
    TemplateCard,
};

/// Answers navigator and inference requests from two scripted queues; retrieval ranks a small
/// card library by word overlap with the query.
#[derive(Default)]
pub struct Scripted {
    pub navigator: VecDeque<String>,
    pub inference: VecDeque<String>,
    pub cards: Vec<TemplateCard>,
    pub requests: Vec<GenerateRequest>,
    pub queries: Vec<String>,
    /// The form of each query.
    pub forms: Vec<QueryForm>,
    /// Fail retrievals.
    pub retrieval_down: bool,
}

impl Scripted {
    pub fn new(navigator: &[&str], inference: &[&str]) -> Self {
        Self {
            navigator: navigator.iter().map(|s| s.to_string()).collect(),
            inference: inference.iter().map(|s| s.to_string()).collect(),
            cards: library(),
            ..Default::default()
        }
    }

    pub fn exhausted(&self) -> bool {
        self.navigator.is_empty() && self.inference.is_empty()
    }

    /// The last user message of the n-th request.
    pub fn user_prompt(&self, n: usize) -> &str {
        self.requests[n]
            .messages
            .iter()
            .rev()
            .find(|m| m.role == ChatRole::User)
            .map(|m| m.content.as_str())
            .unwrap_or("")
    }
}

impl Backend for Scripted {
    fn generate(&mut self, request: &GenerateRequest) -> Result<Generation, BackendError> {
        self.requests.push(request.clone());
        let queue = match request.role {
            ModelRole::Navigator => &mut self.navigator,
            ModelRole::Inference => &mut self.inference,
        };
        let text = queue.pop_front().ok_or_else(|| BackendError::failed(format!("script exhausted for {:?}", request.role)))?;
        let tokens_in = request.messages.iter().map(|m| m.content.len() as u64 / 4).sum();
        let tokens_out = text.len() as u64 / 4 + 1;
        Ok(Generation { text, tokens_in, tokens_out, truncated: false })
    }

    fn retrieve(&mut self, request: &RetrieveRequest) -> Result<Vec<TemplateCard>, BackendError> {
        let (query, k) = (request.query.as_str(), request.k);
        self.queries.push(query.to_string());
        self.forms.push(request.form);
        if self.retrieval_down {
            return Err(BackendError::failed("retriever offline"));
        }
        let q = query.to_lowercase();
        let mut scored: Vec<(usize, &TemplateCard)> = self
            .cards
            .iter()
            .map(|c| {
                let score = c
                    .name
                    .to_lowercase()
                    .split_whitespace()
                    .chain(c.tags.iter().map(|t| t.as_str()))
                    .filter(|w| q.contains(&w.to_lowercase()))
                    .count();
                (score, c)
            })
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        Ok(scored.into_iter().take(k as usize).map(|(_, c)| c.clone()).collect())
    }
}

pub fn card(id: &str, name: &str, tags: &[&str]) -> TemplateCard {
    TemplateCard {
        id: id.to_string(),
        name: name.to_string(),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        description: format!("How to use {name}."),
        steps: vec!["Identify the pieces.".into(), "Apply the rule.".into()],
        example: Some("Example: solve x^2-5x+6=0, so r \\neq s. Roots 2 and 3.".into()),
    }
}

pub fn library() -> Vec<TemplateCard> {
    vec![
        card("quad-vieta", "Vieta's formulas", &["quadratic", "roots"]),
        card("quad-formula", "Quadratic formula", &["quadratic", "roots"]),
        card("quad-factor", "Factoring quadratics", &["quadratic", "factoring"]),
        card("trig-sum", "Sum of angles identity", &["trigonometry"]),
    ]
}

pub const PROBLEM: &str = "The roots of x^2 - 5x + 6 = 0 are r and s. Find r^2 + s^2.";

pub const PLAN2: &str = r#"{"steps": [
  {"template": "Vieta's formulas", "tags": ["quadratic", "roots"], "sub_goal": "find r+s and rs"},
  {"template": "Quadratic formula", "tags": ["quadratic"], "sub_goal": "combine into r^2+s^2"}
]}"#;

pub const CONTINUE: &str = r#"{"decision": "continue"}"#;

/// Drive by hand, returning the number of distinct actions (Done included).
pub fn drive<S: Strategy + ?Sized>(s: &mut S, backend: &mut Scripted, limit: usize) -> usize {
    for n in 1..=limit {
        match rf_planner::perform(&s.next_action(), backend).expect("no fatal backend errors in scripts") {
            None => return n,
            Some(obs) => s.feed(obs).expect("protocol"),
        }
    }
    panic!("no Done within {limit} actions");
}
