// The solver page: model picker and loading, problem input, the ReasonFlux trajectory as it
// unfolds, the streamed solution (text + KaTeX), the final answer, stop, tokens/s.
import { SolverClient, absoluteModel } from './client.js';
import { renderMathText, renderAnswer } from './render.js';
import { renderTrajectory, traceSummary } from './trajectory.js';
import { storageEstimate, formatBytes } from './cache.js';
import { ENCODER, MODELS, pickDefaults } from './defaults.js';


const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const client = new SolverClient();
window.rfClient = client; // for tests and the console

const ui = {
  setState(state) { document.body.dataset.state = state; },
  showError(error) {
    const box = $('error');
    box.hidden = false;
    box.dataset.kind = error.kind;
    const title = document.createElement('strong');
    title.textContent = ERROR_TITLES[error.kind] || 'Error';
    const kind = document.createElement('code');
    kind.textContent = error.kind;
    const msg = document.createElement('p');
    msg.textContent = error.message;
    box.replaceChildren(title, ' ', kind, msg);
  },
  clearError() { const box = $('error'); box.hidden = true; box.dataset.kind = ''; box.replaceChildren(); },
  progress(p) {
    if (p.fraction != null) $('progress').value = p.fraction; else $('progress').removeAttribute('value');
    if (p.text) $('progress-text').textContent = p.text;
  },
};

const ERROR_TITLES = {
  not_found: 'The model file was not found',
  http: 'The server refused the download',
  network: 'The download failed',
  aborted: 'Download cancelled',
  integrity: 'The downloaded file is damaged (checksum mismatch)',
  quota: 'Not enough storage to cache the model',
  invalid_model: 'This file is not a usable model',
  unsupported_model: 'This model is not supported',
  tokenizer: 'The tokenizer could not be loaded',
  device_lost: 'The GPU stopped working',
  no_webgpu: 'WebGPU is not available',
  prompt_too_long: 'The problem is too long for the context',
  not_loaded: 'Load a model first',
  panic: 'The engine crashed and was restarted',
  bad_bundle: 'The template bundle is damaged',
};

let loadedModel = null;
let running = false;

function modelChoice() {
  const v = $('model').value;
  if (v === 'url') {
    const url = $('model-url').value.trim();
    if (!url) throw { kind: 'invalid_argument', message: 'enter a model URL' };
    return { kind: 'url', url };
  }
  if (v === 'files') {
    const files = [...$('model-files').files];
    if (!files.length) throw { kind: 'invalid_argument', message: 'pick model files' };
    return { kind: 'files', files };
  }
  return { ...MODELS[v] };
}

/** Applies the measured default model and strategy, unless the URL chose them. */
function applyDefaults(caps) {
  const pick = pickDefaults(caps, navigator.deviceMemory);
  if (!params.has('model')) $('model').value = pick.model;
  if (!params.has('strategy')) $('strategy').value = pick.strategy;
  $('pick-note').textContent = params.has('model') || params.has('strategy') ? 'Model and strategy as the URL asked.' : pick.why;
}

async function start() {
  for (const [k, v] of params) {
    if (k === 'model' && $('model').querySelector(`option[value="${CSS.escape(v)}"]`)) $('model').value = v;
    if (k === 'backend') $('backend-choice').value = v;
    if (k === 'strategy') $('strategy').value = v;
    if (k === 'max_tokens') $('max-tokens').value = v;
    if (k === 'problem') $('problem').value = v;
  }
  try { navigator.storage?.persist?.(); } catch { /* optional */ }
  await initBackend();
  applyDefaults(window.rfCaps);
  syncModelRows();
  const retriever = params.get('retriever') || 'lexical';
  const onProgress = retriever === 'lexical' ? undefined : (p) => { $('progress-text').textContent = p.text || ''; };
  client.loadTemplates(params.get('templates') || 'templates.rfb', onProgress, { retriever, encoder: ENCODER }).then(
    (t) => {
      $('trajectory').dataset.templates = t.size;
      $('trajectory').dataset.retriever = t.retriever;
      if (t.warning) $('progress-text').textContent = t.warning;
    },
    (e) => ui.showError(e));
  const est = await storageEstimate();
  if (est?.quota) $('progress-text').textContent = `Storage: ${formatBytes(est.usage)} used of ${formatBytes(est.quota)} available.`;
  ui.setState('ready');
}

async function initBackend() {
  const { caps, device, version } = await client.init($('backend-choice').value);
  const b = $('backend');
  b.dataset.backend = device.backend;
  b.dataset.adapter = caps.adapter ? 'yes' : 'no';
  let text = device.backend === 'webgpu'
    ? `WebGPU: ${[caps.vendor, caps.architecture, caps.description].filter(Boolean).join(' ') || 'adapter'}${caps.is_fallback_adapter ? ' (software fallback adapter)' : ''}${caps.shader_f16 ? ', shader-f16' : ', f32 only'}, max storage binding ${formatBytes(caps.max_storage_buffer_binding_size)}`
    : `CPU (WebAssembly)${device.webgpu_error ? ` — WebGPU unavailable: ${device.webgpu_error}` : ''}`;
  b.textContent = `Backend: ${text} · engine ${version}`;
  window.rfCaps = caps;
  return device;
}

async function loadModel() {
  ui.clearError();
  let model;
  try { model = modelChoice(); } catch (e) { ui.showError(e); return; }
  $('load').disabled = true;
  $('solve-btn').disabled = true;
  $('abort-download').disabled = false;
  $('model-status').dataset.state = 'loading';
  $('model-status').textContent = 'Loading…';
  ui.setState('loading');
  try {
    if ($('backend-choice').value !== $('backend').dataset.backend && $('backend-choice').value !== 'auto') await initBackend();
    const info = await client.load(absoluteModel(model), { contextLen: Number($('context').value) || 2048, onProgress: ui.progress });
    loadedModel = info;
    $('model-status').dataset.state = 'loaded';
    $('model-status').textContent = `Loaded ${info.architecture} model: ${info.layers} layers, hidden ${info.hidden_size}, vocabulary ${info.vocab_size}, context ${info.context_len} on ${info.backend.toUpperCase()} (build ${Math.round(info.load_ms)} ms, warm-up ${Math.round(info.warmup_ms)} ms).`;
    $('progress').value = 1;
    $('progress-text').textContent = 'Model ready.';
    $('solve-btn').disabled = false;
  } catch (e) {
    loadedModel = null;
    $('model-status').dataset.state = 'error';
    $('model-status').textContent = 'No model loaded.';
    ui.showError(e);
  } finally {
    $('load').disabled = false;
    $('abort-download').disabled = true;
    ui.setState('ready');
  }
}

/** The strategy as the planner reads it: the name, the URL's overrides, one budget per generation. */
function strategySpec() {
  if (params.get('spec')) return JSON.parse(params.get('spec'));
  const name = $('strategy').value;
  const config = {};
  if (name === 'reasonflux' && params.has('plan_steps')) config.max_plan_steps = Number(params.get('plan_steps'));
  if (name === 'reasonflux' && params.has('max_rounds')) config.max_rounds = Number(params.get('max_rounds'));
  return { strategy: name, config, max_new_tokens: Number($('max-tokens').value) || 512 };
}

async function solve() {
  if (running) return;
  ui.clearError();
  running = true;
  ui.setState('solving');
  $('solve-btn').disabled = true;
  $('stop').disabled = false;
  $('answer-box').hidden = true;
  $('budget-box').hidden = true;
  $('answer').dataset.answer = '';
  $('stats').textContent = '';
  $('trajectory').replaceChildren();
  const stream = $('stream');
  let text = '';
  let role = '';
  let frame = 0;
  let tokens = 0;
  const t0 = performance.now();
  let firstToken = null;
  let lastFinish = null;
  const paint = () => { frame = 0; renderMathText(stream, text); };
  const onEvent = (m) => {
    if (m.type === 'token') {
      if (m.role !== role || m.requestId !== stream.dataset.request) {
        role = m.role;
        stream.dataset.request = m.requestId;
        text = '';
        $('stream-role').textContent = role === 'navigator' ? 'Navigator (planning / evaluating)' : 'Inference model (carrying out)';
      }
      text += m.token.text;
      tokens++;
      firstToken ??= performance.now();
      stream.dataset.tokens = tokens;
      if (!frame) frame = requestAnimationFrame(paint);
    } else if (m.type === 'trace') {
      renderTrajectory($('trajectory'), m.trace);
      const s = traceSummary(m.trace);
      if (s && s !== $('live').textContent) $('live').textContent = s; // per step, not per token
    } else if (m.type === 'generation' && m.result) {
      lastFinish = m.result.finish_reason;
      showStats(m.result, tokens, firstToken ? firstToken - t0 : null);
    } else if (m.type === 'retrieved') {
      $('live').textContent = `Retrieved ${m.cards.map((c) => c.name).join(', ') || 'no template'} for “${m.query}”`;
    }
  };
  try {
    const max = Number($('max-tokens').value) || 512;
    const navigatorScript = window.rfNavigatorScript ?? (params.get('navigator_script') ? JSON.parse(params.get('navigator_script')) : undefined);
    const r = await client.solve($('problem').value, strategySpec(), { caps: { max_new_tokens: max }, navigatorScript, onEvent });
    if (frame) { cancelAnimationFrame(frame); paint(); }
    renderTrajectory($('trajectory'), r.trace);
    stream.dataset.done = r.cancelled ? 'cancelled' : 'done';
    if (r.finalText && !r.cancelled) { text = r.finalText; paint(); $('stream-role').textContent = 'Final solution'; }
    const fellBack = r.trace?.flags?.direct_fallback;
    if (r.answer) {
      $('answer-box').hidden = false;
      $('answer').dataset.answer = r.answer;
      renderAnswer($('answer'), r.answer);
      $('live').textContent = `Final answer: ${r.answer}${fellBack ? ' (by direct chain-of-thought: the plan could not be read)' : ''}`;
    } else if (!r.cancelled && r.trace?.flags?.budget_ran_out) {
      showBudgetOut(lastFinish, max);
    } else {
      $('live').textContent = r.cancelled ? 'Stopped.' : 'Finished without a final answer.';
    }
    const st = r.stats;
    $('stats').dataset.ttftMs = st.ttftMs ?? '';
    $('stats').dataset.tokensPerS = st.tokensPerS ?? '';
    $('stats').textContent = `${r.cancelled ? 'Stopped' : 'Done'} · ${st.generations} generations · ${st.tokens} tokens · first token ${st.ttftMs != null ? (st.ttftMs / 1000).toFixed(2) + ' s' : '—'} · ${st.tokensPerS ? st.tokensPerS.toFixed(1) : '—'} tokens/s · prefill ${st.prefillTokensPerS ? st.prefillTokensPerS.toFixed(0) : '—'} tokens/s · ${$('backend').dataset.backend}`;
  } catch (e) {
    stream.dataset.done = 'error';
    ui.showError(e);
  } finally {
    running = false;
    $('stop').disabled = true;
    $('solve-btn').disabled = !loadedModel;
    ui.setState('ready');
  }
}

/** The last generation ran out of room before its answer: say so and offer a bigger budget. */
function showBudgetOut(finish, max) {
  const why = finish === 'context_full'
    ? `The model's context (${$('context').value} tokens) filled up before the final answer.`
    : `The token budget (${max} tokens per generation) ran out before the final answer.`;
  $('budget-text').textContent = `${why} No answer was given. `;
  $('continue-btn').hidden = finish === 'context_full' || max >= Number($('max-tokens').max);
  $('budget-box').hidden = false;
  $('live').textContent = why;
}

function showStats(r, tokens, ttft) {
  $('stats').textContent = `${tokens} tokens · ${r.tokens_per_s ? r.tokens_per_s.toFixed(1) : '—'} tokens/s · first token ${((r.ttft_ms) / 1000).toFixed(2)} s · ${r.backend}`;
}

function syncModelRows() {
  $('url-row').hidden = $('model').value !== 'url';
  $('files-row').hidden = $('model').value !== 'files';
}

$('model').addEventListener('change', syncModelRows);
$('load').addEventListener('click', loadModel);
$('continue-btn').addEventListener('click', () => {
  const input = $('max-tokens');
  input.value = String(Math.min(Number(input.max), (Number(input.value) || 512) * 2));
  solve();
});
$('solve-btn').addEventListener('click', solve);
$('stop').addEventListener('click', () => { client.cancel(); $('stop').disabled = true; $('live').textContent = 'Stopping…'; });
$('abort-download').addEventListener('click', () => client.abortDownload());
$('clear-cache').addEventListener('click', async () => {
  await client.cache('clear');
  $('progress-text').textContent = 'Cached models deleted.';
});
$('backend-choice').addEventListener('change', async () => {
  if (running) return;
  const d = await initBackend().catch((e) => { ui.showError(e); return null; });
  if (d && loadedModel && d.backend !== loadedModel.backend) {
    loadedModel = null;
    $('solve-btn').disabled = true;
    $('model-status').dataset.state = 'none';
    $('model-status').textContent = 'Backend changed: load the model again.';
  }
});
$('problem').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !$('solve-btn').disabled) solve(); });
client.addEventListener('crash', (e) => {
  ui.showError(e.detail);
  loadedModel = null;
  $('solve-btn').disabled = true;
  $('model-status').dataset.state = 'none';
  $('model-status').textContent = 'The engine restarted: load the model again' + (e.detail.kind === 'device_lost' ? ' (the CPU backend is the safe choice).' : '.');
  if (e.detail.kind === 'device_lost') $('backend-choice').value = 'cpu';
  initBackend().catch(() => {});
});

start().catch((e) => { ui.showError(e); ui.setState('ready'); });
