// The CLI and the signed catalog snapshot (issue 14): `almanac sync`, locks recomputed
// byte for byte across the whole seed date range, --offline resolution, and each
// attack served from a fake mirror: an unsigned lock that is not the client's own
// resolution, rollback, endless data, bad artifact bytes, a mirror adding keys; and
// ALMANAC_SERVER lists that fall back and say which server served.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';

import { server, startServer } from '../api/lib/harness.mjs';
import { TODAY, User, canonical, fakeMirror, get, postJson } from './lib.mjs';

const up = await startServer({ today: TODAY });
const users = [];
const mirrors = [];
after(() => {
  for (const u of users)
    u.cleanup();
  for (const m of mirrors)
    m.close();
});

function user(tag) {
  const u = new User(tag);
  users.push(u);
  return u;
}

async function mirror(hook) {
  const m = await fakeMirror(up.url, hook);
  mirrors.push(m);
  return m;
}

function daysFrom(start, end, step) {
  const out = [];
  for (let t = Date.parse(start); t <= Date.parse(end); t += step * 86400000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

async function resolveUp(body) {
  const r = await postJson(`${up.url}/v1/resolve`, body);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

test('sync verifies and records the snapshot; locks recomputed from it are byte-identical across the seed dates', async () => {
  const u = user('range');
  const s = await u.run(up.url, ['--json', 'sync']);
  assert.equal(s.code, 0, s.stderr);
  const info = JSON.parse(s.stdout);
  const snap = JSON.parse((await get(`${up.url}/v1/catalog/snapshot`)).body);
  assert.equal(info.version, snap.version);
  assert.match(s.stderr, /first use of/);
  const combos = [
    { flags: ['python_workers'], requirements: [] },
    { flags: ['python_workers'], requirements: ['numpy', 'pydantic'] },
    { flags: ['python_workers', 'python_workers_20260610'], requirements: ['micropip'] },
    { flags: ['python_workers', 'no_python_workers_20250116'], requirements: ['requests'] },
    { flags: ['nodejs_compat'], requirements: [] },
  ];
  const files = [];
  for (const date of daysFrom('2019-10-14', TODAY, 23)) {
    for (const c of combos) {
      const body = { compatibility_date: date, compatibility_flags: c.flags, requirements: c.requirements };
      const r = await postJson(`${up.url}/v1/resolve`, body);
      if (r.status !== 200)
        continue; // e.g. a package missing from an older set: nothing to compare
      files.push([r.json.lock_id, u.file(`${r.json.lock_id.slice(7, 23)}.json`, canonical(r.json.lock))]);
    }
  }
  // moved locks: as of dates after the ends of support
  for (const as_of of ['2028-10-02', '2029-06-01', '2030-01-01']) {
    const r = await resolveUp({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'],
                                requirements: ['numpy'], as_of });
    assert.ok(r.lock.upgraded_from, `moved as of ${as_of}`);
    files.push([r.lock_id, u.file(`${r.lock_id.slice(7, 23)}.json`, canonical(r.lock))]);
  }
  assert.ok(files.length > 300, `compared ${files.length} locks`);
  for (let i = 0; i < files.length; i += 16) {
    const batch = files.slice(i, i + 16);
    const v = await u.run(up.url, ['--offline', 'verify-lock', ...batch.map(([, f]) => f)]);
    assert.equal(v.code, 0, `${v.stdout}\n${v.stderr}`);
    for (const [id] of batch)
      assert.ok(v.stdout.includes(`lock ${id} matches catalog snapshot version ${snap.version}`), id);
  }
  // resolve --offline gives the server's lock id, with no network at all
  for (const date of ['2020-01-01', '2024-04-01', '2025-10-01', TODAY]) {
    const ref = await resolveUp({ compatibility_date: date, compatibility_flags: ['python_workers'], requirements: ['numpy'] });
    const req = u.file('req.txt', 'numpy\n');
    const o = await u.run('http://127.0.0.1:9', ['--offline', '--json', 'resolve', '--date', date, '--flag', 'python_workers', '-r', req]);
    assert.equal(o.code, 0, o.stderr);
    const j = JSON.parse(o.stdout);
    assert.equal(j.lock_id, ref.lock_id, date);
    assert.equal(j.signature, null);
    assert.deepEqual(j.policy, ref.policy);
    assert.match(o.stderr, /resolved locally from catalog snapshot version/);
  }
  // a changed byte is refused
  const [, f0] = files[0];
  const lk = JSON.parse(require_read(f0));
  lk.enabled_flags = [...lk.enabled_flags, 'nodejs_compat'].sort();
  const bad = u.file('bad.json', canonical(lk));
  const b = await u.run(up.url, ['--offline', 'verify-lock', bad]);
  assert.equal(b.code, 4, b.stderr);
  assert.match(b.stderr, /differs from this client's resolution/);
});

import fs from 'node:fs';
function require_read(f) {
  return fs.readFileSync(f, 'utf8');
}

test('a mirror\'s unsigned lock is used only when it is the client\'s own resolution', async () => {
  const other = await resolveUp({ compatibility_date: '2025-01-01', compatibility_flags: ['python_workers', 'python_workers_20260610'] });
  let mode = 'honest';
  const m = await mirror(async (req, body) => {
    if (req.method !== 'POST' || !req.url.startsWith('/v1/resolve'))
      return null;
    const real = await resolveUp(JSON.parse(body.toString()));
    const out = mode === 'honest' ? { ...real, signature: null }
      : { ...real, lock: other.lock, lock_id: other.lock_id, signature: null };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(out) };
  });
  const u = user('unsigned');
  assert.equal((await u.run(up.url, ['sync'])).code, 0);
  const ok = await u.run(m.url, ['--json', 'resolve', '--date', '2025-01-01', '--flag', 'python_workers']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotMatch(ok.stderr, /first use/, 'the mirror serves the upstream key: no new trust');
  mode = 'evil';
  const bad = await u.run(m.url, ['resolve', '--date', '2025-01-01', '--flag', 'python_workers']);
  assert.equal(bad.code, 4, bad.stderr);
  assert.match(bad.stderr, new RegExp(`lock ${other.lock_id} differs from this client's resolution`));
  assert.match(bad.stderr, new RegExp(`lock from ${m.url}`));
});

test('a signature from another lock is refused', async () => {
  const other = await resolveUp({ compatibility_date: '2025-01-01', compatibility_flags: ['python_workers', 'python_workers_20260610'] });
  const m = await mirror(async (req, body) => {
    if (req.method !== 'POST' || !req.url.startsWith('/v1/resolve'))
      return null;
    const real = await resolveUp(JSON.parse(body.toString()));
    return { status: 200, headers: { 'content-type': 'application/json' },
             body: JSON.stringify({ ...real, lock: other.lock, lock_id: other.lock_id, signature: real.signature }) };
  });
  const u = user('sigswap');
  const r = await u.run(m.url, ['resolve', '--date', '2025-01-01', '--flag', 'python_workers']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /bad signature|signature is for another object/);
});

test('rollback: a snapshot older than one already verified is refused', async () => {
  const oldDoc = (await get(`${up.url}/v1/catalog/snapshot`)).body;
  const oldSig = (await get(`${up.url}/v1/catalog/snapshot/signature`)).body;
  const u = user('rollback');
  assert.equal((await u.run(up.url, ['sync'])).code, 0);
  // a catalog change: a new draft flag moves the version
  const put = await new Promise((resolve, reject) => {
    const data = JSON.stringify({ disable_flag: 'no_rollback_probe', enable_date: '2027-01-01', description: 'x' });
    const req = http.request(`${up.url}/v1/flags/rollback_probe`, {
      method: 'PUT', headers: { authorization: `Bearer ${server().token}`, 'content-type': 'application/json' },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end(data);
  });
  assert.equal(put, 201);
  const s2 = await u.run(up.url, ['--json', 'sync']);
  assert.equal(s2.code, 0, s2.stderr);
  assert.ok(JSON.parse(s2.stdout).version > JSON.parse(oldDoc).version);
  const m = await mirror((req) => {
    if (req.url === '/v1/catalog/snapshot')
      return { headers: { 'content-type': 'application/json' }, body: oldDoc };
    if (req.url === '/v1/catalog/snapshot/signature')
      return { headers: { 'content-type': 'text/plain' }, body: oldSig };
    return null;
  });
  const r = await u.run(m.url, ['sync']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /older than version \d+ already verified .*rollback/);
  // another user who never saw the newer one accepts it (nothing to compare with)
  const fresh = user('rollback-fresh');
  assert.equal((await fresh.run(up.url, ['trust', 'show'])).code, 0);
  assert.equal((await fresh.run(m.url, ['sync'])).code, 0);
});

test('endless data: a snapshot larger than the limit is cut off, an artifact larger than the lock says is refused', async () => {
  const m = await mirror((req) => {
    if (req.url === '/v1/catalog/snapshot') {
      return { body: (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1 << 20, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 200 && res.write(chunk))
            sent++;
          if (sent < 200)
            res.once('drain', pump);
          else
            res.end();
        };
        res.on('error', () => {});
        pump();
      } };
    }
    if (/^\/v1\/artifacts\/sha256\/[0-9a-f]{64}$/.test(req.url)) {
      return { body: (res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.on('error', () => {});
        const chunk = Buffer.alloc(1 << 20, 1);
        let sent = 0;
        const pump = () => {
          while (sent < 100 && res.write(chunk))
            sent++;
          if (sent < 100)
            res.once('drain', pump);
          else
            res.end();
        };
        pump();
      } };
    }
    return null;
  });
  const u = user('endless');
  const r = await u.run(m.url, ['sync']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /endless data/);
  const f = await u.run(m.url, ['fetch', '--date', '2024-04-01', '--flag', 'python_workers']);
  assert.equal(f.code, 4, f.stderr);
  assert.match(f.stderr, /larger than the lock says/);
});

test('arbitrary software: artifact bytes that do not match the digest are refused', async () => {
  const m = await mirror(async (req) => {
    if (/^\/v1\/artifacts\/sha256\/[0-9a-f]{64}$/.test(req.url)) {
      const real = await get(`${up.url}${req.url}`);
      real.body[real.body.length >> 1] ^= 0xff;
      return { headers: { 'content-type': 'application/octet-stream' }, body: real.body };
    }
    return null;
  });
  const u = user('tamper');
  const f = await u.run(m.url, ['fetch', '--date', '2024-04-01', '--flag', 'python_workers']);
  assert.equal(f.code, 4, f.stderr);
  assert.match(f.stderr, /corrupt or tampered with: its bytes hash to/);
});

test('a mirror listing a key of its own gets it ignored; its upstream key is associated quietly', async () => {
  const evilKey = 'untrusted comment: minisign public key 0000000000000001\nRWQBAAAAAAAAAP2ikbBOZR5vB0EN4NNtzdYJ/lXsoWwRwsGWoc+zMbGf\n';
  const m = await mirror(async (req) => {
    if (req.url !== '/v1/keys')
      return null;
    const real = JSON.parse((await get(`${up.url}/v1/keys`)).body);
    real.keys.unshift({ id: '0000000000000001', created_at: real.keys[0].created_at, retired_at: null,
                        current: true, public_key: evilKey });
    real.keys.forEach((k, i) => { k.current = i === 0; });
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(real) };
  });
  const u = user('keys');
  assert.equal((await u.run(up.url, ['trust', 'show'])).code, 0);
  const r = await u.run(m.url, ['--json', 'trust', 'show']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /first use/);
  const ids = JSON.parse(r.stdout).keys.map((k) => k.id);
  assert.ok(!ids.includes('0000000000000001'), 'the mirror\'s own key is not pinned');
  // a first contact through that mirror with nothing pinned is trust on first use, said loudly
  const v = user('keys-first');
  const r2 = await v.run(m.url, ['trust', 'show']);
  assert.match(r2.stderr, /first use of/);
});

test('ALMANAC_SERVER is a list: the next server answers when one fails, and the CLI says which', async () => {
  const u = user('list');
  const r = await u.run(`http://127.0.0.1:9,${up.url}`, ['--json', 'resolve', '--date', '2024-04-01', '--flag', 'python_workers']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /http:\/\/127\.0\.0\.1:9 failed .*falling back to http:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.stderr, new RegExp(`served by ${up.url.replaceAll('.', '\\.')}`));
  const down = await mirror(() => ({ status: 503, headers: { 'content-type': 'text/plain' }, body: 'down' }));
  const r2 = await u.run(`${down.url} ${up.url}`, ['sync']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /answered 503\); falling back/);
  const none = await u.run('http://127.0.0.1:9,http://127.0.0.1:10', ['sync']);
  assert.equal(none.code, 3, none.stderr);
});

test('--offline never touches the network and needs a verified snapshot', async () => {
  const u = user('offline');
  const r = await u.run('http://127.0.0.1:9', ['--offline', 'resolve', '--date', '2024-04-01', '--flag', 'python_workers']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /run 'almanac sync' first/);
  assert.equal((await u.run(up.url, ['sync'])).code, 0);
  const ok = await u.run(up.url, ['--offline', 'resolve', '--date', '2024-04-01', '--flag', 'python_workers'], { http_proxy: 'http://127.0.0.1:9' });
  assert.equal(ok.code, 0, ok.stderr);
  // one meaning wherever it is written: after the command, with a config and no
  // almanac.lock beside it, the snapshot resolves; --locked asks the server, so no
  const cfg = u.file('wrangler.toml', 'name = "w"\nmain = "worker.py"\ncompatibility_date = "2024-04-01"\ncompatibility_flags = ["python_workers"]\n');
  const after = await u.run('http://127.0.0.1:9', ['--json', 'resolve', cfg, '--offline']);
  assert.equal(after.code, 0, after.stderr);
  const ref = await postJson(`${up.url}/v1/resolve`, { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] });
  assert.equal(JSON.parse(after.stdout).lock_id, ref.json.lock_id);
  assert.match(after.stderr, /resolved locally from catalog snapshot/);
  const locked = await u.run('http://127.0.0.1:9', ['resolve', cfg, '--locked', '--offline']);
  assert.equal(locked.code, 1, locked.stderr);
  assert.match(locked.stderr, /--locked asks the server/);
  const deploy = await u.run('http://127.0.0.1:9', ['--offline', 'workers', 'list']);
  assert.equal(deploy.code, 3, deploy.stderr);
  assert.match(deploy.stderr, /--offline: GET \/v1\/workers needs the server/);
  // a tampered cached copy fails its signature check
  const fsPath = `${u.env.ALMANAC_CACHE}/catalog`;
  const doc = fs.readdirSync(fsPath).find((n) => n.endsWith('.json'));
  const text = fs.readFileSync(`${fsPath}/${doc}`, 'utf8');
  fs.writeFileSync(`${fsPath}/${doc}`, text.replace('"3.12"', '"3.21"'));
  const bad = await u.run(up.url, ['--offline', 'resolve', '--date', '2024-04-01', '--flag', 'python_workers']);
  assert.equal(bad.code, 4, bad.stderr);
  assert.match(bad.stderr, /not signed by a pinned key|bad signature/);
});
