// GET /v1/diff: what changes between two compatibility dates: flags turned on and
// off, runtime and Python, and package additions, removals and version changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, qs, resolvePost, startServer, validate } from './lib/harness.mjs';

await startServer();

async function diff(params, status = 200) {
  return validate('GET', '/v1/diff', status, await api('GET', `/v1/diff?${qs(params)}`));
}

test('2024-04-01 -> 2025-10-01 with python_workers: flags on, 0.26.4 -> 0.28.3, package versions', async () => {
  const r = await diff({ from: '2024-04-01', to: '2025-10-01', flags: 'python_workers', requirements: 'numpy,pydantic' });
  const d = r.json;
  assert.deepEqual([...d.flags.turned_on].sort(),
                   ['python_no_global_handlers', 'python_workers_20250116', 'python_workers_force_new_vendor_path', 'python_workflows']);
  assert.deepEqual(d.flags.turned_off, []);
  assert.deepEqual(d.runtime, { from: 'pyodide-0.26.4', to: 'pyodide-0.28.3', changed: true });
  assert.deepEqual(d.python, { from: '3.12.1', to: '3.13.2', changed: true });
  assert.deepEqual(d.python_line, { from: '3.12', to: '3.13', changed: true });
  assert.deepEqual(d.package_set, { from: 'pyodide-0.26.4/2024-11-15', to: 'pyodide-0.28.3/2025-09-22', changed: true });
  assert.equal(d.packages_scope, 'requirements');
  const changed = Object.fromEntries(d.packages.changed.map((c) => [c.name, [c.from, c.to]]));
  assert.deepEqual(changed.numpy, ['1.26.4', '2.2.5']);
  assert.deepEqual(changed.pydantic, ['2.7.0', '2.10.6']);
  assert.deepEqual(changed['pydantic-core'], ['2.18.1', '2.27.2']);
  assert.deepEqual(d.packages.added, []);
  assert.deepEqual(d.packages.removed, []);
  assert.equal(d.from.compatibility_date, '2024-04-01');
  assert.equal(d.to.compatibility_date, '2025-10-01');
  assert.equal(d.from.runtime.id, 'pyodide-0.26.4');
  assert.equal(d.to.runtime.python, '3.13.2');
  assert.equal(d.from.policy.status, 'supported');
  assert.deepEqual(d.warnings, []);
  // Each side's lock is the lock resolve gives for the same inputs.
  const a = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'],
                                requirements: ['numpy', 'pydantic'] });
  assert.equal(d.from.lock_id, a.json.lock_id);
});

test('without requirements the whole package sets are compared', async () => {
  const d = (await diff({ from: '2024-04-01', to: '2025-10-01', flags: 'python_workers' })).json;
  assert.equal(d.packages_scope, 'package_set');
  assert.ok(d.packages.added.length > 0, 'new packages in 0.28.3');
  assert.ok(d.packages.removed.length > 0, 'packages dropped by 0.28.3');
  assert.ok(d.packages.changed.some((c) => c.name === 'numpy' && c.from === '1.26.4' && c.to === '2.2.5'));
  const added = new Set(d.packages.added.map((p) => p.name));
  const removed = new Set(d.packages.removed.map((p) => p.name));
  for (const c of d.packages.changed)
    assert.ok(!added.has(c.name) && !removed.has(c.name), c.name);
});

test('the same date on both sides changes nothing', async () => {
  const d = (await diff({ from: '2025-10-01', to: '2025-10-01', flags: 'python_workers', requirements: 'numpy' })).json;
  assert.deepEqual(d.flags, { turned_on: [], turned_off: [] });
  assert.deepEqual(d.runtime, { from: 'pyodide-0.28.3', to: 'pyodide-0.28.3', changed: false });
  assert.equal(d.python.changed, false);
  assert.deepEqual(d.packages, { added: [], removed: [], changed: [] });
  assert.equal(d.from.lock_id, d.to.lock_id);
});

test('going back in time turns flags off; dates without Python have no runtime', async () => {
  let d = (await diff({ from: '2025-10-01', to: '2024-04-01', flags: 'python_workers' })).json;
  assert.deepEqual([...d.flags.turned_off].sort(),
                   ['python_no_global_handlers', 'python_workers_20250116', 'python_workers_force_new_vendor_path', 'python_workflows']);
  assert.deepEqual(d.runtime, { from: 'pyodide-0.28.3', to: 'pyodide-0.26.4', changed: true });
  d = (await diff({ from: '2021-01-01', to: '2021-12-01' })).json;
  assert.deepEqual([...d.flags.turned_on].sort(), ['fetch_refuses_unknown_protocols', 'formdata_parser_supports_files']);
  assert.deepEqual(d.runtime, { from: null, to: null, changed: false });
  assert.deepEqual(d.python, { from: null, to: null, changed: false });
  assert.deepEqual(d.packages, { added: [], removed: [], changed: [] });
  assert.equal(d.from.runtime, null);
});

test('as_of applies the support policy to both sides; warnings say which side', async () => {
  const d = (await diff({ from: '2024-04-01', to: '2025-10-01', flags: 'python_workers', as_of: '2028-04-05' })).json;
  assert.equal(d.from.policy.status, 'ending');
  assert.equal(d.to.policy.status, 'supported');
  assert.equal(d.warnings.length, 1);
  assert.equal(d.warnings[0].code, 'support_ending');
  assert.equal(d.warnings[0].side, 'from');
  const moved = (await diff({ from: '2024-04-01', to: '2025-10-01', flags: 'python_workers', as_of: '2028-10-02' })).json;
  assert.equal(moved.from.policy.status, 'ended');
  assert.equal(moved.from.policy.upgrade.to.runtime, 'pyodide-0.28.3');
  assert.equal(moved.runtime.changed, false, 'both sides are on 0.28.3 once 3.12 has ended');
});

test('a side that does not resolve is 422 with errors tagged by side', async () => {
  let r = await diff({ from: '2024-04-01', to: '2027-10-01', flags: 'python_workers' }, 422);
  assert.deepEqual(r.json.errors.map((e) => [e.code, e.side]), [['date_in_future', 'to']]);
  assert.match(r.json.detail, /^to does not resolve/);
  r = await diff({ from: '2023-02-29', to: '2027-10-01' }, 422);
  assert.deepEqual(r.json.errors.map((e) => [e.code, e.side]), [['invalid_date', 'from'], ['date_in_future', 'to']]);
  r = await diff({ from: '2024-04-01', to: '2025-10-01', flags: 'python_workers', requirements: 'numpy>=2' }, 422);
  assert.deepEqual(r.json.errors.map((e) => [e.code, e.side]), [['requirement_not_satisfied', 'from']]);
});

test('from and to are required', async () => {
  let r = await diff({ from: '2024-04-01' }, 400);
  assert.match(r.json.detail, /'to' is required/);
  r = await diff({ to: '2024-04-01' }, 400);
  assert.match(r.json.detail, /'from' is required/);
  r = await diff({ from: '2024-04-01', to: '2025-01-01', allow_experimental: 'perhaps' }, 400);
  assert.match(r.json.detail, /allow_experimental/);
});
