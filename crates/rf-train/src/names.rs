//! Does the navigator name real library templates? The exact template-name hit rate on
//! held-out problems, before and after fine-tuning.
use std::collections::HashSet;
use std::ops::ControlFlow;

use rf_engine::{GenerationConfig, LocalModel, SamplingConfig};
use rf_planner::parse::parse_plan;
use rf_templates::{Library, Retriever};
use serde::Serialize;

use crate::Result;
use crate::data::{PLAN_STEPS, SftExample};
use rf_solve::engine_messages;

/// Counts over a set of navigator plans.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NameReport {
    pub problems: usize,
    /// Replies the planner could read as a plan.
    pub parsed_plans: usize,
    pub steps: usize,
    /// Steps whose template name is exactly (up to case and spacing) a library template name.
    pub library_name_hits: usize,
    /// Problems whose plan names the template the problem was written for.
    pub gold_hits: usize,
    /// Problems where the planner's retrieval (each step's name + tags + sub-goal, top
    /// [`RETRIEVE_K`]) brings back the template the problem was written for: what the names are
    /// for, since the planner fetches templates by retrieval.
    pub gold_retrieved: usize,
}

/// Templates the planner fetches per step (its default `retrieve_k`).
pub const RETRIEVE_K: usize = 3;

impl NameReport {
    /// Fraction of plan steps naming a library template (0 when there are no steps).
    pub fn step_hit_rate(&self) -> f64 {
        ratio(self.library_name_hits, self.steps)
    }
    /// Fraction of problems whose plan names their own template.
    pub fn gold_hit_rate(&self) -> f64 {
        ratio(self.gold_hits, self.problems)
    }
    /// Fraction of problems whose own template is retrieved from the plan.
    pub fn gold_retrieved_rate(&self) -> f64 {
        ratio(self.gold_retrieved, self.problems)
    }
    pub fn parse_rate(&self) -> f64 {
        ratio(self.parsed_plans, self.problems)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn normalize(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Scores one navigator reply against the library and the problem's own template
/// (`gold_id`); `retrieve` maps a query to template ids, as the planner's retrieval does.
pub fn score_plan(
    text: &str,
    names: &HashSet<String>,
    gold_name: &str,
    gold_id: &str,
    retrieve: &dyn Fn(&str) -> Vec<String>,
    report: &mut NameReport,
) {
    report.problems += 1;
    let Some((steps, _)) = parse_plan(text, PLAN_STEPS) else { return };
    report.parsed_plans += 1;
    report.steps += steps.len();
    let named: Vec<String> = steps.iter().map(|s| normalize(&s.template)).collect();
    report.library_name_hits += named.iter().filter(|n| names.contains(*n)).count();
    if named.contains(&normalize(gold_name)) {
        report.gold_hits += 1;
    }
    if steps.iter().any(|s| retrieve(&s.query()).iter().any(|id| id == gold_id)) {
        report.gold_retrieved += 1;
    }
}

/// Scores already generated plans: `(template id of the problem, navigator reply)`.
pub fn score_plans<'a>(library: &Library, plans: impl IntoIterator<Item = (&'a str, &'a str)>) -> NameReport {
    let names: HashSet<String> = library.templates.iter().map(|t| normalize(&t.name)).collect();
    let retriever = Retriever::build(library);
    let retrieve = |q: &str| retriever.search(q, RETRIEVE_K).into_iter().map(|h| h.id).collect::<Vec<_>>();
    let mut report = NameReport::default();
    for (id, text) in plans {
        let gold = library.get(id).map(|t| t.name.as_str()).unwrap_or("");
        score_plan(text, &names, gold, id, &retrieve, &mut report);
    }
    report
}

/// The greedy reply of `model` to each example's conversation, in order; `on_reply(i, text)`
/// sees each as it comes.
fn greedy_replies(
    model: &mut LocalModel,
    examples: &[SftExample],
    max_new_tokens: usize,
    mut on_reply: impl FnMut(usize, &str),
) -> Result<Vec<String>> {
    let cfg = GenerationConfig { max_new_tokens, sampling: SamplingConfig::greedy(), ..Default::default() };
    let mut replies = Vec::with_capacity(examples.len());
    for (i, ex) in examples.iter().enumerate() {
        let prompt = model.chat_prompt(&engine_messages(&ex.messages))?;
        let text = model.generate_ids(&prompt, &cfg, |_| ControlFlow::Continue(()))?.text;
        on_reply(i, &text);
        replies.push(text);
    }
    Ok(replies)
}

/// Greedy plans from `model` for each navigator example, scored with [`score_plans`];
/// `on_plan(i, text)` sees every reply.
pub fn evaluate_names(
    model: &mut LocalModel,
    library: &Library,
    examples: &[SftExample],
    max_new_tokens: usize,
    on_plan: impl FnMut(usize, &str),
) -> Result<NameReport> {
    let plans = greedy_replies(model, examples, max_new_tokens, on_plan)?;
    Ok(score_plans(library, examples.iter().zip(&plans).map(|(ex, t)| (ex.template_id.as_str(), t.as_str()))))
}

/// How many recall replies ((description, scope) → name) give the template's name exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecallReport {
    pub templates: usize,
    pub exact: usize,
}

/// The name a recall reply (or a recall example's response) gives: its `Thought template:` line.
pub fn recalled_name(reply: &str) -> Option<String> {
    reply.lines().find_map(|l| l.trim().strip_prefix("Thought template:")).map(normalize)
}

/// Scores one recall reply against the example's own response.
pub fn score_recall(reply: &str, example: &SftExample, report: &mut RecallReport) {
    report.templates += 1;
    if recalled_name(reply).is_some_and(|n| Some(n) == recalled_name(&example.response)) {
        report.exact += 1;
    }
}

/// Greedy replies from `model` to recall examples, scored with [`score_recall`]: whether the
/// model knows the library's names at all, apart from writing them into plans.
pub fn evaluate_recall(
    model: &mut LocalModel,
    examples: &[SftExample],
    max_new_tokens: usize,
    on_reply: impl FnMut(usize, &str),
) -> Result<RecallReport> {
    let replies = greedy_replies(model, examples, max_new_tokens, on_reply)?;
    let mut report = RecallReport::default();
    for (text, ex) in replies.iter().zip(examples) {
        score_recall(text, ex, &mut report);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_counted_per_step_and_per_problem() {
        let names: HashSet<String> = ["vieta's formulas", "casework"].iter().map(|s| s.to_string()).collect();
        let retrieve = |q: &str| if q.contains("Guess") { vec!["t-vieta".to_string()] } else { vec![] };
        let mut r = NameReport::default();
        let plan = r#"{"steps":[{"template":"Vieta's  Formulas","tags":["a"],"sub_goal":"x"},{"template":"Guess","tags":[],"sub_goal":"y"}]}"#;
        score_plan(plan, &names, "vieta's formulas", "t-vieta", &retrieve, &mut r);
        score_plan("no plan here", &names, "casework", "t-case", &retrieve, &mut r);
        assert_eq!((r.problems, r.parsed_plans, r.steps, r.library_name_hits, r.gold_hits, r.gold_retrieved), (2, 1, 2, 1, 1, 1));
        assert_eq!(r.step_hit_rate(), 0.5);
    }

    #[test]
    fn recall_counts_only_the_exact_name_line() {
        let library = rf_templates::Library::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")).unwrap();
        let ex = &crate::data::recall_examples(&library)[0];
        let name = &library.templates[0].name;
        let mut r = RecallReport::default();
        score_recall(&format!("Thought template:  {}\nTags: whatever", name.to_uppercase()), ex, &mut r);
        score_recall(&format!("Thought template: {name} Method"), ex, &mut r);
        score_recall(name, ex, &mut r);
        assert_eq!(r, RecallReport { templates: 3, exact: 1 });
    }
}
