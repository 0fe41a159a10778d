// <reasonflux-solver> — an embeddable solver. One script tag:
//
//   <script type="module" src="/widget.js"></script>
//   <reasonflux-solver templates="/templates.rfb" problem="What is 7 * 8?" backend="auto"
//                      max-tokens="256"></reasonflux-solver>
//
// Attributes: model (GGUF URL or HF repository URL), tokenizer (optional tokenizer.json URL),
// templates (bundle URL), problem, strategy (reasonflux | guided | direct | best-of-n | mcts),
// backend (auto | webgpu | cpu), max-tokens, context, autoload (load the model when connected),
// retriever (lexical | dense | hybrid | auto: how templates are found; all but lexical fetch the
// sentence encoder from `encoder`, default the assets/ copy named in defaults.js).
// Without model or strategy, the widget takes the measured pick of defaults.js.
// Events (CustomEvent, bubbling, composed): progress {text, fraction}, step {trace, summary},
// answer {answer, finalText, trace}, error {kind, message}.
// Keyboard: Tab to the problem, Ctrl+Enter or the Solve button solves, Escape stops.
import { SolverClient } from './client.js';
import { renderMathText, renderAnswer } from './render.js';
import { renderTrajectory, traceSummary } from './trajectory.js';
import { ENCODER, MODELS, pickDefaults } from './defaults.js';

const KATEX_CSS = new URL('./vendor/katex/katex.min.css', import.meta.url).href;

// Fonts declared inside a shadow root are ignored: KaTeX's @font-face rules go to the document.
function ensureDocumentKatex() {
  if (!document.querySelector(`link[data-rf-katex]`)) {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = KATEX_CSS;
    link.dataset.rfKatex = '';
    document.head.append(link);
  }
}

const TEMPLATE = `
<link rel="stylesheet" href="${KATEX_CSS}">
<style>
  :host { display: block; font: 16px/1.5 system-ui, sans-serif; color: #1b1f24; border: 1px solid #d0d7de; border-radius: 8px; padding: 0.75rem 1rem; background: #fff; max-width: 48rem; }
  h2 { font-size: 1.05em; margin: 0 0 0.4em; }
  textarea { width: 100%; font: inherit; min-height: 3.5em; box-sizing: border-box; }
  .row { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; margin: 0.4rem 0; }
  button { font: inherit; padding: 0.3em 0.9em; border-radius: 4px; border: 1px solid #0b5cad; background: #0b5cad; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #0b5cad; }
  button:disabled { opacity: 0.45; cursor: not-allowed; }
  :focus-visible { outline: 3px solid #ffbf47; outline-offset: 1px; }
  .status { color: #57606a; font-size: 0.9em; }
  .error { color: #b42318; }
  .answer { border: 2px solid #1a7f37; background: #effaf1; border-radius: 6px; padding: 0.3rem 0.8rem; font-size: 1.2em; }
  .stream, .step-output { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; border-radius: 4px; padding: 0.4rem; max-height: 18rem; overflow: auto; }
  .math-display { display: block; text-align: center; white-space: normal; }
  .tags { display: inline-flex; flex-wrap: wrap; gap: 0.3em; list-style: none; padding: 0; margin: 0 0 0 0.4em; }
  .tag { font-size: 0.8em; border: 1px solid #d0d7de; border-radius: 999px; padding: 0 0.5em; }
  .attempt { border-left: 3px solid #d0d7de; padding-left: 0.5em; }
  .template-name { font-weight: bold; }
  .budget, .reason, .plan-source, .totals { color: #57606a; font-size: 0.9em; }
  h3 { font-size: 1em; margin: 0.5em 0 0.2em; }
  .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  @media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
</style>
<h2 part="title">Solve with ReasonFlux <span class="status" part="backend"></span></h2>
<label for="problem" class="sr">Problem</label>
<textarea id="problem" part="problem"></textarea>
<div class="row">
  <button id="solve" part="solve" type="button">Solve</button>
  <button id="stop" class="secondary" type="button" disabled>Stop</button>
  <span id="status" class="status" part="status"></span>
</div>
<div id="error" class="error" role="alert" hidden></div>
<div id="answer-box" hidden><strong>Answer:</strong> <span id="answer" class="answer" part="answer"></span></div>
<div id="live" class="sr" role="status" aria-live="polite"></div>
<div id="stream" class="stream" part="stream" aria-label="Model output"></div>
<div id="trajectory" part="trajectory"></div>
`;

export class ReasonFluxSolver extends HTMLElement {
  static get observedAttributes() { return ['problem', 'model', 'backend']; }

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.shadowRoot.innerHTML = TEMPLATE; // static markup only; model output is never parsed
    this.$ = (id) => this.shadowRoot.getElementById(id);
    this.client = null;
    this.ready = null;
    this.running = false;
  }

  connectedCallback() {
    ensureDocumentKatex();
    this.$('problem').value = this.getAttribute('problem') || '';
    this.$('solve').addEventListener('click', () => this.solve());
    this.$('stop').addEventListener('click', () => this.stop());
    this.shadowRoot.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.solve(); }
      if (e.key === 'Escape' && this.running) { e.preventDefault(); this.stop(); }
    });
    if (this.hasAttribute('autoload')) this.prepare().catch(() => {});
  }

  disconnectedCallback() { this.client?.terminate(); this.client = null; this.ready = null; }

  attributeChangedCallback(name, _old, value) {
    if (name === 'problem' && this.shadowRoot && this.$('problem')) this.$('problem').value = value || '';
    if ((name === 'model' || name === 'backend') && this.client) this.ready = null; // reload on next solve
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true })); }

  status(text, fraction = null) {
    this.$('status').textContent = text;
    this.emit('progress', { text, fraction });
  }

  fail(error) {
    const e = this.$('error');
    e.hidden = false;
    e.dataset.kind = error.kind;
    e.textContent = `${error.kind}: ${error.message}`;
    this.emit('error', error);
  }

  /** Starts the worker, loads the templates and the model (once). */
  prepare() {
    if (this.ready) return this.ready;
    this.client ??= new SolverClient(new URL('./worker.js', import.meta.url));
    const abs = (u) => new URL(u, document.baseURI).href;
    this.ready = (async () => {
      this.status('Starting the engine…');
      const { device, caps } = await this.client.init(this.getAttribute('backend') || 'auto');
      this.pick = pickDefaults(caps, navigator.deviceMemory);
      this.shadowRoot.querySelector('[part=backend]').textContent = `(${device.backend === 'webgpu' ? 'WebGPU' : 'CPU'})`;
      this.dataset.backend = device.backend;
      const encoder = { ...ENCODER, baseUrl: abs(this.getAttribute('encoder') || new URL(ENCODER.baseUrl, import.meta.url).href) };
      const loaded = await this.client.loadTemplates(abs(this.getAttribute('templates') || new URL('./templates.rfb', import.meta.url).href),
        (p) => this.status(p.text || '', p.fraction ?? null), { retriever: this.getAttribute('retriever') || 'lexical', encoder });
      this.dataset.retriever = loaded.retriever;
      if (loaded.warning) this.status(loaded.warning);
      const url = abs(this.getAttribute('model') || new URL(MODELS[this.pick.model].url, import.meta.url).href);
      const model = /\.gguf(\?|$)/i.test(url) ? { kind: 'gguf', url, tokenizerUrl: this.getAttribute('tokenizer') ? abs(this.getAttribute('tokenizer')) : undefined } : { kind: 'url', url };
      await this.client.load(model, {
        contextLen: Number(this.getAttribute('context')) || 2048,
        onProgress: (p) => this.status(p.text || '', p.fraction ?? null),
      });
      this.status('Model ready.', 1);
    })();
    this.ready.catch((e) => { this.ready = null; this.fail(e); this.status(''); });
    return this.ready;
  }

  strategy() {
    const name = this.getAttribute('strategy') || this.pick?.strategy || 'direct';
    if (name.startsWith('{')) return JSON.parse(name);
    // The planner reads the name (an unknown one is a typed error listing the valid names).
    return { strategy: name, max_new_tokens: Number(this.getAttribute('max-tokens')) || 512 };
  }

  async solve() {
    if (this.running) return;
    const problem = this.$('problem').value.trim();
    if (!problem) { this.$('problem').focus(); return; }
    this.$('error').hidden = true;
    this.$('answer-box').hidden = true;
    this.running = true;
    this.$('solve').disabled = true;
    this.$('stop').disabled = false;
    try {
      await this.prepare();
      this.status('Solving…');
      let text = '';
      let request = null;
      let frame = 0;
      const paint = () => { frame = 0; renderMathText(this.$('stream'), text); };
      const r = await this.client.solve(problem, this.strategy(), {
        caps: { max_new_tokens: Number(this.getAttribute('max-tokens')) || 512 },
        onEvent: (m) => {
          if (m.type === 'token') {
            if (m.requestId !== request) { request = m.requestId; text = ''; }
            text += m.token.text;
            if (!frame) frame = requestAnimationFrame(paint);
          } else if (m.type === 'trace') {
            renderTrajectory(this.$('trajectory'), m.trace);
            const summary = traceSummary(m.trace);
            if (summary && summary !== this.$('live').textContent) this.$('live').textContent = summary; // once per step
            this.emit('step', { trace: m.trace, summary });
          }
        },
      });
      if (frame) { cancelAnimationFrame(frame); }
      if (r.finalText && !r.cancelled) text = r.finalText;
      paint();
      renderTrajectory(this.$('trajectory'), r.trace);
      if (r.answer) {
        this.$('answer-box').hidden = false;
        renderAnswer(this.$('answer'), r.answer);
        this.$('live').textContent = `Final answer: ${r.answer}`;
      }
      const budgetOut = !r.answer && !r.cancelled && r.trace?.flags?.budget_ran_out;
      if (budgetOut) this.$('live').textContent = 'The token budget ran out before the final answer.';
      this.status(r.cancelled ? 'Stopped.' : budgetOut
        ? `The token budget (max-tokens ${this.getAttribute('max-tokens') || 512}) ran out before the final answer.`
        : `Done${r.stats.tokensPerS ? ` · ${r.stats.tokensPerS.toFixed(1)} tokens/s` : ''}.`);
      this.emit('answer', { answer: r.answer, finalText: r.finalText, cancelled: r.cancelled, trace: r.trace });
    } catch (e) {
      this.fail(e);
    } finally {
      this.running = false;
      this.$('solve').disabled = false;
      this.$('stop').disabled = true;
    }
  }

  stop() { this.client?.cancel(); this.status('Stopping…'); }
}

if (!customElements.get('reasonflux-solver')) customElements.define('reasonflux-solver', ReasonFluxSolver);
