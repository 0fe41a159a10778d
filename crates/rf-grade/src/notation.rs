//! Notations a human grader reads as the same answer, rewritten to one spelling before
//! parsing: the empty set, repeating decimals and set-builder sets.

/// Every spelling of the empty set as `\emptyset`.
pub fn empty_set(s: &str) -> String {
    let s = s.replace("\\varnothing", "\\emptyset").replace('∅', "\\emptyset");
    let bare: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if bare == "\\{\\}" || bare == "{}" { "\\emptyset".to_string() } else { s }
}

/// Most digits a repeating decimal may have (the exact fraction must fit in `u128`).
const MAX_REPEATING_DIGITS: usize = 30;

/// `0.3\overline{6}` as `\frac{11}{30}`, `1.\overline{27}` as `\frac{14}{11}`: each
/// `int.fixed\overline{repeat}` becomes the exact fraction (not reduced; the grader compares
/// values). Anything else is left as written.
pub fn repeating_decimals(s: &str) -> String {
    const CMD: &str = "\\overline{";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find(CMD) {
        let (before, after) = rest.split_at(p);
        let body = &after[CMD.len()..];
        let close = body.find('}');
        let repeat = close.map(|c| &body[..c]).filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()));
        match (repeat, decimal_tail(before)) {
            (Some(repeat), Some((head, int, fixed))) if int.len() + fixed.len() + repeat.len() <= MAX_REPEATING_DIGITS => {
                out.push_str(head);
                out.push_str(&fraction(int, fixed, repeat));
                rest = &body[repeat.len() + 1..];
            }
            _ => {
                out.push_str(before);
                out.push_str(CMD);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits `text` ending in `digits.digits` into (what comes before, integer digits, fixed
/// fractional digits).
fn decimal_tail(text: &str) -> Option<(&str, &str, &str)> {
    let dot = text.len().checked_sub(text.bytes().rev().take_while(u8::is_ascii_digit).count() + 1)?;
    if text.as_bytes()[dot] != b'.' {
        return None;
    }
    let fixed = &text[dot + 1..];
    let int_start = dot - text[..dot].bytes().rev().take_while(u8::is_ascii_digit).count();
    Some((&text[..int_start], &text[int_start..dot], fixed))
}

/// `int.fixed(repeat)` = (int fixed repeat − int fixed) / (10^(f+r) − 10^f).
fn fraction(int: &str, fixed: &str, repeat: &str) -> String {
    let digits = |t: &str| t.parse::<u128>().unwrap_or(0);
    let all = digits(&format!("{int}{fixed}{repeat}"));
    let head = digits(&format!("{int}{fixed}"));
    let (f, r) = (fixed.len() as u32, repeat.len() as u32);
    let den = 10u128.pow(f + r) - 10u128.pow(f);
    format!("\\frac{{{}}}{{{den}}}", all - head)
}

/// A whole answer `\{x \mid cond\}` (also with `|` or `:`) as its condition `cond`, so the
/// set compares as the inequality or interval it describes.
pub fn set_builder(s: &str) -> String {
    let t = s.trim();
    let Some(inner) = t.strip_prefix("\\{").and_then(|r| r.strip_suffix("\\}")) else {
        return s.to_string();
    };
    for bar in ["\\mid", "|", ":"] {
        if let Some((var, cond)) = inner.split_once(bar) {
            let var = var.trim();
            let var = var.split("\\in").next().unwrap_or(var).trim();
            if !var.is_empty() && var.chars().all(|c| c.is_alphabetic()) && !cond.trim().is_empty() {
                return cond.trim().to_string();
            }
        }
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeating_decimals_become_fractions() {
        assert_eq!(repeating_decimals("0.\\overline{3}"), "\\frac{3}{9}");
        assert_eq!(repeating_decimals("0.3\\overline{6}"), "\\frac{33}{90}");
        assert_eq!(repeating_decimals("-1.\\overline{27}"), "-\\frac{126}{99}");
        assert_eq!(repeating_decimals("\\overline{AB}"), "\\overline{AB}");
        assert_eq!(repeating_decimals("x\\overline{3}"), "x\\overline{3}");
    }

    #[test]
    fn empty_set_spellings() {
        for s in ["\\varnothing", "∅", "\\{\\}", "\\{ \\}", "{}"] {
            assert_eq!(empty_set(s), "\\emptyset", "{s}");
        }
        assert_eq!(empty_set("\\{1\\}"), "\\{1\\}");
    }

    #[test]
    fn set_builder_keeps_the_condition() {
        assert_eq!(set_builder("\\{x \\mid 2 \\le x < 5\\}"), "2 \\le x < 5");
        assert_eq!(set_builder("\\{x \\in \\mathbb{R} : x > 1\\}"), "x > 1");
        assert_eq!(set_builder("\\{1, 2\\}"), "\\{1, 2\\}");
    }
}
