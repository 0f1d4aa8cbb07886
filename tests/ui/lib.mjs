// tests/ui/lib.mjs: what the dashboard's browser tests share: a fleet of workers
// deployed through the API, Debian's chromium driven by playwright-core, a static
// server for the cross-origin page, and checks of every page load (no 4xx/5xx,
// no console errors, no layout shift).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { ROOT, api, validate } from '../api/lib/harness.mjs';

export const UI_DIR = path.resolve(ROOT, process.env.ALMANAC_UI_DIR || 'build/ui');
export const OUT_DIR = path.resolve(ROOT, process.env.ALMANAC_UI_OUT || 'build/test-ui');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Why the suite cannot run here, or null.
export function skipReason() {
  if (!fs.existsSync(CHROMIUM))
    return `no browser at ${CHROMIUM} (apt-get install chromium); set CHROMIUM to another`;
  if (!fs.existsSync(path.join(UI_DIR, 'index.html')))
    return `no dashboard build in ${UI_DIR} (make ui)`;
  return null;
}

export async function launch() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-chromium-'));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  return {
    ctx,
    async close() {
      await ctx.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/* The fleet: workers on every seed bundle and several dates and requirement sets,
 * deployed with PUT /v1/workers/{name} (each response validated against openapi). */
export const BLOCKING_REQ = 'duckdb'; // in 0.26.4's set, not in 0.28.3's: blocks the 3.12 -> 3.13 move
export function fleetSpec(n) {
  const kinds = [
    { date: '2024-04-01', flags: ['python_workers'], reqs: [] },
    { date: '2024-06-15', flags: ['python_workers'], reqs: ['numpy'] },
    { date: '2024-09-01', flags: ['python_workers'], reqs: ['pydantic'] },
    { date: '2025-10-01', flags: ['python_workers'], reqs: [] },
    { date: '2026-01-15', flags: ['python_workers'], reqs: ['numpy'] },
    { date: '2026-10-10', flags: ['python_workers', 'python_workers_20260610'], reqs: [] },
  ];
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = kinds[i % kinds.length];
    out.push({ name: `w-${String(i).padStart(4, '0')}`, body: { compatibility_date: k.date, compatibility_flags: k.flags, requirements: k.reqs } });
  }
  out.push({ name: 'blocked-duck', body: { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'], requirements: [BLOCKING_REQ] } });
  return out;
}

export async function deployFleet(n, concurrency = 8) {
  const spec = fleetSpec(n);
  let next = 0;
  async function worker() {
    while (next < spec.length) {
      const w = spec[next++];
      const r = await api('PUT', `/v1/workers/${w.name}`, { body: w.body, token: true });
      validate('PUT', '/v1/workers/{name}', 201, r);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return spec.length;
}

/* A static server for the dashboard's files on another origin, whose index.html
 * names the API's origin (the almanac-api meta), as a deployment elsewhere would. */
export async function staticServer(apiOrigin) {
  let api = apiOrigin;
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    let rel = u.pathname.replace(/^\/ui\/?/, '');
    let file = path.join(UI_DIR, rel);
    if (!rel || !file.startsWith(UI_DIR) || !fs.existsSync(file) || fs.statSync(file).isDirectory())
      file = /\.[a-z]+$/.test(rel) ? null : path.join(UI_DIR, 'index.html');
    if (u.pathname === '/favicon.ico')
      file = path.join(UI_DIR, 'favicon.ico');
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    let body = fs.readFileSync(file);
    if (file.endsWith('index.html'))
      body = Buffer.from(body.toString().replace('<meta name="almanac-api" content="">', `<meta name="almanac-api" content="${api}">`));
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : file.endsWith('.html') ? 'text/html'
      : file.endsWith('.svg') ? 'image/svg+xml' : 'image/x-icon';
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${srv.address().port}`,
    setApi(origin) { api = origin; },
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }),
  };
}

/* Watch a page: every response >= 400, failed request, console error and page
 * error is recorded; layout shifts are summed in the page. */
export function watch(page) {
  const bad = [];
  page.on('response', (r) => { if (r.status() >= 400) bad.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  page.on('requestfailed', (r) => {
    const f = r.failure();
    // A navigation away aborts what was in flight: not a failure of the page.
    if (!(f && /ERR_ABORTED/.test(f.errorText)))
      bad.push(`failed ${r.method()} ${r.url()}: ${f && f.errorText}`);
  });
  page.on('console', (m) => { if (m.type() === 'error') bad.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => bad.push(`pageerror: ${e.message}`));
  return bad;
}

export const CLS_INIT = `
  window.__cls = 0;
  new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__cls += e.value; })
    .observe({ type: 'layout-shift', buffered: true });`;

export async function screenshot(page, name) {
  fs.mkdirSync(path.join(OUT_DIR, 'screenshots'), { recursive: true });
  const file = path.join(OUT_DIR, 'screenshots', `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// axe-core in the page: the violations of impact serious or critical.
const AXE_SRC = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules/axe-core/axe.min.js'), 'utf8');
export async function axe(page) {
  // evaluate() is not subject to the page's CSP (script-src 'self'), a script tag would be.
  await page.evaluate(AXE_SRC);
  const res = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')})`);
}

export { assert };
