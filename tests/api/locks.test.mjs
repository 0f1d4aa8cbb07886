// Locks (DESIGN §7): canonical bytes, byte-identical for identical inputs, the id is
// sha256 of exactly the bytes GET /v1/locks/{id} returns, and the signature route.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, resolveGet, resolvePost, sha256Hex, startServer, validate } from './lib/harness.mjs';

await startServer();

const INPUT = { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'],
                requirements: ['pydantic', 'numpy==1.26.4'] };

/* JSON with sorted keys and no whitespace: the canonical form. */
function canonical(v) {
  if (Array.isArray(v))
    return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

test('identical inputs give the same lock_id and byte-identical locks', async () => {
  const a = await resolvePost(INPUT);
  const b = await resolvePost(INPUT);
  const c = await resolveGet({ date: '2024-04-01', flags: 'python_workers', requirements: 'pydantic,numpy==1.26.4' });
  assert.match(a.json.lock_id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(a.json.lock_id, b.json.lock_id);
  assert.equal(a.json.lock_id, c.json.lock_id);
  assert.equal(canonical(a.json.lock), canonical(b.json.lock));
  assert.equal(a.text, b.text, 'the whole response is byte-identical');
});

test('lock_id is sha256 of the bytes GET /v1/locks/{id} returns, which are the canonical lock', async () => {
  const r = await resolvePost(INPUT);
  const id = r.json.lock_id;
  const l = validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${id}`));
  assert.equal(`sha256:${sha256Hex(l.body)}`, id);
  assert.equal(l.text, canonical(r.json.lock), 'stored bytes are the canonical serialization');
  assert.deepEqual(l.json, r.json.lock);
  assert.equal(l.headers.etag, `"${id.slice(7)}"`);
  assert.equal(l.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(l.headers['content-type'], 'application/json');
  const head = validate('HEAD', '/v1/locks/{id}', 200, await api('HEAD', `/v1/locks/${id}`));
  assert.equal(head.headers.etag, l.headers.etag);
});

test('different inputs give different locks; a policy move gives its own lock', async () => {
  const a = await resolvePost(INPUT);
  const b = await resolvePost({ ...INPUT, requirements: ['pydantic'] });
  const moved = await resolvePost({ ...INPUT, requirements: ['pydantic'], as_of: '2028-10-02' });
  const ids = new Set([a.json.lock_id, b.json.lock_id, moved.json.lock_id]);
  assert.equal(ids.size, 3);
  const l = validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${moved.json.lock_id}`));
  assert.equal(`sha256:${sha256Hex(l.body)}`, moved.json.lock_id);
  assert.equal(l.json.runtime.id, 'pyodide-0.28.3');
  // A pin that the move breaks is reported against the target set.
  const pinned = await resolvePost({ ...INPUT, as_of: '2028-10-02' }, 422);
  assert.equal(pinned.json.errors[0].code, 'requirement_not_satisfied');
  assert.equal(pinned.json.errors[0].resolved_version, '2.2.5');
});

test('the same date and flags resolve identically whatever as_of when nothing moves', async () => {
  const a = await resolvePost({ ...INPUT, as_of: '2026-01-01' });
  const b = await resolvePost({ ...INPUT, as_of: '2027-01-01' });
  assert.equal(a.json.lock_id, b.json.lock_id, 'as_of is policy, not part of the lock');
  assert.notEqual(a.json.policy.as_of, b.json.policy.as_of);
});

test('a lock never issued is 404; a malformed id is 400', async () => {
  let r = validate('GET', '/v1/locks/{id}', 404, await api('GET', `/v1/locks/sha256:${'0'.repeat(64)}`));
  assert.match(r.json.detail, /never issued/);
  for (const bad of ['xyz', `sha256:${'0'.repeat(63)}`, `sha256:${'G'.repeat(64)}`, `md5:${'0'.repeat(32)}`]) {
    r = validate('GET', '/v1/locks/{id}', 400, await api('GET', `/v1/locks/${bad}`));
    assert.match(r.json.detail, /sha256:/);
  }
});

test('GET /v1/locks/{id}/signature: the signature when the server signs, 404 otherwise', async () => {
  const r = await resolvePost(INPUT);
  const s = await api('GET', `/v1/locks/${r.json.lock_id}/signature`);
  if (r.json.signature === undefined) {
    validate('GET', '/v1/locks/{id}/signature', 404, s);
    assert.match(s.json.detail, /does not sign/);
  } else {
    validate('GET', '/v1/locks/{id}/signature', 200, s);
    assert.match(s.text, /^untrusted comment: /);
    assert.match(s.text, /trusted comment: /);
  }
  const missing = await api('GET', `/v1/locks/sha256:${'1'.repeat(64)}/signature`);
  validate('GET', '/v1/locks/{id}/signature', 404, missing);
  validate('GET', '/v1/locks/{id}/signature', r.json.signature === undefined ? 404 : 400,
           await api('GET', '/v1/locks/nope/signature'));
});
