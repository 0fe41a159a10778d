//! What a DPO run keeps around the training loop: the reference policy's log-probabilities,
//! computed once from the starting model and reused when a run resumes, and the report of
//! preference accuracy and margins on the training and held-out pairs.
use std::path::Path;

use rf_engine::Transformer;
use serde::{Deserialize, Serialize};

use crate::loss::Tokenized;
use crate::trainer::reference_logprobs;
use crate::{Result, TrainError, io_error};

/// The file in a run's output folder that holds the reference log-probabilities.
pub const REFERENCE_FILE: &str = "reference_logprobs.json";

/// `(chosen, rejected)` log-probabilities of every pair under the reference (the model the run
/// started from), from `out/reference_logprobs.json` when an earlier run wrote it, computed and
/// written otherwise. A resumed run (`resuming`) without that file is an error: the model it
/// starts from is partly trained, so it is no longer the reference.
pub fn cached_reference_logprobs(out: &Path, resuming: bool, model: &Transformer, pairs: &[(Tokenized, Tokenized)]) -> Result<Vec<(f64, f64)>> {
    let path = out.join(REFERENCE_FILE);
    let bad = |message: String| TrainError::Checkpoint { path: path.display().to_string(), message };
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        let refs: Vec<(f64, f64)> = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if refs.len() != pairs.len() {
            return Err(bad(format!("{} reference pairs for {} pairs: the pairs file changed since the first run", refs.len(), pairs.len())));
        }
        return Ok(refs);
    }
    if resuming {
        return Err(bad("missing; a resumed DPO run cannot recompute the reference from a trained model".into()));
    }
    let refs = reference_logprobs(model, pairs)?;
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    std::fs::write(&path, serde_json::to_string(&refs).expect("numbers serialise")).map_err(io_error(&path))?;
    Ok(refs)
}

/// Preference accuracy and mean implicit-reward margin, after training and (for a run that
/// started from the reference) before it; `report.json` of a DPO run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpoReport {
    pub beta: f64,
    pub train_pairs: usize,
    pub held_out_pairs: usize,
    pub train_accuracy_after: f64,
    pub train_margin_after: f64,
    /// `None` for a resumed run: it starts from a trained model (the first run's report has them).
    pub held_out_accuracy_before: Option<f64>,
    pub held_out_accuracy_after: f64,
    pub held_out_margin_before: Option<f64>,
    pub held_out_margin_after: f64,
    /// Per pair, in the order of the held-out pairs in the file, so a split that holds out
    /// several problems can still be read problem by problem.
    pub held_out_margins_after: Vec<f64>,
}

impl DpoReport {
    /// From the margins of every pair (`beta` times the chosen-minus-rejected log-ratio gain).
    pub fn new(beta: f64, train_after: &[f64], held_before: Option<&[f64]>, held_after: Vec<f64>) -> DpoReport {
        DpoReport {
            beta,
            train_pairs: train_after.len(),
            held_out_pairs: held_after.len(),
            train_accuracy_after: accuracy(train_after),
            train_margin_after: mean(train_after),
            held_out_accuracy_before: held_before.map(accuracy),
            held_out_accuracy_after: accuracy(&held_after),
            held_out_margin_before: held_before.map(mean),
            held_out_margin_after: mean(&held_after),
            held_out_margins_after: held_after,
        }
    }

    /// Writes `out/report.json`.
    pub fn write(&self, out: &Path) -> Result<()> {
        let path = out.join("report.json");
        std::fs::write(&path, serde_json::to_string_pretty(self).expect("a report serialises")).map_err(io_error(&path))
    }
}

/// Share of pairs whose margin is positive (the chosen trajectory preferred).
fn accuracy(margins: &[f64]) -> f64 {
    margins.iter().filter(|m| **m > 0.0).count() as f64 / margins.len().max(1) as f64
}

fn mean(margins: &[f64]) -> f64 {
    margins.iter().sum::<f64>() / margins.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_counts_positive_margins_as_preferred() {
        let r = DpoReport::new(0.1, &[0.5, -0.1, 0.2, 0.0], Some(&[-0.2, 0.1]), vec![0.3, 0.1]);
        assert_eq!((r.train_pairs, r.held_out_pairs), (4, 2));
        assert!((r.train_accuracy_after - 0.5).abs() < 1e-12, "a zero margin is not a preference");
        assert_eq!((r.held_out_accuracy_before, r.held_out_accuracy_after), (Some(0.5), 1.0));
        assert!((r.held_out_margin_after - 0.2).abs() < 1e-12);
    }
}
