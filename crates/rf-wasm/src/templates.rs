//! The thought-template bundle for JavaScript.
use rf_planner::TemplateCard;
use rf_templates::{Bundle, Library, Retriever, Template};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::{js_error, to_js};

/// A decoded template bundle with its retriever.
#[wasm_bindgen]
pub struct Templates {
    library: Library,
    retriever: Retriever,
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

/// The card the planner receives for a template (same as the native CLI's backend).
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

#[wasm_bindgen]
impl Templates {
    /// Decodes a bundle (`reasonflux templates build` output); a damaged file is a
    /// `bad_bundle` error.
    pub fn load(bytes: &[u8]) -> Result<Templates, JsValue> {
        let bundle = Bundle::decode(bytes).map_err(|e| js_error("bad_bundle", e))?;
        let (library, retriever) = bundle.into_parts();
        Ok(Templates { library, retriever })
    }

    /// Number of templates.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.library.templates.len()
    }

    /// The library's content version (`sha256:…`).
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> String {
        self.library.version.clone()
    }

    /// The `k` best templates for a free-text query:
    /// `[{id, name, tags, description, subject, chapter, section, score}]`.
    pub fn search(&self, query: &str, k: u32) -> Result<JsValue, JsValue> {
        let hits: Vec<SearchHit> = self
            .retriever
            .search(query, k as usize)
            .into_iter()
            .filter_map(|hit| {
                self.library.get(&hit.id).map(|t| SearchHit {
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
        to_js(&self.cards(query, k))
    }

    /// One template in full, or `undefined`.
    pub fn get(&self, id: &str) -> Result<JsValue, JsValue> {
        match self.library.get(id) {
            Some(t) => to_js(t),
            None => Ok(JsValue::UNDEFINED),
        }
    }
}

impl Templates {
    pub fn cards(&self, query: &str, k: u32) -> Vec<TemplateCard> {
        self.retriever.search(query, k as usize).into_iter().filter_map(|h| self.library.get(&h.id)).map(card).collect()
    }
}
