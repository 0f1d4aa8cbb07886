// Static mirror trees (issue 14): `almanacd export-static` writes plain files; nginx
// and Python's http.server serve them with no configuration beyond a root; the CLI
// recognises the tree by almanac-mirror.json, syncs its snapshot, resolves locally
// (no flag) to the upstream's exact lock, fetches and verifies artifacts from the .zst
// siblings, and runs a worker. A tree past its --expires is refused (freeze).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';

import { ROOT, server, startServer } from '../api/lib/harness.mjs';
import { BIN, TODAY, User, get, haveNginx, nginxServeDir, postJson, pythonServeDir } from './lib.mjs';

const up = await startServer({ today: TODAY });
const owner = new User('static');
const procs = [];
after(async () => {
  for (const p of procs) {
    p.kill('SIGTERM');
    await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', r)));
  }
  owner.cleanup();
});

function exportTree(name, extra = []) {
  const out = path.join(owner.dir, name);
  execFileSync(path.join(BIN, 'almanacd'), ['export-static', '--data', server().dataDir, '--to', out, ...extra],
               { stdio: 'pipe' });
  fs.chmodSync(owner.dir, 0o755);
  return out;
}

const pythonServe = (dir) => pythonServeDir(dir, procs);
const nginxServe = (dir) => nginxServeDir(dir, owner.dir, procs);

async function checkTree(url, tag) {
  const u = new User(`static-${tag}`);
  try {
    const marker = JSON.parse((await get(`${url}/almanac-mirror.json`)).body);
    assert.equal(marker.almanac_mirror, 1);
    const s = await u.run(url, ['--json', 'sync']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).version, marker.version);
    for (const [date, flags, reqs] of [['2024-04-01', ['python_workers'], ['numpy']],
                                       ['2025-10-01', ['python_workers'], []],
                                       [TODAY, ['python_workers', 'python_workers_20260610'], ['pydantic']]]) {
      const ref = await postJson(`${up.url}/v1/resolve`, { compatibility_date: date, compatibility_flags: flags, requirements: reqs });
      const req = u.file('requirements.txt', reqs.join('\n'));
      const args = ['--json', 'resolve', '--date', date, '-r', req];
      for (const f of flags)
        args.push('--flag', f);
      const r = await u.run(url, args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).lock_id, ref.json.lock_id, `${tag}: ${date} ${flags}`);
      assert.match(r.stderr, /resolved locally from catalog snapshot/);
    }
    const f = await u.run(url, ['fetch', '--date', '2024-04-01', '--flag', 'python_workers']);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /5 files verified/);
    if (process.env.ALMANAC_SLOW_TESTS !== '0') {
      // The date fetched above: the run needs nothing more from the tree.
      const w = await u.run(url, ['run', path.join(ROOT, 'examples/hello/worker.py'), '--date', '2024-04-01',
                                  '--flag', 'python_workers', '--request', 'GET /']);
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stdout, /Hello world!/);
    }
  } finally {
    u.cleanup();
  }
}

test('export-static writes the tree: marker, snapshot with .zst and .minisig, keys, artifacts by digest', async () => {
  const out = exportTree('tree');
  const marker = JSON.parse(fs.readFileSync(path.join(out, 'almanac-mirror.json'), 'utf8'));
  assert.equal(marker.snapshot, 'catalog/snapshot.json');
  for (const f of ['catalog/snapshot.json', 'catalog/snapshot.json.zst', 'catalog/snapshot.json.minisig', 'keys.json'])
    assert.ok(fs.existsSync(path.join(out, f)), f);
  const doc = JSON.parse(fs.readFileSync(path.join(out, 'catalog/snapshot.json'), 'utf8'));
  assert.equal(marker.version, doc.version);
  for (const rt of doc.runtimes) {
    for (const a of rt.artifacts) {
      const base = path.join(out, 'artifacts/sha256', a.sha256);
      assert.equal(fs.statSync(base).size, a.size, `${rt.id} ${a.role} identity bytes`);
      assert.ok(fs.existsSync(`${base}.zst`) && fs.existsSync(`${base}.minisig`));
    }
  }
  // a second export changes nothing that is content-addressed and keeps working
  exportTree('tree');
});

test('Python http.server serves the tree as is and the CLI resolves, fetches and runs from it', async () => {
  await checkTree(await pythonServe(exportTree('tree')), 'python');
});

test('nginx serves the tree as is and the CLI resolves, fetches and runs from it', { skip: !haveNginx() }, async () => {
  await checkTree(await nginxServe(exportTree('tree')), 'nginx');
});

test('a static tree past its --expires is refused (freeze)', async () => {
  const out = exportTree('short', ['--expires', '2s']);
  const url = await pythonServe(out);
  const u = new User('static-expired');
  try {
    const marker = JSON.parse((await get(`${url}/almanac-mirror.json`)).body);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(marker.expires) - Date.now()) + 300));
    const s = await u.run(url, ['sync']);
    assert.equal(s.code, 4, s.stderr);
    assert.match(s.stderr, /expired at .*freeze/);
  } finally {
    u.cleanup();
  }
});
