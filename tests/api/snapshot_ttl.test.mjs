// The catalog snapshot is re-signed before it expires even when nothing changed
// (issue 14): with --snapshot-ttl 4 a document is replaced once half its life passed,
// with the same version, a later expiry and `previous` naming the old one.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, sha256Hex, startServer, validate } from './lib/harness.mjs';

await startServer({ serveArgs: ['--snapshot-ttl', '4'] });

const SNAP = '/v1/catalog/snapshot';

test('a fresh document is issued after half the lifetime, with the same version', async () => {
  const a = validate('GET', SNAP, 200, await api('GET', SNAP));
  assert.equal(Date.parse(a.json.expires) - Date.parse(a.json.issued_at), 4000);
  await new Promise((r) => setTimeout(r, 2300));
  const b = validate('GET', SNAP, 200, await api('GET', SNAP));
  assert.equal(b.json.version, a.json.version, 'nothing changed: same version');
  assert.ok(Date.parse(b.json.expires) > Date.parse(a.json.expires), 'a later expiry');
  assert.equal(b.json.previous, `sha256:${sha256Hex(a.body)}`);
  const s = validate('GET', `${SNAP}/signature`, 200, await api('GET', `${SNAP}/signature`));
  assert.match(s.text, new RegExp(`sha256=${sha256Hex(b.body)} `));
});
