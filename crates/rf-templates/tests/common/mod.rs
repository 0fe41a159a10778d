//! Shared helpers for the integration tests (included with `mod common;`).
#![allow(dead_code)]

use std::path::PathBuf;

pub fn templates_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates")
}

/// A valid web section file with one template; tests break one thing at a time.
pub const GOOD: &str = r#"
chapter = "Number Theory"
section = "Modular Arithmetic"
subject = "number-theory"
origin = "reasonflux-web"

[[templates]]
id = "web/number-theory/modular-arithmetic/chinese-remainder-theorem"
name = "Chinese Remainder Theorem"
kind = "method"
tags = ["Number Theory", "CRT"]
description = "Combine congruences with coprime moduli."
scope = ["Simultaneous congruences"]
steps = ["Check the moduli are coprime.", "Solve one congruence and substitute."]

[templates.example]
problem = "Find n with n = 2 mod 3 and n = 3 mod 5."
solution = ["n = 3 + 5k, so 3 + 5k = 2 mod 3 gives k = 1."]
answer = "8"
"#;

pub fn replaced(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "fixture lacks {from:?}");
    GOOD.replacen(from, to, 1)
}
