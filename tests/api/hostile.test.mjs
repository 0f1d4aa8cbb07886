// Hostile input (issue 9): the kept corpus in tests/hostile/ (malformed paths, request
// heads, JSON bodies) is sent as is; every one gets a problem document at once, and
// the server stays clean under LeakSanitizer (the harness fails the file on any
// sanitizer report, so the sanitizer pass of the suite is the LSan-clean run).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';

import { ROOT, api, server, startServer, validate, validateSchema } from './lib/harness.mjs';

await startServer();

const CORPUS = path.join(ROOT, 'tests/hostile');

/* Send raw bytes, read until the server closes or one whole response is in. */
function rawExchange(bytes, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(server().port, '127.0.0.1');
    const chunks = [];
    const t0 = Date.now();
    let settled = false;
    const finish = (closed) => {
      if (settled)
        return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const buf = Buffer.concat(chunks);
      const text = buf.toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      const head = headEnd >= 0 ? text.slice(0, headEnd) : text;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      const headers = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0)
          headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const body = headEnd >= 0 ? buf.subarray(headEnd + 4) : Buffer.alloc(0);
      let json;
      try { json = JSON.parse(body.toString('utf8')); } catch { json = undefined; }
      resolve({ status: m ? Number(m[1]) : 0, headers, body, json, closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      const cl = /\r\ncontent-length: *(\d+)/i.exec(text);
      if (headEnd >= 0 && cl && Buffer.concat(chunks).length >= headEnd + 4 + Number(cl[1]) &&
          !/\r\nconnection: *close/i.test(text.slice(0, headEnd)))
        finish(false);
    });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e) => { if (!settled) { settled = true; clearTimeout(timer); reject(e); } });
    sock.write(bytes);
  });
}

function checkProblem(r, status, what) {
  assert.equal(r.status, status, `${what}: status ${r.status}, body ${r.body.toString('utf8').slice(0, 300)}`);
  assert.ok(r.json, `${what}: a problem document`);
  assert.equal(r.headers['content-type'], 'application/problem+json', what);
  validateSchema('Problem', r.json);
  assert.equal(r.json.status, status, what);
}

test('malformed paths (tests/hostile/paths.txt) are 4xx problems, answered at once', async () => {
  const lines = fs.readFileSync(path.join(CORPUS, 'paths.txt'), 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#'));
  assert.ok(lines.length >= 30);
  for (let round = 0; round < 3; round++) {
    for (const p of lines) {
      const r = await rawExchange(Buffer.from(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 'utf8'));
      assert.ok([400, 404, 405, 414].includes(r.status), `GET ${p}: ${r.status}`);
      if (r.status !== 414 || r.json)
        checkProblem(r, r.status, `GET ${p}`);
      assert.ok(r.ms < 2000, `GET ${p} took ${r.ms} ms`);
    }
  }
  // The server still answers.
  validate('GET', '/v1/health', 200, await api('GET', '/v1/health'));
});

test('the path with many segments from the report is a 400 and leaks nothing', async () => {
  for (let i = 0; i < 200; i++) {
    const r = await rawExchange(Buffer.from('GET /a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    checkProblem(r, 400, 'many segments');
    assert.match(r.json.detail, /malformed request path/);
  }
});

test('request heads (tests/hostile/heads) get the expected status and a problem', async () => {
  const dir = path.join(CORPUS, 'heads');
  const expected = fs.readFileSync(path.join(dir, 'expected.txt'), 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#')).map((l) => l.split(' '));
  assert.ok(expected.length >= 10);
  for (const [name, status] of expected) {
    const r = await rawExchange(fs.readFileSync(path.join(dir, `${name}.http`)));
    checkProblem(r, Number(status), name);
    assert.ok(r.ms < 1500, `${name}: answered in ${r.ms} ms`);
    if (['conflicting-content-length', 'content-length-and-chunked', 'unknown-transfer-encoding',
         'many-query-params', 'query-500-empty'].includes(name)) {
      assert.equal(r.headers.connection, 'close', `${name}: the connection is closed`);
      assert.ok(r.closed, `${name}: closed by the server`);
    }
  }
});

test('heads libmicrohttpd refuses itself (tests/hostile/heads/library.txt) leave nothing behind', async () => {
  const dir = path.join(CORPUS, 'heads');
  const expected = fs.readFileSync(path.join(dir, 'library.txt'), 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#')).map((l) => l.split(' '));
  for (const [name, status] of expected) {
    let r;
    try {
      r = await rawExchange(fs.readFileSync(path.join(dir, `${name}.http`)));
    } catch (e) {
      // The library may reset the connection right after its answer; that is fine.
      assert.equal(e.code, 'ECONNRESET', `${name}: ${e.message}`);
      continue;
    }
    assert.ok(r.status === Number(status) || r.status === 0, `${name}: ${r.status}`);
  }
  validate('GET', '/v1/health', 200, await api('GET', '/v1/health'));
});

test('a path is percent-decoded once; NUL is refused in paths and queries', async () => {
  let r = validate('GET', null, 404, await api('GET', '/v1/heal%2574h'));
  assert.match(r.json.detail, /no such resource/);
  const raw = await rawExchange(Buffer.from('GET /v1/health%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  checkProblem(raw, 400, '/v1/health%00');
  r = validate('GET', '/v1/resolve', 400, await api('GET', '/v1/resolve?date=2024-04-01%00'));
  assert.match(r.json.detail, /NUL/);
  // A percent-encoded '%' in a value stays a '%' (decoded once, not twice).
  r = validate('GET', '/v1/resolve', 422, await api('GET', '/v1/resolve?date=2024%2504-01'));
  assert.ok(r.json.errors.some((e) => e.date === '2024%04-01'), JSON.stringify(r.json.errors));
});

test('a repeated query parameter is 400, never "first wins"', async () => {
  const r = validate('GET', '/v1/resolve', 400,
                     await api('GET', '/v1/resolve?date=2024-04-01&flags=python_workers&date=2026-01-01'));
  assert.match(r.json.detail, /'date' is given more than once/);
  validate('GET', '/v1/diff', 400, await api('GET', '/v1/diff?from=2024-04-01&to=2025-01-01&to=2025-02-01'));
});

test('500 query parameters are a 414 at once, not a stall', async () => {
  const q = Array.from({ length: 500 }, (_, i) => `p${i}=${i}`).join('&');
  const t0 = Date.now();
  const r = validate('GET', '/v1/health', 414, await api('GET', `/v1/health?${q}`));
  assert.ok(Date.now() - t0 < 1000);
  assert.match(r.json.detail, /500 parameters; at most 64/);
  // 64 are fine.
  const ok = Array.from({ length: 64 }, (_, i) => `p${i}=${i}`).join('&');
  validate('GET', '/v1/health', 200, await api('GET', `/v1/health?${ok}`));
});

test('JSON bodies (tests/hostile/bodies) are refused with 400', async () => {
  const dir = path.join(CORPUS, 'bodies');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 15);
  for (const f of files) {
    const r = validate('POST', '/v1/resolve', 400,
                       await api('POST', '/v1/resolve', { body: fs.readFileSync(path.join(dir, f)),
                                                          headers: { 'content-type': 'application/json' } }));
    assert.ok(r.json.detail.length > 0, f);
  }
});

test('each strict-JSON rule names what it refused', async () => {
  const send = async (raw) => validate('POST', '/v1/resolve', 400,
    await api('POST', '/v1/resolve', { body: Buffer.from(raw, 'latin1'), headers: { 'content-type': 'application/json' } }));
  assert.match((await send('{"compatibility_date":"2024-04-01\xff"}')).json.detail, /invalid UTF-8/);
  assert.match((await send('{"compatibility_date":"2024-04-01","as_of":1e999}')).json.detail, /not finite/);
  assert.match((await send('{"compatibility_date":"2024\\u0000"}')).json.detail, /NUL/);
  assert.match((await send('{"compatibility_date":"a","compatibility_date":"b"}')).json.detail, /repeats the key 'compatibility_date'/);
  assert.match((await send('{"compatibility_date":"2024-04-01","colour":1}')).json.detail, /unknown field 'colour'/);
});

test('unknown fields are refused where the schema is closed (writes too)', async () => {
  let r = validate('PUT', '/v1/flags/{name}', 400, await api('PUT', '/v1/flags/hostile_flag', {
    token: true, body: { enable_date: '2030-01-01', descripton: 'typo' } }));
  assert.match(r.json.detail, /unknown field 'descripton'/);
  r = validate('PUT', '/v1/workers/{name}', 400, await api('PUT', '/v1/workers/hostile', {
    token: true, body: { compatibility_date: '2024-04-01', compatibility_flag: ['python_workers'] } }));
  assert.match(r.json.detail, /unknown field 'compatibility_flag'/);
  r = validate('PUT', '/v1/python/{line}', 400, await api('PUT', '/v1/python/3.99', {
    token: true, body: { first_release: '2030-01-01', end_of_support: '2035-01-01', note: 'x' } }));
  assert.match(r.json.detail, /unknown field 'note'/);
});

test('keeping a lock needs a token', async () => {
  let r = validate('POST', '/v1/resolve', 401, await api('POST', '/v1/resolve', {
    body: { compatibility_date: '2024-04-01', keep: true } }));
  assert.match(r.json.detail, /needs a publish token/);
  r = validate('GET', '/v1/resolve', 401, await api('GET', '/v1/resolve?date=2024-04-01&keep=1'));
  r = validate('POST', '/v1/resolve', 200, await api('POST', '/v1/resolve', {
    token: true, body: { compatibility_date: '2024-04-01', keep: true } }));
  assert.equal(r.json.kept, true);
  r = validate('POST', '/v1/resolve', 200, await api('POST', '/v1/resolve', {
    body: { compatibility_date: '2024-04-01', keep: false } }));
  assert.equal(r.json.kept, undefined);
});

const ART = '/v1/artifacts/sha256/{hex}';

async function upload(body, { file_name, status, token = true } = {}) {
  const q = file_name ? `?file_name=${encodeURIComponent(file_name)}` : '';
  return validate('POST', '/v1/artifacts', status, await api('POST', `/v1/artifacts${q}`, { body, token }));
}

/* LEB128 of n. */
function leb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n)
      b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

const WASM_HEADER = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

test('a million empty custom sections: the metadata lists 1024 and says so (issue 9)', async () => {
  const n = 1000000;
  const body = Buffer.concat([WASM_HEADER, Buffer.alloc(3 * n).fill(Buffer.from([0, 1, 0]))]);
  const r = await upload(body, { file_name: 'sections.wasm', status: 201 });
  const m = validate('GET', `${ART}/meta`, 200, await api('GET', `/v1/artifacts/sha256/${r.json.sha256}/meta`));
  assert.equal(m.json.wasm.sections.length, 1024);
  assert.equal(m.json.wasm.sections_count, n);
  assert.equal(m.json.wasm.sections_truncated, true);
  assert.deepEqual(m.json.wasm.limits, { sections: 1024, items: 10000, listed_name_bytes: 2097152 });
  assert.ok(m.text.length < 200 * 1024, `metadata of ${m.text.length} bytes`);
});

test('long import names: the lists stop at the byte cap, counts stay exact', async () => {
  const items = [];
  const mod = Buffer.alloc(1000, 'm');
  for (let i = 0; i < 3000; i++) {
    const nm = Buffer.from(`f${i}`);
    items.push(leb(mod.length), mod, leb(nm.length), nm, Buffer.from([3, 0x7f, 0]));
  }
  const sec = Buffer.concat([leb(3000), ...items]);
  const body = Buffer.concat([WASM_HEADER, Buffer.from([2]), leb(sec.length), sec]);
  const r = await upload(body, { file_name: 'imports.wasm', status: 201 });
  const m = validate('GET', `${ART}/meta`, 200, await api('GET', `/v1/artifacts/sha256/${r.json.sha256}/meta`));
  assert.equal(m.json.wasm.imports.count, 3000);
  assert.equal(m.json.wasm.imports.truncated, true);
  assert.ok(m.json.wasm.imports.items.length < 3000 && m.json.wasm.imports.items.length > 2000);
  assert.equal(m.json.wasm.sections_truncated, false);
});

test('the kept hostile Wasm corpus (tests/hostile/wasm) uploads with bounded metadata', async () => {
  const dir = path.join(CORPUS, 'wasm');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.wasm')).sort()) {
    const body = fs.readFileSync(path.join(dir, f));
    const r = await upload(body, { file_name: f, status: 201 });
    const m = validate('GET', `${ART}/meta`, 200, await api('GET', `/v1/artifacts/sha256/${r.json.sha256}/meta`));
    assert.ok(m.text.length < 4 * 1024 * 1024, f);
  }
});

test('a damaged stored artifact: a Range answer is aborted, logged and marked for fsck', async () => {
  // Random bytes are stored as raw zstd blocks: a flipped byte decodes to wrong bytes
  // without a decode error, so only the frame's content checksum can tell.
  const bytes = randomBytes(300 * 1024);
  const up = await upload(bytes, { file_name: 'damaged.bin', status: 201 });
  const hex = up.json.sha256;
  const file = path.join(server().dataDir, 'artifacts', hex.slice(0, 2), `${hex}.zst`);
  const stored = fs.readFileSync(file);
  stored[Math.floor(stored.length * 0.75)] ^= 0x55;
  fs.writeFileSync(file, stored);
  // The range lies before the damage; it must still not come back as a clean 206.
  for (const range of ['bytes=0-99', 'bytes=1000-2000']) {
    let got = null;
    try {
      got = await api('GET', `/v1/artifacts/sha256/${hex}`, { headers: { range } });
    } catch (e) {
      got = e;
    }
    assert.ok(got instanceof Error || got.body.length < 100,
              `${range}: the response must be cut short, got ${got.status} with ${got.body?.length} bytes`);
  }
  const mark = path.join(server().dataDir, 'artifacts', 'suspect', hex);
  assert.ok(fs.existsSync(mark), 'marked for fsck');
  await new Promise((r) => setTimeout(r, 100));
  assert.match(server().stderr, new RegExp(`download aborted: artifact ${hex} is corrupt`));
  // The whole artifact is refused too.
  await assert.rejects(api('GET', `/v1/artifacts/sha256/${hex}`));
  // fsck reports it (the server keeps running; fsck opens the store read-only here).
  let out = '';
  try {
    out = execFileSync(path.join(process.env.ALMANAC_BIN_DIR ? path.resolve(ROOT, process.env.ALMANAC_BIN_DIR) : path.join(ROOT, 'build'), 'almanacd'),
                       ['fsck', '--data', server().dataDir], { env: { ...process.env, ALMANAC_DATA: '' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    out = String(e.stdout);
  }
  assert.match(out, new RegExp(`corrupt ${hex}`));
  assert.match(out, new RegExp(`suspect ${hex}`));
  assert.ok(!fs.existsSync(mark), 'fsck cleared the mark after re-verifying');
});
