//! String-level LaTeX normalisation of a final answer, applied before parsing.
use crate::notation;

/// Unit and filler words dropped when they follow a value (`5\text{ cm}`, `12 inches`).
const UNIT_WORDS: &[&str] = &[
    "units",
    "unit",
    "cm",
    "m",
    "km",
    "mm",
    "meters",
    "meter",
    "metres",
    "metre",
    "inches",
    "inch",
    "in",
    "feet",
    "foot",
    "ft",
    "yards",
    "yard",
    "miles",
    "mile",
    "mph",
    "kg",
    "g",
    "grams",
    "gram",
    "pounds",
    "pound",
    "lbs",
    "lb",
    "ounces",
    "ounce",
    "oz",
    "dollars",
    "dollar",
    "cents",
    "cent",
    "degrees",
    "degree",
    "seconds",
    "second",
    "sec",
    "s",
    "minutes",
    "minute",
    "min",
    "hours",
    "hour",
    "hr",
    "days",
    "day",
    "weeks",
    "week",
    "years",
    "year",
    "months",
    "month",
    "liters",
    "liter",
    "litres",
    "litre",
    "l",
    "ml",
    "gallons",
    "gallon",
    "sq",
    "square",
    "cubic",
    "people",
    "students",
    "times",
    "ways",
    "percent",
    "points",
    "point",
    "pages",
    "page",
    "apples",
    "cookies",
    "items",
    "marbles",
    "coins",
    "books",
    "cups",
    "cars",
    "boxes",
    "balls",
    "games",
    "tickets",
    "workers",
    "children",
    "packages",
    "steps",
    "edges",
    "vertices",
    "faces",
    "numbers",
    "integers",
    "digits",
    "terms",
    "sides",
    "diagonals",
    "squares",
    "triangles",
    "rectangles",
    "paths",
    "outfits",
    "handshakes",
    "committees",
    "arrangements",
    "inches^2",
    "feet^2",
    "cm^2",
    "m^2",
    "cm^3",
    "m^3",
    "units^2",
    "units^3",
];

/// Commands whose single braced argument is kept as plain text.
const TEXT_CMDS: &[&str] = &[
    "\\text",
    "\\textbf",
    "\\textit",
    "\\textrm",
    "\\mathrm",
    "\\mathbf",
    "\\mathit",
    "\\mbox",
    "\\operatorname",
    "\\mathsf",
    "\\textup",
    "\\hbox",
    "\\boldsymbol",
    "\\bm",
];

/// Pure spacing / sizing commands that are removed.
const DROP_CMDS: &[&str] = &[
    "\\displaystyle",
    "\\textstyle",
    "\\scriptstyle",
    "\\qquad",
    "\\quad",
    "\\left",
    "\\right",
    "\\bigl",
    "\\bigr",
    "\\Bigl",
    "\\Bigr",
    "\\biggl",
    "\\biggr",
    "\\big",
    "\\Big",
    "\\bigg",
    "\\Bigg",
    "\\limits",
    "\\nolimits",
    "\\hfill",
    "\\mathstrut",
];

/// Is `s[i..]` the start of the command `cmd` (not followed by another letter)?
fn starts_cmd(s: &[char], i: usize, cmd: &str) -> bool {
    let c: Vec<char> = cmd.chars().collect();
    if i + c.len() > s.len() || s[i..i + c.len()] != c[..] {
        return false;
    }
    !s.get(i + c.len())
        .is_some_and(|ch| ch.is_ascii_alphabetic())
}

/// Index just past the brace group starting at `open` (which must be `{`), if balanced.
pub(crate) fn match_brace(s: &[char], open: usize) -> Option<usize> {
    if s.get(open) != Some(&'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = open;
    while i < s.len() {
        match s[i] {
            '\\' => {
                i += 2;
                continue;
            }
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_unit_word(w: &str) -> bool {
    let w = w.trim().trim_end_matches('.').to_ascii_lowercase();
    if w.is_empty() {
        return false;
    }
    w.split_whitespace().all(|p| UNIT_WORDS.contains(&p))
}

/// Replace `\text{...}`-like groups: unit words after a value are dropped, everything else
/// is unwrapped to its content.
fn unwrap_text(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\\' {
            if let Some(cmd) = TEXT_CMDS.iter().find(|cmd| starts_cmd(&c, i, cmd)) {
                let mut j = i + cmd.chars().count();
                while c.get(j) == Some(&' ') {
                    j += 1;
                }
                if let Some(end) = match_brace(&c, j) {
                    let inner: String = c[j + 1..end - 1].iter().collect();
                    let has_value = out.trim().chars().last().is_some_and(|ch| {
                        ch.is_ascii_alphanumeric() || ch == '}' || ch == ')' || ch == '.'
                    });
                    if has_value && is_unit_word(&inner) {
                        // Dropped unit, with a following `^2` / `^{3}`.
                        let mut k = end;
                        if c.get(k) == Some(&'^') {
                            k += 1;
                            if c.get(k) == Some(&'{') {
                                if let Some(e) = match_brace(&c, k) {
                                    k = e;
                                }
                            } else if c.get(k).is_some_and(|d| d.is_ascii_digit()) {
                                k += 1;
                            }
                            i = k;
                            continue;
                        }
                    } else {
                        let inner = unwrap_text(&inner);
                        let trimmed = inner.trim();
                        if trimmed.eq_ignore_ascii_case("and") || trimmed.eq_ignore_ascii_case("or")
                        {
                            out.push_str(" , ");
                        } else {
                            out.push(' ');
                            out.push_str(trimmed);
                            out.push(' ');
                        }
                    }
                    i = end;
                    continue;
                }
            }
            // Copy the backslash and the next char verbatim so `\{` etc. survive.
            out.push('\\');
            if let Some(&n) = c.get(i + 1) {
                out.push(n);
            }
            i += 2;
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// Normalise a final answer string. The result is still LaTeX-ish text.
pub fn normalize(input: &str) -> String {
    let mut s = input.trim().trim_end_matches('.').trim_end().to_string();
    // Strip math delimiters and a whole-answer \boxed{...}.
    for _ in 0..4 {
        let before = s.clone();
        for (a, b) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
            if s.len() >= a.len() + b.len() && s.starts_with(a) && s.ends_with(b) {
                s = s[a.len()..s.len() - b.len()].trim().to_string();
            }
        }
        for cmd in ["\\boxed", "\\fbox"] {
            if let Some(rest) = s.strip_prefix(cmd) {
                let c: Vec<char> = rest.trim_start().chars().collect();
                if match_brace(&c, 0) == Some(c.len()) && c.len() >= 2 {
                    s = c[1..c.len() - 1]
                        .iter()
                        .collect::<String>()
                        .trim()
                        .to_string();
                }
            }
        }
        if s == before {
            break;
        }
    }
    // One spelling for notations read as the same answer (see `notation`).
    s = notation::set_builder(&notation::empty_set(&notation::repeating_decimals(&s)));
    // Protect `\\` (row separator) from the single-backslash rules below.
    s = s.replace("\\\\", "\u{1}");
    // `\!` is a negative thin space: it also swallows following spaces (`11,\! 111`).
    while let Some(p) = s.find("\\!") {
        let rest = s[p + 2..].trim_start().to_string();
        s = format!("{}{}", &s[..p], rest);
    }
    // Simple replacements.
    let reps: &[(&str, &str)] = &[
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("\\cfrac", "\\frac"),
        ("{,}", ","),
        ("\\!", ""),
        ("\\,", " "),
        ("\\;", " "),
        ("\\:", " "),
        ("\\ ", " "),
        ("~", " "),
        ("\\$", ""),
        ("$", ""),
        ("\\%", "%"),
        ("^{\\circ}", ""),
        ("^\\circ", ""),
        ("^{\\circ }", ""),
        ("\\circ", ""),
        ("°", ""),
        ("\\degree", ""),
        ("\\neq", "\\ne"),
        ("\\leqslant", "\\le"),
        ("\\geqslant", "\\ge"),
        ("\\leqq", "\\le"),
        ("\\geqq", "\\ge"),
        ("\\leq", "\\le"),
        ("\\geq", "\\ge"),
        ("\\dots", ""),
        ("\\ldots", ""),
        ("\\cdots", ""),
        ("\\tfrac", "\\frac"),
        ("−", "-"),
        ("×", "\\times"),
        ("÷", "\\div"),
        ("·", "\\cdot"),
        ("π", "\\pi"),
        ("∞", "\\infty"),
        ("√", "\\sqrt"),
        ("\n", " "),
        ("\t", " "),
    ];
    for (a, b) in reps {
        if s.contains(a) {
            s = if is_command(a) { replace_command(&s, a, b) } else { s.replace(a, b) };
        }
    }
    // Drop sizing commands (`\left(` -> `(`; `\left.` / `\right.` -> nothing).
    {
        let c: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < c.len() {
            if c[i] == '\\' {
                if let Some(cmd) = DROP_CMDS.iter().find(|cmd| starts_cmd(&c, i, cmd)) {
                    i += cmd.chars().count();
                    if (cmd == &"\\left" || cmd == &"\\right") && c.get(i) == Some(&'.') {
                        i += 1;
                    }
                    continue;
                }
                out.push('\\');
                if let Some(&n) = c.get(i + 1) {
                    out.push(n);
                }
                i += 2;
                continue;
            }
            out.push(c[i]);
            i += 1;
        }
        s = out;
    }
    s = unwrap_text(&s);
    s = s.replace('\u{1}', "\\\\");
    // Percent words.
    for w in ["percent", "per cent"] {
        if let Some(p) = s.to_ascii_lowercase().rfind(w)
            && s[..p]
                .trim()
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_digit())
        {
            s = format!("{}%{}", &s[..p], &s[p + w.len()..]);
        }
    }
    // Trailing words that are units: "12 inches", "5 cm".
    loop {
        let t = s.trim_end().to_string();
        let Some(pos) = t.rfind(' ') else { break };
        let (head, word) = (&t[..pos], &t[pos + 1..]);
        let head_ok = head
            .trim()
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_digit() || c == '}' || c == ')' || c == '%');
        if head_ok
            && word
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '^' || c == '.')
            && is_unit_word(word)
        {
            s = head.to_string();
        } else {
            break;
        }
    }
    let mut s = s.trim().to_string();
    // Trailing punctuation.
    while s.ends_with('.') && !s.ends_with("..") || s.ends_with(';') {
        s.pop();
        s = s.trim_end().to_string();
    }
    // Thousands separators over the whole answer: 1,000 / 12,345.6 / -1,000,000.
    if is_thousands(&s) {
        s = s.replace(',', "");
    }
    s
}

fn is_thousands(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match t.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    if frac.is_some_and(|f| f.is_empty() || !f.chars().all(|c| c.is_ascii_digit())) {
        return false;
    }
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() < 2 {
        return false;
    }
    let first = groups[0];
    !first.is_empty()
        && first.len() <= 3
        && first.chars().all(|c| c.is_ascii_digit())
        && groups[1..]
            .iter()
            .all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()))
}

/// `\name` with a letters-only name.
fn is_command(s: &str) -> bool {
    s.strip_prefix('\\').is_some_and(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Replaces the command `from` by `to` only where its name ends (no letter follows), so
/// `\leq` does not rewrite the start of `\leqslant` into `\leslant`.
fn replace_command(s: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find(from) {
        let after = &rest[p + from.len()..];
        out.push_str(&rest[..p]);
        out.push_str(if after.starts_with(|c: char| c.is_ascii_alphabetic()) { from } else { to });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn basics() {
        assert_eq!(normalize("\\dfrac{1}{2}"), "\\frac{1}{2}");
        assert_eq!(normalize("1,000"), "1000");
        assert_eq!(normalize("1{,}000"), "1000");
        assert_eq!(normalize("5\\text{ cm}"), "5");
        assert_eq!(normalize("90^\\circ"), "90");
        assert_eq!(normalize("12 inches"), "12");
        assert_eq!(normalize("\\boxed{4}."), "4");
        assert_eq!(normalize("\\text{Evelyn}"), "Evelyn");
        assert_eq!(normalize("25 percent"), "25 %");
        assert_eq!(normalize("\\left( 1, 2 \\right)"), "( 1, 2 )");
        assert_eq!(normalize("3, 5"), "3, 5");
    }
}
