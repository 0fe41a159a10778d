//! Fixed evaluation sets and sharding.
//!
//! An [`EvalSet`] is a committed list of problem ids of one benchmark (`evals/sets/*.txt`), so
//! every strategy and model is measured on the same problems. The file format is plain text:
//!
//! ```text
//! # math500-100: 20 problems per MATH level, seeded draw
//! benchmark = math500
//! test/precalculus/807.json
//! test/algebra/1265.json
//! ```
//!
//! `#` lines and blank lines are comments; the `benchmark = <name>` line must come before the
//! first id; ids are one per line, in the order the set is run.
//!
//! [`draw_per_level`] makes such a set: a seeded shuffle of the whole benchmark (the same
//! shuffle as [`crate::select_subset`]), then the first `per_level` problems of each level, in
//! level order. [`Shard`] (`--shard I/N`) splits a problem list round-robin over `N` processes,
//! so each shard gets a similar mix of levels.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::bench::{BENCHMARKS, Problem, select_subset};
use crate::error::EvalError;
use crate::summary::level_cmp;

/// A fixed, ordered list of problem ids of one benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalSet {
    pub benchmark: String,
    pub ids: Vec<String>,
}

impl EvalSet {
    /// Read a set file (see the module docs for the format).
    pub fn load(path: &Path) -> Result<EvalSet, EvalError> {
        let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
        EvalSet::parse(path, &text)
    }

    /// Parse the text of a set file; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<EvalSet, EvalError> {
        let mut benchmark: Option<String> = None;
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix("benchmark").and_then(|r| r.trim_start().strip_prefix('=')) {
                let name = name.trim();
                if !BENCHMARKS.contains(&name) {
                    return Err(EvalError::malformed(path, i + 1, format!("unknown benchmark `{name}` (known: {})", BENCHMARKS.join(", "))));
                }
                if benchmark.replace(name.to_string()).is_some() {
                    return Err(EvalError::malformed(path, i + 1, "a second `benchmark =` line"));
                }
                continue;
            }
            if benchmark.is_none() {
                return Err(EvalError::malformed(path, i + 1, "an id before the `benchmark = <name>` line"));
            }
            if !seen.insert(line.to_string()) {
                return Err(EvalError::malformed(path, i + 1, format!("id `{line}` listed twice")));
            }
            ids.push(line.to_string());
        }
        let benchmark = benchmark.ok_or_else(|| EvalError::malformed(path, 1, "no `benchmark = <name>` line"))?;
        Ok(EvalSet { benchmark, ids })
    }

    /// The set file's text: `comment` lines (each prefixed with `# `), the benchmark, the ids.
    pub fn to_text(&self, comment: &str) -> String {
        let mut s: String = comment.lines().map(|l| format!("# {l}\n")).collect();
        s.push_str(&format!("benchmark = {}\n", self.benchmark));
        for id in &self.ids {
            s.push_str(id);
            s.push('\n');
        }
        s
    }

    /// The problems of this set, in the set's order. An id the benchmark does not have is an
    /// error (the set and the data disagree).
    pub fn select(&self, problems: Vec<Problem>) -> Result<Vec<Problem>, EvalError> {
        let mut by_id: HashMap<String, Problem> = problems.into_iter().map(|p| (p.id.clone(), p)).collect();
        self.ids
            .iter()
            .map(|id| {
                by_id.remove(id).ok_or_else(|| EvalError::SetMismatch {
                    benchmark: self.benchmark.clone(),
                    id: id.clone(),
                })
            })
            .collect()
    }
}

/// A seeded draw of `per_level` problems from each difficulty level (problems without a level
/// form one more group), in level order. A level with fewer problems gives all it has.
pub fn draw_per_level(problems: Vec<Problem>, per_level: usize, seed: u64) -> Vec<Problem> {
    let mut groups: BTreeMap<String, Vec<Problem>> = BTreeMap::new();
    for p in select_subset(problems, None, Some(seed)) {
        let level = p.level.clone().unwrap_or_default();
        let group = groups.entry(level).or_default();
        if group.len() < per_level {
            group.push(p);
        }
    }
    let mut levels: Vec<_> = groups.into_iter().collect();
    levels.sort_by(|a, b| level_cmp(&a.0, &b.0));
    levels.into_iter().flat_map(|(_, g)| g).collect()
}

/// One of `count` round-robin parts of a problem list (`--shard I/N`, `I` from 1 to `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole list.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Problems `index-1, index-1+count, …` of `problems`.
    pub fn take<T>(&self, problems: Vec<T>) -> Vec<T> {
        problems.into_iter().enumerate().filter(|(i, _)| self.takes(*i)).map(|(_, p)| p).collect()
    }

    /// Whether the problem at (0-based) `position` of the list is this shard's.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }

    /// The file-name suffix of this shard's records: empty for the whole list, else `.shardIofN`.
    pub fn file_suffix(&self) -> String {
        if self.count == 1 { String::new() } else { format!(".shard{}of{}", self.index, self.count) }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("shard `{s}` is not I/N with 1 ≤ I ≤ N (e.g. 1/2)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}
