//! Tokenising and light stemming shared by indexing and querying.

/// Words too common in templates and queries to carry signal.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "by", "can", "do",
    "does", "each", "for", "from", "get", "given", "has", "have", "how", "if", "in", "into", "is", "it", "its", "let",
    "may", "more", "must", "of", "on", "one", "or", "other", "so", "some", "such", "than", "that", "the", "their",
    "then", "there", "these", "this", "those", "through", "to", "two", "use", "used", "using", "value", "values",
    "was", "we", "what", "when", "where", "which", "while", "with", "within", "x", "y",
];

fn is_stopword(w: &str) -> bool {
    STOPWORDS.binary_search(&w).is_ok()
}

/// Light suffix stripping: plurals, -ing, -ed, -ly, a few derivational endings. Deliberately
/// conservative: it must map "parabolas"/"parabola", "derivatives"/"derivative",
/// "inequalities"/"inequality", "solving"/"solve" together without merging unrelated words.
pub fn stem(word: &str) -> String {
    let w = word;
    let n = w.len();
    let strip = |suffix: &str, replacement: &str, min_rest: usize| -> Option<String> {
        if w.ends_with(suffix) && n - suffix.len() >= min_rest {
            Some(format!("{}{}", &w[..n - suffix.len()], replacement))
        } else {
            None
        }
    };
    // Order matters: longest, most specific suffixes first.
    let candidates: [(&str, &str, usize); 10] = [
        ("ational", "ate", 3),
        ("ization", "ize", 3),
        ("ically", "ic", 3),
        ("ieties", "iety", 3),
        ("ities", "ity", 3),
        ("ies", "y", 3),
        ("sses", "ss", 2),
        ("ing", "", 3),
        ("ed", "", 4),
        ("ly", "", 4),
    ];
    for (suffix, rep, min_rest) in candidates {
        if let Some(s) = strip(suffix, rep, min_rest) {
            return finish(s);
        }
    }
    if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return finish(w[..n - 1].to_string());
    }
    finish(w.to_string())
}

/// Final touch after suffix stripping: drop a trailing "e" so "solve"/"solv(ing)" and
/// "square"/"squar(ed)" meet.
fn finish(mut s: String) -> String {
    if s.len() > 4 && s.ends_with('e') {
        s.pop();
    }
    s
}

/// Lowercases, splits on anything not alphanumeric, drops stopwords, one-character tokens and
/// long numbers, and stems. Non-ASCII letters (Greek, CJK) are kept as part of words.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    tokenize_into(text, &mut out);
    out
}

pub fn tokenize_into(text: &str, out: &mut Vec<String>) {
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if word.is_empty() {
            return;
        }
        let w = std::mem::take(word);
        if w.chars().count() < 2 || is_stopword(&w) {
            return;
        }
        if w.bytes().all(|b| b.is_ascii_digit()) {
            if w.len() > 2 {
                return; // specific numbers in examples say little about which method applies
            }
            out.push(w);
            return;
        }
        if w.bytes().all(|b| b.is_ascii_alphabetic()) {
            out.push(stem(&w));
        } else {
            out.push(w);
        }
    };
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            for lower in ch.to_lowercase() {
                word.push(lower);
            }
        } else {
            flush(&mut word, out);
        }
    }
    flush(&mut word, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        let mut sorted = STOPWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, STOPWORDS);
    }

    #[test]
    fn stems_meet() {
        assert_eq!(stem("parabolas"), stem("parabola"));
        assert_eq!(stem("inequalities"), stem("inequality"));
        assert_eq!(stem("derivatives"), stem("derivative"));
        assert_eq!(stem("solving"), stem("solve"));
        assert_eq!(stem("squares"), stem("square"));
        assert_ne!(stem("sin"), stem("sinus"));
    }

    #[test]
    fn tokenizes() {
        assert_eq!(tokenize("The Sum of Arithmetic Sequences, x=12345"), vec!["sum", "arithmetic", "sequenc"]);
    }
}
