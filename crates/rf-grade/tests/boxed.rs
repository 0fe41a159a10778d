//! Boxed answers: every box of a response, and a box cut off before it closes.

#[test]
fn boxed_answers_lists_each_box_in_order() {
    let text = "First \\boxed{x = 2} then \\boxed{\\frac{1}{2}} and \\fbox{7} finally \\boxed{3}.";
    assert_eq!(rf_grade::boxed_answers(text), ["x = 2", "\\frac{1}{2}", "7", "3"]);
    assert!(rf_grade::boxed_answers("no box at all").is_empty());
    assert_eq!(rf_grade::boxed_answers("\\boxed{{a}} é \\boxed{b"), ["{a}"], "an unclosed box yields nothing");
}

// The page showed "Final answer: \(\boxed{" for a generation stopped inside its box: the
// lenient phrase reading took the unfinished box as the answer.
#[test]
fn cut_off_inside_the_box_is_no_answer() {
    use rf_grade::extract_answer;
    assert_eq!(extract_answer("So the answer is \\(\\boxed{"), None);
    assert_eq!(extract_answer("Final: \\boxed{4"), None);
    assert_eq!(extract_answer("First \\boxed{1}, so finally \\boxed{\\frac{4}{"), None);
    assert_eq!(extract_answer("First \\boxed{1}, so finally \\boxed{4}"), Some("4".to_string()));
}
