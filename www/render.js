// Model output is untrusted: it is rendered as text nodes plus KaTeX math, never as HTML.
import katex from './vendor/katex/katex.mjs';

// $$…$$, \[…\], \(…\), $…$ (a single $ must not be followed by a space or digit-only money).
const MATH = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$([^$\n]+?)\$/g;

/** Splits text into [{type: 'text'|'math', value, display}] segments. */
export function splitMath(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(MATH)) {
    if (m.index > last) out.push({ type: 'text', value: text.slice(last, m.index) });
    const display = m[1] !== undefined || m[2] !== undefined;
    const tex = m[1] ?? m[2] ?? m[3] ?? m[4];
    out.push({ type: 'math', value: tex, display, source: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ type: 'text', value: text.slice(last) });
  return out;
}

/** Renders one TeX fragment into `el` (KaTeX builds DOM nodes; no HTML parsing). */
export function renderTex(el, tex, display = false) {
  try {
    katex.render(tex, el, { displayMode: display, throwOnError: true, trust: false, strict: 'ignore', output: 'htmlAndMathml', maxExpand: 200, maxSize: 20 });
    el.classList.add(display ? 'math-display' : 'math-inline');
  } catch {
    el.textContent = tex; // not valid TeX: show the source as text
    el.classList.add('math-source');
  }
}

/**
 * Replaces the content of `container` with `text` rendered as text + math. A `\boxed{…}`
 * outside math is rendered as math too, so the final answer shows as a box.
 */
export function renderMathText(container, text) {
  const frag = document.createDocumentFragment();
  for (const seg of splitMath(String(text ?? ''))) {
    if (seg.type === 'math') {
      const span = document.createElement('span');
      renderTex(span, seg.value, seg.display);
      frag.appendChild(span);
    } else {
      appendTextWithBoxes(frag, seg.value);
    }
  }
  container.replaceChildren(frag);
}

function appendTextWithBoxes(frag, text) {
  let i = 0;
  for (;;) {
    const start = text.indexOf('\\boxed{', i);
    if (start < 0) break;
    const end = matchBrace(text, start + 6);
    if (end < 0) break;
    if (start > i) frag.appendChild(document.createTextNode(text.slice(i, start)));
    const span = document.createElement('span');
    renderTex(span, text.slice(start, end + 1), false);
    frag.appendChild(span);
    i = end + 1;
  }
  if (i < text.length) frag.appendChild(document.createTextNode(text.slice(i)));
}

/** Index of the `}` closing the `{` at `open`, or -1. */
export function matchBrace(text, open) {
  let depth = 0;
  for (let j = open; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') { j++; continue; }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return j;
  }
  return -1;
}

/** Renders a final answer (TeX without delimiters) in a box. */
export function renderAnswer(container, answer) {
  const span = document.createElement('span');
  renderTex(span, `\\boxed{${answer}}`, false);
  if (span.classList.contains('math-source')) span.textContent = answer;
  container.replaceChildren(span);
}
