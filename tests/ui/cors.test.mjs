// CORS under a real browser's rules (issue 12 item 4): almanacd with
// --cors-origin LISTED --cors-origin '*', and pages on two other origins calling it
// with fetch(): the listed origin reads, writes with a bearer token (a preflight
// with Authorization) and reads the exposed headers; any other origin reads public
// routes only, and its writes and token-bearing requests are refused by the browser.
import { after, test } from 'node:test';

import { api, server, startServer, validate } from '../api/lib/harness.mjs';
import { assert, launch, skipReason, staticServer } from './lib.mjs';

const SKIP = skipReason();

if (SKIP) {
  console.log(`# CORS browser tests skipped: ${SKIP}`);
  test('CORS in a browser', { skip: SKIP }, () => {});
} else {
  const listed = await staticServer('');
  const other = await staticServer('');
  await startServer({ serveArgs: ['--no-sweep', '--cors-origin', listed.origin, '--cors-origin', '*'] });
  const base = server().url;
  const browser = await launch();
  after(async () => {
    await browser.close();
    await listed.close();
    await other.close();
  });

  // Run fetch() in a page of origin; returns {ok, status, headers} or {error}.
  async function call(origin, path, init = {}) {
    const page = await browser.ctx.newPage();
    page.on('console', () => {}); // the refused calls log CORS errors: expected here
    await page.goto(`${origin}/ui/login`);
    const out = await page.evaluate(async ([url, init]) => {
      try {
        const r = await fetch(url, init);
        const headers = {};
        r.headers.forEach((v, k) => { headers[k] = v; });
        return { status: r.status, headers, text: await r.text() };
      } catch (e) {
        return { error: String(e) };
      }
    }, [base + path, init]);
    await page.close();
    return out;
  }

  test('a listed origin reads, and reads the exposed headers', async () => {
    const r = await call(listed.origin, '/v1/python');
    assert.equal(r.status, 200);
    const rt = validate('GET', '/v1/runtimes/{id}', 200, await api('GET', '/v1/runtimes/pyodide-0.26.4')).json;
    const a = rt.artifacts.find((x) => x.role === 'loader');
    const k = await call(listed.origin, `/v1/artifacts/sha256/${a.sha256}`, { headers: { Range: 'bytes=0-9' } });
    assert.equal(k.status, 206, JSON.stringify(k));
    // exposed through Access-Control-Expose-Headers: readable by the page
    assert.match(k.headers['content-range'] || '', /^bytes 0-9\//);
    assert.ok(k.headers.etag, JSON.stringify(k.headers));
    assert.match(k.headers['repr-digest'] || '', /sha-256=/);
    // and through "*" for another origin (a public read)
    const o = await call(other.origin, `/v1/artifacts/sha256/${a.sha256}`, { headers: { Range: 'bytes=0-9' } });
    assert.equal(o.status, 206);
    assert.ok(o.headers.etag);
  });

  test('a listed origin writes with a bearer token (preflight with Authorization)', async () => {
    const r = await call(listed.origin, '/v1/workers/cors-w', {
      method: 'PUT', headers: { Authorization: `Bearer ${server().token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] }) });
    assert.equal(r.status, 201, JSON.stringify(r));
    assert.equal(JSON.parse(r.text).name, 'cors-w');
    validate('GET', '/v1/workers/{name}', 200, await api('GET', '/v1/workers/cors-w'));
    // a refused write is readable too: the page can show the problem
    const bad = await call(listed.origin, '/v1/workers/cors-w', {
      method: 'PUT', headers: { Authorization: 'Bearer wrong', 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(bad.status, 401);
    assert.equal(JSON.parse(bad.text).status, 401);
  });

  test('any other origin reads public routes through "*", including POST /v1/resolve', async () => {
    const r = await call(other.origin, '/v1/flags');
    assert.equal(r.status, 200);
    const res = await call(other.origin, '/v1/resolve', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] }) });
    assert.equal(res.status, 200, JSON.stringify(res));
  });

  test('any other origin cannot write or send a token: the browser refuses', async () => {
    const w = await call(other.origin, '/v1/workers/evil', {
      method: 'PUT', headers: { Authorization: `Bearer ${server().token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ compatibility_date: '2024-04-01' }) });
    assert.match(w.error || '', /TypeError/, JSON.stringify(w));
    const d = await call(other.origin, '/v1/workers/cors-w', { method: 'DELETE' });
    assert.match(d.error || '', /TypeError/, JSON.stringify(d));
    const t = await call(other.origin, '/v1/python', { headers: { Authorization: `Bearer ${server().token}` } });
    assert.match(t.error || '', /TypeError/, JSON.stringify(t));
    validate('GET', '/v1/workers/{name}', 404, await api('GET', '/v1/workers/evil'));
    validate('GET', '/v1/workers/{name}', 200, await api('GET', '/v1/workers/cors-w'));
  });
}
