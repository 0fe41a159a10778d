//! The template library as the planner's retrieval backend.
use std::path::{Path, PathBuf};

use rf_embed::{EmbedError, SentenceEncoder};
use rf_planner::{QueryForm, TemplateCard};
use rf_templates::{
    Bundle, BundleError, DenseError, DenseIndex, Example, Library, LoadError, Retriever, RetrieverKind, SearchOptions, Template,
    WorkedExamples, examples_path,
};
use thiserror::Error;

/// Why a template library could not be loaded.
#[derive(Debug, Error)]
pub enum TemplateLoadError {
    #[error("reading template bundle {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("decoding template bundle {path}: {source}")]
    Bundle { path: PathBuf, source: BundleError },
    #[error("reading the worked examples of a template bundle, {path} (`reasonflux templates build` writes them next to the bundle): {source}")]
    ReadExamples { path: PathBuf, source: std::io::Error },
    #[error("loading templates from {dir}: {source}")]
    Library { dir: PathBuf, source: LoadError },
}

/// Which ranking answers a retrieval: the same for every query, or [`RetrieverChoice::Auto`]:
/// dense for a problem as stated, lexical for a navigator plan step, which is what measured best
/// for each form (docs/BENCHMARKS.md, "Template retrieval").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetrieverChoice {
    #[default]
    Lexical,
    Dense,
    Hybrid,
    Auto,
}

impl RetrieverChoice {
    pub const ALL: [RetrieverChoice; 4] = [Self::Lexical, Self::Dense, Self::Hybrid, Self::Auto];

    /// The one ranking this choice uses for every query; `None` for [`RetrieverChoice::Auto`].
    pub fn fixed(self) -> Option<RetrieverKind> {
        match self {
            Self::Lexical => Some(RetrieverKind::Lexical),
            Self::Dense => Some(RetrieverKind::Dense),
            Self::Hybrid => Some(RetrieverKind::Hybrid),
            Self::Auto => None,
        }
    }

    /// The fixed rankings are spelled as [`RetrieverKind`] spells them.
    pub fn as_str(self) -> &'static str {
        self.fixed().map_or("auto", RetrieverKind::as_str)
    }

    /// The ranking for a query of this form.
    pub fn for_form(self, form: QueryForm) -> RetrieverKind {
        self.fixed().unwrap_or(match form {
            QueryForm::Problem => RetrieverKind::Dense,
            QueryForm::PlanStep => RetrieverKind::Lexical,
        })
    }

    /// Whether queries must be embedded (some form is ranked by embeddings).
    pub fn needs_encoder(self) -> bool {
        self != Self::Lexical
    }
}

impl std::fmt::Display for RetrieverChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RetrieverChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| format!("unknown retriever '{s}' (lexical, dense, hybrid, auto)"))
    }
}

/// Why a query could not be answered with templates.
#[derive(Debug, Error)]
pub enum RetrievalError {
    #[error("lexical retrieval needs no sentence encoder")]
    LexicalNeedsNoEncoder,
    #[error("no sentence encoder is loaded (dense retrieval needs one)")]
    NoEncoder,
    #[error("embedding the query: {0}")]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Dense(#[from] DenseError),
    #[error("the templates' worked examples are not loaded yet (the bundle's second file), so no card can be written")]
    ExamplesNotLoaded,
}

/// A template library with its retriever: what answers a planner `retrieve` action.
pub struct TemplateIndex {
    pub library: Library,
    pub retriever: Retriever,
    choice: RetrieverChoice,
    /// Embeds queries for dense and hybrid retrieval.
    encoder: Option<SentenceEncoder>,
}

impl TemplateIndex {
    /// Indexes a library already in memory (lexical retrieval).
    pub fn new(library: Library) -> Self {
        let retriever = Retriever::build(&library);
        Self { library, retriever, choice: RetrieverChoice::Lexical, encoder: None }
    }

    /// From a bundle's bytes (`reasonflux templates build` output), lexical retrieval until
    /// [`TemplateIndex::use_encoder`]. It searches at once; cards need the worked examples
    /// ([`TemplateIndex::attach_examples`]).
    pub fn from_bundle(bytes: &[u8]) -> Result<Self, BundleError> {
        let (library, retriever) = Bundle::decode(bytes).and_then(Bundle::into_parts)?;
        Ok(Self { library, retriever, choice: RetrieverChoice::Lexical, encoder: None })
    }

    /// Attaches the bundle's second file, the worked examples (`templates.examples.rfb`).
    pub fn attach_examples(&mut self, bytes: &[u8]) -> Result<(), BundleError> {
        WorkedExamples::decode(bytes)?.attach_to(&mut self.library)
    }

    /// Whether cards can be written (always for a library loaded from its sources).
    pub fn has_examples(&self) -> bool {
        self.library.templates.iter().all(|t| t.example.is_some())
    }

    /// Switches to dense, hybrid or auto retrieval with `encoder` embedding the queries. Template
    /// vectors come from the bundle (which must have been built with the same encoder) or, for
    /// a library loaded from its sources, are computed here.
    pub fn use_encoder(&mut self, choice: RetrieverChoice, encoder: SentenceEncoder) -> Result<(), RetrievalError> {
        if !choice.needs_encoder() {
            return Err(RetrievalError::LexicalNeedsNoEncoder);
        }
        match self.retriever.dense() {
            Some(dense) => dense.check_encoder(encoder.fingerprint())?,
            None => {
                let dense = embed_templates(&self.library, &encoder)?;
                self.retriever = self.retriever.clone().with_dense(dense)?;
            }
        }
        self.choice = choice;
        self.encoder = Some(encoder);
        Ok(())
    }

    pub fn retriever_choice(&self) -> RetrieverChoice {
        self.choice
    }

    /// The query's embedding by the loaded encoder (for callers that rank with their own
    /// [`SearchOptions`], such as the retrieval evaluation).
    pub fn embed_query(&self, query: &str) -> Result<Vec<f32>, RetrievalError> {
        Ok(self.encoder.as_ref().ok_or(RetrievalError::NoEncoder)?.embed(query)?)
    }

    /// The `k` best templates for `query` with their scores, best first, by the ranking chosen
    /// for its form.
    pub fn search(&self, query: &str, form: QueryForm, k: usize) -> Result<Vec<(&Template, f32)>, RetrievalError> {
        let kind = self.choice.for_form(form);
        let embedding = match (&self.encoder, kind.needs_encoder()) {
            (Some(encoder), true) => Some(encoder.embed(query)?),
            _ => None,
        };
        let hits = self.retriever.search_by(kind, query, embedding.as_deref(), k, &SearchOptions::default())?;
        Ok(hits.iter().filter_map(|hit| self.library.get(&hit.id).map(|t| (t, hit.score))).collect())
    }

    /// From a bundle file and its worked examples beside it when a bundle is given, else from
    /// the library's TOML folder.
    pub fn load(bundle: Option<&Path>, dir: &Path) -> Result<Self, TemplateLoadError> {
        match bundle {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|source| TemplateLoadError::Read { path: path.to_path_buf(), source })?;
                let mut index =
                    Self::from_bundle(&bytes).map_err(|source| TemplateLoadError::Bundle { path: path.to_path_buf(), source })?;
                let examples = examples_path(path);
                let bytes = std::fs::read(&examples).map_err(|source| TemplateLoadError::ReadExamples { path: examples.clone(), source })?;
                index.attach_examples(&bytes).map_err(|source| TemplateLoadError::Bundle { path: examples, source })?;
                Ok(index)
            }
            None => {
                let library = Library::load_dir(dir).map_err(|source| TemplateLoadError::Library { dir: dir.to_path_buf(), source })?;
                Ok(Self::new(library))
            }
        }
    }

    /// The cards of the `k` best templates for `query`, best first.
    pub fn cards(&self, query: &str, form: QueryForm, k: u32) -> Result<Vec<TemplateCard>, RetrievalError> {
        if !self.has_examples() {
            return Err(RetrievalError::ExamplesNotLoaded);
        }
        Ok(self.search(query, form, k as usize)?.into_iter().map(|(t, _)| card(t)).collect())
    }
}

/// Every template's vector (library order), as a bundle stores them.
pub fn embed_templates(library: &Library, encoder: &SentenceEncoder) -> Result<DenseIndex, RetrievalError> {
    DenseIndex::from_templates(encoder.fingerprint(), encoder.dim(), &library.templates, |text| Ok(encoder.embed(text)?))
}

/// The card the planner receives for a template: its name, tags, description and steps, and
/// its worked example as a problem, solution lines and answer.
pub fn card(t: &Template) -> TemplateCard {
    TemplateCard {
        id: t.id.clone(),
        name: t.name.clone(),
        tags: t.tags.clone(),
        description: t.description.clone(),
        steps: t.steps.clone(),
        example: t.example.as_ref().map(example_text),
    }
}

fn example_text(e: &Example) -> String {
    let mut text = format!("Problem: {}\n", e.problem);
    for step in &e.solution {
        text.push_str("- ");
        text.push_str(step);
        text.push('\n');
    }
    if let Some(answer) = &e.answer {
        text.push_str(&format!("Answer: {answer}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_ranks_problems_by_embeddings_and_plan_steps_by_words() {
        assert_eq!(RetrieverChoice::Auto.for_form(QueryForm::Problem), RetrieverKind::Dense);
        assert_eq!(RetrieverChoice::Auto.for_form(QueryForm::PlanStep), RetrieverKind::Lexical);
        assert_eq!(RetrieverChoice::Hybrid.for_form(QueryForm::PlanStep), RetrieverKind::Hybrid);
        for choice in RetrieverChoice::ALL {
            assert_eq!(choice.as_str().parse::<RetrieverChoice>(), Ok(choice));
        }
    }

    fn library() -> Library {
        Library::load_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates"))).unwrap()
    }

    #[test]
    fn lexical_retrieval_works_without_an_encoder() {
        let index = TemplateIndex::new(library());
        let cards = index.cards("Vieta sum and product of roots", QueryForm::Problem, 3).unwrap();
        assert_eq!(cards.len(), 3);
    }

    #[test]
    fn a_bundle_loads_with_the_worked_examples_beside_it() {
        let library = library();
        let dir = std::env::temp_dir().join(format!("rf-solve-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.rfb");
        std::fs::write(examples_path(&path), WorkedExamples::from_library(&library).unwrap().encode().unwrap()).unwrap();
        let bytes = Bundle::from_library(library.clone()).encode().unwrap();
        std::fs::write(&path, &bytes).unwrap();

        let loaded = TemplateIndex::load(Some(&path), Path::new("unused")).unwrap();
        let query = "Vieta sum and product of roots";
        let from_sources = TemplateIndex::new(library).cards(query, QueryForm::Problem, 3).unwrap();
        assert_eq!(loaded.cards(query, QueryForm::Problem, 3).unwrap(), from_sources, "the same cards, worked examples included");

        let searchable = TemplateIndex::from_bundle(&bytes).unwrap();
        assert_eq!(searchable.search(query, QueryForm::Problem, 3).unwrap().len(), 3, "search needs no examples");
        assert!(matches!(searchable.cards(query, QueryForm::Problem, 3), Err(RetrievalError::ExamplesNotLoaded)));
        std::fs::remove_file(examples_path(&path)).unwrap();
        let missing = TemplateIndex::load(Some(&path), Path::new("unused")).err().unwrap();
        assert!(matches!(missing, TemplateLoadError::ReadExamples { .. }), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
