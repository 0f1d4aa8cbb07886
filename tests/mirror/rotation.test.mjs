// Key rotation that clients follow (issue 14): `almanacd key rotate` publishes a
// statement (the new public key, signed by the old key, dated) at GET
// /v1/key-rotations; a client that pinned the first key follows two rotations to the
// current key without trusting anything on first use, and refuses a chain with a gap
// or a statement that does not verify.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';

import { server, startServer } from '../api/lib/harness.mjs';
import { BIN, TODAY, User, fakeMirror, get } from './lib.mjs';

const up = await startServer({ today: TODAY });
const users = [];
const mirrors = [];
after(() => {
  users.forEach((u) => u.cleanup());
  mirrors.forEach((m) => m.close());
});

function user(tag) {
  const u = new User(tag);
  users.push(u);
  return u;
}

function rotate() {
  execFileSync(path.join(BIN, 'almanacd'), ['key', 'rotate', '--data', server().dataDir], { stdio: 'pipe' });
}

const RESOLVE = ['resolve', '--date', '2024-04-01', '--flag', 'python_workers'];

test('a client pinned to the first key follows two signed rotations; gaps and forgeries are refused', async () => {
  const a = user('rot-a');
  const b = user('rot-b');
  const c = user('rot-c');
  for (const u of [a, b, c])
    assert.equal((await u.run(up.url, ['trust', 'show'])).code, 0);
  const first = JSON.parse((await get(`${up.url}/v1/keys`)).body).keys[0].id;
  rotate();
  rotate();
  const keys = JSON.parse((await get(`${up.url}/v1/keys`)).body).keys;
  const current = keys.find((k) => k.current).id;
  assert.equal(keys.length, 3);
  const rot = JSON.parse((await get(`${up.url}/v1/key-rotations`)).body).rotations;
  assert.equal(rot.length, 2);
  assert.equal(rot[0].old, first);
  assert.equal(rot[1].new, current);
  assert.equal(rot[0].new, rot[1].old);
  for (const r of rot) {
    const st = JSON.parse(r.statement);
    assert.equal(st.kind, 'almanac-key-rotation');
    assert.match(r.signature, /trusted comment: almanac kind=rotation /);
  }

  const ok = await a.run(up.url, ['--json', ...RESOLVE]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((ok.stderr.match(/following key rotation/g) || []).length, 2, ok.stderr);
  assert.doesNotMatch(ok.stderr, /first use/);
  const s = await a.run(up.url, ['--json', 'sync']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(JSON.parse(s.stdout).key, current, 'the snapshot is re-signed by the new key');
  const again = await a.run(up.url, RESOLVE);
  assert.doesNotMatch(again.stderr, /following/, 'the reached keys stay pinned');

  const gap = await fakeMirror(up.url, (req) => (req.url === '/v1/key-rotations'
    ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rotations: [rot[1]] }) } : null));
  mirrors.push(gap);
  const g = await b.run(gap.url, RESOLVE);
  assert.equal(g.code, 4, g.stderr);
  assert.match(g.stderr, /gap/);

  const forged = structuredClone(rot);
  const st0 = JSON.parse(forged[0].statement);
  st0.date = '2020-01-01T00:00:00Z';
  forged[0].statement = JSON.stringify(st0);
  const bad = await fakeMirror(up.url, (req) => (req.url === '/v1/key-rotations'
    ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rotations: forged }) } : null));
  mirrors.push(bad);
  const f = await c.run(bad.url, RESOLVE);
  assert.equal(f.code, 4, f.stderr);
  assert.match(f.stderr, /does not verify/);
});
