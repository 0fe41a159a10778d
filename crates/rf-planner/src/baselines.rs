//! Baselines on the same Action/Observation protocol: direct chain-of-thought and Best-of-N
//! with majority vote.

use serde::{Deserialize, Serialize};

use crate::Strategy;
use crate::core::{Core, Reply};
use crate::finish::{FinalStage, FinalStep};
use crate::kind::StrategyKind;
use crate::prompts;
use crate::text::{equivalent, extract_answer};
use crate::trace::{ExchangeKind, Trace, VoteCluster};
use crate::types::{Action, ModelRole, Observation, PlannerError, RequestId, SamplingConfig};

/// Settings of the direct chain-of-thought baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectConfig {
    pub sampling: SamplingConfig,
    pub seed: u64,
    pub max_boxed_retries: u32,
}

impl Default for DirectConfig {
    fn default() -> Self {
        Self { sampling: SamplingConfig::paper(3072), seed: 0, max_boxed_retries: 1 }
    }
}

impl DirectConfig {
    pub fn max_actions(&self) -> usize {
        1 + self.max_boxed_retries as usize + 1
    }
}

/// One chain-of-thought generation (plus the bounded boxed-answer retry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Direct {
    config: DirectConfig,
    core: Core,
    stage: FinalStage,
}

impl Direct {
    pub fn new(problem: impl Into<String>, config: DirectConfig) -> Self {
        let problem = problem.into();
        let core = Core::new(StrategyKind::Direct.as_str(), &problem, config.seed);
        let stage = FinalStage::new(prompts::direct_messages(&problem), ExchangeKind::Solve, "inference: direct chain-of-thought");
        Self { config, core, stage }
    }
}

impl Strategy for Direct {
    fn next_action(&mut self) -> Action {
        if let Some(a) = self.core.current() {
            return a;
        }
        self.stage.action(&mut self.core, &self.config.sampling)
    }

    fn feed(&mut self, obs: Observation) -> Result<(), PlannerError> {
        let (text, truncated) = self.core.accept(obs)?.into_generated();
        if self.stage.attempt == 0 {
            self.core.trace.totals.trajectories += 1;
        }
        match self.stage.on_text(text, truncated, self.config.max_boxed_retries, &mut self.core) {
            FinalStep::Again => {}
            FinalStep::Finished { final_text, answer } => {
                self.core.finish(final_text, answer);
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

/// Settings of Best-of-N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BestOfNConfig {
    /// Most trajectories sampled (at least 1).
    pub n: u32,
    pub sampling: SamplingConfig,
    pub seed: u64,
    /// Stop early once one answer has this many votes (`None`: always sample `n`).
    pub stop_at_votes: Option<u32>,
}

impl Default for BestOfNConfig {
    fn default() -> Self {
        Self { n: 8, sampling: SamplingConfig::paper(3072), seed: 0, stop_at_votes: None }
    }
}

impl BestOfNConfig {
    pub fn max_actions(&self) -> usize {
        self.n.max(1) as usize + 1
    }
}

/// One sampled trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sample {
    request_id: RequestId,
    text: String,
    answer: Option<String>,
}

/// Sample up to `n` chain-of-thought solutions and majority-vote over their answers
/// (answers are clustered by `rf_grade::grade` equivalence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestOfN {
    config: BestOfNConfig,
    core: Core,
    samples: Vec<Sample>,
}

impl BestOfN {
    pub fn new(problem: impl Into<String>, config: BestOfNConfig) -> Self {
        let problem = problem.into();
        let mut config = config;
        config.n = config.n.max(1);
        let core = Core::new(StrategyKind::BestOfN.as_str(), &problem, config.seed);
        Self { config, core, samples: Vec::new() }
    }

    fn clusters(&self) -> Vec<VoteCluster> {
        let answers: Vec<(RequestId, String, u64)> = self
            .samples
            .iter()
            .filter_map(|s| s.answer.clone().map(|a| (s.request_id, a, 1000)))
            .collect();
        cluster_answers(&answers)
    }

    fn finish(&mut self) -> Action {
        let clusters = self.clusters();
        self.core.trace.votes = clusters.clone();
        let winner = clusters.first();
        let answer = winner.map(|c| c.answer.clone());
        let final_text = winner
            .and_then(|c| c.members.first())
            .and_then(|id| self.samples.iter().find(|s| s.request_id == *id))
            .or_else(|| self.samples.first())
            .map(|s| s.text.clone())
            .unwrap_or_default();
        self.core.finish(final_text, answer)
    }
}

/// Cluster `(id, answer, score)` triples by answer equivalence. Sorted best first: by score,
/// then votes, then the earliest member.
pub(crate) fn cluster_answers(answers: &[(RequestId, String, u64)]) -> Vec<VoteCluster> {
    let mut clusters: Vec<VoteCluster> = Vec::new();
    for (id, answer, score) in answers {
        match clusters.iter_mut().find(|c| equivalent(&c.answer, answer)) {
            Some(c) => {
                c.votes += 1;
                c.score_milli = c.score_milli.saturating_add(*score);
                c.members.push(*id);
            }
            None => clusters.push(VoteCluster { answer: answer.clone(), votes: 1, score_milli: *score, members: vec![*id] }),
        }
    }
    // Stable sort keeps first-seen order among ties.
    clusters.sort_by(|a, b| b.score_milli.cmp(&a.score_milli).then(b.votes.cmp(&a.votes)));
    clusters
}

impl Strategy for BestOfN {
    fn next_action(&mut self) -> Action {
        if let Some(a) = self.core.current() {
            return a;
        }
        let leading = self.clusters().first().map(|c| c.votes).unwrap_or(0);
        let enough = self.config.stop_at_votes.is_some_and(|k| leading >= k.max(1));
        if self.samples.len() as u32 >= self.config.n || enough {
            return self.finish();
        }
        let summary = format!("inference: sample {}/{}", self.samples.len() + 1, self.config.n);
        self.core.generate(
            ExchangeKind::Solve,
            summary,
            ModelRole::Inference,
            prompts::direct_messages(&self.core.trace.problem),
            &self.config.sampling,
            Vec::new(),
        )
    }

    fn feed(&mut self, obs: Observation) -> Result<(), PlannerError> {
        let reply = self.core.accept(obs)?;
        let request_id = reply.request_id();
        let text = match reply {
            Reply::Text { text, .. } => text,
            Reply::Cards { .. } => String::new(),
        };
        let answer = extract_answer(&text);
        self.samples.push(Sample { request_id, text, answer });
        self.core.trace.totals.trajectories = self.samples.len() as u32;
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
