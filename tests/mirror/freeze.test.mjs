// Freeze (issue 14): a snapshot past its expiry is refused by the real clock, from a
// mirror that keeps serving an old document and from the cache with --offline, even
// when ALMANAC_TODAY says an earlier day. The upstream runs with --snapshot-ttl 2.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { startServer } from '../api/lib/harness.mjs';
import { TODAY, User, fakeMirror, get } from './lib.mjs';

const up = await startServer({ today: TODAY, serveArgs: ['--snapshot-ttl', '2'] });
const u = new User('freeze');
let m;
after(() => {
  u.cleanup();
  m?.close();
});

test('an expired snapshot is refused from a mirror and from the cache', async () => {
  // The upstream re-signs every second or so: read until the document before and after
  // the signature is the same one, so the pair agrees.
  let doc, sig;
  for (;;) {
    doc = (await get(`${up.url}/v1/catalog/snapshot`)).body;
    sig = (await get(`${up.url}/v1/catalog/snapshot/signature`)).body;
    const again = (await get(`${up.url}/v1/catalog/snapshot`)).body;
    if (doc.equals(again)) break;
  }
  m = await fakeMirror(up.url, (req) => {
    if (req.url === '/v1/catalog/snapshot')
      return { headers: { 'content-type': 'application/json' }, body: doc };
    if (req.url === '/v1/catalog/snapshot/signature')
      return { headers: { 'content-type': 'text/plain' }, body: sig };
    return null;
  });
  const fresh = await u.run(m.url, ['sync']);
  assert.equal(fresh.code, 0, fresh.stderr);
  const expires = Date.parse(JSON.parse(doc).expires);
  await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 300));
  const r = await u.run(m.url, ['sync'], { ALMANAC_TODAY: '2020-01-01' });
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /expired at .*freeze/);
  const off = await u.run(m.url, ['--offline', 'resolve', '--date', '2024-04-01', '--flag', 'python_workers']);
  assert.equal(off.code, 4, off.stderr);
  assert.match(off.stderr, /expired at/);
  // the upstream itself has re-issued: syncing from it works again
  const again = await u.run(up.url, ['sync']);
  assert.equal(again.code, 0, again.stderr);
});
