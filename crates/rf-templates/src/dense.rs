//! Dense retrieval over template embeddings, and its fusion with the lexical ranking.
//!
//! The vectors are computed once, when the bundle is built ([`DenseIndex::from_templates`], with
//! a sentence encoder such as `rf-embed`'s): a template's vector is the mean of the embeddings of
//! its [`template_texts`] (its card, and its example problem), so a query scores the mean of its
//! cosines with the two. At query time only the query is embedded. Vectors are stored as int8 with one f32 scale per template
//! ([`DenseIndex`], scheme [`DENSE_SCHEME`]): 384 bytes per template for all-MiniLM-L6-v2, whose
//! rankings this keeps (the rounding moves a score by well under 1e-2).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::Template;

/// How the vectors are stored; bump when the layout, the rounding, [`template_texts`] or their
/// averaging changes, so a bundle built one way is never searched as if built another.
pub const DENSE_SCHEME: &str = "int8-row-scale/mean-of-card-and-example/v1";

/// Rank constant of reciprocal rank fusion (Cormack et al. 2009 use 60).
pub const RRF_K: f32 = 60.0;
/// Weight of the dense ranking against the lexical one (1.0) in hybrid fusion.
pub const DENSE_WEIGHT: f32 = 1.0;
/// How deep each ranking is read before fusing.
pub const FUSION_DEPTH: usize = 50;

/// The texts of a template whose embeddings are averaged into its vector: its card (name, tags,
/// description, scope: what it is for) and its example problem (what such a problem looks like).
/// Chosen on the validation split of `evals/retrieval/independent.toml` over single fields and
/// other pairs (docs/BENCHMARKS.md).
/// Errs for a template whose worked example is not attached.
pub fn template_texts(t: &Template) -> Result<[String; 2], DenseError> {
    let example = t.example.as_ref().ok_or_else(|| DenseError::NoExample(t.id.clone()))?;
    Ok([format!("{}. {}. {} {}", t.name, t.tags.join(", "), t.description, t.scope.join(" ")), example.problem.clone()])
}

/// Which ranking answers a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetrieverKind {
    /// BM25F over the template fields (needs nothing but the bundle).
    #[default]
    Lexical,
    /// Cosine similarity of the query embedding and the template embeddings.
    Dense,
    /// Both, merged by reciprocal rank fusion.
    Hybrid,
}

impl RetrieverKind {
    pub const ALL: [RetrieverKind; 3] = [RetrieverKind::Lexical, RetrieverKind::Dense, RetrieverKind::Hybrid];

    pub fn as_str(self) -> &'static str {
        match self {
            RetrieverKind::Lexical => "lexical",
            RetrieverKind::Dense => "dense",
            RetrieverKind::Hybrid => "hybrid",
        }
    }

    /// Whether the query must be embedded.
    pub fn needs_encoder(self) -> bool {
        self != RetrieverKind::Lexical
    }
}

impl fmt::Display for RetrieverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RetrieverKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RetrieverKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown retriever '{s}' (lexical, dense, hybrid)"))
    }
}

/// Why template vectors cannot become a [`DenseIndex`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DenseError {
    #[error("template vector {index} has {found} components, expected {expected}")]
    Dimension { index: usize, expected: usize, found: usize },
    #[error("template vector {0} is not finite")]
    NotFinite(usize),
    #[error("template vectors need at least one component")]
    ZeroDimension,
    #[error("the template embeddings do not match the {templates} templates (row count, dimension or scales)")]
    Inconsistent { templates: usize },
    #[error("the query embedding has {found} components, the template vectors {expected}")]
    QueryDimension { expected: usize, found: usize },
    #[error("this bundle has no template embeddings (build it with an encoder: reasonflux templates build --encoder DIR)")]
    NoTemplateEmbeddings,
    #[error("dense retrieval needs the query's embedding")]
    NoQueryEmbedding,
    #[error("the bundle's embeddings come from '{bundle}', but the query encoder is '{encoder}'")]
    EncoderMismatch { bundle: String, encoder: String },
    #[error("template {0} has no worked example to embed (attach the bundle's examples part first)")]
    NoExample(String),
}

/// Template embeddings, one per template in library order, as int8 with a per-row scale.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseIndex {
    /// The encoder that made the vectors (name and weights digest); queries must use the same.
    pub encoder: String,
    /// [`DENSE_SCHEME`] when built by this code.
    pub scheme: String,
    pub dim: usize,
    /// `values[i * dim + j] * scales[i]` is component `j` of template `i`.
    pub scales: Vec<f32>,
    pub values: Vec<i8>,
}

impl DenseIndex {
    /// Rounds vectors (one per template, library order) to int8 rows.
    pub fn quantize(encoder: &str, dim: usize, vectors: &[Vec<f32>]) -> Result<DenseIndex, DenseError> {
        if dim == 0 {
            return Err(DenseError::ZeroDimension);
        }
        let mut scales = Vec::with_capacity(vectors.len());
        let mut values = Vec::with_capacity(vectors.len() * dim);
        for (index, v) in vectors.iter().enumerate() {
            if v.len() != dim {
                return Err(DenseError::Dimension { index, expected: dim, found: v.len() });
            }
            if !v.iter().all(|x| x.is_finite()) {
                return Err(DenseError::NotFinite(index));
            }
            let scale = v.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            values.extend(v.iter().map(|x| (x * inv).round().clamp(-127.0, 127.0) as i8));
            scales.push(scale);
        }
        Ok(DenseIndex { encoder: encoder.to_string(), scheme: DENSE_SCHEME.to_string(), dim, scales, values })
    }

    /// Embeds every template's [`template_texts`] with `embed` (`encoder` names its weights)
    /// and keeps the mean of the two as the template's vector.
    pub fn from_templates<E: From<DenseError>>(
        encoder: &str,
        dim: usize,
        templates: &[Template],
        mut embed: impl FnMut(&str) -> Result<Vec<f32>, E>,
    ) -> Result<DenseIndex, E> {
        let mut vectors = Vec::with_capacity(templates.len());
        for t in templates {
            let texts = template_texts(t)?;
            let mut mean = vec![0f32; dim];
            for text in &texts {
                let v = embed(text)?;
                if v.len() != dim {
                    return Err(DenseError::Dimension { index: vectors.len(), expected: dim, found: v.len() }.into());
                }
                mean.iter_mut().zip(v).for_each(|(m, x)| *m += x / texts.len() as f32);
            }
            vectors.push(mean);
        }
        Ok(DenseIndex::quantize(encoder, dim, &vectors)?)
    }

    /// Checks the structure against the library size, as a decoded or attached index must match.
    pub fn check(&self, n_templates: usize) -> Result<(), DenseError> {
        if self.is_consistent(n_templates) { Ok(()) } else { Err(DenseError::Inconsistent { templates: n_templates }) }
    }

    pub fn len(&self) -> usize {
        self.scales.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// Checks the structure against the library size (used after decoding untrusted bytes).
    pub fn is_consistent(&self, n_templates: usize) -> bool {
        self.dim > 0
            && self.scales.len() == n_templates
            && self.values.len() == n_templates * self.dim
            && self.scales.iter().all(|s| s.is_finite() && *s >= 0.0)
    }

    /// Refuses a query encoder other than the one the vectors came from.
    pub fn check_encoder(&self, encoder: &str) -> Result<(), DenseError> {
        if self.encoder == encoder {
            Ok(())
        } else {
            Err(DenseError::EncoderMismatch { bundle: self.encoder.clone(), encoder: encoder.to_string() })
        }
    }

    /// Dot product of `query` (`dim` components) with every template's vector.
    pub fn scores(&self, query: &[f32]) -> Vec<f32> {
        if query.len() != self.dim {
            return vec![0.0; self.len()];
        }
        self.values
            .chunks_exact(self.dim)
            .zip(&self.scales)
            .map(|(row, scale)| row.iter().zip(query).map(|(&v, q)| f32::from(v) * q).sum::<f32>() * scale)
            .collect()
    }
}

/// Merges weighted rankings (template positions, best first) by reciprocal rank fusion: a
/// template scores `Σ weight / (RRF_K + rank)` over the rankings it appears in (rank from 1).
/// Best first; ties broken by position.
pub fn reciprocal_rank_fusion(rankings: &[(f32, Vec<usize>)]) -> Vec<(f32, usize)> {
    let mut fused: Vec<(f32, usize)> = Vec::new();
    for (weight, ranking) in rankings {
        for (rank, &position) in ranking.iter().enumerate() {
            let add = weight / (RRF_K + rank as f32 + 1.0);
            match fused.iter_mut().find(|(_, p)| *p == position) {
                Some(entry) => entry.0 += add,
                None => fused.push((add, position)),
            }
        }
    }
    fused.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn int8_rows_keep_cosines_within_a_hundredth() {
        // Seeded pseudo-random unit vectors, 384-d like MiniLM.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let vectors: Vec<Vec<f32>> = (0..20).map(|_| unit(&(0..384).map(|_| next()).collect::<Vec<_>>())).collect();
        let index = DenseIndex::quantize("test", 384, &vectors).unwrap();
        assert!(index.is_consistent(20));
        let query = &vectors[3];
        for (exact, got) in vectors.iter().map(|v| v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>()).zip(index.scores(query)) {
            assert!((exact - got).abs() < 1e-2, "{exact} vs {got}");
        }
    }

    #[test]
    fn wrong_dimension_and_nan_are_refused() {
        assert_eq!(
            DenseIndex::quantize("t", 3, &[vec![1.0, 0.0, 0.0], vec![1.0, 0.0]]),
            Err(DenseError::Dimension { index: 1, expected: 3, found: 2 })
        );
        assert_eq!(DenseIndex::quantize("t", 2, &[vec![f32::NAN, 0.0]]), Err(DenseError::NotFinite(0)));
        assert_eq!(DenseIndex::quantize("t", 0, &[vec![]]), Err(DenseError::ZeroDimension));
    }

    #[test]
    fn a_query_from_another_encoder_is_refused() {
        let index = DenseIndex::quantize("minilm sha256:aa", 2, &[vec![1.0, 0.0]]).unwrap();
        assert!(index.check_encoder("minilm sha256:aa").is_ok());
        assert!(matches!(index.check_encoder("minilm sha256:bb"), Err(DenseError::EncoderMismatch { .. })));
    }

    #[test]
    fn fusion_prefers_agreement_over_one_first_place() {
        // 7 and 5 are each first in one ranking only; 3 is second in both.
        let fused = reciprocal_rank_fusion(&[(1.0, vec![7, 3, 1]), (1.0, vec![5, 3, 2])]);
        assert_eq!(fused.iter().map(|f| f.1).collect::<Vec<_>>(), vec![3, 5, 7, 1, 2]);
        // Weighting the second ranking up puts its own picks above the first ranking's.
        let fused = reciprocal_rank_fusion(&[(1.0, vec![7, 3, 1]), (3.0, vec![5, 3, 2])]);
        assert_eq!(fused.iter().map(|f| f.1).collect::<Vec<_>>(), vec![3, 5, 2, 7, 1]);
    }

    #[test]
    fn retriever_kind_has_one_spelling() {
        for kind in RetrieverKind::ALL {
            assert_eq!(kind.as_str().parse::<RetrieverKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert!("Hybrid".parse::<RetrieverKind>().is_err());
    }
}
