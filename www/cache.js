// Model downloads with one progress report, kept in the Cache API with SHA-256 integrity.
//
// - downloadFiles(files, {onProgress, signal, cacheName}) -> Uint8Array[]
//   files: [{url, name?, sha256?}]. onProgress gets one object per update, with the file's
//   and the aggregate figures plus a human-readable `text`.
// - An entry is written to the cache only after the whole body arrived and its SHA-256 was
//   computed (and matched `sha256` when one is given): an interrupted or aborted download
//   never leaves a partial entry. A cached entry is re-hashed on read; a mismatch deletes it
//   and downloads again.
// - hasCached(url), deleteCached(url), listCached(), clearCache(), storageEstimate().
// Errors are plain objects {kind, message, ...}: not_found, http, network, aborted,
// integrity, quota.

export const CACHE_NAME = 'reasonflux-models-v1';
const HASH_HEADER = 'x-rf-sha256';
const SIZE_HEADER = 'x-rf-size';

export function downloadError(kind, message, extra = {}) {
  return { kind, message, ...extra };
}

export function formatBytes(n) {
  if (n == null || !isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(bytes) {
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

function cacheAvailable() {
  return typeof caches !== 'undefined';
}

async function openCache(name) {
  if (!cacheAvailable()) return null;
  try { return await caches.open(name); } catch { return null; }
}

function fileName(url) {
  try { return decodeURIComponent(new URL(url, self.location?.href).pathname.split('/').pop()) || url; } catch { return url; }
}

/** Whether a complete, verified entry for `url` is cached. */
export async function hasCached(url, cacheName = CACHE_NAME) {
  const cache = await openCache(cacheName);
  if (!cache) return false;
  const r = await cache.match(url);
  return !!(r && r.headers.get(HASH_HEADER));
}

/** Removes `url` from the cache; resolves to whether something was removed. */
export async function deleteCached(url, cacheName = CACHE_NAME) {
  const cache = await openCache(cacheName);
  return cache ? cache.delete(url) : false;
}

/** [{url, size, sha256}] of the cached entries. */
export async function listCached(cacheName = CACHE_NAME) {
  const cache = await openCache(cacheName);
  if (!cache) return [];
  const out = [];
  for (const req of await cache.keys()) {
    const r = await cache.match(req);
    out.push({ url: req.url, size: Number(r?.headers.get(SIZE_HEADER) || 0), sha256: r?.headers.get(HASH_HEADER) || null });
  }
  return out;
}

export async function clearCache(cacheName = CACHE_NAME) {
  return cacheAvailable() ? caches.delete(cacheName) : false;
}

/** {usage, quota} from navigator.storage, or null. */
export async function storageEstimate() {
  try { return await navigator.storage.estimate(); } catch { return null; }
}

async function readCached(cache, url, expected) {
  const r = await cache.match(url);
  if (!r) return null;
  const stored = r.headers.get(HASH_HEADER);
  if (!stored) { await cache.delete(url); return null; }
  const bytes = new Uint8Array(await r.arrayBuffer());
  const actual = await sha256Hex(bytes);
  if (actual !== stored || (expected && expected.toLowerCase() !== actual)) {
    await cache.delete(url); // damaged or stale entry: fetch again
    return null;
  }
  return bytes;
}

async function headSize(url, signal) {
  try {
    const r = await fetch(url, { method: 'HEAD', signal });
    if (r.status === 404) throw downloadError('not_found', `${fileName(url)}: not found (HTTP 404) at ${url}`, { status: 404, url });
    if (!r.ok) return null;
    const n = Number(r.headers.get('content-length'));
    return n > 0 ? n : null;
  } catch (e) {
    if (e && e.kind) throw e;
    if (signal?.aborted) throw downloadError('aborted', 'download cancelled');
    return null; // some servers refuse HEAD; the GET will tell
  }
}

/**
 * Downloads (or reads from the cache) every file; resolves to their bytes in order.
 * @param {{url: string, name?: string, sha256?: string}[]} files
 * @param {{onProgress?: Function, signal?: AbortSignal, cacheName?: string, useCache?: boolean, label?: string}} options
 */
export async function downloadFiles(files, { onProgress = () => {}, signal, cacheName = CACHE_NAME, useCache = true, label = 'Fetching weights' } = {}) {
  const cache = useCache ? await openCache(cacheName) : null;
  const started = Date.now();
  const state = files.map((f) => ({ name: f.name || fileName(f.url), url: f.url, loaded: 0, total: null, fromCache: false }));
  const report = (index) => {
    const totalLoaded = state.reduce((a, s) => a + s.loaded, 0);
    const known = state.every((s) => s.total != null);
    const totalBytes = known ? state.reduce((a, s) => a + s.total, 0) : null;
    const s = state[index];
    const secs = Math.round((Date.now() - started) / 1000);
    const text = `${label} ${index + 1}/${files.length}: ${formatBytes(totalLoaded)}${totalBytes ? ` of ${formatBytes(totalBytes)}` : ''}, ${secs} s${s.fromCache ? ' (cached)' : ''}`;
    onProgress({
      file: s.name, url: s.url, index, count: files.length,
      loaded: s.loaded, total: s.total, fromCache: s.fromCache,
      totalLoaded, totalBytes, fraction: totalBytes ? totalLoaded / totalBytes : null,
      elapsedMs: Date.now() - started, text,
    });
  };

  // Sizes first, so the aggregate total does not jump from file to file.
  const cachedBytes = [];
  for (let i = 0; i < files.length; i++) {
    if (signal?.aborted) throw downloadError('aborted', 'download cancelled');
    const bytes = cache ? await readCached(cache, files[i].url, files[i].sha256) : null;
    cachedBytes.push(bytes);
    if (bytes) {
      state[i].total = bytes.length;
      state[i].fromCache = true;
    } else {
      state[i].total = await headSize(files[i].url, signal);
    }
  }

  const out = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    const s = state[i];
    if (cachedBytes[i]) {
      s.loaded = cachedBytes[i].length;
      report(i);
      out.push(cachedBytes[i]);
      continue;
    }
    let response;
    try {
      response = await fetch(f.url, { signal, cache: 'no-store' });
    } catch (e) {
      if (signal?.aborted) throw downloadError('aborted', 'download cancelled');
      throw downloadError('network', `${s.name}: network error (${e?.message || e})`, { url: f.url });
    }
    if (response.status === 404) throw downloadError('not_found', `${s.name}: not found (HTTP 404) at ${f.url}`, { status: 404, url: f.url });
    if (!response.ok) throw downloadError('http', `${s.name}: HTTP ${response.status} ${response.statusText}`, { status: response.status, url: f.url });
    const length = Number(response.headers.get('content-length')) || null;
    if (length) s.total = length;
    const chunks = [];
    let received = 0;
    try {
      const reader = response.body.getReader();
      let lastReport = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
        s.loaded = received;
        const now = Date.now();
        if (now - lastReport > 100) { lastReport = now; report(i); }
      }
    } catch (e) {
      if (signal?.aborted) throw downloadError('aborted', 'download cancelled');
      throw downloadError('network', `${s.name}: the download was interrupted after ${formatBytes(received)} (${e?.message || e})`, { url: f.url });
    }
    if (length && received !== length) {
      throw downloadError('network', `${s.name}: the download was interrupted (${formatBytes(received)} of ${formatBytes(length)})`, { url: f.url });
    }
    const bytes = new Uint8Array(received);
    let offset = 0;
    for (const c of chunks) { bytes.set(c, offset); offset += c.length; }
    chunks.length = 0;
    s.total = received;
    s.loaded = received;
    report(i);
    const digest = await sha256Hex(bytes);
    if (f.sha256 && f.sha256.toLowerCase() !== digest) {
      throw downloadError('integrity', `${s.name}: SHA-256 mismatch (expected ${f.sha256}, got ${digest})`, { url: f.url });
    }
    if (cache) {
      try {
        await cache.put(f.url, new Response(bytes, {
          headers: { 'content-type': 'application/octet-stream', [HASH_HEADER]: digest, [SIZE_HEADER]: String(received) },
        }));
      } catch (e) {
        // Not fatal: the bytes are here; report that caching failed (quota).
        onProgress({ file: s.name, url: s.url, index: i, count: files.length, warning: downloadError('quota', `could not cache ${s.name}: ${e?.name || ''} ${e?.message || e}`), text: `Not cached: ${s.name} (storage full?)` });
      }
    }
    out.push(bytes);
  }
  return out;
}
