//! Reading JSON out of model text: code fences, prose around it, and the usual breakage
//! (trailing commas, single quotes, unquoted keys, Python literals, comments, output cut short).
//!
//! The lenient parser never fails on input shape: it returns whatever structure it could read,
//! closing unterminated strings, arrays and objects at the end of the text. Nesting is bounded
//! so hostile input cannot exhaust the stack, and every loop consumes input, so it is linear.

use serde_json::{Map, Number, Value};

/// Deepest nesting the lenient parser follows.
const MAX_DEPTH: usize = 48;
/// How many `{`/`[` start positions are tried in free text.
const MAX_START_POSITIONS: usize = 48;
/// Only this many bytes of a model reply are searched for JSON.
const MAX_SCAN_BYTES: usize = 256 * 1024;

/// Whether a JSON value was strict JSON or needed repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Strict,
    Repaired,
}

/// Find the first JSON value in `text` that `accept` turns into a `T`.
///
/// Order: fenced code blocks, the whole text, then each `{`/`[` position in the text.
pub fn find_json<T>(text: &str, mut accept: impl FnMut(&Value) -> Option<T>) -> Option<(T, Quality)> {
    let text = head_bytes(text, MAX_SCAN_BYTES);

    // 1. Fenced blocks.
    for block in fenced_blocks(text) {
        if let Some(hit) = try_strict(block, &mut accept) {
            return Some(hit);
        }
        if let Some(hit) = scan_openers(block, &mut accept) {
            return Some((hit.0, Quality::Repaired));
        }
    }
    // 2. The whole text.
    if let Some(hit) = try_strict(text, &mut accept) {
        return Some(hit);
    }
    // 3. Each opener.
    scan_openers(text, &mut accept)
}

fn try_strict<T>(span: &str, accept: &mut dyn FnMut(&Value) -> Option<T>) -> Option<(T, Quality)> {
    let trimmed = span.trim();
    if trimmed.is_empty() {
        return None;
    }
    let v = serde_json::from_str::<Value>(trimmed).ok()?;
    accept(&v).map(|t| (t, Quality::Strict))
}

/// The first accepted value that is strict JSON, else the first accepted repaired one: a model
/// often works in LaTeX (`\[ … \]`, `{1 \over 2}`) before it writes the JSON asked for, and a
/// repair of the LaTeX must not win over the real object after it.
fn scan_openers<T>(text: &str, accept: &mut dyn FnMut(&Value) -> Option<T>) -> Option<(T, Quality)> {
    let bytes = text.as_bytes();
    let mut tried = 0;
    let mut i = 0;
    let mut repaired = None;
    while i < bytes.len() && tried < MAX_START_POSITIONS {
        if bytes[i] == b'{' || bytes[i] == b'[' {
            tried += 1;
            let mut p = Parser { b: bytes, i, depth: 0 };
            if let Some(v) = p.value()
                && let Some(t) = accept(&v)
            {
                if text.get(i..p.i).is_some_and(|s| serde_json::from_str::<Value>(s).is_ok()) {
                    return Some((t, Quality::Strict));
                }
                if repaired.is_none() {
                    repaired = Some(t);
                }
                // Openers inside the repaired span are parts of it, not better candidates.
                i = p.i.max(i + 1);
                continue;
            }
        }
        i += 1;
    }
    repaired.map(|t| (t, Quality::Repaired))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn head_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// Contents of ``` fenced blocks (an unterminated last fence runs to the end).
pub fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        // Skip the info string (e.g. `json`) up to the end of the line.
        let body_start = after.find('\n').map(|n| n + 1).unwrap_or(after.len());
        let info = &after[..body_start];
        let body_from = if info.trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            body_start
        } else {
            0
        };
        let body = &after[body_from..];
        match body.find("```") {
            Some(close) => {
                out.push(&body[..close]);
                rest = &body[close + 3..];
            }
            None => {
                out.push(body);
                break;
            }
        }
        if out.len() >= 16 {
            break;
        }
    }
    out
}

/// Parse leniently from the start of `s` (leading whitespace allowed).
pub fn parse_lenient(s: &str) -> Option<Value> {
    let mut p = Parser { b: s.as_bytes(), i: 0, depth: 0 };
    p.value()
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

fn is_delim(c: u8) -> bool {
    matches!(c, b',' | b':' | b'=' | b'{' | b'}' | b'[' | b']' | b'"' | b'\'') || c.is_ascii_whitespace()
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() => self.i += 1,
                Some(b'/') if self.b.get(self.i + 1) == Some(&b'/') => {
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                Some(b'/') if self.b.get(self.i + 1) == Some(&b'*') => {
                    self.i += 2;
                    while self.i < self.b.len() {
                        if self.b[self.i] == b'*' && self.b.get(self.i + 1) == Some(&b'/') {
                            self.i += 2;
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        let c = self.peek()?;
        match c {
            b'{' | b'[' if self.depth >= MAX_DEPTH => None,
            b'{' => Some(self.object()),
            b'[' => Some(self.array()),
            b'"' | b'\'' => Some(Value::String(self.string())),
            b'-' | b'+' | b'.' | b'0'..=b'9' => Some(self.word(true)),
            c if !is_delim(c) && c != b')' => Some(self.word(false)),
            _ => None,
        }
    }

    fn object(&mut self) -> Value {
        self.i += 1;
        self.depth += 1;
        let mut map = Map::new();
        loop {
            self.ws();
            match self.peek() {
                None => break,
                Some(b'}') | Some(b']') => {
                    self.i += 1;
                    break;
                }
                Some(b',') | Some(b';') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let start = self.i;
            let key = match self.peek() {
                Some(b'"') | Some(b'\'') => self.string(),
                _ => self.bare_key(),
            };
            if self.i == start {
                self.i += 1; // unreadable byte: skip it
                continue;
            }
            self.ws();
            match self.peek() {
                Some(b':') | Some(b'=') => self.i += 1,
                None => break,
                _ => continue, // key without a value
            }
            let before = self.i;
            match self.value() {
                Some(v) => {
                    map.insert(key, v);
                }
                None => {
                    if self.i == before && self.peek().is_some() {
                        // Leave structural closers for the loop; skip anything else.
                        if !matches!(self.peek(), Some(b'}') | Some(b']') | Some(b',')) {
                            self.i += 1;
                        }
                    }
                }
            }
        }
        self.depth -= 1;
        Value::Object(map)
    }

    fn array(&mut self) -> Value {
        self.i += 1;
        self.depth += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => break,
                Some(b']') | Some(b'}') => {
                    self.i += 1;
                    break;
                }
                Some(b',') | Some(b';') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let before = self.i;
            match self.value() {
                Some(v) => items.push(v),
                None => {
                    if self.i == before {
                        self.i += 1;
                    }
                }
            }
        }
        self.depth -= 1;
        Value::Array(items)
    }

    fn bare_key(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if is_delim(c) {
                break;
            }
            self.i += 1;
        }
        String::from_utf8_lossy(&self.b[start..self.i]).into_owned()
    }

    fn string(&mut self) -> String {
        let quote = self.b[self.i];
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == quote {
                return String::from_utf8_lossy(&out).into_owned();
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else { break };
            self.i += 1;
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'u' => {
                    let hex = self.b.get(self.i..self.i + 4).and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| u32::from_str_radix(h, 16).ok()) {
                        Some(code) => {
                            self.i += 4;
                            let ch = char::from_u32(code).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        None => out.extend_from_slice(b"\\u"),
                    }
                }
                b'"' | b'\'' | b'\\' | b'/' => out.push(e),
                // LaTeX inside JSON strings (`\frac`, `\sqrt`) is common: keep the backslash.
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A bare word: number, literal or unquoted string, up to a structural delimiter.
    fn word(&mut self, numeric_start: bool) -> Value {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(c, b',' | b'}' | b']' | b'\n' | b'\r') || (c == b':' && !numeric_start) {
                break;
            }
            self.i += 1;
        }
        let raw = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
        let w = raw.trim();
        match w {
            "true" | "True" => return Value::Bool(true),
            "false" | "False" => return Value::Bool(false),
            "null" | "None" | "undefined" => return Value::Null,
            _ => {}
        }
        if numeric_start {
            if let Ok(n) = serde_json::from_str::<Number>(w) {
                return Value::Number(n);
            }
            if let Some(n) = w.parse::<f64>().ok().and_then(Number::from_f64) {
                return Value::Number(n);
            }
        }
        Value::String(w.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repairs_common_breakage() {
        assert_eq!(parse_lenient("{'a': 1, b: [1,2,],}"), Some(json!({"a": 1, "b": [1, 2]})));
        assert_eq!(parse_lenient("[{\"x\": True}, {\"x\": None}"), Some(json!([{"x": true}, {"x": null}])));
        assert_eq!(
            parse_lenient("{\"steps\": [{\"name\": \"a\", \"tags\": [\"t1\", \"t2"),
            Some(json!({"steps": [{"name": "a", "tags": ["t1", "t2"]}]}))
        );
        assert_eq!(parse_lenient("{\"a\": \"\\sqrt{2} \\alpha\"}"), Some(json!({"a": "\\sqrt{2} \\alpha"})));
    }

    #[test]
    fn finds_json_in_prose_and_fences() {
        let text = "Sure! Here is \\frac{1}{2} and the plan:\n```json\n{\"steps\": [1, 2]}\n```\nDone.";
        let got = find_json(text, |v| v.get("steps").cloned());
        assert_eq!(got, Some((json!([1, 2]), Quality::Strict)));
        let text = "The plan is {steps: [1, 2,]} ok";
        let got = find_json(text, |v| v.get("steps").cloned());
        assert_eq!(got, Some((json!([1, 2]), Quality::Repaired)));
    }

    /// algebra/621 (rf-prompts-3): the plan became `x^2 + 2.6x + 3.6 = …` repaired out of the
    /// `\[ … \]` of a worked solution, although the reply ended with a valid JSON plan.
    #[test]
    fn a_repair_of_earlier_latex_does_not_win_over_a_later_strict_object() {
        let steps = |v: &Value| v.get("steps").cloned();
        let latex = "We get {steps: [\\frac{1}{2}],} so";
        assert_eq!(find_json(latex, steps).map(|(_, q)| q), Some(Quality::Repaired), "the LaTeX alone repairs");
        let text = format!("{latex} the plan is {{\"steps\": [\"complete the square\"]}}");
        assert_eq!(find_json(&text, steps), Some((json!(["complete the square"]), Quality::Strict)));
        let only_repaired = "{steps: [{\"template\": \"a\"}, {\"template\": \"b\"}],}";
        assert_eq!(find_json(only_repaired, steps), Some((json!([{"template": "a"}, {"template": "b"}]), Quality::Repaired)));
    }

    #[test]
    fn hostile_input_is_bounded() {
        let deep = "[".repeat(100_000);
        assert!(parse_lenient(&deep).is_some());
        let weird = "{:::,,,}}}]]]\"\\u12".repeat(1000);
        let _ = find_json(&weird, |v| v.get("x").cloned());
    }
}
