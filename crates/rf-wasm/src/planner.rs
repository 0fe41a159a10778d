//! The planner state machines for JavaScript: `start`, `nextAction`, `feed`, `trace`,
//! `save` / `restore`.
use rf_planner::{Action, AnyStrategy, Observation, Strategy, StrategyKind, StrategySpec, TemplateCard};
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::error::{from_js, js_error, json_from_js, to_js};
use crate::templates::Templates;

/// What the planner reads from an `Engine.generate` result.
#[derive(Debug, Deserialize)]
struct EngineReply {
    text: String,
    prompt_tokens: u64,
    tokens_out: u64,
    #[serde(default)]
    truncated: bool,
}

/// A `{kind, message, fatal}` error object (see `crate::error`).
#[derive(Debug, Deserialize)]
struct EngineFailure {
    kind: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    fatal: bool,
}

/// A running strategy (ReasonFlux, Direct, Best-of-N or MCTS).
#[wasm_bindgen]
pub struct Planner {
    inner: AnyStrategy,
}

/// The default spec of a strategy.
fn default_spec(name: &str) -> Result<StrategySpec, String> {
    let kind = name.parse::<StrategyKind>().map_err(|e| e.to_string())?;
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

/// Reads a spec: `{"strategy": name, "config": {...partial...}, "max_new_tokens": n}` or just
/// a name; missing settings (also inside nested objects such as `navigator`) take their
/// defaults, and `max_new_tokens` bounds every generation of the strategy
/// ([`StrategySpec::cap_max_new_tokens`], the CLI's `--max-new-tokens`).
pub fn parse_spec(spec: Value) -> Result<StrategySpec, String> {
    let (name, config, cap) = match spec {
        Value::Null => ("reasonflux".to_string(), Value::Null, None),
        Value::String(name) => (name, Value::Null, None),
        Value::Object(mut map) => {
            let name = match map.remove("strategy") {
                None => "reasonflux".to_string(),
                Some(Value::String(name)) => name,
                Some(other) => return Err(format!("strategy must be a name, not {other}")),
            };
            let config = map.remove("config").unwrap_or(Value::Null);
            let cap = match map.remove("max_new_tokens") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("max_new_tokens must be a positive integer, not {v}"))?,
                ),
            };
            if let Some(key) = map.keys().next() {
                return Err(format!("unknown strategy spec field `{key}` (expected strategy, config, max_new_tokens)"));
            }
            (name, config, cap)
        }
        _ => return Err("strategy spec must be a name or {strategy, config, max_new_tokens}".into()),
    };
    let mut full = serde_json::to_value(default_spec(&name)?).map_err(|e| e.to_string())?;
    if !config.is_null() {
        merge(&mut full["config"], config);
    }
    let mut spec: StrategySpec = serde_json::from_value(full).map_err(|e| format!("strategy config: {e}"))?;
    if let Some(cap) = cap {
        spec.cap_max_new_tokens(cap);
    }
    Ok(spec)
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
    /// Starts a run. `spec`: a strategy name, or a JSON string or object `{"strategy":
    /// "reasonflux" | "direct" | "guided" | "best-of-n" | "mcts", "config": {...},
    /// "max_new_tokens": n}` (partial configs are completed with defaults; an unknown field is
    /// an error naming it).
    pub fn start(spec: JsValue, problem: &str) -> Result<Planner, JsValue> {
        let spec = parse_spec(spec_from_js(spec)?).map_err(|e| js_error("invalid_argument", e))?;
        Ok(Planner { inner: spec.start(problem) })
    }

    /// The full default spec of a strategy (JSON text), for UIs that show the settings.
    #[wasm_bindgen(js_name = defaultSpec)]
    pub fn default_spec_json(name: &str) -> Result<String, JsValue> {
        let spec = default_spec(name).map_err(|e| js_error("invalid_argument", e))?;
        serde_json::to_string(&spec).map_err(|e| js_error("invalid_argument", e))
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

    /// Answers the pending generation with what `Engine.generate` resolved to (`text`,
    /// `prompt_tokens`, `tokens_out`, `truncated`).
    #[wasm_bindgen(js_name = feedGenerated)]
    pub fn feed_generated(&mut self, result: JsValue) -> Result<(), JsValue> {
        let Action::Generate(req) = self.inner.next_action() else {
            return Err(js_error("planner", "the pending action is not a generation"));
        };
        let r: EngineReply = from_js(result, "generate result")?;
        let obs = Observation::Generated {
            request_id: req.request_id,
            text: r.text,
            tokens_in: r.prompt_tokens,
            tokens_out: r.tokens_out,
            truncated: r.truncated,
        };
        self.inner.feed(obs).map_err(|e| js_error("planner", e))
    }

    /// Answers the pending request with a failure `{kind, message, fatal}`. A fatal one (the
    /// engine cannot serve another request) is thrown back instead, so the run stops, as the
    /// native driver stops on `BackendError::fatal`; any other is the strategy's to handle.
    #[wasm_bindgen(js_name = feedError)]
    pub fn feed_error(&mut self, error: JsValue) -> Result<(), JsValue> {
        let failure: EngineFailure = from_js(error.clone(), "error")?;
        if failure.fatal {
            return Err(error);
        }
        let request_id = match self.inner.next_action() {
            Action::Generate(req) => req.request_id,
            Action::Retrieve(req) => req.request_id,
            Action::Done(_) => return Err(js_error("planner", "the run has finished; there is no request to fail")),
        };
        let obs = Observation::Failed { request_id, error: format!("{}: {}", failure.kind, failure.message) };
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
        // A failed retrieval is fed back as a failure (the strategies carry on without
        // templates), as the native driver does.
        let (shown, observation) = match templates.cards(&req.query, req.form, req.k) {
            Ok(cards) => (to_js(&cards)?, Observation::Retrieved { request_id: req.request_id, templates: cards }),
            Err(e) => (to_js(&Vec::<TemplateCard>::new())?, Observation::Failed { request_id: req.request_id, error: format!("retrieval: {e}") }),
        };
        self.inner.feed(observation).map_err(|e| js_error("planner", e))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn budgets(spec: &StrategySpec) -> Vec<u32> {
        match spec {
            StrategySpec::ReasonFlux(c) => vec![c.navigator.max_new_tokens, c.inference.max_new_tokens],
            StrategySpec::Mcts(c) => vec![c.step_sampling.max_new_tokens, c.rollout_sampling.max_new_tokens, c.eval_sampling.max_new_tokens],
            StrategySpec::Direct(c) => vec![c.sampling.max_new_tokens],
            StrategySpec::Guided(c) => vec![c.sampling.max_new_tokens],
            StrategySpec::BestOfN(c) => vec![c.sampling.max_new_tokens],
        }
    }

    #[test]
    fn one_budget_bounds_every_generation() {
        let spec = parse_spec(json!({"strategy": "mcts", "max_new_tokens": 300})).unwrap();
        assert_eq!(budgets(&spec), [300, 300, 256]);
        let spec = parse_spec(json!({"strategy": "reasonflux", "config": {"max_rounds": 4}, "max_new_tokens": 512})).unwrap();
        assert_eq!(budgets(&spec), [512, 512]);
        assert!(matches!(spec, StrategySpec::ReasonFlux(ref c) if c.max_rounds == 4));
    }

    #[test]
    fn a_bare_name_gets_the_defaults() {
        assert_eq!(parse_spec(json!("guided")).unwrap(), StrategySpec::default_for(StrategyKind::Guided));
        assert_eq!(parse_spec(Value::Null).unwrap().kind(), StrategyKind::ReasonFlux);
    }

    #[test]
    fn typos_are_errors_that_name_them() {
        let e = parse_spec(json!({"strategy": "reasonflux", "config": {"max_round": 8}})).unwrap_err();
        assert!(e.contains("max_round"), "{e}");
        let e = parse_spec(json!({"strategy": "direct", "max_tokens": 8})).unwrap_err();
        assert!(e.contains("max_tokens"), "{e}");
        let e = parse_spec(json!({"strategy": "best_of_n"})).unwrap_err();
        assert!(e.contains("best_of_n"), "{e}");
        assert!(parse_spec(json!({"strategy": "direct", "max_new_tokens": 0})).is_err());
        assert!(parse_spec(json!({"strategy": "direct", "max_new_tokens": "many"})).is_err());
    }
}
