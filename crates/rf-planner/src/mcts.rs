//! Step-level Monte-Carlo tree search baseline.
//!
//! Each tree node is one generated reasoning step (generation stops at the step delimiter).
//! An iteration selects a node by UCT, expands it with one new step, rolls the new partial
//! solution out to a final answer, scores the answer (self-consistency with earlier answers, or
//! a self-evaluation generation) and backs the reward up the path. Rewards are integer
//! milli-units so the serialised state resumes bit-exactly.

use serde::{Deserialize, Serialize};

use crate::Strategy;
use crate::baselines::cluster_answers;
use crate::core::Core;
use crate::prompts;
use crate::text::{boxed_answer, clamp_chars, equivalent, extract_answer, one_line};
use crate::trace::{ExchangeKind, MctsStats, Trace};
use crate::types::{Action, ModelRole, Observation, PlannerError, RequestId, SamplingConfig};

/// How a finished solution is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MctsValue {
    /// Share of all answers so far (this one included) equivalent to this answer.
    SelfConsistency,
    /// A generation asking the model to score the solution 0–10.
    SelfEvaluation,
}

/// Settings of the MCTS baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MctsConfig {
    /// Search iterations (each: select, expand, roll out, score, back up).
    pub iterations: u32,
    /// Deepest step (root = depth 0).
    pub max_depth: u32,
    /// Children per node before it counts as fully expanded.
    pub branching: u32,
    /// UCT exploration constant, in milli-units (1414 ≈ √2).
    pub exploration_milli: u32,
    pub value: MctsValue,
    /// Stop string ending one step.
    pub step_delimiter: String,
    pub step_sampling: SamplingConfig,
    pub rollout_sampling: SamplingConfig,
    pub eval_sampling: SamplingConfig,
    pub seed: u64,
}

impl Default for MctsConfig {
    fn default() -> Self {
        Self {
            iterations: 8,
            max_depth: 8,
            branching: 3,
            exploration_milli: 1414,
            value: MctsValue::SelfConsistency,
            step_delimiter: "\n\n".to_string(),
            step_sampling: SamplingConfig::paper(512),
            rollout_sampling: SamplingConfig::paper(2048),
            eval_sampling: SamplingConfig::paper(256),
            seed: 0,
        }
    }
}

impl MctsConfig {
    /// Upper bound on actions: expansion, rollout, self-evaluation per iteration, then Done.
    pub fn max_actions(&self) -> usize {
        3 * self.iterations as usize + 1
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Node {
    parent: Option<usize>,
    children: Vec<usize>,
    depth: u32,
    step: String,
    visits: u32,
    value_milli: u64,
    /// A final answer appears in the step itself, or the step is empty (dead end).
    terminal: bool,
    /// Reward of a terminal node, reused when selection reaches it again.
    terminal_reward: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Candidate {
    request_id: RequestId,
    node: usize,
    answer: String,
    solution: String,
    reward_milli: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Phase {
    Select,
    Expand { node: usize },
    Rollout { node: usize },
    SelfEval { node: usize, answer: String, solution: String, source: RequestId },
}

/// The MCTS state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mcts {
    config: MctsConfig,
    core: Core,
    nodes: Vec<Node>,
    candidates: Vec<Candidate>,
    iterations_done: u32,
    phase: Phase,
}

impl Mcts {
    pub fn new(problem: impl Into<String>, config: MctsConfig) -> Self {
        let problem = problem.into();
        let mut config = config;
        config.branching = config.branching.max(1);
        config.max_depth = config.max_depth.max(1);
        let core = Core::new(crate::StrategyKind::Mcts.as_str(), &problem, config.seed);
        let root = Node {
            parent: None,
            children: Vec::new(),
            depth: 0,
            step: String::new(),
            visits: 0,
            value_milli: 0,
            terminal: false,
            terminal_reward: 0,
        };
        let mut m = Self { config, core, nodes: vec![root], candidates: Vec::new(), iterations_done: 0, phase: Phase::Select };
        m.update_stats();
        m
    }

    fn path_steps(&self, node: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = Some(node);
        let mut guard = 0;
        while let Some(i) = cur {
            let Some(n) = self.nodes.get(i) else { break };
            if n.parent.is_some() {
                out.push(n.step.clone());
            }
            cur = n.parent;
            guard += 1;
            if guard > self.nodes.len() {
                break;
            }
        }
        out.reverse();
        out
    }

    fn uct(&self, parent: usize, child: usize) -> f64 {
        let c = &self.nodes[child];
        if c.visits == 0 {
            return f64::INFINITY;
        }
        let n_parent = f64::from(self.nodes[parent].visits.max(1));
        let n = f64::from(c.visits);
        let q = c.value_milli as f64 / 1000.0 / n;
        q + f64::from(self.config.exploration_milli) / 1000.0 * (n_parent.ln() / n).sqrt()
    }

    /// Walk down by UCT to the node to work on.
    fn select(&self) -> usize {
        let mut cur = 0;
        loop {
            let n = &self.nodes[cur];
            if n.terminal || n.depth >= self.config.max_depth {
                return cur;
            }
            if (n.children.len() as u32) < self.config.branching || n.children.is_empty() {
                return cur;
            }
            let mut best = n.children[0];
            let mut best_v = f64::NEG_INFINITY;
            for &ch in &n.children {
                let v = self.uct(cur, ch);
                if v > best_v {
                    best_v = v;
                    best = ch;
                }
            }
            cur = best;
        }
    }

    fn backup(&mut self, node: usize, reward: u64) {
        let mut cur = Some(node);
        let mut guard = 0;
        while let Some(i) = cur {
            let Some(n) = self.nodes.get_mut(i) else { break };
            n.visits = n.visits.saturating_add(1);
            n.value_milli = n.value_milli.saturating_add(reward);
            cur = n.parent;
            guard += 1;
            if guard > self.nodes.len() {
                break;
            }
        }
        self.iterations_done += 1;
        self.phase = Phase::Select;
        self.update_stats();
    }

    fn update_stats(&mut self) {
        self.core.trace.mcts = Some(MctsStats {
            iterations: self.iterations_done,
            nodes: self.nodes.len() as u32,
            max_depth_reached: self.nodes.iter().map(|n| n.depth).max().unwrap_or(0),
        });
    }

    /// Score a finished answer: either immediately (self-consistency) or via a generation.
    fn score(&mut self, node: usize, answer: String, solution: String, source: RequestId) {
        match self.config.value {
            MctsValue::SelfConsistency => {
                let agree = self.candidates.iter().filter(|c| equivalent(&c.answer, &answer)).count() as u64;
                let total = self.candidates.len() as u64;
                let reward = (agree + 1) * 1000 / (total + 1);
                self.record(node, answer, solution, source, reward);
            }
            MctsValue::SelfEvaluation => {
                self.phase = Phase::SelfEval { node, answer, solution, source };
            }
        }
    }

    fn record(&mut self, node: usize, answer: String, solution: String, source: RequestId, reward: u64) {
        self.candidates.push(Candidate { request_id: source, node, answer, solution, reward_milli: reward });
        if let Some(n) = self.nodes.get_mut(node)
            && n.terminal
        {
            n.terminal_reward = reward;
        }
        self.backup(node, reward);
    }

    fn finish(&mut self) -> Action {
        let triples: Vec<(RequestId, String, u64)> =
            self.candidates.iter().map(|c| (c.request_id, c.answer.clone(), c.reward_milli)).collect();
        let clusters = cluster_answers(&triples);
        self.core.trace.votes = clusters.clone();
        let winner = clusters.first();
        let answer = winner.map(|c| c.answer.clone());
        let final_text = winner
            .and_then(|w| {
                self.candidates
                    .iter()
                    .filter(|c| w.members.contains(&c.request_id))
                    .max_by(|a, b| a.reward_milli.cmp(&b.reward_milli).then(b.request_id.cmp(&a.request_id)))
            })
            .map(|c| c.solution.clone())
            .unwrap_or_else(|| self.path_steps(self.most_visited_leaf()).join("\n\n"));
        self.update_stats();
        self.core.finish(final_text, answer)
    }

    fn most_visited_leaf(&self) -> usize {
        let mut cur = 0;
        let mut guard = 0;
        while let Some(&best) = self.nodes[cur].children.iter().max_by_key(|&&c| (self.nodes[c].visits, std::cmp::Reverse(c))) {
            cur = best;
            guard += 1;
            if guard > self.nodes.len() {
                break;
            }
        }
        cur
    }

    fn advance(&mut self) -> Action {
        loop {
            match &self.phase {
                Phase::Select => {
                    if self.iterations_done >= self.config.iterations {
                        return self.finish();
                    }
                    let node = self.select();
                    let n = &self.nodes[node];
                    if n.terminal {
                        // Reached a finished solution again: reuse its reward, no generation.
                        let reward = n.terminal_reward;
                        self.backup(node, reward);
                        continue;
                    }
                    self.phase = if n.depth >= self.config.max_depth { Phase::Rollout { node } } else { Phase::Expand { node } };
                }
                Phase::Expand { node } => {
                    let node = *node;
                    let steps = self.path_steps(node);
                    let summary = format!("inference: step {} (node {node})", steps.len() + 1);
                    return self.core.generate(
                        ExchangeKind::MctsStep,
                        summary,
                        ModelRole::Inference,
                        prompts::mcts_step_messages(&self.core.trace.problem, &steps),
                        &self.config.step_sampling,
                        vec![self.config.step_delimiter.clone()],
                    );
                }
                Phase::Rollout { node } => {
                    let node = *node;
                    let steps = self.path_steps(node);
                    let summary = format!("inference: rollout from depth {} (node {node})", steps.len());
                    return self.core.generate(
                        ExchangeKind::MctsRollout,
                        summary,
                        ModelRole::Inference,
                        prompts::mcts_rollout_messages(&self.core.trace.problem, &steps),
                        &self.config.rollout_sampling,
                        Vec::new(),
                    );
                }
                Phase::SelfEval { node, answer, solution, .. } => {
                    let summary = format!("inference: self-evaluate answer {} (node {node})", clamp_chars(&one_line(answer), 60));
                    let messages = prompts::mcts_self_eval_messages(&self.core.trace.problem, solution, answer);
                    return self.core.generate(
                        ExchangeKind::MctsSelfEval,
                        summary,
                        ModelRole::Inference,
                        messages,
                        &self.config.eval_sampling,
                        Vec::new(),
                    );
                }
            }
        }
    }

    fn count_steps(&self, text: &str) -> u32 {
        let delim = if self.config.step_delimiter.is_empty() { "\n\n" } else { self.config.step_delimiter.as_str() };
        text.split(delim).filter(|s| !s.trim().is_empty()).count().min(u32::MAX as usize) as u32
    }

    fn on_text(&mut self, request_id: RequestId, text: String) {
        match self.phase.clone() {
            Phase::Select => {}
            Phase::Expand { node } => {
                self.core.trace.totals.reasoning_steps += 1;
                let step = text.split(self.config.step_delimiter.as_str()).next().unwrap_or("").trim().to_string();
                let step = if self.config.step_delimiter.is_empty() { text.trim().to_string() } else { step };
                let depth = self.nodes.get(node).map(|n| n.depth + 1).unwrap_or(1);
                let answer = boxed_answer(&step);
                let terminal = answer.is_some() || step.is_empty();
                let child = self.nodes.len();
                self.nodes.push(Node {
                    parent: Some(node),
                    children: Vec::new(),
                    depth,
                    step,
                    visits: 0,
                    value_milli: 0,
                    terminal,
                    terminal_reward: 0,
                });
                if let Some(p) = self.nodes.get_mut(node) {
                    p.children.push(child);
                }
                self.update_stats();
                match answer {
                    Some(a) => {
                        let solution = self.path_steps(child).join("\n\n");
                        self.score(child, a, solution, request_id);
                    }
                    None if terminal => self.backup(child, 0),
                    None => self.phase = Phase::Rollout { node: child },
                }
            }
            Phase::Rollout { node } => {
                self.core.trace.totals.reasoning_steps += self.count_steps(&text).max(1);
                let mut steps = self.path_steps(node);
                steps.push(text.trim().to_string());
                let solution = steps.join("\n\n");
                match extract_answer(&text) {
                    Some(a) => self.score(node, a, solution, request_id),
                    None => self.backup(node, 0),
                }
            }
            Phase::SelfEval { node, answer, solution, source } => {
                let reward = parse_score(&text);
                self.record(node, answer, solution, source, reward);
            }
        }
    }
}

/// A 0–10 score (or yes/no) from self-evaluation text, as milli-reward. Unreadable: 0.
pub(crate) fn parse_score(text: &str) -> u64 {
    let lower = text.to_lowercase();
    if let Some(pos) = lower.find("score") {
        let digits: String = lower[pos + 5..]
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .take(3)
            .collect();
        if let Ok(v) = digits.parse::<u64>() {
            return v.min(10) * 100;
        }
    }
    let trimmed = lower.trim_start();
    if trimmed.starts_with("yes") || trimmed.starts_with("correct") {
        return 1000;
    }
    0
}

impl Strategy for Mcts {
    fn next_action(&mut self) -> Action {
        if let Some(a) = self.core.current() {
            return a;
        }
        self.advance()
    }

    fn feed(&mut self, obs: Observation) -> Result<(), PlannerError> {
        let reply = self.core.accept(obs)?;
        let request_id = reply.request_id();
        self.on_text(request_id, reply.into_text());
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

#[cfg(test)]
mod tests {
    use super::parse_score;

    #[test]
    fn scores() {
        assert_eq!(parse_score("Score: 7. Looks right."), 700);
        assert_eq!(parse_score("score 10"), 1000);
        assert_eq!(parse_score("Yes, it is."), 1000);
        assert_eq!(parse_score("no idea"), 0);
    }
}
