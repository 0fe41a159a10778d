//! The statistics of the report: a confidence interval for an accuracy and a paired test
//! between two strategies on the same problems.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::runner::EvalRecord;

/// The 95 % Wilson score interval of `correct` out of `n` (`(0, 1)` when `n` is 0). Unlike
/// the normal approximation it stays inside [0, 1] and is usable at 0 or `n` correct.
pub fn wilson_interval(correct: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    const Z: f64 = 1.959_963_984_540_054;
    let (n, p) = (n as f64, correct as f64 / n as f64);
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Two-sided exact McNemar test: the probability, under "both strategies are equally good",
/// of a split of the `b + c` discordant problems at least as uneven as `b` : `c` (a binomial
/// test with p = ½). 1 when there is no discordant problem.
pub fn mcnemar_exact(b: usize, c: usize) -> f64 {
    let n = b + c;
    let k = b.min(c);
    // Sum of C(n, i) / 2^n for i ≤ k, in log space so n in the thousands stays finite.
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_binom = 0.0_f64;
    let mut tail = 0.0;
    for i in 0..=k {
        if i > 0 {
            ln_binom += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        tail += (ln_binom + ln_half_n).exp();
    }
    (2.0 * tail).min(1.0)
}

/// Strategy `a` against strategy `b` on the problems both have a record for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    pub benchmark: String,
    pub a: String,
    pub b: String,
    /// Problems both strategies have a record for.
    pub n: usize,
    pub both_correct: usize,
    /// Right under `a`, wrong under `b`.
    pub only_a: usize,
    /// Right under `b`, wrong under `a`.
    pub only_b: usize,
    pub both_wrong: usize,
    /// [`mcnemar_exact`] of `only_a` and `only_b`.
    pub p_value: f64,
}

/// Compare strategies `a` and `b` on `benchmark`, pairing records by problem id.
pub fn paired_comparison(records: &[EvalRecord], benchmark: &str, a: &str, b: &str) -> PairedComparison {
    let of = |strategy: &str| -> HashMap<&str, bool> {
        records
            .iter()
            .filter(|r| r.benchmark == benchmark && r.strategy == strategy)
            .map(|r| (r.id.as_str(), r.correct))
            .collect()
    };
    let (ra, rb) = (of(a), of(b));
    let mut cmp = PairedComparison {
        benchmark: benchmark.to_string(),
        a: a.to_string(),
        b: b.to_string(),
        n: 0,
        both_correct: 0,
        only_a: 0,
        only_b: 0,
        both_wrong: 0,
        p_value: 1.0,
    };
    for (id, &ca) in &ra {
        let Some(&cb) = rb.get(id) else { continue };
        cmp.n += 1;
        match (ca, cb) {
            (true, true) => cmp.both_correct += 1,
            (true, false) => cmp.only_a += 1,
            (false, true) => cmp.only_b += 1,
            (false, false) => cmp.both_wrong += 1,
        }
    }
    cmp.p_value = mcnemar_exact(cmp.only_a, cmp.only_b);
    cmp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), Table I: 81/263 → 0.2553–0.3662; 0/10 → 0–0.2775.
        let (lo, hi) = wilson_interval(81, 263);
        assert!((lo - 0.2553).abs() < 5e-4 && (hi - 0.3662).abs() < 5e-4, "{lo} {hi}");
        let (lo, hi) = wilson_interval(0, 10);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 5e-4, "{lo} {hi}");
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
    }

    #[test]
    fn mcnemar_exact_is_the_two_sided_binomial_tail() {
        // 0 vs 6 discordant: 2 · (1/2)^6 = 0.03125; 1 vs 9: 2 · 11/1024.
        assert!((mcnemar_exact(0, 6) - 0.03125).abs() < 1e-12);
        assert!((mcnemar_exact(9, 1) - 22.0 / 1024.0).abs() < 1e-12);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(5, 5), 1.0);
        let big = mcnemar_exact(1200, 1000);
        assert!(big.is_finite() && big > 0.0 && big < 1e-3, "{big}");
    }
}
