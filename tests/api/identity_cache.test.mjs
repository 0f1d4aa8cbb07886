// The identity cache (DESIGN §8, issue 14): identity downloads come from decompressed
// copies in DATA/identity-cache, filled on the first request, checked, bounded by
// --identity-cache (here 3 MiB) with the least recently used evicted, Range served
// from the copy; an artifact larger than the limit is streamed as before.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { api, server, sha256Hex, startServer, validate } from './lib/harness.mjs';

await startServer({ serveArgs: ['--identity-cache', '3M'] });

const ART = '/v1/artifacts/sha256/{hex}';

async function runtimeArtifacts(id) {
  const r = validate('GET', '/v1/runtimes/{id}', 200, await api('GET', `/v1/runtimes/${id}`));
  return Object.fromEntries(r.json.artifacts.map((a) => [a.role, a]));
}

function cached() {
  const dir = path.join(server().dataDir, 'identity-cache');
  return fs.readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n))
    .map((n) => ({ name: n, size: fs.statSync(path.join(dir, n)).size }));
}

async function identity(a, headers = {}) {
  return validate('GET', ART, headers.range ? 206 : 200,
                  await api('GET', `/v1/artifacts/sha256/${a.sha256}`, { headers }));
}

test('first identity request fills the cache; bytes, Range and eviction are right', async () => {
  const a = await runtimeArtifacts('pyodide-0.26.4');
  const b = await runtimeArtifacts('pyodide-0.27.7');
  assert.deepEqual(cached(), [], 'empty before any identity request');
  const js = await identity(a['core-js']);
  assert.equal(sha256Hex(js.body), a['core-js'].sha256);
  assert.deepEqual(cached().map((f) => f.name), [a['core-js'].sha256]);
  const again = await identity(a['core-js']);
  assert.equal(sha256Hex(again.body), a['core-js'].sha256, 'served from the cache');
  const part = await identity(a['core-js'], { range: 'bytes=1000-1999' });
  assert.ok(part.body.equals(js.body.subarray(1000, 2000)));
  assert.equal(part.headers['content-range'], `bytes 1000-1999/${a['core-js'].size}`);
  // the 10 MB module is larger than the whole cache: streamed, not cached
  const wasm = await identity(a['core-wasm']);
  assert.equal(sha256Hex(wasm.body), a['core-wasm'].sha256);
  assert.ok(!cached().some((f) => f.name === a['core-wasm'].sha256));
  // 1.2 MB + 2.3 MB > 3 MiB: filling the stdlib evicts the older core-js copy
  await new Promise((r) => setTimeout(r, 20));
  const std = await identity(a.stdlib);
  assert.equal(sha256Hex(std.body), a.stdlib.sha256);
  let names = cached().map((f) => f.name);
  assert.ok(names.includes(a.stdlib.sha256));
  assert.ok(!names.includes(a['core-js'].sha256), 'least recently used evicted');
  assert.ok(cached().reduce((s, f) => s + f.size, 0) <= 3 * 1024 * 1024);
  // a recently used copy survives the next eviction
  await identity(b.loader);
  await identity(a.stdlib);
  await new Promise((r) => setTimeout(r, 20));
  await identity(b['core-js']);
  names = cached().map((f) => f.name);
  assert.ok(names.includes(b['core-js'].sha256));
  // a damaged copy of the wrong size is replaced, never served
  const dir = path.join(server().dataDir, 'identity-cache');
  fs.truncateSync(path.join(dir, b['core-js'].sha256), 100);
  const fixed = await identity(b['core-js']);
  assert.equal(sha256Hex(fixed.body), b['core-js'].sha256);
  // zstd downloads are unaffected
  const z = validate('GET', ART, 200, await api('GET', `/v1/artifacts/sha256/${a.stdlib.sha256}`,
                                                { headers: { 'accept-encoding': 'zstd' } }));
  assert.equal(z.headers['content-encoding'], 'zstd');
});
