// Artifacts, signatures and keys (DESIGN §8): uploads (POST, PUT by digest), the two
// representations (identity and zstd), ETag/304, one Range (206/416), digests, the
// Wasm facts, signatures verified by the stock minisign, keys, and the upload limit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { api, resolveGet, sha256Hex, startServer, validate } from './lib/harness.mjs';

const UPLOAD_LIMIT = 64 * 1024;
await startServer({ serveArgs: ['--upload-limit', String(UPLOAD_LIMIT)] });

const ART = '/v1/artifacts/sha256/{hex}';
const TEXT = Buffer.from('hello almanac artifact\n'.repeat(40));
const TEXT_HEX = sha256Hex(TEXT);

/* (module (func (export "f"))) */
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                          0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
                          0x03, 0x02, 0x01, 0x00,
                          0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00,
                          0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b]);

function b64digest(buf) {
  return `sha-256=:${createHash('sha256').update(buf).digest('base64')}:`;
}

function have(tool) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    try {
      execFileSync(tool, ['-v'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
}

function withTmp(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-art-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function upload(body, { file_name, status, token = true, headers } = {}) {
  const q = file_name ? `?file_name=${encodeURIComponent(file_name)}` : '';
  return validate('POST', '/v1/artifacts', status, await api('POST', `/v1/artifacts${q}`, { body, token, headers }));
}

test('POST /v1/artifacts stores bytes once (201, then 200) and says where', async () => {
  const r = await upload(TEXT, { file_name: 'hello.txt', status: 201, headers: { 'content-type': 'text/plain' } });
  assert.equal(r.json.sha256, TEXT_HEX);
  assert.equal(r.json.size, TEXT.length);
  assert.equal(r.json.stored, true);
  assert.ok(r.json.stored_size > 0 && r.json.stored_size < TEXT.length, 'kept zstd-compressed');
  assert.equal(r.json.file_name, 'hello.txt');
  assert.equal(r.json.media_type, 'text/plain');
  assert.equal(r.json.url, `/v1/artifacts/sha256/${TEXT_HEX}`);
  assert.equal(r.headers.location, r.json.url);
  const again = await upload(TEXT, { file_name: 'hello.txt', status: 200 });
  assert.deepEqual(again.json, r.json);
  const put = validate('PUT', ART, 200, await api('PUT', `/v1/artifacts/sha256/${TEXT_HEX}`, { body: TEXT, token: true }));
  assert.equal(put.json.sha256, TEXT_HEX);
});

test('GET: identity bytes with ETag, digests and immutable caching; HEAD and /file/{name}', async () => {
  const r = validate('GET', ART, 200, await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}`));
  assert.ok(r.body.equals(TEXT));
  assert.equal(r.headers.etag, `"${TEXT_HEX}"`);
  assert.equal(r.headers['repr-digest'], b64digest(TEXT));
  assert.equal(r.headers['content-digest'], b64digest(TEXT));
  assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.headers['content-type'], 'text/plain');
  const h = validate('HEAD', ART, 200, await api('HEAD', `/v1/artifacts/sha256/${TEXT_HEX}`));
  assert.equal(h.headers.etag, r.headers.etag);
  const f = validate('GET', `${ART}/file/{name}`, 200,
                     await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}/file/any-name.txt`));
  assert.ok(f.body.equals(TEXT));
});

test('GET with Accept-Encoding: zstd sends the stored frames as they are', async () => {
  const r = validate('GET', ART, 200, await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}`,
                                                  { headers: { 'accept-encoding': 'gzip, zstd' } }));
  assert.equal(r.headers['content-encoding'], 'zstd');
  assert.equal(r.headers.etag, `"${TEXT_HEX}+zstd"`);
  assert.equal(r.headers['repr-digest'], b64digest(r.body), 'the digest of what was sent');
  assert.ok(r.body.length < TEXT.length);
  if (have('zstd')) {
    const plain = withTmp((dir) => {
      fs.writeFileSync(path.join(dir, 'a.zst'), r.body);
      return execFileSync('zstd', ['-d', '-c', '-q', path.join(dir, 'a.zst')]);
    });
    assert.ok(plain.equals(TEXT), 'stock zstd decodes it to the identity bytes');
  }
  const q0 = validate('GET', ART, 200, await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}`,
                                                   { headers: { 'accept-encoding': 'zstd;q=0' } }));
  assert.equal(q0.headers['content-encoding'], undefined, 'q=0 refuses zstd');
  const star = validate('GET', ART, 200, await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}`,
                                                     { headers: { 'accept-encoding': '*' } }));
  assert.equal(star.headers['content-encoding'], undefined, '* is not consent to zstd');
});

test('If-None-Match with either ETag is 304', async () => {
  for (const tag of [`"${TEXT_HEX}"`, `"${TEXT_HEX}+zstd"`, `W/"${TEXT_HEX}"`, '*']) {
    const r = validate('GET', ART, 304, await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}`,
                                                    { headers: { 'if-none-match': tag } }));
    assert.equal(r.body.length, 0);
  }
  validate('GET', ART, 200, await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}`,
                                       { headers: { 'if-none-match': `"${'0'.repeat(64)}"` } }));
});

test('one Range is 206 of the identity bytes; beyond the end is 416; several are ignored', async () => {
  const p = `/v1/artifacts/sha256/${TEXT_HEX}`;
  let r = validate('GET', ART, 206, await api('GET', p, { headers: { range: 'bytes=0-4' } }));
  assert.equal(r.text, 'hello');
  assert.equal(r.headers['content-range'], `bytes 0-4/${TEXT.length}`);
  r = validate('GET', ART, 206, await api('GET', p, { headers: { range: 'bytes=-9', 'accept-encoding': 'zstd' } }));
  assert.ok(r.body.equals(TEXT.subarray(TEXT.length - 9)), 'a range selects identity even with zstd');
  assert.equal(r.headers['content-encoding'], undefined);
  r = validate('GET', ART, 206, await api('GET', p, { headers: { range: `bytes=${TEXT.length - 3}-` } }));
  assert.equal(r.body.length, 3);
  r = validate('GET', ART, 416, await api('GET', p, { headers: { range: `bytes=${TEXT.length}-` } }));
  assert.equal(r.headers['content-range'], `bytes */${TEXT.length}`);
  r = validate('GET', ART, 200, await api('GET', p, { headers: { range: 'bytes=0-1,4-5' } }));
  assert.ok(r.body.equals(TEXT));
  r = validate('GET', ART, 200, await api('GET', p, { headers: { range: 'bytes=0-4', 'if-range': '"other"' } }));
  assert.ok(r.body.equals(TEXT), 'If-Range with another tag: the whole body');
  r = validate('GET', ART, 206, await api('GET', p, { headers: { range: 'bytes=0-4', 'if-range': `"${TEXT_HEX}"` } }));
  assert.equal(r.text, 'hello');
});

test('GET .../meta: the row, with wasm null for a non-module', async () => {
  const r = validate('GET', `${ART}/meta`, 200, await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}/meta`));
  assert.equal(r.json.sha256, TEXT_HEX);
  assert.equal(r.json.wasm, null);
});

test('a Wasm module is parsed: its facts are served; a malformed one is 422', async () => {
  const r = await upload(WASM, { file_name: 'tiny.wasm', status: 201 });
  assert.equal(r.json.media_type, 'application/wasm');
  const m = validate('GET', `${ART}/meta`, 200, await api('GET', `/v1/artifacts/sha256/${sha256Hex(WASM)}/meta`));
  const w = m.json.wasm;
  assert.equal(w.version, 1);
  assert.equal(w.size, WASM.length);
  assert.equal(w.functions, 1);
  assert.deepEqual(w.sections.map((s) => s.name), ['type', 'function', 'export', 'code']);
  assert.equal(w.exports.count, 1);
  assert.deepEqual(w.exports.items, [{ kind: 'func', name: 'f', index: 0 }]);
  assert.equal(w.imports.count, 0);
  assert.equal(w.dylink, null);
  const bad = await upload(Buffer.from('not a module at all'), { file_name: 'bad.wasm', status: 422 });
  assert.match(bad.json.detail, /malformed wasm module/);
  const cut = await upload(WASM.subarray(0, WASM.length - 3), { file_name: 'cut.wasm', status: 422 });
  assert.match(cut.json.detail, /wasm/);
  validate('GET', `${ART}/meta`, 404,
           await api('GET', `/v1/artifacts/sha256/${sha256Hex(Buffer.from('not a module at all'))}/meta`));
});

test('PUT by digest: bytes must hash to it (409); an external artifact takes its recorded name', async () => {
  let r = validate('PUT', ART, 409, await api('PUT', `/v1/artifacts/sha256/${'0'.repeat(64)}`, { body: TEXT, token: true }));
  assert.match(r.json.detail, new RegExp(`hashes to ${TEXT_HEX}`));
  validate('GET', ART, 404, await api('GET', `/v1/artifacts/sha256/${'0'.repeat(64)}`));

  // A draft runtime makes its core artifacts known by digest, name and size.
  const core = Buffer.from('pretend python_stdlib.zip bytes\n'.repeat(10));
  const hex = sha256Hex(core);
  const arts = ['core-wasm', 'core-js', 'loader', 'lock'].map((role) => ({
    role, file_name: `${role}.bin`, sha256: sha256Hex(Buffer.from(role)), size: role.length }));
  arts.push({ role: 'stdlib', file_name: 'python_stdlib.zip', sha256: hex, size: core.length });
  validate('PUT', '/v1/runtimes/{id}', 201, await api('PUT', '/v1/runtimes/pyodide-8.8.8', {
    body: { pyodide: '8.8.8', python: '3.13.9', emscripten: '8.0.0', abi: 'pyodide_2025_0',
            release_date: '2026-10-01', artifacts: arts }, token: true }));
  r = validate('GET', `${ART}/meta`, 200, await api('GET', `/v1/artifacts/sha256/${hex}/meta`));
  assert.equal(r.json.stored, false);
  assert.equal(r.json.file_name, 'python_stdlib.zip');
  r = validate('GET', ART, 404, await api('GET', `/v1/artifacts/sha256/${hex}`));
  assert.match(r.json.detail, /known but not stored yet/);
  validate('GET', `${ART}/signature`, 404, await api('GET', `/v1/artifacts/sha256/${hex}/signature`));

  r = validate('PUT', ART, 201, await api('PUT', `/v1/artifacts/sha256/${hex}?file_name=other.bin`, { body: core, token: true }));
  assert.equal(r.json.file_name, 'python_stdlib.zip', 'the recorded file name wins');
  assert.equal(r.json.stored, true);
  const rt = validate('GET', '/v1/runtimes/{id}', 200, await api('GET', '/v1/runtimes/pyodide-8.8.8'));
  assert.equal(rt.json.artifacts.find((a) => a.role === 'stdlib').stored, true);
  assert.equal(rt.json.artifacts.find((a) => a.role === 'core-wasm').stored, false);
});

test('seeded runtimes have their core artifacts stored; the response says so beside the lock', async () => {
  const r = await resolveGet({ date: '2024-04-01', flags: 'python_workers', requirements: 'numpy' });
  for (const a of r.json.lock.artifacts) {
    assert.equal(r.json.stored[a.sha256], true, `${a.role} stored by the seed`);
    assert.equal(a.stored, undefined, 'a format 2 lock carries no stored flags');
  }
  const wasm = r.json.lock.artifacts.find((a) => a.role === 'core-wasm');
  const m = validate('GET', `${ART}/meta`, 200, await api('GET', `/v1/artifacts/sha256/${wasm.sha256}/meta`));
  assert.equal(m.json.wasm.dylink.section, 'dylink.0', 'the main module carries dylink.0');
  assert.ok(m.json.wasm.dylink.mem_size > 0);
  assert.ok(m.json.wasm.imports.count > 100);
  assert.ok(m.json.wasm.exports.items.length > 0);
  const np = r.json.lock.packages.find((p) => p.name === 'numpy');
  assert.equal(r.json.stored[np.sha256], false, 'wheels are external until uploaded');
  const g = validate('GET', ART, 404, await api('GET', np.url));
  assert.match(g.json.detail, /known but not stored yet/);
});

test('signatures: GET .../signature verifies with the stock minisign and the key from /v1/keys', async () => {
  const s = validate('GET', `${ART}/signature`, 200, await api('GET', `/v1/artifacts/sha256/${TEXT_HEX}/signature`));
  assert.equal(s.headers['cache-control'], 'public, max-age=60');
  const trusted = s.text.split('\n').find((l) => l.startsWith('trusted comment: '));
  assert.match(trusted, new RegExp(`kind=artifact sha256=${TEXT_HEX} size=${TEXT.length} `));
  const keys = validate('GET', '/v1/keys', 200, await api('GET', '/v1/keys'));
  assert.equal(keys.json.keys.length, 1);
  const key = keys.json.keys[0];
  assert.equal(key.current, true);
  assert.equal(key.retired_at, null);
  assert.match(trusted, new RegExp(`key=${key.id}`));
  const file = validate('GET', '/v1/keys/{file}', 200, await api('GET', `/v1/keys/${key.id}.pub`));
  assert.equal(file.text, key.public_key);
  if (have('minisign')) {
    withTmp((dir) => {
      fs.writeFileSync(path.join(dir, 'hello.txt'), TEXT);
      fs.writeFileSync(path.join(dir, 'hello.txt.minisig'), s.text);
      fs.writeFileSync(path.join(dir, 'key.pub'), file.text);
      const out = execFileSync('minisign', ['-V', '-p', path.join(dir, 'key.pub'), '-m', path.join(dir, 'hello.txt')],
                               { encoding: 'utf8' });
      assert.match(out, /verified/);
      fs.writeFileSync(path.join(dir, 'hello.txt'), Buffer.concat([TEXT, Buffer.from('x')]));
      assert.throws(() => execFileSync('minisign', ['-V', '-p', path.join(dir, 'key.pub'), '-m', path.join(dir, 'hello.txt')],
                                       { stdio: 'ignore' }), 'a changed byte does not verify');
    });
  }
  validate('GET', '/v1/keys/{file}', 404, await api('GET', '/v1/keys/nope.pub'));
  validate('GET', '/v1/keys/{file}', 404, await api('GET', `/v1/keys/${'0'.repeat(16)}.pub`));
  validate('GET', `${ART}/signature`, 404, await api('GET', `/v1/artifacts/sha256/${'2'.repeat(64)}/signature`));
});

test('malformed digests are 400; unknown ones 404; uploads need a token', async () => {
  for (const p of ['/v1/artifacts/sha256/xyz', `/v1/artifacts/sha256/${'A'.repeat(64)}`]) {
    validate('GET', ART, 400, await api('GET', p));
    validate('GET', `${ART}/meta`, 400, await api('GET', `${p}/meta`));
  }
  validate('PUT', ART, 400, await api('PUT', '/v1/artifacts/sha256/xyz', { body: TEXT, token: true }));
  validate('GET', ART, 404, await api('GET', `/v1/artifacts/sha256/${'3'.repeat(64)}`));
  await upload(TEXT, { status: 401, token: false });
  validate('PUT', ART, 401, await api('PUT', `/v1/artifacts/sha256/${TEXT_HEX}`, { body: TEXT }));
  await upload(TEXT, { file_name: '../etc/passwd', status: 400 });
});

test('uploads over the limit are 413, declared or streamed, and leave nothing behind', async () => {
  const big = Buffer.alloc(UPLOAD_LIMIT + 1024, 7);
  let r = await api('POST', '/v1/artifacts', { body: big, token: true, expectContinue: true });
  validate('POST', '/v1/artifacts', 413, r);
  r = await api('POST', '/v1/artifacts', { body: big, token: true, chunked: true });
  validate('POST', '/v1/artifacts', 413, r);
  validate('GET', `${ART}/meta`, 404, await api('GET', `/v1/artifacts/sha256/${sha256Hex(big)}/meta`));
  const ok = await upload(Buffer.alloc(UPLOAD_LIMIT, 7), { status: 201 });
  assert.equal(ok.json.size, UPLOAD_LIMIT);
});

