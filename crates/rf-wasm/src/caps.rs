//! Pre-flight capability check: what WebGPU offers here, before anything is downloaded.
use js_sys::{Function, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::to_js;

/// What the pre-flight check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Capabilities {
    /// `navigator.gpu` exists.
    pub webgpu_api: bool,
    /// `requestAdapter()` returned an adapter.
    pub adapter: bool,
    /// Why there is no adapter (exception text, or "requestAdapter returned null").
    pub adapter_error: Option<String>,
    pub vendor: Option<String>,
    pub architecture: Option<String>,
    pub device: Option<String>,
    pub description: Option<String>,
    /// A software/fallback adapter (SwiftShader and the like): works, slowly.
    pub is_fallback_adapter: bool,
    pub shader_f16: bool,
    pub max_storage_buffer_binding_size: Option<f64>,
    pub max_buffer_size: Option<f64>,
    pub max_compute_workgroup_storage_size: Option<f64>,
    /// `navigator.hardwareConcurrency`.
    pub hardware_concurrency: Option<f64>,
    /// The backend `Engine.initDevice("auto")` would try first.
    pub recommended_backend: &'static str,
}

fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_undefined() || target.is_null() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_string(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string().filter(|s| !s.is_empty())
}

fn describe(e: &JsValue) -> String {
    get(e, "message").as_string().or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"))
}

/// Probes `navigator.gpu` (in a page or a worker): adapter info, limits and `shader-f16`.
/// Never fails: problems are reported in the result.
#[wasm_bindgen]
pub async fn capabilities() -> Result<JsValue, JsValue> {
    let caps = probe().await;
    to_js(&caps)
}

pub(crate) async fn probe() -> Capabilities {
    let mut caps = Capabilities { recommended_backend: "cpu", ..Default::default() };
    let navigator = get(&js_sys::global(), "navigator");
    caps.hardware_concurrency = get(&navigator, "hardwareConcurrency").as_f64();
    let gpu = get(&navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        caps.adapter_error = Some("navigator.gpu is not available (WebGPU unsupported or disabled)".into());
        return caps;
    }
    caps.webgpu_api = true;
    let adapter = match request_adapter(&gpu).await {
        Ok(a) if !a.is_null() && !a.is_undefined() => a,
        Ok(_) => {
            caps.adapter_error = Some("requestAdapter() returned null".into());
            return caps;
        }
        Err(e) => {
            caps.adapter_error = Some(describe(&e));
            return caps;
        }
    };
    caps.adapter = true;
    let info = get(&adapter, "info");
    caps.vendor = get_string(&info, "vendor");
    caps.architecture = get_string(&info, "architecture");
    caps.device = get_string(&info, "device");
    caps.description = get_string(&info, "description");
    caps.is_fallback_adapter =
        get(&info, "isFallbackAdapter").as_bool().or_else(|| get(&adapter, "isFallbackAdapter").as_bool()).unwrap_or(false);
    let limits = get(&adapter, "limits");
    caps.max_storage_buffer_binding_size = get(&limits, "maxStorageBufferBindingSize").as_f64();
    caps.max_buffer_size = get(&limits, "maxBufferSize").as_f64();
    caps.max_compute_workgroup_storage_size = get(&limits, "maxComputeWorkgroupStorageSize").as_f64();
    let features = get(&adapter, "features");
    if let Some(has) = get(&features, "has").dyn_ref::<Function>() {
        caps.shader_f16 = has.call1(&features, &JsValue::from_str("shader-f16")).ok().and_then(|v| v.as_bool()).unwrap_or(false);
    }
    caps.recommended_backend = "webgpu";
    caps
}

async fn request_adapter(gpu: &JsValue) -> Result<JsValue, JsValue> {
    let request: Function = get(gpu, "requestAdapter").dyn_into()?;
    let promise: Promise = request.call0(gpu)?.dyn_into()?;
    JsFuture::from(promise).await
}
