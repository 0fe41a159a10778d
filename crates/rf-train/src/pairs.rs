//! Preference pairs for trajectory-level DPO (paper §3.2).
//!
//! For a training problem x: sample several template trajectories from the navigator, then score
//! each by the inference model's accuracy when the planner carries it out on x and on problems
//! similar to x (the plan is fed to the planner as the navigator's reply, so retrieval,
//! instantiation and the final answer run exactly as at solve time), graded by `rf-grade`.
//! Every pair of trajectories with different scores gives a (better, worse) pair.
use std::collections::HashSet;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use rf_engine::{GenerationConfig, LocalModel, SamplingConfig};
use rf_planner::parse::parse_plan;
use rf_planner::prompts::plan_messages;
use rf_planner::{Action, Backend, DriveError, ModelRole, Observation, Planner, PlannerConfig, Strategy, run_to_completion};
use serde::{Deserialize, Serialize};

use crate::data::{PLAN_STEPS, is_held_out};
use crate::{Result, TrainError, io_error};
use rf_solve::engine_messages;

/// A problem with its reference answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub text: String,
    pub answer: String,
}

/// Which part of the problems a pair was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Problems DPO trains on.
    Train,
    /// Problems kept out of training, for the held-out preference accuracy.
    HeldOut,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::HeldOut => "held_out",
        }
    }
}

/// One line of a pairs file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencePair {
    pub problem: String,
    pub chosen: String,
    pub rejected: String,
    pub chosen_score: f64,
    pub rejected_score: f64,
    pub split: Split,
}

/// A sampled trajectory and how well it guided the inference model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredTrajectory {
    pub text: String,
    /// Mean accuracy over the problem and its similar problems, and over the runs of each.
    pub score: f64,
}

/// Up to `n` distinct trajectories the planner can read, sampled at temperature 1.0 (top-p 0.95)
/// from `navigator` with the planner's own planning prompt; `attempts` bounds the samples drawn.
pub fn sample_trajectories(
    navigator: &mut LocalModel,
    problem: &str,
    n: usize,
    attempts: usize,
    seed: u64,
    max_new_tokens: usize,
) -> Result<Vec<String>> {
    let prompt = navigator.chat_prompt(&engine_messages(&plan_messages(problem, PLAN_STEPS)))?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for k in 0..attempts {
        if out.len() == n {
            break;
        }
        let sampling = SamplingConfig { temperature: 1.0, top_p: 0.95, top_k: 0, seed: seed.wrapping_add(k as u64) };
        let cfg = GenerationConfig { max_new_tokens, sampling, ..Default::default() };
        let text = navigator.generate_ids(&prompt, &cfg, |_| ControlFlow::Continue(()))?.text;
        if parse_plan(&text, PLAN_STEPS).is_some() && seen.insert(text.trim().to_string()) {
            out.push(text.trim().to_string());
        }
    }
    Ok(out)
}

/// Runs the planner on `problem` with `plan` standing in for the navigator's plan and grades
/// the final answer. A fatal backend error (or a planner bug) is returned, not scored as a
/// miss: a lost device would otherwise turn every later trajectory into a zero.
pub fn solves_with_plan<B: Backend>(plan: &str, problem: &Problem, config: &PlannerConfig, backend: &mut B) -> std::result::Result<bool, DriveError> {
    let mut planner = Planner::new(problem.text.clone(), config.clone());
    if let Action::Generate(g) = planner.next_action()
        && g.role == ModelRole::Navigator
    {
        let obs = Observation::Generated { request_id: g.request_id, text: plan.to_string(), tokens_in: 0, tokens_out: 0, truncated: false };
        planner.feed(obs)?;
    }
    let trace = run_to_completion(&mut planner, backend)?;
    Ok(trace.answer.is_some_and(|a| rf_grade::grade(&problem.answer, &a).equivalent))
}

/// Scores each trajectory on `problem` plus `similar`, each carried out `runs` times (planner
/// seeds `config.seed`, `config.seed + 1000`, …): the inference model samples, so one run of a
/// trajectory gives only right or wrong, and the mean over several is its accuracy.
pub fn score_trajectories<B: Backend>(
    trajectories: &[String],
    problem: &Problem,
    similar: &[Problem],
    config: &PlannerConfig,
    runs: usize,
    backend: &mut B,
) -> std::result::Result<Vec<ScoredTrajectory>, DriveError> {
    let set: Vec<&Problem> = std::iter::once(problem).chain(similar).collect();
    let runs = runs.max(1);
    let mut scored = Vec::with_capacity(trajectories.len());
    for t in trajectories {
        let mut solved = 0usize;
        for r in 0..runs {
            let config = PlannerConfig { seed: config.seed.wrapping_add(r as u64 * 1000), ..config.clone() };
            for p in &set {
                solved += usize::from(solves_with_plan(t, p, &config, backend)?);
            }
        }
        scored.push(ScoredTrajectory { text: t.clone(), score: solved as f64 / (set.len() * runs) as f64 });
    }
    Ok(scored)
}

/// (better, worse) pairs from scored trajectories, best-versus-worst first, at most `max_pairs`.
pub fn make_pairs(problem: &str, scored: &[ScoredTrajectory], split: Split, max_pairs: usize) -> Vec<PreferencePair> {
    let mut pairs = Vec::new();
    for a in scored {
        for b in scored {
            if a.score > b.score {
                pairs.push(PreferencePair {
                    problem: problem.to_string(),
                    chosen: a.text.clone(),
                    rejected: b.text.clone(),
                    chosen_score: a.score,
                    rejected_score: b.score,
                    split,
                });
            }
        }
    }
    pairs.sort_by(|x, y| (y.chosen_score - y.rejected_score).total_cmp(&(x.chosen_score - x.rejected_score)));
    pairs.truncate(max_pairs);
    pairs
}

/// The `m` problems of `pool` sharing the most words with `problem` (Jaccard), itself excluded.
pub fn similar_problems(problem: &Problem, pool: &[Problem], m: usize) -> Vec<Problem> {
    let words = |s: &str| -> HashSet<String> {
        s.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(str::to_lowercase).collect()
    };
    let mine = words(&problem.text);
    let mut ranked: Vec<(f64, &Problem)> = pool
        .iter()
        .filter(|p| p.text != problem.text)
        .map(|p| {
            let theirs = words(&p.text);
            let inter = mine.intersection(&theirs).count() as f64;
            let union = mine.union(&theirs).count().max(1) as f64;
            (inter / union, p)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.into_iter().take(m).map(|(_, p)| p.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(text: &str, score: f64) -> ScoredTrajectory {
        ScoredTrajectory { text: text.into(), score }
    }

    #[test]
    fn pairs_only_from_different_scores_best_gap_first() {
        let pairs = make_pairs("x", &[scored("a", 1.0), scored("b", 0.0), scored("c", 0.5), scored("d", 0.0)], Split::Train, 10);
        assert_eq!(pairs.len(), 5);
        assert_eq!((pairs[0].chosen_score, pairs[0].rejected_score), (1.0, 0.0));
        assert!(pairs.iter().all(|p| p.chosen_score > p.rejected_score));
        assert!(make_pairs("x", &[scored("a", 0.0), scored("b", 0.0)], Split::Train, 10).is_empty());
    }

    /// Answers every inference request with `\boxed{4}` when its seed is at least 1000 (the
    /// second run onwards) and `\boxed{5}` before: the right answer is luck of the seed.
    struct SeedLuck;

    impl Backend for SeedLuck {
        fn generate(&mut self, r: &rf_planner::GenerateRequest) -> std::result::Result<rf_planner::Generation, rf_planner::BackendError> {
            let text = if r.sampling.seed >= 1000 { "so \\boxed{4}" } else { "so \\boxed{5}" };
            Ok(rf_planner::Generation { text: text.into(), tokens_in: 1, tokens_out: 1, truncated: false })
        }
        fn retrieve(&mut self, _: &rf_planner::RetrieveRequest) -> std::result::Result<Vec<rf_planner::TemplateCard>, rf_planner::BackendError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn score_is_the_mean_accuracy_over_runs_with_different_seeds() {
        let plan = r#"{"steps": [{"template": "Addition", "tags": ["arithmetic"], "sub_goal": "add"}]}"#;
        let problem = Problem { text: "What is 2 + 2?".into(), answer: "4".into() };
        let config = PlannerConfig { max_plan_steps: 1, evaluate_steps: false, ..PlannerConfig::default() };
        let score = |runs| score_trajectories(&[plan.to_string()], &problem, &[], &config, runs, &mut SeedLuck).unwrap()[0].score;
        assert_eq!(score(1), 0.0);
        assert_eq!(score(2), 0.5);
        assert_eq!(score(4), 0.75);
    }

    #[test]
    fn similar_problems_share_words() {
        let p = |t: &str| Problem { text: t.into(), answer: "1".into() };
        let pool = vec![p("the sum of the roots of a quadratic"), p("count lattice paths in a grid"), p("roots of a cubic and their sum")];
        let sim = similar_problems(&p("sum of the roots of the quadratic x^2+3x+2"), &pool, 1);
        assert_eq!(sim[0].text, "the sum of the roots of a quadratic");
    }
}

/// Problems from the worked examples of the templates written here (their answers were checked
/// by computation; many upstream examples lack a usable problem or answer), on one side of the
/// held-out split, shortest first: the small models here solve almost none of the long ones,
/// and pairs need trajectories whose scores differ.
pub fn template_problems(library: &rf_templates::Library, split: Split) -> Vec<Problem> {
    let held_out = split == Split::HeldOut;
    let mut found: Vec<Problem> = library
        .templates
        .iter()
        .filter(|t| t.origin == rf_templates::Origin::ReasonfluxWeb && is_held_out(&t.id) == held_out)
        .filter_map(|t| {
            let example = t.example.as_ref()?;
            let answer = example.answer.clone()?;
            let text = example.problem.trim();
            (!text.is_empty() && !answer.trim().is_empty()).then(|| Problem { text: text.to_string(), answer })
        })
        .collect();
    found.sort_by_key(|p| p.text.chars().count());
    found
}

/// Disjoint slices of one benchmark: the first `train` problems, then the next `held_out`.
pub fn benchmark_pools(all: &[Problem], train: usize, held_out: usize) -> [(Split, Vec<Problem>); 2] {
    [
        (Split::Train, all.iter().take(train).cloned().collect()),
        (Split::HeldOut, all.iter().skip(train).take(held_out).cloned().collect()),
    ]
}

/// Reads a pairs file (JSON lines).
pub fn read_pairs(path: &Path) -> Result<Vec<PreferencePair>> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| TrainError::Record { path: path.display().to_string(), line: i + 1, message: e.to_string() })
        })
        .collect()
}

/// One line of the scored log: a problem scored, with or without pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredProblem {
    pub problem: String,
    pub split: Split,
    pub scores: Vec<f64>,
    pub pairs: usize,
}

/// What a pairs run has done, read back from its files, and where it appends what it does next:
/// the pairs file and `<pairs>.scored.jsonl`, which records every problem scored (pairs or not),
/// so a re-run skips it.
pub struct PairsLog {
    done: HashSet<String>,
    pairs: (std::path::PathBuf, std::fs::File),
    scored: (std::path::PathBuf, std::fs::File),
}

impl PairsLog {
    /// Reads what earlier runs did. A last line cut by an interrupted run is dropped first (its
    /// problem has no scored line yet, so it is scored again); damage anywhere else is an error.
    pub fn open(out: &Path) -> Result<PairsLog> {
        let scored_path = out.with_extension("scored.jsonl");
        let pairs = open_whole_lines(out)?;
        let scored = open_whole_lines(&scored_path)?;
        let mut done: HashSet<String> = read_pairs(out)?.into_iter().map(|p| p.problem).collect();
        let text = std::fs::read_to_string(&scored_path).map_err(io_error(&scored_path))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let record: ScoredProblem = serde_json::from_str(line)
                .map_err(|e| TrainError::Record { path: scored_path.display().to_string(), line: i + 1, message: e.to_string() })?;
            done.insert(record.problem);
        }
        Ok(PairsLog { done, pairs: (out.to_path_buf(), pairs), scored: (scored_path, scored) })
    }

    /// Whether an earlier run already scored this problem.
    pub fn is_done(&self, problem: &str) -> bool {
        self.done.contains(problem)
    }

    /// Appends the new pairs, then the scored line (so a problem counts as done only once its
    /// pairs are written).
    pub fn record(&mut self, scored: &ScoredProblem, pairs: &[PreferencePair]) -> Result<()> {
        for pair in pairs {
            append_line(&mut self.pairs, &serde_json::to_string(pair).expect("a pair serialises"))?;
        }
        append_line(&mut self.scored, &serde_json::to_string(scored).expect("a score line serialises"))?;
        self.done.insert(scored.problem.clone());
        Ok(())
    }
}

/// Opens `path` for appending (creating it), first cutting an unfinished last line.
fn open_whole_lines(path: &Path) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new().create(true).read(true).append(true).open(path).map_err(io_error(path))?;
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        file.set_len(keep as u64).map_err(io_error(path))?;
    }
    Ok(file)
}

/// One record and its newline in a single write, so an interruption cannot leave two records
/// on one line.
fn append_line((path, file): &mut (std::path::PathBuf, std::fs::File), record: &str) -> Result<()> {
    file.write_all(format!("{record}\n").as_bytes()).map_err(io_error(path))
}

#[cfg(test)]
mod pairs_log_tests {
    use super::*;

    #[test]
    fn a_rerun_skips_scored_problems_and_rescoring_a_cut_line() {
        let dir = std::env::temp_dir().join(format!("rf-pairs-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("pairs.jsonl");
        let pair = PreferencePair {
            problem: "p1".into(),
            chosen: "a".into(),
            rejected: "b".into(),
            chosen_score: 1.0,
            rejected_score: 0.0,
            split: Split::Train,
        };
        let mut log = PairsLog::open(&out).unwrap();
        log.record(&ScoredProblem { problem: "p1".into(), split: Split::Train, scores: vec![1.0, 0.0], pairs: 1 }, std::slice::from_ref(&pair)).unwrap();
        log.record(&ScoredProblem { problem: "p2".into(), split: Split::HeldOut, scores: vec![0.0, 0.0], pairs: 0 }, &[]).unwrap();
        drop(log);
        // An interrupted run's last lines, then a run that goes on after them.
        let scored = out.with_extension("scored.jsonl");
        for (path, cut) in [(&out, "{\"problem\":\"p3\",\"cho"), (&scored, "{\"problem\":\"p3\",\"spl")] {
            let mut text = std::fs::read_to_string(path).unwrap();
            text.push_str(cut);
            std::fs::write(path, text).unwrap();
        }
        let mut log = PairsLog::open(&out).unwrap();
        assert!(log.is_done("p1") && log.is_done("p2") && !log.is_done("p3"));
        log.record(&ScoredProblem { problem: "p3".into(), split: Split::Train, scores: vec![0.0], pairs: 0 }, &[]).unwrap();
        drop(log);
        assert!(PairsLog::open(&out).unwrap().is_done("p3"), "the record after a cut line is read back");
        assert_eq!(read_pairs(&out).unwrap(), vec![pair]);
        std::fs::write(&out, "{\"problem\": 3}\n").unwrap();
        assert!(matches!(PairsLog::open(&out), Err(TrainError::Record { line: 1, .. })), "a damaged pairs file is an error, not a fresh start");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
