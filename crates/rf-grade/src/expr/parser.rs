//! Tokens to an [`Answer`]: relations, tuples, intervals, sets, matrices and expressions.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

use super::lexer::{Tok, lex, parse_decimal};
use super::{Answer, Expr, Func, Interval, MAX_DEPTH, RelOp};
use crate::GradeError;

const FUNCS: &[(&str, Func)] = &[
    ("sin", Func::Sin),
    ("cos", Func::Cos),
    ("tan", Func::Tan),
    ("cot", Func::Cot),
    ("sec", Func::Sec),
    ("csc", Func::Csc),
    ("arcsin", Func::Asin),
    ("arccos", Func::Acos),
    ("arctan", Func::Atan),
    ("sinh", Func::Sinh),
    ("cosh", Func::Cosh),
    ("tanh", Func::Tanh),
    ("ln", Func::Ln),
    ("exp", Func::Exp),
];

struct Parser {
    t: Vec<Tok>,
    p: usize,
    depth: usize,
}

fn perr(msg: &str) -> GradeError {
    GradeError::Parse(msg.to_string())
}

fn b(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.p)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.t.get(self.p).cloned();
        if t.is_some() {
            self.p += 1;
        }
        t
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.p += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: &Tok) -> Result<(), GradeError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(perr("unexpected token"))
        }
    }
    fn enter(&mut self) -> Result<(), GradeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(GradeError::TooDeep)
        } else {
            Ok(())
        }
    }
    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Runs one grammar level inside the depth guard.
    fn nested(&mut self, level: fn(&mut Self) -> Result<Expr, GradeError>) -> Result<Expr, GradeError> {
        self.enter()?;
        let r = level(self);
        self.leave();
        r
    }

    /// expr := term (('+'|'-') term)*
    fn expr(&mut self) -> Result<Expr, GradeError> {
        self.nested(Self::expr_inner)
    }
    fn expr_inner(&mut self) -> Result<Expr, GradeError> {
        let mut lhs = self.term()?;
        loop {
            match self.peek() {
                Some(Tok::Plus) => {
                    self.p += 1;
                    let r = self.term()?;
                    lhs = Expr::Add(b(lhs), b(r));
                }
                Some(Tok::Minus) => {
                    self.p += 1;
                    let r = self.term()?;
                    lhs = Expr::Sub(b(lhs), b(r));
                }
                _ => return Ok(lhs),
            }
        }
    }

    fn starts_atom(&self) -> bool {
        match self.peek() {
            Some(Tok::Num(_)) | Some(Tok::Letter(_)) | Some(Tok::LParen) | Some(Tok::LBrace) => {
                true
            }
            Some(Tok::LBrack) => false,
            Some(Tok::Cmd(c)) => !matches!(
                c.as_str(),
                "cup" | "cap" | "setminus" | "to" | "rightarrow" | "implies" | "quad" | "text"
            ),
            _ => false,
        }
    }

    /// term := unary (('*'|'/') unary | implicit-factor)*
    fn term(&mut self) -> Result<Expr, GradeError> {
        self.nested(Self::term_inner)
    }
    fn term_inner(&mut self) -> Result<Expr, GradeError> {
        let mut lhs = self.unary()?;
        loop {
            match self.peek() {
                Some(Tok::Times) => {
                    self.p += 1;
                    let r = self.unary()?;
                    lhs = Expr::Mul(b(lhs), b(r));
                }
                Some(Tok::Div) => {
                    self.p += 1;
                    let r = self.unary()?;
                    lhs = Expr::Div(b(lhs), b(r));
                }
                _ if self.starts_atom() => {
                    let r = self.power()?;
                    lhs = Expr::Mul(b(lhs), b(r));
                }
                _ => return Ok(lhs),
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, GradeError> {
        self.nested(Self::unary_inner)
    }
    fn unary_inner(&mut self) -> Result<Expr, GradeError> {
        match self.peek() {
            Some(Tok::Minus) => {
                self.p += 1;
                self.unary().map(|e| Expr::Neg(b(e)))
            }
            Some(Tok::Plus) => {
                self.p += 1;
                self.unary()
            }
            _ => self.power(),
        }
    }

    /// power := postfix ('^' exponent)?
    fn power(&mut self) -> Result<Expr, GradeError> {
        self.nested(Self::power_inner)
    }
    fn power_inner(&mut self) -> Result<Expr, GradeError> {
        let base = self.postfix()?;
        if self.eat(&Tok::Caret) {
            let ex = self.exponent()?;
            let mut e = Expr::Pow(b(base), b(ex));
            // Postfix after power: (x^2)!, rare; percent after power.
            while self.eat(&Tok::Percent) {
                e = Expr::Pct(b(e));
            }
            return Ok(e);
        }
        Ok(base)
    }

    fn exponent(&mut self) -> Result<Expr, GradeError> {
        match self.peek() {
            Some(Tok::LBrace) => self.group(),
            Some(Tok::Minus) => {
                self.p += 1;
                self.exponent().map(|e| Expr::Neg(b(e)))
            }
            Some(Tok::Num(n)) => {
                let n = n.clone();
                self.p += 1;
                parse_decimal(&n)
                    .map(|r| Expr::Num(r, n.contains('.')))
                    .ok_or_else(|| perr("bad number"))
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> Result<Expr, GradeError> {
        let mut e = self.atom()?;
        loop {
            match self.peek() {
                Some(Tok::Bang) => {
                    self.p += 1;
                    e = Expr::Fact(b(e));
                }
                Some(Tok::Percent) => {
                    self.p += 1;
                    e = Expr::Pct(b(e));
                }
                Some(Tok::Prime) => {
                    self.p += 1;
                }
                _ => return Ok(e),
            }
        }
    }

    /// `{ expr }`
    fn group(&mut self) -> Result<Expr, GradeError> {
        self.expect(&Tok::LBrace)?;
        let e = self.expr()?;
        self.expect(&Tok::RBrace)?;
        Ok(e)
    }

    /// A command argument: `{...}` or a single token (`\frac12`).
    fn arg(&mut self) -> Result<Expr, GradeError> {
        match self.peek() {
            Some(Tok::LBrace) => self.group(),
            Some(Tok::Num(n)) => {
                // Only the first digit belongs to the argument.
                let n = n.clone();
                let mut chars = n.chars();
                let first = chars.next().ok_or_else(|| perr("empty number"))?;
                let rest: String = chars.collect();
                if rest.is_empty() || first == '.' {
                    self.p += 1;
                    parse_decimal(&n)
                        .map(|r| Expr::Num(r, n.contains('.')))
                        .ok_or_else(|| perr("bad number"))
                } else {
                    self.t[self.p] = Tok::Num(rest);
                    Ok(Expr::Num(
                        BigRational::from_integer(BigInt::from(first as u32 - '0' as u32)),
                        false,
                    ))
                }
            }
            _ => self.atom(),
        }
    }

    /// Argument of `\sin x`, `\ln 2x`: a parenthesised group, or a run of implicit factors.
    fn func_arg(&mut self) -> Result<Expr, GradeError> {
        match self.peek() {
            Some(Tok::LParen) | Some(Tok::LBrace) => self.power(),
            _ => {
                let mut e = self.unary()?;
                while matches!(self.peek(), Some(Tok::Num(_)) | Some(Tok::Letter(_)))
                    || matches!(self.peek(), Some(Tok::Cmd(c)) if c == "pi" || c == "frac")
                {
                    let r = self.power()?;
                    e = Expr::Mul(b(e), b(r));
                }
                Ok(e)
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, GradeError> {
        self.nested(Self::atom_inner)
    }
    fn atom_inner(&mut self) -> Result<Expr, GradeError> {
        let t = self.next().ok_or_else(|| perr("unexpected end"))?;
        match t {
            Tok::Num(n) => {
                let v = parse_decimal(&n).ok_or_else(|| perr("bad number"))?;
                let is_dec = n.contains('.');
                // Base subscript 52_8: dropped (as math-verify does).
                if self.peek() == Some(&Tok::Under) {
                    self.p += 1;
                    let _ = self.arg()?;
                }
                // Mixed number 1\frac{3}{4}.
                if !is_dec && matches!(self.peek(), Some(Tok::Cmd(c)) if c == "frac") {
                    let save = self.p;
                    self.p += 1;
                    let num = self.arg();
                    let den = self.arg();
                    if let (Ok(Expr::Num(a, false)), Ok(Expr::Num(d, false))) = (num, den)
                        && !d.is_zero()
                    {
                        return Ok(Expr::Num(v + a / d, false));
                    }
                    self.p = save;
                }
                Ok(Expr::Num(v, is_dec))
            }
            Tok::Letter(c) => {
                let mut name = c.to_string();
                if self.peek() == Some(&Tok::Under) {
                    self.p += 1;
                    let sub = match self.next() {
                        Some(Tok::Num(n)) => n,
                        Some(Tok::Letter(l)) => l.to_string(),
                        Some(Tok::LBrace) => {
                            let mut s = String::new();
                            let mut depth = 1;
                            while let Some(t) = self.next() {
                                match t {
                                    Tok::LBrace => depth += 1,
                                    Tok::RBrace => {
                                        depth -= 1;
                                        if depth == 0 {
                                            break;
                                        }
                                    }
                                    Tok::Num(n) => s.push_str(&n),
                                    Tok::Letter(l) => s.push(l),
                                    _ => s.push('?'),
                                }
                            }
                            s
                        }
                        _ => return Err(perr("bad subscript")),
                    };
                    name = format!("{name}_{sub}");
                    return Ok(Expr::Var(name));
                }
                Ok(match c {
                    'e' => Expr::E,
                    'i' => Expr::I,
                    _ => Expr::Var(name),
                })
            }
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(&Tok::RParen)?;
                Ok(e)
            }
            Tok::LBrace => {
                let e = self.expr()?;
                self.expect(&Tok::RBrace)?;
                Ok(e)
            }
            Tok::LBrack => {
                let e = self.expr()?;
                self.expect(&Tok::RBrack)?;
                Ok(e)
            }
            Tok::Pipe => {
                let e = self.expr()?;
                self.expect(&Tok::Pipe)?;
                Ok(Expr::Func(Func::Abs, b(e)))
            }
            Tok::Cmd(name) => self.command(&name),
            _ => Err(perr("unexpected token in expression")),
        }
    }

    fn command(&mut self, name: &str) -> Result<Expr, GradeError> {
        match name {
            "pi" => Ok(Expr::Pi),
            "infty" | "infinity" => Ok(Expr::Inf),
            "imath" => Ok(Expr::I),
            "frac" => {
                let n = self.arg()?;
                let d = self.arg()?;
                Ok(Expr::Div(b(n), b(d)))
            }
            "binom" | "dbinom" | "tbinom" | "choose" => {
                let n = self.arg()?;
                let k = self.arg()?;
                Ok(Expr::Binom(b(n), b(k)))
            }
            "sqrt" => {
                if self.eat(&Tok::LBrack) {
                    let n = self.expr()?;
                    self.expect(&Tok::RBrack)?;
                    let x = self.arg()?;
                    Ok(Expr::Root(b(n), b(x)))
                } else {
                    let x = self.arg()?;
                    Ok(Expr::Func(Func::Sqrt, b(x)))
                }
            }
            "lfloor" | "lceil" => {
                let e = self.expr()?;
                let close = if name == "lfloor" { "rfloor" } else { "rceil" };
                match self.next() {
                    Some(Tok::Cmd(c)) if c == close => {}
                    _ => return Err(perr("unclosed floor/ceil")),
                }
                Ok(Expr::Func(
                    if name == "lfloor" {
                        Func::Floor
                    } else {
                        Func::Ceil
                    },
                    b(e),
                ))
            }
            "log" | "lg" => {
                let base = if self.eat(&Tok::Under) {
                    Some(self.arg()?)
                } else {
                    None
                };
                let pow = if self.eat(&Tok::Caret) {
                    Some(self.exponent()?)
                } else {
                    None
                };
                let x = self.func_arg()?;
                let base = base.unwrap_or(Expr::Num(
                    BigRational::from_integer(BigInt::from(10)),
                    false,
                ));
                let e = Expr::Log(b(base), b(x));
                Ok(match pow {
                    Some(p) => Expr::Pow(b(e), b(p)),
                    None => e,
                })
            }
            "operatorname" | "mathrm" | "text" => {
                // Left over after normalisation: treat as grouping.
                self.arg()
            }
            "mathbb" | "mathcal" | "mathfrak" => {
                let e = self.arg()?;
                Ok(match e {
                    Expr::Var(v) => Expr::Var(format!("bb{v}")),
                    o => o,
                })
            }
            "overline" | "bar" | "vec" | "hat" | "tilde" | "widehat" | "overrightarrow" => {
                self.arg()
            }
            _ => {
                if let Some((_, f)) = FUNCS.iter().find(|(n, _)| *n == name) {
                    let mut f = *f;
                    let mut pow = None;
                    if self.eat(&Tok::Caret) {
                        let p = self.exponent()?;
                        // \sin^{-1} x means arcsin.
                        let is_inv = matches!(&p, Expr::Neg(x) if matches!(x.as_ref(), Expr::Num(n, _) if n.is_one()));
                        if is_inv {
                            f = match f {
                                Func::Sin => Func::Asin,
                                Func::Cos => Func::Acos,
                                Func::Tan => Func::Atan,
                                o => {
                                    pow = Some(p);
                                    o
                                }
                            };
                        } else {
                            pow = Some(p);
                        }
                    }
                    let x = self.func_arg()?;
                    let e = Expr::Func(f, b(x));
                    return Ok(match pow {
                        Some(p) => Expr::Pow(b(e), b(p)),
                        None => e,
                    });
                }
                // Greek letters and other symbols become variables.
                Ok(Expr::Var(format!("\\{name}")))
            }
        }
    }
}

/// Depth-aware split of `toks` at top level on tokens satisfying `pred`.
fn split_top(toks: &[Tok], pred: impl Fn(&Tok) -> bool) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let mut depth: i64 = 0;
    let mut st = 0;
    let mut pipe_open = false;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::LBrace | Tok::LParen | Tok::LBrack | Tok::SetOpen | Tok::Begin(_) => depth += 1,
            Tok::RBrace | Tok::RParen | Tok::RBrack | Tok::SetClose | Tok::End(_) => depth -= 1,
            Tok::Pipe => {
                pipe_open = !pipe_open;
                depth += if pipe_open { 1 } else { -1 };
            }
            _ => {}
        }
        if depth == 0 && pred(t) && !matches!(t, Tok::Pipe) {
            parts.push(&toks[st..i]);
            st = i + 1;
        }
    }
    parts.push(&toks[st..]);
    parts
}

fn parse_expr_toks(toks: &[Tok]) -> Result<Expr, GradeError> {
    if toks.is_empty() {
        return Err(perr("empty expression"));
    }
    let mut p = Parser {
        t: toks.to_vec(),
        p: 0,
        depth: 0,
    };
    let e = p.expr()?;
    if p.p != p.t.len() {
        return Err(perr("trailing tokens"));
    }
    Ok(e)
}

/// Index of the bracket closing the one at `open`, counting all bracket kinds.
fn closing(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i64;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::LBrace | Tok::LParen | Tok::LBrack | Tok::SetOpen | Tok::Begin(_) => depth += 1,
            Tok::RBrace | Tok::RParen | Tok::RBrack | Tok::SetClose | Tok::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_interval(toks: &[Tok]) -> Option<Result<Interval, GradeError>> {
    let n = toks.len();
    if n < 2 {
        return None;
    }
    let lo_closed = match toks[0] {
        Tok::LParen => false,
        Tok::LBrack => true,
        _ => return None,
    };
    let hi_closed = match toks[n - 1] {
        Tok::RParen => false,
        Tok::RBrack => true,
        _ => return None,
    };
    // The outer bracket must span the whole item (mismatched kinds allowed: `[1,2)`).
    let mut depth = 0i64;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::LBrace | Tok::LParen | Tok::LBrack | Tok::SetOpen | Tok::Begin(_) => depth += 1,
            Tok::RBrace | Tok::RParen | Tok::RBrack | Tok::SetClose | Tok::End(_) => {
                depth -= 1;
                if depth == 0 && i != n - 1 {
                    return None;
                }
            }
            _ => {}
        }
    }
    let parts = split_top(&toks[1..n - 1], |t| *t == Tok::Comma);
    if parts.len() != 2 {
        return None;
    }
    Some((|| {
        Ok(Interval {
            lo: parse_expr_toks(parts[0])?,
            hi: parse_expr_toks(parts[1])?,
            lo_closed,
            hi_closed,
        })
    })())
}

fn parse_item(toks: &[Tok], depth: usize) -> Result<Answer, GradeError> {
    if depth > 8 {
        return Err(GradeError::TooDeep);
    }
    // Strip `x \in` prefix.
    let toks = match toks {
        [Tok::Letter(_), Tok::Rel(RelOp::In), rest @ ..] if !rest.is_empty() => rest,
        _ => toks,
    };
    if toks.is_empty() {
        return Err(perr("empty answer"));
    }
    // Unions of intervals.
    let cup = split_top(toks, |t| matches!(t, Tok::Cmd(c) if c == "cup"));
    if cup.len() > 1 {
        let mut ivs = Vec::new();
        for part in cup {
            match parse_item(part, depth + 1)? {
                Answer::Interval(iv) => ivs.push(iv),
                Answer::Tuple(v) if v.len() == 2 => {
                    let mut it = v.into_iter();
                    if let (Some(lo), Some(hi)) = (it.next(), it.next()) {
                        ivs.push(Interval {
                            lo,
                            hi,
                            lo_closed: false,
                            hi_closed: false,
                        });
                    }
                }
                Answer::Set(v, false) => {
                    // {a} ∪ [b, c]: keep singletons as degenerate closed intervals.
                    for a in v {
                        if let Answer::Expr(e) = a {
                            ivs.push(Interval {
                                lo: e.clone(),
                                hi: e,
                                lo_closed: true,
                                hi_closed: true,
                            });
                        } else {
                            return Err(perr("bad union member"));
                        }
                    }
                }
                _ => return Err(perr("union of non-intervals")),
            }
        }
        return Ok(Answer::Union(ivs));
    }
    // Matrices.
    if let Some(Tok::Begin(env)) = toks.first()
        && (env.ends_with("matrix") || env == "array")
    {
        let close = closing(toks, 0).ok_or_else(|| perr("unclosed matrix"))?;
        if close != toks.len() - 1 {
            return Err(perr("trailing tokens after matrix"));
        }
        let inner = &toks[1..close];
        let mut rows = Vec::new();
        for row in split_top(inner, |t| *t == Tok::RowSep) {
            if row.is_empty() {
                continue;
            }
            let mut cells = Vec::new();
            for cell in split_top(row, |t| *t == Tok::Amp) {
                cells.push(parse_expr_toks(cell)?);
            }
            rows.push(cells);
        }
        if rows.is_empty() {
            return Err(perr("empty matrix"));
        }
        return Ok(Answer::Matrix(rows));
    }
    // Explicit sets.
    if toks.first() == Some(&Tok::SetOpen) && closing(toks, 0) == Some(toks.len() - 1) {
        let inner = &toks[1..toks.len() - 1];
        if inner.is_empty() {
            return Ok(Answer::Set(Vec::new(), false));
        }
        let mut items = Vec::new();
        for part in split_top(inner, |t| *t == Tok::Comma) {
            items.push(parse_item(part, depth + 1)?);
        }
        return Ok(Answer::Set(items, false));
    }
    // Intervals and tuples.
    if let Some(iv) = parse_interval(toks) {
        let iv = iv?;
        if !iv.lo_closed && !iv.hi_closed {
            return Ok(Answer::Tuple(vec![iv.lo, iv.hi]));
        }
        return Ok(Answer::Interval(iv));
    }
    if matches!(toks.first(), Some(Tok::LParen) | Some(Tok::LBrack))
        && closing(toks, 0) == Some(toks.len() - 1)
    {
        let inner = &toks[1..toks.len() - 1];
        let parts = split_top(inner, |t| *t == Tok::Comma);
        if parts.len() > 2 {
            let mut v = Vec::new();
            for p in parts {
                v.push(parse_expr_toks(p)?);
            }
            return Ok(Answer::Tuple(v));
        }
    }
    // ± at top level: a ± b -> {a+b, a-b}.
    if let Some(pos) = toks.iter().position(|t| *t == Tok::PlusMinus) {
        let mut plus = toks.to_vec();
        plus[pos] = Tok::Plus;
        let mut minus = toks.to_vec();
        minus[pos] = Tok::Minus;
        let a = parse_item(&plus, depth + 1)?;
        let m = parse_item(&minus, depth + 1)?;
        return Ok(Answer::Set(vec![a, m], true));
    }
    // Relations.
    let mut sides = Vec::new();
    let mut ops = Vec::new();
    let mut depth_b = 0i64;
    let mut st = 0;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::LBrace | Tok::LParen | Tok::LBrack | Tok::SetOpen | Tok::Begin(_) => depth_b += 1,
            Tok::RBrace | Tok::RParen | Tok::RBrack | Tok::SetClose | Tok::End(_) => depth_b -= 1,
            Tok::Rel(op) if depth_b == 0 => {
                sides.push(&toks[st..i]);
                ops.push(*op);
                st = i + 1;
            }
            _ => {}
        }
    }
    sides.push(&toks[st..]);
    if ops.is_empty() {
        return Ok(Answer::Expr(parse_expr_toks(toks)?));
    }
    // `x = (1, 2)` / `x \in [1,2]`: keep the structured right side.
    if sides.len() == 2
        && matches!(ops[0], RelOp::Eq | RelOp::In)
        && sides[0].len() == 1
        && let Tok::Letter(_) = sides[0][0]
    {
        let rhs = parse_item(sides[1], depth + 1)?;
        if !matches!(rhs, Answer::Expr(_)) {
            return Ok(rhs);
        }
    }
    let mut exprs = Vec::new();
    for s in sides {
        exprs.push(parse_expr_toks(s)?);
    }
    Ok(Answer::Rel(exprs, ops))
}

/// Parse a (normalised) final answer.
pub fn parse_answer(s: &str) -> Result<Answer, GradeError> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return Err(GradeError::Empty);
    }
    // Bare lists: `3, 5`, `1; 2`, `3 and 5` (and is turned into a comma by normalisation).
    let parts = split_top(&toks, |t| *t == Tok::Comma || *t == Tok::Semi);
    if parts.len() > 1 {
        let mut items = Vec::new();
        for p in parts {
            if p.is_empty() {
                continue;
            }
            items.push(parse_item(p, 1)?);
        }
        if items.len() == 1 {
            return items.pop().ok_or(GradeError::Empty);
        }
        return Ok(Answer::Set(items, true));
    }
    parse_item(&toks, 0)
}
