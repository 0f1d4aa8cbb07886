// tests/hostile/resolves.mjs BUILD_DIR [COUNT]: RSS and database growth under a flood
// of hostile anonymous resolves (issue 9). Starts a seeded almanacd with
// --resolve-cache 16 MiB, warms it up, measures RSS (VmRSS) and the database files
// (almanac.db + -wal), sends COUNT (default 100,000) resolves that all miss the cache
// (each has its own assertion, so each is a new lock), and measures again. Passes
// when RSS grew by at most the cache limit + 32 MiB and the database by under 1 MiB.
// Prints the figures and "N passed, M failed".
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const B = path.resolve(process.argv[2] || 'build');
const COUNT = Number(process.argv[3] || 100000);
const CACHE = 16 * 1024 * 1024;
const CONCURRENCY = 8;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-flood-'));
const data = path.join(tmp, 'data');
const env = { ...process.env, ALMANAC_ZSTD_LEVEL: '1', ALMANAC_TODAY: '2026-11-25' };
let passed = 0, failed = 0;

function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (ok) passed++; else failed++;
}

execFileSync(path.join(B, 'almanacd'), ['seed', '--data', data], { env, stdio: 'ignore' });
// A port the kernel just gave out (a random one could be taken: almanacd refuses it).
const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const srv = spawn(path.join(B, 'almanacd'), ['serve', '--data', data, '--listen', `127.0.0.1:${port}`,
                                            '--resolve-cache', String(CACHE)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
srv.stderr.on('data', (d) => { stderr += d; });
let exited = null;
srv.on('exit', (code, sig) => { exited = sig || code; });
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(body) {
  return new Promise((resolve, reject) => {
    const buf = Buffer.from(JSON.stringify(body));
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/resolve', method: 'POST', agent,
                               headers: { 'content-type': 'application/json', 'content-length': buf.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(buf);
  });
}

const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${srv.pid}/status`, 'utf8'))[1]) * 1024;
const dbSize = () => ['almanac.db', 'almanac.db-wal'].map((f) => {
  try { return fs.statSync(path.join(data, f)).size; } catch { return 0; }
}).reduce((a, b) => a + b, 0);

async function flood(n, offset) {
  let next = 0, bad = 0;
  const worker = async () => {
    while (next < n) {
      const i = offset + next++;
      // A hostile client: a fresh, valid requirement every time (no cache hit), with
      // the noise the report used (extras, duplicate assertions, odd spelling).
      const st = await post({ compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'],
                              requirements: [`NumPy[z,a,A,b] != 0.${i}, != 0.${i}`] });
      if (st !== 200)
        bad++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return bad;
}

try {
  // Up to 30 s to start: the suite runs beside others on a loaded machine.
  for (let i = 0; i < 300 && exited === null; i++) {
    try { if (await post({ compatibility_date: '2024-04-01' }) === 200) break; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (exited !== null)
    throw new Error(`almanacd exited (${exited}) before the flood: ${stderr.trim()}`);
  await flood(2000, 0); // warm-up: code paths, snapshot, allocator
  const rss0 = rss(), db0 = dbSize(), t0 = Date.now();
  const bad = await flood(COUNT, 10000);
  const secs = (Date.now() - t0) / 1000;
  const rss1 = rss(), db1 = dbSize();
  console.log(`${COUNT} hostile resolves in ${secs.toFixed(1)} s (${Math.round(COUNT / secs)}/s)`);
  console.log(`RSS ${(rss0 / 1048576).toFixed(1)} MiB -> ${(rss1 / 1048576).toFixed(1)} MiB ` +
              `(bound: + ${CACHE / 1048576} MiB cache + 32 MiB)`);
  console.log(`database ${db0} -> ${db1} bytes (almanac.db + wal)`);
  check(bad === 0, `every resolve answered 200 (${bad} did not)`);
  check(rss1 - rss0 <= CACHE + 32 * 1048576, 'RSS growth within the cache limit + 32 MiB');
  check(db1 - db0 < 1048576, 'database growth under 1 MiB');
} catch (e) {
  check(false, `flood: ${e.message}`);
  if (!/almanacd exited/.test(e.message))
    console.log(`almanacd's stderr:\n${stderr.split('\n').filter((l) => !/ access /.test(l)).join('\n')}`);
} finally {
  agent.destroy();
  if (exited === null) {
    srv.kill('SIGTERM');
    await new Promise((r) => srv.on('exit', r));
  }
  if (/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(stderr)) {
    console.log(stderr);
    check(false, 'no sanitizer report');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
