//! Training data from the template library.
//!
//! - Structure-based examples teach the library itself: (name, tags) → (description, scope).
//! - Recall examples run the other way, (description, scope) → (name, tags), so the navigator
//!   learns to write the library's names, which is what its plans must contain.
//! - Navigator examples teach the planner's plan format: a template's worked problem → a
//!   trajectory naming that template, its tags and a concrete sub-goal, in exactly the JSON the
//!   planner asks its navigator for (`rf_planner::prompts::plan_messages`).
//!
//! A fixed tenth of the templates (by a hash of the id) is held out: their worked problems never
//! appear in navigator training and serve to measure the template-name hit rate.
use rf_planner::prompts::{NAVIGATOR_SYSTEM, plan_messages};
use rf_planner::ChatMessage;
use rf_solve::engine_messages;
use rf_templates::{Library, Template};
use serde::{Deserialize, Serialize};

use crate::loss::Tokenized;
use crate::{Result, TrainError};

/// Longest plan the navigator is asked for (the planner's default).
pub const PLAN_STEPS: usize = 6;

/// What an example teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExampleKind {
    /// (name, tags) → (description, scope).
    Structure,
    /// (description, scope) → (name, tags).
    Recall,
    /// problem → template trajectory.
    Trajectory,
}

/// One supervised example: a conversation and the assistant reply to learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftExample {
    pub kind: ExampleKind,
    pub template_id: String,
    pub messages: Vec<ChatMessage>,
    pub response: String,
}

/// Whether a template belongs to the held-out tenth (FNV-1a of the id, stable across runs).
pub fn is_held_out(template_id: &str) -> bool {
    let hash = template_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    hash % 10 == 0
}

/// The prompt asking the navigator to recall a template from its name and tags.
pub fn structure_messages(name: &str, tags: &[String]) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(NAVIGATOR_SYSTEM),
        ChatMessage::user(format!(
            "Thought template: {name}\nTags: {}\n\nState what this template is and when it applies.",
            tags.join(", ")
        )),
    ]
}

/// (name, tags) → (description, scope), one per template.
pub fn structure_examples(library: &Library) -> Vec<SftExample> {
    library
        .templates
        .iter()
        .map(|t| SftExample {
            kind: ExampleKind::Structure,
            template_id: t.id.clone(),
            messages: structure_messages(&t.name, &t.tags),
            response: format!("Description: {}\nScope: {}", t.description.trim(), t.scope.join("; ")),
        })
        .collect()
}

/// The prompt asking the navigator to name the template that a description and scope define.
pub fn recall_messages(description: &str, scope: &[String]) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(NAVIGATOR_SYSTEM),
        ChatMessage::user(format!(
            "Description: {}\nScope: {}\n\nName the thought template this describes, and its tags.",
            description.trim(),
            scope.join("; ")
        )),
    ]
}

/// (description, scope) → (name, tags), one per template.
pub fn recall_examples(library: &Library) -> Vec<SftExample> {
    library
        .templates
        .iter()
        .map(|t| SftExample {
            kind: ExampleKind::Recall,
            template_id: t.id.clone(),
            messages: recall_messages(&t.description, &t.scope),
            response: format!("Thought template: {}\nTags: {}", t.name, t.tags.join(", ")),
        })
        .collect()
}

/// The one-step trajectory that solves a template's own worked problem, as plan JSON with the
/// keys in the planner's order: the template name comes first, so the navigator commits to a
/// library name before it writes anything else.
pub fn trajectory_for(t: &Template) -> String {
    let first_step = t.example.iter().flat_map(|e| &e.solution).map(|s| s.trim()).find(|s| !s.is_empty());
    let sub_goal = match first_step {
        Some(s) => clamp(s, 200),
        None => format!("Apply {} to this problem.", t.name),
    };
    let tags: Vec<&String> = t.tags.iter().take(4).collect();
    // serde_json's maps sort their keys, which would put "sub_goal" first: write the object
    // by hand, each value encoded by serde_json.
    format!(
        r#"{{"steps": [{{"template": {}, "tags": {}, "sub_goal": {}}}]}}"#,
        serde_json::Value::from(t.name.as_str()),
        serde_json::Value::from(tags.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
        serde_json::Value::from(sub_goal)
    )
}

/// problem → trajectory, for the templates on the chosen side of the held-out split.
pub fn trajectory_examples(library: &Library, held_out: bool) -> Vec<SftExample> {
    library
        .templates
        .iter()
        .filter(|t| is_held_out(&t.id) == held_out)
        .filter_map(|t| {
            let problem = t.example.as_ref()?.problem.trim();
            (!problem.is_empty()).then(|| SftExample {
                kind: ExampleKind::Trajectory,
                template_id: t.id.clone(),
                messages: plan_messages(problem, PLAN_STEPS),
                response: trajectory_for(t),
            })
        })
        .collect()
}

/// The SFT set of the chosen kinds: structure and recall examples for every template, navigator
/// examples for the templates outside the held-out split.
pub fn sft_dataset(library: &Library, kinds: &[ExampleKind]) -> Vec<SftExample> {
    let mut all = Vec::new();
    for kind in kinds {
        all.extend(match kind {
            ExampleKind::Structure => structure_examples(library),
            ExampleKind::Recall => recall_examples(library),
            ExampleKind::Trajectory => trajectory_examples(library, false),
        });
    }
    all
}

/// Tokenises a prompt (ending with the assistant header) and a reply closed by `<|im_end|>`,
/// so the model learns where to stop. Longer than `max_len` tokens in all is an error.
pub fn tokenize(model: &rf_engine::LocalModel, messages: &[ChatMessage], response: &str, max_len: usize) -> Result<Tokenized> {
    let prompt = model.chat_prompt(&engine_messages(messages))?;
    let mut reply = model.tokenizer.encode(response.trim())?;
    reply.extend(model.tokenizer.token_id("<|im_end|>"));
    if prompt.len() + reply.len() > max_len {
        return Err(TrainError::BadExample {
            index: 0,
            reason: format!("{} tokens, more than --max-len {max_len}", prompt.len() + reply.len()),
        });
    }
    Ok(Tokenized { prompt, response: reply })
}

fn clamp(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_out_split_is_about_a_tenth_and_stable() {
        let ids: Vec<String> = (0..2000).map(|i| format!("t-{i}")).collect();
        let held = ids.iter().filter(|id| is_held_out(id)).count();
        assert!((150..250).contains(&held), "{held}");
    }

    #[test]
    fn held_out_split_is_pinned() {
        // A change to the hash would silently move templates between training and evaluation.
        let held = [
            "reasonflux-v1/complex-numbers/concept-of-complex-numbers/magnitude-of-complex-numbers-calculation",
            "reasonflux-v1/concepts-and-properties-of-functions/basic-properties-of-functions/property-method-to-determine-monotonicity-of-functions",
        ];
        let trained = [
            "reasonflux-v1/complex-numbers/arithmetic-operations-on-complex-numbers/i-n-n-periodicity-and-its-applications",
            "reasonflux-v1/complex-numbers/arithmetic-operations-on-complex-numbers/geometric-meaning-of-the-modulus-of-complex-difference",
        ];
        assert!(held.iter().all(|id| is_held_out(id)));
        assert!(trained.iter().all(|id| !is_held_out(id)));
        let lib = Library::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")).unwrap();
        assert_eq!(lib.templates.iter().filter(|t| is_held_out(&t.id)).count(), 62, "held-out templates of the 620");
    }

    #[test]
    fn trajectory_names_the_template_before_the_sub_goal() {
        let lib = Library::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")).unwrap();
        let text = trajectory_for(&lib.templates[0]);
        let (template, tags, goal) = (text.find("\"template\"").unwrap(), text.find("\"tags\"").unwrap(), text.find("\"sub_goal\"").unwrap());
        assert!(template < tags && tags < goal, "{text}");
    }

    #[test]
    fn dataset_has_the_chosen_kinds_only() {
        let lib = Library::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")).unwrap();
        let recall = sft_dataset(&lib, &[ExampleKind::Recall]);
        assert_eq!(recall.len(), lib.templates.len());
        let t = lib.get(&recall[0].template_id).unwrap();
        assert!(recall[0].response.starts_with(&format!("Thought template: {}\n", t.name)));
        assert!(recall[0].messages[1].content.contains(t.description.trim()));
        let both = sft_dataset(&lib, &[ExampleKind::Structure, ExampleKind::Trajectory]);
        assert!(both.iter().all(|e| e.kind != ExampleKind::Recall));
        assert_eq!(both.len(), lib.templates.len() + trajectory_examples(&lib, false).len());
    }

    #[test]
    fn trajectory_is_a_plan_the_planner_reads() {
        let lib = Library::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")).unwrap();
        for t in lib.templates.iter().take(50) {
            let (steps, _) = rf_planner::parse::parse_plan(&trajectory_for(t), PLAN_STEPS).expect("plan parses");
            assert_eq!(steps.len(), 1);
            assert_eq!(steps[0].template, t.name);
        }
        let sft = sft_dataset(&lib, &[ExampleKind::Structure, ExampleKind::Recall, ExampleKind::Trajectory]);
        let held = trajectory_examples(&lib, true);
        assert!(held.iter().all(|h| sft.iter().all(|s| s.kind != ExampleKind::Trajectory || s.template_id != h.template_id)));
        assert!(!held.is_empty());
    }
}
