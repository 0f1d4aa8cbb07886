// Locks (DESIGN §7): canonical bytes, byte-identical for identical inputs, the id is
// sha256 of exactly the bytes GET /v1/locks/{id} returns, and the signature route.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
  const { signature: sa, ...ra } = a.json;
  const { signature: sb, ...rb } = b.json;
  assert.deepEqual(ra, rb, 'the whole response is the same');
  assert.equal(typeof sa, typeof sb);
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
  assert.match(r.json.detail, /resolve the same inputs again/);
  for (const bad of ['xyz', `sha256:${'0'.repeat(63)}`, `sha256:${'G'.repeat(64)}`, `md5:${'0'.repeat(32)}`]) {
    r = validate('GET', '/v1/locks/{id}', 400, await api('GET', `/v1/locks/${bad}`));
    assert.match(r.json.detail, /sha256:/);
  }
});

/* minisign -V of bytes against a signature and a public key file's text. */
function minisignVerify(bytes, sig, pub) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-minisign-'));
  try {
    fs.writeFileSync(path.join(dir, 'lock.json'), bytes);
    fs.writeFileSync(path.join(dir, 'lock.json.minisig'), sig);
    fs.writeFileSync(path.join(dir, 'key.pub'), pub);
    return execFileSync('minisign', ['-V', '-p', path.join(dir, 'key.pub'), '-m', path.join(dir, 'lock.json')],
                        { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function haveMinisign() {
  try {
    execFileSync('minisign', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('GET /v1/locks/{id}/signature: the lock signed by the current key; stock minisign verifies it', async () => {
  const r = await resolvePost(INPUT);
  const s = validate('GET', '/v1/locks/{id}/signature', 200, await api('GET', `/v1/locks/${r.json.lock_id}/signature`));
  assert.match(s.text, /^untrusted comment: /);
  const trusted = s.text.split('\n').find((l) => l.startsWith('trusted comment: '));
  assert.match(trusted, new RegExp(`kind=lock sha256=${r.json.lock_id.slice(7)} `));
  assert.equal(typeof r.json.signature, 'string', 'the resolve response carries the signature');
  assert.match(r.json.signature, new RegExp(`kind=lock sha256=${r.json.lock_id.slice(7)} `));

  const keys = validate('GET', '/v1/keys', 200, await api('GET', '/v1/keys'));
  const current = keys.json.keys.find((k) => k.current);
  assert.ok(current, 'a current key');
  assert.match(trusted, new RegExp(`key=${current.id}`));
  const bytes = validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${r.json.lock_id}`)).body;
  if (haveMinisign()) {
    assert.match(minisignVerify(bytes, s.text, current.public_key), /Signature and comment signature verified/);
    assert.match(minisignVerify(bytes, r.json.signature, current.public_key), /verified/);
    const tampered = Buffer.from(bytes);
    tampered[10] ^= 1;
    assert.throws(() => minisignVerify(tampered, s.text, current.public_key));
  }

  validate('GET', '/v1/locks/{id}/signature', 404, await api('GET', `/v1/locks/sha256:${'1'.repeat(64)}/signature`));
  validate('GET', '/v1/locks/{id}/signature', 400, await api('GET', '/v1/locks/nope/signature'));
});
