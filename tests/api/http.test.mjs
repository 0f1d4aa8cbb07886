// HTTP conventions (DESIGN §12): health, HEAD, 404 for unknown routes, 405 with
// Allow, malformed bodies (400), wrong types (400), the 1 MiB body limit (413), 401
// before the body is read.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEFAULT_TODAY, api, startServer, validate } from './lib/harness.mjs';

await startServer();

const MiB = 1024 * 1024;

/* A JSON resolve body of exactly n bytes (trailing whitespace pads it). */
function resolveBodyOfSize(n) {
  const head = '{"compatibility_date":"2024-04-01"}';
  return Buffer.from(head + ' '.repeat(n - head.length));
}

test('GET /v1/health says ok, the version, and the injected today', async () => {
  const r = validate('GET', '/v1/health', 200, await api('GET', '/v1/health'));
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.today, DEFAULT_TODAY);
  assert.equal(r.json.today_overridden, true);
  assert.ok(r.json.schema_version >= 1);
  assert.equal(r.headers['content-type'], 'application/json');
});

test('HEAD answers every GET route with the headers and no body', async () => {
  const r = validate('HEAD', '/v1/health', 200, await api('HEAD', '/v1/health'));
  assert.equal(r.body.length, 0);
  validate('HEAD', '/v1/flags/{name}', 200, await api('HEAD', '/v1/flags/python_workers'));
});

test('a path no route matches is 404 problem+json', async () => {
  // ('/' redirects to the dashboard: dashboard.test.mjs)
  for (const p of ['/v1', '/v1/nope', '/v2/health', '/v1/flags/a/b/c', '/v1/health/x',
                   '/v1/runtimes/pyodide-0.26.4/publish/now']) {
    const r = validate('GET', null, 404, await api('GET', p));
    assert.equal(r.headers['content-type'], 'application/problem+json');
    assert.equal(r.json.type, 'urn:almanac:problem:not-found');
    assert.match(r.json.detail, /no such resource/);
  }
});

test('a known path with a wrong method is 405 with Allow', async () => {
  const cases = [
    ['DELETE', '/v1/resolve', '/v1/resolve'],
    ['PUT', '/v1/health', '/v1/health'],
    ['POST', '/v1/python', '/v1/python'],
    ['DELETE', '/v1/python/3.12', '/v1/python/{line}'],
    ['POST', '/v1/flags/python_workers', '/v1/flags/{name}'],
    ['GET', '/v1/flags/python_workers/publish', '/v1/flags/{name}/publish'],
    ['PATCH', '/v1/runtimes/pyodide-0.26.4', '/v1/runtimes/{id}'],
    ['PUT', '/v1/diff', '/v1/diff'],
    ['POST', '/v1/locks/sha256:' + '0'.repeat(64), '/v1/locks/{id}'],
    ['DELETE', '/v1/events', '/v1/events'],
  ];
  for (const [m, p, route] of cases) {
    const r = validate(m, route, 405, await api(m, p));
    assert.match(r.json.detail, new RegExp(`method ${m} is not allowed`));
  }
  const r = validate('DELETE', '/v1/resolve', 405, await api('DELETE', '/v1/resolve'));
  assert.equal(r.headers.allow, 'POST, GET, HEAD');
});

test('a wrong method on a package-set path is 405 too', async () => {
  validate('DELETE', '/v1/package-sets/{runtime}/{date}', 405,
           await api('DELETE', '/v1/package-sets/pyodide-0.26.4/2024-11-15'));
  validate('PUT', '/v1/package-sets/{runtime}/{date}/publish', 405,
           await api('PUT', '/v1/package-sets/pyodide-0.26.4/2024-11-15/publish'));
});

test('bad JSON is 400 and says where', async () => {
  const bodies = [
    ['{bad', /not valid JSON/],
    ['{"compatibility_date": "2024-04-01"', /not valid JSON/],
    ['{"compatibility_date": "2024-04-01"} trailing', /trailing data/],
    ['', /empty/],
    ['[]', /must be a JSON object/],
    ['"2024-04-01"', /must be a JSON object/],
  ];
  for (const [body, re] of bodies) {
    const r = validate('POST', '/v1/resolve', 400, await api('POST', '/v1/resolve', { body }));
    assert.match(r.json.detail, re, `body ${JSON.stringify(body)}`);
    assert.deepEqual(r.json.errors, []);
  }
  const put = await api('PUT', '/v1/flags/some_flag', { body: '{"description": ', token: true });
  validate('PUT', '/v1/flags/{name}', 400, put);
});

test('fields of the wrong type are 400 naming the field', async () => {
  const cases = [
    [{ compatibility_date: 20240401 }, /'compatibility_date' must be a string/],
    [{}, /'compatibility_date' is required/],
    [{ compatibility_date: null }, /'compatibility_date' is required/],
    [{ compatibility_date: '2024-04-01', compatibility_flags: 'python_workers' }, /'compatibility_flags' must be an array of strings/],
    [{ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers', 7] }, /'compatibility_flags' must be an array of strings/],
    [{ compatibility_date: '2024-04-01', allow_experimental: 'yes' }, /'allow_experimental' must be true or false/],
    [{ compatibility_date: '2024-04-01', requirements: 5 }, /'requirements'/],
    [{ compatibility_date: '2024-04-01', as_of: 20280101 }, /'as_of' must be a string/],
  ];
  for (const [body, re] of cases) {
    const r = validate('POST', '/v1/resolve', 400, await api('POST', '/v1/resolve', { body }));
    assert.match(r.json.detail, re, JSON.stringify(body));
  }
});

test('a body of exactly 1 MiB is read; one byte more is 413', async () => {
  const ok = await api('POST', '/v1/resolve', { body: resolveBodyOfSize(MiB) });
  validate('POST', '/v1/resolve', 200, ok);
  assert.equal(ok.json.lock.compatibility_date, '2024-04-01');
  const big = await api('POST', '/v1/resolve', { body: resolveBodyOfSize(MiB + 1), expectContinue: true });
  validate('POST', '/v1/resolve', 413, big);
  assert.match(big.json.detail, /1048577 bytes is over the limit of 1048576 bytes/);
});

test('a declared body over 1 MiB is refused with 413 before it is sent', async () => {
  const r = await api('PUT', '/v1/flags/big_flag',
                      { body: resolveBodyOfSize(3 * MiB), token: true, expectContinue: true });
  validate('PUT', '/v1/flags/{name}', 413, r);
  assert.equal(r.json.type, 'urn:almanac:problem:too-large');
});

test('a chunked body that grows over 1 MiB is answered 413', async () => {
  const r = await api('POST', '/v1/resolve', { body: resolveBodyOfSize(2 * MiB), chunked: true });
  validate('POST', '/v1/resolve', 413, r);
});

test('writes without a valid token are 401 before the body is read', async () => {
  let r = await api('PUT', '/v1/flags/big_flag', { body: resolveBodyOfSize(2 * MiB), expectContinue: true });
  validate('PUT', '/v1/flags/{name}', 401, r);
  assert.match(r.json.detail, /needs a publish token/);
  r = await api('PUT', '/v1/python/3.16', { body: { first_release: '2027-10-01' }, token: 'alm_' + '0'.repeat(64) });
  validate('PUT', '/v1/python/{line}', 401, r);
  assert.match(r.json.detail, /not valid/);
  r = await api('PUT', '/v1/python/3.16', { body: { first_release: '2027-10-01' },
                                            headers: { authorization: 'Basic abc' } });
  validate('PUT', '/v1/python/{line}', 401, r);
});

test('path segments are percent-decoded', async () => {
  const r = validate('GET', '/v1/flags/{name}', 200, await api('GET', '/v1/flags/python%5Fworkers'));
  assert.equal(r.json.name, 'python_workers');
});
