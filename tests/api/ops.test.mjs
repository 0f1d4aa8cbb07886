// Operating almanacd (issue 12): access lines and request ids, failed-auth and admin
// write logs, metrics parsed by a Prometheus text parser, readiness, token scopes,
// expiry and revocation (also from the CLI beside the running server), the public
// URL, and the process behaviours: a taken port, the data-directory lock, init and
// the missing-database refusal, an invalid ALMANAC_TODAY, --version and serve --help,
// --listen :PORT and [::1]:PORT, drain under an in-flight 10 MB download, SIGHUP
// reopening the log file, JSON logs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import { ROOT, api, server, startServer, validate } from './lib/harness.mjs';

const BIN = path.resolve(ROOT, process.env.ALMANAC_BIN_DIR || 'build', 'almanacd');
const TODAY = '2026-11-25';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/;
const RFC3339_MS = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';

const s = await startServer({ serveArgs: ['--trusted-proxy', '127.0.0.1/32'] });

/* ------------------------------------------------------------------ helpers */

function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, ALMANAC_TODAY: TODAY, ALMANAC_ZSTD_LEVEL: '1', ...env },
                                     stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      // Under SANITIZE builds, every almanacd run here must be clean too.
      assert.ok(!SANITIZER.test(err), `almanacd ${args.join(' ')} printed a sanitizer report:\n${err}`);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/* A plain request to any host:port (not validated: other servers than the harness's). */
function request(port, method, p, { host = '127.0.0.1', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/* Start another almanacd serve; resolves once /v1/health answers. */
async function serve(dataDir, extra = [], { listen, host = '127.0.0.1', env = {} } = {}) {
  const port = await freePort();
  const args = ['serve', '--data', dataDir, '--listen', listen ? listen(port) : `127.0.0.1:${port}`, ...extra];
  const proc = spawn(BIN, args, { env: { ...process.env, ALMANAC_TODAY: TODAY, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const h = { proc, port, stderr: '', exit: null };
  proc.stderr.on('data', (d) => { h.stderr += d; });
  h.exited = new Promise((r) => proc.on('exit', (code, signal) => { h.exit = { code, signal }; r(h.exit); }));
  for (let i = 0; i < 300 && !h.exit; i++) {
    try {
      if ((await request(port, 'GET', '/v1/health', { host })).status === 200)
        return h;
    } catch { /* not yet */ }
    await sleep(50);
  }
  if (!h.exit)
    proc.kill('SIGKILL');
  throw new Error(`almanacd serve did not start: ${h.stderr}`);
}

async function stop(h, signal = 'SIGTERM') {
  if (!h.exit)
    h.proc.kill(signal);
  const exit = await h.exited;
  assert.ok(!SANITIZER.test(h.stderr), `almanacd serve printed a sanitizer report:\n${h.stderr}`);
  return exit;
}

function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-ops-'));
}

async function newData() {
  const dir = path.join(tmpDir(), 'data');
  const r = await run(['init', '--data', dir]);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

let lastMetricsText = '';

async function metrics() {
  const r = validate('GET', '/metrics', 200, await api('GET', '/metrics'));
  lastMetricsText = r.text;
  assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return parsePrometheusTextFormat(r.text);
}

function sample(families, name, labels = {}) {
  const f = families.find((x) => x.name === name);
  if (!f)
    return undefined;
  const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m;
}

function value(families, name, labels = {}) {
  const m = sample(families, name, labels);
  return m ? Number(m.value) : 0;
}

/* ---------------------------------------------------------- logs and ids */

test('every response has X-Request-Id; a client id is kept; problems repeat it', async () => {
  let r = validate('GET', '/v1/runtimes', 200, await api('GET', '/v1/runtimes', { headers: { 'X-Request-Id': 'ops-test-1' } }));
  assert.equal(r.headers['x-request-id'], 'ops-test-1');
  r = validate('GET', '/v1/health', 200, await api('GET', '/v1/health'));
  assert.match(r.headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{8}$/);
  r = validate('GET', '/v1/runtimes/{id}', 404, await api('GET', '/v1/runtimes/nope', { headers: { 'X-Request-Id': 'bad id with spaces' } }));
  assert.notEqual(r.headers['x-request-id'], 'bad id with spaces', 'an invalid client id is replaced');
  assert.equal(r.json.request_id, r.headers['x-request-id']);
});

test('one access line per request: time, id, client, method, path, bare status, bytes, duration, principal', async () => {
  const r = validate('GET', '/v1/runtimes', 200, await api('GET', '/v1/runtimes?x=1', { headers: { 'X-Request-Id': 'ops-access-1' } }));
  await sleep(100);
  const line = server().stderr.split('\n').find((l) => l.includes(' ops-access-1 '));
  assert.ok(line, `an access line for the request in:\n${server().stderr.slice(-2000)}`);
  const m = line.match(new RegExp(`^(${RFC3339_MS}) info access ops-access-1 (\\S+) GET (\\S+) (\\d+) (\\d+)B ([\\d.]+)ms (\\S+)$`));
  assert.ok(m, `access line format: ${line}`);
  assert.ok(Math.abs(Date.parse(m[1]) - Date.now()) < 60000, 'the wall clock, UTC');
  assert.equal(m[2], '127.0.0.1');
  assert.equal(m[3], '/v1/runtimes', 'the path without the query');
  assert.equal(m[4], '200');
  assert.equal(Number(m[5]), r.body.length);
  assert.equal(m[7], '-', 'no token: principal -');
});

test('a request the HTTP library refuses itself (431, 400) is logged and counted too', async () => {
  const port = s.port;
  const before = await metrics();
  const n0 = value(before, 'almanac_http_requests_total', { route: 'unmatched', method: 'other', status: '431' }) ?? 0;
  const status = await new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => { got += d; });
    sock.on('close', () => resolve(got.split('\r\n')[0]));
    sock.on('error', () => {}); // the server resets after its reply (the rest of the head is unread)
    setTimeout(() => reject(new Error('no answer')), 10000).unref();
    sock.end(`GET /v1/ops-refused-path HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40000)}\r\n\r\n`);
  });
  assert.match(status, /^HTTP\/1\.1 431 /);
  let line;
  for (let i = 0; i < 100 && !line; i++) {
    await sleep(20);
    line = server().stderr.split('\n').find((l) => l.includes(' /v1/ops-refused-path '));
  }
  assert.ok(line, 'an access line for the refused request');
  assert.match(line, new RegExp(`^${RFC3339_MS} info access \\S+ 127\\.0\\.0\\.1 - /v1/ops-refused-path 431 0B [\\d.]+ms -$`));
  const after = await metrics();
  assert.equal(value(after, 'almanac_http_requests_total', { route: 'unmatched', method: 'other', status: '431' }), n0 + 1);
});

test('the client address comes from X-Forwarded-For / Forwarded only from a trusted proxy', async () => {
  validate('GET', '/v1/health', 200, await api('GET', '/v1/health', {
    headers: { 'X-Request-Id': 'ops-xff-1', 'X-Forwarded-For': '203.0.113.9, 127.0.0.1' } }));
  validate('GET', '/v1/health', 200, await api('GET', '/v1/health', {
    headers: { 'X-Request-Id': 'ops-fwd-1', Forwarded: 'for="[2001:db8::7]:4711";proto=https' } }));
  await sleep(100);
  const lines = server().stderr.split('\n');
  assert.match(lines.find((l) => l.includes(' ops-xff-1 ')), / ops-xff-1 203\.0\.113\.9 GET /);
  assert.match(lines.find((l) => l.includes(' ops-fwd-1 ')), / ops-fwd-1 2001:db8::7 GET /);
});

test('a refused write is 401 whatever its body, logged with the path; admin writes name the token', async () => {
  let r = await api('PUT', '/v1/flags/ops_flag', { body: 'this is { not json', headers: { 'X-Request-Id': 'ops-401' } });
  validate('PUT', '/v1/flags/{name}', 401, r);
  assert.match(r.headers.vary ?? '', /\bAuthorization\b/, 'a refusal depends on Authorization');
  const tokens = validate('GET', '/v1/tokens', 200, await api('GET', '/v1/tokens', { token: true }));
  assert.match(tokens.headers.vary ?? '', /\bAuthorization\b/, 'so does an answer given to a token');
  const pub = validate('GET', '/v1/runtimes', 200, await api('GET', '/v1/runtimes'));
  assert.doesNotMatch(pub.headers.vary ?? '', /Authorization/, 'a public read does not');
  r = await api('POST', '/v1/eol/apply', { token: 'alm_' + 'f'.repeat(64) });
  validate('POST', '/v1/eol/apply', 401, r);
  r = await api('POST', '/v1/eol/apply?as_of=2026-11-25&summary=true', { token: true, headers: { 'X-Request-Id': 'ops-eol' } });
  validate('POST', '/v1/eol/apply', 200, r);
  await sleep(100);
  const log = server().stderr;
  assert.match(log, /warn almanacd: auth failed: this request needs a publish token: .*: PUT \/v1\/flags\/ops_flag from 127\.0\.0\.1/);
  assert.match(log, /auth failed: the bearer token is not valid: POST \/v1\/eol\/apply from 127\.0\.0\.1/);
  const tokName = (await run(['token', 'list', '--data', s.dataDir])).stdout.split('\n')[1].split(/\s+/)[0];
  assert.match(log, new RegExp(`info almanacd: eol apply by ${tokName} as of 2026-11-25: \\d+ moved`));
  assert.match(log, new RegExp(`write by ${tokName}: POST /v1/eol/apply -> 200 \\(request ops-eol\\)`));
  assert.match(log, new RegExp(`info access ops-eol \\S+ POST /v1/eol/apply 200 \\d+B [\\d.]+ms ${tokName}$`, 'm'));
});

/* -------------------------------------------------------------- metrics */

test('GET /metrics parses as Prometheus text; the counters move with requests', async () => {
  const before = await metrics();
  const lbl = { route: '/v1/runtimes', method: 'GET', status: '200' };
  const n0 = value(before, 'almanac_http_requests_total', lbl);
  for (let i = 0; i < 3; i++)
    validate('GET', '/v1/runtimes', 200, await api('GET', '/v1/runtimes'));
  validate('GET', null, 404, await api('GET', '/v1/no-such-route'));
  const q = 'date=2026-01-15&flags=python_workers';
  validate('GET', '/v1/resolve', 200, await api('GET', `/v1/resolve?${q}`));
  validate('GET', '/v1/resolve', 200, await api('GET', `/v1/resolve?${q}`));
  const after = await metrics();
  assert.equal(value(after, 'almanac_http_requests_total', lbl), n0 + 3);
  assert.ok(value(after, 'almanac_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }) >= 1);
  assert.ok(value(after, 'almanac_http_requests_total', { route: '/v1/health', method: 'GET', status: '200' }) >= 1,
            'health checks are counted');
  // parse-prometheus-text-format merges the buckets of a labelled histogram into one
  // sample, so its per-route series are read from the text (the parser checked it).
  const text = lastMetricsText;
  const count = Number(text.match(/^almanac_http_request_duration_seconds_count\{route="\/v1\/runtimes",method="GET"\} (\d+)$/m)?.[1]);
  const inf = Number(text.match(/^almanac_http_request_duration_seconds_bucket\{route="\/v1\/runtimes",method="GET",le="\+Inf"\} (\d+)$/m)?.[1]);
  assert.ok(count >= n0 + 3, 'the latency histogram counts the route and method');
  assert.equal(inf, count);
  // Labels stay bounded: route templates, never raw paths; a HEAD is its own series.
  validate('HEAD', '/v1/runtimes', 200, await api('HEAD', '/v1/runtimes'));
  await metrics();
  const text2 = lastMetricsText;
  assert.match(text2, /^almanac_http_request_duration_seconds_count\{route="\/v1\/runtimes",method="HEAD"\} [1-9]\d*$/m);
  for (const l of text2.split('\n').filter((x) => x.startsWith('almanac_http_request_duration_seconds')))
    assert.match(l, /^almanac_http_request_duration_seconds_(bucket|sum|count)\{route="[^"]+",method="(GET|HEAD|PUT|POST|DELETE|PATCH|OPTIONS|other)"(,le="[^"]+")?\} /);
  assert.equal(sample(after, 'almanac_http_request_duration_seconds').type, undefined);
  assert.equal(after.find((f) => f.name === 'almanac_http_request_duration_seconds').type, 'HISTOGRAM');
  assert.ok(value(after, 'almanac_resolve_cache_hits_total') >= value(before, 'almanac_resolve_cache_hits_total') + 1);
  assert.ok(value(after, 'almanac_resolve_cache_misses_total') >= 1);
  assert.ok(value(after, 'almanac_catalog_generation') >= 0);
  for (const name of ['almanac_artifact_bytes_sent_total', 'almanac_eol_apply_runs_total', 'almanac_webhook_outbox',
                      'almanac_webhook_delivery_failures_total', 'almanac_workers'])
    assert.ok(after.some((f) => f.name === name), `${name} is exported`);
  assert.ok(value(after, 'almanac_eol_apply_runs_total', { origin: 'api' }) >= 1);
});

test('artifact bytes are counted by encoding', async () => {
  const blob = randomBytes(5000);
  const up = validate('POST', '/v1/artifacts', 201, await api('POST', '/v1/artifacts', { body: blob, token: true,
                                                                                        headers: { 'content-type': 'application/octet-stream' } }));
  const hex = up.json.sha256;
  const before = await metrics();
  validate('GET', '/v1/artifacts/sha256/{hex}', 200, await api('GET', `/v1/artifacts/sha256/${hex}`));
  const z = validate('GET', '/v1/artifacts/sha256/{hex}', 200, await api('GET', `/v1/artifacts/sha256/${hex}`,
                                                                        { headers: { 'accept-encoding': 'zstd' } }));
  // Bytes are counted when the response completes, which may be just after the
  // client has read it: scrape until both have landed (or give up and report).
  const sent = (m, enc) => value(m, 'almanac_artifact_bytes_sent_total', { encoding: enc }) -
    value(before, 'almanac_artifact_bytes_sent_total', { encoding: enc });
  let after = await metrics();
  for (let i = 0; i < 100 && (sent(after, 'identity') < 5000 || sent(after, 'zstd') < z.body.length); i++) {
    await sleep(20);
    after = await metrics();
  }
  assert.equal(value(after, 'almanac_artifact_bytes_sent_total', { encoding: 'identity' }) -
               value(before, 'almanac_artifact_bytes_sent_total', { encoding: 'identity' }), 5000);
  assert.equal(value(after, 'almanac_artifact_bytes_sent_total', { encoding: 'zstd' }) -
               value(before, 'almanac_artifact_bytes_sent_total', { encoding: 'zstd' }), z.body.length);
});

test('GET /v1/ready checks the database, the store and a non-empty catalog', async () => {
  const r = validate('GET', '/v1/ready', 200, await api('GET', '/v1/ready'));
  assert.equal(r.json.status, 'ready');
  assert.deepEqual(r.json.checks.map((c) => c.name), ['database', 'store', 'catalog']);
  // An initialised but empty data directory is alive and not ready.
  const dir = await newData();
  const h = await serve(dir);
  try {
    const nr = await request(h.port, 'GET', '/v1/ready');
    assert.equal(nr.status, 503);
    const p = JSON.parse(nr.body);
    assert.equal(p.type, 'urn:almanac:problem:unavailable');
    assert.match(p.detail, /no published runtime/);
  } finally {
    assert.equal((await stop(h)).code, 0);
  }
});

/* --------------------------------------------------------------- tokens */

test('scopes: read < publish < admin; 403 names the scope; checked before the body', async () => {
  const mk = async (scope) => validate('POST', '/v1/tokens', 201, await api('POST', '/v1/tokens', {
    body: { name: `ops-${scope}`, scope }, token: true })).json;
  const read = await mk('read');
  const pub = await mk('publish');
  assert.match(read.token, /^alm_[0-9a-f]{64}$/);
  assert.equal(pub.scope, 'publish');
  // publish may write drafts, not publish or manage webhooks/tokens.
  let r = await api('PUT', '/v1/python/3.99', { body: { first_release: '2031-10-01' }, token: pub.token });
  validate('PUT', '/v1/python/{line}', 201, r);
  r = await api('POST', '/v1/flags/python_workers/publish', { token: pub.token });
  validate('POST', '/v1/flags/{name}/publish', 403, r);
  assert.match(r.json.detail, /scope publish; this request needs admin/);
  r = await api('PUT', '/v1/webhooks/ops', { body: '{{{', token: pub.token });
  validate('PUT', '/v1/webhooks/{id}', 403, r);
  r = await api('GET', '/v1/tokens', { token: pub.token });
  validate('GET', '/v1/tokens', 403, r);
  // read may not write at all.
  r = await api('PUT', '/v1/python/3.98', { body: 'garbage', token: read.token });
  validate('PUT', '/v1/python/{line}', 403, r);
  // The event records the principal.
  const ev = validate('GET', '/v1/events', 200, await api('GET', '/v1/events?limit=1000')).json.events;
  const created = ev.find((e) => e.kind === 'python_line.created' && e.subject === '3.99');
  assert.equal(created.principal, 'ops-publish');
  const tokEv = ev.find((e) => e.kind === 'token.created' && e.subject === 'ops-read');
  assert.equal(tokEv.data.scope, 'read');
  // Duplicate names are 409; bad scope 400.
  validate('POST', '/v1/tokens', 409, await api('POST', '/v1/tokens', { body: { name: 'ops-read' }, token: true }));
  validate('POST', '/v1/tokens', 400, await api('POST', '/v1/tokens', { body: { scope: 'root' }, token: true }));
  validate('POST', '/v1/tokens', 400, await api('POST', '/v1/tokens', { body: { expires: '2020-01-01' }, token: true }));
});

test('token list never shows a secret; revocation over the API and from the CLI is immediate', async () => {
  const a = validate('POST', '/v1/tokens', 201, await api('POST', '/v1/tokens', { body: { name: 'ops-rev-api', scope: 'admin' }, token: true })).json;
  const b = validate('POST', '/v1/tokens', 201, await api('POST', '/v1/tokens', { body: { name: 'ops-rev-cli', scope: 'admin', expires: '2099-01-01' }, token: true })).json;
  assert.equal(b.expires, '2099-01-01');
  validate('GET', '/v1/tokens', 200, await api('GET', '/v1/tokens', { token: a.token }));
  const list = validate('GET', '/v1/tokens', 200, await api('GET', '/v1/tokens', { token: true })).json.tokens;
  assert.ok(!JSON.stringify(list).includes('alm_'), 'no secret in the list');
  const used = list.find((t) => t.name === 'ops-rev-api');
  assert.ok(used.last_used_at, 'last_used_at is set once the token is used');
  assert.equal(list.find((t) => t.name === 'ops-rev-cli').expires_at, '2099-01-01T00:00:00Z');
  // revoke over the API
  validate('DELETE', '/v1/tokens/{name}', 204, await api('DELETE', '/v1/tokens/ops-rev-api', { token: true }));
  let r = await api('GET', '/v1/tokens', { token: a.token });
  validate('GET', '/v1/tokens', 401, r);
  assert.match(r.json.detail, /revoked/);
  validate('DELETE', '/v1/tokens/{name}', 404, await api('DELETE', '/v1/tokens/nope', { token: true }));
  // revoke with the CLI, beside the running server (no data-directory lock needed)
  validate('GET', '/v1/tokens', 200, await api('GET', '/v1/tokens', { token: b.token }));
  const cli = await run(['token', 'revoke', 'ops-rev-cli', '--data', s.dataDir]);
  assert.equal(cli.code, 0, cli.stderr);
  r = await api('GET', '/v1/tokens', { token: b.token });
  validate('GET', '/v1/tokens', 401, r);
  // CLI list beside the server: a header and the names, never a secret
  const ls = await run(['token', 'list', '--data', s.dataDir]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^NAME\s+SCOPE\s+CREATED\s+LAST USED\s+EXPIRES\s+REVOKED$/m);
  assert.match(ls.stdout, /^ops-rev-cli\s+admin\s+\S+\s+\S+\s+2099-01-01T00:00:00Z\s+\d{4}-/m);
  assert.ok(!ls.stdout.includes('alm_'));
});

test('token create: defaults keep working; stdout is the secret alone; names, scopes, expiry', async () => {
  const dir = await newData();
  let r = await run(['token', 'create', '--data', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^alm_[0-9a-f]{64}\n$/);
  assert.match(r.stderr, /created admin token 'token-[0-9a-f]{8}'/);
  r = await run(['token', 'create', '--data', dir, '--name', 'ci', '--scope', 'publish', '--expires', '2099-12-31']);
  assert.equal(r.code, 0, r.stderr);
  r = await run(['token', 'create', '--data', dir, '--name', 'ci']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '', 'no token printed on failure');
  r = await run(['token', 'create', '--data', dir, '--scope', 'root']);
  assert.equal(r.code, 2);
  r = await run(['token', 'create', '--data', dir, '--expires', '2001-01-01']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not in the future/);
  // Expiry is the wall clock: ALMANAC_TODAY far in the future does not expire a token.
  const tok = (await run(['token', 'create', '--data', dir, '--name', 'wall', '--expires', '2099-01-01'])).stdout.trim();
  const h = await serve(dir, [], { env: { ALMANAC_TODAY: '2999-12-31' } });
  try {
    const ok = await request(h.port, 'GET', '/v1/tokens', { headers: { authorization: `Bearer ${tok}` } });
    assert.equal(ok.status, 200);
  } finally {
    await stop(h);
  }
});

test('--private-reads: registry, events, webhooks and /metrics need a read token', async () => {
  const dir = await newData();
  const tok = (await run(['token', 'create', '--data', dir, '--name', 'reader', '--scope', 'read'])).stdout.trim();
  const h = await serve(dir, ['--private-reads']);
  try {
    for (const p of ['/v1/events', '/v1/workers', '/v1/webhooks', '/metrics']) {
      assert.equal((await request(h.port, 'GET', p)).status, 401, `${p} without a token`);
      assert.equal((await request(h.port, 'GET', p, { headers: { authorization: `Bearer ${tok}` } })).status, 200, `${p} with a read token`);
    }
    assert.equal((await request(h.port, 'GET', '/v1/runtimes')).status, 200, 'the catalog stays public');
  } finally {
    assert.equal((await stop(h)).code, 0);
  }
});

/* ----------------------------------------------------------- public URL */

test('exports use --public-url, else server-relative URLs; never the Host header', async () => {
  const sets = validate('GET', '/v1/package-sets', 200, await api('GET', '/v1/package-sets')).json;
  const id = (sets.package_sets || sets.items || sets)[0].id;
  const p = `/v1/package-sets/${id}/pyodide-lock.json`;
  const r = validate('GET', '/v1/package-sets/{runtime}/{date}/pyodide-lock.json', 200,
                     await api('GET', p, { headers: { host: 'evil.example' } }));
  assert.ok(!r.text.includes('evil.example'));
  const url = Object.values(r.json.packages)[0].file_name;
  assert.match(url, /^\/v1\/artifacts\/sha256\/[0-9a-f]{64}\/file\//);

});

test('--public-url is the base of absolute URLs (flag or config file)', async () => {
  const dir = path.join(tmpDir(), 'data');
  const seed = await run(['seed', '--data', dir]);
  assert.equal(seed.code, 0, seed.stderr);
  const cfg = path.join(path.dirname(dir), 'almanacd.toml');
  fs.writeFileSync(cfg, '# almanacd config\n[server]\npublic_url = "https://almanac.example/base/"\naccess-log = "off"\n');
  const h = await serve(dir, ['--config', cfg]);
  try {
    const sets = JSON.parse((await request(h.port, 'GET', '/v1/package-sets')).body);
    const id = (sets.package_sets || sets.items || sets)[0].id;
    const r = await request(h.port, 'GET', `/v1/package-sets/${id}/pyodide-lock.json`, { headers: { host: 'evil.example' } });
    const lock = JSON.parse(r.body);
    const url = Object.values(lock.packages)[0].file_name;
    assert.match(url, /^https:\/\/almanac\.example\/base\/v1\/artifacts\/sha256\//);
    assert.ok(!r.body.toString().includes('evil.example'));
    assert.ok(!/ info access /.test(h.stderr), 'access-log = off from the config file');
  } finally {
    assert.equal((await stop(h)).code, 0);
  }
});

/* ------------------------------------------------------ start and stop */

test('a taken port is a one-line error naming the address; no SO_REUSEPORT by default', async () => {
  const dir = await newData();
  const r = await run(['serve', '--data', dir, '--listen', `127.0.0.1:${s.port}`]);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^almanacd: cannot listen on 127\\.0\\.0\\.1:${s.port}: address already in use\\n$`));
  // --reuse-port only helps when every holder opted in: the harness's server did not.
  const r2 = await run(['serve', '--data', dir, '--listen', `127.0.0.1:${s.port}`, '--reuse-port']);
  assert.notEqual(r2.code, 0);
});

test('the data-directory lock refuses a second server and seed, with the holder pid', async () => {
  const pid = String(fs.readFileSync(path.join(s.dataDir, 'lock'), 'utf8')).trim();
  assert.match(pid, /^\d+$/);
  let r = await run(['serve', '--data', s.dataDir, '--listen', `127.0.0.1:${await freePort()}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`in use by another almanacd \\(pid ${pid}, lock `));
  r = await run(['seed', '--data', s.dataDir]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /in use by another almanacd/);
  r = await run(['fsck', '--data', s.dataDir, '--repair']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /in use by another almanacd/);
  // Read-only fsck works beside the running server.
  r = await run(['fsck', '--data', s.dataDir]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('serve, token, fsck and key refuse a missing database and suggest init; init is idempotent', async () => {
  const dir = path.join(tmpDir(), 'typo');
  for (const args of [['serve'], ['token', 'create'], ['token', 'list'], ['fsck'], ['key', 'rotate']]) {
    const r = await run([...args, '--data', dir]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', `${args.join(' ')} prints nothing on stdout`);
    assert.match(r.stderr, new RegExp(`create one with 'almanacd init --data ${dir}'`));
    assert.ok(!fs.existsSync(path.join(dir, 'almanac.db')), `${args.join(' ')} created nothing`);
  }
  for (let i = 0; i < 2; i++) {
    const r = await run(['init', '--data', dir]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.ok(fs.existsSync(path.join(dir, 'almanac.db')));
});

test('an invalid ALMANAC_TODAY is fatal for every command; --version; serve --help', async () => {
  const scratch = tmpDir();
  for (const args of [['init', '--data', path.join(scratch, 'x')], ['seed', '--data', path.join(scratch, 'y')],
                      ['token', 'list', '--data', s.dataDir], ['token', 'create', '--data', s.dataDir],
                      ['token', 'revoke', 'nobody', '--data', s.dataDir], ['serve', '--data', s.dataDir],
                      ['fsck', '--data', s.dataDir], ['key', 'rotate', '--data', s.dataDir],
                      ['backup', '--data', s.dataDir, '--to', path.join(scratch, 'b')],
                      ['restore', '--from', path.join(scratch, 'b'), '--data', path.join(scratch, 'r')],
                      ['export-static', '--data', s.dataDir, '--to', path.join(scratch, 'e')],
                      ['--version'], ['--help'], ['serve', '--help']]) {
    const r = await run(args, { ALMANAC_TODAY: '2026-02-30' });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
    assert.match(r.stderr, /^almanacd: ALMANAC_TODAY '2026-02-30' is not a YYYY-MM-DD date.*\n$/);
  }
  assert.deepEqual(fs.readdirSync(scratch), [], 'nothing was created');
  const v = await run(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^almanacd \d+\.\d+\.\d+\n$/);
  const help = await run(['serve', '--help']);
  assert.equal(help.code, 0);
  for (const opt of ['--data', '--config', '--listen', '--reuse-port', '--threads', '--json-limit', '--upload-limit',
                     '--sweep-interval', '--no-sweep', '--drain-timeout', '--log-format', '--log-level', '--log-file',
                     '--access-log', '--public-url', '--private-reads', '--metrics-listen', '--trusted-proxy',
                     '--tls-cert', '--tls-key', '--ui-dir', '--cors-origin', '--resolve-cache', '--rate-limit',
                     '--max-conns-per-ip', '--max-conns', '--idle-timeout', '--webhook-allow-private',
                     '--identity-cache', '--snapshot-ttl'])
    assert.match(help.stdout, new RegExp(`^  ${opt}\\b.*\\[[^\\]]+\\]$`, 'm'), `serve --help lists ${opt} with its default`);
});

test('a command refuses an option it does not take; token revoke takes NAME before or after the options', async () => {
  const dir = await newData();
  for (const args of [['backup', '--data', dir, '--to', path.join(tmpDir(), 'b'), '--repair'],
                      ['token', 'create', '--data', dir, '--listen', ':1'],
                      ['init', '--data', dir, '--public-url', 'https://x.example'],
                      ['fsck', '--data', dir, '--no-artifacts'],
                      ['restore', '--from', 'x', '--data', path.join(tmpDir(), 'r'), '--to', 'y'],
                      ['serve', '--data', dir, '--upstream', 'http://127.0.0.1:1'],
                      ['serve', '--data', dir, '--name', 'x']]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^almanacd: [a-z -]+ does not take '--[a-z-]+' \(almanacd (serve )?--help lists them\)\n$/);
  }
  assert.equal((await run(['token', 'list', '--data', dir])).stdout.split('\n').length, 2, 'no token was created');
  // A malformed address is a usage error, found before the data directory is touched.
  for (const [flag, v] of [['--listen', 'bad'], ['--listen', '127.0.0.1:99999'], ['--listen', '::1:8700'],
                           ['--metrics-listen', '[::1]x']]) {
    const r = await run(['serve', '--data', path.join(tmpDir(), 'none'), flag, v]);
    assert.equal(r.code, 2, `${flag} ${v}: ${r.stderr}`);
    assert.equal(r.stderr, `almanacd: invalid value '${v}' for ${flag}\n`);
  }
  for (const order of ['first', 'last']) {
    const name = `rv-${order}`;
    let r = await run(['token', 'create', '--data', dir, '--name', name]);
    assert.equal(r.code, 0, r.stderr);
    r = await run(order === 'first' ? ['token', 'revoke', name, '--data', dir] : ['token', 'revoke', '--data', dir, name]);
    assert.equal(r.code, 0, r.stderr);
    const row = (await run(['token', 'list', '--data', dir])).stdout.split('\n').find((l) => l.startsWith(`${name} `));
    assert.match(row, /\d{4}-\d{2}-\d{2}T\S+Z$/, `${name} is revoked: ${row}`);
  }
  const r = await run(['token', 'revoke', '--data', dir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: almanacd token revoke NAME --data DIR/);
});

test('--listen :PORT and [::1]:PORT; --metrics-listen serves /metrics alone', async () => {
  const dir = await newData();
  const h = await serve(dir, [], { listen: (p) => `:${p}` });
  try {
    assert.equal((await request(h.port, 'GET', '/v1/health')).status, 200);
  } finally {
    assert.equal((await stop(h)).code, 0);
  }
  let has6 = true;
  try {
    await new Promise((res, rej) => { const t = net.createServer().on('error', rej).listen(0, '::1', function () { this.close(res); }); });
  } catch { has6 = false; }
  if (has6) {
    const h6 = await serve(dir, [], { listen: (p) => `[::1]:${p}`, host: '::1' });
    try {
      assert.equal((await request(h6.port, 'GET', '/v1/health', { host: '::1' })).status, 200);
      assert.match(h6.stderr, /serving on http:\/\/\[::1\]:\d+/);
    } finally {
      assert.equal((await stop(h6)).code, 0);
    }
  }
  const mport = await freePort();
  const hm = await serve(dir, ['--metrics-listen', `127.0.0.1:${mport}`]);
  try {
    const m = await request(mport, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.ok(parsePrometheusTextFormat(m.body.toString()).length > 0);
    assert.equal((await request(mport, 'GET', '/v1/runtimes')).status, 404, 'only /metrics there');
  } finally {
    assert.equal((await stop(hm)).code, 0);
  }
});

test('SIGTERM drains: an in-flight 10 MB download completes, then exit 0', async () => {
  const dir = await newData();
  const tok = (await run(['token', 'create', '--data', dir])).stdout.trim();
  const h = await serve(dir, ['--drain-timeout', '10']);
  const blob = randomBytes(10 * 1024 * 1024);
  const up = await request(h.port, 'POST', '/v1/artifacts', {
    headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/octet-stream', 'content-length': blob.length },
    body: blob });
  assert.equal(up.status, 201, up.body.toString());
  const hex = JSON.parse(up.body).sha256;
  // Start the download, read slowly, stop the server in the middle.
  const got = await new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: h.port, path: `/v1/artifacts/sha256/${hex}`, agent: false }, (res) => {
      const chunks = [];
      let signalled = false;
      res.on('data', (c) => {
        chunks.push(c);
        if (!signalled) {
          signalled = true;
          res.pause();
          h.proc.kill('SIGTERM');
          setTimeout(() => res.resume(), 500);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  assert.equal(got.status, 200);
  assert.equal(got.body.length, blob.length, 'the whole download arrived');
  assert.equal(createHash('sha256').update(got.body).digest('hex'), hex);
  const exit = await stop(h);
  assert.equal(exit.code, 0, h.stderr);
  assert.match(h.stderr, /stopping: draining in-flight requests/);
  assert.match(h.stderr, new RegExp(`GET /v1/artifacts/sha256/${hex} 200 ${blob.length}B`));
});

/* Send raw HTTP/1.1 requests on one kept-alive socket; next() resolves with the head
 * and body of the next response (Content-Length framed). */
function rawConn(port) {
  const sock = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  const waiters = [];
  const pump = () => {
    while (waiters.length) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0)
        return;
      const head = buf.subarray(0, end).toString();
      const len = Number(head.match(/^content-length: *(\d+)/im)?.[1] ?? 0);
      if (buf.length < end + 4 + len)
        return;
      const body = buf.subarray(end + 4, end + 4 + len);
      buf = buf.subarray(end + 4 + len);
      waiters.shift().resolve({ status: Number(head.split(' ')[1]), head, body });
    }
  };
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
  sock.on('error', (e) => { while (waiters.length) waiters.shift().reject(e); });
  sock.on('close', () => { while (waiters.length) waiters.shift().reject(new Error('connection closed')); });
  const closed = new Promise((r) => sock.on('close', r));
  return {
    sock, closed,
    get(p) {
      sock.write(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      return new Promise((resolve, reject) => { waiters.push({ resolve, reject }); pump(); });
    },
  };
}

/* Upload a random blob of n bytes with a fresh admin token; its sha256. */
async function uploadBlob(dir, port, n) {
  const tok = (await run(['token', 'create', '--data', dir])).stdout.trim();
  const blob = randomBytes(n);
  const up = await request(port, 'POST', '/v1/artifacts', {
    headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/octet-stream', 'content-length': blob.length },
    body: blob });
  assert.equal(up.status, 201, up.body.toString());
  return JSON.parse(up.body).sha256;
}

test('during the drain, a request on a kept-alive connection is answered with Connection: close', async () => {
  const dir = await newData();
  const h = await serve(dir, ['--drain-timeout', '10']);
  const hex = await uploadBlob(dir, h.port, 10 * 1024 * 1024);
  const c = rawConn(h.port);
  const first = await c.get('/v1/health');
  assert.equal(first.status, 200);
  assert.doesNotMatch(first.head, /^connection: *close/im, 'before SIGTERM the connection is kept');
  // An in-flight download keeps the server draining while the kept-alive connection
  // sends its next request.
  let dl;
  const downloading = new Promise((resolve, reject) => {
    dl = http.get({ host: '127.0.0.1', port: h.port, path: `/v1/artifacts/sha256/${hex}`, agent: false }, (res) => {
      const chunks = [];
      res.once('data', () => { res.pause(); resolve(res); });
      res.on('data', (x) => chunks.push(x));
      res.on('end', () => { res.total = Buffer.concat(chunks).length; });
    });
    dl.on('error', reject);
  });
  const res = await downloading;
  h.proc.kill('SIGTERM');
  for (let i = 0; i < 100 && !h.stderr.includes('stopping: draining'); i++)
    await sleep(20);
  const second = await c.get('/v1/runtimes');
  assert.equal(second.status, 200, 'a request arriving during the drain is still served');
  assert.match(second.head, /^connection: *close/im, 'and tells the client to move off');
  await c.closed; // the server closes the connection after that response
  // A new connection is refused: the listener is closed.
  await assert.rejects(request(h.port, 'GET', '/v1/health'));
  const ended = new Promise((r) => res.on('end', r));
  res.resume();
  await ended;
  assert.equal(res.total, 10 * 1024 * 1024, 'the in-flight download completes');
  assert.equal((await stop(h)).code, 0, h.stderr);
});

test('a download cut mid-body is logged with the bytes sent and a cut marker', async () => {
  const dir = await newData();
  const logFile = path.join(path.dirname(dir), 'cut.log');
  const h = await serve(dir, ['--log-file', logFile, '--log-format', 'json', '--drain-timeout', '1']);
  const size = 10 * 1024 * 1024;
  const hex = await uploadBlob(dir, h.port, size);
  try {
    // 1. The client goes away after reading about 1 MB.
    const got = await new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: h.port, path: `/v1/artifacts/sha256/${hex}`, agent: false,
                             headers: { 'X-Request-Id': 'cut-client' } }, (res) => {
        let n = 0;
        res.on('data', (x) => {
          n += x.length;
          if (n >= 1024 * 1024) {
            res.pause();
            setTimeout(() => { req.destroy(); resolve(n); }, 200);
          }
        });
      });
      req.on('error', () => {});
      req.on('close', () => {});
      setTimeout(() => reject(new Error('download did not start')), 10000);
    });
    let line;
    for (let i = 0; i < 200 && !line; i++) {
      await sleep(25);
      line = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
        .find((j) => j.request_id === 'cut-client');
    }
    assert.ok(line, 'an access line for the cut download');
    assert.equal(line.status, 200, 'the status that was sent');
    assert.equal(line.completed, false);
    assert.match(line.cut, /^(client_closed|connection_error)$/);
    assert.ok(line.bytes >= got * 0.5 && line.bytes < size, `bytes actually sent: ${line.bytes} (client read ${got})`);
    // A whole download says so.
    const whole = await request(h.port, 'GET', `/v1/artifacts/sha256/${hex}`, { headers: { 'X-Request-Id': 'whole' } });
    assert.equal(whole.body.length, size);
    for (let i = 0; i < 200 && !line?.completed; i++) {
      await sleep(25);
      line = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
        .find((j) => j.request_id === 'whole');
    }
    assert.equal(line.completed, true);
    assert.equal(line.cut, undefined);
    assert.equal(line.bytes, size);
    // 2. The drain timeout cuts a download the client stopped reading.
    let stalled;
    await new Promise((resolve, reject) => {
      stalled = http.get({ host: '127.0.0.1', port: h.port, path: `/v1/artifacts/sha256/${hex}`, agent: false,
                           headers: { 'X-Request-Id': 'cut-drain' } }, (res) => {
        res.once('data', () => { res.pause(); resolve(); });
      });
      stalled.on('error', () => {});
      setTimeout(() => reject(new Error('download did not start')), 10000);
    });
    h.proc.kill('SIGTERM');
    assert.equal((await h.exited).code, 0, h.stderr);
    stalled.destroy();
    line = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
      .find((j) => j.request_id === 'cut-drain');
    assert.ok(line, 'the cut download is logged before the process exits');
    assert.equal(line.status, 200);
    assert.equal(line.completed, false);
    assert.equal(line.cut, 'shutdown');
    assert.ok(line.bytes > 0 && line.bytes < size, `bytes sent before the drain timeout: ${line.bytes}`);
  } finally {
    await stop(h);
  }
});

test('SIGHUP reopens --log-file; JSON logs carry the status as a number', async () => {
  const dir = await newData();
  const logFile = path.join(path.dirname(dir), 'almanacd.log');
  const h = await serve(dir, ['--log-file', logFile, '--log-format', 'json']);
  try {
    await request(h.port, 'GET', '/v1/runtimes', { headers: { 'X-Request-Id': 'before-hup' } });
    // The access line is written when the response completes, which may be just after
    // the client has read it: wait for it before moving the file away.
    for (let i = 0; i < 200 && !fs.readFileSync(logFile, 'utf8').includes('before-hup'); i++)
      await sleep(25);
    fs.renameSync(logFile, `${logFile}.1`);
    h.proc.kill('SIGHUP');
    await sleep(300);
    assert.equal(h.exit, null, 'SIGHUP does not stop the server');
    await request(h.port, 'GET', '/v1/runtimes', { headers: { 'X-Request-Id': 'after-hup' } });
    for (let i = 0; i < 200 && !fs.readFileSync(logFile, 'utf8').includes('after-hup'); i++)
      await sleep(25);
    const old = fs.readFileSync(`${logFile}.1`, 'utf8');
    const cur = fs.readFileSync(logFile, 'utf8');
    assert.ok(old.includes('before-hup') && !old.includes('after-hup'));
    assert.ok(cur.includes('after-hup'));
    const line = cur.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((j) => j.request_id === 'after-hup');
    assert.equal(line.status, 200);
    assert.equal(typeof line.bytes, 'number');
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/v1/runtimes');
    assert.equal(line.principal, '-');
    assert.match(line.time, new RegExp(`^${RFC3339_MS}$`));
  } finally {
    assert.equal((await stop(h)).code, 0);
  }
});

/* ------------------------------------------------------- backup, restore */

test('backup beside a running server -> restore -> fsck -> identical resolves', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'almanac.backup');
  let r = await run(['backup', '--data', s.dataDir, '--to', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /holds the signing keys/);
  r = await run(['backup', '--data', s.dataDir, '--to', file]);
  assert.notEqual(r.code, 0, 'an existing file is not overwritten');
  const restored = path.join(dir, 'restored');
  r = await run(['restore', '--from', file, '--data', restored]);
  assert.equal(r.code, 0, r.stderr);
  r = await run(['fsck', '--data', restored]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, / 0 corrupt, 0 missing, 0 mismatched/);
  const h = await serve(restored);
  try {
    for (const q of ['date=2026-01-15&flags=python_workers', 'date=2025-06-01&flags=python_workers&requirements=numpy']) {
      const a = validate('GET', '/v1/resolve', 200, await api('GET', `/v1/resolve?${q}`));
      const b = await request(h.port, 'GET', `/v1/resolve?${q}`);
      assert.equal(b.status, 200);
      assert.equal(b.body.toString(), a.text, `identical resolve (lock and signature) for ${q}`);
    }
    const k1 = validate('GET', '/v1/keys', 200, await api('GET', '/v1/keys')).text;
    assert.equal((await request(h.port, 'GET', '/v1/keys')).body.toString(), k1, 'the same signing keys');
  } finally {
    assert.equal((await stop(h)).code, 0);
  }
  r = await run(['restore', '--from', file, '--data', restored]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /exists and is not empty/);
});

test('backup --no-artifacts: restore records them missing; fsck lists them and passes', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'small.backup');
  let r = await run(['backup', '--data', s.dataDir, '--to', file, '--no-artifacts']);
  assert.equal(r.code, 0, r.stderr);
  const restored = path.join(dir, 'restored');
  r = await run(['restore', '--from', file, '--data', restored]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /recorded as missing/);
  r = await run(['fsck', '--data', restored]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^not restored [0-9a-f]{64}: left out of the backup/m);
  // A backup without the signing keys is refused: it would change the key.
  const nokeys = path.join(dir, 'nokeys.backup');
  fs.copyFileSync(file, nokeys);
  const names = (await new Promise((res) => { const c = spawn('tar', ['tf', nokeys]); let o = ''; c.stdout.on('data', (d) => { o += d; }); c.on('close', () => res(o)); }))
    .split('\n').filter((n) => n.startsWith('keys/'));
  assert.ok(names.length > 0, 'the backup holds keys/');
  await new Promise((res) => spawn('tar', ['--delete', '-f', nokeys, ...names]).on('close', res));
  r = await run(['restore', '--from', nokeys, '--data', path.join(dir, 'nokeys')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /lacks the signing key/);
});

test('--tls-cert/--tls-key serve HTTPS (libmicrohttpd with GnuTLS); plain HTTP is refused there', async (t) => {
  const dir = await newData();
  const certDir = tmpDir();
  const key = path.join(certDir, 'key.pem'), cert = path.join(certDir, 'cert.pem');
  const gen = await new Promise((res) => spawn('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                                                          '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
                                                          '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
    .on('error', () => res(1)).on('close', res));
  if (gen !== 0) {
    t.skip('no openssl to make a test certificate');
    return;
  }
  const port = await freePort();
  const proc = spawn(BIN, ['serve', '--data', dir, '--listen', `127.0.0.1:${port}`, '--tls-cert', cert, '--tls-key', key],
                     { env: { ...process.env, ALMANAC_TODAY: TODAY }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  const https = await import('node:https');
  const get = () => new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/v1/health', ca: fs.readFileSync(cert), agent: false }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
    }).on('error', reject);
  });
  try {
    let r = null;
    for (let i = 0; i < 100 && !r; i++) {
      try { r = await get(); } catch { await sleep(50); }
    }
    assert.ok(r, `no HTTPS answer: ${stderr}`);
    assert.equal(r.status, 200);
    // The line is logged once the socket listens: a client can be answered first.
    for (let i = 0; i < 100 && !/serving on https:/.test(stderr); i++) await sleep(50);
    assert.match(stderr, /serving on https:\/\/127\.0\.0\.1:/);
    await assert.rejects(request(port, 'GET', '/v1/health'), 'plain HTTP gets no answer');
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(!SANITIZER.test(stderr), `almanacd serve printed a sanitizer report:\n${stderr}`);
  }
  const bad = await run(['serve', '--data', dir, '--tls-cert', cert]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /go together/);
});
