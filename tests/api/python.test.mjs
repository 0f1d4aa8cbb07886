// Python lines: GET /v1/python, GET|PUT /v1/python/{line}.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, startServer, validate } from './lib/harness.mjs';

await startServer();

const SEED = [
  ['3.8', '2019-10-14', '2024-10-14', 'ended'],
  ['3.9', '2020-10-05', '2025-10-05', 'ended'],
  ['3.10', '2021-10-04', '2026-10-04', 'ended'],
  ['3.11', '2022-10-24', '2027-10-24', 'supported'],
  ['3.12', '2023-10-02', '2028-10-02', 'supported'],
  ['3.13', '2024-10-07', '2029-10-07', 'supported'],
  ['3.14', '2025-10-07', '2030-10-07', 'supported'],
  ['3.15', '2026-10-01', '2031-10-01', 'supported'],
];

test('GET /v1/python lists the seed lines in version order with status as of today', async () => {
  const r = validate('GET', '/v1/python', 200, await api('GET', '/v1/python'));
  assert.deepEqual(r.json.lines.map((l) => [l.line, l.first_release, l.end_of_support, l.status]), SEED);
  for (const l of r.json.lines)
    assert.equal(l.notes, null);
});

test('GET /v1/python/{line}', async () => {
  const r = validate('GET', '/v1/python/{line}', 200, await api('GET', '/v1/python/3.12'));
  assert.deepEqual(r.json, { line: '3.12', first_release: '2023-10-02', end_of_support: '2028-10-02',
                             notes: null, status: 'supported' });
  const nf = validate('GET', '/v1/python/{line}', 404, await api('GET', '/v1/python/9.9'));
  assert.match(nf.json.detail, /'9\.9' is not in the catalog/);
});

test('PUT /v1/python/{line} needs a token', async () => {
  validate('PUT', '/v1/python/{line}', 401, await api('PUT', '/v1/python/3.16', { body: { first_release: '2027-10-01' } }));
  validate('GET', '/v1/python/{line}', 404, await api('GET', '/v1/python/3.16'));
});

test('PUT creates (201) with end_of_support = first_release + 5 years, then changes (200)', async () => {
  let r = validate('PUT', '/v1/python/{line}', 201,
                   await api('PUT', '/v1/python/3.16', { body: { first_release: '2027-10-01' }, token: true }));
  assert.deepEqual(r.json, { line: '3.16', first_release: '2027-10-01', end_of_support: '2032-10-01',
                             notes: null, status: 'supported' });
  r = validate('PUT', '/v1/python/{line}', 200,
               await api('PUT', '/v1/python/3.16',
                         { body: { first_release: '2027-10-01', end_of_support: '2033-01-31', notes: 'extended' }, token: true }));
  assert.equal(r.json.end_of_support, '2033-01-31');
  assert.equal(r.json.notes, 'extended');
  r = validate('GET', '/v1/python/{line}', 200, await api('GET', '/v1/python/3.16'));
  assert.equal(r.json.end_of_support, '2033-01-31');
  const list = validate('GET', '/v1/python', 200, await api('GET', '/v1/python'));
  assert.equal(list.json.lines.at(-1).line, '3.16');
});

test('29 February plus five years is 28 February', async () => {
  const r = validate('PUT', '/v1/python/{line}', 201,
                     await api('PUT', '/v1/python/3.17', { body: { first_release: '2028-02-29' }, token: true }));
  assert.equal(r.json.end_of_support, '2033-02-28');
});

test('a line whose end of support is within 180 days is ending; past it, ended', async () => {
  let r = validate('PUT', '/v1/python/{line}', 201,
                   await api('PUT', '/v1/python/2.90', { body: { first_release: '2022-01-01', end_of_support: '2027-01-01' }, token: true }));
  assert.equal(r.json.status, 'ending');
  r = validate('PUT', '/v1/python/{line}', 200,
               await api('PUT', '/v1/python/2.90', { body: { first_release: '2022-01-01', end_of_support: '2026-11-25' }, token: true }));
  assert.equal(r.json.status, 'ended');
  r = validate('PUT', '/v1/python/{line}', 200,
               await api('PUT', '/v1/python/2.90', { body: { first_release: '2022-01-01', end_of_support: '2027-05-25' }, token: true }));
  assert.equal(r.json.status, 'supported', '181 days ahead');
});

test('PUT refuses malformed input with 400', async () => {
  const cases = [
    ['/v1/python/abc', { first_release: '2027-10-01' }, /'abc' is not a python line/],
    ['/v1/python/3', { first_release: '2027-10-01' }, /not a python line/],
    ['/v1/python/3.18', {}, /'first_release' is required/],
    ['/v1/python/3.18', { first_release: 20271001 }, /'first_release' must be a string/],
    ['/v1/python/3.18', { first_release: '2027-02-30' }, /first_release '2027-02-30' is not a valid date/],
    ['/v1/python/3.18', { first_release: '2027-10-01', end_of_support: '2026-01-01' }, /is not after first_release/],
    ['/v1/python/3.18', { first_release: '2027-10-01', end_of_support: 'soon' }, /end_of_support 'soon' is not a valid date/],
    ['/v1/python/3.18', { first_release: '2027-10-01', notes: 5 }, /'notes' must be a string/],
    ['/v1/python/3.18', [1], /must be a JSON object/],
  ];
  for (const [p, body, re] of cases) {
    const r = validate('PUT', '/v1/python/{line}', 400, await api('PUT', p, { body, token: true }));
    assert.match(r.json.detail, re, `${p} ${JSON.stringify(body)}`);
  }
  const bad = await api('PUT', '/v1/python/3.18', { body: '{"first_release":', token: true });
  validate('PUT', '/v1/python/{line}', 400, bad);
  validate('GET', '/v1/python/{line}', 404, await api('GET', '/v1/python/3.18'));
});

test('a changed end of support changes the policy of resolutions', async () => {
  const before = await api('GET', '/v1/resolve?date=2024-04-01&flags=python_workers&as_of=2027-06-01');
  validate('GET', '/v1/resolve', 200, before);
  assert.equal(before.json.policy.status, 'supported');
  validate('PUT', '/v1/python/{line}', 200,
           await api('PUT', '/v1/python/3.12', { body: { first_release: '2023-10-02', end_of_support: '2027-06-01' }, token: true }));
  const after = await api('GET', '/v1/resolve?date=2024-04-01&flags=python_workers&as_of=2027-06-01');
  validate('GET', '/v1/resolve', 200, after);
  assert.equal(after.json.policy.status, 'ended');
  assert.equal(after.json.policy.end_of_support, '2027-06-01');
  assert.equal(after.json.lock.runtime.id, 'pyodide-0.28.3');
});
