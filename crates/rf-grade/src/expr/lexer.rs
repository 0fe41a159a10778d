//! LaTeX answer text to tokens.

use num_bigint::BigInt;
use num_rational::BigRational;

use super::{MAX_TOKENS, RelOp};
use crate::GradeError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Num(String),
    Letter(char),
    Cmd(String),
    Begin(String),
    End(String),
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBrack,
    RBrack,
    SetOpen,
    SetClose,
    Comma,
    Plus,
    Minus,
    PlusMinus,
    Times,
    Div,
    Caret,
    Under,
    Rel(RelOp),
    Bang,
    Percent,
    Amp,
    RowSep,
    Pipe,
    Prime,
    Semi,
    Colon,
    Other(char),
}

pub(super) fn lex(s: &str) -> Result<Vec<Tok>, GradeError> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if out.len() > MAX_TOKENS {
            return Err(GradeError::TooLarge);
        }
        let ch = c[i];
        match ch {
            ' ' | '\t' | '\n' | '\r' => {
                i += 1;
            }
            '0'..='9' | '.' => {
                let st = i;
                let mut seen_dot = false;
                while i < c.len() && (c[i].is_ascii_digit() || (c[i] == '.' && !seen_dot)) {
                    if c[i] == '.' {
                        // `3.` followed by non-digit: the dot is not part of the number.
                        if !c.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                            break;
                        }
                        seen_dot = true;
                    }
                    i += 1;
                }
                if i == st {
                    out.push(Tok::Other('.'));
                    i += 1;
                } else {
                    out.push(Tok::Num(c[st..i].iter().collect()));
                }
            }
            'a'..='z' | 'A'..='Z' => {
                out.push(Tok::Letter(ch));
                i += 1;
            }
            '\\' => {
                let st = i + 1;
                let mut j = st;
                while j < c.len() && c[j].is_ascii_alphabetic() {
                    j += 1;
                }
                if j == st {
                    // Escaped symbol.
                    let n = c.get(st).copied().unwrap_or(' ');
                    out.push(match n {
                        '{' => Tok::SetOpen,
                        '}' => Tok::SetClose,
                        '\\' => Tok::RowSep,
                        '|' => Tok::Pipe,
                        '%' => Tok::Percent,
                        _ => Tok::Other(n),
                    });
                    i = st + 1;
                    continue;
                }
                let name: String = c[st..j].iter().collect();
                i = j;
                if name == "begin" || name == "end" {
                    // \begin{env}
                    let mut k = i;
                    while c.get(k) == Some(&' ') {
                        k += 1;
                    }
                    if c.get(k) == Some(&'{') {
                        let mut e = k + 1;
                        while e < c.len() && c[e] != '}' {
                            e += 1;
                        }
                        let env: String = c[(k + 1).min(c.len())..e.min(c.len())].iter().collect();
                        i = (e + 1).min(c.len());
                        // Skip an array column spec: \begin{array}{cc}
                        if name == "begin" && env == "array" && c.get(i) == Some(&'{') {
                            while i < c.len() && c[i] != '}' {
                                i += 1;
                            }
                            i = (i + 1).min(c.len());
                        }
                        out.push(if name == "begin" {
                            Tok::Begin(env)
                        } else {
                            Tok::End(env)
                        });
                        continue;
                    }
                }
                out.push(match name.as_str() {
                    "cdot" | "times" | "ast" => Tok::Times,
                    "div" => Tok::Div,
                    "le" | "leqq" => Tok::Rel(RelOp::Le),
                    "ge" | "geqq" => Tok::Rel(RelOp::Ge),
                    "lt" => Tok::Rel(RelOp::Lt),
                    "gt" => Tok::Rel(RelOp::Gt),
                    "ne" => Tok::Rel(RelOp::Ne),
                    "in" => Tok::Rel(RelOp::In),
                    "pm" => Tok::PlusMinus,
                    "lvert" | "rvert" | "vert" | "mid" => Tok::Pipe,
                    "lbrace" => Tok::SetOpen,
                    "rbrace" => Tok::SetClose,
                    "lbrack" => Tok::LBrack,
                    "rbrack" => Tok::RBrack,
                    "langle" => Tok::LParen,
                    "rangle" => Tok::RParen,
                    "colon" => Tok::Colon,
                    _ => Tok::Cmd(name),
                });
            }
            '{' => {
                out.push(Tok::LBrace);
                i += 1;
            }
            '}' => {
                out.push(Tok::RBrace);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '[' => {
                out.push(Tok::LBrack);
                i += 1;
            }
            ']' => {
                out.push(Tok::RBrack);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '+' => {
                out.push(Tok::Plus);
                i += 1;
            }
            '-' => {
                out.push(Tok::Minus);
                i += 1;
            }
            '*' => {
                out.push(Tok::Times);
                i += 1;
            }
            '/' => {
                out.push(Tok::Div);
                i += 1;
            }
            '^' => {
                out.push(Tok::Caret);
                i += 1;
            }
            '_' => {
                out.push(Tok::Under);
                i += 1;
            }
            '=' => {
                out.push(Tok::Rel(RelOp::Eq));
                i += 1;
            }
            '<' | '>' => {
                let eq = c.get(i + 1) == Some(&'=');
                out.push(Tok::Rel(match (ch, eq) {
                    ('<', false) => RelOp::Lt,
                    ('<', true) => RelOp::Le,
                    ('>', false) => RelOp::Gt,
                    _ => RelOp::Ge,
                }));
                i += if eq { 2 } else { 1 };
            }
            '≤' => {
                out.push(Tok::Rel(RelOp::Le));
                i += 1;
            }
            '≥' => {
                out.push(Tok::Rel(RelOp::Ge));
                i += 1;
            }
            '!' => {
                out.push(Tok::Bang);
                i += 1;
            }
            '%' => {
                out.push(Tok::Percent);
                i += 1;
            }
            '&' => {
                out.push(Tok::Amp);
                i += 1;
            }
            '|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            '\'' => {
                out.push(Tok::Prime);
                i += 1;
            }
            ';' => {
                out.push(Tok::Semi);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            _ => {
                out.push(Tok::Other(ch));
                i += 1;
            }
        }
    }
    if out.len() > MAX_TOKENS {
        return Err(GradeError::TooLarge);
    }
    Ok(out)
}

pub(super) fn parse_decimal(s: &str) -> Option<BigRational> {
    let (int, frac) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    };
    if int.len() + frac.len() > 400 {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    let n: BigInt = digits.parse().ok()?;
    let d = num_traits::pow(BigInt::from(10), frac.len());
    Some(BigRational::new(n, d))
}
