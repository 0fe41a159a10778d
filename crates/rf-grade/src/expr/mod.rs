//! A small LaTeX math lexer ([`lexer`]) and recursive-descent parser ([`parser`]) producing
//! [`Answer`] / [`Expr`] trees; `crate::eval` evaluates them.
//!
//! Bounded: at most [`MAX_TOKENS`] tokens and [`MAX_DEPTH`] levels of nesting; anything larger
//! is rejected with a [`GradeError`](crate::GradeError) instead of recursing or looping without
//! bound.

mod lexer;
mod parser;

use num_rational::BigRational;
use num_traits::One;

pub use parser::parse_answer;

/// Maximum number of tokens in one answer.
pub const MAX_TOKENS: usize = 2_000;
/// Maximum nesting depth of the recursive-descent parser.
pub const MAX_DEPTH: usize = 64;

/// A relation operator between two expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

impl RelOp {
    /// The operator seen from the other side (`a < b` ⇔ `b > a`).
    pub fn flipped(self) -> RelOp {
        match self {
            RelOp::Lt => RelOp::Gt,
            RelOp::Gt => RelOp::Lt,
            RelOp::Le => RelOp::Ge,
            RelOp::Ge => RelOp::Le,
            o => o,
        }
    }
}

/// Elementary functions understood by the evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Cot,
    Sec,
    Csc,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Ln,
    Exp,
    Sqrt,
    Abs,
    Floor,
    Ceil,
}

/// A scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A rational constant; `true` when it was written as a decimal literal (`0.5`).
    Num(BigRational, bool),
    Pi,
    E,
    I,
    Inf,
    Var(String),
    Neg(Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    Func(Func, Box<Expr>),
    /// `Log(base, arg)`.
    Log(Box<Expr>, Box<Expr>),
    /// `Root(n, x)`: the n-th root of x.
    Root(Box<Expr>, Box<Expr>),
    /// `x%`, i.e. x/100 (kept apart so `50%` can also match `50`).
    Pct(Box<Expr>),
    Fact(Box<Expr>),
    Binom(Box<Expr>, Box<Expr>),
}

/// An interval with its two ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub lo: Expr,
    pub hi: Expr,
    pub lo_closed: bool,
    pub hi_closed: bool,
}

/// A parsed final answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Expr(Expr),
    /// A chain `a op b op c ...` (`y = 2x + 1`, `1 < x < 2`).
    Rel(Vec<Expr>, Vec<RelOp>),
    /// `(a, b, ...)`; a two-element tuple may also denote an open interval.
    Tuple(Vec<Expr>),
    Interval(Interval),
    Union(Vec<Interval>),
    /// `\{a, b\}` or a bare list `a, b` (order-free). `true` when written bare.
    Set(Vec<Answer>, bool),
    Matrix(Vec<Vec<Expr>>),
}

impl Expr {
    /// Free variables, appended to `out` (deduplicated).
    pub fn vars(&self, out: &mut Vec<String>) {
        match self {
            Expr::Var(v) => {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Expr::Num(..) | Expr::Pi | Expr::E | Expr::I | Expr::Inf => {}
            Expr::Neg(a) | Expr::Func(_, a) | Expr::Pct(a) | Expr::Fact(a) => a.vars(out),
            Expr::Add(a, c)
            | Expr::Sub(a, c)
            | Expr::Mul(a, c)
            | Expr::Div(a, c)
            | Expr::Pow(a, c)
            | Expr::Log(a, c)
            | Expr::Root(a, c)
            | Expr::Binom(a, c) => {
                a.vars(out);
                c.vars(out);
            }
        }
    }

    /// Is this a bare decimal literal (possibly negated, possibly a percentage)?
    pub fn is_decimal_literal(&self) -> bool {
        match self {
            Expr::Num(_, d) => *d,
            Expr::Neg(a) | Expr::Pct(a) => a.is_decimal_literal(),
            _ => false,
        }
    }

    /// Is this a plain rational literal (possibly negated)?
    pub fn is_literal(&self) -> bool {
        match self {
            Expr::Num(..) => true,
            Expr::Neg(a) => a.is_literal(),
            _ => false,
        }
    }

    /// Top-level percentage `x%`: returns `x`.
    pub fn pct_inner(&self) -> Option<&Expr> {
        match self {
            Expr::Pct(a) => Some(a),
            _ => None,
        }
    }
}

/// Build `a - b`.
pub fn sub(a: &Expr, c: &Expr) -> Expr {
    Expr::Sub(Box::new(a.clone()), Box::new(c.clone()))
}

/// The rational 1 (used by callers building expressions).
pub fn one() -> Expr {
    Expr::Num(BigRational::one(), false)
}
