//! The template library as the planner's retrieval backend.
use std::path::{Path, PathBuf};

use rf_planner::TemplateCard;
use rf_templates::{Bundle, BundleError, Library, LoadError, Retriever, Template};
use thiserror::Error;

/// Why a template library could not be loaded.
#[derive(Debug, Error)]
pub enum TemplateLoadError {
    #[error("reading template bundle {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("decoding template bundle {path}: {source}")]
    Bundle { path: PathBuf, source: BundleError },
    #[error("loading templates from {dir}: {source}")]
    Library { dir: PathBuf, source: LoadError },
}

/// A template library with its retriever: what answers a planner `retrieve` action.
pub struct TemplateIndex {
    pub library: Library,
    pub retriever: Retriever,
}

impl TemplateIndex {
    /// Indexes a library already in memory.
    pub fn new(library: Library) -> Self {
        let retriever = Retriever::build(&library);
        Self { library, retriever }
    }

    /// From a bundle's bytes (`reasonflux templates build` output).
    pub fn from_bundle(bytes: &[u8]) -> Result<Self, BundleError> {
        let (library, retriever) = Bundle::decode(bytes)?.into_parts();
        Ok(Self { library, retriever })
    }

    /// From a bundle file when one is given, else from the library's TOML folder.
    pub fn load(bundle: Option<&Path>, dir: &Path) -> Result<Self, TemplateLoadError> {
        match bundle {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|source| TemplateLoadError::Read { path: path.to_path_buf(), source })?;
                Self::from_bundle(&bytes).map_err(|source| TemplateLoadError::Bundle { path: path.to_path_buf(), source })
            }
            None => {
                let library = Library::load_dir(dir).map_err(|source| TemplateLoadError::Library { dir: dir.to_path_buf(), source })?;
                Ok(Self::new(library))
            }
        }
    }

    /// The cards of the `k` best templates for `query`, best first.
    pub fn cards(&self, query: &str, k: u32) -> Vec<TemplateCard> {
        self.retriever.search(query, k as usize).into_iter().filter_map(|hit| self.library.get(&hit.id)).map(card).collect()
    }
}

/// The card the planner receives for a template: its name, tags, description and steps, and
/// its worked example as a problem, solution lines and answer.
pub fn card(t: &Template) -> TemplateCard {
    let mut example = format!("Problem: {}\n", t.example.problem);
    for step in &t.example.solution {
        example.push_str("- ");
        example.push_str(step);
        example.push('\n');
    }
    if let Some(answer) = &t.example.answer {
        example.push_str(&format!("Answer: {answer}\n"));
    }
    TemplateCard {
        id: t.id.clone(),
        name: t.name.clone(),
        tags: t.tags.clone(),
        description: t.description.clone(),
        steps: t.steps.clone(),
        example: Some(example),
    }
}
