//! Every boxed answer of a response, not only the last.

#[test]
fn boxed_answers_lists_each_box_in_order() {
    let text = "First \\boxed{x = 2} then \\boxed{\\frac{1}{2}} and \\fbox{7} finally \\boxed{3}.";
    assert_eq!(rf_grade::boxed_answers(text), ["x = 2", "\\frac{1}{2}", "7", "3"]);
    assert!(rf_grade::boxed_answers("no box at all").is_empty());
    assert_eq!(rf_grade::boxed_answers("\\boxed{{a}} é \\boxed{b"), ["{a}"], "an unclosed box yields nothing");
}
