//! Exact (rational) and approximate (complex f64) evaluation of [`Expr`].

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::expr::{Expr, Func};

/// Largest bit size of an exact intermediate before falling back to floats.
const MAX_BITS: u64 = 8_192;

fn bits(r: &BigRational) -> u64 {
    r.numer().bits() + r.denom().bits()
}

fn exact_root(x: &BigRational, n: u32) -> Option<BigRational> {
    if n == 0 || n > 64 {
        return None;
    }
    if x.is_negative() {
        if n % 2 == 1 {
            return exact_root(&-x, n).map(|r| -r);
        }
        return None;
    }
    let rn = x.numer().nth_root(n);
    let rd = x.denom().nth_root(n);
    if num_traits::pow(rn.clone(), n as usize) == *x.numer()
        && num_traits::pow(rd.clone(), n as usize) == *x.denom()
    {
        Some(BigRational::new(rn, rd))
    } else {
        None
    }
}

fn small_int(r: &BigRational) -> Option<i64> {
    if r.is_integer() {
        r.to_integer().to_i64()
    } else {
        None
    }
}

/// Exact rational value, when the expression is rational and small enough.
pub fn exact(e: &Expr, depth: usize) -> Option<BigRational> {
    if depth > 200 {
        return None;
    }
    let d = depth + 1;
    let r = match e {
        Expr::Num(v, _) => v.clone(),
        Expr::Neg(a) => -exact(a, d)?,
        Expr::Add(a, c) => exact(a, d)? + exact(c, d)?,
        Expr::Sub(a, c) => exact(a, d)? - exact(c, d)?,
        Expr::Mul(a, c) => exact(a, d)? * exact(c, d)?,
        Expr::Div(a, c) => {
            let den = exact(c, d)?;
            if den.is_zero() {
                return None;
            }
            exact(a, d)? / den
        }
        Expr::Pct(a) => exact(a, d)? / BigRational::from_integer(BigInt::from(100)),
        Expr::Pow(a, c) => {
            let base = exact(a, d)?;
            let ex = exact(c, d)?;
            let (p, q) = (ex.numer().to_i64()?, ex.denom().to_u32()?);
            if p.unsigned_abs() > 4096
                || (bits(&base) as u128) * (p.unsigned_abs() as u128) > MAX_BITS as u128
            {
                return None;
            }
            let root = if q == 1 { base } else { exact_root(&base, q)? };
            if root.is_zero() && p < 0 {
                return None;
            }
            let pw = num_traits::pow(root, p.unsigned_abs() as usize);
            if p < 0 { pw.recip() } else { pw }
        }
        Expr::Func(Func::Sqrt, a) => exact_root(&exact(a, d)?, 2)?,
        Expr::Func(Func::Abs, a) => exact(a, d)?.abs(),
        Expr::Func(Func::Floor, a) => exact(a, d)?.floor(),
        Expr::Func(Func::Ceil, a) => exact(a, d)?.ceil(),
        Expr::Root(n, a) => {
            let n = small_int(&exact(n, d)?)?;
            exact_root(&exact(a, d)?, u32::try_from(n).ok()?)?
        }
        Expr::Fact(a) => {
            let n = small_int(&exact(a, d)?)?;
            if !(0..=300).contains(&n) {
                return None;
            }
            let mut acc = BigInt::one();
            for k in 2..=n {
                acc *= k;
            }
            BigRational::from_integer(acc)
        }
        Expr::Binom(n, k) => {
            let n = small_int(&exact(n, d)?)?;
            let k = small_int(&exact(k, d)?)?;
            if !(0..=10_000).contains(&n) || k < 0 || k > n {
                return if n >= 0 && (k < 0 || k > n) {
                    Some(BigRational::zero())
                } else {
                    None
                };
            }
            let k = k.min(n - k);
            let mut acc = BigInt::one();
            for j in 0..k {
                acc = acc * (n - j) / (j + 1);
            }
            BigRational::from_integer(acc)
        }
        Expr::Log(base, x) => {
            // Exact only for integer results: log_2 8 = 3.
            let bv = exact(base, d)?;
            let xv = exact(x, d)?;
            if bv <= BigRational::one() || xv <= BigRational::zero() {
                return None;
            }
            let mut acc = BigRational::one();
            for k in 0..=64i64 {
                if acc == xv {
                    return Some(BigRational::from_integer(BigInt::from(k)));
                }
                if acc > xv {
                    break;
                }
                acc *= &bv;
            }
            return None;
        }
        _ => return None,
    };
    if bits(&r) > MAX_BITS { None } else { Some(r) }
}

/// A complex number with f64 parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct C {
    pub re: f64,
    pub im: f64,
}

impl C {
    pub fn r(re: f64) -> C {
        C { re, im: 0.0 }
    }
    fn nan() -> C {
        C {
            re: f64::NAN,
            im: f64::NAN,
        }
    }
    pub fn is_finite(&self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }
    pub fn abs(&self) -> f64 {
        self.re.hypot(self.im)
    }
    fn is_real(&self) -> bool {
        self.im == 0.0
    }
    fn add(self, o: C) -> C {
        C {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }
    fn sub(self, o: C) -> C {
        C {
            re: self.re - o.re,
            im: self.im - o.im,
        }
    }
    fn mul(self, o: C) -> C {
        if self.is_real() && o.is_real() {
            return C::r(self.re * o.re);
        }
        C {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
    fn div(self, o: C) -> C {
        if self.is_real() && o.is_real() {
            return C::r(self.re / o.re);
        }
        let d = o.re * o.re + o.im * o.im;
        C {
            re: (self.re * o.re + self.im * o.im) / d,
            im: (self.im * o.re - self.re * o.im) / d,
        }
    }
    fn neg(self) -> C {
        C {
            re: -self.re,
            im: -self.im,
        }
    }
    fn exp(self) -> C {
        let m = self.re.exp();
        if self.im == 0.0 {
            return C::r(m);
        }
        C {
            re: m * self.im.cos(),
            im: m * self.im.sin(),
        }
    }
    fn ln(self) -> C {
        if self.is_real() && self.re > 0.0 {
            return C::r(self.re.ln());
        }
        C {
            re: self.abs().ln(),
            im: self.im.atan2(self.re),
        }
    }
    fn pow(self, e: C) -> C {
        if self.is_real() && e.is_real() && (self.re >= 0.0 || e.re.fract() == 0.0) {
            return C::r(self.re.powf(e.re));
        }
        if self.re == 0.0 && self.im == 0.0 {
            return if e.re > 0.0 { C::r(0.0) } else { C::nan() };
        }
        if e.is_real() && e.re.fract() == 0.0 && e.re.abs() <= 64.0 {
            let mut acc = C::r(1.0);
            for _ in 0..(e.re.abs() as u32) {
                acc = acc.mul(self);
            }
            return if e.re < 0.0 { C::r(1.0).div(acc) } else { acc };
        }
        e.mul(self.ln()).exp()
    }
    fn sin(self) -> C {
        C {
            re: self.re.sin() * self.im.cosh(),
            im: self.re.cos() * self.im.sinh(),
        }
    }
    fn cos(self) -> C {
        C {
            re: self.re.cos() * self.im.cosh(),
            im: -(self.re.sin() * self.im.sinh()),
        }
    }
    fn real_only(self, f: impl Fn(f64) -> f64) -> C {
        if self.im.abs() > 1e-12 * self.re.abs().max(1.0) {
            C::nan()
        } else {
            C::r(f(self.re))
        }
    }
}

/// Evaluate with variables bound by `env` (missing variables evaluate to NaN).
pub fn eval(e: &Expr, env: &dyn Fn(&str) -> Option<f64>, depth: usize) -> C {
    if depth > 200 {
        return C::nan();
    }
    let d = depth + 1;
    let ev = |x: &Expr| eval(x, env, d);
    match e {
        Expr::Num(v, _) => C::r(v.to_f64().unwrap_or(f64::NAN)),
        Expr::Pi => C::r(std::f64::consts::PI),
        Expr::E => C::r(std::f64::consts::E),
        Expr::I => C { re: 0.0, im: 1.0 },
        Expr::Inf => C::r(f64::INFINITY),
        Expr::Var(v) => env(v).map(C::r).unwrap_or_else(C::nan),
        Expr::Neg(a) => ev(a).neg(),
        Expr::Add(a, c) => ev(a).add(ev(c)),
        Expr::Sub(a, c) => {
            let (x, y) = (ev(a), ev(c));
            if x.re.is_infinite() && y.re.is_infinite() {
                return C::nan();
            }
            x.sub(y)
        }
        Expr::Mul(a, c) => ev(a).mul(ev(c)),
        Expr::Div(a, c) => ev(a).div(ev(c)),
        Expr::Pow(a, c) => ev(a).pow(ev(c)),
        Expr::Pct(a) => ev(a).div(C::r(100.0)),
        Expr::Log(base, x) => ev(x).ln().div(ev(base).ln()),
        Expr::Root(n, x) => {
            let n = ev(n);
            let x = ev(x);
            if x.is_real()
                && n.is_real()
                && x.re < 0.0
                && n.re.fract() == 0.0
                && (n.re as i64) % 2 != 0
            {
                return C::r(-(-x.re).powf(1.0 / n.re));
            }
            x.pow(C::r(1.0).div(n))
        }
        Expr::Fact(a) => ev(a).real_only(|x| {
            if x.fract() != 0.0 || !(0.0..=170.0).contains(&x) {
                f64::NAN
            } else {
                (1..=(x as u64)).fold(1.0, |acc, k| acc * k as f64)
            }
        }),
        Expr::Binom(n, k) => {
            let (n, k) = (ev(n), ev(k));
            if !n.is_real() || !k.is_real() || k.re.fract() != 0.0 || k.re < 0.0 || k.re > 1000.0 {
                return C::nan();
            }
            let mut acc = 1.0;
            for j in 0..(k.re as u64) {
                acc = acc * (n.re - j as f64) / (j as f64 + 1.0);
            }
            C::r(acc)
        }
        Expr::Func(f, a) => {
            let x = ev(a);
            match f {
                Func::Sin => x.sin(),
                Func::Cos => x.cos(),
                Func::Tan => x.sin().div(x.cos()),
                Func::Cot => x.cos().div(x.sin()),
                Func::Sec => C::r(1.0).div(x.cos()),
                Func::Csc => C::r(1.0).div(x.sin()),
                Func::Asin => x.real_only(f64::asin),
                Func::Acos => x.real_only(f64::acos),
                Func::Atan => x.real_only(f64::atan),
                Func::Sinh => x.real_only(f64::sinh),
                Func::Cosh => x.real_only(f64::cosh),
                Func::Tanh => x.real_only(f64::tanh),
                Func::Ln => x.ln(),
                Func::Exp => x.exp(),
                Func::Sqrt => x.pow(C::r(0.5)),
                Func::Abs => C::r(x.abs()),
                Func::Floor => x.real_only(f64::floor),
                Func::Ceil => x.real_only(f64::ceil),
            }
        }
    }
}
