//! Equivalence of parsed answers: exact rationals, rounded decimals, evaluation at random
//! points, and structural comparison of tuples, intervals, sets, matrices and relations.

use crate::Reason;
use crate::eval::{C, eval, exact};
use crate::expr::{Answer, Expr, Interval, RelOp, sub};

/// Number of random points used for expressions with free variables.
const POINTS: usize = 10;
/// Minimum number of points where both sides must be finite.
const MIN_VALID_POINTS: usize = 3;
/// Relative tolerance for evaluated (non-literal) values.
const REL_TOL: f64 = 1e-9;
/// Relative tolerance at random points (function values can lose precision).
const EVAL_TOL: f64 = 1e-7;
/// Decimal places a written decimal is rounded to (math-verify's `float_rounding`).
const FLOAT_ROUNDING: i32 = 6;

type Cmp = Result<Reason, String>;

/// SplitMix64: a tiny seeded generator so grading is deterministic.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-2.5, -0.25] ∪ [0.25, 2.5], positive on the first points.
    fn value(&mut self, positive: bool) -> f64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let mag = 0.25 + 2.25 * u;
        if positive || self.next_u64() & 1 == 0 {
            mag
        } else {
            -mag
        }
    }
}

fn close(a: C, b: C, tol: f64) -> bool {
    let scale = a.abs().max(b.abs()).max(1.0);
    (a.re - b.re).abs() <= tol * scale && (a.im - b.im).abs() <= tol * scale
}

fn round_eq(a: f64, b: f64) -> bool {
    let f = 10f64.powi(FLOAT_ROUNDING);
    if a.abs() < 1e9 && b.abs() < 1e9 {
        (a * f).round() == (b * f).round()
    } else {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }
}

fn env_none(_: &str) -> Option<f64> {
    None
}

/// Value of a variable-free expression; both interpretations for a top-level percentage.
fn alternatives(e: &Expr) -> Vec<&Expr> {
    match e.pct_inner() {
        Some(inner) => vec![e, inner],
        None => vec![e],
    }
}

/// Compare two variable-free expressions.
fn const_eq(a: &Expr, b: &Expr) -> Cmp {
    let float_mode = a.is_decimal_literal() || b.is_decimal_literal();
    for x in alternatives(a) {
        for y in alternatives(b) {
            if float_mode {
                if let (Some(ea), Some(eb)) = (exact(x, 0), exact(y, 0))
                    && ea == eb
                {
                    return Ok(Reason::ExactValue);
                }
                let (va, vb) = (eval(x, &env_none, 0), eval(y, &env_none, 0));
                if va.is_finite()
                    && vb.is_finite()
                    && round_eq(va.re, vb.re)
                    && round_eq(va.im, vb.im)
                {
                    return Ok(Reason::RoundedValue);
                }
                continue;
            }
            if let (Some(ea), Some(eb)) = (exact(x, 0), exact(y, 0)) {
                if ea == eb {
                    return Ok(Reason::ExactValue);
                }
                continue;
            }
            let (va, vb) = (eval(x, &env_none, 0), eval(y, &env_none, 0));
            if va.is_finite() && vb.is_finite() {
                if close(va, vb, REL_TOL) {
                    return Ok(Reason::NumericValue);
                }
            } else if va.re.is_infinite()
                && vb.re.is_infinite()
                && va.re.signum() == vb.re.signum()
                && va.im == 0.0
                && vb.im == 0.0
            {
                return Ok(Reason::NumericValue);
            }
        }
    }
    Err("values differ".to_string())
}

/// Evaluate both at seeded random points; `Some(values)` per point where both are finite.
fn sample(a: &Expr, b: &Expr) -> (Vec<(C, C)>, usize) {
    let mut vars = Vec::new();
    a.vars(&mut vars);
    b.vars(&mut vars);
    vars.sort();
    let mut rng = Rng(0x0005_EED0_FA11_u64 ^ vars.len() as u64);
    let mut out = Vec::new();
    for k in 0..POINTS {
        let vals: Vec<f64> = vars.iter().map(|_| rng.value(k < POINTS / 2)).collect();
        let env = |name: &str| vars.iter().position(|v| v == name).map(|i| vals[i]);
        let va = eval(a, &env, 0);
        let vb = eval(b, &env, 0);
        if va.is_finite() && vb.is_finite() {
            out.push((va, vb));
        }
    }
    (out, vars.len())
}

/// Scalar expression equivalence.
pub fn expr_eq(a: &Expr, b: &Expr) -> Cmp {
    if a == b {
        return Ok(Reason::Identical);
    }
    let mut vars = Vec::new();
    a.vars(&mut vars);
    b.vars(&mut vars);
    if vars.is_empty() {
        return const_eq(a, b);
    }
    let (pts, _) = sample(a, b);
    if pts.len() < MIN_VALID_POINTS {
        return Err("could not evaluate at enough points".to_string());
    }
    if pts.iter().all(|(x, y)| close(*x, *y, EVAL_TOL)) {
        Ok(Reason::Evaluation)
    } else {
        Err("expressions differ at a sample point".to_string())
    }
}

/// Is `a` a non-zero constant multiple of `b` (as functions)? Returns the sign of the factor.
fn proportional(a: &Expr, b: &Expr) -> Option<f64> {
    let (pts, nvars) = sample(a, b);
    if nvars == 0 {
        // Constant relations (e.g. `2 = 2`): compare as values.
        return None;
    }
    let mut k: Option<C> = None;
    let mut valid = 0;
    for (x, y) in pts {
        if y.abs() < 1e-12 {
            if x.abs() < 1e-12 {
                continue;
            }
            return None;
        }
        let r = C {
            re: (x.re * y.re + x.im * y.im) / (y.re * y.re + y.im * y.im),
            im: (x.im * y.re - x.re * y.im) / (y.re * y.re + y.im * y.im),
        };
        match k {
            None => k = Some(r),
            Some(k0) => {
                if !close(k0, r, EVAL_TOL) {
                    return None;
                }
            }
        }
        valid += 1;
    }
    let k = k?;
    if valid < MIN_VALID_POINTS || k.abs() < 1e-12 || k.im.abs() > 1e-9 {
        return None;
    }
    Some(k.re.signum())
}

fn is_only_symbols(e: &Expr) -> bool {
    match e {
        Expr::Var(_) | Expr::E | Expr::I => true,
        Expr::Mul(a, b) => is_only_symbols(a) && is_only_symbols(b),
        _ => false,
    }
}

fn is_equation(a: &Answer) -> bool {
    matches!(a, Answer::Rel(_, ops) if ops.iter().all(|o| *o == RelOp::Eq))
}

fn is_assignment(a: &Answer) -> bool {
    match a {
        Answer::Rel(sides, ops) => {
            ops.iter().all(|o| *o == RelOp::Eq) && sides.first().is_some_and(is_only_symbols)
        }
        _ => false,
    }
}

fn last_rhs(a: &Answer) -> Option<Answer> {
    match a {
        Answer::Rel(sides, _) => sides.last().cloned().map(Answer::Expr),
        _ => None,
    }
}

fn rel_eq(g: (&[Expr], &[RelOp]), p: (&[Expr], &[RelOp])) -> Cmp {
    let (gs, gops) = g;
    let (ps, pops) = p;
    if gops.len() != pops.len() || gs.len() != ps.len() {
        return Err("relations have different shapes".to_string());
    }
    for i in 0..gops.len() {
        let (gl, gr, go) = (&gs[i], &gs[i + 1], gops[i]);
        let (pl, pr, po) = (&ps[i], &ps[i + 1], pops[i]);
        let dg = sub(gl, gr);
        let dp = sub(pl, pr);
        let same = go == po;
        let flipped = go.flipped() == po;
        if same && expr_eq(&dg, &dp).is_ok() {
            continue;
        }
        if flipped && expr_eq(&dg, &sub(pr, pl)).is_ok() {
            continue;
        }
        if (same || flipped)
            && let Some(sign) = proportional(&dg, &dp)
        {
            let ok = match go {
                RelOp::Eq | RelOp::Ne => true,
                _ => (same && sign > 0.0) || (flipped && sign < 0.0),
            };
            if ok {
                continue;
            }
        }
        return Err("relations differ".to_string());
    }
    Ok(Reason::Relation)
}

fn interval_eq(a: &Interval, b: &Interval) -> bool {
    a.lo_closed == b.lo_closed
        && a.hi_closed == b.hi_closed
        && expr_eq(&a.lo, &b.lo).is_ok()
        && expr_eq(&a.hi, &b.hi).is_ok()
}

fn is_constant(e: &Expr) -> bool {
    let mut vars = Vec::new();
    e.vars(&mut vars);
    vars.is_empty()
}

/// One end of an inequality as an interval end: `(value, closed)`.
fn bound(value: &Expr, op: RelOp) -> (Expr, bool) {
    (value.clone(), matches!(op, RelOp::Le | RelOp::Ge))
}

/// The interval an inequality in one variable describes: `x < 3`, `3 \ge x`, `1 < x \le 2`
/// (the same variable in every case). `None` for any other relation.
fn inequality_interval(a: &Answer) -> Option<Interval> {
    let Answer::Rel(sides, ops) = a else { return None };
    let minus_inf = || Expr::Neg(Box::new(Expr::Inf));
    let upper = |op: RelOp| matches!(op, RelOp::Lt | RelOp::Le);
    let lower = |op: RelOp| matches!(op, RelOp::Gt | RelOp::Ge);
    let interval = |(lo, lo_closed): (Expr, bool), (hi, hi_closed): (Expr, bool)| Interval { lo, hi, lo_closed, hi_closed };
    match (sides.as_slice(), ops.as_slice()) {
        ([Expr::Var(_), c], [op]) if is_constant(c) && upper(*op) => Some(interval((minus_inf(), false), bound(c, *op))),
        ([Expr::Var(_), c], [op]) if is_constant(c) && lower(*op) => Some(interval(bound(c, *op), (Expr::Inf, false))),
        ([c, x @ Expr::Var(_)], [op]) if is_constant(c) => {
            inequality_interval(&Answer::Rel(vec![x.clone(), c.clone()], vec![op.flipped()]))
        }
        ([lo, Expr::Var(_), hi], [a, b]) if is_constant(lo) && is_constant(hi) && upper(*a) && upper(*b) => {
            Some(interval(bound(lo, *a), bound(hi, *b)))
        }
        ([hi, Expr::Var(_), lo], [a, b]) if is_constant(lo) && is_constant(hi) && lower(*a) && lower(*b) => {
            Some(interval(bound(lo, *b), bound(hi, *a)))
        }
        _ => None,
    }
}

/// An inequality against the interval it describes (`x \le 3` against `(-\infty, 3]`).
fn interval_vs_inequality(g: &Answer, p: &Answer) -> Option<Cmp> {
    // An open interval `(a, b)` parses as a pair.
    let as_interval = |a: &Answer| match a {
        Answer::Interval(i) => Some(i.clone()),
        Answer::Tuple(ends) if ends.len() == 2 => {
            Some(Interval { lo: ends[0].clone(), hi: ends[1].clone(), lo_closed: false, hi_closed: false })
        }
        _ => None,
    };
    let (interval, relation) = match (g, p) {
        (r @ Answer::Rel(..), other) | (other, r @ Answer::Rel(..)) => (as_interval(other)?, r),
        _ => return None,
    };
    let described = inequality_interval(relation)?;
    Some(if interval_eq(&interval, &described) { Ok(Reason::Structure) } else { Err("interval and inequality differ".to_string()) })
}

/// Order-free matching: every element of `a` pairs with a distinct equal element of `b`.
fn unordered<T>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (j, y) in b.iter().enumerate() {
            if !used[j] && eq(x, y) {
                used[j] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

fn ordered_exprs(a: &[Expr], b: &[Answer], depth: usize) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| answer_eq(&Answer::Expr(x.clone()), y, depth + 1).is_ok())
}

/// Answer equivalence (gold first: the comparison is slightly asymmetric, as in math-verify).
pub fn answer_eq(g: &Answer, p: &Answer, depth: usize) -> Cmp {
    if depth > 16 {
        return Err("nesting too deep".to_string());
    }
    // Relations: `x = 5` vs `5`, `y = 2x + 1` vs `2x + 1`.
    let (g_eq, p_eq) = (is_equation(g), is_equation(p));
    let mut g = std::borrow::Cow::Borrowed(g);
    let mut p = std::borrow::Cow::Borrowed(p);
    if p_eq && !g_eq {
        if let Some(r) = last_rhs(&p) {
            p = std::borrow::Cow::Owned(r);
        }
    } else if is_assignment(&g) && !p_eq {
        if let Some(r) = last_rhs(&g) {
            g = std::borrow::Cow::Owned(r);
        }
    } else if is_assignment(&g) && is_assignment(&p) {
        // Truncate chains: a = b = c -> a = c.
        if let (Answer::Rel(gs, _), Answer::Rel(ps, _)) = (g.as_ref(), p.as_ref())
            && let (Some(gf), Some(gl), Some(pf), Some(pl)) =
                (gs.first(), gs.last(), ps.first(), ps.last())
        {
            let ng = Answer::Rel(vec![gf.clone(), gl.clone()], vec![RelOp::Eq]);
            let np = Answer::Rel(vec![pf.clone(), pl.clone()], vec![RelOp::Eq]);
            g = std::borrow::Cow::Owned(ng);
            p = std::borrow::Cow::Owned(np);
        }
    }
    if let Some(verdict) = interval_vs_inequality(&g, &p) {
        return verdict;
    }
    match (g.as_ref(), p.as_ref()) {
        (Answer::Expr(a), Answer::Expr(b)) => expr_eq(a, b),
        (Answer::Rel(gs, gops), Answer::Rel(ps, pops)) => rel_eq((gs, gops), (ps, pops)),
        (Answer::Rel(..), _) | (_, Answer::Rel(..)) => Err("relation vs non-relation".to_string()),
        (Answer::Matrix(a), Answer::Matrix(b)) => {
            if a.len() != b.len() || a.iter().zip(b).any(|(r, s)| r.len() != s.len()) {
                return Err("matrix shapes differ".to_string());
            }
            if a.iter()
                .zip(b)
                .all(|(r, s)| r.iter().zip(s).all(|(x, y)| expr_eq(x, y).is_ok()))
            {
                Ok(Reason::Structure)
            } else {
                Err("matrix entries differ".to_string())
            }
        }
        (Answer::Interval(a), Answer::Interval(b)) => {
            if interval_eq(a, b) {
                Ok(Reason::Structure)
            } else {
                Err("intervals differ".to_string())
            }
        }
        (Answer::Union(a), Answer::Union(b)) => {
            if unordered(a, b, interval_eq) {
                Ok(Reason::Structure)
            } else {
                Err("unions differ".to_string())
            }
        }
        (Answer::Tuple(a), Answer::Tuple(b)) => {
            if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| expr_eq(x, y).is_ok()) {
                Ok(Reason::Structure)
            } else {
                Err("tuples differ".to_string())
            }
        }
        // A tuple against a written list keeps the list's order.
        (Answer::Tuple(a), Answer::Set(b, _)) => {
            if ordered_exprs(a, b, depth) {
                Ok(Reason::Structure)
            } else {
                Err("tuple vs list differ".to_string())
            }
        }
        (Answer::Set(a, _), Answer::Tuple(b)) => {
            let bb: Vec<Answer> = b.iter().cloned().map(Answer::Expr).collect();
            if unordered(a, &bb, |x, y| answer_eq(x, y, depth + 1).is_ok()) {
                Ok(Reason::Structure)
            } else {
                Err("list vs tuple differ".to_string())
            }
        }
        (Answer::Set(a, _), Answer::Set(b, _)) => {
            if unordered(a, b, |x, y| answer_eq(x, y, depth + 1).is_ok()) {
                Ok(Reason::Structure)
            } else {
                Err("sets differ".to_string())
            }
        }
        // A single value against a one-element set.
        (Answer::Set(a, _), x) | (x, Answer::Set(a, _)) if a.len() == 1 => {
            let (l, r) = if matches!(g.as_ref(), Answer::Set(..)) {
                (&a[0], x)
            } else {
                (x, &a[0])
            };
            answer_eq(l, r, depth + 1)
        }
        _ => Err("different kinds of answer".to_string()),
    }
}
