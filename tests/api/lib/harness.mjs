// tests/api/lib/harness.mjs: start a real almanacd for one test file, talk HTTP to it,
// and check every response against openapi.yaml.
//
// A test file calls `await startServer()` once at top level. That makes a temporary
// data directory, seeds it (`almanacd seed`), creates an admin token, starts
// `almanacd serve` on a free loopback port with ALMANAC_TODAY set (default
// 2026-11-25) and waits for /v1/health. An `after` hook stops the server with SIGTERM
// and fails the file when almanacd did not exit cleanly or printed a sanitizer report
// (AddressSanitizer, LeakSanitizer, UBSan "runtime error:") on any of its runs, or
// when a response was fetched with api() but never checked with validate().
//
// The binaries come from $ALMANAC_BIN_DIR (default: build, relative to the repo root).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SPEC_PATH = path.join(ROOT, 'openapi.yaml');
export const DEFAULT_TODAY = '2026-11-25';

const BIN_DIR = path.resolve(ROOT, process.env.ALMANAC_BIN_DIR || 'build');
const SANITIZER_PATTERNS = [/ERROR: AddressSanitizer/, /ERROR: LeakSanitizer/, /runtime error:/,
                            /SUMMARY: UndefinedBehaviorSanitizer/];
const START_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 20000;
const REQUEST_TIMEOUT_MS = 30000;
const JSON_TYPES = new Set(['application/json', 'application/problem+json']);

/* ------------------------------------------------------------------ the spec */

function loadSpec() {
  const spec = YAML.parse(fs.readFileSync(SPEC_PATH, 'utf8'));
  // Component schemas become one registered schema's $defs; every reference to them,
  // anywhere in the document, is rewritten to point there.
  const rewritten = JSON.parse(JSON.stringify(spec).replaceAll(
    '"#/components/schemas/', '"openapi.json#/$defs/'));
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  ajv.addSchema({ $id: 'openapi.json', $defs: rewritten.components.schemas });
  return { spec, rewritten, ajv, compiled: new Map() };
}

let SPEC = null;
export function spec() {
  if (!SPEC)
    SPEC = loadSpec();
  return SPEC.spec;
}

function specState() {
  spec();
  return SPEC;
}

function deref(doc, obj) {
  let o = obj;
  for (let i = 0; o && o.$ref && i < 10; i++) {
    assert.ok(o.$ref.startsWith('#/'), `unsupported $ref ${o.$ref}`);
    o = o.$ref.slice(2).split('/').reduce((acc, k) => (acc ? acc[k] : undefined), doc);
    assert.ok(o, `unresolvable $ref ${obj.$ref}`);
  }
  return o;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/* The methods a documented path supports, as the server's Allow header lists them. */
export function documentedMethods(route) {
  const item = spec().paths[route];
  const out = new Set();
  for (const m of METHODS) {
    if (item && item[m]) {
      out.add(m.toUpperCase());
      if (m === 'get')
        out.add('HEAD');
    }
  }
  return out;
}

function routeRegex(route) {
  const esc = route.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^${esc}/?$`);
}

/* The documented path template that matches a concrete path, or null. Literal
 * segments win over parameters (as in the server's tables). */
export function matchRoute(p) {
  let bare = p.split('?')[0];
  try {
    bare = decodeURIComponent(bare); // the server decodes segments (%2F included)
  } catch {
    // a malformed escape: match it as it is
  }
  const hits = Object.keys(spec().paths).filter((r) => routeRegex(r).test(bare));
  hits.sort((a, b) => (b.match(/\/[^{/][^/]*/g) || []).length - (a.match(/\/[^{/][^/]*/g) || []).length);
  return hits[0] || null;
}

function compileAt(key, schema) {
  const st = specState();
  let v = st.compiled.get(key);
  if (!v) {
    v = st.ajv.compile(schema);
    st.compiled.set(key, v);
  }
  return v;
}

function mediaType(res) {
  return String(res.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
}

function briefBody(res) {
  const t = res.text || '';
  return t.length > 1500 ? `${t.slice(0, 1500)}... (${t.length} bytes)` : t;
}

/* Check a response against the spec: the status must be documented for the operation
 * (METHOD on routePattern), the content type must be one it documents, the body must
 * validate against that schema and required headers must be there. routePattern null
 * means "a path no route matches" (the generic 404). A method the path does not
 * document must be a 405 whose Allow header lists exactly the documented methods. */
export function validate(method, routePattern, status, res) {
  const st = specState();
  const M = method.toUpperCase();
  const where = `${M} ${routePattern ?? '(no route)'} -> ${res.status}`;
  let responseSpec;

  pending.delete(res);
  if (process.env.ALMANAC_API_COVERAGE)
    fs.appendFileSync(process.env.ALMANAC_API_COVERAGE, `${M === 'HEAD' ? 'GET' : M} ${routePattern} ${status}\n`);
  assert.equal(res.status, status, `${where}: expected status ${status}; body: ${briefBody(res)}`);
  if (res.request) {
    assert.equal(res.request.method, M, `${where}: validated as ${M} but sent as ${res.request.method}`);
    assert.equal(matchRoute(res.request.path), routePattern,
                 `${where}: request path ${res.request.path} is not the route ${routePattern}`);
  }
  if (routePattern === null) {
    assert.equal(status, 404, `${where}: a path no route matches can only be 404`);
    responseSpec = deref(st.spec, st.spec.components.responses.NotFound);
  } else {
    const item = st.spec.paths[routePattern];
    assert.ok(item, `${where}: route ${routePattern} is not documented in openapi.yaml`);
    const op = item[M === 'HEAD' ? 'get' : M.toLowerCase()];
    if (!op) {
      assert.equal(status, 405, `${where}: ${M} is not documented on ${routePattern}`);
      responseSpec = deref(st.spec, st.spec.components.responses.MethodNotAllowed);
      const allow = new Set(String(res.headers.allow || '').split(',').map((s) => s.trim()).filter(Boolean));
      assert.deepEqual([...allow].sort(), [...documentedMethods(routePattern)].sort(),
                       `${where}: Allow header '${res.headers.allow}' differs from the documented methods`);
    } else {
      const r = op.responses && op.responses[String(status)];
      assert.ok(r, `${where}: status ${status} is not documented for ${M} ${routePattern}`);
      responseSpec = deref(st.spec, r);
    }
  }
  for (const [name, h] of Object.entries(responseSpec.headers || {})) {
    const hs = deref(st.spec, h);
    const v = res.headers[name.toLowerCase()];
    if (hs.required)
      assert.ok(v !== undefined, `${where}: required header ${name} is missing`);
    if (v !== undefined && hs.schema) {
      const check = compileAt(`header ${where} ${name}`,
                              JSON.parse(JSON.stringify(hs.schema).replaceAll('"#/components/schemas/', '"openapi.json#/$defs/')));
      assert.ok(check(v), `${where}: header ${name}: '${v}' does not match ${JSON.stringify(hs.schema)}`);
    }
  }
  if (M === 'HEAD') {
    assert.equal(res.body.length, 0, `${where}: HEAD answered with a body`);
    return res;
  }
  if (!responseSpec.content) {
    assert.equal(res.body.length, 0, `${where}: undocumented body: ${briefBody(res)}`);
    return res;
  }
  const mt = mediaType(res);
  const media = responseSpec.content[mt] || responseSpec.content[`${mt.split('/')[0]}/*`] ||
                responseSpec.content['*/*'];
  assert.ok(media, `${where}: content type '${res.headers['content-type']}' is not one of ` +
                   `${Object.keys(responseSpec.content).join(', ')}`);
  if (!media.schema || media.schema.format === 'binary')
    return res;
  const schema = JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/schemas/', '"openapi.json#/$defs/'));
  const check = compileAt(`${M} ${routePattern} ${status} ${mt}`, schema);
  let value;
  if (JSON_TYPES.has(mt)) {
    assert.ok(res.json !== undefined, `${where}: body is not JSON: ${briefBody(res)}`);
    value = res.json;
  } else {
    value = res.text;
  }
  if (!check(value)) {
    const errs = check.errors.slice(0, 12).map((e) => `  ${e.instancePath || '/'} ${e.message}` +
      (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '')).join('\n');
    assert.fail(`${where}: response does not match openapi.yaml:\n${errs}\nbody: ${briefBody(res)}`);
  }
  return res;
}

/* Compile every documented schema once: a typo in openapi.yaml fails loudly. */
export function compileWholeSpec() {
  const st = specState();
  for (const [route, item] of Object.entries(st.spec.paths)) {
    for (const m of METHODS) {
      if (!item[m])
        continue;
      for (const [status, r] of Object.entries(item[m].responses || {})) {
        const resp = deref(st.spec, r);
        for (const [mt, media] of Object.entries(resp.content || {})) {
          if (media.schema)
            compileAt(`${m.toUpperCase()} ${route} ${status} ${mt}`,
                      JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/schemas/', '"openapi.json#/$defs/')));
        }
      }
    }
  }
  for (const name of Object.keys(st.spec.components.schemas))
    compileAt(`schema ${name}`, { $ref: `openapi.json#/$defs/${name}` });
}

/* Validate any value against a component schema (for request bodies and fragments). */
export function validateSchema(name, value) {
  const check = compileAt(`schema ${name}`, { $ref: `openapi.json#/$defs/${name}` });
  if (!check(value))
    assert.fail(`value does not match schema ${name}: ${JSON.stringify(check.errors.slice(0, 8))}`);
}

/* ---------------------------------------------------------------- the server */

let current = null;
const pending = new Set();

function binary(name) {
  const p = path.join(BIN_DIR, name);
  assert.ok(fs.existsSync(p), `${p} does not exist: build it first (make), or set ALMANAC_BIN_DIR`);
  return p;
}

function run(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary('almanacd'), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sanitizerReport(text) {
  return SANITIZER_PATTERNS.some((re) => re.test(text));
}

class Server {
  constructor(opts) {
    this.today = opts.today;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-api-'));
    this.dataDir = path.join(this.tmp, 'data');
    // zstd level 1 keeps the seed's storing of the core artifacts to a second or two.
    this.env = { ALMANAC_ZSTD_LEVEL: '1', ...process.env, ALMANAC_TODAY: this.today, ...opts.env };
    this.serveArgs = opts.serveArgs || [];
    delete this.env.ALMANAC_DATA;
    this.logs = []; // [label, stderr text]
    this.proc = null;
    this.exit = null;
    this.stderr = '';
  }

  async prepare(seed) {
    fs.mkdirSync(this.dataDir, { recursive: true });
    // serve and token refuse a directory without a database: seed or init makes one.
    const r = await run([seed ? 'seed' : 'init', '--data', this.dataDir], this.env);
    this.logs.push([`almanacd ${seed ? 'seed' : 'init'}`, r.stderr]);
    assert.equal(r.code, 0, `almanacd ${seed ? 'seed' : 'init'} failed (${r.code ?? r.signal}):\n${r.stderr}`);
    const t = await run(['token', 'create', '--data', this.dataDir], this.env);
    this.logs.push(['almanacd token create', t.stderr]);
    assert.equal(t.code, 0, `almanacd token create failed:\n${t.stderr}`);
    this.token = t.stdout.trim();
    assert.match(this.token, /^alm_[0-9a-f]{64}$/, 'token create prints the token alone on stdout');
  }

  async start() {
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort();
      this.url = `http://127.0.0.1:${this.port}`;
      this.stderr = '';
      this.exit = null;
      this.proc = spawn(binary('almanacd'),
                        ['serve', '--data', this.dataDir, '--listen', `127.0.0.1:${this.port}`,
                         ...this.serveArgs],
                        { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
      this.proc.stderr.on('data', (d) => { this.stderr += d; });
      this.exited = new Promise((resolve) => {
        this.proc.on('exit', (code, signal) => { this.exit = { code, signal }; resolve(this.exit); });
      });
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (Date.now() < deadline && !this.exit) {
        try {
          const r = await rawRequest(this, 'GET', '/v1/health', {});
          if (r.status === 200)
            return;
        } catch {
          // not listening yet
        }
        await sleep(50);
      }
      if (this.exit && /cannot listen/.test(this.stderr)) {
        this.logs.push([`almanacd serve (port ${this.port} taken)`, this.stderr]);
        continue; // lost the port to someone else: try another
      }
      if (!this.exit)
        this.proc.kill('SIGKILL');
      throw new Error(`almanacd serve did not come up on ${this.url}:\n${this.stderr}`);
    }
    throw new Error('almanacd serve: no free port after 5 tries');
  }

  async stop() {
    const problems = [];
    if (this.proc) {
      if (this.exit) {
        problems.push(`almanacd serve exited during the tests (${JSON.stringify(this.exit)})`);
      } else {
        this.proc.kill('SIGTERM');
        let timer;
        const res = await Promise.race([
          this.exited,
          new Promise((r) => { timer = setTimeout(() => r(null), STOP_TIMEOUT_MS); }),
        ]);
        clearTimeout(timer);
        if (!res) {
          this.proc.kill('SIGKILL');
          await this.exited;
          problems.push(`almanacd serve did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
        } else if (res.code !== 0) {
          problems.push(`almanacd serve exited with ${res.code ?? res.signal} after SIGTERM`);
        }
      }
      this.logs.push(['almanacd serve', this.stderr]);
    }
    for (const [label, text] of this.logs) {
      if (sanitizerReport(text))
        problems.push(`${label} printed a sanitizer report:\n${text}`);
    }
    if (pending.size) {
      const list = [...pending].map((r) => `${r.request.method} ${r.request.path} -> ${r.status}`);
      pending.clear();
      problems.push(`responses never checked with validate():\n  ${list.join('\n  ')}`);
    }
    if (problems.length === 0 || process.env.ALMANAC_KEEP_TMP !== '1')
      fs.rmSync(this.tmp, { recursive: true, force: true });
    if (problems.length)
      throw new Error(problems.join('\n'));
  }
}

/* Start a seeded almanacd for this test file (stopped by an `after` hook). env adds
 * to the environment; serveArgs are extra `almanacd serve` options. */
export async function startServer({ today = DEFAULT_TODAY, seed = true, env = {}, serveArgs = [] } = {}) {
  const s = new Server({ today, env, serveArgs });
  after(() => s.stop());
  await s.prepare(seed);
  await s.start();
  current = s;
  return s;
}

export function server() {
  assert.ok(current, 'startServer() first');
  return current;
}

/* ------------------------------------------------------------------- requests */

function rawRequest(s, method, p, { body, headers = {}, token, chunked = false, expectContinue = false }) {
  return new Promise((resolve, reject) => {
    const h = {};
    for (const [k, v] of Object.entries(headers))
      h[k.toLowerCase()] = v;
    let payload = null;
    if (body !== undefined) {
      payload = Buffer.isBuffer(body) ? body
        : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      // Objects and strings are JSON; a Buffer is raw bytes sent without a type.
      if (!h['content-type'] && !Buffer.isBuffer(body))
        h['content-type'] = 'application/json';
      if (!chunked)
        h['content-length'] = String(payload.length);
    }
    if (token)
      h.authorization = `Bearer ${token === true ? s.token : token}`;
    if (expectContinue)
      h.expect = '100-continue';
    let done = false;
    const req = http.request({ host: '127.0.0.1', port: s.port, method, path: p, headers: h, agent: false,
                               timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => { if (!done) { done = true; reject(e); } });
      res.on('end', () => {
        if (done)
          return;
        done = true;
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        const ct = String(res.headers['content-type'] || '').split(';')[0].trim();
        let json;
        if (JSON_TYPES.has(ct) && buf.length) {
          try { json = JSON.parse(text); } catch { json = undefined; }
        }
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text, json,
                  request: { method, path: p } });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${p}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (e) => { if (!done) { done = true; reject(e); } });
    if (payload === null) {
      req.end();
    } else if (expectContinue) {
      req.on('continue', () => req.end(payload));
    } else if (chunked) {
      const piece = 64 * 1024;
      for (let i = 0; i < payload.length; i += piece)
        req.write(payload.subarray(i, i + piece));
      req.end();
    } else {
      req.end(payload);
    }
  });
}

/* One HTTP request to the current server. body: an object (sent as JSON), a string or
 * a Buffer. token: true for the admin token, or a string to send as the bearer token.
 * chunked: send the body without Content-Length. expectContinue: send
 * `Expect: 100-continue` and the body only when the server asks for it.
 * Returns {status, headers, body (Buffer), text, json, request}. Every response must
 * then go through validate(). */
export async function api(method, p, opts = {}) {
  const res = await rawRequest(server(), method, p, opts);
  pending.add(res);
  return res;
}

/* ------------------------------------------------------------------- helpers */

export function sha256Hex(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

/* A fake but well-formed sha256 from a seed string. */
export function fakeSha(seed) {
  return sha256Hex(Buffer.from(String(seed)));
}

/* Query string from an object, dropping undefined values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null)
      u.append(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  return u.toString();
}

/* GET /v1/resolve?... and validate; returns the response. */
export async function resolveGet(params, status = 200) {
  const r = await api('GET', `/v1/resolve?${qs(params)}`);
  return validate('GET', '/v1/resolve', status, r);
}

/* POST /v1/resolve and validate; returns the response. */
export async function resolvePost(body, status = 200) {
  const r = await api('POST', '/v1/resolve', { body });
  return validate('POST', '/v1/resolve', status, r);
}

/* The codes of a problem's errors[], in order. */
export function codes(res) {
  return (res.json?.errors || []).map((e) => e.code);
}
