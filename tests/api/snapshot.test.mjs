// The signed catalog snapshot (issue 14): GET /v1/catalog/snapshot and .../signature.
// Canonical bytes, version = newest catalog event, 7-day expiry, drafts never, the
// previous document's digest, zstd negotiation, 304, and a signature that the stock
// minisign and a plain Ed25519 check both accept.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { api, server, sha256Hex, startServer, validate } from './lib/harness.mjs';

await startServer();

const SNAP = '/v1/catalog/snapshot';
const SIG = '/v1/catalog/snapshot/signature';
const CATALOG_KINDS = /^(runtime|package_set|flag|python_line|artifact)\./;

function canonical(v) {
  if (Array.isArray(v))
    return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

async function snapshot() {
  return validate('GET', SNAP, 200, await api('GET', SNAP));
}

async function signature() {
  return validate('GET', SIG, 200, await api('GET', SIG));
}

async function allEvents() {
  const out = [];
  for (let after = 0; ;) {
    const r = validate('GET', '/v1/events', 200, await api('GET', `/v1/events?after=${after}&limit=1000`));
    out.push(...r.json.events);
    if (r.json.events.length < 1000)
      return out;
    after = r.json.events.at(-1).seq;
  }
}

/* Verify a minisign prehashed signature with node's Ed25519, as a client would. */
function minisignVerify(pubText, content, sigText) {
  const pubB64 = pubText.trim().split('\n').at(-1);
  const pk = Buffer.from(pubB64, 'base64');
  const lines = sigText.trim().split('\n');
  const sig = Buffer.from(lines[1], 'base64');
  const trusted = lines[2].replace(/^trusted comment: /, '');
  const global = Buffer.from(lines[3], 'base64');
  assert.equal(sig.subarray(0, 2).toString(), 'ED', 'prehashed signature');
  assert.deepEqual(sig.subarray(2, 10), pk.subarray(2, 10), 'key id of the signature is the key');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pk.subarray(10).toString('base64url') }, format: 'jwk' });
  const b2 = createHash('blake2b512').update(content).digest();
  const okSig = verify(null, b2, key, sig.subarray(10));
  const okGlobal = verify(null, Buffer.concat([sig.subarray(10), Buffer.from(trusted)]), key, global);
  return { ok: okSig && okGlobal, trusted };
}

function rawGet(p, headers) {
  const s = server();
  return new Promise((resolve, reject) => {
    http.get(`${s.url}${p}`, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('the snapshot is canonical JSON of the published catalog, versioned by the newest catalog event', async () => {
  const r = await snapshot();
  const doc = r.json;
  assert.equal(r.text, canonical(doc), 'canonical bytes');
  assert.equal(r.headers.etag, `"${sha256Hex(r.body)}"`);
  assert.equal(r.headers['almanac-snapshot-digest'], `sha256:${sha256Hex(r.body)}`);
  assert.equal(r.headers['almanac-snapshot-version'], String(doc.version));
  assert.equal(r.headers['cache-control'], 'no-cache');
  const events = await allEvents();
  const newest = events.filter((e) => CATALOG_KINDS.test(e.kind)).at(-1).seq;
  assert.equal(doc.version, newest, 'version is the seq of the newest catalog event');
  const life = Date.parse(doc.expires) - Date.parse(doc.issued_at);
  assert.equal(life, 7 * 86400 * 1000, 'default lifetime 7 days');
  assert.ok(Math.abs(Date.parse(doc.issued_at) - Date.now()) < 60000, 'issued now by the real clock');
  assert.equal(doc.previous, null, 'the first document has no previous');
  assert.deepEqual(doc.python_lines.map((l) => l.line), ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14', '3.15']);
  assert.deepEqual(doc.runtimes.map((x) => x.id),
                   ['pyodide-0.26.4', 'pyodide-0.27.7', 'pyodide-0.28.3', 'pyodide-0.29.3', 'pyodide-314.0.7']);
  const flags = validate('GET', '/v1/flags', 200, await api('GET', '/v1/flags'));
  assert.deepEqual(doc.flags.map((f) => f.name), flags.json.flags.map((f) => f.name).sort());
  for (const rt of doc.runtimes)
    for (const a of rt.artifacts)
      assert.ok(a.size > 0 && /^[0-9a-f]{64}$/.test(a.sha256), `${rt.id} ${a.role} has digest and size`);
  const set = doc.package_sets.find((s) => s.id === 'pyodide-0.26.4/2024-11-15');
  assert.ok(set.packages.length > 300);
  const ssl = set.packages.find((p) => p.name === 'ssl');
  assert.deepEqual(ssl.depends, ['openssl']);
  // the same bytes again while nothing changed
  const again = await snapshot();
  assert.equal(again.text, r.text);
});

test('the signature verifies with the stock minisign and with Ed25519, and binds kind, digest, size, version, expiry', async () => {
  const r = await snapshot();
  const s = await signature();
  assert.equal(s.headers['almanac-snapshot-digest'], r.headers['almanac-snapshot-digest']);
  const keys = validate('GET', '/v1/keys', 200, await api('GET', '/v1/keys'));
  const key = keys.json.keys.find((k) => k.current);
  const { ok, trusted } = minisignVerify(key.public_key, r.body, s.text);
  assert.ok(ok, 'Ed25519 over BLAKE2b-512 and the trusted comment');
  assert.match(trusted, new RegExp(`^almanac kind=snapshot sha256=${sha256Hex(r.body)} size=${r.body.length} key=${key.id} ` +
                                   `signed=\\S+ version=${r.json.version} expires=${r.json.expires}$`));
  assert.ok(!minisignVerify(key.public_key, Buffer.concat([r.body, Buffer.from(' ')]), s.text).ok, 'a changed byte fails');
  try {
    execFileSync('minisign', ['-v'], { stdio: 'ignore' });
  } catch {
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-snap-'));
  try {
    fs.writeFileSync(path.join(dir, 'snapshot.json'), r.body);
    fs.writeFileSync(path.join(dir, 'snapshot.json.minisig'), s.text);
    fs.writeFileSync(path.join(dir, 'key.pub'), key.public_key);
    const out = execFileSync('minisign', ['-V', '-p', path.join(dir, 'key.pub'), '-m', path.join(dir, 'snapshot.json')],
                             { encoding: 'utf8' });
    assert.match(out, /verified/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('zstd when accepted, identity otherwise; If-None-Match gives 304', async () => {
  const id = await snapshot();
  const z = await rawGet(SNAP, { 'accept-encoding': 'zstd' });
  assert.equal(z.status, 200);
  assert.equal(z.headers['content-encoding'], 'zstd');
  assert.equal(z.headers.etag, `"${sha256Hex(id.body)}+zstd"`);
  assert.deepEqual([...z.body.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'a zstd frame');
  assert.ok(z.body.length < id.body.length / 3, 'compressed');
  try {
    const plain = execFileSync('zstd', ['-d', '-c'], { input: z.body });
    assert.ok(plain.equals(id.body), 'decompresses to the identity bytes');
  } catch (e) {
    if (e.code !== 'ENOENT')
      throw e;
  }
  const gz = await rawGet(SNAP, { 'accept-encoding': 'gzip, zstd;q=0' });
  assert.equal(gz.headers['content-encoding'], undefined);
  const nm = validate('GET', SNAP, 304, await api('GET', SNAP, { headers: { 'if-none-match': id.headers.etag } }));
  assert.equal(nm.headers.etag, id.headers.etag);
  validate('GET', SIG, 304, await api('GET', SIG, { headers: { 'if-none-match': `"${sha256Hex(id.body)}.minisig"` } }));
  validate('HEAD', SNAP, 200, await api('HEAD', SNAP));
  validate('POST', SNAP, 405, await api('POST', SNAP, { body: {} }));
});

test('drafts never appear; a catalog change issues a higher version naming the previous document', async () => {
  const before = await snapshot();
  const put = validate('PUT', '/v1/flags/{name}', 201,
                       await api('PUT', '/v1/flags/snapshot_draft', { token: true,
                         body: { disable_flag: 'no_snapshot_draft', enable_date: '2027-01-01', description: 'draft' } }));
  assert.equal(put.json.state, 'draft');
  const mid = await snapshot();
  assert.ok(mid.json.version > before.json.version, 'a catalog event moves the version');
  assert.equal(mid.json.previous, `sha256:${sha256Hex(before.body)}`);
  assert.ok(!mid.json.flags.some((f) => f.name === 'snapshot_draft'), 'drafts never appear');
  validate('POST', '/v1/flags/{name}/publish', 200,
           await api('POST', '/v1/flags/snapshot_draft/publish', { token: true }));
  const after = await snapshot();
  assert.ok(after.json.version > mid.json.version);
  assert.equal(after.json.previous, `sha256:${sha256Hex(mid.body)}`);
  const f = after.json.flags.find((x) => x.name === 'snapshot_draft');
  assert.deepEqual(f, { name: 'snapshot_draft', disable: 'no_snapshot_draft', enable_date: '2027-01-01',
                        experimental: false, implied_by: [], bundle: null });
  const s = await signature();
  assert.match(s.text, new RegExp(`sha256=${sha256Hex(after.body)} `), 'the signature follows the new document');
});

test('GET /v1/key-rotations lists no statement before the first rotation', async () => {
  const r = validate('GET', '/v1/key-rotations', 200, await api('GET', '/v1/key-rotations'));
  assert.deepEqual(r.json, { rotations: [] });
});
