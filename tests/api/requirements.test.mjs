// Requirements (DESIGN §6): PEP 503 names, the closure over `depends` in dependency
// order, assertions that are checked and never used to choose, unsupported packages
// with suggestions, invalid lines, and a support-policy move blocked by a requirement
// the target package set does not have.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, codes, qs, resolveGet, resolvePost, startServer, validate } from './lib/harness.mjs';

await startServer();

const PY = { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] };

/* Every package comes after all of its dependencies that are in the lock. */
function assertDependencyOrder(packages) {
  const seen = new Set();
  for (const p of packages) {
    for (const d of p.depends)
      assert.ok(seen.has(d), `${p.name} comes before its dependency ${d}`);
    seen.add(p.name);
  }
}

test('pydantic brings pydantic-core, annotated-types and typing-extensions, in dependency order', async () => {
  const r = await resolvePost({ ...PY, requirements: ['pydantic'] });
  const pk = r.json.lock.packages;
  assert.deepEqual(pk.map((p) => p.name).sort(),
                   ['annotated-types', 'pydantic', 'pydantic-core', 'typing-extensions']);
  assert.equal(pk[pk.length - 1].name, 'pydantic');
  assertDependencyOrder(pk);
  const pyd = pk.find((p) => p.name === 'pydantic');
  assert.equal(pyd.version, '2.7.0');
  assert.deepEqual(pyd.depends, ['annotated-types', 'pydantic-core', 'typing-extensions'],
                   'depends normalized (the real lock says pydantic_core)');
  assert.equal(pyd.file_name, 'pydantic-2.7.0-py3-none-any.whl');
  assert.equal(pyd.url, `/v1/artifacts/sha256/${pyd.sha256}`);
  assert.equal(pyd.package_type, 'package');
  assert.equal(pyd.install_dir, 'site');
  assert.deepEqual(pyd.imports, ['pydantic']);
  assert.equal(typeof r.json.stored[pyd.sha256], 'boolean');
  assert.deepEqual(r.json.lock.requirements, ['pydantic']);
});

test('names are normalized (PEP 503); requirements are sorted by name in the lock', async () => {
  const r = await resolvePost({ ...PY, requirements: ['Typing_Extensions', 'NumPy'] });
  assert.deepEqual(r.json.lock.packages.map((p) => p.name).sort(), ['numpy', 'typing-extensions']);
  assert.deepEqual(r.json.lock.requirements, ['numpy', 'typing-extensions']);
});

test('a lock holds requirements in canonical form: the same meaning gives the same lock', async () => {
  const a = await resolvePost({ ...PY, requirements: ['NumPy[B, a,a] >= 1.0, <3, >=1.0', 'numpy[c]'] });
  const b = await resolvePost({ ...PY, requirements: ['numpy[a,b,c]<3,>=1.0'] });
  assert.deepEqual(a.json.lock.requirements, ['numpy[a,b,c]>=1.0,<3']);
  assert.equal(a.json.lock_id, b.json.lock_id);
  assert.equal(a.json.lock.format, 2);
});

test('requirement limits: line length, assertions and extras', async () => {
  const extras = Array.from({ length: 40 }, (_, i) => `x${i}`).join(',');
  let r = await resolvePost({ ...PY, requirements: [`numpy[${extras}]`] }, 422);
  assert.match(r.json.errors[0].message, /more than 32 extras/);
  const specs = Array.from({ length: 40 }, (_, i) => `!=0.${i}`).join(',');
  r = await resolvePost({ ...PY, requirements: [`numpy${specs}`] }, 422);
  assert.match(r.json.errors[0].message, /more than 32 version assertions/);
  const half = (k) => Array.from({ length: 20 }, (_, i) => `!=${k}.${i}`).join(',');
  r = await resolvePost({ ...PY, requirements: [`numpy${half(1)}`, `numpy${half(2)}`] }, 422);
  assert.match(r.json.errors[0].message, /together have more than 32 assertions/);
  r = await resolvePost({ ...PY, requirements: [`numpy[${'a'.repeat(600)}]`] }, 422);
  assert.match(r.json.errors[0].message, /longer than 512 bytes/);
  const many = Array.from({ length: 100000 }, (_, i) => `!=0.${i}`).join(',');
  const t0 = Date.now();
  r = await resolvePost({ ...PY, requirements: `numpy${many}` }, 422);
  assert.ok(Date.now() - t0 < 5000, '100,000 specifiers are refused quickly');
});

test('a closure follows shared_library dependencies (ssl needs openssl)', async () => {
  const r = await resolvePost({ ...PY, requirements: ['ssl'] });
  const pk = r.json.lock.packages;
  const names = pk.map((p) => p.name);
  assert.ok(names.includes('openssl'), `closure ${names}`);
  assert.equal(pk.find((p) => p.name === 'openssl').package_type, 'shared_library');
  assert.equal(pk.find((p) => p.name === 'ssl').package_type, 'cpython_module');
  assertDependencyOrder(pk);
});

test('a requirements.txt text works as well as a list of lines', async () => {
  const text = '# the worker\nnumpy==1.26.4   # pinned\n\n  pydantic\n';
  const a = await resolvePost({ ...PY, requirements: text });
  const b = await resolvePost({ ...PY, requirements: ['numpy==1.26.4', 'pydantic'] });
  assert.deepEqual(a.json.lock.requirements, ['numpy==1.26.4', 'pydantic']);
  assert.equal(a.json.lock_id, b.json.lock_id);
});

test('assertions that hold: numpy==1.26.4 and friends', async () => {
  for (const req of ['numpy==1.26.4', 'numpy>=1.26', 'numpy<2', 'numpy<=1.26.4', 'numpy>1.26', 'numpy!=1.26.3',
                     'numpy>=1.26,<2']) {
    const r = await resolvePost({ ...PY, requirements: [req] });
    const np = r.json.lock.packages.find((p) => p.name === 'numpy');
    assert.equal(np.version, '1.26.4', req);
  }
  const g = await resolveGet({ date: '2024-04-01', flags: 'python_workers', requirements: 'numpy>=1.26,<2,pydantic' });
  assert.deepEqual(g.json.lock.requirements, ['numpy>=1.26,<2', 'pydantic'],
                   'a comma piece that starts with an operator continues the line before');
});

test('an assertion that fails is requirement_not_satisfied naming the resolved version', async () => {
  const r = await resolvePost({ ...PY, requirements: ['numpy>=2'] }, 422);
  assert.deepEqual(codes(r), ['requirement_not_satisfied']);
  const e = r.json.errors[0];
  assert.equal(e.name, 'numpy');
  assert.equal(e.requirement, 'numpy>=2');
  assert.equal(e.resolved_version, '1.26.4');
  assert.match(e.message, /1\.26\.4/);
  assert.match(e.message, /pyodide-0\.26\.4\/2024-11-15/);
  for (const req of ['numpy!=1.26.4', 'numpy<1.26.4', 'numpy>1.26.4', 'numpy==1.26.3', 'numpy<=1.26']) {
    const x = await resolvePost({ ...PY, requirements: [req] }, 422);
    assert.deepEqual(codes(x), ['requirement_not_satisfied'], req);
  }
});

test('the same assertion holds on a newer runtime: numpy>=2 on Pyodide 0.28.3', async () => {
  const r = await resolvePost({ compatibility_date: '2025-10-01', compatibility_flags: ['python_workers'],
                                requirements: ['numpy>=2'] });
  assert.equal(r.json.lock.packages.find((p) => p.name === 'numpy').version, '2.2.5');
});

test('unsupported_package: all unknown names, sorted, with suggestions', async () => {
  const r = await resolvePost({ ...PY, requirements: ['zzzz-not-a-package', 'pydantc', 'numpy'] }, 422);
  assert.deepEqual(codes(r), ['unsupported_package', 'unsupported_package']);
  assert.deepEqual(r.json.errors.map((e) => e.name), ['pydantc', 'zzzz-not-a-package']);
  assert.equal(r.json.errors[0].suggestion, 'pydantic');
  assert.match(r.json.errors[0].message, /did you mean 'pydantic'/);
  assert.equal(r.json.errors[1].suggestion, undefined);
});

test('invalid_requirement for a line that is not a requirement', async () => {
  const r = await resolvePost({ ...PY, requirements: ['numpy==abc'] }, 422);
  assert.deepEqual(codes(r), ['invalid_requirement']);
  assert.equal(r.json.errors[0].line, 'numpy==abc');
  for (const bad of ['numpy===', '-e git+https://example.invalid/x.git', '!!!']) {
    const x = await resolvePost({ ...PY, requirements: [bad] }, 422);
    assert.deepEqual(codes(x), ['invalid_requirement'], bad);
  }
});

test('requirement errors are reported together with flag errors, flags first', async () => {
  const r = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workrs'],
                                requirements: ['numpy'] }, 422);
  assert.deepEqual(codes(r), ['unknown_flag', 'python_workers_required']);
});

/* A package in 0.26.4's set that 0.28.3's set does not have, and that resolves on
 * 0.26.4 today (from the diff of the two whole package sets). */
async function packageDroppedBy0283() {
  const d = await api('GET', `/v1/diff?${qs({ from: '2024-04-01', to: '2025-10-01', flags: 'python_workers' })}`);
  validate('GET', '/v1/diff', 200, d);
  assert.equal(d.json.packages_scope, 'package_set');
  const removed = d.json.packages.removed.map((p) => p.name);
  assert.ok(removed.length > 0, 'Pyodide 0.28.3 drops some package of 0.26.4');
  for (const name of removed) {
    const r = await api('POST', '/v1/resolve', { body: { ...PY, requirements: [name] } });
    validate('POST', '/v1/resolve', r.status === 200 ? 200 : 422, r);
    if (r.status === 200)
      return name;
  }
  assert.fail(`none of ${removed} resolves on 0.26.4`);
}

test('upgrade_blocked: the move to 3.13 is blocked by a package 0.28.3 does not have', async () => {
  const name = await packageDroppedBy0283();
  const ending = await resolvePost({ ...PY, requirements: [name], as_of: '2028-04-05' });
  assert.equal(ending.json.policy.status, 'ending', 'an ending line still resolves');
  const r = await resolvePost({ ...PY, requirements: [name, 'numpy'], as_of: '2028-10-02' }, 422);
  assert.deepEqual(codes(r), ['upgrade_blocked']);
  const e = r.json.errors[0];
  assert.deepEqual(e.packages, [name]);
  assert.equal(e.from, 'pyodide-0.26.4');
  assert.equal(e.to, 'pyodide-0.28.3');
  assert.match(e.message, /3\.12/);
  assert.match(e.message, new RegExp(name));
  const ok = await resolvePost({ ...PY, requirements: ['numpy'], as_of: '2028-10-02' });
  assert.equal(ok.json.lock.packages.find((p) => p.name === 'numpy').version, '2.2.5',
               'after the move the target set decides the version');
});
