//! `reasonflux templates eval`: recall@1, recall@5 and MRR of each retriever on labelled
//! queries — a set of problems written independently of the library (`evals/retrieval/`) and
//! the queries generated from the library itself (`rf_templates::eval`).
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use rf_templates::eval::{MRR_DEPTH, Query, QueryKind, Scores, labelled_queries, score};
use rf_templates::{Library, Retriever, RetrieverKind, SearchOptions, Subject};
use serde::Deserialize;

/// Which part of a labelled set to score: fusion settings are chosen on `validation`, figures
/// are reported on `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SetSplit {
    Validation,
    Test,
}

impl SetSplit {
    pub fn as_str(self) -> &'static str {
        match self {
            SetSplit::Validation => "validation",
            SetSplit::Test => "test",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelledSet {
    problems: Vec<LabelledProblem>,
}

/// One problem and every template that would genuinely help solve it (labelling rule:
/// `evals/retrieval/README.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledProblem {
    pub id: String,
    pub subject: Subject,
    pub split: SetSplit,
    pub text: String,
    pub labels: Vec<String>,
}

/// Reads a labelled set and checks it against the library: unique ids, known template ids.
pub fn load_set(path: &Path, library: &Library) -> anyhow::Result<Vec<LabelledProblem>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let set: LabelledSet = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let known: BTreeSet<&str> = library.templates.iter().map(|t| t.id.as_str()).collect();
    let mut seen = BTreeSet::new();
    for p in &set.problems {
        anyhow::ensure!(seen.insert(p.id.as_str()), "{}: problem id '{}' appears twice", path.display(), p.id);
        anyhow::ensure!(!p.text.trim().is_empty(), "{}: problem '{}' has no text", path.display(), p.id);
        let distinct: BTreeSet<&String> = p.labels.iter().collect();
        anyhow::ensure!(distinct.len() == p.labels.len(), "{}: problem '{}' lists a label twice", path.display(), p.id);
        if let Some(bad) = p.labels.iter().find(|l| !known.contains(l.as_str())) {
            anyhow::bail!("{}: problem '{}' is labelled with '{bad}', which is not a template id", path.display(), p.id);
        }
    }
    Ok(set.problems)
}

/// The library-derived query sets, one per query kind (each query's one relevant template is
/// the one it was made from).
pub fn library_query_sets(library: &Library) -> Vec<(&'static str, Vec<Query>)> {
    let queries = labelled_queries(library);
    QueryKind::ALL.iter().map(|&kind| (kind.as_str(), queries.iter().filter(|q| q.kind == kind).map(Query::from).collect())).collect()
}

/// Queries from the labelled problems of `split` and `subject` (all when `None`); problems the
/// library has no template for are left out (they are counted separately).
pub fn problem_queries(problems: &[LabelledProblem], split: Option<SetSplit>, subject: Option<Subject>) -> Vec<Query> {
    problems
        .iter()
        .filter(|p| split.is_none_or(|s| p.split == s) && subject.is_none_or(|s| p.subject == s) && !p.labels.is_empty())
        .map(|p| Query { text: p.text.clone(), relevant: p.labels.clone() })
        .collect()
}

/// [`Scores`] and the mean time per query, embedding included.
pub fn timed_score(queries: &[Query], rank: impl FnMut(&str) -> anyhow::Result<Vec<String>>) -> anyhow::Result<(Scores, f64)> {
    let start = Instant::now();
    let scores = score(queries, rank)?;
    Ok((scores, start.elapsed().as_secs_f64() * 1e3 / queries.len().max(1) as f64))
}

/// The ranking of one retriever; `embed` turns a query into its vector when the kind needs it.
pub fn ranker<'a>(
    retriever: &'a Retriever,
    kind: RetrieverKind,
    options: &'a SearchOptions,
    mut embed: impl FnMut(&str) -> anyhow::Result<Vec<f32>> + 'a,
) -> impl FnMut(&str) -> anyhow::Result<Vec<String>> + 'a {
    move |text: &str| {
        let embedding = if kind.needs_encoder() { Some(embed(text)?) } else { None };
        let hits = retriever.search_by(kind, text, embedding.as_deref(), MRR_DEPTH, options)?;
        Ok(hits.into_iter().map(|h| h.id).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn words(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut word = String::new();
        let mut flush = |w: &mut String| {
            if !w.is_empty() {
                out.insert(std::mem::take(w));
            }
        };
        for c in text.chars().flat_map(char::to_lowercase) {
            let same_class = word.chars().last().is_none_or(|l| l.is_ascii_digit() == c.is_ascii_digit());
            if !(c.is_ascii_lowercase() || c.is_ascii_digit()) || !same_class {
                flush(&mut word);
            }
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                word.push(c);
            }
        }
        flush(&mut word);
        out
    }

    fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
        let union = a.union(b).count();
        if union == 0 { 0.0 } else { a.intersection(b).count() as f64 / union as f64 }
    }

    fn independent_set() -> (Library, Vec<LabelledProblem>) {
        let library = Library::load_dir(&repo().join("templates")).unwrap();
        let problems = load_set(&repo().join("evals/retrieval/independent.toml"), &library).unwrap();
        (library, problems)
    }

    #[test]
    fn independent_set_covers_every_subject_and_both_splits() {
        let (_, problems) = independent_set();
        assert!(problems.len() >= 150, "{} problems", problems.len());
        let subjects: BTreeSet<Subject> = problems.iter().map(|p| p.subject).collect();
        assert_eq!(subjects.len(), 7, "{subjects:?}");
        for split in [SetSplit::Validation, SetSplit::Test] {
            assert!(problem_queries(&problems, Some(split), None).len() >= 40, "{split:?}");
        }
    }

    /// The set was written without the library; this keeps it from drifting into the library's
    /// own worked examples (first-round problems that did were rewritten, see its README).
    #[test]
    fn independent_set_is_not_the_library_s_own_examples() {
        let (library, problems) = independent_set();
        let library_texts: Vec<(String, BTreeSet<String>)> = library
            .templates
            .iter()
            .flat_map(|t| t.example.iter().map(|e| &e.problem).chain(&t.scope).map(move |text| (t.id.clone(), words(text))))
            .collect();
        for p in &problems {
            let mine = words(&p.text);
            let (id, overlap) = library_texts
                .iter()
                .map(|(id, w)| (id, jaccard(&mine, w)))
                .fold((None, 0.0), |best, (id, j)| if j > best.1 { (Some(id), j) } else { best });
            assert!(overlap < 0.5, "{} shares {overlap:.2} of its words with {id:?}", p.id);
        }
    }

    #[test]
    fn problems_without_a_template_are_left_out() {
        let p = |id: &str, split, labels: &[&str]| LabelledProblem {
            id: id.into(),
            subject: Subject::Algebra,
            split,
            text: id.into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
        };
        let set = [p("1", SetSplit::Test, &["t"]), p("2", SetSplit::Test, &[]), p("3", SetSplit::Validation, &["t"])];
        assert_eq!(problem_queries(&set, Some(SetSplit::Test), None).len(), 1);
        assert_eq!(problem_queries(&set, None, None).len(), 2);
    }
}
