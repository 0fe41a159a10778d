//! # rf-wasm
//!
//! The browser build of ReasonFlux: everything JavaScript needs to solve a problem locally.
//!
//! - [`capabilities`]: pre-flight check of WebGPU (adapter, limits, `shader-f16`) before any
//!   download.
//! - [`Engine`]: picks a device (WebGPU through burn-wgpu, or the pure-Rust CPU backend as a
//!   fallback), loads a GGUF or HF safetensors model from bytes, and generates with streaming
//!   and cancellation. Every GPU readback is awaited (`forward_host_async`).
//! - [`Templates`]: the thought-template bundle and its BM25 retriever.
//! - [`Planner`]: the strategies of `rf-planner` as state machines JavaScript drives
//!   (`nextAction` / `feed`), with save and restore.
//!
//! Errors reach JavaScript as plain objects `{kind, message}` (see [`error`]), so they survive
//! `postMessage` between the worker and the page.
#![allow(clippy::await_holding_refcell_ref)]

pub mod caps;
pub mod engine;
pub mod error;
pub mod planner;
pub mod templates;

use wasm_bindgen::prelude::*;

pub use caps::capabilities;
pub use engine::Engine;
pub use planner::Planner;
pub use templates::{Templates, examples_file_name};

/// Runs the static constructors once, then installs a panic hook that logs the message and
/// forwards it to `globalThis.__rfOnPanic` (if the host defined one), so the worker can report a
/// crash instead of hanging.
#[wasm_bindgen(start)]
pub fn start() {
    run_static_constructors();
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&JsValue::from_str(&format!("rf-wasm panic: {message}")));
        let global = js_sys::global();
        if let Ok(hook) = js_sys::Reflect::get(&global, &JsValue::from_str("__rfOnPanic"))
            && let Some(hook) = hook.dyn_ref::<js_sys::Function>()
        {
            let error = error::js_error(error::panic_kind(&message), &message);
            let _ = hook.call1(&JsValue::NULL, &error);
        }
    }));
}

/// Dependencies register things at start-up through `.init_array` (`inventory`). Without an
/// explicit call, wasm-ld wraps *every* export in a call to `__wasm_call_ctors`, so each call from
/// JavaScript re-ran them all: two thirds of a template search went there. Calling it once here
/// turns that wrapping off (`scripts/build-wasm.sh` refuses a module whose exports are wrapped).
fn run_static_constructors() {
    #[cfg(target_family = "wasm")]
    {
        unsafe extern "C" {
            fn __wasm_call_ctors();
        }
        // SAFETY: called once, from wasm-bindgen's start function, before any other export.
        unsafe { __wasm_call_ctors() }
    }
}

/// The crate version (also the engine version the UI shows).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The final answer of a solution text (content of the last `\boxed{}`, or a lenient reading),
/// as `rf-grade` extracts it; `undefined` when there is none.
#[wasm_bindgen(js_name = extractAnswer)]
pub fn extract_answer(text: &str) -> Option<String> {
    rf_grade::extract_answer(text)
}

/// Grades `candidate` against `gold` with `rf-grade`: `{equivalent, reason, detail}`.
#[wasm_bindgen]
pub fn grade(gold: &str, candidate: &str) -> Result<JsValue, JsValue> {
    error::to_js(&rf_grade::grade(gold, candidate))
}
