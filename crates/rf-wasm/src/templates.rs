//! The thought-template bundle for JavaScript.
use rf_planner::{QueryForm, TemplateCard};
use rf_solve::TemplateIndex;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::{js_error, to_js};

/// A decoded template bundle with its retriever.
#[wasm_bindgen]
pub struct Templates {
    index: TemplateIndex,
}

/// One search hit, with what a UI shows.
#[derive(Debug, Serialize)]
struct SearchHit<'a> {
    id: &'a str,
    name: &'a str,
    tags: &'a [String],
    description: &'a str,
    subject: &'a str,
    chapter: &'a str,
    section: &'a str,
    score: f32,
}

#[wasm_bindgen]
impl Templates {
    /// Decodes a bundle (`reasonflux templates build` output); a damaged file is a
    /// `bad_bundle` error.
    pub fn load(bytes: &[u8]) -> Result<Templates, JsValue> {
        let index = TemplateIndex::from_bundle(bytes).map_err(|e| js_error("bad_bundle", e))?;
        Ok(Templates { index })
    }

    /// Number of templates.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.index.library.templates.len()
    }

    /// The library's content version (`sha256:…`).
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> String {
        self.index.library.version.clone()
    }

    /// The `k` best templates for a free-text query:
    /// `[{id, name, tags, description, subject, chapter, section, score}]`.
    pub fn search(&self, query: &str, k: u32) -> Result<JsValue, JsValue> {
        let hits: Vec<SearchHit> = self
            .index
            .retriever
            .search(query, k as usize)
            .into_iter()
            .filter_map(|hit| {
                self.index.library.get(&hit.id).map(|t| SearchHit {
                    id: &t.id,
                    name: &t.name,
                    tags: &t.tags,
                    description: &t.description,
                    subject: t.subject.as_str(),
                    chapter: &t.chapter,
                    section: &t.section,
                    score: hit.score,
                })
            })
            .collect();
        to_js(&hits)
    }

    /// What a planner `retrieve` action needs: `TemplateCard`s for the query.
    pub fn retrieve(&self, query: &str, k: u32) -> Result<JsValue, JsValue> {
        to_js(&self.cards(query, QueryForm::PlanStep, k).map_err(|e| js_error("retrieval", e))?)
    }

    /// One template in full, or `undefined`.
    pub fn get(&self, id: &str) -> Result<JsValue, JsValue> {
        match self.index.library.get(id) {
            Some(t) => to_js(t),
            None => Ok(JsValue::UNDEFINED),
        }
    }
}

impl Templates {
    pub fn cards(&self, query: &str, form: QueryForm, k: u32) -> Result<Vec<TemplateCard>, rf_solve::RetrievalError> {
        self.index.cards(query, form, k)
    }
}
