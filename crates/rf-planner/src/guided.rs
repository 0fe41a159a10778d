//! Template-guided direct: retrieve the templates that best match the problem itself and put
//! their cards into one chain-of-thought prompt. It keeps the library's knowledge but needs no
//! navigator plan, which small models write poorly.

use serde::{Deserialize, Serialize};

use crate::Strategy;
use crate::core::{Core, Reply};
use crate::finish::{FinalStage, FinalStep};
use crate::kind::StrategyKind;
use crate::prompts;
use crate::trace::{ExchangeKind, TemplateRef, Trace};
use crate::types::{Action, Observation, PlannerError, QueryForm, SamplingConfig};

/// Settings of template-guided direct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuidedConfig {
    /// Template cards put into the prompt (0 makes this plain direct chain-of-thought).
    pub templates: u32,
    pub sampling: SamplingConfig,
    pub seed: u64,
    pub max_boxed_retries: u32,
}

impl Default for GuidedConfig {
    fn default() -> Self {
        Self { templates: 2, sampling: SamplingConfig::paper(3072), seed: 0, max_boxed_retries: 1 }
    }
}

impl GuidedConfig {
    /// One retrieval, the solution, its boxed-answer retries and `Done`.
    pub fn max_actions(&self) -> usize {
        1 + 1 + self.max_boxed_retries as usize + 1
    }
}

/// One retrieval with the problem as the query, then one guided solution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guided {
    config: GuidedConfig,
    core: Core,
    /// `None` until the retrieval is answered.
    stage: Option<FinalStage>,
}

impl Guided {
    pub fn new(problem: impl Into<String>, config: GuidedConfig) -> Self {
        let problem = problem.into();
        let core = Core::new(StrategyKind::Guided.as_str(), &problem, config.seed);
        Self { config, core, stage: None }
    }

    fn start_solution(&mut self, cards: &[crate::types::TemplateCard]) {
        let cards = &cards[..cards.len().min(self.config.templates as usize)];
        self.core.trace.guides = cards.iter().map(TemplateRef::from).collect();
        let messages = prompts::guided_messages(&self.core.trace.problem, cards);
        let summary = format!("inference: chain-of-thought with {} template card(s)", cards.len());
        self.stage = Some(FinalStage::new(messages, ExchangeKind::Solve, summary));
    }
}

impl Strategy for Guided {
    fn next_action(&mut self) -> Action {
        if let Some(a) = self.core.current() {
            return a;
        }
        if self.config.templates == 0 && self.stage.is_none() {
            self.start_solution(&[]);
        }
        match &self.stage {
            None => self.core.retrieve(self.core.trace.problem.clone(), QueryForm::Problem, self.config.templates),
            Some(stage) => stage.action(&mut self.core, &self.config.sampling),
        }
    }

    fn feed(&mut self, obs: Observation) -> Result<(), PlannerError> {
        match self.core.accept(obs)? {
            // A failed retrieval arrives as no cards: the solution is then plain direct.
            Reply::Cards { cards, .. } => self.start_solution(&cards),
            Reply::Text { text, truncated, .. } => {
                let Some(stage) = self.stage.as_mut() else { return Ok(()) };
                if stage.attempt == 0 {
                    self.core.trace.totals.trajectories += 1;
                }
                if let FinalStep::Finished { final_text, answer } =
                    stage.on_text(text, truncated, self.config.max_boxed_retries, &mut self.core)
                {
                    self.core.finish(final_text, answer);
                }
            }
        }
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
