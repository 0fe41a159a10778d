//! Typed errors for JavaScript: plain `{kind, message, fatal}` objects.
//!
//! Kinds: `io`, `invalid_model`, `unsupported_model`, `tokenizer`, `empty_prompt`,
//! `prompt_too_long`, `invalid_request`, `device` (CPU backend failure), `device_lost`
//! (GPU device loss or failed GPU readback), `no_webgpu`, `not_loaded`, `busy`, `bad_bundle`,
//! `planner`, `invalid_argument`, `panic`.
use rf_engine::EngineError;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// Kinds after which the engine cannot serve another request: a planner loop stops on them
/// instead of feeding them back as a failed request (`rf_planner::BackendError::fatal`; for
/// engine errors the rule is [`EngineError::is_fatal`], which `device` and `device_lost` come
/// from).
pub const FATAL_KINDS: [&str; 5] = ["device", "device_lost", "panic", "not_loaded", "busy"];

/// Builds the `{kind, message, fatal}` object.
pub fn js_error(kind: &str, message: impl std::fmt::Display) -> JsValue {
    let obj = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&obj, &"kind".into(), &JsValue::from_str(kind));
    let _ = js_sys::Reflect::set(&obj, &"message".into(), &JsValue::from_str(&message.to_string()));
    let _ = js_sys::Reflect::set(&obj, &"fatal".into(), &JsValue::from_bool(FATAL_KINDS.contains(&kind)));
    obj.into()
}

/// The error kind of an engine failure. `on_gpu` turns device failures into `device_lost`.
pub fn engine_error_kind(e: &EngineError, on_gpu: bool) -> &'static str {
    match e {
        EngineError::Io { .. } => "io",
        EngineError::Gguf(_)
        | EngineError::Safetensors(_)
        | EngineError::Config(_)
        | EngineError::MissingWeight(_)
        | EngineError::ShapeMismatch { .. }
        | EngineError::Quant { .. } => "invalid_model",
        EngineError::UnsupportedQuant { .. } | EngineError::UnsupportedDtype { .. } | EngineError::UnsupportedArchitecture(_) => {
            "unsupported_model"
        }
        EngineError::Tokenizer(_) => "tokenizer",
        EngineError::EmptyPrompt => "empty_prompt",
        EngineError::PromptTooLong { .. } => "prompt_too_long",
        EngineError::TokenOutOfRange { .. } | EngineError::EmptyScoredRange { .. } | EngineError::Sampling(_) => "invalid_request",
        EngineError::Device(_) if on_gpu => "device_lost",
        EngineError::Device(_) => "device",
        EngineError::QuantizedNeedsCpu | EngineError::NeedsF32Weights => "invalid_request",
    }
}

/// An engine failure as a JS error object.
pub fn engine_error(e: &EngineError, on_gpu: bool) -> JsValue {
    let kind = engine_error_kind(e, on_gpu);
    let message = if kind == "device_lost" {
        format!("the GPU device was lost or a GPU readback failed ({e}); try a smaller model, a shorter context, or the CPU backend")
    } else {
        e.to_string()
    };
    js_error(kind, message)
}

/// The kind a panic message maps to: wgpu/device failures are `device_lost`.
pub fn panic_kind(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("device lost") || m.contains("devicelost") || m.contains("device is lost") || m.contains("wgpu") || m.contains("out of memory") {
        "device_lost"
    } else {
        "panic"
    }
}

/// Serialises to a plain JS value (objects, not `Map`s).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error("invalid_argument", format!("serialising a result: {e}")))
}

/// Reads a serde value from a JS object (through `JSON.stringify`, so numbers keep their
/// integer-ness) or a JSON string.
pub fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    let text = match value.as_string() {
        Some(text) => text,
        None => js_sys::JSON::stringify(&value)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| js_error("invalid_argument", format!("{what}: not JSON-serialisable")))?,
    };
    serde_json::from_str(&text).map_err(|e| js_error("invalid_argument", format!("{what}: {e}")))
}

/// Reads a JSON value from a JS object or a JSON string.
pub fn json_from_js(value: JsValue, what: &str) -> Result<serde_json::Value, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(serde_json::Value::Null);
    }
    from_js(value, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fatal_kinds_follow_the_engine_rule() {
        let errors = [
            EngineError::Device("lost".into()),
            EngineError::EmptyPrompt,
            EngineError::PromptTooLong { prompt_tokens: 9, max_new_tokens: 4, context_len: 8 },
            EngineError::Tokenizer("bad".into()),
        ];
        for e in &errors {
            for on_gpu in [false, true] {
                assert_eq!(FATAL_KINDS.contains(&engine_error_kind(e, on_gpu)), e.is_fatal(), "{e} on_gpu={on_gpu}");
            }
        }
    }

    #[test]
    fn gpu_panics_read_as_a_lost_device() {
        assert_eq!(panic_kind("wgpu error: Validation Error (Device lost)"), "device_lost");
        assert_eq!(panic_kind("index out of bounds: the len is 3 but the index is 7"), "panic");
    }
}
