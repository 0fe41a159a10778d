//! A labelled query set generated deterministically from the library, and the recall@1,
//! recall@5 and MRR of a ranking on labelled queries ([`score`]).
//!
//! Query types (each labelled with the template it came from):
//! - [`QueryKind::Example`]: the template's example problem (a raw problem as the user types it);
//! - [`QueryKind::NameTags`]: what a navigator step looks like, paraphrased: the name's words
//!   shuffled, about half of the paraphrasable words replaced by synonyms, plus 1–2 tags;
//! - [`QueryKind::Description`]: the description alone.
//!
//! The synonym table here is used only to *make* queries; the retriever does not know it, so
//! the paraphrase numbers measure robustness honestly.

use crate::library::Library;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueryKind {
    Example,
    NameTags,
    Description,
}

impl QueryKind {
    pub const ALL: [QueryKind; 3] = [QueryKind::Example, QueryKind::NameTags, QueryKind::Description];

    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Example => "example-problem",
            QueryKind::NameTags => "name+tags (paraphrased)",
            QueryKind::Description => "description",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledQuery {
    pub kind: QueryKind,
    pub text: String,
    /// Id of the template the query was made from.
    pub target: String,
}

/// Paraphrases for words common in template names (lowercase).
const SYNONYMS: &[(&str, &str)] = &[
    ("method", "technique"),
    ("methods", "techniques"),
    ("problem", "question"),
    ("problems", "questions"),
    ("solving", "handling"),
    ("solution", "answer"),
    ("find", "determine"),
    ("finding", "determining"),
    ("determining", "finding"),
    ("calculating", "computing"),
    ("calculation", "computation"),
    ("application", "use"),
    ("applications", "uses"),
    ("property", "characteristic"),
    ("properties", "characteristics"),
    ("value", "quantity"),
    ("maximum", "largest"),
    ("minimum", "smallest"),
    ("range", "interval"),
    ("proof", "demonstration"),
    ("proving", "showing"),
    ("condition", "requirement"),
    ("conditions", "requirements"),
    ("quick", "fast"),
    ("general", "generic"),
    ("simplification", "reduction"),
    ("simplifying", "reducing"),
    ("transformation", "conversion"),
    ("analysis", "study"),
    ("judgment", "decision"),
    ("judging", "deciding"),
    ("relationship", "relation"),
    ("position", "placement"),
    ("formula", "rule"),
    ("formulas", "rules"),
    ("sum", "total"),
    ("using", "via"),
    ("graph", "plot"),
    ("probability", "chance"),
    ("perpendicular", "orthogonal"),
    ("equation", "relation"),
    ("equations", "relations"),
    ("strategy", "approach"),
    ("evaluation", "assessment"),
];

fn synonym(word: &str) -> Option<&'static str> {
    let lower = word.to_lowercase();
    SYNONYMS.iter().find(|(w, _)| *w == lower).map(|(_, s)| *s)
}

/// SplitMix64: tiny, deterministic, good enough for shuffling query words.
struct Rng(u64);

impl Rng {
    fn seeded(s: &str) -> Rng {
        // FNV-1a of the id, so each template's queries are fixed regardless of library order.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in s.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Builds the query set: one query of each kind per template, in library order.
pub fn labelled_queries(library: &Library) -> Vec<LabelledQuery> {
    let mut out = Vec::with_capacity(library.templates.len() * 3);
    for t in &library.templates {
        if let Some(example) = &t.example {
            out.push(LabelledQuery { kind: QueryKind::Example, text: example.problem.clone(), target: t.id.clone() });
        }

        let mut rng = Rng::seeded(&t.id);
        let mut words: Vec<String> = t
            .name
            .split_whitespace()
            .map(|w| match synonym(w) {
                Some(s) if rng.next() % 2 == 0 => s.to_string(),
                _ => w.to_string(),
            })
            .collect();
        for i in (1..words.len()).rev() {
            let j = rng.below(i + 1);
            words.swap(i, j);
        }
        let n_tags = 1 + rng.below(2).min(t.tags.len().saturating_sub(1));
        let mut tag_positions: Vec<usize> = (0..t.tags.len()).collect();
        for i in (1..tag_positions.len()).rev() {
            let j = rng.below(i + 1);
            tag_positions.swap(i, j);
        }
        let mut text = words.join(" ");
        for &p in tag_positions.iter().take(n_tags) {
            text.push_str(", ");
            text.push_str(&t.tags[p]);
        }
        out.push(LabelledQuery { kind: QueryKind::NameTags, text, target: t.id.clone() });

        out.push(LabelledQuery { kind: QueryKind::Description, text: t.description.clone(), target: t.id.clone() });
    }
    out
}

/// A query with every template id that counts as finding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub text: String,
    pub relevant: Vec<String>,
}

impl From<&LabelledQuery> for Query {
    fn from(q: &LabelledQuery) -> Query {
        Query { text: q.text.clone(), relevant: vec![q.target.clone()] }
    }
}

/// How deep a hit still counts for the mean reciprocal rank.
pub const MRR_DEPTH: usize = 10;

/// Recall and rank figures of one ranking on one query set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub queries: usize,
    /// The first hit is relevant.
    pub recall_at_1: f64,
    /// A relevant template is among the first 5.
    pub recall_at_5: f64,
    /// Mean of 1 / rank of the first relevant hit (0 when none is in the first [`MRR_DEPTH`]).
    pub mrr: f64,
}

/// Ranks each query with `rank` (template ids, best first) and scores the rankings.
pub fn score<E>(queries: &[Query], mut rank: impl FnMut(&str) -> Result<Vec<String>, E>) -> Result<Scores, E> {
    let (mut at1, mut at5, mut rr) = (0usize, 0usize, 0f64);
    for q in queries {
        let ranked = rank(&q.text)?;
        let first = ranked.iter().take(MRR_DEPTH).position(|id| q.relevant.contains(id));
        at1 += usize::from(first == Some(0));
        at5 += usize::from(first.is_some_and(|r| r < 5));
        rr += first.map_or(0.0, |r| 1.0 / (r + 1) as f64);
    }
    let n = queries.len().max(1) as f64;
    Ok(Scores { queries: queries.len(), recall_at_1: at1 as f64 / n, recall_at_5: at5 as f64 / n, mrr: rr / n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(relevant: &[&str]) -> Query {
        Query { text: relevant.join(" "), relevant: relevant.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn recall_and_mrr_count_the_first_relevant_hit() {
        let queries = [query(&["a"]), query(&["b", "z"]), query(&["c"])];
        // a first; z third (b absent); c never.
        let rankings = |text: &str| -> Result<Vec<String>, ()> {
            let order = match text {
                "a" => vec!["a", "x"],
                "b z" => vec!["x", "y", "z"],
                _ => vec!["x"],
            };
            Ok(order.into_iter().map(String::from).collect())
        };
        let s = score(&queries, rankings).unwrap();
        assert_eq!(s.queries, 3);
        assert!((s.recall_at_1 - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.recall_at_5 - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.mrr - (1.0 + 1.0 / 3.0) / 3.0).abs() < 1e-12);
    }
}
