//! The model engine for JavaScript: device choice, loading from bytes, streamed generation
//! with cancellation between tokens.
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use rf_engine::{
    ChatMessage, Device, EngineError, GenerationConfig, LoadOptions, LocalModel, ModelFiles, SamplingConfig, Step, WeightFormat, fit_new_tokens,
};
use rf_solve::sampling_config;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::error::{engine_error, from_js, js_error, to_js};

/// Prompt tokens per forward pass while prefilling; between chunks the engine yields to the
/// event loop so a cancel message is seen even during a long prompt.
const PREFILL_CHUNK: usize = 64;
/// Default context (prompt + generated tokens) when the caller gives none.
const DEFAULT_CONTEXT: usize = 4096;
/// New tokens when neither the request nor the options name a budget.
const DEFAULT_MAX_NEW_TOKENS: usize = 256;

/// The compute backend in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Webgpu,
    Cpu,
}

impl Backend {
    fn as_str(self) -> &'static str {
        match self {
            Backend::Webgpu => "webgpu",
            Backend::Cpu => "cpu",
        }
    }
}

thread_local! {
    /// burn's wgpu runtime can be initialised once per page/worker: the outcome is kept.
    static WEBGPU: RefCell<Option<Result<Device, String>>> = const { RefCell::new(None) };
}

async fn webgpu_device() -> Result<Device, String> {
    if let Some(done) = WEBGPU.with(|w| w.borrow().clone()) {
        return done;
    }
    let caps = crate::caps::probe().await;
    let result = if !caps.adapter {
        Err(caps.adapter_error.unwrap_or_else(|| "no WebGPU adapter".into()))
    } else {
        Device::wgpu_options().init_async().await.map_err(|e| format!("burn-wgpu could not start: {e}"))
    };
    WEBGPU.with(|w| *w.borrow_mut() = Some(result.clone()));
    result
}

/// Milliseconds from `performance.now()` (or `Date.now()`).
fn now_ms() -> f64 {
    let perf = Reflect::get(&js_sys::global(), &JsValue::from_str("performance")).unwrap_or(JsValue::UNDEFINED);
    if let Ok(f) = Reflect::get(&perf, &JsValue::from_str("now"))
        && let Some(f) = f.dyn_ref::<Function>()
        && let Some(t) = f.call0(&perf).ok().and_then(|v| v.as_f64())
    {
        return t;
    }
    js_sys::Date::now()
}

thread_local! {
    /// A private `MessageChannel` (built through `Reflect`, so web-sys keeps wgpu's feature
    /// set): posting to it queues a task behind messages already waiting (such as "cancel"),
    /// without the clamping and low priority of `setTimeout`.
    static YIELD_CHANNEL: Option<(JsValue, JsValue)> = make_channel();
}

fn make_channel() -> Option<(JsValue, JsValue)> {
    let ctor: Function = Reflect::get(&js_sys::global(), &JsValue::from_str("MessageChannel")).ok()?.dyn_into().ok()?;
    let channel = Reflect::construct(&ctor, &Array::new()).ok()?;
    let port1 = Reflect::get(&channel, &JsValue::from_str("port1")).ok()?;
    let port2 = Reflect::get(&channel, &JsValue::from_str("port2")).ok()?;
    Some((port1, port2))
}

fn post_to_channel(resolve: &Function) -> bool {
    YIELD_CHANNEL.with(|channel| {
        let Some((port1, port2)) = channel else { return false };
        let resolve = resolve.clone();
        let callback = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        if Reflect::set(port1, &JsValue::from_str("onmessage"), &callback).is_err() {
            return false;
        }
        let Ok(post) = Reflect::get(port2, &JsValue::from_str("postMessage")).and_then(|f| f.dyn_into::<Function>().map_err(JsValue::from)) else {
            return false;
        };
        post.call1(port2, &JsValue::NULL).is_ok()
    })
}

/// Lets the event loop run (a macrotask turn), so messages such as "cancel" are handled.
async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _reject| {
        if !post_to_channel(&resolve) {
            gloo::timers::callback::Timeout::new(0, move || {
                let _ = resolve.call0(&JsValue::NULL);
            })
            .forget();
        }
    });
    let _ = JsFuture::from(promise).await;
}

struct Inner {
    model: Option<LocalModel>,
    device: Option<(Device, Backend)>,
    /// Why WebGPU is not in use, when it is not.
    webgpu_error: Option<String>,
}

/// The engine JavaScript holds (one per worker).
///
/// ```js
/// const engine = new Engine();
/// await engine.initDevice("auto");          // {backend: "webgpu" | "cpu", webgpu_error}
/// await engine.loadGguf(bytes, null, 2048);  // model info
/// const r = await engine.generate("What is 2+3?", {max_new_tokens: 32}, t => print(t.text));
/// engine.cancel();                           // from a message handler while generating
/// ```
#[wasm_bindgen]
pub struct Engine {
    inner: Rc<RefCell<Inner>>,
    cancel: Rc<Cell<bool>>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

/// The input of `generate`: a prompt, a message list, or a planner `GenerateRequest`.
#[derive(Debug, Default, Deserialize)]
struct GenerateInput {
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    messages: Option<Vec<ChatMessage>>,
    #[serde(default)]
    sampling: Option<rf_planner::Sampling>,
    #[serde(default)]
    stop: Vec<String>,
}


/// Options of `generate`; each overrides the request's value.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GenerateOptions {
    max_new_tokens: Option<usize>,
    /// Upper bound applied after everything else (the UI's token cap for planner requests).
    max_new_tokens_cap: Option<usize>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    top_k: Option<usize>,
    seed: Option<u64>,
    stop: Option<Vec<String>>,
    /// Use `prompt` as raw model input, without the chat template.
    raw: bool,
}

/// What `generate` resolves to.
#[derive(Debug, Serialize)]
struct GenerateResult {
    text: String,
    finish_reason: rf_engine::FinishReason,
    /// Stopped by the token budget or the context's end (what the planner's `truncated` takes).
    truncated: bool,
    prompt_tokens: usize,
    tokens_out: usize,
    prefill_ms: f64,
    decode_ms: f64,
    /// From the call to the first new token.
    ttft_ms: f64,
    /// Decode speed after the first token.
    tokens_per_s: f64,
    prefill_tokens_per_s: f64,
    backend: &'static str,
}

#[derive(Debug, Serialize)]
struct ModelInfo {
    architecture: String,
    layers: usize,
    hidden_size: usize,
    heads: usize,
    kv_heads: usize,
    vocab_size: usize,
    context_len: usize,
    backend: &'static str,
    /// `"quant"` (GGUF blocks on the CPU kernels) or `"f32"` (WebGPU).
    weights: WeightFormat,
    /// Bytes the weights occupy as loaded.
    weight_bytes: usize,
    load_ms: f64,
    warmup_ms: f64,
}

#[derive(Debug, Serialize)]
struct DeviceInfo {
    backend: &'static str,
    webgpu_error: Option<String>,
}

#[wasm_bindgen]
impl Engine {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Engine {
        Engine {
            inner: Rc::new(RefCell::new(Inner { model: None, device: None, webgpu_error: None })),
            cancel: Rc::new(Cell::new(false)),
        }
    }

    /// Chooses the device: `"webgpu"` (fails with `no_webgpu` when unavailable), `"cpu"`, or
    /// `"auto"` (WebGPU, else the CPU fallback). Resolves to `{backend, webgpu_error}`.
    /// Changing the device drops a loaded model.
    #[wasm_bindgen(js_name = initDevice)]
    pub fn init_device(&self, prefer: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let (device, backend, webgpu_error) = match prefer.as_str() {
                "cpu" => (Device::flex(), Backend::Cpu, Some("CPU backend requested".to_string())),
                "webgpu" | "gpu" => match webgpu_device().await {
                    Ok(d) => (d, Backend::Webgpu, None),
                    Err(e) => return Err(js_error("no_webgpu", e)),
                },
                "auto" | "" => match webgpu_device().await {
                    Ok(d) => (d, Backend::Webgpu, None),
                    Err(e) => (Device::flex(), Backend::Cpu, Some(e)),
                },
                other => return Err(js_error("invalid_argument", format!("unknown backend '{other}' (auto, webgpu, cpu)"))),
            };
            let mut inner = inner.try_borrow_mut().map_err(|_| js_error("busy", "the engine is busy"))?;
            if inner.device.as_ref().map(|d| d.1) != Some(backend) {
                inner.model = None;
            }
            inner.device = Some((device, backend));
            inner.webgpu_error = webgpu_error.clone();
            to_js(&DeviceInfo { backend: backend.as_str(), webgpu_error })
        })
    }

    /// `"webgpu"`, `"cpu"`, or `undefined` before `initDevice`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> Option<String> {
        self.inner.try_borrow().ok()?.device.as_ref().map(|d| d.1.as_str().to_string())
    }

    /// Whether a model is loaded.
    #[wasm_bindgen(getter)]
    pub fn loaded(&self) -> bool {
        self.inner.try_borrow().map(|i| i.model.is_some()).unwrap_or(true)
    }

    /// Loads a GGUF file (tokenizer from its metadata unless `tokenizer_json` is given).
    /// Resolves to the model info; warms up (first kernels) before resolving.
    #[wasm_bindgen(js_name = loadGguf)]
    pub fn load_gguf(&self, gguf: Vec<u8>, tokenizer_json: Option<Vec<u8>>, context_len: Option<u32>) -> Promise {
        self.load(ModelFiles::Gguf { gguf, tokenizer_json }, context_len)
    }

    /// Loads an HF checkpoint: config.json text, safetensors shards (an array of
    /// `Uint8Array`), tokenizer.json bytes.
    #[wasm_bindgen(js_name = loadHf)]
    pub fn load_hf(&self, config_json: String, shards: Array, tokenizer_json: Vec<u8>, context_len: Option<u32>) -> Promise {
        let mut bytes = Vec::with_capacity(shards.length() as usize);
        for shard in shards.iter() {
            match shard.dyn_into::<Uint8Array>() {
                Ok(a) => bytes.push(a.to_vec()),
                Err(_) => return Promise::reject(&js_error("invalid_argument", "shards must be Uint8Arrays")),
            }
        }
        self.load(ModelFiles::HuggingFace { config_json, shards: bytes, tokenizer_json }, context_len)
    }

    fn load(&self, files: ModelFiles, context_len: Option<u32>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let mut guard = inner.try_borrow_mut().map_err(|_| js_error("busy", "the engine is busy"))?;
            guard.model = None;
            if guard.device.is_none() {
                guard.device = Some((Device::flex(), Backend::Cpu));
            }
            let (device, backend) = guard.device.clone().expect("set above");
            let on_gpu = backend == Backend::Webgpu;
            let t0 = now_ms();
            let context = context_len.map(|c| c as usize).unwrap_or(DEFAULT_CONTEXT);
            // The CPU path keeps GGUF blocks (no f32 copy in the wasm heap); WebGPU has f32
            // kernels only for now.
            let weights = if on_gpu { WeightFormat::F32 } else { WeightFormat::Quant };
            let options = LoadOptions::new(context).weights(weights);
            let mut model = LocalModel::from_files(files, &device, &options).map_err(|e| engine_error(&e, on_gpu))?;
            let load_ms = now_ms() - t0;
            // Warm-up: compile the first kernels now rather than on the user's first token.
            let t1 = now_ms();
            let warm = model.tokenizer.encode("Hi").ok().filter(|ids| !ids.is_empty()).unwrap_or_else(|| vec![0]);
            model.model.reset();
            model.model.forward_host_async(&warm[..1], false).await.map_err(|e| engine_error(&e, on_gpu))?;
            model.model.reset();
            let warmup_ms = now_ms() - t1;
            let cfg = model.model.config();
            let info = ModelInfo {
                architecture: format!("{:?}", cfg.architecture).to_lowercase(),
                layers: cfg.num_hidden_layers,
                hidden_size: cfg.hidden_size,
                heads: cfg.num_attention_heads,
                kv_heads: cfg.kv_heads(),
                vocab_size: cfg.vocab_size,
                context_len: model.model.context_len(),
                backend: backend.as_str(),
                weights: model.model.weights(),
                weight_bytes: model.model.weight_bytes(),
                load_ms,
                warmup_ms,
            };
            guard.model = Some(model);
            to_js(&info)
        })
    }

    /// Drops the model (frees its memory); the device stays.
    pub fn unload(&self) -> Result<(), JsValue> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| js_error("busy", "the engine is busy"))?;
        inner.model = None;
        Ok(())
    }

    /// Tokenises text (for counting): resolves to an array of ids.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, JsValue> {
        let inner = self.inner.try_borrow().map_err(|_| js_error("busy", "the engine is busy"))?;
        let model = inner.model.as_ref().ok_or_else(|| js_error("not_loaded", "no model is loaded"))?;
        model.tokenizer.encode(text).map_err(|e| engine_error(&e, false))
    }

    /// Generates a continuation.
    ///
    /// `input`: a prompt string, an array of `{role, content}` messages, or an object with
    /// `prompt` or `messages` (a planner `GenerateRequest` works as is: its `sampling` and
    /// `stop` are used). `options` (`max_new_tokens`, `max_new_tokens_cap`, `temperature`,
    /// `top_p`, `top_k`, `seed`, `stop`, `raw`) override. `on_token({id, text, index})` is
    /// called for every token. Resolves to `{text, finish_reason, prompt_tokens, tokens_out,
    /// prefill_ms, decode_ms, ttft_ms, tokens_per_s, prefill_tokens_per_s, backend}`.
    /// [`Engine::cancel`] ends it between tokens with `finish_reason: "cancelled"`.
    pub fn generate(&self, input: JsValue, options: JsValue, on_token: Option<Function>) -> Promise {
        let inner = self.inner.clone();
        let cancel = self.cancel.clone();
        future_to_promise(async move {
            let start = now_ms();
            let input = parse_input(input)?;
            let options: GenerateOptions =
                if options.is_undefined() || options.is_null() { GenerateOptions::default() } else { from_js(options, "generate options")? };
            let mut guard = inner.try_borrow_mut().map_err(|_| js_error("busy", "a generation is already running"))?;
            let backend = guard.device.as_ref().map(|d| d.1).unwrap_or(Backend::Cpu);
            let on_gpu = backend == Backend::Webgpu;
            let model = guard.model.as_mut().ok_or_else(|| js_error("not_loaded", "no model is loaded"))?;
            let err = |e: EngineError| engine_error(&e, on_gpu);
            cancel.set(false);

            let prompt_ids = match (&input.messages, &input.prompt) {
                (Some(messages), _) => model.chat_prompt(messages).map_err(err)?,
                (None, Some(p)) if options.raw => model.tokenizer.encode(p).map_err(err)?,
                (None, Some(p)) => model.chat_prompt(&[ChatMessage::new("user", p)]).map_err(err)?,
                (None, None) => return Err(js_error("invalid_argument", "generate needs a prompt or messages")),
            };
            if prompt_ids.is_empty() {
                return Err(err(EngineError::EmptyPrompt));
            }
            let context = model.model.context_len();
            let sampling = input.sampling.clone();
            let mut max_new = options
                .max_new_tokens
                .or(sampling.as_ref().map(|s| s.max_new_tokens as usize))
                .unwrap_or(DEFAULT_MAX_NEW_TOKENS);
            if let Some(cap) = options.max_new_tokens_cap {
                max_new = max_new.min(cap);
            }
            let max_new = fit_new_tokens(max_new, prompt_ids.len(), context).map_err(err)?;
            let base = sampling.as_ref().map(sampling_config).unwrap_or_else(SamplingConfig::greedy);
            let mut stop_tokens = model.stop_tokens();
            stop_tokens.sort_unstable();
            let cfg = GenerationConfig {
                max_new_tokens: max_new,
                sampling: SamplingConfig {
                    temperature: options.temperature.unwrap_or(base.temperature),
                    top_k: options.top_k.unwrap_or(base.top_k),
                    top_p: options.top_p.unwrap_or(base.top_p),
                    seed: options.seed.unwrap_or(base.seed),
                },
                stop_tokens,
                stop_strings: options.stop.clone().unwrap_or(input.stop.clone()),
            };
            let mut session = rf_engine::DecodeSession::new(&cfg, prompt_ids.len(), context).map_err(err)?;

            model.model.reset();
            let mut logits = Vec::new();
            for chunk in prompt_ids.chunks(PREFILL_CHUNK) {
                if cancel.get() {
                    session.cancel();
                    break;
                }
                logits = model.model.forward_host_async(chunk, false).await.map_err(err)?.pop().unwrap_or_default();
                yield_now().await;
            }
            let prefill_end = now_ms();
            let mut first_token_at = None;
            let mut last_token_at = prefill_end;
            let mut count = 0usize;
            if session.finished().is_none() {
                loop {
                    match session.next(&logits, &model.tokenizer).map_err(err)? {
                        Step::Finished(_) => break,
                        Step::Token { id, text } => {
                            let t = now_ms();
                            first_token_at.get_or_insert(t);
                            last_token_at = t;
                            if let Some(cb) = &on_token {
                                let event = js_sys::Object::new();
                                let _ = Reflect::set(&event, &"id".into(), &JsValue::from(id));
                                let _ = Reflect::set(&event, &"text".into(), &JsValue::from_str(&text));
                                let _ = Reflect::set(&event, &"index".into(), &JsValue::from(count as u32));
                                let _ = cb.call1(&JsValue::NULL, &event);
                            }
                            count += 1;
                            if session.finished().is_some() {
                                break;
                            }
                            yield_now().await;
                            if cancel.get() {
                                session.cancel();
                                break;
                            }
                            logits = model.model.forward_host_async(&[id], false).await.map_err(err)?.pop().unwrap_or_default();
                        }
                    }
                }
            }
            let end = now_ms();
            model.model.reset();
            let prompt_tokens = prompt_ids.len();
            let prefill_ms = prefill_end - start;
            let first = first_token_at.unwrap_or(end);
            let generation = session.into_generation(prefill_ms / 1e3, (end - prefill_end) / 1e3);
            let tokens_per_s = if count > 1 && last_token_at > first { (count - 1) as f64 * 1e3 / (last_token_at - first) } else { 0.0 };
            to_js(&GenerateResult {
                text: generation.text,
                finish_reason: generation.finish_reason,
                truncated: generation.finish_reason.is_cut_off(),
                prompt_tokens,
                tokens_out: count,
                prefill_ms,
                decode_ms: end - prefill_end,
                ttft_ms: first - start,
                tokens_per_s,
                prefill_tokens_per_s: if prefill_ms > 0.0 { prompt_tokens as f64 * 1e3 / prefill_ms } else { 0.0 },
                backend: backend.as_str(),
            })
        })
    }

    /// Stops the running generation at the next token boundary (or prefill chunk); the text so
    /// far is kept and the engine stays usable.
    pub fn cancel(&self) {
        self.cancel.set(true);
    }
}

fn parse_input(input: JsValue) -> Result<GenerateInput, JsValue> {
    if let Some(prompt) = input.as_string() {
        return Ok(GenerateInput { prompt: Some(prompt), ..Default::default() });
    }
    if Array::is_array(&input) {
        let messages: Vec<ChatMessage> = from_js(input, "messages")?;
        return Ok(GenerateInput { messages: Some(messages), ..Default::default() });
    }
    if input.is_object() {
        return from_js(input, "generate input");
    }
    Err(js_error("invalid_argument", "generate input must be a string, an array of messages or an object"))
}
