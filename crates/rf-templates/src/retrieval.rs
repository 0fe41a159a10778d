//! Lexical retrieval: a BM25F index over template fields ([`Index`]) and the query side
//! ([`Retriever`]). The index keeps per-(term, template) field counts and the final BM25F
//! weights, so a query is a dictionary lookup plus additions; the bundle ships the postings and
//! counts, and loading only recomputes the weights arithmetically (no tokenising).

use crate::dense::{DENSE_WEIGHT, DenseError, DenseIndex, FUSION_DEPTH, RetrieverKind, reciprocal_rank_fusion};
use crate::library::Library;
use crate::model::{Subject, Template};
use crate::text::tokenize_into;

/// BM25 saturation constant.
const K1: f32 = 1.2;

/// Indexed fields: weight (how much a match counts) and length normalisation `b`.
/// Name > tags > description/scope/hierarchy > steps > example, as the paper retrieves by
/// name and tags first.
#[derive(Clone, Copy)]
struct Field {
    weight: f32,
    b: f32,
}

const FIELDS: [Field; 7] = [
    Field { weight: 4.0, b: 0.5 },  // name
    Field { weight: 2.5, b: 0.5 },  // tags
    Field { weight: 1.2, b: 0.75 }, // description
    Field { weight: 1.0, b: 0.75 }, // scope
    Field { weight: 0.8, b: 0.5 },  // chapter + section (hierarchy)
    Field { weight: 0.5, b: 0.75 }, // steps
    Field { weight: 0.35, b: 0.75 }, // example problem, solution, answer
];

fn field_texts(t: &Template) -> [String; 7] {
    [
        t.name.clone(),
        t.tags.join(" \n "),
        t.description.clone(),
        t.scope.join(" \n "),
        format!("{} \n {}", t.chapter, t.section),
        t.steps.join(" \n "),
        t.example.as_ref().map_or_else(String::new, |e| {
            let mut s = e.problem.clone();
            for line in &e.solution {
                s.push_str(" \n ");
                s.push_str(line);
            }
            if let Some(a) = &e.answer {
                s.push_str(" \n ");
                s.push_str(a);
            }
            s
        }),
    ]
}

/// Number of indexed fields.
pub const N_FIELDS: usize = FIELDS.len();

/// Precomputed inverted index. Postings of term `i` are positions `offsets[i]..offsets[i+1]` in
/// `docs` (ascending template positions in the library), `field_tfs` (per posting, the term's
/// count in each field) and `weights` (its final BM25F weight).
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// Sorted, unique stemmed terms.
    pub terms: Vec<String>,
    /// `terms.len() + 1` offsets into the posting arrays.
    pub offsets: Vec<u32>,
    pub docs: Vec<u32>,
    /// `N_FIELDS` counts per posting (saturating at 255).
    pub field_tfs: Vec<u8>,
    /// `N_FIELDS` token counts per template.
    pub field_lens: Vec<u32>,
    /// BM25F weight per posting, derived from the counts above by [`Index::from_counts`].
    pub weights: Vec<f32>,
    pub n_docs: u32,
}

impl Index {
    /// Tokenises every template field and builds the index (library order = document order).
    pub fn build(library: &Library) -> Index {
        let n_docs = library.templates.len();
        let mut field_lens = Vec::with_capacity(n_docs * N_FIELDS);
        // term -> [(doc, counts per field)], filled in doc order so postings come out sorted.
        let mut by_term: std::collections::BTreeMap<String, Vec<(u32, [u8; N_FIELDS])>> = std::collections::BTreeMap::new();
        let mut toks = Vec::new();
        for (doc, t) in library.templates.iter().enumerate() {
            let mut counts: std::collections::BTreeMap<String, [u8; N_FIELDS]> = std::collections::BTreeMap::new();
            for (f, text) in field_texts(t).iter().enumerate() {
                toks.clear();
                tokenize_into(text, &mut toks);
                field_lens.push(toks.len() as u32);
                for tok in toks.drain(..) {
                    let c = &mut counts.entry(tok).or_insert([0; N_FIELDS])[f];
                    *c = c.saturating_add(1);
                }
            }
            for (term, c) in counts {
                by_term.entry(term).or_default().push((doc as u32, c));
            }
        }
        let mut terms = Vec::with_capacity(by_term.len());
        let mut offsets = vec![0u32];
        let mut docs = Vec::new();
        let mut field_tfs = Vec::new();
        for (term, postings) in by_term {
            for (doc, c) in postings {
                docs.push(doc);
                field_tfs.extend_from_slice(&c);
            }
            terms.push(term);
            offsets.push(docs.len() as u32);
        }
        Index::from_counts(terms, offsets, docs, field_tfs, field_lens, n_docs as u32)
    }

    /// Computes the BM25F weights from stored counts: arithmetic only, no text processing
    /// (this is what loading a bundle does).
    pub fn from_counts(
        terms: Vec<String>,
        offsets: Vec<u32>,
        docs: Vec<u32>,
        field_tfs: Vec<u8>,
        field_lens: Vec<u32>,
        n_docs: u32,
    ) -> Index {
        let mut avg_len = [1f32; N_FIELDS];
        if n_docs > 0 {
            for (f, avg) in avg_len.iter_mut().enumerate() {
                let sum: u64 = field_lens.iter().skip(f).step_by(N_FIELDS).map(|&l| u64::from(l)).sum();
                *avg = ((sum as f64 / f64::from(n_docs)) as f32).max(1.0);
            }
        }
        let mut weights = vec![0f32; docs.len()];
        for pair in offsets.windows(2) {
            let (a, b) = (pair[0] as usize, (pair[1] as usize).min(docs.len()));
            let df = b.saturating_sub(a) as f32;
            let idf = ((n_docs as f32 - df + 0.5) / (df + 0.5) + 1.0).ln();
            for j in a..b {
                let doc = docs[j] as usize;
                let mut tfw = 0f32;
                for (f, field) in FIELDS.iter().enumerate() {
                    let tf = field_tfs.get(j * N_FIELDS + f).copied().unwrap_or(0);
                    if tf == 0 {
                        continue;
                    }
                    let len = field_lens.get(doc * N_FIELDS + f).copied().unwrap_or(0) as f32;
                    let norm = 1.0 - field.b + field.b * len / avg_len[f];
                    tfw += field.weight * f32::from(tf) / norm;
                }
                weights[j] = idf * tfw / (K1 + tfw);
            }
        }
        Index { terms, offsets, docs, field_tfs, field_lens, weights, n_docs }
    }

    /// Checks the structural invariants (used after decoding untrusted bytes).
    pub fn is_consistent(&self) -> bool {
        self.offsets.len() == self.terms.len() + 1
            && self.offsets.first() == Some(&0)
            && self.offsets.windows(2).all(|w| w[0] <= w[1])
            && self.offsets.last().is_some_and(|&l| l as usize == self.docs.len())
            && self.field_tfs.len() == self.docs.len() * N_FIELDS
            && self.weights.len() == self.docs.len()
            && self.field_lens.len() == self.n_docs as usize * N_FIELDS
            && self.docs.iter().all(|&d| d < self.n_docs)
            && self.terms.windows(2).all(|w| w[0] < w[1])
    }

    fn postings(&self, term: &str) -> Option<(&[u32], &[f32])> {
        let i = self.terms.binary_search_by(|t| t.as_str().cmp(term)).ok()?;
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        Some((self.docs.get(a..b)?, self.weights.get(a..b)?))
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    /// Position of the template in `Library::templates`.
    pub position: usize,
    pub score: f32,
}

/// Query-time options.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Multiply scores of templates in this subject by `1 + hierarchy_boost`.
    pub subject: Option<Subject>,
    /// Multiply scores of templates in this chapter (exact display name) by `1 + hierarchy_boost`.
    pub chapter: Option<String>,
    pub hierarchy_boost: f32,
    /// Hybrid search: weight of the dense ranking against the lexical one's 1.
    pub dense_weight: f32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { subject: None, chapter: None, hierarchy_boost: 0.0, dense_weight: DENSE_WEIGHT }
    }
}

/// Ranks templates for free-text queries (a plan step's name + tags + description, or a problem).
#[derive(Debug, Clone)]
pub struct Retriever {
    index: Index,
    dense: Option<DenseIndex>,
    ids: Vec<String>,
    subjects: Vec<Subject>,
    chapters: Vec<String>,
}

impl Retriever {
    /// Builds the index from the library (native path; the bundle ships a prebuilt index).
    pub fn build(library: &Library) -> Retriever {
        Retriever::from_index(Index::build(library), library)
    }

    /// Wraps a prebuilt index; `library` must be the one it was built from (same order).
    pub fn from_index(index: Index, library: &Library) -> Retriever {
        Retriever {
            index,
            dense: None,
            ids: library.templates.iter().map(|t| t.id.clone()).collect(),
            subjects: library.templates.iter().map(|t| t.subject).collect(),
            chapters: library.templates.iter().map(|t| t.chapter.clone()).collect(),
        }
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Adds template embeddings (same library order), enabling dense and hybrid search.
    pub fn with_dense(self, dense: DenseIndex) -> Result<Retriever, DenseError> {
        dense.check(self.ids.len())?;
        Ok(Retriever { dense: Some(dense), ..self })
    }

    pub fn dense(&self) -> Option<&DenseIndex> {
        self.dense.as_ref()
    }

    /// Top `k` by the chosen ranking. `query_embedding` (the query through the encoder that
    /// made the bundle's vectors) is needed for [`RetrieverKind::Dense`] and
    /// [`RetrieverKind::Hybrid`].
    pub fn search_by(
        &self,
        kind: RetrieverKind,
        query: &str,
        query_embedding: Option<&[f32]>,
        k: usize,
        options: &SearchOptions,
    ) -> Result<Vec<Hit>, DenseError> {
        if kind == RetrieverKind::Lexical {
            return Ok(self.search_with(query, k, options));
        }
        let dense = self.dense.as_ref().ok_or(DenseError::NoTemplateEmbeddings)?;
        let embedding = query_embedding.ok_or(DenseError::NoQueryEmbedding)?;
        if embedding.len() != dense.dim {
            return Err(DenseError::QueryDimension { expected: dense.dim, found: embedding.len() });
        }
        let scores = dense.scores(embedding).into_iter().enumerate().map(|(i, s)| (self.boosted(i, s, options), i)).collect();
        let depth = if kind == RetrieverKind::Dense { k } else { k.max(FUSION_DEPTH) };
        let by_cosine = top_k(scores, depth);
        if kind == RetrieverKind::Dense {
            return Ok(self.hits(by_cosine));
        }
        let lexical = self.search_with(query, depth, options);
        let rankings = [
            (1.0, lexical.iter().map(|h| h.position).collect()),
            (options.dense_weight, by_cosine.iter().map(|h| h.1).collect()),
        ];
        let mut fused = reciprocal_rank_fusion(&rankings);
        fused.truncate(k);
        Ok(self.hits(fused))
    }

    /// A positive score multiplied by `1 + hierarchy_boost` when the template is in the asked
    /// subject or chapter (a negative cosine is left alone: multiplying would push it down).
    fn boosted(&self, i: usize, score: f32, options: &SearchOptions) -> f32 {
        if options.hierarchy_boost == 0.0 || score <= 0.0 {
            return score;
        }
        let in_subject = options.subject.is_some_and(|x| self.subjects[i] == x);
        let in_chapter = options.chapter.as_deref().is_some_and(|c| self.chapters[i] == c);
        if in_subject || in_chapter { score * (1.0 + options.hierarchy_boost) } else { score }
    }

    fn hits(&self, ranked: Vec<(f32, usize)>) -> Vec<Hit> {
        ranked.into_iter().map(|(score, i)| Hit { id: self.ids[i].clone(), position: i, score }).collect()
    }

    /// Top `k` templates for `query`, best first; ties broken by library position.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        self.search_with(query, k, &SearchOptions::default())
    }

    pub fn search_with(&self, query: &str, k: usize, options: &SearchOptions) -> Vec<Hit> {
        let mut tokens = Vec::new();
        tokenize_into(query, &mut tokens);
        tokens.sort_unstable();
        tokens.dedup();
        let n = self.ids.len().min(self.index.n_docs as usize);
        let mut scores = vec![0f32; n];
        for term in &tokens {
            if let Some((docs, weights)) = self.index.postings(term) {
                for (&d, &w) in docs.iter().zip(weights) {
                    if let Some(s) = scores.get_mut(d as usize) {
                        *s += w;
                    }
                }
            }
        }
        let scores = scores.iter().enumerate().filter(|(_, s)| **s > 0.0).map(|(i, &s)| (self.boosted(i, s, options), i)).collect();
        self.hits(top_k(scores, k))
    }
}

/// The `k` best (score, position) pairs, best first; ties broken by position.
fn top_k(mut hits: Vec<(f32, usize)>, k: usize) -> Vec<(f32, usize)> {
    let by_rank = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if hits.len() > k && k > 0 {
        hits.select_nth_unstable_by(k - 1, by_rank);
        hits.truncate(k);
    }
    hits.sort_by(by_rank);
    hits.truncate(k);
    hits
}
