// What the dashboard (issue 13) needs from the server: GET /v1/workers/stats
// (counts grouped by SQL), GET /v1/events?before= (the newest page), CORS
// (--cors-origin: a listed origin, and "*" for public reads only), and the static
// files at /ui/ (redirect, ETag and 304, precompressed gzip, immutable hashed
// assets, the page URLs, the favicon).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, test } from 'node:test';

import { api, server, startServer, validate } from './lib/harness.mjs';

const LISTED = 'http://dash.example:8080';
const OTHER = 'http://elsewhere.example';

// A small UI directory of our own: the test does not depend on the real build.
const UI = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-ui-'));
after(() => fs.rmSync(UI, { recursive: true, force: true }));
const INDEX = '<!doctype html><title>t</title><script type="module" src="/ui/assets/app-ABC123.js"></script>';
const APP = 'console.log("the app");'.repeat(50);
fs.mkdirSync(path.join(UI, 'assets'));
fs.writeFileSync(path.join(UI, 'index.html'), INDEX);
fs.writeFileSync(path.join(UI, 'index.html.gz'), zlib.gzipSync(INDEX, { level: 9 }));
fs.writeFileSync(path.join(UI, 'assets/app-ABC123.js'), APP);
fs.writeFileSync(path.join(UI, 'assets/app-ABC123.js.gz'), zlib.gzipSync(APP, { level: 9 }));
fs.writeFileSync(path.join(UI, 'favicon.ico'), Buffer.from([0, 0, 1, 0, 0, 0]));

await startServer({ serveArgs: ['--ui-dir', UI, '--no-sweep', '--cors-origin', LISTED, '--cors-origin', '*'] });

// A raw request (for what openapi.yaml does not describe: preflights, /ui/).
function raw(method, p, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server().port, method, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function deploy(name, body) {
  return validate('PUT', '/v1/workers/{name}', 201, await api('PUT', `/v1/workers/${name}`, { body, token: true }));
}

test('GET /v1/workers/stats counts by line, runtime and status, as of a date', async () => {
  let s = validate('GET', '/v1/workers/stats', 200, await api('GET', '/v1/workers/stats')).json;
  assert.deepEqual(s, { as_of: '2026-11-25', total: 0, by_status: { active: 0, blocked: 0 }, by_line: [], by_runtime: [] });
  const PW = ['python_workers'];
  await deploy('s1', { compatibility_date: '2024-04-01', compatibility_flags: PW });
  await deploy('s2', { compatibility_date: '2024-06-01', compatibility_flags: PW, requirements: ['numpy'] });
  await deploy('s3', { compatibility_date: '2025-10-01', compatibility_flags: PW });
  await deploy('s4', { compatibility_date: '2024-04-01', compatibility_flags: PW, requirements: ['duckdb'] });
  s = validate('GET', '/v1/workers/stats', 200, await api('GET', '/v1/workers/stats')).json;
  assert.equal(s.total, 4);
  assert.deepEqual(s.by_status, { active: 4, blocked: 0 });
  assert.deepEqual(s.by_line.map((l) => [l.python_line, l.end_of_support, l.support, l.workers]),
                   [['3.12', '2028-10-02', 'supported', 3], ['3.13', '2029-10-07', 'supported', 1]]);
  assert.deepEqual(s.by_runtime.map((r) => [r.runtime, r.python_line, r.workers]).sort(),
                   [['pyodide-0.26.4', '3.12', 3], ['pyodide-0.28.3', '3.13', 1]]);
  // as_of moves the support status, not the counts
  s = validate('GET', '/v1/workers/stats', 200, await api('GET', '/v1/workers/stats?as_of=2028-06-01')).json;
  assert.equal(s.as_of, '2028-06-01');
  assert.equal(s.by_line[0].support, 'ending');
  s = validate('GET', '/v1/workers/stats', 200, await api('GET', '/v1/workers/stats?as_of=2028-10-02')).json;
  assert.equal(s.by_line[0].support, 'ended');
  // an apply moves workers and blocks one: the counts follow
  validate('POST', '/v1/eol/apply', 200, await api('POST', '/v1/eol/apply?as_of=2028-10-02&summary=true', { token: true }));
  s = validate('GET', '/v1/workers/stats', 200, await api('GET', '/v1/workers/stats')).json;
  assert.deepEqual(s.by_status, { active: 3, blocked: 1 });
  const l312 = s.by_line.find((l) => l.python_line === '3.12');
  assert.deepEqual([l312.workers, l312.active, l312.blocked], [1, 0, 1]);
  assert.equal(s.by_line.find((l) => l.python_line === '3.13').workers, 3);
  // the same as listing would say
  const listed = validate('GET', '/v1/workers', 200, await api('GET', '/v1/workers?status=blocked')).json;
  assert.equal(listed.workers.length, s.by_status.blocked);
  const bad = validate('GET', '/v1/workers/stats', 400, await api('GET', '/v1/workers/stats?as_of=2028-02-30'));
  assert.match(bad.json.detail, /as_of/);
});

test('"stats" is not a worker name: PUT and DELETE there are 405 like any read-only resource', async () => {
  const r = validate('PUT', '/v1/workers/stats', 405,
                     await api('PUT', '/v1/workers/stats', { body: { compatibility_date: '2024-04-01' }, token: true }));
  assert.match(r.json.detail, /not a worker name/);
  validate('DELETE', '/v1/workers/stats', 405, await api('DELETE', '/v1/workers/stats', { token: true }));
  validate('GET', '/v1/workers/stats', 200, await api('GET', '/v1/workers/stats'));
});

test('GET /v1/events?before= gives the last page below it, in seq order', async () => {
  const all = validate('GET', '/v1/events', 200, await api('GET', '/v1/events?limit=1000')).json.events;
  const last = all[all.length - 1].seq;
  const newest = validate('GET', '/v1/events', 200, await api('GET', '/v1/events?before=9007199254740991&limit=5')).json.events;
  assert.deepEqual(newest.map((e) => e.seq), [last - 4, last - 3, last - 2, last - 1, last]);
  const older = validate('GET', '/v1/events', 200, await api('GET', `/v1/events?before=${last - 4}&limit=3`)).json.events;
  assert.deepEqual(older.map((e) => e.seq), [last - 7, last - 6, last - 5]);
  const window = validate('GET', '/v1/events', 200, await api('GET', '/v1/events?after=2&before=6')).json.events;
  assert.deepEqual(window.map((e) => e.seq), [3, 4, 5]);
  for (const q of ['before=0', 'before=-1', 'before=x'])
    validate('GET', '/v1/events', 400, await api('GET', `/v1/events?${q}`));
});

test('CORS: a listed origin may read and write, with the exposed headers and Vary: Origin', async () => {
  const r = validate('GET', '/v1/runtimes', 200, await api('GET', '/v1/runtimes', { headers: { origin: LISTED } }));
  assert.equal(r.headers['access-control-allow-origin'], LISTED);
  for (const h of ['ETag', 'Repr-Digest', 'Content-Range', 'Location', 'X-Request-Id'])
    assert.match(r.headers['access-control-expose-headers'], new RegExp(`\\b${h}\\b`));
  assert.match(r.headers.vary, /Origin/);
  assert.equal(r.headers['access-control-allow-credentials'], undefined);
  const pre = await raw('OPTIONS', '/v1/eol/apply', { origin: LISTED, 'access-control-request-method': 'POST',
                                                      'access-control-request-headers': 'authorization, content-type' });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], LISTED);
  assert.match(pre.headers['access-control-allow-methods'], /\bPOST\b/);
  assert.match(pre.headers['access-control-allow-headers'], /\bAuthorization\b/);
  assert.ok(Number(pre.headers['access-control-max-age']) > 0);
  assert.equal(pre.headers['access-control-allow-credentials'], undefined);
  // a refused write still carries the header, so the page can read the problem
  const w = validate('POST', '/v1/eol/apply', 401, await api('POST', '/v1/eol/apply', { headers: { origin: LISTED } }));
  assert.equal(w.headers['access-control-allow-origin'], LISTED);
  // a two-segment path and a path parameter are routes too
  const p2 = await raw('OPTIONS', '/v1/package-sets/pyodide-0.26.4/2024-11-15/publish', { origin: LISTED, 'access-control-request-method': 'POST' });
  assert.equal(p2.status, 204);
  assert.equal(p2.headers['access-control-allow-methods'], 'POST');
});

test('CORS "*": public reads only, never a token, never credentials', async () => {
  const r = validate('GET', '/v1/python', 200, await api('GET', '/v1/python', { headers: { origin: OTHER } }));
  assert.equal(r.headers['access-control-allow-origin'], '*');
  assert.match(r.headers.vary, /Origin/);
  const pre = await raw('OPTIONS', '/v1/workers/x', { origin: OTHER, 'access-control-request-method': 'GET' });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], '*');
  assert.equal(pre.headers['access-control-allow-methods'], 'GET, HEAD', 'PUT and DELETE need a token');
  assert.doesNotMatch(pre.headers['access-control-allow-headers'], /Authorization/i);
  assert.equal(pre.headers['access-control-allow-credentials'], undefined);
  // a write, or a read sending the token: the preflight is refused
  for (const [m, h] of [['PUT', undefined], ['DELETE', undefined], ['GET', 'authorization']]) {
    const no = await raw('OPTIONS', '/v1/workers/x', { origin: OTHER, 'access-control-request-method': m,
                                                       ...(h ? { 'access-control-request-headers': h } : {}) });
    assert.equal(no.status, 405, `${m} ${h || ''}`);
    assert.equal(no.headers['access-control-allow-origin'], undefined);
  }
  // the answer of a route that needs a token is not readable through "*"
  const w = validate('PUT', '/v1/workers/{name}', 401, await api('PUT', '/v1/workers/x', { headers: { origin: OTHER }, body: {} }));
  assert.equal(w.headers['access-control-allow-origin'], undefined);
  // POST /v1/resolve is a public read: allowed
  const res = await raw('OPTIONS', '/v1/resolve', { origin: OTHER, 'access-control-request-method': 'POST',
                                                    'access-control-request-headers': 'content-type' });
  assert.equal(res.status, 204);
  // unknown paths stay 404, and OPTIONS without a preflight stays 405
  assert.equal((await raw('OPTIONS', '/v1/nope', { origin: OTHER, 'access-control-request-method': 'GET' })).status, 404);
  const plain = await raw('OPTIONS', '/v1/python');
  assert.equal(plain.status, 405);
  assert.equal(plain.headers.allow, 'GET, HEAD');
});

test('the dashboard: / and /ui redirect to /ui/, pages are index.html, assets are immutable', async () => {
  for (const p of ['/', '/ui']) {
    const r = await raw('GET', p);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/ui/');
  }
  for (const p of ['/ui/', '/ui/workers', '/ui/workers/some-name', '/ui/eol']) {
    const r = await raw('GET', p);
    assert.equal(r.status, 200, p);
    assert.equal(r.body.toString(), INDEX);
    assert.match(r.headers['content-type'], /^text\/html/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.match(r.headers['content-security-policy'], /default-src 'self'/);
    assert.match(r.headers.etag, /^"[0-9a-f]{16}"$/);
  }
  const a = await raw('GET', '/ui/assets/app-ABC123.js');
  assert.equal(a.status, 200);
  assert.equal(a.body.toString(), APP);
  assert.match(a.headers['content-type'], /^text\/javascript/);
  assert.match(a.headers['cache-control'], /max-age=31536000.*immutable/);
  assert.match(a.headers.vary, /Accept-Encoding/);
  // precompressed sibling when gzip is accepted, with its own validator
  const g = await raw('GET', '/ui/assets/app-ABC123.js', { 'accept-encoding': 'br, gzip' });
  assert.equal(g.headers['content-encoding'], 'gzip');
  assert.equal(zlib.gunzipSync(g.body).toString(), APP);
  assert.notEqual(g.headers.etag, a.headers.etag);
  const q0 = await raw('GET', '/ui/assets/app-ABC123.js', { 'accept-encoding': 'gzip;q=0' });
  assert.equal(q0.headers['content-encoding'], undefined);
  // conditional requests
  const nm = await raw('GET', '/ui/assets/app-ABC123.js', { 'if-none-match': a.headers.etag });
  assert.equal(nm.status, 304);
  assert.equal(nm.body.length, 0);
  assert.equal(nm.headers.etag, a.headers.etag);
  const nmg = await raw('GET', '/ui/assets/app-ABC123.js', { 'if-none-match': g.headers.etag, 'accept-encoding': 'gzip' });
  assert.equal(nmg.status, 304);
  const stale = await raw('GET', '/ui/assets/app-ABC123.js', { 'if-none-match': '"0000000000000000"' });
  assert.equal(stale.status, 200);
  const head = await raw('HEAD', '/ui/');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(Number(head.headers['content-length']), INDEX.length);
  const fav = await raw('GET', '/favicon.ico');
  assert.equal(fav.status, 200);
  assert.equal(fav.headers['content-type'], 'image/x-icon');
  // a missing asset or file is a 404 problem, not the page; writes are 405
  for (const p of ['/ui/assets/gone-XYZ.js', '/ui/missing.css']) {
    const r = await raw('GET', p);
    assert.equal(r.status, 404, p);
    assert.equal(r.headers['content-type'], 'application/problem+json');
  }
  const post = await raw('POST', '/ui/');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});
