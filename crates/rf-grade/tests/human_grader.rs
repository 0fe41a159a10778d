//! Answers a human grader calls the same (issue: math-verify marks them different), and the
//! cases past the grader's stated limit, which stay different.

use rf_grade::grade;

fn same(gold: &str, candidate: &str) {
    let v = grade(gold, candidate);
    assert!(v.equivalent, "{gold:?} vs {candidate:?}: {}", v.detail);
}

fn different(gold: &str, candidate: &str) {
    let v = grade(gold, candidate);
    assert!(!v.equivalent, "{gold:?} vs {candidate:?} graded equivalent: {}", v.detail);
}

#[test]
fn equation_with_an_expression_on_the_left() {
    same("7", "m+n=7");
    same("\\frac{3}{2}", "a + b = \\frac{3}{2}");
    different("7", "m+n=8");
}

#[test]
fn units_and_words_in_text() {
    same("10", "10\\text{ cm}");
    same("3", "3 \\text{ apples}");
    same("\\text{Evelyn}", "Evelyn");
}

#[test]
fn empty_set_spellings() {
    for candidate in ["\\varnothing", "∅", "\\{\\}", "\\{ \\}"] {
        same("\\emptyset", candidate);
    }
    different("\\emptyset", "\\{0\\}");
}

#[test]
fn repeating_decimals() {
    same("\\frac{1}{3}", "0.\\overline{3}");
    same("\\frac{4}{11}", "0.\\overline{36}");
    same("\\frac{11}{30}", "0.3\\overline{6}");
    same("-\\frac{14}{11}", "-1.\\overline{27}");
    different("\\frac{1}{3}", "0.\\overline{6}");
}

#[test]
fn interval_against_inequality() {
    same("[2,5)", "2 \\le x < 5");
    same("(-\\infty, 3]", "x \\le 3");
    same("(-\\infty, 3]", "3 \\ge x");
    same("(4, \\infty)", "x > 4");
    same("x > 4", "(4, \\infty)");
    different("(-\\infty, 3)", "x \\le 3");
    different("[2,5)", "2 < x < 5");
}

#[test]
fn set_builder_against_interval() {
    same("[2,5)", "\\{x \\mid 2 \\le x < 5\\}");
    same("\\{x : x > 1\\}", "(1, \\infty)");
    different("[2,5]", "\\{x \\mid 2 \\le x < 5\\}");
}

#[test]
fn past_the_limit_stays_different() {
    // Solving, words for numbers and written-out repetition are reasoning, not notation.
    different("2, -2", "x^2 = 4");
    different("2", "\\text{two}");
}
