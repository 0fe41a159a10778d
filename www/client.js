// The page side of the engine worker: promise-based requests with per-request event
// callbacks, and automatic restart of a crashed worker (GPU device loss, engine panic).

export class SolverClient extends EventTarget {
  constructor(workerUrl = new URL('./worker.js', import.meta.url)) {
    super();
    this.workerUrl = workerUrl;
    this.nextId = 1;
    this.pending = new Map();
    this.start();
  }

  start() {
    this.worker = new Worker(this.workerUrl, { type: 'module' });
    this.worker.onmessage = (e) => this.onMessage(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      this.crash({ kind: 'panic', message: `the engine worker failed: ${e.message || 'unknown error'}` });
    };
  }

  onMessage(msg) {
    if (msg.type === 'crash') { this.crash(msg.error); return; }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'result') { this.pending.delete(msg.id); p.resolve(msg.value); }
    else if (msg.type === 'error') { this.pending.delete(msg.id); p.reject(msg.error); }
    else p.onEvent?.(msg);
  }

  /** The wasm module is dead: fail every pending request and start a fresh worker. */
  crash(error) {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.worker.terminate();
    this.start();
    this.dispatchEvent(new CustomEvent('crash', { detail: error }));
  }

  request(type, body = {}, onEvent = null) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      this.worker.postMessage({ ...body, type, id });
    });
  }

  init(backend = 'auto') { return this.request('init', { backend }); }
  load(model, { contextLen, onProgress } = {}) {
    return this.request('load', { model, contextLen }, (m) => m.type === 'progress' && onProgress?.(m.progress));
  }
  /**
   * `retriever`: lexical (default), dense, hybrid or auto; the last three fetch `encoder` ({baseUrl, sha256}).
   * `examplesUrl`: the bundle's worked examples (default: NAME.examples.rfb beside it).
   */
  loadTemplates(url, onProgress, { retriever, encoder, examplesUrl } = {}) {
    const abs = (u) => u && new URL(u, document.baseURI).href;
    const absolute = encoder && { ...encoder, baseUrl: abs(encoder.baseUrl) };
    return this.request('templates', { url: abs(url), examplesUrl: abs(examplesUrl), retriever, encoder: absolute },
      (m) => m.type === 'progress' && onProgress?.(m.progress));
  }
  solve(problem, strategy, { caps, navigatorScript, onEvent } = {}) {
    return this.request('solve', { problem, strategy, caps, navigatorScript }, onEvent);
  }
  generate(input, options, onToken) {
    return this.request('generate', { input, options }, (m) => m.type === 'token' && onToken?.(m.token));
  }
  cancel() { this.worker.postMessage({ type: 'cancel' }); }
  abortDownload() { this.worker.postMessage({ type: 'abort-download' }); }
  cache(op, url) { return this.request('cache', { op, url }); }
  terminate() { this.worker.terminate(); }
}

/** Resolves a model choice (page-relative URLs) into what the worker expects. */
export function absoluteModel(model) {
  const abs = (u) => (u ? new URL(u, document.baseURI).href : u);
  if (model.kind === 'files') return model;
  return { ...model, url: abs(model.url), tokenizerUrl: abs(model.tokenizerUrl), baseUrl: abs(model.baseUrl) };
}
