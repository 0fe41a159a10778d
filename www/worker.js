// The engine's Web Worker: owns the wasm module, the model, the template bundle and the
// planner loop. The page talks to it with messages (see client.js):
//
//   page -> worker  {id, type: 'init' | 'load' | 'templates' | 'solve' | 'generate' | 'cancel'
//                    | 'abort-download' | 'cache', ...}
//   worker -> page  {id, type: 'result', value} | {id, type: 'error', error: {kind, message}}
//                   | events {id, type: 'progress' | 'token' | 'action' | 'retrieved' | 'trace'
//                   | 'generation' | 'crash', ...}
import init, { Engine, Templates, Planner, capabilities, version, extractAnswer, examplesFileName } from './pkg/rf_wasm.js';
import { downloadFiles, hasCached, deleteCached, listCached, clearCache } from './cache.js';

let engine = null;
let templates = null;
// Settles when `templates` has its worked examples (the bundle's second file); rejects with why not.
let examplesReady = null;
let ready = null;
let solveCancelled = false;
const downloads = new Map(); // request id -> AbortController

const post = (msg) => self.postMessage(msg);

function toError(e) {
  if (e && typeof e === 'object' && typeof e.kind === 'string') return { kind: e.kind, message: String(e.message ?? ''), fatal: e.fatal === true };
  // 'panic' is one of rf-wasm's FATAL_KINDS; after a trap the module cannot be asked, so it is spelled here.
  if (e instanceof WebAssembly.RuntimeError) return { kind: 'panic', message: `the engine crashed: ${e.message}`, fatal: true };
  return { kind: 'internal', message: String(e?.message ?? e) };
}

// A panic inside the wasm module (for example wgpu reporting a lost device) reaches us here;
// the module is unusable afterwards, so the page restarts the worker.
globalThis.__rfOnPanic = (error) => post({ type: 'crash', error });

async function ensureInit() {
  if (!ready) {
    ready = init().then(() => { engine = new Engine(); });
  }
  return ready;
}

async function handleInit(msg) {
  await ensureInit();
  const caps = await capabilities();
  const device = await engine.initDevice(msg.backend || 'auto');
  return { version: version(), caps, device };
}

function modelFiles(model) {
  // {kind: 'gguf', url, tokenizerUrl?, sha256?} | {kind: 'hf', baseUrl, shards?: [names]}
  if (model.kind === 'gguf') {
    const files = [{ url: model.url, sha256: model.sha256, name: model.name }];
    if (model.tokenizerUrl) files.push({ url: model.tokenizerUrl, name: 'tokenizer.json' });
    return files;
  }
  if (model.kind === 'hf') {
    const base = model.baseUrl.replace(/\/+$/, '');
    const shards = model.shards?.length ? model.shards : ['model.safetensors'];
    return [
      { url: `${base}/config.json`, name: 'config.json' },
      { url: `${base}/tokenizer.json`, name: 'tokenizer.json' },
      ...shards.map((s) => ({ url: `${base}/${s}`, name: s })),
    ];
  }
  throw { kind: 'invalid_argument', message: `unknown model kind ${model.kind}` };
}

/** An HF repository URL (https://huggingface.co/org/name) becomes a resolve/main base URL. */
export function normaliseModelUrl(url) {
  const m = /^https:\/\/huggingface\.co\/([^/]+\/[^/]+)\/?$/.exec(url);
  return m ? `https://huggingface.co/${m[1]}/resolve/main` : url;
}

async function shardNames(baseUrl, signal) {
  const r = await fetch(`${baseUrl}/model.safetensors.index.json`, { signal }).catch(() => null);
  if (!r || !r.ok) return ['model.safetensors'];
  const index = await r.json();
  return [...new Set(Object.values(index.weight_map || {}))].sort();
}

async function handleLoad(msg) {
  await ensureInit();
  const model = msg.model;
  const context = msg.contextLen || 2048;
  let bytes;
  if (model.kind === 'files') {
    // User-picked File objects: a .gguf (+ optional tokenizer.json), or config.json +
    // *.safetensors + tokenizer.json.
    const files = model.files;
    const total = files.reduce((a, f) => a + f.size, 0);
    let loaded = 0;
    const read = [];
    for (const [i, f] of files.entries()) {
      read.push({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
      loaded += f.size;
      post({ id: msg.id, type: 'progress', progress: { file: f.name, index: i, count: files.length, loaded: f.size, total: f.size, totalLoaded: loaded, totalBytes: total, fraction: total ? loaded / total : 1, text: `Reading local files ${i + 1}/${files.length}: ${Math.round(loaded / 1e6)} MB` } });
    }
    const gguf = read.find((f) => /\.gguf$/i.test(f.name));
    const tok = read.find((f) => /tokenizer\.json$/i.test(f.name));
    post({ id: msg.id, type: 'progress', progress: { text: 'Building the model…', fraction: 1 } });
    if (gguf) return engine.loadGguf(gguf.bytes, tok?.bytes ?? null, context);
    const config = read.find((f) => /config\.json$/i.test(f.name) && !/tokenizer/i.test(f.name));
    const shards = read.filter((f) => /\.safetensors$/i.test(f.name)).sort((a, b) => a.name.localeCompare(b.name));
    if (!config || !shards.length || !tok) {
      throw { kind: 'invalid_argument', message: 'pick a .gguf file (optionally with tokenizer.json), or config.json + *.safetensors + tokenizer.json' };
    }
    return engine.loadHf(new TextDecoder().decode(config.bytes), shards.map((s) => s.bytes), tok.bytes, context);
  }
  const controller = new AbortController();
  downloads.set(msg.id, controller);
  try {
    if (model.kind === 'url') {
      const url = normaliseModelUrl(model.url);
      if (/\.gguf(\?|$)/i.test(url)) Object.assign(model, { kind: 'gguf', url });
      else Object.assign(model, { kind: 'hf', baseUrl: url });
    }
    if (model.kind === 'hf' && !model.shards) model.shards = await shardNames(model.baseUrl.replace(/\/+$/, ''), controller.signal);
    const files = modelFiles(model);
    bytes = await downloadFiles(files, {
      signal: controller.signal,
      onProgress: (p) => post({ id: msg.id, type: 'progress', progress: p }),
    });
  } finally {
    downloads.delete(msg.id);
  }
  post({ id: msg.id, type: 'progress', progress: { text: 'Building the model and compiling kernels…', fraction: 1 } });
  if (model.kind === 'gguf') return engine.loadGguf(bytes[0], bytes[1] ?? null, context);
  const [config, tokenizer, ...shards] = bytes;
  return engine.loadHf(new TextDecoder().decode(config), shards, tokenizer, context);
}

// msg: {url, examplesUrl?, retriever?: 'lexical' | 'dense' | 'hybrid' | 'auto', encoder?: {baseUrl, sha256: {file: hex}}}.
// Lexical retrieval needs only the bundle; the others also fetch the sentence encoder. If that
// fails, the templates still load (lexical) and `warning` says why. The worked examples
// (examplesUrl, by default NAME.examples.rfb beside the bundle) follow in the background: only
// prompts need them, and a solve waits for them.
async function handleTemplates(msg) {
  await ensureInit();
  const [bytes] = await downloadFiles([{ url: msg.url, name: 'templates.rfb' }], {
    useCache: false, label: 'Fetching templates',
    onProgress: (p) => post({ id: msg.id, type: 'progress', progress: p }),
  });
  // Usable at once (lexical); useEncoder later switches the same object in place.
  templates = Templates.load(bytes);
  examplesReady = attachExamples(templates, msg.examplesUrl ?? examplesUrl(msg.url));
  examplesReady.catch(() => {}); // a solve reports the failure
  const wanted = msg.retriever ?? 'lexical';
  let warning = null;
  if (!['lexical', ...DENSE_CHOICES].includes(wanted)) {
    warning = `unknown retriever '${wanted}' (lexical, ${DENSE_CHOICES.join(', ')}): templates are found by their words`;
  } else if (wanted !== 'lexical') {
    try {
      await attachEncoder(templates, wanted, msg.encoder, msg.id);
    } catch (e) {
      warning = `${wanted} retrieval is off, so templates are found by their words: ${toError(e).message}`;
    }
  }
  return { size: templates.size, version: templates.version, retriever: templates.retriever, hasEmbeddings: templates.hasEmbeddings, warning };
}

function examplesUrl(bundleUrl) {
  const url = new URL(bundleUrl);
  const dir = url.pathname.lastIndexOf('/') + 1;
  url.pathname = url.pathname.slice(0, dir) + examplesFileName(url.pathname.slice(dir));
  return url.href;
}

async function attachExamples(bundle, url) {
  const [bytes] = await downloadFiles([{ url, name: 'templates.examples.rfb' }], { useCache: false, label: 'Fetching worked examples' });
  bundle.attachExamples(bytes);
}

// Why a retrieval cannot be answered (null when it can), once the worked examples have settled.
async function retrievalBlocker() {
  if (!templates) return { kind: 'bad_bundle', message: 'no template bundle loaded' };
  try {
    await examplesReady;
    return null;
  } catch (e) {
    return { kind: 'bad_bundle', message: `the templates' worked examples did not load: ${toError(e).message}` };
  }
}

const ENCODER_FILES = ['config.json', 'tokenizer.json', 'sentence_bert_config.json', 'model.safetensors'];
const DENSE_CHOICES = ['dense', 'hybrid', 'auto'];

async function attachEncoder(bundle, choice, encoder, id) {
  if (!bundle.hasEmbeddings) throw { kind: 'retrieval', message: 'this template bundle has no embeddings' };
  if (!encoder?.baseUrl) throw { kind: 'invalid_argument', message: `${choice} retrieval needs encoder.baseUrl` };
  const base = encoder.baseUrl.endsWith('/') ? encoder.baseUrl : `${encoder.baseUrl}/`;
  const files = ENCODER_FILES.map((name) => ({ url: new URL(name, base).href, name, sha256: encoder.sha256?.[name] }));
  const [config, tokenizer, sbert, weights] = await downloadFiles(files, {
    label: 'Fetching the sentence encoder',
    onProgress: (p) => post({ id, type: 'progress', progress: p }),
  });
  const text = new TextDecoder();
  const maxSeqLength = JSON.parse(text.decode(sbert)).max_seq_length;
  bundle.useEncoder(choice, text.decode(config), weights, tokenizer, maxSeqLength);
}

async function handleGenerate(msg) {
  await ensureInit();
  return engine.generate(msg.input, msg.options ?? {}, (t) => post({ id: msg.id, type: 'token', token: t }));
}

/**
 * Drives a strategy to the end: the planner says what it needs, the engine and the template
 * bundle answer. `caps` bounds tokens per generation (the browser CPU path is slow);
 * `navigatorScript` (tests, demos) answers navigator requests from a list before the model.
 */
async function handleSolve(msg) {
  await ensureInit();
  if (!engine.loaded) throw { kind: 'not_loaded', message: 'load a model first' };
  solveCancelled = false;
  const planner = Planner.start(msg.strategy ?? 'reasonflux', msg.problem);
  const script = [...(msg.navigatorScript ?? [])];
  const stats = { generations: 0, tokens: 0, decodeMs: 0, ttftMs: null, tokensPerS: null, prefillTokensPerS: null };
  // The same bound as the native driver (rf_planner::run_to_completion): Done included.
  const limit = planner.maxActions();
  for (let i = 0; i < limit; i++) {
    const action = planner.nextAction();
    if (action.type === 'done') {
      const trace = planner.traceObject();
      post({ id: msg.id, type: 'trace', trace });
      return { cancelled: false, answer: action.answer ?? null, finalText: action.final_text, totals: action.totals, trace, stats };
    }
    if (solveCancelled) break;
    post({ id: msg.id, type: 'action', action: summarise(action) });
    if (action.type === 'retrieve') {
      const blocker = await retrievalBlocker();
      const cards = blocker ? (planner.feedError(blocker), []) : planner.answerRetrieve(templates);
      post({ id: msg.id, type: 'retrieved', requestId: action.request_id, query: action.query, cards: cards.map((c) => ({ id: c.id, name: c.name, tags: c.tags })) });
    } else {
      if (action.role === 'navigator' && script.length) {
        const text = script.shift();
        post({ id: msg.id, type: 'token', requestId: action.request_id, role: action.role, token: { text, index: 0, scripted: true } });
        planner.feedGenerated({ text, prompt_tokens: 0, tokens_out: 0 });
      } else {
        let r;
        try {
          r = await engine.generate(action, { max_new_tokens_cap: msg.caps?.[action.role] ?? msg.caps?.max_new_tokens ?? undefined },
            (t) => post({ id: msg.id, type: 'token', requestId: action.request_id, role: action.role, token: t }));
        } catch (e) {
          const err = toError(e);
          planner.feedError(err); // throws back a fatal error: the engine cannot serve the next request
          post({ id: msg.id, type: 'generation', requestId: action.request_id, role: action.role, error: err });
          continue;
        }
        stats.generations++;
        stats.tokens += r.tokens_out;
        stats.ttftMs ??= r.ttft_ms;
        if (r.tokens_per_s > 0) stats.tokensPerS = r.tokens_per_s;
        stats.prefillTokensPerS = r.prefill_tokens_per_s;
        post({ id: msg.id, type: 'generation', requestId: action.request_id, role: action.role, result: { ...r, text: undefined } });
        if (r.finish_reason === 'cancelled' || solveCancelled) { solveCancelled = true; break; }
        planner.feedGenerated(r);
      }
    }
    post({ id: msg.id, type: 'trace', trace: planner.traceObject() });
  }
  if (!solveCancelled) throw { kind: 'planner', message: `the strategy did not finish within its ${limit} actions` };
  const trace = planner.traceObject();
  post({ id: msg.id, type: 'trace', trace });
  return { cancelled: true, answer: trace.answer ?? null, finalText: trace.final_text ?? null, trace, stats, state: planner.save() };
}

function summarise(action) {
  if (action.type === 'generate') return { type: 'generate', request_id: action.request_id, role: action.role, max_new_tokens: action.sampling.max_new_tokens };
  return action;
}

async function handleCache(msg) {
  switch (msg.op) {
    case 'has': return hasCached(msg.url);
    case 'delete': return deleteCached(msg.url);
    case 'list': return listCached();
    case 'clear': return clearCache();
    default: throw { kind: 'invalid_argument', message: `unknown cache op ${msg.op}` };
  }
}

const handlers = {
  init: handleInit,
  load: handleLoad,
  templates: handleTemplates,
  generate: handleGenerate,
  solve: handleSolve,
  cache: handleCache,
  extract: async (msg) => { await ensureInit(); return extractAnswer(msg.text) ?? null; },
};

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type === 'cancel') {
    solveCancelled = true;
    engine?.cancel();
    return;
  }
  if (msg.type === 'abort-download') {
    for (const c of downloads.values()) c.abort();
    return;
  }
  const handler = handlers[msg.type];
  if (!handler) {
    post({ id: msg.id, type: 'error', error: { kind: 'invalid_argument', message: `unknown message ${msg.type}` } });
    return;
  }
  try {
    const value = await handler(msg);
    post({ id: msg.id, type: 'result', value });
  } catch (e) {
    post({ id: msg.id, type: 'error', error: toError(e) });
  }
};
