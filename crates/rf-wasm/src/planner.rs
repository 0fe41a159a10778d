//! The planner state machines for JavaScript: `start`, `nextAction`, `feed`, `trace`,
//! `save` / `restore`.
use rf_planner::{Action, AnyStrategy, Observation, Strategy, StrategyKind, StrategySpec};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::error::{from_js, js_error, json_from_js, to_js};
use crate::templates::Templates;

/// A running strategy (ReasonFlux, Direct, Best-of-N or MCTS).
#[wasm_bindgen]
pub struct Planner {
    inner: AnyStrategy,
}

/// The default spec of a strategy.
fn default_spec(name: &str) -> Result<StrategySpec, JsValue> {
    let kind: StrategyKind = name.parse().map_err(|e| js_error("invalid_argument", e))?;
    Ok(StrategySpec::default_for(kind))
}

/// Overlays `patch` on `base` (objects merged key by key, everything else replaced).
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// Reads a spec: `{"strategy": name, "config": {...partial...}}` or just a name; missing
/// settings (also inside nested objects such as `navigator`) take their defaults.
pub fn parse_spec(spec: Value) -> Result<StrategySpec, JsValue> {
    let (name, config) = match spec {
        Value::Null => ("reasonflux".to_string(), Value::Null),
        Value::String(name) => (name, Value::Null),
        Value::Object(mut map) => {
            let name = map.remove("strategy").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "reasonflux".into());
            (name, map.remove("config").unwrap_or(Value::Null))
        }
        _ => return Err(js_error("invalid_argument", "strategy spec must be a name or {strategy, config}")),
    };
    let mut full = serde_json::to_value(default_spec(&name)?).map_err(|e| js_error("invalid_argument", e))?;
    if !config.is_null() {
        merge(&mut full["config"], config);
    }
    serde_json::from_value(full).map_err(|e| js_error("invalid_argument", format!("strategy config: {e}")))
}

/// A spec from JS: an object, JSON text, or a bare strategy name such as `guided` (which is
/// not JSON text, so it is taken as the name rather than reported as a JSON syntax error).
fn spec_from_js(spec: JsValue) -> Result<Value, JsValue> {
    match spec.as_string() {
        Some(text) if !text.trim_start().starts_with(['{', '"']) => Ok(Value::String(text)),
        _ => json_from_js(spec, "strategy spec"),
    }
}

#[wasm_bindgen]
impl Planner {
    /// Starts a run. `spec`: a JSON string or object `{"strategy": "reasonflux" | "direct" |
    /// "guided" | "best-of-n" | "mcts", "config": {...}}` (partial configs are completed with
    /// defaults; an unknown field is an error naming it).
    pub fn start(spec: JsValue, problem: &str) -> Result<Planner, JsValue> {
        let spec = parse_spec(spec_from_js(spec)?)?;
        Ok(Planner { inner: spec.start(problem) })
    }

    /// The full default spec of a strategy (JSON text), for UIs that show the settings.
    #[wasm_bindgen(js_name = defaultSpec)]
    pub fn default_spec_json(name: &str) -> Result<String, JsValue> {
        serde_json::to_string(&default_spec(name)?).map_err(|e| js_error("invalid_argument", e))
    }

    /// What to do next: `{type: "generate", request_id, role, messages, sampling, stop}`,
    /// `{type: "retrieve", request_id, query, k}` or `{type: "done", answer, final_text, totals}`.
    /// Repeats the pending request until it is answered.
    #[wasm_bindgen(js_name = nextAction)]
    pub fn next_action(&mut self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.next_action())
    }

    /// Answers the pending request: `{type: "generated", request_id, text, tokens_in,
    /// tokens_out}`, `{type: "retrieved", request_id, templates}` or `{type: "failed",
    /// request_id, error}` (object or JSON text). A misplaced answer is a `planner` error and
    /// changes nothing.
    pub fn feed(&mut self, observation: JsValue) -> Result<(), JsValue> {
        let obs: Observation = from_js(observation, "observation")?;
        self.inner.feed(obs).map_err(|e| js_error("planner", e))
    }

    /// Performs a pending `retrieve` action with `templates` and feeds the result; returns
    /// the cards fed (so the UI can show them). Errors when the pending action is not a
    /// retrieval.
    #[wasm_bindgen(js_name = answerRetrieve)]
    pub fn answer_retrieve(&mut self, templates: &Templates) -> Result<JsValue, JsValue> {
        let Action::Retrieve(req) = self.inner.next_action() else {
            return Err(js_error("planner", "the pending action is not a retrieval"));
        };
        let cards = templates.cards(&req.query, req.k);
        let shown = to_js(&cards)?;
        self.inner
            .feed(Observation::Retrieved { request_id: req.request_id, templates: cards })
            .map_err(|e| js_error("planner", e))?;
        Ok(shown)
    }

    /// The run so far as JSON text (plans, steps with templates and evaluations, exchanges,
    /// totals, flags, answer).
    pub fn trace(&self) -> String {
        self.inner.trace().to_json()
    }

    /// The run so far as a JS object.
    #[wasm_bindgen(js_name = traceObject)]
    pub fn trace_object(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.trace())
    }

    /// Whether the run has finished.
    #[wasm_bindgen(getter, js_name = isDone)]
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// Upper bound on the actions of this run.
    #[wasm_bindgen(js_name = maxActions)]
    pub fn max_actions(&self) -> usize {
        self.inner.max_actions()
    }

    /// The whole machine state as JSON text; [`Planner::restore`] continues it exactly.
    pub fn save(&self) -> Result<String, JsValue> {
        serde_json::to_string(&self.inner).map_err(|e| js_error("planner", e))
    }

    /// Rebuilds a machine from [`Planner::save`] output.
    pub fn restore(state: &str) -> Result<Planner, JsValue> {
        let inner: AnyStrategy = serde_json::from_str(state).map_err(|e| js_error("invalid_argument", format!("planner state: {e}")))?;
        Ok(Planner { inner })
    }
}
