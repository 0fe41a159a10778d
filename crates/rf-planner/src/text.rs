//! Small text helpers (all safe on arbitrary UTF-8).

/// At most `max` characters of `s`; an ellipsis marks a cut.
pub fn clamp_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => {
            let mut out = s[..cut].to_string();
            out.push('…');
            out
        }
    }
}

/// Keep the head and the tail of a long text (the tail of a step usually holds its result).
pub fn clamp_middle(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let head = max / 3;
    let tail = max.saturating_sub(head);
    let head_s: String = s.chars().take(head).collect();
    let tail_s: String = s.chars().skip(n - tail).collect();
    format!("{head_s}\n[… {} characters omitted …]\n{tail_s}", n - head - tail)
}

/// Collapse whitespace runs (including newlines) into single spaces.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The content of the last `\boxed{}` (or `\fbox{}`) in a text; `None` when there is none.
pub fn boxed_answer(text: &str) -> Option<String> {
    if !(text.contains("\\boxed") || text.contains("\\fbox")) {
        return None;
    }
    extract_answer(text)
}

/// The final answer of a solution text as benchmarks read it (`rf_grade::extract_answer`:
/// last `\boxed{}`, else "the answer is …", else the last number).
pub fn extract_answer(text: &str) -> Option<String> {
    rf_grade::extract_answer(text)
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
}

/// Whether two extracted answers are equivalent.
pub fn equivalent(a: &str, b: &str) -> bool {
    a.trim() == b.trim() || rf_grade::grade(a, b).equivalent
}
