// Workers registry and end-of-support enforcement (DESIGN §5, §11): register workers
// on every seed bundle and several dates, plan and apply around the ends of 3.12
// (2028-10-02), 3.13 (2029-10-07) and 3.14 (2030-10-07) checking exactly who moves
// where, a blocked move, idempotent applies, upcoming ends, and webhooks delivered to
// a loopback receiver that fails first, signed with HMAC-SHA256, every attempt
// recorded.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { after, test } from 'node:test';

import { api, codes, startServer, validate } from './lib/harness.mjs';

// The receiver is on loopback: only --webhook-allow-private lets deliveries reach it.
await startServer({ env: { ALMANAC_WEBHOOK_BACKOFF_MS: '200' }, serveArgs: ['--webhook-allow-private'] });

const SECRET = 'a-webhook-secret-of-some-length';
const PW = ['python_workers'];

async function deploy(name, body, status = 201) {
  return validate('PUT', '/v1/workers/{name}', status,
                  await api('PUT', `/v1/workers/${encodeURIComponent(name)}`, { body, token: true }));
}

async function worker(name, status = 200) {
  return validate('GET', '/v1/workers/{name}', status,
                  await api('GET', `/v1/workers/${encodeURIComponent(name)}`));
}

async function plan(asOf, extra = '') {
  return validate('GET', '/v1/eol/plan', 200, await api('GET', `/v1/eol/plan?as_of=${asOf}${extra}`));
}

async function apply(asOf, extra = '') {
  return validate('POST', '/v1/eol/apply', 200,
                  await api('POST', `/v1/eol/apply?as_of=${asOf}${extra}`, { token: true }));
}

async function packageNames(id) {
  const r = validate('GET', '/v1/package-sets/{runtime}/{date}', 200,
                     await api('GET', `/v1/package-sets/${id}`));
  return new Map(r.json.packages.map((p) => [p.name, p]));
}

const byName = (list) => Object.fromEntries(list.map((x) => [x.worker, x]));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A package of 0.26.4's set that 0.28.3's lacks (the 3.12 -> 3.13 move is blocked)
// but 314.0.7's has (so the 3.12 -> 3.14 move at the end of 3.13 is not).
let BLOCKER;
// The loopback webhook receiver: answers 500 to the first delivery, 204 after.
const received = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    received.push({ headers: req.headers, body, answered: received.length === 0 ? 500 : 204 });
    res.writeHead(received[received.length - 1].answered);
    res.end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
after(() => new Promise((r) => receiver.close(r)));

test('setup: a package that blocks the move to 3.13', async () => {
  const [p0264, p0283, p314] = await Promise.all([
    packageNames('pyodide-0.26.4/2024-11-15'), packageNames('pyodide-0.28.3/2025-09-22'),
    packageNames('pyodide-314.0.7/2026-09-14')]);
  const candidates = [...p0264.values()]
    .filter((p) => p.package_type === 'package' && !p0283.has(p.name) && p314.has(p.name) &&
                   !p.name.endsWith('-tests') && p.depends.every((d) => p0264.has(d)))
    .map((p) => p.name).sort();
  assert.ok(candidates.length > 0, 'no package in 0.26.4 and 314.0.7 but not in 0.28.3');
  BLOCKER = candidates[0];
});

test('PUT /v1/workers/{name} registers workers on every bundle and pins their locks', async () => {
  const fleet = [
    ['a-312', { compatibility_date: '2024-04-01', compatibility_flags: PW, requirements: ['numpy', 'pydantic'] }, 'pyodide-0.26.4'],
    ['b-313-implied', { compatibility_date: '2025-10-01', compatibility_flags: PW }, 'pyodide-0.28.3'],
    ['c-313-named', { compatibility_date: '2025-06-01', compatibility_flags: [...PW, 'python_workers_20250116'], requirements: 'numpy\n# a comment\npydantic\n' }, 'pyodide-0.28.3'],
    ['d-314', { compatibility_date: '2026-07-01', compatibility_flags: [...PW, 'python_workers_20260610'] }, 'pyodide-314.0.7'],
    ['e-314-exp', { compatibility_date: '2026-09-10', compatibility_flags: [...PW, 'python_zstd_snapshot'], allow_experimental: true }, 'pyodide-314.0.7'],
    ['f-blocked', { compatibility_date: '2024-04-01', compatibility_flags: PW, requirements: [BLOCKER] }, 'pyodide-0.26.4'],
    ['g-312-disabled', { compatibility_date: '2025-10-01', compatibility_flags: [...PW, 'no_python_workers_20250116'] }, 'pyodide-0.26.4'],
    ['h-js', { compatibility_date: '2024-04-01', compatibility_flags: ['nodejs_compat'] }, null],
    ['i-numpy-pin', { compatibility_date: '2024-04-01', compatibility_flags: PW, requirements: ['numpy==1.26.4'] }, 'pyodide-0.26.4'],
  ];
  for (const [name, body, runtime] of fleet) {
    const r = await deploy(name, body, 201);
    assert.equal(r.json.name, name);
    assert.equal(r.json.runtime, runtime, name);
    assert.equal(r.json.status, 'active');
    assert.equal(r.json.changed, true);
    assert.equal(r.json.lock.runtime?.id ?? null, runtime);
    assert.equal(r.json.history.length, 1);
    assert.equal(r.json.history[0].kind, 'deploy');
    assert.equal(r.json.history[0].lock_id, r.json.lock_id);
    // The pinned lock is the one /v1/locks/{id} serves.
    const l = validate('GET', '/v1/locks/{id}', 200, await api('GET', `/v1/locks/${r.json.lock_id}`));
    assert.equal(l.json.runtime?.id ?? null, runtime);
  }
  const c = await worker('c-313-named');
  assert.deepEqual(c.json.requirements, ['numpy', '# a comment', 'pydantic']);
  assert.equal(c.json.support.end_of_support, '2029-10-07');
  assert.equal(c.json.support.status, 'supported');

  // Redeploying the same inputs changes nothing.
  const again = await deploy('a-312', fleet[0][1], 200);
  assert.equal(again.json.changed, false);
  assert.equal(again.json.history.length, 1);
});

test('PUT /v1/workers/{name} refuses what does not resolve, bad names and anonymous callers', async () => {
  let r = await deploy('bad-pkg', { compatibility_date: '2024-04-01', compatibility_flags: PW, requirements: ['nosuchpackage'] }, 422);
  assert.deepEqual(codes(r), ['unsupported_package']);
  r = await deploy('bad-date', { compatibility_date: '2099-01-01', compatibility_flags: PW }, 422);
  assert.deepEqual(codes(r), ['date_in_future']);
  validate('GET', '/v1/workers/{name}', 404, await api('GET', '/v1/workers/bad-pkg'));
  r = await deploy('-bad', { compatibility_date: '2024-04-01' }, 400);
  assert.match(r.json.detail, /worker name/);
  await deploy('x', { compatibility_flags: PW }, 400);
  await deploy('x', { compatibility_date: '2024-04-01', requirements: 5 }, 400);
  validate('PUT', '/v1/workers/{name}', 401,
           await api('PUT', '/v1/workers/x', { body: { compatibility_date: '2024-04-01' } }));
  validate('DELETE', '/v1/workers/{name}', 401, await api('DELETE', '/v1/workers/a-312'));
  validate('POST', '/v1/eol/apply', 401, await api('POST', '/v1/eol/apply?as_of=2028-10-02'));
});

test('GET /v1/workers filters and pages', async () => {
  const all = [];
  let cursor = null;
  do {
    const r = validate('GET', '/v1/workers', 200,
                       await api('GET', `/v1/workers?limit=4${cursor ? `&cursor=${cursor}` : ''}`));
    assert.ok(r.json.workers.length <= 4);
    all.push(...r.json.workers.map((w) => w.name));
    cursor = r.json.next_cursor;
  } while (cursor);
  assert.deepEqual(all, ['a-312', 'b-313-implied', 'c-313-named', 'd-314', 'e-314-exp', 'f-blocked',
                         'g-312-disabled', 'h-js', 'i-numpy-pin']);
  const names = async (q) => validate('GET', '/v1/workers', 200, await api('GET', `/v1/workers?${q}`))
    .json.workers.map((w) => w.name);
  assert.deepEqual(await names('python_line=3.13'), ['b-313-implied', 'c-313-named']);
  assert.deepEqual(await names('runtime=pyodide-314.0.7'), ['d-314', 'e-314-exp']);
  assert.deepEqual(await names('ends_before=2029-10-07'), ['a-312', 'f-blocked', 'g-312-disabled', 'i-numpy-pin']);
  assert.deepEqual(await names('ends_before=2029-10-08&runtime=pyodide-0.28.3'), ['b-313-implied', 'c-313-named']);
  assert.deepEqual(await names('status=blocked'), []);
  validate('GET', '/v1/workers', 400, await api('GET', '/v1/workers?status=paused'));
  validate('GET', '/v1/workers', 400, await api('GET', '/v1/workers?ends_before=2029-02-30'));
  validate('GET', '/v1/workers', 400, await api('GET', '/v1/workers?limit=1001'));
  validate('GET', '/v1/workers', 400, await api('GET', '/v1/workers?cursor=***'));
});

test('PUT /v1/webhooks/{id} registers the receiver; the secret is never shown', async () => {
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  let r = validate('PUT', '/v1/webhooks/{id}', 201, await api('PUT', '/v1/webhooks/ops', {
    token: true, body: { url, events: ['worker.blocked', 'worker.moved'], secret: SECRET } }));
  assert.deepEqual(r.json.events, ['worker.moved', 'worker.blocked']);
  assert.equal(r.json.secret, undefined);
  r = validate('GET', '/v1/webhooks/{id}', 200, await api('GET', '/v1/webhooks/ops', { token: true }));
  assert.equal(r.json.url, url, 'an admin sees the whole url');
  assert.ok(!r.text.includes(SECRET));
  r = validate('GET', '/v1/webhooks/{id}', 200, await api('GET', '/v1/webhooks/ops'));
  assert.equal(r.json.url, `http://127.0.0.1:${receiver.address().port}/`, 'others see scheme and host only');
  r = validate('GET', '/v1/webhooks', 200, await api('GET', '/v1/webhooks'));
  assert.deepEqual(r.json.webhooks.map((h) => h.id), ['ops']);
  assert.ok(!r.text.includes('/hook'), 'the list is redacted too');
  validate('GET', '/v1/webhooks', 401, await api('GET', '/v1/webhooks', { token: 'alm_bogus' }));
  for (const body of [{ url: 'ftp://127.0.0.1/x', events: ['worker.moved'], secret: SECRET },
                      { url, events: ['worker.nope'], secret: SECRET },
                      { url, events: [], secret: SECRET },
                      { url, events: ['worker.moved'], secret: 'short' },
                      { url, events: ['worker.moved'] }])
    validate('PUT', '/v1/webhooks/{id}', 400, await api('PUT', '/v1/webhooks/other', { token: true, body }));
  validate('PUT', '/v1/webhooks/{id}', 401,
           await api('PUT', '/v1/webhooks/other', { body: { url, events: ['worker.moved'], secret: SECRET } }));
  validate('GET', '/v1/webhooks/{id}', 404, await api('GET', '/v1/webhooks/other'));
  // A second webhook that only wants upcoming notices, to delete later.
  validate('PUT', '/v1/webhooks/{id}', 201, await api('PUT', '/v1/webhooks/later', {
    token: true, body: { url, events: ['worker.upcoming'], secret: SECRET } }));
});

test('as of 2028-10-01 nothing moves; the upcoming end of 3.12 is listed', async () => {
  const p = await plan('2028-10-01');
  assert.deepEqual(p.json.moves, []);
  assert.deepEqual(p.json.blocked, []);
  assert.equal(p.json.totals.registered, 9);
  const u = validate('GET', '/v1/eol/upcoming', 200, await api('GET', '/v1/eol/upcoming?as_of=2028-10-01'));
  const w = byName(u.json.workers);
  assert.deepEqual(Object.keys(w).sort(), ['a-312', 'f-blocked', 'g-312-disabled', 'i-numpy-pin']);
  assert.equal(w['a-312'].end_of_support, '2028-10-02');
  assert.equal(w['a-312'].days_left, 1);
  assert.equal(w['a-312'].target.runtime, 'pyodide-0.28.3');
  assert.equal(w['f-blocked'].target, null);
  assert.equal(w['f-blocked'].blocked.code, 'upgrade_blocked');
  assert.deepEqual(w['f-blocked'].blocked.packages, [BLOCKER]);
  assert.deepEqual(u.json.totals.by_line, [{ python_line: '3.12', end_of_support: '2028-10-02', workers: 4 }]);
  const a = await apply('2028-10-01');
  assert.equal(a.json.applied.events, 0);
  validate('GET', '/v1/eol/plan', 400, await api('GET', '/v1/eol/plan?as_of=2028-13-01'));
});

test('as of 2028-10-02 3.12 ends: the plan says who moves where and changes nothing', async () => {
  const p = await plan('2028-10-02');
  const moves = byName(p.json.moves);
  const blocked = byName(p.json.blocked);
  assert.deepEqual(Object.keys(moves), ['a-312', 'g-312-disabled']);
  assert.deepEqual(Object.keys(blocked), ['f-blocked', 'i-numpy-pin']);
  for (const m of p.json.moves) {
    assert.deepEqual([m.from.runtime, m.from.python_line, m.to.runtime, m.to.python_line],
                     ['pyodide-0.26.4', '3.12', 'pyodide-0.28.3', '3.13']);
    assert.match(m.reason, /python 3\.12 reached end of support on 2028-10-02/);
  }
  const numpy = moves['a-312'].package_changes.find((c) => c.name === 'numpy');
  assert.deepEqual(numpy, { name: 'numpy', from: '1.26.4', to: '2.2.5', change: 'changed' });
  assert.equal(blocked['f-blocked'].code, 'upgrade_blocked');
  assert.deepEqual(blocked['f-blocked'].packages, [BLOCKER]);
  assert.deepEqual(blocked['f-blocked'].to, { runtime: 'pyodide-0.28.3', python_line: '3.13' });
  assert.equal(blocked['f-blocked'].new, true);
  assert.equal(blocked['i-numpy-pin'].code, 'requirement_not_satisfied');
  assert.deepEqual(blocked['i-numpy-pin'].packages, ['numpy']);
  assert.deepEqual(p.json.totals, { registered: 9, evaluated: 4, moves: 2, blocked: 2, newly_blocked: 2, unblocked: 0 });
  const s = await plan('2028-10-02', '&summary=true');
  assert.equal(s.json.moves, undefined);
  assert.deepEqual(s.json.groups, p.json.groups);
  assert.equal((await worker('a-312')).json.runtime, 'pyodide-0.26.4');
});

test('POST /v1/eol/apply 2028-10-02 carries out exactly that plan, once', async () => {
  const before = await plan('2028-10-02');
  const a = await apply('2028-10-02');
  assert.deepEqual(a.json.moves, before.json.moves);
  assert.deepEqual(a.json.applied.moved, 2);
  assert.deepEqual(a.json.applied.blocked, 2);
  assert.equal(a.json.applied.events, 4);
  assert.equal(a.json.applied.deliveries, 4);
  const aw = await worker('a-312');
  assert.equal(aw.json.runtime, 'pyodide-0.28.3');
  assert.equal(aw.json.lock_id, before.json.moves[0].to.lock_id);
  assert.equal(aw.json.lock.runtime.id, 'pyodide-0.28.3');
  assert.deepEqual(aw.json.history.map((h) => [h.kind, h.runtime]),
                   [['deploy', 'pyodide-0.26.4'], ['move', 'pyodide-0.28.3']]);
  assert.equal(aw.json.history[1].event_seq, a.json.applied.first_seq);
  const fw = await worker('f-blocked');
  assert.equal(fw.json.status, 'blocked');
  assert.equal(fw.json.runtime, 'pyodide-0.26.4');
  assert.equal(fw.json.blocked.code, 'upgrade_blocked');
  assert.equal(fw.json.blocked.since, '2028-10-02');
  assert.deepEqual(fw.json.blocked.packages, [BLOCKER]);
  assert.equal(fw.json.history.length, 1);
  // The events say what moved, from which lock to which.
  const ev = validate('GET', '/v1/events', 200,
                      await api('GET', `/v1/events?after=${a.json.applied.first_seq - 1}&limit=4`));
  const moved = ev.json.events.find((e) => e.kind === 'worker.moved' && e.subject === 'a-312');
  assert.equal(moved.data.old_lock_id, before.json.moves[0].from.lock_id);
  assert.equal(moved.data.new_lock_id, before.json.moves[0].to.lock_id);
  assert.deepEqual(moved.data.to, { runtime: 'pyodide-0.28.3', python_line: '3.13' });

  // Again: nothing changes; the blocked ones stay blocked, not new.
  const again = await apply('2028-10-02');
  assert.deepEqual(again.json.applied, { moved: 0, blocked: 0, unblocked: 0, upcoming_notified: 0,
                                         events: 0, deliveries: 0, first_seq: null, last_seq: null });
  assert.deepEqual(again.json.moves, []);
  assert.deepEqual(again.json.blocked.map((b) => [b.worker, b.new, b.since]),
                   [['f-blocked', false, '2028-10-02'], ['i-numpy-pin', false, '2028-10-02']]);
  const blockedList = validate('GET', '/v1/workers', 200, await api('GET', '/v1/workers?status=blocked'));
  assert.deepEqual(blockedList.json.workers.map((w) => w.name), ['f-blocked', 'i-numpy-pin']);
});

test('webhook deliveries: signed, retried after a 500, every attempt recorded', async () => {
  let d;
  for (let i = 0; i < 100; i++) {
    d = validate('GET', '/v1/webhooks/{id}/deliveries', 200, await api('GET', '/v1/webhooks/ops/deliveries', { token: true }));
    if (d.json.deliveries.length === 4 && d.json.deliveries.every((x) => x.state === 'delivered'))
      break;
    await sleep(100);
  }
  assert.equal(d.json.deliveries.length, 4);
  assert.ok(d.json.deliveries.every((x) => x.state === 'delivered'), JSON.stringify(d.json.deliveries));
  const retried = d.json.deliveries.filter((x) => x.attempts.length === 2);
  assert.equal(retried.length, 1, 'exactly the delivery that met the 500 was retried');
  assert.equal(retried[0].attempts[0].status_code, 500);
  assert.equal(retried[0].attempts[0].error, 'http status 500');
  assert.equal(retried[0].attempts[1].status_code, 204);
  assert.equal(received.length, 5);
  for (const r of received) {
    const sig = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
    assert.equal(r.headers['x-almanac-signature'], sig);
    assert.equal(r.headers['content-type'], 'application/json');
    const body = JSON.parse(r.body);
    assert.equal(r.headers['x-almanac-event'], body.event);
    assert.ok(Number.isInteger(body.seq));
  }
  const kinds = received.slice(1).map((r) => JSON.parse(r.body)).map((b) => `${b.event} ${b.data.worker}`).sort();
  assert.deepEqual(kinds, ['worker.blocked f-blocked', 'worker.blocked i-numpy-pin',
                           'worker.moved a-312', 'worker.moved g-312-disabled']);
  // The retry sent the same signed bytes.
  assert.deepEqual(received[0].body, received.find((r, i) => i > 0 &&
    r.headers['x-almanac-delivery'] === received[0].headers['x-almanac-delivery']).body);
  const h = validate('GET', '/v1/webhooks/{id}', 200, await api('GET', '/v1/webhooks/ops'));
  assert.deepEqual(h.json.deliveries, { pending: 0, delivered: 4, failed: 0 });
  const page = validate('GET', '/v1/webhooks/{id}/deliveries', 200,
                        await api('GET', '/v1/webhooks/ops/deliveries?limit=3', { token: true }));
  assert.equal(page.json.deliveries.length, 3);
  const rest = validate('GET', '/v1/webhooks/{id}/deliveries', 200,
                        await api('GET', `/v1/webhooks/ops/deliveries?limit=3&cursor=${page.json.next_cursor}`, { token: true }));
  assert.equal(rest.json.deliveries.length, 1);
  assert.equal(rest.json.next_cursor, null);
  validate('GET', '/v1/webhooks/{id}/deliveries', 404, await api('GET', '/v1/webhooks/nope/deliveries', { token: true }));
  validate('GET', '/v1/webhooks/{id}/deliveries', 400, await api('GET', '/v1/webhooks/ops/deliveries?state=lost', { token: true }));
  validate('GET', '/v1/webhooks/{id}/deliveries', 401, await api('GET', '/v1/webhooks/ops/deliveries'));
});

test('as of 2029-10-07 3.13 ends: everyone on 3.12 and 3.13 goes to 3.14', async () => {
  const p = await plan('2029-10-07');
  const moves = byName(p.json.moves);
  assert.deepEqual(Object.keys(moves), ['a-312', 'b-313-implied', 'c-313-named', 'f-blocked', 'g-312-disabled']);
  for (const m of p.json.moves)
    assert.deepEqual([m.to.runtime, m.to.python_line], ['pyodide-314.0.7', '3.14']);
  // The blocked worker goes straight from 3.12 to 3.14, where its package is.
  assert.deepEqual([moves['f-blocked'].from.runtime, moves['f-blocked'].from.python_line], ['pyodide-0.26.4', '3.12']);
  assert.deepEqual(p.json.blocked.map((b) => [b.worker, b.code, b.new]), [['i-numpy-pin', 'requirement_not_satisfied', false]]);
  assert.deepEqual(p.json.groups.filter((g) => g.outcome === 'move').map((g) => [g.from.runtime, g.to.runtime, g.workers]).sort(),
                   [['pyodide-0.26.4', 'pyodide-314.0.7', 1], ['pyodide-0.28.3', 'pyodide-314.0.7', 4]]);
  const a = await apply('2029-10-07');
  assert.equal(a.json.applied.moved, 5);
  const f = await worker('f-blocked');
  assert.equal(f.json.status, 'active');
  assert.equal(f.json.blocked, null);
  assert.equal(f.json.runtime, 'pyodide-314.0.7');
  assert.deepEqual((await worker('a-312')).json.history.map((h) => h.runtime),
                   ['pyodide-0.26.4', 'pyodide-0.28.3', 'pyodide-314.0.7']);
  assert.equal((await apply('2029-10-07')).json.applied.events, 0);
});

test('as of 2030-10-07 3.14 ends with no newer bundle: every Python worker is blocked', async () => {
  const p = await plan('2030-10-07');
  assert.deepEqual(p.json.moves, []);
  assert.deepEqual(p.json.blocked.map((b) => b.worker),
                   ['a-312', 'b-313-implied', 'c-313-named', 'd-314', 'e-314-exp', 'f-blocked', 'g-312-disabled', 'i-numpy-pin']);
  assert.ok(p.json.blocked.every((b) => b.code === 'no_supported_runtime' && b.to === null));
  const a = await apply('2030-10-07');
  assert.equal(a.json.applied.blocked, 8);
  assert.equal((await worker('d-314')).json.status, 'blocked');
  assert.equal((await worker('d-314')).json.runtime, 'pyodide-314.0.7');
  assert.equal((await worker('h-js')).json.status, 'active');
  assert.equal((await apply('2030-10-08')).json.applied.events, 0);
});

test('upcoming notices are sent once per worker and line', async () => {
  // As of 2028-06-01 3.12 ends within 180 days: z-312 (new) and i-numpy-pin (still on
  // 3.12, its block dates from 2030) are announced, once.
  validate('PUT', '/v1/workers/{name}', 201, await api('PUT', '/v1/workers/z-312', {
    token: true, body: { compatibility_date: '2024-04-01', compatibility_flags: PW } }));
  const n = received.length;
  const a = await apply('2028-06-01', '&notify_upcoming=true&summary=true');
  assert.equal(a.json.applied.upcoming_notified, 2);
  assert.equal(a.json.applied.deliveries, 2);
  const again = await apply('2028-06-02', '&notify_upcoming=true&summary=true');
  assert.equal(again.json.applied.upcoming_notified, 0);
  for (let i = 0; i < 600 && received.length < n + 2; i++)
    await sleep(50);
  const bodies = byName(received.slice(n).map((r) => JSON.parse(r.body))
    .map((b) => ({ worker: b.data.worker, ...b })));
  assert.deepEqual(Object.keys(bodies).sort(), ['i-numpy-pin', 'z-312']);
  assert.equal(bodies['z-312'].event, 'worker.upcoming');
  assert.equal(bodies['z-312'].data.end_of_support, '2028-10-02');
  assert.equal(bodies['z-312'].data.target.runtime, 'pyodide-0.28.3');
  assert.equal(bodies['i-numpy-pin'].data.target, null);
  assert.equal(bodies['i-numpy-pin'].data.blocked.code, 'requirement_not_satisfied');
  const u = validate('GET', '/v1/eol/upcoming', 200, await api('GET', '/v1/eol/upcoming?as_of=2028-06-01'));
  assert.equal(byName(u.json.workers)['z-312'].notified, true);
  assert.equal(byName(u.json.workers)['z-312'].days_left, 123);
});

test('DELETE removes workers and webhooks', async () => {
  validate('DELETE', '/v1/workers/{name}', 204, await api('DELETE', '/v1/workers/z-312', { token: true }));
  await worker('z-312', 404);
  validate('DELETE', '/v1/workers/{name}', 404, await api('DELETE', '/v1/workers/z-312', { token: true }));
  validate('DELETE', '/v1/webhooks/{id}', 204, await api('DELETE', '/v1/webhooks/later', { token: true }));
  validate('DELETE', '/v1/webhooks/{id}', 404, await api('DELETE', '/v1/webhooks/later', { token: true }));
  validate('GET', '/v1/eol/upcoming', 400, await api('GET', '/v1/eol/upcoming?as_of=tomorrow'));
});
