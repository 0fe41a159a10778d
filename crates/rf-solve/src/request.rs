//! A planner `generate` request in the engine's terms.
use rf_engine::{EngineError, GenerationConfig, SamplingConfig, fit_new_tokens};
use rf_planner::{BackendError, ChatMessage, ChatRole, GenerateRequest, Sampling};

/// The planner's chat messages as the engine's, with the role names chat templates use.
pub fn engine_messages(messages: &[ChatMessage]) -> Vec<rf_engine::ChatMessage> {
    messages
        .iter()
        .map(|m| {
            let role = match m.role {
                ChatRole::System => "system",
                ChatRole::User => "user",
                ChatRole::Assistant => "assistant",
            };
            rf_engine::ChatMessage::new(role, &m.content)
        })
        .collect()
}

/// The planner's per-request sampling as the engine's.
pub fn sampling_config(s: &Sampling) -> SamplingConfig {
    SamplingConfig { temperature: s.temperature, top_k: s.top_k as usize, top_p: s.top_p, seed: s.seed }
}

/// The engine settings for `request` once its prompt is `prompt_len` tokens of a
/// `context_len`-token context: its sampling, its stop strings, and its token budget fitted
/// to the room the prompt leaves ([`fit_new_tokens`], which refuses a prompt that leaves too
/// little). The engine adds the model's own end-of-turn tokens.
pub fn generation_config(request: &GenerateRequest, prompt_len: usize, context_len: usize) -> Result<GenerationConfig, EngineError> {
    Ok(GenerationConfig {
        max_new_tokens: fit_new_tokens(request.sampling.max_new_tokens as usize, prompt_len, context_len)?,
        sampling: sampling_config(&request.sampling),
        stop_tokens: Vec::new(),
        stop_strings: request.stop.clone(),
    })
}

/// An engine failure as the planner sees it: fatal when the engine cannot serve another
/// request ([`EngineError::is_fatal`]), otherwise fed back to the strategy as a failed request.
pub fn backend_error(e: EngineError) -> BackendError {
    if e.is_fatal() { BackendError::fatal(e.to_string()) } else { BackendError::failed(e.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rf_planner::ModelRole;

    fn request(max_new_tokens: u32) -> GenerateRequest {
        GenerateRequest {
            request_id: 3,
            role: ModelRole::Inference,
            messages: vec![ChatMessage::user("What is 2 + 2?")],
            sampling: Sampling { temperature: 0.6, top_p: 0.95, top_k: 0, max_new_tokens, seed: 7 },
            stop: vec!["\n\n".into()],
        }
    }

    #[test]
    fn budget_is_clamped_to_the_room_the_prompt_leaves() {
        let cfg = generation_config(&request(1024), 900, 1024).unwrap();
        assert_eq!(cfg.max_new_tokens, 123);
        assert_eq!(cfg.stop_strings, vec!["\n\n".to_string()]);
        assert_eq!(cfg.sampling.seed, 7);
        assert_eq!(generation_config(&request(64), 10, 1024).unwrap().max_new_tokens, 64);
    }

    #[test]
    fn prompt_leaving_no_room_for_an_answer_is_refused() {
        let err = generation_config(&request(512), 1020, 1024).unwrap_err();
        assert!(matches!(err, EngineError::PromptTooLong { prompt_tokens: 1020, context_len: 1024, .. }), "{err:?}");
        assert!(!backend_error(err).fatal);
    }

    #[test]
    fn device_failure_is_fatal() {
        assert!(backend_error(EngineError::Device("lost".into())).fatal);
    }

    #[test]
    fn roles_keep_the_chat_template_names() {
        let m = engine_messages(&[ChatMessage::system("s"), ChatMessage::user("u"), ChatMessage::assistant("a")]);
        let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant"]);
    }
}
