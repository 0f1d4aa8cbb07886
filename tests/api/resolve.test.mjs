// Resolution (DESIGN §3–5, §7) on the seed catalog: dates, flags, implied flags, the
// bundle choice, experimental flags, the support policy across dates, and every
// date/flag error code.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, codes, resolveGet, resolvePost, startServer, validate } from './lib/harness.mjs';

await startServer();

const ROLES = ['core-js', 'core-wasm', 'loader', 'lock', 'stdlib'];
const RT_0264 = { id: 'pyodide-0.26.4', pyodide: '0.26.4', python: '3.12.1', python_line: '3.12',
                  emscripten: '3.1.58', abi: 'pyodide_2024_0' };
const RT_0283 = { id: 'pyodide-0.28.3', pyodide: '0.28.3', python: '3.13.2', python_line: '3.13',
                  emscripten: '4.0.9', abi: 'pyodide_2025_0' };
const RT_314 = { id: 'pyodide-314.0.7', pyodide: '314.0.7', python: '3.14.2', python_line: '3.14',
                 emscripten: '5.0.3', abi: 'pyodide_2026_0' };
const SIDE_0264 = { runtime: 'pyodide-0.26.4', python_line: '3.12', bundle_flag: 'python_workers',
                    package_set: 'pyodide-0.26.4/2024-11-15' };
const SIDE_0283 = { runtime: 'pyodide-0.28.3', python_line: '3.13', bundle_flag: 'python_workers_20250116',
                    package_set: 'pyodide-0.28.3/2025-09-22' };
const SIDE_314 = { runtime: 'pyodide-314.0.7', python_line: '3.14', bundle_flag: 'python_workers_20260610',
                   package_set: 'pyodide-314.0.7/2026-09-14' };

test('2024-04-01 + python_workers resolves to Pyodide 0.26.4, Python 3.12.1, supported', async () => {
  const r = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] });
  const { lock, policy } = r.json;
  assert.deepEqual(lock.runtime, RT_0264);
  assert.equal(lock.bundle_flag, 'python_workers');
  assert.equal(lock.package_set, 'pyodide-0.26.4/2024-11-15');
  assert.equal(lock.compatibility_date, '2024-04-01');
  assert.deepEqual(lock.compatibility_flags, ['python_workers']);
  assert.deepEqual(lock.enabled_flags,
                   ['fetch_refuses_unknown_protocols', 'formdata_parser_supports_files', 'python_workers']);
  assert.deepEqual(lock.requirements, []);
  assert.deepEqual(lock.packages, []);
  assert.deepEqual(lock.artifacts.map((a) => a.role).sort(), ROLES);
  for (const a of lock.artifacts)
    assert.equal(a.url, `/v1/artifacts/sha256/${a.sha256}`);
  assert.equal(lock.artifacts.find((a) => a.role === 'core-wasm').file_name, 'pyodide.asm.wasm');
  assert.equal(lock.upgraded_from, null);
  assert.deepEqual(policy, { as_of: '2026-11-25', python_line: '3.12', end_of_support: '2028-10-02',
                             status: 'supported', upgrade: null });
  assert.deepEqual(r.json.warnings, []);
});

test('GET /v1/resolve gives the same lock as POST', async () => {
  const post = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'],
                                   requirements: ['numpy'] });
  const get = await resolveGet({ date: '2024-04-01', flags: 'python_workers', requirements: 'numpy' });
  assert.equal(get.json.lock_id, post.json.lock_id);
  const { signature: sg, ...g } = get.json;
  const { signature: sp, ...p } = post.json;
  assert.deepEqual(g, p);
  assert.equal(typeof sg, typeof sp);
});

test('a date with no Python flag resolves to flags only (runtime null)', async () => {
  const r = await resolveGet({ date: '2024-04-01' });
  const { lock, policy } = r.json;
  assert.equal(lock.runtime, null);
  assert.equal(lock.bundle_flag, null);
  assert.equal(lock.package_set, null);
  assert.deepEqual(lock.artifacts, []);
  assert.deepEqual(lock.packages, []);
  assert.deepEqual(lock.enabled_flags, ['fetch_refuses_unknown_protocols', 'formdata_parser_supports_files']);
  assert.deepEqual(policy, { as_of: '2026-11-25', python_line: null, end_of_support: null,
                             status: 'supported', upgrade: null });
});

test('flags turn on by date: before and on their enable_date', async () => {
  let r = await resolveGet({ date: '2021-11-02' });
  assert.deepEqual(r.json.lock.enabled_flags, []);
  r = await resolveGet({ date: '2021-11-03' });
  assert.deepEqual(r.json.lock.enabled_flags, ['formdata_parser_supports_files']);
  r = await resolveGet({ date: '2026-02-17' });
  assert.deepEqual(r.json.lock.enabled_flags, ['fetch_refuses_unknown_protocols', 'formdata_parser_supports_files',
                                               'python_no_global_handlers', 'python_request_headers_preserve_commas', 'python_workers_force_new_vendor_path']);
});

test('a disable name turns a default-on flag off', async () => {
  const r = await resolveGet({ date: '2024-04-01', flags: 'formdata_parser_converts_files_to_strings' });
  assert.deepEqual(r.json.lock.enabled_flags, ['fetch_refuses_unknown_protocols']);
  assert.deepEqual(r.json.lock.compatibility_flags, ['formdata_parser_converts_files_to_strings']);
});

test('2025-10-01 + python_workers implies python_workers_20250116 and moves to Pyodide 0.28.3', async () => {
  const r = await resolvePost({ compatibility_date: '2025-10-01', compatibility_flags: ['python_workers'] });
  const { lock, policy } = r.json;
  assert.deepEqual(lock.runtime, RT_0283);
  assert.equal(lock.bundle_flag, 'python_workers_20250116');
  assert.equal(lock.package_set, 'pyodide-0.28.3/2025-09-22');
  assert.deepEqual(lock.enabled_flags, ['fetch_refuses_unknown_protocols', 'formdata_parser_supports_files',
                                        'python_no_global_handlers', 'python_workers', 'python_workers_20250116',
                                        'python_workers_force_new_vendor_path', 'python_workflows']);
  assert.deepEqual(lock.compatibility_flags, ['python_workers'], 'flags as given');
  assert.equal(policy.status, 'supported');
  assert.equal(policy.end_of_support, '2029-10-07');
});

test('implications start on their after date, and chain', async () => {
  let r = await resolveGet({ date: '2025-09-28', flags: 'python_workers' });
  assert.equal(r.json.lock.runtime.id, 'pyodide-0.26.4');
  assert.ok(!r.json.lock.enabled_flags.includes('python_workers_20250116'));
  assert.ok(r.json.lock.enabled_flags.includes('python_workflows'), 'python_workflows after 2025-09-20');
  r = await resolveGet({ date: '2025-09-29', flags: 'python_workers' });
  assert.equal(r.json.lock.runtime.id, 'pyodide-0.28.3');
  assert.ok(r.json.lock.enabled_flags.includes('python_workers_20250116'));
  // python_dedicated_snapshot is implied by the implied python_workers_20250116.
  r = await resolveGet({ date: '2025-10-15', flags: 'python_workers' });
  assert.ok(!r.json.lock.enabled_flags.includes('python_dedicated_snapshot'));
  r = await resolveGet({ date: '2025-10-16', flags: 'python_workers' });
  assert.ok(r.json.lock.enabled_flags.includes('python_dedicated_snapshot'));
  assert.ok(!r.json.lock.enabled_flags.includes('python_check_rng_state'));
  r = await resolveGet({ date: '2025-12-16', flags: 'python_workers' });
  assert.ok(r.json.lock.enabled_flags.includes('python_check_rng_state'));
});

test('disabling an implied bundle flag keeps the older runtime; its implications go too', async () => {
  const r = await resolveGet({ date: '2025-11-01', flags: 'python_workers,no_python_workers_20250116' });
  assert.equal(r.json.lock.runtime.id, 'pyodide-0.26.4');
  assert.equal(r.json.lock.bundle_flag, 'python_workers');
  assert.ok(!r.json.lock.enabled_flags.includes('python_workers_20250116'));
  assert.ok(!r.json.lock.enabled_flags.includes('python_dedicated_snapshot'));
});

test('the enabled bundle flag with the highest order wins', async () => {
  let r = await resolveGet({ date: '2024-04-01', flags: 'python_workers,python_workers_20250116' });
  assert.deepEqual(r.json.lock.runtime, RT_0283);
  r = await resolveGet({ date: '2026-07-01', flags: 'python_workers,python_workers_20260610' });
  assert.deepEqual(r.json.lock.runtime, RT_314);
  assert.equal(r.json.lock.bundle_flag, 'python_workers_20260610');
  assert.equal(r.json.lock.package_set, 'pyodide-314.0.7/2026-09-14');
});

test('an experimental flag needs allow_experimental', async () => {
  const flags = ['python_workers', 'python_zstd_snapshot'];
  let r = await resolvePost({ compatibility_date: '2026-11-01', compatibility_flags: flags }, 422);
  assert.deepEqual(codes(r), ['experimental_flag']);
  assert.equal(r.json.errors[0].flag, 'python_zstd_snapshot');
  assert.match(r.json.errors[0].message, /experimental/);
  r = await resolvePost({ compatibility_date: '2026-11-01', compatibility_flags: flags, allow_experimental: false }, 422);
  assert.deepEqual(codes(r), ['experimental_flag']);
  r = await resolvePost({ compatibility_date: '2026-11-01', compatibility_flags: flags, allow_experimental: true });
  assert.ok(r.json.lock.enabled_flags.includes('python_zstd_snapshot'));
  assert.equal(r.json.lock.bundle_flag, 'python_workers_314');
  assert.deepEqual(r.json.lock.runtime, RT_314);
  const g = await resolveGet({ date: '2026-11-01', flags: flags.join(','), allow_experimental: 'true' });
  assert.equal(g.json.lock_id, r.json.lock_id);
  validate('GET', '/v1/resolve', 422,
           await api('GET', '/v1/resolve?date=2026-11-01&flags=python_workers,python_zstd_snapshot&allow_experimental=0'));
});

test('python_workers implies python_workers_314 after 2026-09-08: 3.13 on 2026-09-07, 3.14 on 2026-09-08', async () => {
  let r = await resolveGet({ date: '2026-09-07', flags: 'python_workers' });
  assert.equal(r.json.lock.bundle_flag, 'python_workers_20250116');
  assert.equal(r.json.lock.runtime.python, '3.13.2');
  r = await resolveGet({ date: '2026-09-08', flags: 'python_workers' });
  assert.equal(r.json.lock.bundle_flag, 'python_workers_314');
  assert.deepEqual(r.json.lock.runtime, RT_314);
  r = await resolveGet({ date: '2026-11-01', flags: 'python_workers,no_python_workers_314' });
  assert.equal(r.json.lock.runtime.python, '3.13.2');
});

test('policy: supported until 180 days before the end of support, then ending with a warning', async () => {
  const base = { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] };
  let r = await resolvePost({ ...base, as_of: '2028-04-04' });
  assert.equal(r.json.policy.status, 'supported');
  assert.deepEqual(r.json.warnings, []);
  r = await resolvePost({ ...base, as_of: '2028-04-05' });
  assert.equal(r.json.policy.status, 'ending');
  assert.equal(r.json.policy.as_of, '2028-04-05');
  assert.equal(r.json.policy.upgrade, null);
  assert.deepEqual(r.json.lock.runtime, RT_0264, 'an ending line is not moved yet');
  assert.equal(r.json.warnings.length, 1);
  const w = r.json.warnings[0];
  assert.equal(w.code, 'support_ending');
  assert.match(w.message, /2028-10-02/);
  assert.match(w.message, /3\.13/);
  assert.match(w.message, /pyodide-0\.28\.3/);
  r = await resolvePost({ ...base, as_of: '2028-10-01' });
  assert.equal(r.json.policy.status, 'ending');
});

test('policy: as of 2028-10-02 a 3.12 worker has ended and moves to Pyodide 0.28.3 / 3.13', async () => {
  const r = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'],
                                as_of: '2028-10-02' });
  const { lock, policy } = r.json;
  assert.equal(policy.status, 'ended');
  assert.equal(policy.python_line, '3.12');
  assert.equal(policy.end_of_support, '2028-10-02');
  assert.deepEqual(policy.upgrade.from, SIDE_0264);
  assert.deepEqual(policy.upgrade.to, SIDE_0283);
  assert.match(policy.upgrade.reason, /3\.12/);
  assert.match(policy.upgrade.reason, /2028-10-02/);
  assert.deepEqual(lock.runtime, RT_0283);
  assert.equal(lock.bundle_flag, 'python_workers_20250116');
  assert.equal(lock.package_set, 'pyodide-0.28.3/2025-09-22');
  assert.deepEqual(lock.compatibility_flags, ['python_workers']);
});

test('policy: a moved lock records where it came from (lock.upgraded_from)', async () => {
  const r = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'],
                                as_of: '2028-10-02' });
  assert.deepEqual(r.json.lock.upgraded_from, SIDE_0264);
});

test('policy: a 2025-10-01 worker (3.13) is ending, then moves to 3.14, then has no runtime', async () => {
  const base = { compatibility_date: '2025-10-01', compatibility_flags: ['python_workers'] };
  let r = await resolvePost({ ...base, as_of: '2029-10-06' });
  assert.equal(r.json.policy.status, 'ending');
  assert.match(r.json.warnings[0].message, /3\.14/);
  r = await resolvePost({ ...base, as_of: '2029-10-07' });
  assert.equal(r.json.policy.status, 'ended');
  assert.equal(r.json.policy.python_line, '3.13');
  assert.equal(r.json.policy.end_of_support, '2029-10-07');
  assert.deepEqual(r.json.policy.upgrade.from, SIDE_0283);
  assert.deepEqual(r.json.policy.upgrade.to, SIDE_314);
  assert.deepEqual(r.json.lock.runtime, RT_314);
  r = await resolvePost({ ...base, as_of: '2030-10-07' }, 422);
  assert.deepEqual(codes(r), ['no_supported_runtime']);
  assert.equal(r.json.errors[0].python_line, '3.13');
  assert.match(r.json.errors[0].message, /2030-10-07/);
  assert.equal(r.json.detail, r.json.errors[0].message);
});

test('policy: a line that ended is skipped when the next one has ended too', async () => {
  const r = await resolveGet({ date: '2024-04-01', flags: 'python_workers', as_of: '2029-10-07' });
  assert.equal(r.json.policy.status, 'ended');
  assert.deepEqual(r.json.policy.upgrade.to, SIDE_314);
});

test('as_of may be any valid date; an invalid one is invalid_date on as_of', async () => {
  let r = await resolveGet({ date: '2024-04-01', flags: 'python_workers', as_of: '2020-01-01' });
  assert.equal(r.json.policy.as_of, '2020-01-01');
  assert.equal(r.json.policy.status, 'supported');
  r = await resolveGet({ date: '2024-04-01', as_of: '2024-13-01' }, 422);
  assert.deepEqual(codes(r), ['invalid_date']);
  assert.equal(r.json.errors[0].field, 'as_of');
  assert.equal(r.json.errors[0].date, '2024-13-01');
});

test('invalid_date: not a real calendar date, or not strictly YYYY-MM-DD in 2000-2999', async () => {
  for (const d of ['2023-02-29', '2021-04-31', '2024-00-10', '2024-4-01', '2024/04/01', ' 2024-04-01',
                   '2024-04-01 ', '1999-12-31', '20240401', '', 'today']) {
    const r = await resolvePost({ compatibility_date: d, compatibility_flags: ['python_workers'] }, 422);
    assert.deepEqual(codes(r), ['invalid_date'], `date ${JSON.stringify(d)}`);
    assert.equal(r.json.errors[0].date, d);
    assert.equal(r.json.errors[0].field, 'compatibility_date');
  }
  const leap = await resolvePost({ compatibility_date: '2024-02-29', compatibility_flags: ['python_workers'] });
  assert.equal(leap.json.lock.compatibility_date, '2024-02-29');
});

test('date_in_future names today\'s date; today itself is fine', async () => {
  const r = await resolvePost({ compatibility_date: '2026-11-26' }, 422);
  assert.deepEqual(codes(r), ['date_in_future']);
  assert.match(r.json.errors[0].message, /2026-11-25/);
  assert.equal(r.json.errors[0].date, '2026-11-26');
  const ok = await resolvePost({ compatibility_date: '2026-11-25', compatibility_flags: ['python_workers'] });
  assert.equal(ok.json.lock.compatibility_date, '2026-11-25');
});

test('unknown_flag suggests the nearest name', async () => {
  let r = await resolveGet({ date: '2024-04-01', flags: 'python_workrs' }, 422);
  assert.deepEqual(codes(r), ['unknown_flag']);
  assert.equal(r.json.errors[0].flag, 'python_workrs');
  assert.equal(r.json.errors[0].suggestion, 'python_workers');
  assert.match(r.json.errors[0].message, /did you mean 'python_workers'/);
  r = await resolveGet({ date: '2024-04-01', flags: 'nodejs_compta' }, 422);
  assert.equal(r.json.errors[0].suggestion, 'nodejs_compat');
  r = await resolveGet({ date: '2024-04-01', flags: 'qqqqqqqqqqqqqqqqqqqqqqqq' }, 422);
  assert.deepEqual(codes(r), ['unknown_flag']);
  assert.equal(r.json.errors[0].suggestion, undefined, 'nothing close enough to suggest');
});

test('duplicate_flag and contradictory_flags', async () => {
  let r = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers', 'python_workers'] }, 422);
  assert.deepEqual(codes(r), ['duplicate_flag']);
  assert.equal(r.json.errors[0].flag, 'python_workers');
  r = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['nodejs_compat', 'no_nodejs_compat'] }, 422);
  assert.deepEqual(codes(r), ['contradictory_flags']);
  assert.equal(r.json.errors[0].flag, 'nodejs_compat');
  assert.match(r.json.errors[0].message, /no_nodejs_compat/);
});

test('all errors are collected, ordered by kind then name', async () => {
  const r = await resolvePost({
    compatibility_date: '2027-01-01',
    compatibility_flags: ['zeta_unknown', 'nodejs_compat', 'python_workers', 'alpha_unknown', 'python_workers',
                          'no_nodejs_compat', 'python_zstd_snapshot'],
  }, 422);
  assert.deepEqual(codes(r), ['date_in_future', 'unknown_flag', 'unknown_flag', 'duplicate_flag',
                              'contradictory_flags', 'experimental_flag']);
  assert.deepEqual(r.json.errors.filter((e) => e.code === 'unknown_flag').map((e) => e.flag),
                   ['alpha_unknown', 'zeta_unknown']);
  assert.match(r.json.detail, /6 problems/);
});

test('naming a flag that the date already turns on is a warning, not an error', async () => {
  const r = await resolveGet({ date: '2024-04-01', flags: 'python_workers,formdata_parser_supports_files' });
  assert.equal(r.json.warnings.length, 1);
  const w = r.json.warnings[0];
  assert.equal(w.code, 'redundant_flag');
  assert.equal(w.flag, 'formdata_parser_supports_files');
  assert.match(w.message, /2021-11-03/);
  assert.ok(r.json.lock.enabled_flags.includes('formdata_parser_supports_files'));
});

test('python_workers_required for requirements or a .py entry point without python_workers', async () => {
  let r = await resolvePost({ compatibility_date: '2024-04-01', requirements: ['numpy'] }, 422);
  assert.deepEqual(codes(r), ['python_workers_required']);
  assert.equal(r.json.errors[0].flag, 'python_workers');
  r = await resolvePost({ compatibility_date: '2024-04-01', main: 'src/worker.py' }, 422);
  assert.deepEqual(codes(r), ['python_workers_required']);
  assert.match(r.json.errors[0].message, /entry point/);
  r = await resolvePost({ compatibility_date: '2024-04-01', main: 'src/worker.js' });
  assert.equal(r.json.lock.runtime, null);
  r = await resolvePost({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'], main: 'worker.py' });
  assert.equal(r.json.lock.runtime.id, 'pyodide-0.26.4');
});

test('GET /v1/resolve: date is required and allow_experimental must be a boolean', async () => {
  let r = validate('GET', '/v1/resolve', 400, await api('GET', '/v1/resolve'));
  assert.match(r.json.detail, /'date' is required/);
  r = validate('GET', '/v1/resolve', 400, await api('GET', '/v1/resolve?date=2024-04-01&allow_experimental=maybe'));
  assert.match(r.json.detail, /allow_experimental/);
  r = await resolveGet({ date: '2024-04-01', flags: ' python_workers , ,' });
  assert.deepEqual(r.json.lock.compatibility_flags, ['python_workers'], 'blank items dropped');
});
