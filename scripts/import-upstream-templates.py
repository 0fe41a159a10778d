#!/usr/bin/env python3
"""Import the upstream ReasonFlux template library into the project's TOML source format.

Reads  /work/shared/data/reasonflux/template_library.json  (or --source)
Writes templates/reasonflux-v1/<chapter-slug>/<section-slug>.toml  and LICENSE-NOTE.txt

Deterministic: the same input gives the same bytes. Python 3.11+ standard library only
(tomllib is used to re-read every written file and check it round-trips).

Upstream quirks handled here (see templates/README.md for the target schema):
- escape sequences stored literally ("\\n", sometimes doubled or quadrupled), while LaTeX
  commands such as \\neq, \\nu, \\times must survive; a few strings were over-decoded upstream
  (\\frac became form-feed + "rac", \\times became tab + "imes") and are repaired;
- application_scenario as a string or a list -> scope list;
- example_application as a string (330) or an object with ~50 key sets (90) -> structured example;
- 29 spellings of template_type -> 5 kinds;
- template names that repeat inside a section -> ids with -2, -3 suffixes.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path("/work/shared/data/reasonflux/template_library.json")
OUT_DIR_NAME = "reasonflux-v1"
ORIGIN = "reasonflux-v1"

# Closest MATH subject for each upstream chapter (MATH has no calculus or statistics subject:
# derivatives serve function analysis -> intermediate-algebra; statistics -> counting-probability).
CHAPTER_SUBJECT = {
    "Quadratic Functions, Equations and Inequalities": "algebra",
    "Derivatives of Univariate Functions and Their Applications": "intermediate-algebra",
    "Trigonometric Functions": "precalculus",
    "Concepts and Properties of Functions": "algebra",
    "Equations of Conic Sections": "intermediate-algebra",
    "Complex Numbers": "precalculus",
    "Plane Vectors and Their Applications": "precalculus",
    "Statistical Analysis of Paired Data": "counting-probability",
    "Exponential and Logarithmic Functions": "algebra",
    "Sequences": "intermediate-algebra",
    "Probability": "counting-probability",
    "Equations of Lines and Circles": "algebra",
    "Spatial Vectors and Solid Geometry": "precalculus",
    "Introduction to Solid Geometry": "geometry",
    "Statistics": "counting-probability",
    "Counting Principles": "counting-probability",
    "Random Variables and Their Distributions": "counting-probability",
    "Sets and Common Logical Language": "algebra",
}

# Section-level exceptions where the chapter's subject is clearly the wrong home.
SECTION_SUBJECT = {
    ("Quadratic Functions, Equations and Inequalities", "Basic inequalities"): "intermediate-algebra",
    ("Sequences", "Mathematical induction"): "intermediate-algebra",
}

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "θ": "theta", "λ": "lambda",
    "μ": "mu", "π": "pi", "σ": "sigma", "φ": "phi", "ω": "omega",
}

# LaTeX control words starting with "n" or "t": a backslash before them is LaTeX, not an escape.
LATEX_N_WORDS = {
    "ne", "neq", "neg", "not", "notin", "nu", "nabla", "ni", "nmid", "nleq", "ngeq",
    "nless", "ngtr", "nsubseteq", "nsupseteq", "natural", "newline", "noindent", "nonumber",
    "nolimits", "nparallel", "nexists", "nearrow", "nwarrow", "ncong", "nsim", "nleqslant",
    "ngeqslant", "nRightarrow", "nLeftrightarrow",
}
LATEX_T_WORDS = {
    "text", "textbf", "textit", "textrm", "textup", "textstyle", "times", "theta", "tan", "tanh",
    "to", "top", "triangle", "triangleq", "tfrac", "therefore", "tilde", "tau", "textnormal",
    "triangleleft", "triangleright", "tbinom",
}
# Control characters produced by an over-eager upstream decode of "\f", "\a", "\b", "\t", "\r", "\v".
CONTROL_TO_ESCAPE = {"\x0c": "f", "\x07": "a", "\x08": "b", "\t": "t", "\r": "r", "\x0b": "v"}
LATEX_AFTER_CONTROL = {
    "f": ("rac", "orall"), "a": ("rccos", "rcsin", "rctan", "lpha", "pprox", "ngle"),
    "b": ("eta", "ar", "egin", "inom", "oxed", "ot", "igcup", "igcap"),
    "t": ("imes", "heta", "herefore", "ext", "an", "o ", "au", "riangle", "ilde", "frac"),
    "r": ("ight", "ho", "angle"), "v": ("ec", "arphi", "ee"),
}


def repair_control_chars(s: str) -> str:
    """Turn "<form-feed>rac" back into "\\frac" etc.; other control chars become spaces."""
    out = []
    i = 0
    while i < len(s):
        ch = s[i]
        letter = CONTROL_TO_ESCAPE.get(ch)
        if letter is not None:
            rest = s[i + 1:]
            if any(rest.startswith(tail) for tail in LATEX_AFTER_CONTROL.get(letter, ())):
                out.append("\\" + letter)
            elif ch == "\t":
                out.append("    ")
            elif ch == "\r":
                pass
            else:
                out.append(" ")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def escape_factor(s: str) -> int:
    """How many backslashes upstream used for one LaTeX backslash in this string (1, 2 or 4)."""
    runs = [len(m.group(1)) for m in re.finditer(r"(\\+)[A-Za-z{}]", s)]
    if 4 in runs and not any(r in (1, 2) for r in runs if r != 4):
        return 4
    if any(r == 2 for r in runs):
        return 2
    return 1


def normalise_text(s: str) -> str:
    """Decode the literal escapes of one upstream string, keeping LaTeX intact."""
    s = repair_control_chars(s)
    factor = escape_factor(s)
    out = []
    i = 0
    n = len(s)
    while i < n:
        if s[i] != "\\":
            out.append(s[i])
            i += 1
            continue
        j = i
        while j < n and s[j] == "\\":
            j += 1
        run = j - i
        m = re.match(r"[A-Za-z]+", s[j:])
        word = m.group(0) if m else ""
        nxt = s[j] if j < n else ""
        if nxt == "\n":
            # "\\<newline>" outside a LaTeX environment is a stray line break marker.
            i = j
            continue
        if word.startswith("n") and word not in LATEX_N_WORDS:
            out.append("\n")
            i = j + 1
            continue
        if word.startswith("t") and word not in LATEX_T_WORDS:
            out.append("    ")
            i = j + 1
            continue
        if word:
            out.append("\\")  # a LaTeX command: exactly one backslash
            i = j
            continue
        if nxt == '"':
            out.append('"')
            i = j + 1
            continue
        # A non-letter after the run: "\\(" "\\{" "\\ " "\\\\" (LaTeX row break) ...
        latex_backslashes = max(1, round(run / factor))
        if latex_backslashes >= 2 and nxt in ")]":
            latex_backslashes = 1  # "\\\\)" upstream is an over-escaped "\)"
        out.append("\\" * min(latex_backslashes, 2))
        i = j
    text = "".join(out)
    # Tidy whitespace without touching the content: strip line ends, collapse 3+ newlines.
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def normalise_value(v):
    if isinstance(v, str):
        return normalise_text(v)
    if isinstance(v, list):
        return [normalise_value(x) for x in v]
    if isinstance(v, dict):
        return {k: normalise_value(x) for k, x in v.items()}
    return v


def slugify(s: str) -> str:
    for g, name in GREEK.items():
        s = s.replace(g, f" {name} ")
    s = s.lower()
    s = re.sub(r"[^a-z0-9]+", "-", s)
    return s.strip("-") or "x"


def kind_of(template_type: str) -> str:
    t = template_type.lower()
    if "method" in t:
        return "method"
    if "knowledge" in t:
        return "knowledge"
    if "conclusion" in t:
        return "conclusion"
    if "formula" in t:
        return "formula"
    if "theorem" in t or "propert" in t:
        return "theorem"
    raise ValueError(f"unknown template_type {template_type!r}")


# ----------------------------------------------------------------------------------------------
# Examples

PROBLEM_KEYS = ("example_problem", "problem", "example_question", "question", "title")
SOLUTION_KEYS = (
    "solution_process", "solution_steps", "solution", "solving_process", "application_process",
    "application_steps", "template_application", "application_template_analysis", "analysis",
    "explanation", "mnemonic_application", "conclusion", "key_points", "key_points_in_illustration",
    "error_correction_hint",
)
ANSWER_KEYS = ("final_answer", "answer", "answers")
DROPPED_KEYS = ("illustration",)  # a link to an external image

ANSWER_LINE = re.compile(
    r"^[\s*#>\-]*(?:\*\*)?(final answer|answers?|result|conclusion)(?:\*\*)?\s*(?:\([^)]*\))?\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*(.+?)\s*$",
    re.IGNORECASE,
)
SOLUTION_HEADER = re.compile(
    r"^[\s*#>\-\[]*(?:\*\*)?(solution|solutions|analysis|steps|solving|solution steps|solution process|"
    r"solving process|solving steps|application|application steps|application process|"
    r"method|proof|process|template application|steps of solution|answer steps|step-by-step solution|"
    r"solution idea|reasoning|derivation|calculation steps|calculation process)\b[^:：]{0,40}[:：]\s*(?:\*\*)?\s*(.*)$",
    re.IGNORECASE,
)
PROBLEM_PREFIX = re.compile(
    r"^[\s*#]*(?:\*\*)?(?:example(?:\s+problem|\s+question)?|problem|question|illustrative example)"
    r"(?:\s*\d+)?(?:\s*\([^)]*\))?(?:\*\*)?\s*[:：.]?\s*(?:\*\*)?\s*",
    re.IGNORECASE,
)
NEW_EXAMPLE = re.compile(r"^[\s*#]*(?:\*\*)?example\s*\d*\b", re.IGNORECASE)


def key_norm(k: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", k.lower()).strip("_")


def last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i = start + len("\\boxed{")
    depth = 1
    j = i
    while j < len(text):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j].strip() or None
        j += 1
    return None


def as_lines(v) -> list[str]:
    """A solution value (string or list) -> non-empty stripped lines (list items kept whole)."""
    if isinstance(v, str):
        return [line.strip() for line in v.split("\n") if line.strip()]
    if isinstance(v, list):
        out = []
        for item in v:
            if isinstance(item, str):
                if item.strip():
                    out.append(item.strip())
            else:
                out.extend(as_lines(item))
        return out
    if isinstance(v, dict):
        out = []
        for k, x in v.items():
            out.extend(f"{k}: {line}" for line in as_lines(x))
        return out
    return [str(v)]


def clean_problem(text: str) -> str:
    text = PROBLEM_PREFIX.sub("", text.strip(), count=1)
    return text.strip().strip("*").strip()


def pop_answer_line(lines: list[str]) -> str | None:
    """If the last line is "Answer: ..." (or Final answer/Result/Conclusion), remove and return it."""
    if not lines:
        return None
    m = ANSWER_LINE.match(lines[-1])
    if m and m.group(2).strip():
        lines.pop()
        return m.group(2).strip().strip("*").strip() or None
    return None


def split_string_example(text: str) -> dict:
    """'Example: ...\\nSolution Steps:\\n1. ...\\nAnswer: ...' -> problem/solution/answer."""
    lines = [line.strip() for line in text.split("\n")]
    # Keep only the first example when several are chained.
    seen_content = False
    for idx, line in enumerate(lines):
        if idx > 0 and seen_content and NEW_EXAMPLE.match(line) and any(
            SOLUTION_HEADER.match(l) or re.match(r"^\d+[.)、]", l) for l in lines[:idx]
        ):
            lines = lines[:idx]
            break
        if line:
            seen_content = True
    problem_lines: list[str] = []
    solution_lines: list[str] = []
    in_solution = False
    problem_from_next = False
    for line in lines:
        if not line:
            if problem_lines and not in_solution:
                in_solution = True  # a blank line ends the problem statement
            continue
        header = SOLUTION_HEADER.match(line)
        if header and not problem_lines and not in_solution:
            # "Analysis: ..." with no problem statement: its first line stands in for the problem.
            rest = header.group(2).strip().strip("*").strip()
            if rest:
                problem_lines.append(rest)
                in_solution = True
            else:
                problem_from_next = True
            continue
        if problem_from_next and not problem_lines:
            problem_lines.append(line.lstrip("-• ").strip())
            in_solution = True
            continue
        if header and problem_lines:
            in_solution = True
            rest = header.group(2).strip().strip("*").strip()
            if rest:
                solution_lines.append(rest)
            continue
        if not in_solution and problem_lines and re.match(r"^(\d+[.)、]|[①-⑳]|step\s*\d)", line, re.I):
            in_solution = True
        if in_solution:
            solution_lines.append(line)
        else:
            problem_lines.append(line)
    answer = pop_answer_line(solution_lines)
    problem = clean_problem("\n".join(problem_lines))
    if not solution_lines and "\n" not in problem:
        # A one-line example such as "Example: x=... therefore ...": split at the first sentence.
        parts = re.split(r"(?<=[.?!;:])\s+", problem, maxsplit=1)
        if len(parts) == 2 and parts[1]:
            problem, solution_lines = parts[0], [parts[1]]
    if not solution_lines:
        solution_lines = [problem]
    if answer is None:
        answer = last_boxed(text)
    return {"problem": problem, "solution": solution_lines, "answer": answer}


def object_example(obj: dict) -> dict:
    # {"Example 1": {...}, "Example 2": {...}}: keep the first.
    nested = [v for k, v in obj.items() if isinstance(v, dict)]
    if nested and all(isinstance(v, dict) for v in obj.values()):
        return object_example(nested[0])
    by_key = {key_norm(k): v for k, v in obj.items()}
    known = set(PROBLEM_KEYS) | set(SOLUTION_KEYS) | set(ANSWER_KEYS) | set(DROPPED_KEYS)
    unknown = sorted(k for k in by_key if k not in known)
    if unknown:
        raise ValueError(f"unhandled example keys {unknown}")
    problem = next((by_key[k] for k in PROBLEM_KEYS if k in by_key), None)
    solution: list[str] = []
    for k in SOLUTION_KEYS:
        if k in by_key:
            lines = as_lines(by_key[k])
            if solution and k in ("mnemonic_application", "key_points", "key_points_in_illustration",
                                  "error_correction_hint", "conclusion"):
                label = k.replace("_", " ").capitalize()
                lines = [f"{label}: {lines[0]}"] + lines[1:] if lines else lines
            solution.extend(lines)
    answer = None
    for k in ANSWER_KEYS:
        if k in by_key:
            answer = "; ".join(as_lines(by_key[k])) or None
            break
    if answer is None:
        answer = pop_answer_line(solution)
    if answer is None:
        answer = last_boxed("\n".join(solution))
    if problem is None:
        raise ValueError(f"no problem in example keys {sorted(by_key)}")
    problem = clean_problem(problem if isinstance(problem, str) else "\n".join(as_lines(problem)))
    if not solution:
        solution = [problem]
    return {"problem": problem, "solution": solution, "answer": answer}


def convert_example(raw) -> dict:
    if isinstance(raw, str):
        ex = split_string_example(raw)
    elif isinstance(raw, dict):
        ex = object_example(raw)
    else:
        raise ValueError(f"example of type {type(raw).__name__}")
    if not ex["problem"]:
        ex["problem"] = ex["solution"][0]
    return ex


# ----------------------------------------------------------------------------------------------
# TOML writing (basic strings with escapes; literal strings where they are safe and more legible)

def toml_basic(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def has_control(s: str, allow_newline: bool) -> bool:
    for ch in s:
        o = ord(ch)
        if ch == "\n" and allow_newline:
            continue
        if ch == "\t":
            continue
        if o < 0x20 or o == 0x7F:
            return True
    return False


def toml_string(s: str) -> str:
    if "\n" in s:
        # Multi-line literal: no escapes needed, LaTeX stays readable.
        if "'''" not in s and not s.endswith("'") and not has_control(s, True) and "\r" not in s:
            return "'''\n" + s + "'''"
        return toml_basic(s)
    if "\\" in s and "'" not in s and not has_control(s, False):
        return "'" + s + "'"
    return toml_basic(s)


def toml_array(items: list[str], indent: str = "") -> str:
    if not items:
        return "[]"
    if all("\n" not in x for x in items) and sum(len(x) for x in items) < 80:
        return "[" + ", ".join(toml_string(x) for x in items) + "]"
    inner = "".join(f"{indent}    {toml_string(x)},\n" for x in items)
    return "[\n" + inner + indent + "]"


def render_section(chapter: str, section: str, subject: str, templates: list[dict]) -> str:
    parts = [
        "# Imported from the upstream ReasonFlux template library by scripts/import-upstream-templates.py.\n"
        "# Do not edit by hand: re-run the importer. Apache-2.0, see ../LICENSE-NOTE.txt.\n",
        f"chapter = {toml_string(chapter)}\n",
        f"section = {toml_string(section)}\n",
        f"subject = {toml_string(subject)}\n",
        f"origin = {toml_string(ORIGIN)}\n",
    ]
    for t in templates:
        ex = t["example"]
        block = [
            "\n[[templates]]\n",
            f"id = {toml_string(t['id'])}\n",
            f"name = {toml_string(t['name'])}\n",
            f"kind = {toml_string(t['kind'])}\n",
            f"tags = {toml_array(t['tags'])}\n",
            f"description = {toml_string(t['description'])}\n",
            f"scope = {toml_array(t['scope'])}\n",
            f"steps = {toml_array(t['steps'])}\n",
            "\n[templates.example]\n",
            f"problem = {toml_string(ex['problem'])}\n",
            f"solution = {toml_array(ex['solution'])}\n",
        ]
        if ex.get("answer"):
            block.append(f"answer = {toml_string(ex['answer'])}\n")
        parts.append("".join(block))
    return "".join(parts)


# ----------------------------------------------------------------------------------------------

def non_empty(items: list[str]) -> list[str]:
    return [x for x in items if x.strip()]


def build(source: Path) -> tuple[dict[Path, str], dict[Path, dict]]:
    """Returns {relative path: file text} and {relative path: expected data} for checking."""
    data = json.loads(source.read_text(encoding="utf-8"))
    files: dict[Path, str] = {}
    expected: dict[Path, dict] = {}
    used_paths: set[Path] = set()
    for chapter, sections in data.items():
        if chapter not in CHAPTER_SUBJECT:
            raise ValueError(f"no subject mapping for chapter {chapter!r}")
        chapter_slug = slugify(chapter)
        for section, raw_templates in sections.items():
            subject = SECTION_SUBJECT.get((chapter, section), CHAPTER_SUBJECT[chapter])
            section_slug = slugify(section)
            rel = Path(OUT_DIR_NAME) / chapter_slug / f"{section_slug}.toml"
            if rel in used_paths:
                raise ValueError(f"two sections map to {rel}")
            used_paths.add(rel)
            seen_ids: dict[str, int] = {}
            templates = []
            for raw in raw_templates:
                name = normalise_text(raw["template_name"])
                base_id = f"{OUT_DIR_NAME}/{chapter_slug}/{section_slug}/{slugify(name)}"
                count = seen_ids.get(base_id, 0) + 1
                seen_ids[base_id] = count
                template_id = base_id if count == 1 else f"{base_id}-{count}"
                scope_raw = raw["application_scenario"]
                scope = [scope_raw] if isinstance(scope_raw, str) else list(scope_raw)
                templates.append({
                    "id": template_id,
                    "name": name,
                    "kind": kind_of(raw["template_type"]),
                    "tags": non_empty(normalise_value(raw["knowledge_tag"])),
                    "description": normalise_text(raw["description"]),
                    "scope": non_empty(normalise_value(scope)),
                    "steps": non_empty(normalise_value(raw["reason_flow"])),
                    "example": convert_example(normalise_value(raw["example_application"])),
                })
            text = render_section(normalise_text(chapter), normalise_text(section), subject, templates)
            files[rel] = text
            expected[rel] = {
                "chapter": normalise_text(chapter),
                "section": normalise_text(section),
                "subject": subject,
                "origin": ORIGIN,
                "templates": [
                    {**{k: v for k, v in t.items() if k != "example"},
                     "example": {k: v for k, v in t["example"].items() if v is not None}}
                    for t in templates
                ],
            }
    return files, expected


LICENSE_ADDENDUM = (
    "\n----------------------------------------------------------------------------------------\n"
    "ReasonFlux Web note: the *.toml files in this folder are a normalised derivative of\n"
    "template_library.json, generated by scripts/import-upstream-templates.py (escape sequences\n"
    "decoded, template types mapped to five kinds, examples split into problem / solution / answer,\n"
    "MATH subjects and stable ids added). They are distributed under the same Apache-2.0 license.\n"
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "templates")
    args = ap.parse_args()

    files, expected = build(args.source)
    out_root: Path = args.out
    target = out_root / OUT_DIR_NAME
    # Remove stale section files so renamed sections do not linger.
    if target.exists():
        for old in sorted(target.rglob("*.toml")):
            if old.relative_to(out_root) not in files:
                old.unlink()
    for rel in sorted(files):
        path = out_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel].encode("utf-8"))
    license_src = args.source.parent / "LICENSE-NOTE.txt"
    license_text = license_src.read_text(encoding="utf-8")
    if not license_text.endswith("\n"):
        license_text += "\n"
    (target / "LICENSE-NOTE.txt").write_bytes((license_text + LICENSE_ADDENDUM).encode("utf-8"))

    # Verify: every file re-reads with tomllib to exactly the data we meant to write.
    ids: set[str] = set()
    n_templates = 0
    for rel in sorted(files):
        parsed = tomllib.loads((out_root / rel).read_text(encoding="utf-8"))
        if parsed != expected[rel]:
            for a, b in zip(parsed.get("templates", []), expected[rel]["templates"]):
                if a != b:
                    print(f"mismatch in {rel}: {a.get('id')}", file=sys.stderr)
                    break
            raise SystemExit(f"round-trip mismatch in {rel}")
        for t in parsed["templates"]:
            if t["id"] in ids:
                raise SystemExit(f"duplicate id {t['id']}")
            ids.add(t["id"])
            n_templates += 1
    print(f"wrote {len(files)} section files, {n_templates} templates under {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
