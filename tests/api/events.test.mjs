// GET /v1/events: the append-only log of every change, paged by seq.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, startServer, validate } from './lib/harness.mjs';

await startServer();

async function events(query = '', status = 200) {
  return validate('GET', '/v1/events', status, await api('GET', `/v1/events${query}`));
}

async function allEvents() {
  const out = [];
  for (;;) {
    const page = (await events(`?after=${out.length ? out.at(-1).seq : 0}&limit=1000`)).json.events;
    out.push(...page);
    if (page.length < 1000)
      return out;
  }
}

test('the seed and the token are in the log, in seq order', async () => {
  const all = await allEvents();
  assert.ok(all.length >= 8 + 5 + 5 + 12 + 1);
  all.forEach((e, i) => assert.equal(e.seq, i === 0 ? e.seq : all[i - 1].seq + 1, 'seq increases by one'));
  assert.equal(all[0].seq, 1);
  assert.deepEqual([all[0].kind, all[0].subject], ['python_line.created', '3.8']);
  assert.equal(all[0].data.first_release, '2019-10-14');
  const kinds = new Set(all.map((e) => e.kind));
  for (const k of ['python_line.created', 'runtime.created', 'runtime.published', 'package_set.created',
                   'package_set.published', 'flag.created', 'flag.published', 'token.created'])
    assert.ok(kinds.has(k), `an event of kind ${k}`);
  const rt = all.find((e) => e.kind === 'runtime.published' && e.subject === 'pyodide-0.26.4');
  assert.equal(rt.data.state, 'published');
  const tok = all.findIndex((e) => e.kind === 'token.created');
  assert.ok(all.slice(0, tok).every((e) => e.kind !== 'token.created' && !e.kind.startsWith('worker.')),
            'the seed comes first, then the token');
  // The subject is the token's name (`token create` without --name generates one).
  assert.match(all[tok].subject, /^token-[0-9a-f]{8}$/);
  assert.equal(all[tok].principal, 'cli');
});

test('paging with after and limit', async () => {
  const first = (await events('?limit=3')).json.events;
  assert.deepEqual(first.map((e) => e.seq), [1, 2, 3]);
  const next = (await events('?after=3&limit=2')).json.events;
  assert.deepEqual(next.map((e) => e.seq), [4, 5]);
  const dflt = (await events()).json.events;
  assert.equal(dflt.length, Math.min(100, (await allEvents()).length), 'the default page is 100');
  const none = (await events('?after=100000')).json.events;
  assert.deepEqual(none, []);
});

test('every change appends one event with the object as it now is', async () => {
  const last = (await allEvents()).at(-1).seq;
  validate('PUT', '/v1/python/{line}', 201,
           await api('PUT', '/v1/python/3.16', { body: { first_release: '2027-10-01' }, token: true }));
  validate('PUT', '/v1/python/{line}', 200,
           await api('PUT', '/v1/python/3.16', { body: { first_release: '2027-10-01', notes: 'n' }, token: true }));
  validate('PUT', '/v1/flags/{name}', 201,
           await api('PUT', '/v1/flags/event_flag', { body: { enable_date: '2027-01-01' }, token: true }));
  validate('POST', '/v1/flags/{name}/publish', 200,
           await api('POST', '/v1/flags/event_flag/publish', { token: true }));
  // Refused changes leave no trace.
  validate('POST', '/v1/flags/{name}/publish', 401, await api('POST', '/v1/flags/event_flag/publish'));
  validate('PUT', '/v1/flags/{name}', 409,
           await api('PUT', '/v1/flags/event_flag', { body: { enable_date: '2027-02-01' }, token: true }));
  const evs = (await events(`?after=${last}`)).json.events;
  assert.deepEqual(evs.map((e) => [e.kind, e.subject]), [
    ['python_line.created', '3.16'],
    ['python_line.updated', '3.16'],
    ['flag.created', 'event_flag'],
    ['flag.published', 'event_flag'],
  ]);
  assert.equal(evs[1].data.notes, 'n');
  assert.equal(evs[3].data.state, 'published');
  for (const e of evs)
    assert.match(e.at, /^2\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
});

test('bad paging parameters are 400', async () => {
  for (const q of ['?limit=0', '?limit=1001', '?limit=x', '?after=-1', '?after=x', '?after=1.5']) {
    const r = await events(q, 400);
    assert.match(r.json.detail, /query '(after|limit)'/, q);
  }
  const ok = await events('?limit=1000');
  assert.ok(ok.json.events.length <= 1000);
});
