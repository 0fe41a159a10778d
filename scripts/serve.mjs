#!/usr/bin/env node
// A tiny static server for the browser build and its tests: www/ at /, assets/ at /assets/.
// Usage: node scripts/serve.mjs [port]   (PORT env also works; 0 picks a free port)
// Test endpoints: /__test/interrupt/<name> sends headers for 1 MiB, 256 KiB of body, then
// drops the connection; /__test/slow/<name> streams 1 MiB slowly (for abort tests).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MOUNTS = [['/assets/', path.join(root, 'assets')], ['/', path.join(root, 'www')]];
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.gguf': 'application/octet-stream', '.safetensors': 'application/octet-stream', '.rfb': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

function resolve(urlPath) {
  for (const [prefix, dir] of MOUNTS) {
    if (!urlPath.startsWith(prefix)) continue;
    const rel = decodeURIComponent(urlPath.slice(prefix.length)) || 'index.html';
    const file = path.resolve(dir, rel);
    if (!file.startsWith(dir + path.sep) && file !== dir) return null; // no escaping the mount
    return file;
  }
  return null;
}

export function createServer() {
  return http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname.startsWith('/__test/interrupt/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1 << 20) });
      res.write(Buffer.alloc(256 << 10, 7), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    if (url.pathname.startsWith('/__test/slow/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1 << 20) });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent >= 1 << 20 || res.destroyed) { clearInterval(timer); res.end(); return; }
        res.write(Buffer.alloc(16 << 10, 1));
        sent += 16 << 10;
      }, 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    let file = resolve(url.pathname);
    if (file && fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const stat = fs.statSync(file);
    res.writeHead(200, {
      'content-type': MIME[path.extname(file).toLowerCase()] || 'application/octet-stream',
      'content-length': String(stat.size),
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') { res.end(); return; }
    fs.createReadStream(file).pipe(res);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const arg = process.argv[2] ?? process.env.PORT ?? '8080';
  const port = Number(arg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`not a port number: ${arg}`);
    process.exit(2);
  }
  const server = createServer();
  server.on('error', (e) => {
    const why = e.code === 'EADDRINUSE' ? `port ${port} is already in use; pick another (e.g. PORT=8081)` : e.message;
    console.error(`cannot serve: ${why}`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => console.log(`serving www/ and assets/ on http://127.0.0.1:${server.address().port}/`));
}
