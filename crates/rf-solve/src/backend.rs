//! The native driver's [`Backend`]: the real engine for generations, the template index for
//! retrievals.
use std::ops::ControlFlow;

use rf_engine::LocalModel;
use rf_planner::{Backend, BackendError, GenerateRequest, Generation, ModelRole, RetrieveRequest, TemplateCard};

use crate::request::{backend_error, engine_messages, generation_config};
use crate::templates::TemplateIndex;

/// Streams text as it is generated; the role says which model is speaking.
pub type TextSink<'a> = Box<dyn FnMut(ModelRole, &str) + 'a>;

/// One engine model plays both roles (navigator and inference), unless a navigator is given.
pub struct EngineBackend<'a> {
    pub inference: &'a mut LocalModel,
    pub navigator: Option<&'a mut LocalModel>,
    pub templates: &'a TemplateIndex,
    pub sink: Option<TextSink<'a>>,
}

impl Backend for EngineBackend<'_> {
    fn generate(&mut self, request: &GenerateRequest) -> Result<Generation, BackendError> {
        let model: &mut LocalModel = match (request.role, self.navigator.as_deref_mut()) {
            (ModelRole::Navigator, Some(nav)) => nav,
            _ => self.inference,
        };
        let prompt = model.chat_prompt(&engine_messages(&request.messages)).map_err(backend_error)?;
        let cfg = generation_config(request, prompt.len(), model.model.context_len()).map_err(backend_error)?;
        let role = request.role;
        let sink = &mut self.sink;
        let g = model
            .generate_ids(&prompt, &cfg, |event| {
                if let Some(sink) = sink.as_mut() {
                    sink(role, event.text);
                }
                ControlFlow::Continue(())
            })
            .map_err(backend_error)?;
        if let Some(sink) = sink.as_mut() {
            sink(role, "\n");
        }
        Ok(Generation {
            text: g.text,
            tokens_in: g.prompt_tokens as u64,
            tokens_out: g.token_ids.len() as u64,
            truncated: g.finish_reason.is_cut_off(),
        })
    }

    fn retrieve(&mut self, request: &RetrieveRequest) -> Result<Vec<TemplateCard>, BackendError> {
        self.templates.cards(&request.query, request.form, request.k).map_err(|e| BackendError::failed(e.to_string()))
    }
}
