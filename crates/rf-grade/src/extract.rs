//! Final-answer extraction from a free-form model response.

/// Responses longer than this (in bytes) are not scanned.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Extracted answers longer than this (in chars) are rejected.
const MAX_ANSWER_CHARS: usize = 2_000;

/// Box contents that are the prompt's placeholder copied, not an answer (`\boxed{answer}`).
const PLACEHOLDERS: [&str; 8] = ["answer", "final answer", "your answer", "the answer", "final_answer", "...", "\\ldots", "\\dots"];

/// Whether a box's content can be an answer: not empty, not too long, not a placeholder.
fn is_answer_text(inner: &str) -> bool {
    let bare = inner.strip_prefix("\\text{").and_then(|t| t.strip_suffix('}')).unwrap_or(inner).trim();
    !inner.is_empty() && inner.chars().count() <= MAX_ANSWER_CHARS && !PLACEHOLDERS.contains(&bare.to_lowercase().as_str())
}

/// Content of the last `\boxed{...}` / `\fbox{...}` / `\boxed x` that holds an answer (a
/// copied placeholder such as `\boxed{answer}` is skipped), if any.
pub fn last_boxed(text: &str) -> Option<String> {
    let c: Vec<char> = text.chars().collect();
    // Matching close for every `{` in one linear pass (same escape rule as `match_brace`).
    let mut close_of = vec![usize::MAX; c.len()];
    {
        let mut stack = Vec::new();
        let mut k = 0;
        while k < c.len() {
            match c[k] {
                '\\' => {
                    k += 2;
                    continue;
                }
                '{' => stack.push(k),
                '}' => {
                    if let Some(o) = stack.pop() {
                        close_of[o] = k + 1;
                    }
                }
                _ => {}
            }
            k += 1;
        }
    }
    let mut i = c.len();
    // Scan backwards for command starts.
    while i > 0 {
        i -= 1;
        if c[i] != '\\' {
            continue;
        }
        for cmd in ["boxed", "fbox"] {
            let n = cmd.len();
            if i + 1 + n > c.len() || c[i + 1..i + 1 + n].iter().copied().ne(cmd.chars()) {
                continue;
            }
            let mut j = i + 1 + n;
            if c.get(j).is_some_and(|ch| ch.is_ascii_alphabetic()) {
                continue; // \boxedfoo
            }
            // `\boxed {x}` and `\boxed{x}`.
            let mut k = j;
            while c.get(k).is_some_and(|ch| *ch == ' ') {
                k += 1;
            }
            if c.get(k) == Some(&'{') {
                if let Some(end) = close_of.get(k).copied().filter(|e| *e != usize::MAX) {
                    let inner: String = c[k + 1..end - 1].iter().collect();
                    let inner = inner.trim().to_string();
                    if is_answer_text(&inner) {
                        return Some(inner);
                    }
                }
                continue; // unbalanced, empty or a placeholder: try an earlier one
            }
            // `\boxed 5`: up to the next `$`, whitespace after content, or end.
            if c.get(j) == Some(&' ') {
                while c.get(j) == Some(&' ') {
                    j += 1;
                }
                let st = j;
                while j < c.len() && !matches!(c[j], '$' | '\n' | ' ') {
                    j += 1;
                }
                let inner: String = c[st..j].iter().collect();
                let inner = inner.trim().trim_end_matches(['.', ',']).to_string();
                if is_answer_text(&inner) {
                    return Some(inner);
                }
            }
        }
    }
    None
}

/// Whether the last `\boxed{` / `\fbox{` of the text is never closed (a generation cut off
/// inside its answer).
fn ends_inside_box(text: &str) -> bool {
    let Some(start) = ["\\boxed", "\\fbox"].iter().filter_map(|cmd| text.rfind(cmd).map(|i| i + cmd.len())).max() else {
        return false;
    };
    let rest: Vec<char> = text[start..].trim_start_matches(' ').chars().collect();
    rest.first() == Some(&'{') && crate::normalize::match_brace(&rest, 0).is_none()
}

/// Case-insensitive last occurrence of any of `needles` (ASCII lowercase needles).
fn rfind_ci(hay: &str, needles: &[&str]) -> Option<(usize, usize)> {
    let lower = hay.to_ascii_lowercase();
    needles
        .iter()
        .filter_map(|n| lower.rfind(n).map(|p| (p, p + n.len())))
        .max_by_key(|(p, _)| *p)
}

fn clean_phrase_answer(s: &str) -> Option<String> {
    // Up to the end of the line / sentence.
    let line = s.lines().next().unwrap_or("");
    let mut t = line.trim().trim_start_matches([':', ' ', '*']).trim();
    t = t.trim_start_matches("is").trim();
    t = t.trim_start_matches([':', ' ']).trim();
    // Cut at ". " sentence end (not inside a number).
    let mut end = t.len();
    let b = t.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'.' && (i + 1 == b.len() || b[i + 1] == b' ') && !(i > 0 && b[i - 1] == b'.') {
            end = i;
            break;
        }
    }
    let mut t = t[..end].trim().trim_end_matches(['*', ' ']).to_string();
    if let Some(inner) = last_boxed(&t) {
        return Some(inner);
    }
    // Strip surrounding math delimiters.
    for (a, z) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
        if t.starts_with(a) && t.ends_with(z) && t.len() >= a.len() + z.len() {
            t = t[a.len()..t.len() - z.len()].trim().to_string();
        }
    }
    let t = t
        .trim()
        .trim_end_matches(['.', ',', ';'])
        .trim()
        .to_string();
    if t.is_empty() || t.chars().count() > MAX_ANSWER_CHARS {
        None
    } else {
        Some(t)
    }
}

/// The last number in the text (`-3`, `1,000`, `2.5`, `3/4`).
pub fn last_number(text: &str) -> Option<String> {
    let c: Vec<char> = text.chars().collect();
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < c.len() {
        if c[i].is_ascii_digit() {
            let st = if i > 0 && c[i - 1] == '-' { i - 1 } else { i };
            let mut j = i;
            loop {
                while j < c.len() && c[j].is_ascii_digit() {
                    j += 1;
                }
                // Continue through `,ddd` groups, `.d` decimals and `/d` fractions.
                let sep = c.get(j).copied();
                let next_digit = c.get(j + 1).is_some_and(|d| d.is_ascii_digit());
                match sep {
                    Some(',')
                        if next_digit
                            && c.get(j + 1..j + 4)
                                .is_some_and(|g| g.iter().all(|d| d.is_ascii_digit()))
                            && !c.get(j + 4).is_some_and(|d| d.is_ascii_digit()) =>
                    {
                        j += 1
                    }
                    Some('.') | Some('/') if next_digit => j += 1,
                    _ => break,
                }
            }
            best = Some((st, j));
            i = j;
        } else {
            i += 1;
        }
    }
    let (st, end) = best?;
    let s: String = c[st..end].iter().filter(|ch| **ch != ',').collect();
    Some(s)
}

/// See [`crate::extract_answer`].
pub fn extract(text: &str) -> Option<String> {
    if text.len() > MAX_RESPONSE_BYTES {
        return None;
    }
    // Stopped while writing the box: whatever came before it is not the answer.
    if ends_inside_box(text) {
        return None;
    }
    if let Some(b) = last_boxed(text) {
        return Some(b);
    }
    let phrases = [
        "final answer is",
        "final answer:",
        "final answer",
        "the answer is",
        "answer is",
        "answer:",
    ];
    if let Some((_, end)) = rfind_ci(text, &phrases)
        && let Some(a) = text.get(end..).and_then(clean_phrase_answer)
    {
        return Some(a);
    }
    last_number(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed_variants() {
        assert_eq!(
            extract("so $\\boxed{\\frac{1}{2}}$."),
            Some("\\frac{1}{2}".into())
        );
        assert_eq!(
            extract("\\boxed{1} then \\boxed{{2}+3}"),
            Some("{2}+3".into())
        );
        assert_eq!(extract("answer \\boxed 5$"), Some("5".into()));
        assert_eq!(extract("\\fbox{7}"), Some("7".into()));
        assert_eq!(extract("\\boxed{ unbalanced"), None);
        assert_eq!(extract("\\boxed{answer}"), None, "the prompt's placeholder copied");
        assert_eq!(extract("so \\boxed{12}. Final: \\boxed{\\text{Answer}}"), Some("12".into()));
        assert_eq!(extract("\\boxed{a}{b} then \\boxed{\\frac{1}{2}}"), Some("\\frac{1}{2}".into()));
        assert_eq!(extract("The final answer is $42$."), Some("42".into()));
        assert_eq!(extract("Answer: 3, 5"), Some("3, 5".into()));
        assert_eq!(
            extract("we get 12 apples and then 1,500 pears"),
            Some("1500".into())
        );
        assert_eq!(extract("no numbers here"), None);
        assert_eq!(extract(""), None);
        assert_eq!(extract("x = -3/4"), Some("-3/4".into()));
    }
}
