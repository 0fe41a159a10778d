//! Behaviour tests and a fuzz loop: `grade` / `extract_answer` never panic and stay fast.

use rf_grade::{Reason, extract_answer, grade, grade_response};

fn eq(g: &str, c: &str) -> bool {
    grade(g, c).equivalent
}

#[test]
fn equivalences() {
    assert!(eq("\\frac{1}{2}", "0.5"));
    assert!(eq("\\dfrac{3}{4}", "\\tfrac34"));
    assert!(eq("1000", "1{,}000"));
    assert!(eq("2\\sqrt{2}", "\\sqrt{8}"));
    assert!(eq("\\sqrt[3]{27}", "3"));
    assert!(eq("x^2-1", "(x-1)(x+1)"));
    assert!(eq("\\{1,2,3\\}", "\\{3,2,1\\}"));
    assert!(eq("3, 5", "5, 3"));
    assert!(eq("y = 2x+1", "2x+1"));
    assert!(eq("2x+3y=6", "4x+6y=12"));
    assert!(eq(
        "(-\\infty,0)\\cup(1,\\infty)",
        "(1,\\infty)\\cup(-\\infty,0)"
    ));
    assert!(eq(
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"
    ));
    assert!(eq("90^\\circ", "90"));
    assert!(eq("50\\%", "0.5"));
    assert!(eq("5\\text{ cm}", "5"));
    assert!(eq("\\text{Evelyn}", "evelyn"));
    assert!(eq("6-5i", "-5i+6"));
    assert!(eq("\\sin^2 x + \\cos^2 x", "1"));
    assert!(eq("\\infty", "\\infty"));
    assert!(eq("\\frac{1}{3}", "0.333333"));
    assert!(eq("4", "4."));
}

#[test]
fn non_equivalences() {
    assert!(!eq("\\frac{1}{3}", "0.33"));
    assert!(!eq("[1,2)", "[1,2]"));
    assert!(!eq("(1,2)", "(2,1)"));
    assert!(!eq("\\{1,2,3\\}", "\\{1,2\\}"));
    assert!(!eq("x^2-1", "(x-1)^2"));
    assert!(!eq("x=5", "y=5"));
    assert!(!eq("\\infty", "-\\infty"));
    assert!(!eq("6-5i", "6+5i"));
    assert!(!eq("3\\sqrt{2}", "2\\sqrt{3}"));
    assert!(!eq("\\pi", "3.14"));
    assert!(!eq("x > 3", "x \\ge 3"));
    let v = grade("", "3");
    assert_eq!(v.reason, Reason::Invalid);
}

#[test]
fn extraction() {
    assert_eq!(
        extract_answer("Thus $\\boxed{\\frac{a}{b}}$."),
        Some("\\frac{a}{b}".to_string())
    );
    assert_eq!(extract_answer("nothing"), None);
    assert!(grade_response("\\frac{1}{2}", "so the answer is \\boxed{0.5}.").equivalent);
    assert_eq!(grade_response("1", "no answer").reason, Reason::NoAnswer);
}

/// Deterministic xorshift for the fuzz loop.
struct X(u64);
impl X {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const PIECES: &[&str] = &[
    "\\frac",
    "\\sqrt",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\\{",
    "\\}",
    "^",
    "_",
    "x",
    "y",
    "2",
    "10",
    "0.5",
    ",",
    "=",
    "<",
    "\\le",
    "+",
    "-",
    "\\cdot",
    "/",
    "\\pi",
    "\\infty",
    "\\cup",
    "\\left",
    "\\right",
    "\\text{",
    "cm",
    "\\%",
    "!",
    "|",
    "\\begin{pmatrix}",
    "\\end{pmatrix}",
    "&",
    "\\\\",
    "\\boxed{",
    "\\sin",
    "\\log_",
    "e",
    "i",
    " ",
    "\\pm",
    "9999999999",
    "^{99999}",
    "\\binom",
    "\\lfloor",
    "\\rfloor",
    "é",
    "∞",
    "$",
    ".",
    "\\",
];

fn random_input(r: &mut X) -> String {
    let n = (r.next() % 40) as usize;
    let mut s = String::new();
    for _ in 0..n {
        if r.next().is_multiple_of(5) {
            // Raw random char (including multi-byte).
            let c = char::from_u32((r.next() % 0x3000) as u32).unwrap_or('?');
            s.push(c);
        } else {
            s.push_str(PIECES[(r.next() % PIECES.len() as u64) as usize]);
        }
    }
    s
}

// No wall-clock bounds here: the input limits (MAX_ANSWER_BYTES, MAX_TOKENS, MAX_DEPTH) are
// what keeps grading bounded, and they are asserted through the typed verdicts below.
#[test]
fn fuzz_never_panics() {
    let mut r = X(0x1234_5678_9abc_def1);
    for _ in 0..20_000 {
        let a = random_input(&mut r);
        let b = random_input(&mut r);
        let _ = grade(&a, &b);
        let _ = grade(&a, &a);
        let _ = extract_answer(&a);
    }
}

#[test]
fn huge_and_deep_inputs_are_rejected() {
    let deep = "(".repeat(100_000) + &")".repeat(100_000);
    assert_eq!(grade(&deep, "1").reason, Reason::Invalid, "over MAX_ANSWER_BYTES");
    let deep_small = "(".repeat(3_000) + "1" + &")".repeat(3_000);
    assert!(!grade(&deep_small, "1").equivalent);
    let braces = "\\frac{".repeat(1_000) + "1";
    assert!(!grade(&braces, "1").equivalent);
    let pow = "2^{2^{2^{2^{2^{2^{2^{2}}}}}}}";
    let _ = grade(pow, pow);
    let _ = grade("9^{9^{9^9}}", "10");
    let _ = grade("100000!", "1");
    let big = "1".repeat(5_000);
    let _ = grade(&big, &big);
    let long_resp = "word ".repeat(300_000);
    let _ = extract_answer(&long_resp);
    let many_boxes = "\\boxed{".repeat(50_000);
    assert_eq!(extract_answer(&many_boxes), None);
}

// Regressions: `\leq` was rewritten before `\leqslant`, leaving `\leslant`, which no longer
// parsed (same for `\geqslant`, and `\leqq` became `\leq`).
#[test]
fn leqslant_means_le() {
    assert_eq!(rf_grade::normalize("x \\leqslant 3"), rf_grade::normalize("x \\le 3"));
    assert!(eq("x \\le 3", "x \\leqslant 3"));
}

#[test]
fn geqslant_means_ge() {
    assert_eq!(rf_grade::normalize("x \\geqslant -1"), rf_grade::normalize("x \\ge -1"));
    assert!(eq("x \\geq -1", "x \\geqslant -1"));
}

#[test]
fn leqq_and_geqq_mean_le_and_ge() {
    assert_eq!(rf_grade::normalize("y \\leqq 2"), rf_grade::normalize("y \\le 2"));
    assert_eq!(rf_grade::normalize("y \\geqq 2"), rf_grade::normalize("y \\ge 2"));
}
