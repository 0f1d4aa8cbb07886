// Runtimes: GET /v1/runtimes, GET|PUT /v1/runtimes/{id}, POST .../publish; drafts,
// publishing, and the immutability of published runtimes (409).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, fakeSha, startServer, validate } from './lib/harness.mjs';

await startServer();

const ROLES = ['core-js', 'core-wasm', 'loader', 'lock', 'stdlib'];
const SEED = [
  ['pyodide-0.26.4', '0.26.4', '3.12.1', '3.12', '3.1.58', 'pyodide_2024_0', '2024-11-15'],
  ['pyodide-0.27.7', '0.27.7', '3.12.7', '3.12', '3.1.58', 'pyodide_2024_0', '2025-06-04'],
  ['pyodide-0.28.3', '0.28.3', '3.13.2', '3.13', '4.0.9', 'pyodide_2025_0', '2025-09-22'],
  ['pyodide-0.29.3', '0.29.3', '3.13.2', '3.13', '4.0.9', 'pyodide_2025_0', '2026-03-17'],
  ['pyodide-314.0.7', '314.0.7', '3.14.2', '3.14', '5.0.3', 'pyodide_2026_0', '2026-09-14'],
];

const DRAFT = { pyodide: '9.9.9', python: '3.16.0', emscripten: '9.0.0', abi: 'pyodide_2027_0',
                release_date: '2026-11-01' };
const ARTIFACTS = [
  { role: 'core-wasm', file_name: 'pyodide.asm.wasm', sha256: fakeSha('wasm'), size: 10088051 },
  { role: 'core-js', file_name: 'pyodide.asm.mjs', sha256: fakeSha('js'), size: 1229099 },
  { role: 'loader', file_name: 'pyodide.mjs', sha256: fakeSha('loader'), size: 13779 },
  { role: 'stdlib', file_name: 'python_stdlib.zip', sha256: fakeSha('stdlib'), size: 2341872 },
  { role: 'lock', file_name: 'pyodide-lock.json', sha256: fakeSha('lock'), size: 106335 },
];

async function put(id, body, status, token = true) {
  return validate('PUT', '/v1/runtimes/{id}', status, await api('PUT', `/v1/runtimes/${id}`, { body, token }));
}

async function publish(id, status, token = true) {
  return validate('POST', '/v1/runtimes/{id}/publish', status,
                  await api('POST', `/v1/runtimes/${id}/publish`, { token }));
}

test('GET /v1/runtimes lists the five seed runtimes, published, with their core artifacts', async () => {
  const r = validate('GET', '/v1/runtimes', 200, await api('GET', '/v1/runtimes'));
  const got = r.json.runtimes.map((x) => [x.id, x.pyodide, x.python, x.python_line, x.emscripten, x.abi, x.release_date]);
  assert.deepEqual(got, SEED);
  for (const rt of r.json.runtimes) {
    assert.equal(rt.state, 'published');
    assert.equal(rt.deprecated, false);
    assert.ok(rt.published_at);
    assert.deepEqual(rt.artifacts.map((a) => a.role).sort(), ROLES);
  }
  const r0264 = r.json.runtimes[0];
  const wasm = r0264.artifacts.find((a) => a.role === 'core-wasm');
  assert.equal(wasm.file_name, 'pyodide.asm.wasm');
  assert.ok(wasm.size > 1000000);
  assert.equal(r0264.artifacts.find((a) => a.role === 'core-js').file_name, 'pyodide.asm.js');
  assert.equal(r.json.runtimes[4].artifacts.find((a) => a.role === 'core-js').file_name, 'pyodide.asm.mjs');
});

test('GET /v1/runtimes/{id}', async () => {
  const r = validate('GET', '/v1/runtimes/{id}', 200, await api('GET', '/v1/runtimes/pyodide-0.28.3'));
  assert.equal(r.json.python, '3.13.2');
  assert.equal(r.json.abi, 'pyodide_2025_0');
  const nf = validate('GET', '/v1/runtimes/{id}', 404, await api('GET', '/v1/runtimes/pyodide-0.0.1'));
  assert.match(nf.json.detail, /'pyodide-0\.0\.1' is not in the catalog/);
});

test('writes need a token', async () => {
  await put('pyodide-9.9.9', DRAFT, 401, false);
  await publish('pyodide-0.26.4', 401, false);
  await publish('pyodide-0.26.4', 401, 'alm_' + 'f'.repeat(64));
});

test('a runtime needs its Python line in the catalog (422)', async () => {
  const r = await put('pyodide-9.9.9', DRAFT, 422);
  assert.match(r.json.detail, /python line '3\.16' is not in the catalog/);
});

test('draft -> artifacts -> publish; a published runtime is immutable', async () => {
  validate('PUT', '/v1/python/{line}', 201,
           await api('PUT', '/v1/python/3.16', { body: { first_release: '2027-10-01' }, token: true }));
  let r = await put('pyodide-9.9.9', DRAFT, 201);
  assert.equal(r.json.state, 'draft');
  assert.equal(r.json.python_line, '3.16');
  assert.equal(r.json.published_at, null);
  assert.deepEqual(r.json.artifacts, []);

  r = await publish('pyodide-9.9.9', 422);
  assert.match(r.json.detail, /no 'core-wasm' artifact/);

  r = await put('pyodide-9.9.9', { ...DRAFT, artifacts: ARTIFACTS.slice(0, 4) }, 200);
  assert.equal(r.json.artifacts.length, 4);
  r = await publish('pyodide-9.9.9', 422);
  assert.match(r.json.detail, /no 'lock' artifact/);

  r = await put('pyodide-9.9.9', { ...DRAFT, emscripten: '9.0.1', artifacts: ARTIFACTS }, 200);
  assert.equal(r.json.emscripten, '9.0.1', 'a draft changes freely');
  assert.deepEqual(r.json.artifacts.map((a) => a.role).sort(), ROLES);
  for (const a of r.json.artifacts) {
    const want = ARTIFACTS.find((x) => x.role === a.role);
    assert.deepEqual([a.file_name, a.sha256, a.size, a.stored], [want.file_name, want.sha256, want.size, false]);
  }

  r = await publish('pyodide-9.9.9', 200);
  assert.equal(r.json.state, 'published');
  assert.ok(r.json.published_at);
  const again = await publish('pyodide-9.9.9', 200);
  assert.equal(again.json.published_at, r.json.published_at, 'publishing twice changes nothing');

  for (const [field, value] of [['pyodide', '9.9.10'], ['python', '3.16.1'], ['emscripten', '9.0.2'],
                                ['abi', 'pyodide_2027_1'], ['release_date', '2026-11-02']]) {
    const c = await put('pyodide-9.9.9', { ...DRAFT, emscripten: '9.0.1', [field]: value }, 409);
    assert.match(c.json.detail, new RegExp(`'${field}' differs`));
  }
  const arts = ARTIFACTS.map((a) => (a.role === 'stdlib' ? { ...a, sha256: fakeSha('other') } : a));
  const c = await put('pyodide-9.9.9', { ...DRAFT, emscripten: '9.0.1', artifacts: arts }, 409);
  assert.match(c.json.detail, /artifacts cannot change/);

  r = await put('pyodide-9.9.9', { ...DRAFT, emscripten: '9.0.1', artifacts: ARTIFACTS, notes: 'test runtime',
                                   deprecated: true }, 200);
  assert.equal(r.json.notes, 'test runtime');
  assert.equal(r.json.deprecated, true);
  assert.equal(r.json.state, 'published');
  r = validate('GET', '/v1/runtimes/{id}', 200, await api('GET', '/v1/runtimes/pyodide-9.9.9'));
  assert.equal(r.json.deprecated, true);
  assert.equal(r.json.emscripten, '9.0.1');
});

test('changing a seeded (published) runtime is 409; notes are allowed', async () => {
  const cur = validate('GET', '/v1/runtimes/{id}', 200, await api('GET', '/v1/runtimes/pyodide-0.26.4')).json;
  const body = { pyodide: cur.pyodide, python: cur.python, emscripten: cur.emscripten, abi: cur.abi,
                 release_date: cur.release_date };
  let r = await put('pyodide-0.26.4', { ...body, pyodide: '0.26.5' }, 409);
  assert.equal(r.json.type, 'urn:almanac:problem:conflict');
  r = await put('pyodide-0.26.4', { ...body, notes: 'the first Python workers runtime' }, 200);
  assert.equal(r.json.notes, 'the first Python workers runtime');
  assert.deepEqual(r.json.artifacts, cur.artifacts);
});

test('publishing an unknown runtime is 404', async () => {
  const r = await publish('pyodide-0.0.1', 404);
  assert.match(r.json.detail, /not in the catalog/);
});

test('PUT refuses malformed runtimes with 400', async () => {
  const cases = [
    ['BAD', DRAFT, /runtime id 'BAD' must match/],
    ['x1', { pyodide: '9.9.9' }, /'python' is required/],
    ['x1', { ...DRAFT, release_date: '2026-02-30' }, /release_date '2026-02-30' is not a valid date/],
    ['x1', { ...DRAFT, python: 'three' }, /python 'three' is not a version/],
    ['x1', { ...DRAFT, deprecated: 'no' }, /'deprecated' must be true or false/],
    ['x1', { ...DRAFT, artifacts: {} }, /'artifacts' must be an array/],
    ['x1', { ...DRAFT, artifacts: [{ ...ARTIFACTS[0], role: 'kernel' }] }, /role 'kernel' is not one of/],
    ['x1', { ...DRAFT, artifacts: [{ ...ARTIFACTS[0], sha256: 'ABC' }] }, /sha256 'ABC' is not 64 lower-case hex/],
    ['x1', { ...DRAFT, artifacts: [{ ...ARTIFACTS[0], size: -1 }] }, /size must not be negative/],
    ['x1', { ...DRAFT, artifacts: [{ ...ARTIFACTS[0], size: 1.5 }] }, /'size' must be an integer/],
    ['x1', { ...DRAFT, artifacts: [{ ...ARTIFACTS[0], file_name: '../x.wasm' }] }, /must be a plain file name/],
    ['x1', { ...DRAFT, artifacts: [ARTIFACTS[0], ARTIFACTS[0]] }, /role 'core-wasm' is given twice/],
    ['x1', { ...DRAFT, artifacts: ['pyodide.asm.wasm'] }, /each artifact must be an object/],
  ];
  for (const [id, body, re] of cases) {
    const r = await put(id, body, 400);
    assert.match(r.json.detail, re, `${id} ${JSON.stringify(body).slice(0, 80)}`);
  }
  validate('GET', '/v1/runtimes/{id}', 404, await api('GET', '/v1/runtimes/x1'));
});

test('an artifact file_name follows the upload rule (400)', async () => {
  for (const bad of ['..', 'a\nb', 'x?y', 'x#y', 'a/b', '']) {
    const arts = ARTIFACTS.map((a) => ({ ...a }));
    arts[0].file_name = bad;
    const r = await put('pyodide-9.9.8', { ...DRAFT, pyodide: '9.9.8', artifacts: arts }, 400);
    assert.match(r.json.detail, /file name/, JSON.stringify(bad));
  }
});
