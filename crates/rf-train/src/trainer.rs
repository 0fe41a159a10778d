//! The training loop shared by SFT and DPO: AdamW, linear warm-up then cosine decay, gradient
//! accumulation and clipping, JSON-lines logging, and resumable checkpoints.
//!
//! A checkpoint `out/step-NNNNNN/` is an HF folder (see [`crate::checkpoint::save_hf`]) plus
//! `optimizer.bpk` (AdamW moments), `param_ids.json` (ties the moments to the parameters after
//! a reload) and `trainer_state.json`, written last so a half-written checkpoint is never used.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;
use rf_engine::{TextTokenizer, Transformer};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{checkpoints, save_hf, write};
use crate::loss::{Tokenized, dpo_loss, response_logprob, scalar, sft_loss};
use crate::{Result, TrainError, io_error};

/// Optimisation settings, recorded in every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// Optimizer steps of linear warm-up.
    pub warmup: u64,
    /// Total optimizer steps.
    pub steps: u64,
    /// Examples per optimizer step (gradient accumulation).
    pub accum: usize,
    /// Per-parameter gradient-norm clip (0 disables).
    pub grad_clip: f64,
    pub weight_decay: f64,
    /// Checkpoint every this many optimizer steps (and at the end).
    pub save_every: u64,
    /// Checkpoints kept on disk (the newest ones).
    pub keep: usize,
    /// Seeds the example order.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { lr: 2e-5, warmup: 10, steps: 100, accum: 4, grad_clip: 1.0, weight_decay: 0.0, save_every: 50, keep: 2, seed: 0 }
    }
}

impl TrainConfig {
    /// Learning rate at optimizer step `step` (0-based): linear warm-up, then cosine to 10 %.
    pub fn lr_at(&self, step: u64) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.steps.saturating_sub(self.warmup).max(1) as f64;
        let t = ((step - self.warmup) as f64 / span).min(1.0);
        self.lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
    }
}

/// Per-example numbers reported by an objective.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ExampleStats {
    pub loss: f64,
    pub tokens: usize,
    /// DPO only: the implicit reward margin and whether it is positive.
    pub margin: Option<f64>,
}

/// What is being minimised, over a fixed list of items.
pub trait Objective {
    /// Name recorded in the log and checkpoints (`sft`, `dpo`).
    fn name(&self) -> &'static str;
    fn len(&self) -> usize;
    /// The loss of item `index` (shape `[1]`, tracked) and its statistics.
    fn loss(&self, model: &Transformer, index: usize) -> Result<(Tensor<1>, ExampleStats)>;
}

/// Causal-LM loss on response tokens.
pub struct Sft {
    pub items: Vec<Tokenized>,
}

impl Objective for Sft {
    fn name(&self) -> &'static str {
        "sft"
    }
    fn len(&self) -> usize {
        self.items.len()
    }
    fn loss(&self, model: &Transformer, index: usize) -> Result<(Tensor<1>, ExampleStats)> {
        let item = &self.items[index];
        let loss = sft_loss(model, item)?;
        let stats = ExampleStats { loss: scalar(loss.clone())?, tokens: item.response.len(), margin: None };
        Ok((loss, stats))
    }
}

/// A preference pair, tokenised, with the frozen reference's log-probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredPair {
    pub chosen: Tokenized,
    pub rejected: Tokenized,
    pub ref_chosen: f64,
    pub ref_rejected: f64,
}

/// Trajectory-level DPO against a frozen reference.
pub struct Dpo {
    pub pairs: Vec<ScoredPair>,
    pub beta: f64,
}

impl Dpo {
    /// The implicit reward margin of every pair under `model` (no gradients kept).
    pub fn margins(&self, model: &Transformer) -> Result<Vec<f64>> {
        let model = model.valid();
        self.pairs
            .iter()
            .map(|p| {
                let c = scalar(response_logprob(&model, &p.chosen)?)?;
                let r = scalar(response_logprob(&model, &p.rejected)?)?;
                Ok(self.beta * ((c - p.ref_chosen) - (r - p.ref_rejected)))
            })
            .collect()
    }
}

impl Objective for Dpo {
    fn name(&self) -> &'static str {
        "dpo"
    }
    fn len(&self) -> usize {
        self.pairs.len()
    }
    fn loss(&self, model: &Transformer, index: usize) -> Result<(Tensor<1>, ExampleStats)> {
        let p = &self.pairs[index];
        let c = response_logprob(model, &p.chosen)?;
        let r = response_logprob(model, &p.rejected)?;
        let terms = dpo_loss(c, r, p.ref_chosen, p.ref_rejected, self.beta)?;
        let stats = ExampleStats {
            loss: scalar(terms.loss.clone())?,
            tokens: p.chosen.response.len() + p.rejected.response.len(),
            margin: Some(terms.margin),
        };
        Ok((terms.loss, stats))
    }
}

/// Reference log-probabilities of `(chosen, rejected)` under a frozen `model`.
pub fn reference_logprobs(model: &Transformer, pairs: &[(Tokenized, Tokenized)]) -> Result<Vec<(f64, f64)>> {
    let model = model.valid();
    pairs
        .iter()
        .map(|(c, r)| Ok((scalar(response_logprob(&model, c)?)?, scalar(response_logprob(&model, r)?)?)))
        .collect()
}

/// One optimizer step's record, also a line of `log.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct StepLog {
    pub objective: &'static str,
    pub step: u64,
    pub lr: f64,
    pub loss: f64,
    pub tokens: usize,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TrainerState {
    objective: String,
    step: u64,
    config: TrainConfig,
}

/// Where a run starts: step 0 or the newest checkpoint under the output folder.
pub struct Start {
    pub step: u64,
    /// The checkpoint to reload the weights from, when resuming.
    pub checkpoint: Option<PathBuf>,
}

/// Finds the newest complete checkpoint of `objective` under `out`.
pub fn find_start(out: &Path, objective: &str) -> Result<Start> {
    let Some((_, dir)) = checkpoints(out).pop() else { return Ok(Start { step: 0, checkpoint: None }) };
    let path = dir.join("trainer_state.json");
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    let state: TrainerState = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint { path: path.display().to_string(), message: e.to_string() })?;
    if state.objective != objective {
        return Err(TrainError::Checkpoint {
            path: path.display().to_string(),
            message: format!("is a {} checkpoint, not {objective}; use another --out", state.objective),
        });
    }
    Ok(Start { step: state.step, checkpoint: Some(dir) })
}

/// Trains `model` on `objective` from `start` up to `cfg.steps`, logging to `out/log.jsonl` and
/// checkpointing to `out/step-NNNNNN/`. `on_step` sees each step's log (progress bars).
pub fn train(
    mut model: Transformer,
    tokenizer: &TextTokenizer,
    objective: &dyn Objective,
    cfg: &TrainConfig,
    out: &Path,
    start: &Start,
    mut on_step: impl FnMut(&StepLog),
) -> Result<Transformer> {
    if objective.len() == 0 {
        return Err(TrainError::NoExamples);
    }
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    let mut clip = AdamWConfig::new().with_weight_decay(cfg.weight_decay as f32);
    if cfg.grad_clip > 0.0 {
        clip = clip.with_grad_clipping(Some(GradientClippingConfig::Norm(cfg.grad_clip as f32)));
    }
    let mut optim: ModuleOptimizer = clip.init();
    if let Some(dir) = &start.checkpoint {
        model = restore_param_ids(model, dir)?;
        let path = dir.join("optimizer.bpk");
        optim = optim
            .load(&path)
            .map_err(|e| TrainError::Checkpoint { path: path.display().to_string(), message: format!("{e:?}") })?;
    }
    let log_path = out.join("log.jsonl");
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(io_error(&log_path))?;
    let order = ExampleOrder { len: objective.len(), seed: cfg.seed };
    for step in start.step..cfg.steps {
        let began = Instant::now();
        let lr = cfg.lr_at(step);
        let mut acc = GradientsAccumulator::<Transformer>::new();
        let (mut loss, mut tokens, mut margins) = (0.0, 0, Vec::new());
        for k in 0..cfg.accum.max(1) {
            let index = order.index(step * cfg.accum.max(1) as u64 + k as u64);
            let (l, stats) = objective.loss(&model, index)?;
            let grads = l.div_scalar(cfg.accum.max(1) as f64).backward();
            acc.accumulate(&model, GradientsParams::from_grads(grads, &model));
            loss += stats.loss / cfg.accum.max(1) as f64;
            tokens += stats.tokens;
            margins.extend(stats.margin);
        }
        model = optim.step(lr, model, acc.grads());
        let entry = StepLog {
            objective: objective.name(),
            step: step + 1,
            lr,
            loss,
            tokens,
            seconds: began.elapsed().as_secs_f64(),
            margin: (!margins.is_empty()).then(|| margins.iter().sum::<f64>() / margins.len() as f64),
            accuracy: (!margins.is_empty())
                .then(|| margins.iter().filter(|m| **m > 0.0).count() as f64 / margins.len() as f64),
        };
        writeln!(log, "{}", serde_json::to_string(&entry).unwrap_or_default()).map_err(io_error(&log_path))?;
        on_step(&entry);
        if (step + 1) % cfg.save_every.max(1) == 0 || step + 1 == cfg.steps {
            save_checkpoint(out, step + 1, &model, tokenizer, &optim, objective.name(), cfg)?;
        }
    }
    Ok(model)
}

/// Deterministic example order: a fresh seeded permutation per pass over the data.
struct ExampleOrder {
    len: usize,
    seed: u64,
}

impl ExampleOrder {
    fn index(&self, position: u64) -> usize {
        let (pass, i) = (position / self.len as u64, (position % self.len as u64) as usize);
        let mut perm: Vec<usize> = (0..self.len).collect();
        let mut state = self.seed ^ pass.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for j in (1..perm.len()).rev() {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            perm.swap(j, (z % (j as u64 + 1)) as usize);
        }
        perm[i]
    }
}

fn save_checkpoint(
    out: &Path,
    step: u64,
    model: &Transformer,
    tokenizer: &TextTokenizer,
    optim: &ModuleOptimizer,
    objective: &str,
    cfg: &TrainConfig,
) -> Result<()> {
    let dir = out.join(format!("step-{step:06}"));
    save_hf(&dir, model, tokenizer)?;
    let path = dir.join("optimizer.bpk");
    optim
        .save(&path)
        .map_err(|e| TrainError::Checkpoint { path: path.display().to_string(), message: format!("{e:?}") })?;
    write(&dir.join("param_ids.json"), &serde_json::to_string(&param_ids(model)).unwrap_or_default())?;
    let state = TrainerState { objective: objective.to_string(), step, config: cfg.clone() };
    write(&dir.join("trainer_state.json"), &serde_json::to_string_pretty(&state).unwrap_or_default())?;
    let all = checkpoints(out);
    for (_, old) in all.iter().take(all.len().saturating_sub(cfg.keep.max(1))) {
        std::fs::remove_dir_all(old).map_err(io_error(old))?;
    }
    Ok(())
}

/// Parameter ids in visiting order (the order is fixed by the module's structure).
fn param_ids(model: &Transformer) -> Vec<u64> {
    struct Ids(Vec<u64>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id.val());
        }
    }
    let mut ids = Ids(Vec::new());
    model.visit(&mut ids);
    ids.0
}

/// Gives a reloaded model the parameter ids it had when saved, so the optimizer's moments
/// (keyed by id) attach to the right tensors.
fn restore_param_ids(model: Transformer, dir: &Path) -> Result<Transformer> {
    let path = dir.join("param_ids.json");
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    let ids: Vec<u64> = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint { path: path.display().to_string(), message: e.to_string() })?;
    let expected = param_ids(&model).len();
    if ids.len() != expected {
        return Err(TrainError::Checkpoint {
            path: path.display().to_string(),
            message: format!("{} ids saved, the model has {expected} parameters", ids.len()),
        });
    }
    struct SetIds(std::vec::IntoIter<u64>);
    impl ModuleMapper for SetIds {
        fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if let Some(id) = self.0.next() {
                param.id = ParamId::from(id);
            }
            param
        }
    }
    Ok(model.map(&mut SetIds(ids.into_iter())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_a_tenth() {
        let cfg = TrainConfig { lr: 1.0, warmup: 4, steps: 104, ..Default::default() };
        assert_eq!(cfg.lr_at(0), 0.25);
        assert_eq!(cfg.lr_at(3), 1.0);
        assert!((cfg.lr_at(4) - 1.0).abs() < 1e-12);
        assert!((cfg.lr_at(54) - 0.55).abs() < 1e-9);
        assert!((cfg.lr_at(104) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn example_order_is_a_permutation_per_pass() {
        let order = ExampleOrder { len: 7, seed: 3 };
        for pass in 0..3u64 {
            let mut seen: Vec<usize> = (0..7).map(|i| order.index(pass * 7 + i)).collect();
            seen.sort();
            assert_eq!(seen, (0..7).collect::<Vec<_>>());
        }
    }
}
