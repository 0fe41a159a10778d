//! The `reasonflux` binary end to end: the ReasonFlux loop on the real SmolLM2 (CPU),
//! grading, template search, and clear errors for bad input.
use std::path::PathBuf;
use std::process::Command;

fn reasonflux() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reasonflux"));
    cmd.current_dir(rf_test_assets::repo_root());
    cmd
}

fn smollm2() -> Option<PathBuf> {
    rf_test_assets::asset("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2")
}

#[test]
fn reasonflux_loop_on_smollm2_finishes_within_its_round_cap_with_a_well_formed_trace() {
    let Some(model) = smollm2() else { return };
    let trace_path = std::env::temp_dir().join(format!("rf-e2e-trace-{}.json", std::process::id()));
    let out = reasonflux()
        .args(["solve", "--quiet", "--max-new-tokens", "48", "--seed", "3", "--model"])
        .arg(&model)
        .arg("--trace")
        .arg(&trace_path)
        .arg("What is the remainder when 2^10 is divided by 7?")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "solve failed: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Answer:"));
    let trace: serde_json::Value = serde_json::from_slice(&std::fs::read(&trace_path).unwrap()).unwrap();
    std::fs::remove_file(&trace_path).ok();
    let cap = rf_planner::PlannerConfig::default().max_rounds as u64;
    let rounds = trace["totals"]["interplay_rounds"].as_u64().expect("rounds recorded");
    assert!(rounds <= cap, "{rounds} rounds exceed the cap {cap}");
    assert_eq!(trace["strategy"], "reasonflux");
    assert_eq!(trace["finished"], true);
    assert!(trace["totals"]["generations"].as_u64().unwrap() >= 1);
    assert!(trace["totals"]["generated_tokens"].as_u64().unwrap() >= 1);
    assert!(trace["exchanges"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(trace["final_text"].is_string(), "the run must end with a final text");
    // Either the navigator's plan was used (templates retrieved) or the run fell back to direct.
    let fell_back = trace["flags"]["direct_fallback"].as_bool().unwrap_or(false);
    assert!(fell_back || trace["totals"]["retrievals"].as_u64().unwrap() >= 1, "trace: {trace}");
}

#[test]
fn grade_reports_equivalence_and_difference() {
    let same = reasonflux().args(["grade", "\\dfrac{1}{2}", "0.5"]).output().unwrap();
    assert!(same.status.success());
    assert!(String::from_utf8_lossy(&same.stdout).contains("EQUIVALENT"));
    let different = reasonflux().args(["grade", "(1,2]", "[1,2]"]).output().unwrap();
    assert!(!different.status.success());
    assert!(String::from_utf8_lossy(&different.stdout).contains("NOT EQUIVALENT"));
}

#[test]
fn grade_takes_negative_answers_as_values_not_flags() {
    let out = reasonflux().args(["grade", "-1/3", "-\\frac{1}{3}"]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = reasonflux().args(["grade", "--json", "-2", "2"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"equivalent\":false"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn template_search_finds_the_crt_template() {
    let out = reasonflux().args(["templates", "search", "chinese remainder theorem congruences", "-k", "3"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.contains("chinese remainder"), "{text}");
}

#[test]
fn corrupt_model_file_gives_a_clear_error_not_a_panic() {
    let path = std::env::temp_dir().join(format!("rf-corrupt-{}.gguf", std::process::id()));
    std::fs::write(&path, b"GGUF\x03\x00\x00\x00garbage").unwrap();
    let out = reasonflux().args(["generate", "-p", "hi", "--model"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).ok();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("malformed GGUF file"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn dpo_report_gives_each_held_out_pair_its_margin() {
    let Some(model) = smollm2() else { return };
    let dir = std::env::temp_dir().join(format!("rf-dpo-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan = |name: &str| format!(r#"{{"steps": [{{"template": "{name}", "tags": ["Arithmetic"], "sub_goal": "Add the numbers."}}]}}"#);
    let pair = |problem: &str, split: &str, chosen: &str, rejected: &str| {
        serde_json::json!({"problem": problem, "chosen": plan(chosen), "rejected": plan(rejected),
            "chosen_score": 1.0, "rejected_score": 0.0, "split": split})
        .to_string()
    };
    let pairs = [
        pair("What is 2 + 3?", "train", "Addition of Whole Numbers", "Chinese Remainder Theorem"),
        pair("What is 7 + 8?", "held_out", "Addition of Whole Numbers", "Law of Cosines"),
        pair("What is 4 + 4?", "held_out", "Basic Addition", "Eigenvalues of a Matrix"),
    ];
    std::fs::write(dir.join("pairs.jsonl"), pairs.join("\n")).unwrap();
    let out = reasonflux()
        .args(["train", "dpo", "--steps", "1", "--accum", "1", "--lr", "1e-6", "--warmup", "0", "--model"])
        .arg(&model)
        .arg("--pairs")
        .arg(dir.join("pairs.jsonl"))
        .arg("--out")
        .arg(dir.join("dpo"))
        .output()
        .unwrap();
    let report = std::fs::read(dir.join("dpo/report.json"));
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "train dpo failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&report.unwrap()).unwrap();
    assert_eq!(report["train_pairs"], 1);
    assert_eq!(report["held_out_pairs"], 2);
    // Before training the policy is the reference, so every margin is exactly zero.
    assert_eq!(report["held_out_margin_before"], 0.0);
    let margins: Vec<f64> = report["held_out_margins_after"].as_array().unwrap().iter().map(|m| m.as_f64().unwrap()).collect();
    assert_eq!(margins.len(), 2);
    let right = margins.iter().filter(|m| **m > 0.0).count() as f64 / 2.0;
    assert_eq!(report["held_out_accuracy_after"].as_f64().unwrap(), right);
    let mean = margins.iter().sum::<f64>() / 2.0;
    assert!((report["held_out_margin_after"].as_f64().unwrap() - mean).abs() < 1e-9, "{report}");
}
