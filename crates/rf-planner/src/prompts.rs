//! Every prompt the machines send, in one place. Bump [`PROMPT_VERSION`] whenever a wording
//! or the reading of the replies changes: the trace records it so evaluations can be compared
//! like for like.

use crate::text::{clamp_chars, clamp_middle};
use crate::trace::PlanStep;
use crate::types::{ChatMessage, TemplateCard};

/// Version of the prompt set and of how replies are read; recorded in every trace.
/// `rf-prompts-4`: a plan step must name a method in words (formula fragments are dropped), and
/// a copied `\boxed{answer}` placeholder is no answer (it triggers the boxed-answer retry).
/// `rf-prompts-5`: a copied `<…>` placeholder query is no query, and a strict JSON object later in
/// a reply wins over a repaired span before it.
pub const PROMPT_VERSION: &str = "rf-prompts-5";

/// Longest piece of earlier model output quoted back into a prompt.
pub const MAX_QUOTED_CHARS: usize = 3000;

const PLAN_FORMAT: &str = r#"{"steps": [
  {"template": "<name of a thought template>", "tags": ["<topic>", "<topic>"], "sub_goal": "<what this step must establish>"}
]}"#;

/// System line of every navigator request (also used to train the navigator).
pub const NAVIGATOR_SYSTEM: &str = "You are the navigator of a two-level math solver. You do not compute the answer yourself. \
You design the route: a short sequence of thought templates (standard methods, theorems, formulas or known conclusions) \
that a second model will carry out one by one, and you judge each carried-out step.";

const SOLVER_SYSTEM: &str = "You are a careful mathematician. Reason step by step, check your computations, \
and write the final answer as \\boxed{answer}.";

/// Navigator: write a trajectory.
pub fn plan_messages(problem: &str, max_steps: usize) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(NAVIGATOR_SYSTEM),
        ChatMessage::user(format!(
            "Problem:\n{problem}\n\n\
             First identify what kind of problem this is and what it asks for. Then plan a solution route of 1 to {max_steps} steps. \
             Each step names one thought template, two to four knowledge tags for finding it, and the concrete sub-goal it reaches for this problem.\n\n\
             Answer with JSON only, in this shape:\n{PLAN_FORMAT}"
        )),
    ]
}

/// Navigator: the previous reply could not be read as a plan.
pub fn plan_correction(max_steps: usize) -> String {
    format!(
        "I could not read a plan from that reply. Reply again with only a JSON object, no other text, \
         with between 1 and {max_steps} steps, exactly in this shape:\n{PLAN_FORMAT}"
    )
}

/// A template card as prompt text.
pub fn render_card(card: &TemplateCard) -> String {
    let mut s = format!("Template: {}\n", card.name);
    if !card.tags.is_empty() {
        s.push_str(&format!("Tags: {}\n", card.tags.join(", ")));
    }
    if !card.description.trim().is_empty() {
        s.push_str(&format!("What it is: {}\n", clamp_chars(card.description.trim(), 1200)));
    }
    if !card.steps.is_empty() {
        s.push_str("How to apply it:\n");
        for (i, step) in card.steps.iter().take(16).enumerate() {
            s.push_str(&format!("  {}. {}\n", i + 1, clamp_chars(step.trim(), 400)));
        }
    }
    if let Some(ex) = &card.example {
        // The importer already turned upstream's literal "\\n" into newlines; replacing it
        // here again would break LaTeX such as `\neq`.
        if !ex.trim().is_empty() {
            s.push_str(&format!("Worked example:\n{}\n", clamp_chars(ex.trim(), 1500)));
        }
    }
    s
}

fn render_plan(steps: &[PlanStep], current: Option<usize>) -> String {
    let mut s = String::new();
    for (i, st) in steps.iter().enumerate() {
        let mark = if Some(i) == current { " <= current" } else { "" };
        s.push_str(&format!("{}. [{}] {}{}\n", i + 1, st.template, st.sub_goal, mark));
    }
    s
}

fn render_results(results: &[(PlanStep, String)]) -> String {
    if results.is_empty() {
        return "(none yet)\n".to_string();
    }
    let mut s = String::new();
    for (i, (st, out)) in results.iter().enumerate() {
        s.push_str(&format!(
            "Step {} ({}):\n{}\n\n",
            i + 1,
            st.template,
            clamp_middle(out.trim(), MAX_QUOTED_CHARS)
        ));
    }
    s
}

/// Inference model: carry out one step guided by its template.
pub fn instantiate_messages(
    problem: &str,
    plan: &[PlanStep],
    index: usize,
    card: Option<&TemplateCard>,
    previous: &[(PlanStep, String)],
) -> Vec<ChatMessage> {
    let step = plan.get(index);
    let goal = step.map(|s| s.sub_goal.as_str()).unwrap_or("");
    let guide = match card {
        Some(c) => render_card(c),
        None => format!(
            "(No library template was found; use the method \"{}\" as you know it.)\n",
            step.map(|s| s.template.as_str()).unwrap_or("")
        ),
    };
    vec![
        ChatMessage::system(SOLVER_SYSTEM),
        ChatMessage::user(format!(
            "Problem:\n{problem}\n\nSolution route:\n{}\nResults of earlier steps:\n{}\n\
             Guiding template for the current step:\n{guide}\n\
             Current step {} of {}: {goal}\n\n\
             Carry out only this step for this problem, following the template where it fits. \
             Be concise and exact. End with one line starting with \"Result:\" stating what the step established.",
            render_plan(plan, Some(index)),
            render_results(previous),
            index + 1,
            plan.len().max(1),
        )),
    ]
}

/// Navigator: judge an instantiated step.
pub fn evaluate_messages(
    problem: &str,
    plan: &[PlanStep],
    index: usize,
    template_name: Option<&str>,
    output: &str,
    max_steps: usize,
) -> Vec<ChatMessage> {
    let step = plan.get(index);
    vec![
        ChatMessage::system(NAVIGATOR_SYSTEM),
        ChatMessage::user(format!(
            "Problem:\n{problem}\n\nRoute:\n{}\n\
             Step {} (sub-goal: {}) was carried out with template \"{}\". Its work:\n{}\n\n\
             Judge whether this work is correct and moves the solution forward. Reply with one JSON object only:\n\
             {{\"decision\": \"continue\"}} if it is sound;\n\
             {{\"decision\": \"retrieve\", \"reason\": \"...\", \"query\": \"<name and tags of a better template>\"}} if this step should be redone with a different template;\n\
             {{\"decision\": \"revise\", \"reason\": \"...\", \"steps\": [<new steps from this one on, at most {max_steps}>]}} if the route itself is wrong. \
             Steps use the shape {{\"template\": \"...\", \"tags\": [\"...\"], \"sub_goal\": \"...\"}}.",
            render_plan(plan, Some(index)),
            index + 1,
            step.map(|s| s.sub_goal.as_str()).unwrap_or(""),
            template_name.unwrap_or("none"),
            clamp_middle(output.trim(), MAX_QUOTED_CHARS),
        )),
    ]
}

/// Inference model: write the whole solution from the step results.
pub fn final_messages(
    problem: &str,
    plan: &[PlanStep],
    results: &[(PlanStep, String)],
    unfinished: &[PlanStep],
) -> Vec<ChatMessage> {
    let mut rest = String::new();
    if !unfinished.is_empty() {
        rest.push_str("These planned steps were not carried out yet; complete them yourself:\n");
        rest.push_str(&render_plan(unfinished, None));
        rest.push('\n');
    }
    vec![
        ChatMessage::system(SOLVER_SYSTEM),
        ChatMessage::user(format!(
            "Problem:\n{problem}\n\nSolution route:\n{}\nWork done so far:\n{}{rest}\
             Write the complete solution to the problem, using the work above where it is right and fixing it where it is not. \
             Finish with the final answer in the form \\boxed{{answer}}.",
            render_plan(plan, None),
            render_results(results),
        )),
    ]
}

/// Direct chain-of-thought (baseline, sampling baseline and planning fallback).
pub fn direct_messages(problem: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(SOLVER_SYSTEM),
        ChatMessage::user(format!(
            "Solve the following problem. Think step by step, then give the final answer as \\boxed{{answer}}.\n\n{problem}"
        )),
    ]
}

/// Template-guided direct: the cards retrieved for the problem, then one chain-of-thought
/// solution. Without cards this is [`direct_messages`].
pub fn guided_messages(problem: &str, cards: &[TemplateCard]) -> Vec<ChatMessage> {
    if cards.is_empty() {
        return direct_messages(problem);
    }
    let guides: Vec<String> = cards.iter().map(render_card).collect();
    vec![
        ChatMessage::system(SOLVER_SYSTEM),
        ChatMessage::user(format!(
            "Thought templates (standard methods) that may fit this problem:\n\n{}\n\
             Use a template where it fits and ignore it where it does not.\n\n\
             Solve the following problem. Think step by step, then give the final answer as \\boxed{{answer}}.\n\n{problem}",
            guides.join("\n")
        )),
    ]
}

/// The answer was missing: ask for it alone.
pub const BOXED_RETRY: &str =
    "Your solution does not end with a final answer in \\boxed{}. Reply with only the final answer, written as \\boxed{answer}.";

fn render_partial(steps: &[String]) -> String {
    if steps.is_empty() {
        return "(nothing yet)".to_string();
    }
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("Step {}: {}", i + 1, clamp_middle(s.trim(), MAX_QUOTED_CHARS)))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// MCTS: one more reasoning step.
pub fn mcts_step_messages(problem: &str, steps: &[String]) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(SOLVER_SYSTEM),
        ChatMessage::user(format!(
            "Problem:\n{problem}\n\nPartial solution:\n{}\n\n\
             Write only the next single step of the solution (one short paragraph, no blank lines). \
             If that step reaches the final answer, state it as \\boxed{{answer}}.",
            render_partial(steps)
        )),
    ]
}

/// MCTS: complete the solution from a partial one.
pub fn mcts_rollout_messages(problem: &str, steps: &[String]) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(SOLVER_SYSTEM),
        ChatMessage::user(format!(
            "Problem:\n{problem}\n\nPartial solution:\n{}\n\n\
             Continue from this partial solution and finish it, one step per paragraph. \
             End with the final answer as \\boxed{{answer}}.",
            render_partial(steps)
        )),
    ]
}

/// MCTS: self-evaluation of a finished solution.
pub fn mcts_self_eval_messages(problem: &str, solution: &str, answer: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("You are a strict grader of math solutions."),
        ChatMessage::user(format!(
            "Problem:\n{problem}\n\nProposed solution:\n{}\n\nProposed final answer: {answer}\n\n\
             Check the solution carefully. Is the final answer correct? Reply with a confidence score from 0 to 10 \
             in the form \"Score: N\", then one sentence of justification.",
            clamp_middle(solution.trim(), 2 * MAX_QUOTED_CHARS)
        )),
    ]
}
