// The workers registry, end-of-support plan/apply/upcoming and webhooks (DESIGN §11):
// every route once at least, against openapi.yaml, with the real values.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';

import { api, codes, qs, startServer, validate } from './lib/harness.mjs';

await startServer();

const PY = { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] };
const SECRET = 'a-webhook-secret-of-32-bytes-0123';

async function putWorker(name, body, status, token = true) {
  return validate('PUT', '/v1/workers/{name}', status, await api('PUT', `/v1/workers/${name}`, { body, token }));
}

async function getJSON(route, p, status = 200) {
  return validate('GET', route, status, await api('GET', p));
}

/* A package of 0.26.4's set that 0.28.3's set lacks and that resolves on its own. */
async function droppedPackage() {
  const d = await getJSON('/v1/diff', `/v1/diff?${qs({ from: '2024-04-01', to: '2025-10-01', flags: 'python_workers' })}`);
  for (const { name } of d.json.packages.removed) {
    const r = await api('POST', '/v1/resolve', { body: { ...PY, requirements: [name] } });
    validate('POST', '/v1/resolve', r.status === 200 ? 200 : 422, r);
    if (r.status === 200)
      return name;
  }
  return assert.fail('no package of 0.26.4 missing from 0.28.3 resolves');
}

/* A webhook receiver on a free loopback port. */
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    received.push({ headers: req.headers, body });
    res.writeHead(204);
    res.end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
after(() => new Promise((r) => receiver.close(r)));
const HOOK_URL = `http://127.0.0.1:${receiver.address().port}/almanac-hook`;

test('PUT /v1/workers/{name} registers (201), pins the lock, and redeploys (200)', async () => {
  let r = await putWorker('api-one', { ...PY, requirements: ['pydantic'] }, 201);
  assert.equal(r.json.name, 'api-one');
  assert.equal(r.json.runtime, 'pyodide-0.26.4');
  assert.equal(r.json.python_line, '3.12');
  assert.equal(r.json.status, 'active');
  assert.equal(r.json.blocked, null);
  assert.equal(r.json.changed, true);
  assert.deepEqual(r.json.support, { end_of_support: '2028-10-02', status: 'supported' });
  assert.deepEqual(r.json.requirements, ['pydantic']);
  assert.equal(r.json.policy.status, 'supported');
  assert.deepEqual(r.json.history.map((h) => [h.seq, h.kind, h.lock_id]), [[1, 'deploy', r.json.lock_id]]);
  const res = await api('POST', '/v1/resolve', { body: { ...PY, requirements: ['pydantic'] } });
  validate('POST', '/v1/resolve', 200, res);
  assert.equal(r.json.lock_id, res.json.lock_id, 'the pinned lock is the resolution');
  assert.deepEqual(r.json.lock, res.json.lock);

  r = await putWorker('api-one', { ...PY, requirements: 'pydantic\n' }, 200);
  assert.equal(r.json.changed, false);
  r = await putWorker('api-one', { ...PY, requirements: ['pydantic', 'numpy'] }, 200);
  assert.equal(r.json.changed, true);
  assert.equal(r.json.history.length, 2);
  await putWorker('api-two', { compatibility_date: '2025-10-01', compatibility_flags: ['python_workers'] }, 201);
  await putWorker('api-js', { compatibility_date: '2025-10-01' }, 201);
});

test('GET /v1/workers/{name}; 404 and 400 for unknown and malformed names', async () => {
  const r = await getJSON('/v1/workers/{name}', '/v1/workers/api-two');
  assert.equal(r.json.runtime, 'pyodide-0.28.3');
  assert.equal(r.json.lock.runtime.id, 'pyodide-0.28.3');
  const js = await getJSON('/v1/workers/{name}', '/v1/workers/api-js');
  assert.equal(js.json.runtime, null);
  assert.equal(js.json.python_line, null);
  assert.equal(js.json.lock.runtime, null);
  let e = await getJSON('/v1/workers/{name}', '/v1/workers/nobody', 404);
  assert.match(e.json.detail, /'nobody' is not registered/);
  e = await getJSON('/v1/workers/{name}', '/v1/workers/-dash', 400);
  assert.match(e.json.detail, /worker name '-dash'/);
});

test('a worker that does not resolve is refused with the resolution problem', async () => {
  let r = await putWorker('api-bad', { compatibility_date: '2024-04-01', compatibility_flags: ['python_workrs'] }, 422);
  assert.deepEqual(codes(r), ['unknown_flag']);
  r = await putWorker('api-bad', { compatibility_date: '2024-04-01', requirements: ['numpy'] }, 422);
  assert.deepEqual(codes(r), ['python_workers_required']);
  await putWorker('api-bad', { compatibility_flags: [] }, 400);
  await putWorker('api-bad', PY, 401, false);
  await getJSON('/v1/workers/{name}', '/v1/workers/api-bad', 404);
});

test('GET /v1/workers lists, filters and pages', async () => {
  let r = await getJSON('/v1/workers', '/v1/workers');
  assert.deepEqual(r.json.workers.map((w) => w.name), ['api-js', 'api-one', 'api-two']);
  assert.equal(r.json.next_cursor, null);
  r = await getJSON('/v1/workers', '/v1/workers?python_line=3.12');
  assert.deepEqual(r.json.workers.map((w) => w.name), ['api-one']);
  r = await getJSON('/v1/workers', '/v1/workers?runtime=pyodide-0.28.3');
  assert.deepEqual(r.json.workers.map((w) => w.name), ['api-two']);
  r = await getJSON('/v1/workers', '/v1/workers?ends_before=2029-01-01');
  assert.deepEqual(r.json.workers.map((w) => w.name), ['api-one']);
  r = await getJSON('/v1/workers', '/v1/workers?status=blocked');
  assert.deepEqual(r.json.workers, []);
  const page1 = await getJSON('/v1/workers', '/v1/workers?limit=2');
  assert.equal(page1.json.workers.length, 2);
  assert.ok(page1.json.next_cursor);
  const page2 = await getJSON('/v1/workers', `/v1/workers?limit=2&cursor=${encodeURIComponent(page1.json.next_cursor)}`);
  assert.deepEqual(page2.json.workers.map((w) => w.name), ['api-two']);
  assert.equal(page2.json.next_cursor, null);
  for (const q of ['?status=zzz', '?limit=0', '?limit=1001', '?ends_before=soon', '?cursor=%21%21'])
    await getJSON('/v1/workers', `/v1/workers${q}`, 400);
});

test('webhooks: create, change, list, get; refusals', async () => {
  let r = validate('PUT', '/v1/webhooks/{id}', 201, await api('PUT', '/v1/webhooks/ops', {
    body: { url: HOOK_URL, events: ['worker.moved', 'worker.blocked'], secret: SECRET }, token: true }));
  assert.deepEqual(r.json.events, ['worker.moved', 'worker.blocked']);
  assert.equal(r.json.url, HOOK_URL);
  assert.deepEqual(r.json.deliveries, { pending: 0, delivered: 0, failed: 0 });
  assert.equal(r.json.secret, undefined, 'the secret is never shown');
  r = validate('PUT', '/v1/webhooks/{id}', 200, await api('PUT', '/v1/webhooks/ops', {
    body: { events: ['worker.moved', 'worker.blocked', 'worker.upcoming'] }, token: true }));
  assert.equal(r.json.events.length, 3);
  r = validate('GET', '/v1/webhooks', 200, await api('GET', '/v1/webhooks'));
  assert.deepEqual(r.json.webhooks.map((h) => h.id), ['ops']);
  r = validate('GET', '/v1/webhooks/{id}', 200, await api('GET', '/v1/webhooks/ops'));
  assert.equal(r.json.url, HOOK_URL);
  validate('GET', '/v1/webhooks/{id}', 404, await api('GET', '/v1/webhooks/none'));
  const bad = [
    [{ url: HOOK_URL, events: ['worker.upgraded'], secret: SECRET }, /event 'worker.upgraded' is unknown/],
    [{ url: 'ftp://example.invalid/', events: ['worker.moved'], secret: SECRET }, /not an absolute http or https url/],
    [{ url: HOOK_URL, events: [], secret: SECRET }, /at least one event/],
    [{ url: HOOK_URL, events: ['worker.moved'], secret: 'short' }, /secret must be/],
    [{ url: HOOK_URL }, /needs 'url', 'events' and 'secret'/],
  ];
  for (const [body, re] of bad) {
    const e = validate('PUT', '/v1/webhooks/{id}', 400, await api('PUT', '/v1/webhooks/other', { body, token: true }));
    assert.match(e.json.detail, re);
  }
  validate('PUT', '/v1/webhooks/{id}', 401, await api('PUT', '/v1/webhooks/other', { body: {} }));
});

test('the plan as of 2028-10-02: moves, a blocked worker, nothing changed by planning', async () => {
  const dropped = await droppedPackage();
  await putWorker('api-blocked', { ...PY, requirements: [dropped] }, 201);
  const plan = await getJSON('/v1/eol/plan', '/v1/eol/plan?as_of=2028-10-02');
  const p = plan.json;
  assert.equal(p.as_of, '2028-10-02');
  assert.deepEqual(p.totals, { registered: 4, evaluated: 2, moves: 1, blocked: 1, newly_blocked: 1, unblocked: 0 });
  assert.deepEqual(p.moves.map((m) => [m.worker, m.from.runtime, m.to.runtime, m.to.python_line]),
                   [['api-one', 'pyodide-0.26.4', 'pyodide-0.28.3', '3.13']]);
  const numpy = p.moves[0].package_changes.find((c) => c.name === 'numpy');
  assert.deepEqual(numpy, { name: 'numpy', from: '1.26.4', to: '2.2.5', change: 'changed' });
  assert.deepEqual(p.blocked.map((b) => [b.worker, b.code, b.packages, b.new]),
                   [['api-blocked', 'upgrade_blocked', [dropped], true]]);
  assert.deepEqual(p.blocked[0].to, { runtime: 'pyodide-0.28.3', python_line: '3.13' });
  const summary = await getJSON('/v1/eol/plan', '/v1/eol/plan?as_of=2028-10-02&summary=true');
  assert.deepEqual(summary.json.totals, p.totals);
  assert.equal(summary.json.moves, undefined);
  assert.deepEqual(summary.json.groups, p.groups);
  const w = await getJSON('/v1/workers/{name}', '/v1/workers/api-one');
  assert.equal(w.json.runtime, 'pyodide-0.26.4', 'planning changes nothing');
  await getJSON('/v1/eol/plan', '/v1/eol/plan?as_of=2028-02-30', 400);
  await getJSON('/v1/eol/plan', '/v1/eol/plan?summary=maybe', 400);
});

test('upcoming: workers whose line ends within 180 days', async () => {
  const r = await getJSON('/v1/eol/upcoming', '/v1/eol/upcoming?as_of=2028-05-01');
  assert.equal(r.json.window_days, 180);
  assert.deepEqual(r.json.totals.by_line, [{ python_line: '3.12', end_of_support: '2028-10-02', workers: 2 }]);
  const one = r.json.workers.find((x) => x.worker === 'api-one');
  assert.equal(one.days_left, 154);
  assert.equal(one.target.runtime, 'pyodide-0.28.3');
  assert.equal(one.blocked, null);
  const blocked = r.json.workers.find((x) => x.worker === 'api-blocked');
  assert.equal(blocked.target, null);
  assert.equal(blocked.blocked.code, 'upgrade_blocked');
  const none = await getJSON('/v1/eol/upcoming', '/v1/eol/upcoming');
  assert.deepEqual(none.json.workers, []);
  await getJSON('/v1/eol/upcoming', '/v1/eol/upcoming?as_of=x', 400);
});

test('apply carries out the plan once, records events and delivers webhooks', async () => {
  validate('POST', '/v1/eol/apply', 401, await api('POST', '/v1/eol/apply?as_of=2028-10-02'));
  const r = validate('POST', '/v1/eol/apply', 200, await api('POST', '/v1/eol/apply?as_of=2028-10-02', { token: true }));
  assert.deepEqual([r.json.applied.moved, r.json.applied.blocked], [1, 1]);
  assert.ok(r.json.applied.first_seq <= r.json.applied.last_seq);
  assert.ok(r.json.applied.deliveries >= 2);

  const w = await getJSON('/v1/workers/{name}', '/v1/workers/api-one');
  assert.equal(w.json.runtime, 'pyodide-0.28.3');
  assert.deepEqual(w.json.history.map((h) => h.kind), ['deploy', 'deploy', 'move']);
  assert.equal(w.json.history[2].event_seq >= r.json.applied.first_seq, true);
  const b = await getJSON('/v1/workers/{name}', '/v1/workers/api-blocked');
  assert.equal(b.json.status, 'blocked');
  assert.equal(b.json.blocked.code, 'upgrade_blocked');
  assert.equal(b.json.blocked.since, '2028-10-02');
  const blockedList = await getJSON('/v1/workers', '/v1/workers?status=blocked');
  assert.deepEqual(blockedList.json.workers.map((x) => x.name), ['api-blocked']);

  const ev = await getJSON('/v1/events', `/v1/events?after=${r.json.applied.first_seq - 1}`);
  const kinds = ev.json.events.filter((e) => e.seq <= r.json.applied.last_seq).map((e) => [e.kind, e.subject]);
  assert.deepEqual(kinds.sort(), [['worker.blocked', 'api-blocked'], ['worker.moved', 'api-one']]);

  const again = validate('POST', '/v1/eol/apply', 200,
                         await api('POST', '/v1/eol/apply?as_of=2028-10-02&summary=1', { token: true }));
  assert.equal(again.json.applied.moved, 0);
  assert.equal(again.json.applied.events, 0);
  assert.equal(again.json.applied.first_seq, null);
  assert.equal(again.json.moves, undefined);

  // The webhook receiver gets both events.
  const deadline = Date.now() + 15000;
  let d;
  while (Date.now() < deadline) {
    d = validate('GET', '/v1/webhooks/{id}/deliveries', 200, await api('GET', '/v1/webhooks/ops/deliveries'));
    if (d.json.deliveries.length >= 2 && d.json.deliveries.every((x) => x.state === 'delivered'))
      break;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.deepEqual(d.json.deliveries.map((x) => [x.event, x.state]).sort(),
                   [['worker.blocked', 'delivered'], ['worker.moved', 'delivered']]);
  for (const x of d.json.deliveries) {
    assert.equal(x.attempts.at(-1).status_code, 204);
    assert.ok(x.finished_at);
  }
  assert.ok(received.length >= 2);
  assert.ok(received.some((x) => JSON.parse(x.body).event === 'worker.moved'));
  const h = validate('GET', '/v1/webhooks/{id}', 200, await api('GET', '/v1/webhooks/ops'));
  assert.equal(h.json.deliveries.delivered, 2);
  const f = validate('GET', '/v1/webhooks/{id}/deliveries', 200,
                     await api('GET', '/v1/webhooks/ops/deliveries?state=delivered&limit=1'));
  assert.equal(f.json.deliveries.length, 1);
  assert.ok(f.json.next_cursor);
  validate('GET', '/v1/webhooks/{id}/deliveries', 400, await api('GET', '/v1/webhooks/ops/deliveries?state=lost'));
  validate('GET', '/v1/webhooks/{id}/deliveries', 404, await api('GET', '/v1/webhooks/none/deliveries'));
});

test('DELETE removes workers and webhooks (204), then 404', async () => {
  validate('DELETE', '/v1/workers/{name}', 401, await api('DELETE', '/v1/workers/api-js'));
  const del = validate('DELETE', '/v1/workers/{name}', 204, await api('DELETE', '/v1/workers/api-js', { token: true }));
  assert.equal(del.body.length, 0);
  validate('DELETE', '/v1/workers/{name}', 404, await api('DELETE', '/v1/workers/api-js', { token: true }));
  validate('GET', '/v1/workers/{name}', 404, await api('GET', '/v1/workers/api-js'));
  validate('DELETE', '/v1/webhooks/{id}', 204, await api('DELETE', '/v1/webhooks/ops', { token: true }));
  validate('DELETE', '/v1/webhooks/{id}', 404, await api('DELETE', '/v1/webhooks/ops', { token: true }));
  const l = validate('GET', '/v1/webhooks', 200, await api('GET', '/v1/webhooks'));
  assert.deepEqual(l.json.webhooks, []);
});
