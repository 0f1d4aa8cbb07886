// Storage and rate limits (issue 9): anonymous resolves live in a response cache
// bounded in bytes and are never written to the database; a lock kept by a client
// with a token, or pinned by a worker, survives eviction; an evicted lock is a 404
// that says to resolve again, and resolving again gives the same bytes. Rate limits
// charge cache misses, diffs and writes, never cached answers or downloads.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { api, server, startServer, validate } from './lib/harness.mjs';

await startServer({ serveArgs: ['--resolve-cache', '65536', '--rate-limit', '20/s,10'] });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PY = { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] };

/* Wait for a full bucket (burst 10 at 20/s). */
const refill = () => sleep(600);

function dates(n, offset = 0) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const d = new Date(Date.UTC(2024, 3, 1) + (i + offset) * 86400000);
    out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

/* Resolve many distinct inputs, pacing under the rate limit, to push others out. */
async function churn(n, offset) {
  for (const d of dates(n, offset)) {
    let r = await api('POST', '/v1/resolve', { body: { ...PY, compatibility_date: d, requirements: ['numpy'] } });
    while (r.status === 429) {
      validate('POST', '/v1/resolve', 429, r);
      await sleep(Number(r.headers['retry-after']) * 1000);
      r = await api('POST', '/v1/resolve', { body: { ...PY, compatibility_date: d, requirements: ['numpy'] } });
    }
    validate('POST', '/v1/resolve', 200, r);
  }
}

test('an anonymous lock is served while cached, then 404 "resolve again"; the same bytes come back', async () => {
  const dbBefore = fs.statSync(path.join(server().dataDir, 'almanac.db')).size;
  const a = validate('POST', '/v1/resolve', 200, await api('POST', '/v1/resolve', { body: { ...PY, requirements: ['pydantic'] } }));
  const id = a.json.lock_id;
  assert.equal(a.json.kept, undefined);
  const g = validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${id}`));
  assert.deepEqual(JSON.parse(g.text), a.json.lock);
  validate('GET', '/v1/locks/{id}/signature', 200, await api('GET', `/v1/locks/${id}/signature`));
  await churn(24, 10);
  const gone = validate('GET', '/v1/locks/{id}', 404, await api('GET', `/v1/locks/${id}`));
  assert.match(gone.json.detail, /resolve the same inputs again/);
  validate('GET', '/v1/locks/{id}/signature', 404, await api('GET', `/v1/locks/${id}/signature`));
  await refill();
  const again = validate('POST', '/v1/resolve', 200, await api('POST', '/v1/resolve', { body: { ...PY, requirements: ['pydantic'] } }));
  assert.equal(again.json.lock_id, id);
  const g2 = validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${id}`));
  assert.equal(g2.text, g.text, 'byte-identical');
  const dbAfter = fs.statSync(path.join(server().dataDir, 'almanac.db')).size;
  assert.ok(dbAfter - dbBefore < 64 * 1024, `anonymous resolves do not grow the database (${dbBefore} -> ${dbAfter})`);
});

test('a kept lock (token, "keep": true) and a worker-pinned lock survive eviction', async () => {
  await refill();
  const k = validate('POST', '/v1/resolve', 200, await api('POST', '/v1/resolve', {
    token: true, body: { ...PY, requirements: ['typing-extensions'], keep: true } }));
  assert.equal(k.json.kept, true);
  const w = validate('PUT', '/v1/workers/{name}', 201, await api('PUT', '/v1/workers/limits-pinned', {
    token: true, body: { ...PY, compatibility_date: '2024-05-05', requirements: ['six'] } }));
  const pinned = w.json.lock_id;
  assert.ok(pinned);
  await churn(24, 60);
  validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${k.json.lock_id}`));
  validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${pinned}`));
});

test('rate limit: misses and diffs are charged (429 + Retry-After); cached answers and reads are not', async () => {
  await refill();
  const base = { ...PY, compatibility_date: '2024-09-01' };
  validate('POST', '/v1/resolve', 200, await api('POST', '/v1/resolve', { body: base }));
  let limited = null;
  for (const d of dates(30, 200)) {
    const r = await api('POST', '/v1/resolve', { body: { ...PY, compatibility_date: d } });
    if (r.status === 429) {
      limited = validate('POST', '/v1/resolve', 429, r);
      break;
    }
    validate('POST', '/v1/resolve', 200, r);
  }
  assert.ok(limited, 'cache misses past the burst are refused');
  assert.match(limited.headers['retry-after'], /^[1-9][0-9]*$/);
  assert.equal(limited.json.type, 'urn:almanac:problem:rate-limited');
  let dl = null;
  for (let i = 0; i < 30 && !dl; i++) {
    const r = await api('GET', `/v1/diff?from=2024-04-01&to=2025-01-${String(1 + i).padStart(2, '0')}&flags=python_workers`);
    if (r.status === 429)
      dl = validate('GET', '/v1/diff', 429, r);
    else
      validate('GET', '/v1/diff', 200, r);
  }
  assert.ok(dl, 'diffs are charged too');
  // With the bucket empty: cached answers, lock reads and artifact downloads still work.
  const c = validate('POST', '/v1/resolve', 200, await api('POST', '/v1/resolve', { body: base }));
  validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${c.json.lock_id}`));
  const art = c.json.lock.artifacts[0];
  validate('GET', '/v1/artifacts/sha256/{hex}', 200, await api('GET', art.url));
  validate('GET', '/v1/health', 200, await api('GET', '/v1/health'));
  // A token has its own bucket: writes are charged to it.
  let wl = null;
  for (let i = 0; i < 30 && !wl; i++) {
    const r = await api('DELETE', `/v1/workers/nobody-${i}`, { token: true });
    if (r.status === 429)
      wl = validate('DELETE', '/v1/workers/{name}', 429, r);
    else
      validate('DELETE', '/v1/workers/{name}', 404, r);
  }
  assert.ok(wl, 'writes over the token bucket are refused');
  assert.ok(Number(wl.headers['retry-after']) >= 1);
});

/* Canonical JSON as the server writes it: sorted keys, no whitespace. */
function canonical(v) {
  if (Array.isArray(v))
    return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

test('a lock stored with format 1 keeps its bytes and is served as it is', async () => {
  await refill();
  const r = validate('POST', '/v1/resolve', 200, await api('POST', '/v1/resolve', { body: { ...PY, requirements: ['NumPy'] } }));
  assert.equal(r.json.lock.format, 2);
  // What this server issued before the format change: stored flags inside, the line as sent.
  const old = JSON.parse(JSON.stringify(r.json.lock));
  old.format = 1;
  old.requirements = ['NumPy'];
  for (const a of [...old.artifacts, ...old.packages])
    a.stored = r.json.stored[a.sha256];
  const bytes = Buffer.from(canonical(old));
  const id = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  execFileSync('sqlite3', [path.join(server().dataDir, 'almanac.db'),
    `INSERT INTO locks(id, bytes, created_at) VALUES('${id}', X'${bytes.toString('hex')}', '2026-01-01T00:00:00Z')`]);
  const g = validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${id}`));
  assert.ok(g.body.equals(bytes), 'byte for byte');
  assert.equal(g.json.format, 1);
  validate('GET', '/v1/locks/{id}/signature', 200, await api('GET', `/v1/locks/${id}/signature`));
  assert.notEqual(id, r.json.lock_id, 'the format 2 lock of the same inputs is another lock');
});
