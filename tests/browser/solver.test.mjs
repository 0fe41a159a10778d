// End-to-end tests of the browser solver in headless Chromium (playwright-core + Debian's
// chromium). Run through scripts/test-browser.sh. Environment:
//   CHROMIUM=/usr/bin/chromium   RF_WEBGPU=0 (skip the WebGPU run)   RF_FULL=1 (also an
//   unscripted ReasonFlux run)   RF_QWEN=1 (Qwen2.5-Coder-0.5B on the CPU path: load, time to
//   first token, decode speed)   RF_ONLY=name,name (run only these tests)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from '../../scripts/serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const shots = path.join(here, 'screenshots');
fs.mkdirSync(shots, { recursive: true });
const SMOLLM = path.join(root, 'assets/SmolLM2-135M-Instruct.Q4_1.gguf');
const only = process.env.RF_ONLY ? new Set(process.env.RF_ONLY.split(',')) : null;

const server = createServer();
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
console.log(`server: ${base}`);

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1100, height: 1400 },
});

const results = [];
const figures = {};
const logs = [];
let page;

async function newPage(url) {
  if (page) await page.close();
  page = await context.newPage();
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  await page.goto(base + url);
  await page.waitForSelector('body[data-state=ready]', { timeout: 120_000 });
  return page;
}

async function test(name, fn, { soft = false } = {}) {
  if (only && !only.has(name)) return;
  const t0 = Date.now();
  process.stdout.write(`• ${name} … `);
  try {
    const note = await fn();
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`ok (${secs} s)${note ? ` — ${note}` : ''}`);
    results.push({ name, ok: true });
  } catch (e) {
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`${soft ? 'SOFT-FAIL' : 'FAIL'} (${secs} s): ${e?.message || JSON.stringify(e)}`);
    results.push({ name, ok: soft, soft });
    if (page) await page.screenshot({ path: path.join(shots, `fail-${name}.png`), fullPage: true }).catch(() => {});
    console.log(logs.slice(-15).map((l) => `    ${l}`).join('\n'));
  }
}

function assert(cond, message) { if (!cond) throw new Error(message); }

async function loadSmolLM(p) {
  await p.selectOption('#model', 'smollm2');
  const t0 = Date.now();
  await p.click('#load');
  await p.waitForSelector('#model-status[data-state=loaded], #model-status[data-state=error]', { timeout: 300_000 });
  const state = await p.getAttribute('#model-status', 'data-state');
  if (state !== 'loaded') throw new Error(`model did not load: ${await p.textContent('#error')}`);
  return Date.now() - t0;
}

async function solve(p, { problem, strategy, maxTokens, timeout = 300_000 }) {
  await p.fill('#problem', problem);
  await p.selectOption('#strategy', strategy);
  await p.fill('#max-tokens', String(maxTokens));
  await p.evaluate(() => { delete document.getElementById('stream').dataset.done; });
  await p.click('#solve-btn');
  await p.waitForSelector('#stream[data-done]', { timeout });
  return p.evaluate(() => ({
    done: document.getElementById('stream').dataset.done,
    text: document.getElementById('stream').textContent,
    tokens: Number(document.getElementById('stream').dataset.tokens || 0),
    answer: document.getElementById('answer').dataset.answer,
    answerShown: !document.getElementById('answer-box').hidden,
    stats: document.getElementById('stats').textContent,
    ttftMs: Number(document.getElementById('stats').dataset.ttftMs || NaN),
    tokensPerS: Number(document.getElementById('stats').dataset.tokensPerS || NaN),
    error: document.getElementById('error').hidden ? null : document.getElementById('error').dataset.kind,
  }));
}

// ---------------------------------------------------------------------------------------------

await test('page-loads', async () => {
  const p = await newPage('/?backend=cpu');
  const b = await p.evaluate(() => ({ ...document.getElementById('backend').dataset, text: document.getElementById('backend').textContent }));
  assert(b.backend === 'cpu', `backend is ${b.backend}`);
  const gpu = await p.evaluate(async () => {
    if (!navigator.gpu) return { api: false };
    const a = await navigator.gpu.requestAdapter();
    return { api: true, adapter: !!a, info: a ? { vendor: a.info?.vendor, architecture: a.info?.architecture, description: a.info?.description, fallback: a.info?.isFallbackAdapter ?? a.isFallbackAdapter } : null, f16: a ? a.features.has('shader-f16') : false };
  });
  figures.webgpu = gpu;
  const caps = await p.evaluate(() => window.rfCaps);
  assert(caps.adapter === !!gpu.adapter, 'the engine pre-flight and the page disagree about the adapter');
  await p.waitForFunction(() => Number(document.getElementById('trajectory').dataset.templates) > 0, null, { timeout: 30_000 });
  const pick = await p.evaluate(() => ({ model: document.getElementById('model').value, strategy: document.getElementById('strategy').value, why: document.getElementById('pick-note').textContent }));
  assert(pick.model === 'qwen-coder' && pick.strategy === 'direct' && /Qwen2\.5-Coder-0\.5B.*direct chain-of-thought/.test(pick.why), `default pick: ${JSON.stringify(pick)}`);
  await p.screenshot({ path: path.join(shots, '01-page.png'), fullPage: true });
  return `WebGPU adapter: ${gpu.adapter ? `yes (${JSON.stringify(gpu.info)}, shader-f16 ${gpu.f16})` : 'no'}; ${b.text}`;
});

await test('renderer-escapes-html', async () => {
  const r = await page.evaluate(async () => {
    const { renderMathText } = await import('/render.js');
    const d = document.createElement('div');
    document.body.append(d);
    renderMathText(d, 'Look: <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> <b>bold</b> and $x^2+1$ and $\\href{javascript:alert(1)}{y}$ so \\boxed{42}');
    await new Promise((res) => setTimeout(res, 300));
    const out = { elements: d.querySelectorAll('img,script,b,a').length, text: d.textContent, katex: d.querySelectorAll('.katex').length, pwned: window.__pwned ?? null };
    d.remove();
    return out;
  });
  assert(r.elements === 0, `HTML elements were created: ${r.elements}`);
  assert(r.text.includes('<img src=x'), 'the markup is not shown as text');
  assert(r.katex >= 2, 'math was not rendered with KaTeX');
  assert(r.pwned === null, 'injected script ran');
  return `${r.katex} KaTeX nodes, markup kept as text`;
});

await test('download-cache', async () => {
  const r = await page.evaluate(async () => {
    const c = await import('/cache.js');
    const out = {};
    const kind = (p) => p.then(() => 'ok', (e) => e.kind);
    out.interrupted = await kind(c.downloadFiles([{ url: '/__test/interrupt/a.bin' }]));
    out.interruptedCached = await c.hasCached(new URL('/__test/interrupt/a.bin', location.href).href) || await c.hasCached('/__test/interrupt/a.bin');
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 300);
    out.aborted = await kind(c.downloadFiles([{ url: '/__test/slow/b.bin' }], { signal: ctrl.signal }));
    out.abortedCached = await c.hasCached('/__test/slow/b.bin');
    out.integrity = await kind(c.downloadFiles([{ url: '/templates.rfb', sha256: '0'.repeat(64) }]));
    out.integrityCached = await c.hasCached('/templates.rfb');
    out.notFound = await kind(c.downloadFiles([{ url: '/nope.gguf' }]));
    const progress = [];
    const [bytes] = await c.downloadFiles([{ url: '/templates.rfb' }], { onProgress: (p) => progress.push(p) });
    out.size = bytes.length;
    out.lastProgress = progress[progress.length - 1];
    out.cachedAfter = await c.hasCached('/templates.rfb');
    const again = [];
    await c.downloadFiles([{ url: '/templates.rfb' }], { onProgress: (p) => again.push(p) });
    out.fromCache = again[again.length - 1].fromCache;
    out.deleted = await c.deleteCached('/templates.rfb');
    out.cachedAfterDelete = await c.hasCached('/templates.rfb');
    return out;
  });
  assert(r.interrupted === 'network' && !r.interruptedCached, `interrupted: ${JSON.stringify(r)}`);
  assert(r.aborted === 'aborted' && !r.abortedCached, `aborted: ${JSON.stringify(r)}`);
  assert(r.integrity === 'integrity' && !r.integrityCached, `integrity: ${JSON.stringify(r)}`);
  assert(r.notFound === 'not_found', `404: ${r.notFound}`);
  assert(r.cachedAfter && r.fromCache && r.deleted && !r.cachedAfterDelete, `cache helpers: ${JSON.stringify(r)}`);
  assert(r.lastProgress.totalLoaded === r.size && /Fetching weights 1\/1/.test(r.lastProgress.text), `progress: ${JSON.stringify(r.lastProgress)}`);
  return `progress text “${r.lastProgress.text}”`;
});

await test('wasm-api', async () => {
  // The exports used directly (a second module instance in the page): planner save/restore,
  // typed protocol errors, template search, answer extraction.
  const r = await page.evaluate(async () => {
    const m = await import('/pkg/rf_wasm.js');
    await m.default();
    const p = m.Planner.start({ strategy: 'direct', config: { sampling: { max_new_tokens: 16 } } }, 'What is 1 + 1?');
    const a1 = p.nextAction();
    const restored = m.Planner.restore(p.save());
    const a2 = restored.nextAction();
    let wrong = null;
    try { restored.feed({ type: 'generated', request_id: a2.request_id + 7, text: 'x', tokens_in: 1, tokens_out: 1 }); } catch (e) { wrong = e; }
    restored.feed(JSON.stringify({ type: 'generated', request_id: a2.request_id, text: 'So 1 + 1 = \\boxed{2}.', tokens_in: 5, tokens_out: 6 }));
    const done = restored.nextAction();
    const trace = JSON.parse(restored.trace());
    const bundle = new Uint8Array(await (await fetch('/templates.rfb')).arrayBuffer());
    const t = m.Templates.load(bundle);
    const hits = t.search('sum of an arithmetic series', 3);
    // Cards need the worked examples, the bundle's second file.
    const examples = { has: t.hasExamples };
    try { t.retrieve('sum of an arithmetic series', 2); } catch (e) { examples.early = e; }
    try { t.attachExamples(bundle); } catch (e) { examples.wrongFile = e; }
    t.attachExamples(new Uint8Array(await (await fetch('/templates.examples.rfb')).arrayBuffer()));
    examples.cards = t.retrieve('sum of an arithmetic series', 2);
    examples.after = t.hasExamples;
    // The worker finds them by the rule the CLI writes them with.
    examples.names = ['templates.rfb', 'library.v2.bin', 'bundle'].map(m.examplesFileName);
    let bad = null;
    try { m.Templates.load(bundle.slice(0, 100)); } catch (e) { bad = e; }
    let badSpec = null;
    try { m.Planner.start('nonsense', 'x'); } catch (e) { badSpec = e; }
    let typo = null;
    try { m.Planner.start({ strategy: 'reasonflux', config: { max_round: 8 } }, 'x'); } catch (e) { typo = e; }
    const guided = m.Planner.start('guided', 'What is the sum of an arithmetic series 1 + 2 + ... + 10?').nextAction();
    // The worker's feeding rules, in Rust: a fatal error is thrown back, any other is fed.
    const q = m.Planner.start({ strategy: 'direct', max_new_tokens: 64 }, 'What is 2 + 2?');
    const q1 = q.nextAction();
    let fatal = null;
    try { q.feedError({ kind: 'device_lost', message: 'gone', fatal: true }); } catch (e) { fatal = e; }
    const qSame = q.nextAction();
    q.feedError({ kind: 'prompt_too_long', message: 'too long', fatal: false });
    const q2 = q.nextAction();
    q.feedGenerated({ text: 'So \\boxed{4}.', prompt_tokens: 30, tokens_out: 5, truncated: false });
    const qDone = q.nextAction();
    const feeding = { budget: q1.sampling.max_new_tokens, fatal, same: qSame.request_id === q1.request_id, next: q2.request_id !== q1.request_id, answer: qDone.answer };
    return { a1, a2, wrong, done, traceAnswer: trace.answer, size: t.size, hits, examples, bad, badSpec, typo, guided, feeding, extracted: m.extractAnswer('thus \\boxed{\\frac{1}{2}}'), caps: await m.capabilities() };
  });
  assert(r.a1.type === 'generate' && JSON.stringify(r.a1) === JSON.stringify(r.a2), 'restore changed the pending action');
  assert(r.wrong?.kind === 'planner', `wrong request id gave ${JSON.stringify(r.wrong)}`);
  assert(r.done.type === 'done' && r.done.answer === '2' && r.traceAnswer === '2', `done: ${JSON.stringify(r.done)}`);
  assert(r.size > 100 && r.hits.length === 3 && r.hits[0].name, `templates: ${r.size}, ${JSON.stringify(r.hits[0])}`);
  const ex = r.examples;
  assert(!ex.has && ex.early?.kind === 'retrieval' && /worked examples/.test(ex.early.message), `cards before the examples: ${JSON.stringify(ex.early)}`);
  assert(ex.wrongFile?.kind === 'bad_bundle' && ex.after && ex.cards.length === 2 && /^Problem:/.test(ex.cards[0].example),
    `examples: ${JSON.stringify({ wrong: ex.wrongFile, after: ex.after, card: ex.cards[0] })}`);
  assert(ex.names.join() === 'templates.examples.rfb,library.v2.examples.rfb,bundle.examples.rfb', `examples file names: ${ex.names}`);
  assert(r.bad?.kind === 'bad_bundle' && r.badSpec?.kind === 'invalid_argument', `errors: ${JSON.stringify([r.bad, r.badSpec])}`);
  assert(/guided, best-of-n, mcts/.test(r.badSpec.message), `unknown strategy message: ${r.badSpec.message}`);
  assert(r.typo?.kind === 'invalid_argument' && /max_round/.test(r.typo.message), `typo: ${JSON.stringify(r.typo)}`);
  assert(r.guided.type === 'retrieve' && /arithmetic series/.test(r.guided.query), `guided starts with: ${JSON.stringify(r.guided)}`);
  assert(r.extracted === '\\frac{1}{2}', `extractAnswer: ${r.extracted}`);
  const f = r.feeding;
  assert(f.budget === 64 && f.fatal?.kind === 'device_lost' && f.same && f.next && f.answer === '4', `feeding: ${JSON.stringify(f)}`);
  return `${r.size} templates, top hit “${r.hits[0].name}”; caps ${JSON.stringify({ adapter: r.caps.adapter, fallback: r.caps.is_fallback_adapter, f16: r.caps.shader_f16, maxStorage: r.caps.max_storage_buffer_binding_size })}`;
});

await test('dense-retrieval', async () => {
  // The bundle carries template embeddings (scripts/build-wasm.sh builds it with the encoder);
  // the page fetches the sentence encoder only when asked (?retriever=auto), checks and caches it.
  const r = await page.evaluate(async () => {
    const m = await import('/pkg/rf_wasm.js');
    await m.default();
    const t = m.Templates.load(new Uint8Array(await (await fetch('/templates.rfb')).arrayBuffer()));
    const { ENCODER } = await import('/defaults.js');
    const get = async (name) => new Uint8Array(await (await fetch(ENCODER.baseUrl + name)).arrayBuffer());
    const text = (b) => new TextDecoder().decode(b);
    const problem = 'A triangular garden has sides of 13, 14 and 15 meters. How many square meters does it cover?';
    const lexical = t.search(problem, 5).map((h) => h.name);
    let noEncoder = null;
    try { t.useEncoder('lexical', '{}', new Uint8Array(), new Uint8Array(), 1); } catch (e) { noEncoder = e; }
    const maxSeq = JSON.parse(text(await get('sentence_bert_config.json'))).max_seq_length;
    const t0 = performance.now();
    t.useEncoder('auto', text(await get('config.json')), await get('model.safetensors'), await get('tokenizer.json'), maxSeq);
    const loadMs = performance.now() - t0;
    t.search(problem, 5);
    // The median of 7 queries: one is at the mercy of whatever else the machine does.
    const times = [];
    let dense = [];
    for (let i = 0; i < 7; i++) {
      const t1 = performance.now();
      dense = t.search(problem, 5).map((h) => h.name);
      times.push(performance.now() - t1);
    }
    const searchMs = times.sort((a, b) => a - b)[3];
    return { has: t.hasEmbeddings, retriever: t.retriever, lexical, dense, noEncoder, loadMs, searchMs };
  });
  assert(r.has && r.retriever === 'auto', `bundle embeddings ${r.has}, retriever ${r.retriever}`);
  assert(r.noEncoder?.kind === 'invalid_argument', `lexical useEncoder: ${JSON.stringify(r.noEncoder)}`);
  assert(r.dense.some((n) => /Heron/.test(n)), `dense top 5 for the garden: ${r.dense.join(' | ')}`);
  const p = await newPage('/?backend=cpu&retriever=auto');
  await p.waitForFunction(() => document.getElementById('trajectory').dataset.retriever === 'auto', null, { timeout: 60_000 });
  figures.denseSearchMs = Math.round(r.searchMs);
  return `dense top hit “${r.dense[0]}” (lexical: “${r.lexical[0] ?? 'none'}”); encoder built in ${Math.round(r.loadMs)} ms, one problem query ${r.searchMs.toFixed(1)} ms (median of 7); the page loaded it with ?retriever=auto`;
});

await test('bad-model-url', async () => {
  await page.selectOption('#model', 'url');
  await page.fill('#model-url', '/assets/does-not-exist.gguf');
  await page.click('#load');
  await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
  const kind = await page.getAttribute('#error', 'data-kind');
  await page.screenshot({ path: path.join(shots, '02-bad-url.png'), fullPage: true });
  assert(kind === 'not_found', `error kind ${kind}`);
  return `error kind ${kind}: ${(await page.textContent('#error')).slice(0, 120)}`;
});

await test('corrupt-model-file', async () => {
  const kinds = [];
  const garbage = Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0]), Buffer.alloc(4096, 0xab)]);
  const truncated = Buffer.alloc(4 << 20);
  const fd = fs.openSync(SMOLLM, 'r');
  fs.readSync(fd, truncated, 0, truncated.length, 0);
  fs.closeSync(fd);
  for (const [name, buffer] of [['corrupt.gguf', garbage], ['truncated.gguf', truncated]]) {
    await page.evaluate(() => { const e = document.getElementById('error'); e.hidden = true; e.dataset.kind = ''; });
    await page.selectOption('#model', 'files');
    await page.setInputFiles('#model-files', { name, mimeType: 'application/octet-stream', buffer });
    await page.click('#load');
    await page.waitForSelector('#error:not([hidden])', { timeout: 60_000 });
    kinds.push(await page.getAttribute('#error', 'data-kind'));
  }
  await page.screenshot({ path: path.join(shots, '03-corrupt-file.png'), fullPage: true });
  assert(kinds.every((k) => k === 'invalid_model'), `error kinds ${kinds}`);
  return `error kinds ${kinds.join(', ')}`;
});

await test('smollm2-loads-cpu', async () => {
  await page.evaluate(() => { document.getElementById('error').hidden = true; });
  const ms = await loadSmolLM(page);
  figures.loadMs = ms;
  await page.screenshot({ path: path.join(shots, '04-loaded.png'), fullPage: true });
  return `${(ms / 1000).toFixed(1)} s: ${await page.textContent('#model-status')}`;
});

await test('direct-run', async () => {
  const r = await solve(page, { problem: 'What is 2 + 3? Put the final answer in \\boxed{}.', strategy: 'direct', maxTokens: 24 });
  await page.screenshot({ path: path.join(shots, '05-direct.png'), fullPage: true });
  assert(r.done === 'done', `finished as ${r.done} (error ${r.error})`);
  assert(r.tokens > 0 && r.text.trim().length > 0, 'no streamed text');
  figures.direct = { ttftMs: r.ttftMs, tokensPerS: r.tokensPerS, tokens: r.tokens };
  return `answer ${r.answer || '(none)'}; ${r.stats}`;
});

await test('guided-run', async () => {
  const r = await solve(page, { problem: 'What is the sum of the first 10 positive integers?', strategy: 'guided', maxTokens: 24 });
  assert(r.done === 'done', `finished as ${r.done} (error ${r.error})`);
  assert(r.tokens > 0, 'no streamed text');
  return `answer ${r.answer || '(none)'}; ${r.stats}`;
});

await test('stop-and-reuse', async () => {
  await page.fill('#problem', 'Write a long, detailed essay about the history of numbers, at least 500 words.');
  await page.selectOption('#strategy', 'direct');
  await page.fill('#max-tokens', '400');
  await page.evaluate(() => { delete document.getElementById('stream').dataset.done; });
  await page.click('#solve-btn');
  await page.waitForFunction(() => Number(document.getElementById('stream').dataset.tokens || 0) >= 3, null, { timeout: 180_000 });
  // Measured in the page: from the click handler to the end of the run, and tokens streamed
  // after the click (Playwright's own click latency is not the engine's).
  await page.evaluate(() => {
    const stream = document.getElementById('stream');
    document.getElementById('stop').addEventListener('click', () => { window.__stopAt = performance.now(); window.__tokensAtClick = Number(stream.dataset.tokens || 0); }, { once: true });
    new MutationObserver((_, obs) => { if (stream.dataset.done) { window.__doneAt = performance.now(); obs.disconnect(); } }).observe(stream, { attributes: true });
  });
  await page.click('#stop');
  await page.waitForSelector('#stream[data-done]', { timeout: 60_000 });
  const done = await page.getAttribute('#stream', 'data-done');
  const tokensAtStop = Number(await page.getAttribute('#stream', 'data-tokens'));
  const m = await page.evaluate(() => ({ ms: window.__doneAt - window.__stopAt, atClick: window.__tokensAtClick }));
  const stopMs = Math.round(m.ms);
  const extra = tokensAtStop - m.atClick;
  assert(extra <= 2, `${extra} tokens streamed after the stop click`);
  assert(done === 'cancelled', `ended as ${done}`);
  assert(tokensAtStop < 400, 'generation was not cut short');
  await page.screenshot({ path: path.join(shots, '06-stopped.png'), fullPage: true });
  const again = await solve(page, { problem: 'What is 10 - 4?', strategy: 'direct', maxTokens: 8 });
  assert(again.done === 'done' && again.tokens > 0 && again.text.trim().length > 0, `engine unusable after stop: ${JSON.stringify(again)}`);
  return `stopped after ${tokensAtStop} tokens (${extra} after the click), run ended ${stopMs} ms after the click; next run produced ${again.tokens} tokens`;
});

await test('injected-html-in-model-output', async () => {
  const r = await solve(page, { problem: 'Repeat exactly, character for character: <img src=x onerror="window.__pwned=1"><b>bold</b>', strategy: 'direct', maxTokens: 24 });
  const check = await page.evaluate(() => ({
    elements: document.querySelectorAll('#stream img, #stream b, #stream script, #trajectory img, #trajectory b, #answer img').length,
    pwned: window.__pwned ?? null,
  }));
  assert(check.elements === 0 && check.pwned === null, `model output became HTML: ${JSON.stringify(check)}`);
  return `model wrote ${JSON.stringify(r.text.slice(0, 80))}; no elements created`;
});

await test('plan-fallback-shown', async () => {
  // Three unreadable plans: the run falls back to direct chain-of-thought, and the page must
  // say so instead of presenting it as a ReasonFlux run.
  await page.evaluate(() => { window.rfNavigatorScript = ['no plan', 'still no plan', 'none']; });
  const r = await solve(page, { problem: 'What is 4 + 4?', strategy: 'reasonflux', maxTokens: 16 });
  await page.evaluate(() => { delete window.rfNavigatorScript; });
  const banner = await page.evaluate(() => document.querySelector('#trajectory .fallback')?.textContent ?? null);
  assert(r.done === 'done', `finished as ${r.done} (error ${r.error})`);
  assert(banner && /not a ReasonFlux run/.test(banner), `no fallback banner: ${banner}`);
  return `banner “${banner.slice(0, 60)}…”`;
});

await test('budget-ran-out', async () => {
  // Two tokens per generation cannot reach an answer: the page says the budget ran out and
  // offers twice the budget instead of showing a partial answer.
  const r = await solve(page, { problem: 'Compute 123 * 45 and explain each step in detail.', strategy: 'direct', maxTokens: 2 });
  const box = await page.evaluate(() => ({ hidden: document.getElementById('budget-box').hidden, text: document.getElementById('budget-text').textContent, button: !document.getElementById('continue-btn').hidden }));
  assert(r.done === 'done' && !r.answerShown, `answer shown from a cut-off generation: ${JSON.stringify(r)}`);
  assert(!box.hidden && /token budget \(2 tokens/.test(box.text) && box.button, `budget notice: ${JSON.stringify(box)}`);
  return box.text;
});

await test('reasonflux-scripted-navigator', async () => {
  // The navigator's plan and evaluation come from a script (SmolLM2 rarely writes valid plan
  // JSON); retrieval, instantiation and the final solution are real.
  await page.evaluate(() => {
    window.rfNavigatorScript = [
      JSON.stringify({ steps: [{ template: 'Sum of an arithmetic series', tags: ['arithmetic series', 'Gauss sum'], sub_goal: 'Add 1 + 2 + ... + 10 with n(n+1)/2' }] }),
      JSON.stringify({ decision: 'continue', reason: 'the formula applies' }),
    ];
  });
  const r = await solve(page, { problem: 'What is the sum of the first 10 positive integers?', strategy: 'reasonflux', maxTokens: 24, timeout: 600_000 });
  await page.evaluate(() => { delete window.rfNavigatorScript; });
  await page.screenshot({ path: path.join(shots, '07-reasonflux.png'), fullPage: true });
  const t = await page.evaluate(() => ({
    steps: document.querySelectorAll('#trajectory .step').length,
    template: document.querySelector('#trajectory .template-name')?.textContent,
    tags: [...document.querySelectorAll('#trajectory .attempt .tag')].map((e) => e.textContent),
    decision: document.querySelector('#trajectory .evaluation')?.dataset.decision,
    rounds: Number(document.querySelector('#trajectory .totals')?.dataset.rounds),
    plan: document.querySelectorAll('#trajectory .plan').length,
    live: document.getElementById('live').textContent,
  }));
  assert(r.done === 'done', `finished as ${r.done} (error ${r.error})`);
  assert(t.plan === 1 && t.steps === 1 && t.template && t.tags.length > 0, `trajectory: ${JSON.stringify(t)}`);
  assert(t.decision === 'continue' && t.rounds >= 1, `evaluation/rounds: ${JSON.stringify(t)}`);
  assert(r.text.trim().length > 0, 'no final solution text');
  figures.reasonflux = { ttftMs: r.ttftMs, tokensPerS: r.tokensPerS };
  return `template “${t.template}” [${t.tags.join(', ')}], evaluation ${t.decision}, ${t.rounds} round(s), answer ${r.answer || '(none)'}; aria-live “${t.live}”`;
});

if (process.env.RF_FULL === '1') {
  await test('reasonflux-real-navigator', async () => {
    const r = await solve(page, { problem: 'What is 3 times 4?', strategy: 'reasonflux', maxTokens: 48, timeout: 600_000 });
    await page.screenshot({ path: path.join(shots, '08-reasonflux-real.png'), fullPage: true });
    assert(r.done === 'done', `finished as ${r.done}`);
    const t = await page.textContent('#trajectory');
    assert(t.length > 0, 'no trajectory');
    return `answer ${r.answer || '(none)'}; ${t.slice(0, 160)}`;
  });
}

if (process.env.RF_QWEN === '1') {
  await test('qwen-cpu-speed', async () => {
    const p = await newPage('/?backend=cpu');
    await p.selectOption('#model', 'qwen-coder');
    const t0 = Date.now();
    await p.click('#load');
    await p.waitForSelector('#model-status[data-state=loaded], #model-status[data-state=error]', { timeout: 600_000 });
    assert(await p.getAttribute('#model-status', 'data-state') === 'loaded', `model did not load: ${await p.textContent('#error')}`);
    const loadMs = Date.now() - t0;
    const r = await p.evaluate(() => window.rfClient.generate('What is 15 + 27?', { max_new_tokens: 32, temperature: 0 }, () => {}));
    assert(r.tokens_out > 0, 'no tokens');
    figures.qwen = { loadMs, ttftMs: r.ttft_ms, tokensPerS: r.tokens_per_s, status: await p.textContent('#model-status') };
    page = p;
    return `load ${(loadMs / 1000).toFixed(1)} s, TTFT ${(r.ttft_ms / 1000).toFixed(2)} s, ${r.tokens_per_s.toFixed(2)} tokens/s, text ${JSON.stringify(r.text)}`;
  });
}

await test('widget', async () => {
  await page.close();
  page = await context.newPage();
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  await page.goto(`${base}/demo-widget.html`);
  await page.evaluate(() => {
    const w = document.querySelector('reasonflux-solver');
    w.setAttribute('model', '/assets/SmolLM2-135M-Instruct.Q4_1.gguf');
    w.setAttribute('strategy', 'direct');
    w.setAttribute('max-tokens', '12');
    w.setAttribute('backend', 'cpu');
    w.setAttribute('problem', 'What is 6 + 1?');
  });
  // Keyboard only: focus the problem field inside the shadow root, Ctrl+Enter solves.
  await page.locator('reasonflux-solver textarea').focus();
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => (window.rfEvents || []).some((e) => e.type === 'answer' || e.type === 'error'), null, { timeout: 300_000 });
  const ev = await page.evaluate(() => window.rfEvents);
  await page.screenshot({ path: path.join(shots, '09-widget.png'), fullPage: true });
  const types = new Set(ev.map((e) => e.type));
  assert(!types.has('error'), `widget error: ${JSON.stringify(ev.find((e) => e.type === 'error'))}`);
  assert(types.has('progress') && types.has('step') && types.has('answer'), `events: ${[...types]}`);
  const live = await page.locator('reasonflux-solver #live').textContent();
  const stream = await page.locator('reasonflux-solver #stream').textContent();
  assert(live.length > 0 && stream.length > 0, 'no aria-live update or output');
  return `events ${[...types].join(', ')}; aria-live “${live}”`;
});

if (process.env.RF_WEBGPU !== '0' && figures.webgpu?.adapter) {
  await test('webgpu-run', async () => {
    const p = await newPage('/?backend=webgpu');
    const backend = await p.getAttribute('#backend', 'data-backend');
    assert(backend === 'webgpu', `backend ${backend}`);
    const ms = await loadSmolLM(p);
    const r = await p.evaluate(() => window.rfClient.generate('What is 2 + 2?', { max_new_tokens: 6 }, () => {}));
    await p.screenshot({ path: path.join(shots, '10-webgpu.png'), fullPage: true });
    assert(r.tokens_out > 0, 'no tokens');
    figures.webgpuRun = { loadMs: ms, ttftMs: r.ttft_ms, tokensPerS: r.tokens_per_s, tokens: r.tokens_out, text: r.text };
    return `load ${(ms / 1000).toFixed(1)} s, TTFT ${(r.ttft_ms / 1000).toFixed(2)} s, ${r.tokens_per_s.toFixed(2)} tokens/s, text ${JSON.stringify(r.text)}`;
  }, { soft: true });
}

await context.close();
server.close();
fs.rmSync(userDataDir, { recursive: true, force: true });

console.log('\nFigures (headless Chromium):');
console.log(`  WebGPU adapter offered: ${figures.webgpu?.adapter ? 'yes' : 'no'}${figures.webgpu?.info ? ` ${JSON.stringify(figures.webgpu.info)}` : ''}`);
if (figures.loadMs) console.log(`  SmolLM2 load (CPU, incl. download from localhost): ${(figures.loadMs / 1000).toFixed(1)} s`);
if (figures.direct) console.log(`  CPU direct run: time to first token ${(figures.direct.ttftMs / 1000).toFixed(2)} s, decode ${figures.direct.tokensPerS.toFixed(2)} tokens/s`);
if (figures.qwen) console.log(`  Qwen2.5-Coder-0.5B on CPU: load ${(figures.qwen.loadMs / 1000).toFixed(1)} s, time to first token ${(figures.qwen.ttftMs / 1000).toFixed(2)} s, decode ${figures.qwen.tokensPerS.toFixed(2)} tokens/s (${figures.qwen.status})`);
if (figures.denseSearchMs != null) console.log(`  Dense template search (CPU, one problem query incl. embedding): ${figures.denseSearchMs} ms`);
if (figures.webgpuRun) console.log(`  WebGPU (SwiftShader) run: time to first token ${(figures.webgpuRun.ttftMs / 1000).toFixed(2)} s, decode ${figures.webgpuRun.tokensPerS.toFixed(2)} tokens/s`);
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length}/${results.length} passed${results.some((r) => r.soft) ? ' (soft failures count as passed)' : ''}`);
process.exit(failed.length ? 1 : 0);
