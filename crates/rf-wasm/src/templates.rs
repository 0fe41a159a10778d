//! The thought-template bundle for JavaScript.
use rf_planner::{QueryForm, TemplateCard};
use rf_embed::{EncoderFiles, EncoderRuntime, SentenceEncoder};
use rf_solve::{RetrieverChoice, TemplateIndex};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::{js_error, to_js};

/// The file name of a bundle's worked examples beside it (`NAME.rfb` → `NAME.examples.rfb`),
/// by the rule `reasonflux templates build` writes them with.
#[wasm_bindgen(js_name = examplesFileName)]
pub fn examples_file_name(bundle_file_name: &str) -> String {
    let path = rf_templates::examples_path(std::path::Path::new(bundle_file_name));
    path.file_name().unwrap_or_default().to_string_lossy().into_owned()
}

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
    /// `bad_bundle` error. It searches at once; `retrieve` needs [`Templates::attach_examples`].
    pub fn load(bytes: &[u8]) -> Result<Templates, JsValue> {
        let index = TemplateIndex::from_bundle(bytes).map_err(|e| js_error("bad_bundle", e))?;
        Ok(Templates { index })
    }

    /// Attaches the bundle's second file, the worked examples (`templates.examples.rfb`); a
    /// damaged file or one of another library is a `bad_bundle` error.
    #[wasm_bindgen(js_name = attachExamples)]
    pub fn attach_examples(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.index.attach_examples(bytes).map_err(|e| js_error("bad_bundle", e))
    }

    /// Whether the worked examples are attached (cards can be written).
    #[wasm_bindgen(getter, js_name = hasExamples)]
    pub fn has_examples(&self) -> bool {
        self.index.has_examples()
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

    /// The `k` best templates for a problem typed by the user, ranked as [`Templates::retriever`]
    /// says: `[{id, name, tags, description, subject, chapter, section, score}]`.
    pub fn search(&self, query: &str, k: u32) -> Result<JsValue, JsValue> {
        let found = self.index.search(query, QueryForm::Problem, k as usize).map_err(|e| js_error("retrieval", e))?;
        let hits: Vec<SearchHit> = found
            .into_iter()
            .map(|(t, score)| SearchHit {
                id: &t.id,
                name: &t.name,
                tags: &t.tags,
                description: &t.description,
                subject: t.subject.as_str(),
                chapter: &t.chapter,
                section: &t.section,
                score,
            })
            .collect();
        to_js(&hits)
    }

    /// Whether the bundle carries template embeddings (dense retrieval possible).
    #[wasm_bindgen(getter, js_name = hasEmbeddings)]
    pub fn has_embeddings(&self) -> bool {
        self.index.retriever.dense().is_some()
    }

    /// How templates are ranked: `lexical` (until [`Templates::use_encoder`]), `dense`,
    /// `hybrid` or `auto` (dense for problems, lexical for plan steps).
    #[wasm_bindgen(getter)]
    pub fn retriever(&self) -> String {
        self.index.retriever_choice().as_str().to_string()
    }

    /// Ranks by embeddings from now on (`choice`: `dense`, `hybrid` or `auto`), with the
    /// sentence encoder's files: config.json text, model.safetensors, tokenizer.json and
    /// `max_seq_length` from sentence_bert_config.json. The bundle's embeddings must come from
    /// the same weights (`retrieval` error otherwise); bad files are a `bad_encoder` error; on
    /// any error the ranking stays as it was.
    #[wasm_bindgen(js_name = useEncoder)]
    pub fn use_encoder(
        &mut self,
        choice: &str,
        config_json: String,
        safetensors: Vec<u8>,
        tokenizer_json: Vec<u8>,
        max_seq_length: u32,
    ) -> Result<(), JsValue> {
        let choice: RetrieverChoice = choice.parse().map_err(|e: String| js_error("invalid_argument", e))?;
        if !choice.needs_encoder() {
            return Err(js_error("invalid_argument", "lexical retrieval needs no encoder"));
        }
        // Embedding 620 templates here would take minutes on one browser thread.
        if !self.has_embeddings() {
            return Err(js_error("retrieval", "this template bundle has no embeddings (reasonflux templates build --encoder DIR)"));
        }
        let files = EncoderFiles { config_json, safetensors, tokenizer_json, max_seq_length: max_seq_length as usize };
        let encoder = SentenceEncoder::from_files(files, &EncoderRuntime::default()).map_err(|e| js_error("bad_encoder", e))?;
        self.index.use_encoder(choice, encoder).map_err(|e| js_error("retrieval", e))
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
