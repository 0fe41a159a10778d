//! Reading plans and evaluation decisions from navigator text. Never fails on input shape:
//! the result is either something usable or `None` / a safe default.

use serde_json::Value;

use crate::lenient::{Quality, find_json};
use crate::text::{clamp_chars, one_line};
use crate::trace::{Decision, DecisionSource, PlanSource, PlanStep};

const MAX_NAME_CHARS: usize = 160;
const MAX_GOAL_CHARS: usize = 600;
const MAX_TAGS: usize = 8;
const MAX_TAG_CHARS: usize = 60;

/// Read a plan from navigator output: JSON (repaired if needed) first, then a numbered list.
pub fn parse_plan(text: &str, max_steps: usize) -> Option<(Vec<PlanStep>, PlanSource)> {
    let max_steps = max_steps.max(1);
    if let Some((steps, q)) = find_json(text, |v| plan_from_value(v, max_steps, 0)) {
        let source = match q {
            Quality::Strict => PlanSource::Json,
            Quality::Repaired => PlanSource::RepairedJson,
        };
        return Some((steps, source));
    }
    let steps = numbered_list(text, max_steps);
    if steps.is_empty() { None } else { Some((steps, PlanSource::NumberedList)) }
}

fn norm_key(k: &str) -> String {
    k.trim().to_lowercase().replace([' ', '-'], "_")
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    for name in names {
        for (k, v) in obj {
            if norm_key(k) == *name {
                return Some(v);
            }
        }
    }
    None
}

/// JSON escapes eat LaTeX: `"\frac"` decodes to a form feed + `rac`. Undo that when a
/// control character is directly followed by a letter.
pub fn restore_latex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let letter_next = chars.peek().is_some_and(|n| n.is_ascii_alphabetic());
        let esc = match c {
            '\u{c}' => Some('f'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\r' => Some('r'),
            _ => None,
        };
        match esc {
            Some(e) if letter_next => {
                out.push('\\');
                out.push(e);
            }
            _ => out.push(c),
        }
    }
    out
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => restore_latex(s.trim()),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(value_text).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

fn tags_of(v: &Value) -> Vec<String> {
    let raw: Vec<String> = match v {
        Value::Array(items) => items.iter().map(value_text).collect(),
        Value::String(s) => s.split([',', ';']).map(|t| t.trim().to_string()).collect(),
        other => vec![value_text(other)],
    };
    raw.into_iter()
        .map(|t| clamp_chars(&one_line(&t), MAX_TAG_CHARS))
        .filter(|t| !t.is_empty())
        .take(MAX_TAGS)
        .collect()
}

const STEP_LIST_KEYS: &[&str] =
    &["steps", "plan", "trajectory", "template_trajectory", "templates", "remaining_steps", "new_steps"];

/// A plan from a JSON value: a list of steps, or an object holding one under a known key.
pub fn plan_from_value(v: &Value, max_steps: usize, depth: usize) -> Option<Vec<PlanStep>> {
    let items = match v {
        Value::Array(items) => items,
        Value::Object(obj) => {
            let inner = field(obj, STEP_LIST_KEYS)?;
            if depth < 2 && inner.is_object() {
                return plan_from_value(inner, max_steps, depth + 1);
            }
            inner.as_array()?
        }
        _ => return None,
    };
    let steps: Vec<PlanStep> = items.iter().filter_map(step_from_value).take(max_steps).collect();
    if steps.is_empty() { None } else { Some(steps) }
}

fn step_from_value(v: &Value) -> Option<PlanStep> {
    let (name, tags, goal) = match v {
        Value::String(s) => (s.clone(), Vec::new(), s.clone()),
        Value::Object(obj) => {
            let name = field(obj, &["template", "template_name", "name", "method", "title", "technique"])
                .map(value_text)
                .unwrap_or_default();
            let tags = field(obj, &["tags", "knowledge_tags", "knowledge_tag", "tag", "keywords"])
                .map(tags_of)
                .unwrap_or_default();
            let goal = field(
                obj,
                &["sub_goal", "subgoal", "goal", "objective", "purpose", "task", "description", "step", "action"],
            )
            .map(value_text)
            .unwrap_or_default();
            (name, tags, goal)
        }
        _ => return None,
    };
    let name = clamp_chars(&one_line(&name), MAX_NAME_CHARS);
    let goal = clamp_chars(goal.trim(), MAX_GOAL_CHARS);
    if name.is_empty() && goal.is_empty() {
        return None;
    }
    let template = if name.is_empty() { clamp_chars(&one_line(&goal), 80) } else { name };
    if !names_a_method(&template) {
        return None;
    }
    let sub_goal = if goal.is_empty() { template.clone() } else { goal };
    Some(PlanStep { template, tags, sub_goal })
}

/// Whether a step's template names a method in words (`Vieta's formulas`, `AM-GM`), not only
/// a formula fragment (`75 - 165 = -90`, `2\frac{3`): it must hold a word of at least three
/// letters, or an upper-case abbreviation of two, that is not a LaTeX command. A fragment would
/// be a retrieval query of noise.
pub fn names_a_method(template: &str) -> bool {
    let mut word = String::new();
    let mut after_backslash = false;
    for c in template.chars().chain(std::iter::once(' ')) {
        if c.is_alphabetic() {
            word.push(c);
            continue;
        }
        let n = word.chars().count();
        let is_word = n >= 3 || (n == 2 && word.chars().all(char::is_uppercase));
        if is_word && !after_backslash {
            return true;
        }
        after_backslash = c == '\\';
        word.clear();
    }
    false
}

/// Steps from lines like `1. …`, `2) …`, `Step 3: …`.
pub fn numbered_list(text: &str, max_steps: usize) -> Vec<PlanStep> {
    let mut out = Vec::new();
    for line in text.lines().take(2000) {
        let Some(body) = numbered_item(line) else { continue };
        let body = body.replace("**", "");
        let body = body.trim();
        if body.is_empty() {
            continue;
        }
        let (main, tags) = split_tags(body);
        let (name, goal) = split_name(&main);
        if !names_a_method(&name) {
            continue;
        }
        out.push(PlanStep {
            template: clamp_chars(&one_line(&name), MAX_NAME_CHARS),
            tags,
            sub_goal: clamp_chars(goal.trim(), MAX_GOAL_CHARS),
        });
        if out.len() >= max_steps {
            break;
        }
    }
    out
}

fn numbered_item(line: &str) -> Option<&str> {
    let mut s = line.trim_start().trim_start_matches(['#', '*', '-', ' ']);
    if s.len() >= 4 && s.is_char_boundary(4) && s[..4].eq_ignore_ascii_case("step") {
        s = s[4..].trim_start();
    }
    let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let rest = &s[digits..];
    let mut chars = rest.chars();
    match chars.next() {
        Some('.') | Some(')') | Some(':') => Some(chars.as_str()),
        _ => None,
    }
}

fn split_tags(body: &str) -> (String, Vec<String>) {
    // ASCII case-insensitive search: the match starts and ends on char boundaries.
    let pos = body.as_bytes().windows(5).position(|w| w.eq_ignore_ascii_case(b"tags:"));
    let Some(pos) = pos else { return (body.to_string(), Vec::new()) };
    let head = body[..pos].trim_end_matches(['(', '[', ' ', '-', ',', ';']).to_string();
    let tail = &body[pos + 5..];
    let end = tail.find([')', ']']).unwrap_or(tail.len());
    let tags = tags_of(&Value::String(tail[..end].to_string()));
    let rest = tail[end..].trim_start_matches([')', ']']).trim();
    let main = if rest.is_empty() { head } else { format!("{head} {rest}") };
    (main, tags)
}

fn split_name(main: &str) -> (String, String) {
    for sep in [": ", " - ", " — ", " – "] {
        if let Some(pos) = main.find(sep) {
            let name = main[..pos].trim();
            let goal = main[pos + sep.len()..].trim();
            if !name.is_empty() && name.chars().count() <= 100 && !goal.is_empty() {
                return (name.to_string(), goal.to_string());
            }
        }
    }
    (clamp_chars(main, 80), main.to_string())
}

/// Read an evaluation decision. Unreadable text gives `Continue` with [`DecisionSource::Default`].
pub fn parse_decision(text: &str, max_steps: usize) -> (Decision, DecisionSource, Option<String>) {
    let from_json = find_json(text, |v| {
        let obj = v.as_object()?;
        let word = field(obj, &["decision", "action", "verdict", "choice", "next"]).map(value_text)?;
        let reason = field(obj, &["reason", "rationale", "why", "feedback", "comment"]).map(value_text);
        let decision = decision_from_word(&word, || {
            field(obj, &["query", "new_query", "template", "new_template", "search"])
                .map(value_text)
                .filter(|q| !q.is_empty() && !is_placeholder(q))
        }, || plan_from_value(v, max_steps, 0))?;
        Some((decision, reason))
    });
    if let Some(((d, reason), _)) = from_json {
        return (d, DecisionSource::Json, reason.filter(|r| !r.is_empty()).map(|r| clamp_chars(&r, 500)));
    }
    // Keyword fallback: the first decision word in the text.
    let lower = text.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for kw in ["continue", "revise", "retrieve"] {
        if let Some(pos) = lower.find(kw)
            && best.is_none_or(|(p, _)| pos < p)
        {
            best = Some((pos, kw));
        }
    }
    match best {
        Some((_, "continue")) => (Decision::Continue, DecisionSource::Keyword, None),
        Some((_, "revise")) => (
            Decision::Revise { steps: parse_plan(text, max_steps).map(|p| p.0).unwrap_or_default() },
            DecisionSource::Keyword,
            None,
        ),
        Some(_) => (Decision::Retrieve { query: String::new() }, DecisionSource::Keyword, None),
        None => (Decision::Continue, DecisionSource::Default, None),
    }
}

/// A field copied from the prompt's example instead of filled in (`<name and tags of a better
/// template>`, `...`): querying with it retrieves noise.
fn is_placeholder(text: &str) -> bool {
    let t = text.trim();
    (t.starts_with('<') && t.ends_with('>')) || t.chars().all(|c| c == '.' || c == '…' || c.is_whitespace())
}

fn decision_from_word(
    word: &str,
    query: impl FnOnce() -> Option<String>,
    steps: impl FnOnce() -> Option<Vec<PlanStep>>,
) -> Option<Decision> {
    let w = word.to_lowercase();
    if w.contains("revis") || w.contains("replan") || w.contains("re-plan") {
        return Some(Decision::Revise { steps: steps().unwrap_or_default() });
    }
    if w.contains("retriev") || w.contains("redo") || w.contains("retry") || w.contains("different") || w.contains("swap")
    {
        let q = query().map(|q| clamp_chars(&one_line(&q), 400)).unwrap_or_default();
        return Some(Decision::Retrieve { query: q });
    }
    if w.contains("continu") || w.contains("accept") || w.contains("ok") || w.contains("correct") || w.contains("proceed")
        || w.contains("keep") || w.contains("next")
    {
        return Some(Decision::Continue);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_fragments_are_not_methods() {
        for fragment in ["75 - 165 = -90", "\\", "2\\frac{3", "x^2+3x-4 = 0 \\implies x = 1", "ab+5b+2a+10"] {
            assert!(!names_a_method(fragment), "{fragment}");
        }
        for method in ["Vieta's formulas", "Heron's formula", "AM-GM", "CRT", "Sum of an arithmetic series"] {
            assert!(names_a_method(method), "{method}");
        }
    }

    // Regression: a cut-off prose plan (Qwen-0.5B, math500) had its display math
    // `\\[ 75 - 165 = -90 \\]` "repaired" into a JSON list, so a formula became the first
    // step and its retrieval query. The numbered list around it is the plan.
    #[test]
    fn display_math_is_not_a_repaired_plan() {
        let text = "Let's break down the steps:\n\n\
            1. **Identify the number of dimes and nickels**: Hillary has 11 coins in total.\n\
            2. **Determine how many nickels are needed**: subtract the values:\n   \\[\n   75 - 165 = -90\n   \\]\n   Since we cannot";
        let (steps, source) = parse_plan(text, 6).unwrap();
        assert_eq!(source, PlanSource::NumberedList);
        assert_eq!(steps[0].template, "Identify the number of dimes and nickels");
        assert_eq!(steps.len(), 2, "{steps:?}");
    }

    #[test]
    fn plan_json_variants() {
        let (p, s) = parse_plan(r#"{"steps":[{"template":"Vieta","tags":["quadratic"],"sub_goal":"sum of roots"}]}"#, 8).unwrap();
        assert_eq!(s, PlanSource::Json);
        assert_eq!(p[0].template, "Vieta");
        assert_eq!(p[0].tags, vec!["quadratic"]);
        let (p, s) = parse_plan("Plan:\n```json\n[{'name': 'Heron', tags: 'x, y', goal: 'g',}, {'name': 'Telescoping'\n", 8).unwrap();
        assert_eq!(s, PlanSource::RepairedJson);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].tags, vec!["x", "y"]);
        assert_eq!(p[1].sub_goal, "Telescoping");
    }

    #[test]
    fn latex_survives_json_escapes() {
        let (p, _) = parse_plan(r#"{"steps":[{"template":"Telescoping","sub_goal":"compute \frac{1}{2} \times \theta"}]}"#, 8).unwrap();
        assert_eq!(p[0].sub_goal, "compute \\frac{1}{2} \\times \\theta");
    }

    #[test]
    fn plan_numbered() {
        let (p, s) = parse_plan("Here:\n1. Vieta's formulas: find the sum (tags: quadratic, roots)\n2) Substitute - get value", 8).unwrap();
        assert_eq!(s, PlanSource::NumberedList);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].template, "Vieta's formulas");
        assert_eq!(p[0].tags, vec!["quadratic", "roots"]);
        assert_eq!(p[1].template, "Substitute");
        assert!(parse_plan("no plan here at all", 8).is_none());
    }

    /// rf-prompts-3 runs retrieved 20 times with the prompt's `<name and tags of a better
    /// template>` as the query; a copied placeholder now means "no new query".
    #[test]
    fn a_query_copied_from_the_prompt_example_is_no_query() {
        for copied in [r#"{"decision": "retrieve", "query": "<name and tags of a better template>"}"#, r#"{"decision": "retrieve", "query": "..."}"#] {
            assert_eq!(parse_decision(copied, 8).0, Decision::Retrieve { query: String::new() }, "{copied}");
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(parse_decision(r#"{"decision": "continue"}"#, 8).0, Decision::Continue);
        let (d, src, _) = parse_decision(r#"I think {"decision": "retrieve", "query": "law of cosines"}"#, 8);
        assert_eq!(d, Decision::Retrieve { query: "law of cosines".into() });
        assert_eq!(src, DecisionSource::Json);
        let (d, _, _) = parse_decision(r#"{"decision":"revise","steps":[{"template":"Telescoping","sub_goal":"g"}]}"#, 8);
        assert!(matches!(d, Decision::Revise { steps } if steps.len() == 1));
        assert_eq!(parse_decision("blah", 8).1, DecisionSource::Default);
        assert_eq!(parse_decision("I would RETRIEVE another", 8).0, Decision::Retrieve { query: String::new() });
    }
}
