// Package sets: GET /v1/package-sets, GET|PUT /v1/package-sets/{runtime}/{date},
// POST .../publish, GET .../pyodide-lock.json; the seed sets, a small lock built here
// for a draft runtime, publishing, the export, and resolution against the new set.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, codes, fakeSha, qs, resolveGet, server, startServer, validate } from './lib/harness.mjs';

await startServer();

const SET_ROUTE = '/v1/package-sets/{runtime}/{date}';
const SEED = [
  ['pyodide-0.26.4/2024-11-15', 'pyodide-0.26.4', '2024-11-15', 310],
  ['pyodide-0.27.7/2025-06-04', 'pyodide-0.27.7', '2025-06-04', 351],
  ['pyodide-0.28.3/2025-09-22', 'pyodide-0.28.3', '2025-09-22', 343],
  ['pyodide-0.29.3/2026-03-17', 'pyodide-0.29.3', '2026-03-17', 375],
  ['pyodide-314.0.7/2026-09-14', 'pyodide-314.0.7', '2026-09-14', 357],
];

const RT = 'pyodide-9.9.9';
const SET = `${RT}/2026-11-01`;
const RUNTIME = {
  pyodide: '9.9.9', python: '3.13.9', emscripten: '9.0.0', abi: 'pyodide_2027_0', release_date: '2026-11-01',
  artifacts: ['core-wasm', 'core-js', 'loader', 'stdlib', 'lock'].map((role) => ({
    role, file_name: `${role}.bin`, sha256: fakeSha(`rt-${role}`), size: 100,
  })),
};

/* A small pyodide-lock.json with names and depends as the real ones write them. */
function smallLock(extra = {}) {
  return {
    info: { abi_version: '2027_0', arch: 'wasm32', platform: 'emscripten_9_0_0', python: '3.13.9', version: '9.9.9' },
    packages: {
      'foo-bar': { name: 'Foo_Bar', version: '1.0.0', file_name: 'foo_bar-1.0.0-py3-none-any.whl',
                   sha256: fakeSha('foo'), depends: ['Baz_Lib'], imports: ['foo_bar'], package_type: 'package',
                   install_dir: 'site', unvendored_tests: false },
      'baz-lib': { name: 'baz-lib', version: '2.1', file_name: 'baz_lib-2.1-cp313-cp313-pyodide_2027_0_wasm32.whl',
                   sha256: fakeSha('baz'), depends: ['libqux'], imports: ['baz_lib'], package_type: 'package',
                   install_dir: 'site' },
      libqux: { name: 'libqux', version: '0.3', file_name: 'libqux-0.3.zip', sha256: fakeSha('qux'),
                depends: [], imports: [], package_type: 'shared_library', install_dir: 'dynlib',
                shared_library: true },
      ...extra,
    },
  };
}

function setPath(id, suffix = '') {
  return `/v1/package-sets/${id}${suffix}`;
}

async function putSet(id, body, status, { token = true, notes } = {}) {
  const p = setPath(id) + (notes === undefined ? '' : `?${qs({ notes })}`);
  return validate('PUT', SET_ROUTE, status, await api('PUT', p, { body, token }));
}

async function publishSet(id, status, token = true) {
  return validate('POST', `${SET_ROUTE}/publish`, status, await api('POST', setPath(id, '/publish'), { token }));
}

test('GET /v1/package-sets lists the seed sets without their packages', async () => {
  const r = validate('GET', '/v1/package-sets', 200, await api('GET', '/v1/package-sets'));
  assert.deepEqual(r.json.package_sets.map((s) => [s.id, s.runtime, s.date, s.package_count]), SEED);
  for (const s of r.json.package_sets) {
    assert.equal(s.state, 'published');
    assert.equal(s.packages, undefined);
    assert.match(s.info.abi_version, /^20[0-9]{2}_0$/);
  }
  assert.equal(r.json.package_sets[0].info.platform, 'emscripten_3_1_58');
});

test('GET /v1/package-sets/{runtime}/{date} has every package, sorted by name', async () => {
  const r = validate('GET', SET_ROUTE, 200, await api('GET', setPath('pyodide-0.26.4/2024-11-15')));
  const s = r.json;
  assert.equal(s.id, 'pyodide-0.26.4/2024-11-15');
  assert.equal(s.packages.length, 310);
  assert.equal(s.package_count, 310);
  const names = s.packages.map((p) => p.name);
  assert.deepEqual(names, [...names].sort());
  const numpy = s.packages.find((p) => p.name === 'numpy');
  assert.equal(numpy.version, '1.26.4');
  assert.match(numpy.file_name, /^numpy-1\.26\.4-cp312-cp312-pyodide_2024_0_wasm32\.whl$/);
  assert.deepEqual(s.packages.find((p) => p.name === 'ssl').depends, ['openssl']);
  assert.equal(s.packages.find((p) => p.name === 'openssl').package_type, 'shared_library');
  assert.deepEqual([...s.packages.find((p) => p.name === 'pydantic').depends].sort(),
                   ['annotated-types', 'pydantic-core', 'typing-extensions'], 'depends are normalized');
});

test('the id may also be one segment with the slash encoded', async () => {
  const r = validate('GET', SET_ROUTE, 200, await api('GET', setPath('pyodide-0.28.3%2F2025-09-22')));
  assert.equal(r.json.id, 'pyodide-0.28.3/2025-09-22');
});

test('package sets that are not there are 404', async () => {
  for (const id of ['pyodide-0.26.4/2024-11-16', 'nope/2024-01-01']) {
    validate('GET', SET_ROUTE, 404, await api('GET', setPath(id)));
    validate('GET', `${SET_ROUTE}/pyodide-lock.json`, 404, await api('GET', setPath(id, '/pyodide-lock.json')));
    await publishSet(id, 404);
  }
});

test('the sets agree with the diff: what 0.28.3 dropped from 0.26.4', async () => {
  const a = validate('GET', SET_ROUTE, 200, await api('GET', setPath('pyodide-0.26.4/2024-11-15'))).json;
  const b = validate('GET', SET_ROUTE, 200, await api('GET', setPath('pyodide-0.28.3/2025-09-22'))).json;
  const inB = new Set(b.packages.map((p) => p.name));
  const dropped = a.packages.filter((p) => !inB.has(p.name)).map((p) => p.name).sort();
  assert.ok(dropped.length > 0);
  const d = await api('GET', `/v1/diff?${qs({ from: '2024-04-01', to: '2025-10-01', flags: 'python_workers' })}`);
  validate('GET', '/v1/diff', 200, d);
  assert.deepEqual(d.json.packages.removed.map((p) => p.name).sort(), dropped);
});

test('writes need a token', async () => {
  await putSet(SET, smallLock(), 401, { token: false });
  await publishSet('pyodide-0.26.4/2024-11-15', 401, false);
});

test('a set needs an existing runtime with the same ABI (422)', async () => {
  let r = await putSet(SET, smallLock(), 422);
  assert.match(r.json.detail, /runtime 'pyodide-9\.9\.9' is not in the catalog/);
  validate('PUT', '/v1/runtimes/{id}', 201, await api('PUT', `/v1/runtimes/${RT}`, { body: RUNTIME, token: true }));
  const lock = smallLock();
  lock.info.abi_version = '2024_0';
  r = await putSet(SET, lock, 422);
  assert.match(r.json.detail, /abi_version '2024_0' does not match the runtime's ABI 'pyodide_2027_0'/);
});

test('a draft set from a pyodide-lock.json: normalized names, kept fields, replace, publish', async () => {
  let r = await putSet(SET, smallLock(), 201, { notes: 'built by the API tests' });
  assert.equal(r.json.id, SET);
  assert.equal(r.json.runtime, RT);
  assert.equal(r.json.date, '2026-11-01');
  assert.equal(r.json.state, 'draft');
  assert.equal(r.json.package_count, 3);
  assert.equal(r.json.notes, 'built by the API tests');
  assert.deepEqual(r.json.info, smallLock().info);

  r = validate('GET', SET_ROUTE, 200, await api('GET', setPath(SET)));
  assert.deepEqual(r.json.packages.map((p) => [p.name, p.version, p.depends, p.package_type, p.install_dir]), [
    ['baz-lib', '2.1', ['libqux'], 'package', 'site'],
    ['foo-bar', '1.0.0', ['baz-lib'], 'package', 'site'],
    ['libqux', '0.3', [], 'shared_library', 'dynlib'],
  ]);
  const foo = r.json.packages.find((p) => p.name === 'foo-bar');
  assert.equal(foo.sha256, fakeSha('foo'));
  assert.equal(foo.stored, false);
  assert.equal(foo.size, null);

  // A draft is replaced whole.
  const extra = { extra: { version: '5', file_name: 'extra-5-py3-none-any.whl', sha256: fakeSha('extra'),
                           depends: ['foo-bar'], imports: ['extra'] } };
  r = await putSet(SET, smallLock(extra), 200);
  assert.equal(r.json.package_count, 4);
  r = validate('GET', SET_ROUTE, 200, await api('GET', setPath(SET)));
  const ex = r.json.packages.find((p) => p.name === 'extra');
  assert.equal(ex.package_type, 'package', 'default package_type');
  assert.equal(ex.install_dir, 'site', 'default install_dir');

  r = await publishSet(SET, 422);
  assert.match(r.json.detail, /cannot be published before its runtime 'pyodide-9\.9\.9'/);
  validate('POST', '/v1/runtimes/{id}/publish', 200, await api('POST', `/v1/runtimes/${RT}/publish`, { token: true }));
  r = await publishSet(SET, 200);
  assert.equal(r.json.state, 'published');
  assert.ok(r.json.published_at);
  const again = await publishSet(SET, 200);
  assert.equal(again.json.published_at, r.json.published_at);

  r = await putSet(SET, smallLock(), 409);
  assert.match(r.json.detail, /is published and cannot change; make a new dated set/);
});

test('GET .../pyodide-lock.json exports a lock Pyodide can load from this server', async () => {
  const r = validate('GET', `${SET_ROUTE}/pyodide-lock.json`, 200, await api('GET', setPath(SET, '/pyodide-lock.json')));
  const lock = r.json;
  assert.deepEqual(lock.info, smallLock().info);
  assert.deepEqual(Object.keys(lock.packages).sort(), ['baz-lib', 'extra', 'foo-bar', 'libqux']);
  const foo = lock.packages['foo-bar'];
  // Without --public-url: server-relative, never from the Host header.
  assert.equal(foo.file_name, `/v1/artifacts/sha256/${fakeSha('foo')}` +
                               '/file/foo_bar-1.0.0-py3-none-any.whl');
  assert.equal(foo.name, 'foo-bar');
  assert.deepEqual(foo.depends, ['baz-lib']);
  assert.equal(foo.unvendored_tests, false, 'fields almanac does not model are kept');
  assert.equal(lock.packages.libqux.shared_library, true);

  const spoofed = validate('GET', `${SET_ROUTE}/pyodide-lock.json`, 200,
                           await api('GET', setPath(SET, '/pyodide-lock.json'), { headers: { host: 'evil.example' } }));
  assert.ok(!spoofed.text.includes('evil.example'), 'the Host header never reaches the export');
  const seed = validate('GET', `${SET_ROUTE}/pyodide-lock.json`, 200,
                        await api('GET', setPath('pyodide-0.26.4/2024-11-15', '/pyodide-lock.json')));
  assert.equal(Object.keys(seed.json.packages).length, 310);
  assert.equal(seed.json.info.abi_version, '2024_0');
  assert.equal(seed.json.packages.numpy.version, '1.26.4');
});

test('a bundle flag on the new set resolves its closure', async () => {
  validate('PUT', '/v1/flags/{name}', 201, await api('PUT', '/v1/flags/python_workers_test_set', {
    body: { description: 'the API tests runtime', bundle: { runtime: RT, package_set: SET, order: 50 } }, token: true }));
  validate('POST', '/v1/flags/{name}/publish', 200,
           await api('POST', '/v1/flags/python_workers_test_set/publish', { token: true }));
  const r = await resolveGet({ date: '2026-11-01', flags: 'python_workers,python_workers_test_set', requirements: 'Foo.Bar' });
  assert.equal(r.json.lock.runtime.id, RT);
  assert.equal(r.json.lock.package_set, SET);
  assert.deepEqual(r.json.lock.packages.map((p) => p.name), ['libqux', 'baz-lib', 'foo-bar']);
  const bad = await resolveGet({ date: '2026-11-01', flags: 'python_workers,python_workers_test_set', requirements: 'foo-bar>=2' }, 422);
  assert.deepEqual(codes(bad), ['requirement_not_satisfied']);
  assert.equal(bad.json.errors[0].resolved_version, '1.0.0');
});

test('a dependency missing from the set is 422 with every one listed', async () => {
  const lock = smallLock({
    broken: { version: '1', file_name: 'broken-1.whl', sha256: fakeSha('broken'), depends: ['Missing_One', 'libqux'] },
    worse: { version: '1', file_name: 'worse-1.whl', sha256: fakeSha('worse'), depends: ['missing-two'] },
  });
  const r = await putSet(`${RT}/2026-11-02`, lock, 422);
  assert.deepEqual(r.json.errors.map((e) => [e.code, e.name, e.depends]),
                   [['unknown_dependency', 'broken', 'missing-one'], ['unknown_dependency', 'worse', 'missing-two']]);
  assert.match(r.json.detail, /2 dependencies/);
  validate('GET', SET_ROUTE, 404, await api('GET', setPath(`${RT}/2026-11-02`)));
});

test('PUT refuses malformed locks with 400', async () => {
  const id = `${RT}/2026-11-03`;
  const pk = smallLock().packages;
  const cases = [
    [{ packages: {} }, /no 'info' object/],
    [{ info: { abi_version: '2027_0' } }, /no 'packages' object/],
    [{ info: { abi_version: '2027_0' }, packages: [] }, /no 'packages' object/],
    [{ info: {}, packages: {} }, /'abi_version' is required/],
    [{ info: { abi_version: '2027_0' }, packages: { a: 'x' } }, /package 'a' must be an object/],
    [{ info: { abi_version: '2027_0' }, packages: { a: { ...pk.libqux, sha256: 'nothex' } } }, /sha256 is not 64 lower-case hex/],
    [{ info: { abi_version: '2027_0' }, packages: { a: { ...pk.libqux, file_name: 'dir/x.whl' } } }, /must be a plain file name/],
    [{ info: { abi_version: '2027_0' }, packages: { a: { ...pk.libqux, version: 3 } } }, /package 'a': field 'version' must be a string/],
    [{ info: { abi_version: '2027_0' }, packages: { a: { ...pk.libqux, depends: 'x' } } }, /depends and imports must be arrays/],
    [{ info: { abi_version: '2027_0' }, packages: { a: { ...pk.libqux, name: 'Dup_X' }, b: { ...pk.libqux, name: 'dup.x' } } }, /appears twice/],
    ['not json', /not valid JSON/],
  ];
  for (const [body, re] of cases) {
    const r = await putSet(id, body, 400);
    assert.match(r.json.detail, re, JSON.stringify(body).slice(0, 100));
  }
  for (const bad of [`${RT}/2026-13-01`, 'Bad Runtime/2026-11-01', `${RT}/yesterday`]) {
    const r = validate('PUT', SET_ROUTE, 400,
                       await api('PUT', setPath(encodeURI(bad)), { body: smallLock(), token: true }));
    assert.match(r.json.detail, /must be '<runtime>\/<YYYY-MM-DD>'/);
  }
});

test('a package_type or install_dir outside the known ones is refused', async () => {
  let lock = smallLock();
  lock.packages.libqux.package_type = 'bogus';
  let r = await putSet(`${RT}/2026-11-04`, lock, 400);
  assert.match(r.json.detail, /package_type 'bogus' is not package, cpython_module or/);
  lock = smallLock();
  lock.packages.libqux.install_dir = '/usr/lib';
  r = await putSet(`${RT}/2026-11-04`, lock, 400);
  assert.match(r.json.detail, /install_dir '\/usr\/lib' is not site, stdlib or dynlib/);
  validate('GET', SET_ROUTE, 404, await api('GET', setPath(`${RT}/2026-11-04`)));
});

test('file_name follows the upload rule: no .., control characters, CR/LF, ? or # (400)', async () => {
  for (const bad of ['..', '.', 'a\r\nb.whl', 'a\u0000b.whl', 'a\tb.whl', 'x.whl?y=1', 'x.whl#frag',
                     'a/b.whl', 'a\\b.whl', 'x'.repeat(256)]) {
    const lock = smallLock();
    lock.packages['foo-bar'].file_name = bad;
    const r = await putSet('pyodide-9.9.9/2031-01-01', lock, 400);
    assert.match(r.json.detail, /file name|NUL/, JSON.stringify(bad));
  }
});

test('the export percent-encodes file names in the URLs it builds', async () => {
  const id = 'pyodide-9.9.9/2031-02-02';
  const lock = smallLock();
  lock.packages['foo-bar'].file_name = 'foo bar%+1.0.whl';
  await putSet(id, lock, 201);
  const r = validate('GET', `${SET_ROUTE}/pyodide-lock.json`, 200, await api('GET', setPath(id, '/pyodide-lock.json')));
  assert.equal(r.json.packages['foo-bar'].file_name,
               `/v1/artifacts/sha256/${fakeSha('foo')}/file/foo%20bar%25%2B1.0.whl`);
});
