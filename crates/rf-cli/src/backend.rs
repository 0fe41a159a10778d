//! The native driver's [`Backend`]: the real engine for generations and the template
//! library for retrievals.
use std::ops::ControlFlow;
use std::path::Path;

use anyhow::Context;
use rf_engine::{GenerationConfig, LocalModel, SamplingConfig};
use rf_planner::{Backend, BackendError, GenerateRequest, Generation, ModelRole, TemplateCard};
use rf_templates::{Bundle, Library, Retriever};

/// Where the templates come from.
pub fn load_templates(bundle: Option<&Path>, dir: &Path) -> anyhow::Result<(Library, Retriever)> {
    match bundle {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading bundle {}", path.display()))?;
            Ok(Bundle::decode(&bytes).with_context(|| format!("decoding bundle {}", path.display()))?.into_parts())
        }
        None => {
            let library = Library::load_dir(dir).with_context(|| format!("loading templates from {}", dir.display()))?;
            let retriever = Retriever::build(&library);
            Ok((library, retriever))
        }
    }
}

/// Streams text as it is generated; `role` says which model is speaking.
pub type TextSink<'a> = Box<dyn FnMut(ModelRole, &str) + 'a>;

/// One engine model plays both roles (navigator and inference), unless a navigator is given.
pub struct EngineBackend<'a> {
    pub inference: &'a mut LocalModel,
    pub navigator: Option<&'a mut LocalModel>,
    pub library: &'a Library,
    pub retriever: &'a Retriever,
    pub sink: Option<TextSink<'a>>,
}

impl Backend for EngineBackend<'_> {
    fn generate(&mut self, request: &GenerateRequest) -> Result<Generation, BackendError> {
        let model: &mut LocalModel = match (request.role, self.navigator.as_deref_mut()) {
            (ModelRole::Navigator, Some(nav)) => nav,
            _ => self.inference,
        };
        let prompt = model.chat_prompt(&rf_train::data::engine_messages(&request.messages)).map_err(|e| BackendError(e.to_string()))?;
        // Keep room in the context for the answer: drop the request rather than overflow.
        let room = model.model.context_len().saturating_sub(prompt.len());
        if room < 16 {
            return Err(BackendError(format!(
                "prompt of {} tokens leaves no room in a {}-token context",
                prompt.len(),
                model.model.context_len()
            )));
        }
        let s = &request.sampling;
        let cfg = GenerationConfig {
            max_new_tokens: (s.max_new_tokens as usize).min(room - 1),
            sampling: SamplingConfig { temperature: s.temperature, top_k: s.top_k as usize, top_p: s.top_p, seed: s.seed },
            stop_tokens: Vec::new(),
            stop_strings: request.stop.clone(),
        };
        let role = request.role;
        let sink = &mut self.sink;
        let g = model
            .generate_ids(&prompt, &cfg, |event| {
                if let Some(sink) = sink.as_mut() {
                    sink(role, event.text);
                }
                ControlFlow::Continue(())
            })
            .map_err(|e| BackendError(e.to_string()))?;
        if let Some(sink) = sink.as_mut() {
            sink(role, "\n");
        }
        Ok(Generation { text: g.text, tokens_in: g.prompt_tokens as u64, tokens_out: g.token_ids.len() as u64 })
    }

    fn retrieve(&mut self, query: &str, k: u32) -> Result<Vec<TemplateCard>, BackendError> {
        Ok(self
            .retriever
            .search(query, k as usize)
            .into_iter()
            .filter_map(|hit| self.library.get(&hit.id))
            .map(|t| TemplateCard {
                id: t.id.clone(),
                name: t.name.clone(),
                tags: t.tags.clone(),
                description: t.description.clone(),
                steps: t.steps.clone(),
                example: Some(format_example(t)),
            })
            .collect())
    }
}

fn format_example(t: &rf_templates::Template) -> String {
    let mut out = format!("Problem: {}\n", t.example.problem);
    for step in &t.example.solution {
        out.push_str("- ");
        out.push_str(step);
        out.push('\n');
    }
    if let Some(answer) = &t.example.answer {
        out.push_str(&format!("Answer: {answer}\n"));
    }
    out
}
