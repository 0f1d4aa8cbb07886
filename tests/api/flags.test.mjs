// Compatibility flags: GET /v1/flags, GET|PUT /v1/flags/{name}, POST .../publish; the
// seed table of DESIGN §13, drafts, and publishing only with dates after today.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, codes, resolveGet, startServer, validate } from './lib/harness.mjs';

await startServer();

// name, disable, enable_date, implied_by, experimental, bundle [runtime, set, order]
// Seed v2 (DESIGN §13): the platform's Python table.
const SEED = [
  ['enable_python_external_sdk', 'disable_python_external_sdk', '2026-04-21', [], false, null],
  ['fetch_refuses_unknown_protocols', 'fetch_treats_unknown_protocols_as_http', '2021-11-10', [], false, null],
  ['formdata_parser_supports_files', 'formdata_parser_converts_files_to_strings', '2021-11-03', [], false, null],
  ['nodejs_compat', 'no_nodejs_compat', null, [], false, null],
  ['python_check_rng_state', 'disable_python_check_rng_state', null, [['python_workers', '2025-12-16']], false, null],
  ['python_dedicated_snapshot', 'disable_python_dedicated_snapshot', null, [['python_workers_20250116', '2025-10-16']], false, null],
  ['python_dedicated_snapshot_keep_import_caches', 'no_python_dedicated_snapshot_keep_import_caches', null, [], false, null],
  ['python_no_global_handlers', 'disable_python_no_global_handlers', '2025-08-14', [], false, null],
  ['python_process_pth_files', 'disable_python_process_pth_files', '2026-05-26', [], false, null],
  ['python_request_headers_preserve_commas', 'disable_python_request_headers_preserve_commas', '2026-02-17', [], false, null],
  ['python_shared_standard_library', null, null, [['python_workers', '2026-11-19']], false, null],
  ['python_workers', null, null, [], false, ['pyodide-0.26.4', 'pyodide-0.26.4/2024-11-15', 1]],
  ['python_workers_20250116', 'no_python_workers_20250116', null, [['python_workers', '2025-09-29']], false, ['pyodide-0.28.3', 'pyodide-0.28.3/2025-09-22', 2]],
  ['python_workers_20260610', 'no_python_workers_20260610', null, [], false, ['pyodide-314.0.7', 'pyodide-314.0.7/2026-09-14', 3]],
  ['python_workers_314', 'no_python_workers_314', null, [['python_workers', '2026-09-08']], false, ['pyodide-314.0.7', 'pyodide-314.0.7/2026-09-14', 4]],
  ['python_workers_force_new_vendor_path', null, '2025-08-11', [], false, null],
  ['python_workflows', 'disable_python_workflows', null, [['python_workers', '2025-09-20']], false, null],
  ['python_workflows_implicit_dependencies', 'no_python_workflows_implicit_dependencies', null, [['python_workers', '2026-02-25']], false, null],
  ['python_zstd_snapshot', null, null, [], true, null],
];

function row(f) {
  return [f.name, f.disable_flag, f.enable_date, f.implied_by.map((i) => [i.flag, i.after]), f.experimental,
          f.bundle && [f.bundle.runtime, f.bundle.package_set, f.bundle.order]];
}

async function put(name, body, status, token = true) {
  return validate('PUT', '/v1/flags/{name}', status, await api('PUT', `/v1/flags/${name}`, { body, token }));
}

async function publish(name, status, token = true) {
  return validate('POST', '/v1/flags/{name}/publish', status, await api('POST', `/v1/flags/${name}/publish`, { token }));
}

test('GET /v1/flags is the seed table of DESIGN §13, sorted by name, all published', async () => {
  const r = validate('GET', '/v1/flags', 200, await api('GET', '/v1/flags'));
  assert.deepEqual(r.json.flags.map(row), SEED);
  for (const f of r.json.flags) {
    assert.equal(f.state, 'published');
    assert.ok(f.description.length > 0, `${f.name} has a description`);
  }
});

test('GET /v1/flags/{name}', async () => {
  const r = validate('GET', '/v1/flags/{name}', 200, await api('GET', '/v1/flags/python_workers_20250116'));
  assert.deepEqual(row(r.json), SEED.find((f) => f[0] === 'python_workers_20250116'));
  const nf = validate('GET', '/v1/flags/{name}', 404, await api('GET', '/v1/flags/no_such_flag'));
  assert.match(nf.json.detail, /'no_such_flag' is not in the catalog/);
  // A disable name is not a flag of its own.
  validate('GET', '/v1/flags/{name}', 404, await api('GET', '/v1/flags/no_nodejs_compat'));
});

test('writes need a token', async () => {
  await put('new_flag', { description: 'x' }, 401, false);
  await publish('python_workers', 401, false);
});

test('a draft flag is invisible to resolution until published', async () => {
  const r = await put('draft_only', { disable_flag: 'no_draft_only', enable_date: '2020-01-01', description: 'draft' }, 201);
  assert.equal(r.json.state, 'draft');
  assert.equal(r.json.published_at, null);
  const res = await resolveGet({ date: '2026-11-25', flags: 'draft_only' }, 422);
  assert.deepEqual(codes(res), ['unknown_flag']);
  const plain = await resolveGet({ date: '2026-11-25' });
  assert.ok(!plain.json.lock.enabled_flags.includes('draft_only'));
});

test('publishing is refused when the enable date is not after today, allowed for a future one', async () => {
  let r = await put('future_thing', { disable_flag: 'no_future_thing', enable_date: '2026-11-25', description: 'd' }, 201);
  r = await publish('future_thing', 422);
  assert.match(r.json.detail, /enable_date 2026-11-25 is not after today \(2026-11-25\)/);
  r = await put('future_thing', { disable_flag: 'no_future_thing', enable_date: '2020-01-01', description: 'd' }, 200);
  r = await publish('future_thing', 422);
  assert.match(r.json.detail, /not after today/);

  const before = await resolveGet({ date: '2026-11-25', flags: 'python_workers' });
  r = await put('future_thing', { disable_flag: 'no_future_thing', enable_date: '2026-11-26', description: 'd' }, 200);
  assert.equal(r.json.state, 'draft');
  r = await publish('future_thing', 200);
  assert.equal(r.json.state, 'published');
  assert.equal(r.json.enable_date, '2026-11-26');
  assert.ok(r.json.published_at);
  const again = await publish('future_thing', 200);
  assert.deepEqual(again.json, r.json, 'publishing twice changes nothing');

  const after = await resolveGet({ date: '2026-11-25', flags: 'python_workers' });
  assert.equal(after.json.lock_id, before.json.lock_id, 'publishing never changes an existing resolution');
  const named = await resolveGet({ date: '2026-11-25', flags: 'future_thing' });
  assert.ok(named.json.lock.enabled_flags.includes('future_thing'), 'a published flag can be named');
});

test('publishing is refused when an implied_by date is not after today', async () => {
  await put('implied_thing', { implied_by: [{ flag: 'python_workers', after: '2026-01-01' }] }, 201);
  let r = await publish('implied_thing', 422);
  assert.match(r.json.detail, /implied_by date 2026-01-01 is not after today \(2026-11-25\)/);
  await put('implied_thing', { implied_by: [{ flag: 'python_workers', after: '2027-01-01' }] }, 200);
  r = await publish('implied_thing', 200);
  assert.deepEqual(r.json.implied_by, [{ flag: 'python_workers', after: '2027-01-01' }]);
});

test('a published flag only takes a new description (409 otherwise)', async () => {
  await put('fixed_flag', { disable_flag: 'no_fixed_flag', enable_date: '2027-03-01', description: 'one' }, 201);
  await publish('fixed_flag', 200);
  const changes = [
    [{ enable_date: '2027-04-01' }, 'enable_date'],
    [{ disable_flag: 'not_fixed_flag' }, 'disable_flag'],
    [{ experimental: true }, 'experimental'],
    [{ implied_by: [{ flag: 'python_workers', after: '2027-05-01' }] }, 'implied_by'],
    [{ bundle: { runtime: 'pyodide-0.29.3', package_set: 'pyodide-0.29.3/2026-03-17', order: 77 } }, 'bundle'],
  ];
  for (const [body, field] of changes) {
    const r = await put('fixed_flag', body, 409);
    assert.match(r.json.detail, new RegExp(`'${field}' differs`));
  }
  let r = await put('fixed_flag', { description: 'two' }, 200);
  assert.equal(r.json.description, 'two');
  assert.equal(r.json.enable_date, '2027-03-01');
  r = await put('fixed_flag', { enable_date: '2027-03-01', disable_flag: 'no_fixed_flag', description: 'three' }, 200);
  assert.equal(r.json.description, 'three');
  r = await put('python_workers', { bundle: null }, 409);
  assert.match(r.json.detail, /'bundle' differs/);
});

test('names and orders are unique (409)', async () => {
  let r = await put('no_nodejs_compat', { description: 'x' }, 409);
  assert.match(r.json.detail, /already used as another flag's disable name/);
  r = await put('other_flag', { disable_flag: 'no_nodejs_compat' }, 409);
  assert.match(r.json.detail, /disable name 'no_nodejs_compat' is already used/);
  r = await put('other_flag', { disable_flag: 'nodejs_compat' }, 409);
  r = await put('other_flag', { bundle: { runtime: 'pyodide-0.29.3', package_set: 'pyodide-0.29.3/2026-03-17', order: 1 } }, 409);
  assert.match(r.json.detail, /bundle order 1 is already used by flag 'python_workers'/);
});

test('references must exist (422)', async () => {
  let r = await put('ref_flag', { implied_by: [{ flag: 'no_such_flag', after: '2027-01-01' }] }, 422);
  assert.match(r.json.detail, /implied_by names unknown flag 'no_such_flag'/);
  r = await put('ref_flag', { bundle: { runtime: 'pyodide-0.29.3', package_set: 'pyodide-0.29.3/2020-01-01', order: 50 } }, 422);
  assert.match(r.json.detail, /package set 'pyodide-0\.29\.3\/2020-01-01' is not in the catalog/);
  r = await put('ref_flag', { bundle: { runtime: 'pyodide-0.28.3', package_set: 'pyodide-0.29.3/2026-03-17', order: 50 } }, 422);
  assert.match(r.json.detail, /does not belong to runtime 'pyodide-0\.28\.3'/);
});

test('publishing needs the flags that imply it published first (422)', async () => {
  await put('parent_draft', { description: 'p' }, 201);
  await put('child_flag', { implied_by: [{ flag: 'parent_draft', after: '2027-02-01' }] }, 201);
  let r = await publish('child_flag', 422);
  assert.match(r.json.detail, /before the flag 'parent_draft' that implies it/);
  await publish('parent_draft', 200);
  r = await publish('child_flag', 200);
  assert.equal(r.json.state, 'published');
});

test('a bundle flag selects its runtime once published', async () => {
  let r = await put('python_workers_test_bundle', {
    disable_flag: 'no_python_workers_test_bundle',
    description: 'Pyodide 0.29.3 on demand',
    bundle: { runtime: 'pyodide-0.29.3', package_set: 'pyodide-0.29.3/2026-03-17', order: 20 },
  }, 201);
  assert.deepEqual(r.json.bundle, { runtime: 'pyodide-0.29.3', package_set: 'pyodide-0.29.3/2026-03-17', order: 20 });
  await publish('python_workers_test_bundle', 200);
  r = await resolveGet({ date: '2025-10-01', flags: 'python_workers,python_workers_test_bundle' });
  assert.equal(r.json.lock.runtime.id, 'pyodide-0.29.3');
  assert.equal(r.json.lock.bundle_flag, 'python_workers_test_bundle');
});

test('publishing an unknown flag is 404', async () => {
  const r = await publish('no_such_flag', 404);
  assert.match(r.json.detail, /not in the catalog/);
});

test('PUT refuses malformed flags with 400', async () => {
  const cases = [
    ['Bad_Name', {}, /flag name 'Bad_Name' must match/],
    ['9lives', {}, /must match/],
    ['good_name', { name: 'other_name' }, /body name 'other_name' differs from the path 'good_name'/],
    ['good_name', { experimental: 'yes' }, /'experimental' must be true or false/],
    ['good_name', { enable_date: '2027-02-30' }, /enable_date '2027-02-30' is not a valid date/],
    ['good_name', { disable_flag: 'No-Good' }, /disable_flag 'No-Good' must match/],
    ['good_name', { disable_flag: 'good_name' }, /disable_flag must differ/],
    ['good_name', { implied_by: 'python_workers' }, /'implied_by' must be an array/],
    ['good_name', { implied_by: [{ flag: 'python_workers' }] }, /each implied_by entry must be \{flag, after\}/],
    ['good_name', { implied_by: [{ flag: 'python_workers', after: 'tomorrow' }] }, /after 'tomorrow' is not a valid date/],
    ['good_name', { implied_by: [{ flag: 'good_name', after: '2027-01-01' }] }, /cannot imply itself/],
    ['good_name', { bundle: 'pyodide-0.29.3' }, /'bundle' must be \{runtime, package_set, order\} or null/],
    ['good_name', { bundle: { runtime: 'pyodide-0.29.3', package_set: 'pyodide-0.29.3/2026-03-17', order: 0 } }, /positive integer/],
    ['good_name', { description: 7 }, /'description' must be a string/],
    ['good_name', [], /must be a JSON object/],
  ];
  for (const [name, body, re] of cases) {
    const r = await put(name, body, 400);
    assert.match(r.json.detail, re, `${name} ${JSON.stringify(body)}`);
  }
  validate('GET', '/v1/flags/{name}', 404, await api('GET', '/v1/flags/good_name'));
});
