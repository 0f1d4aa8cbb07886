// Webhook targets (issue 9): without --webhook-allow-private, private, loopback,
// link-local and metadata addresses are refused: a literal at registration (400), and
// a host name on the address libcurl actually connects to, at every attempt. Nothing
// here sends to an address outside loopback: the refused literals are refused before
// any connection, and the one name used (localhost) resolves to loopback, where a
// receiver checks that nothing arrives.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';

import { api, startServer, validate } from './lib/harness.mjs';

await startServer({ env: { ALMANAC_WEBHOOK_BACKOFF_MS: '100' } });

const SECRET = 'a-webhook-secret-of-some-length';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const received = [];
const receiver = http.createServer((req, res) => {
  received.push(req.url);
  res.writeHead(204);
  res.end();
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
after(() => new Promise((r) => receiver.close(r)));

test('private, loopback, link-local and metadata literals are refused at registration', async () => {
  const port = receiver.address().port;
  for (const url of [`http://127.0.0.1:${port}/hook`, 'http://127.1.2.3/x', 'http://10.0.0.1/x',
                     'http://172.16.5.4/x', 'http://192.168.1.1/x', 'http://169.254.169.254/latest/meta-data/',
                     'http://[::1]/x', 'http://[fe80::1]/x', 'http://[fd00:ec2::254]/x',
                     'http://[::ffff:127.0.0.1]/x', 'http://0.0.0.0/x', 'http://100.64.0.1/x']) {
    const r = validate('PUT', '/v1/webhooks/{id}', 400, await api('PUT', '/v1/webhooks/inner', {
      token: true, body: { url, events: ['worker.moved'], secret: SECRET } }));
    assert.match(r.json.detail, /private, loopback, link-local or metadata/, url);
  }
  validate('GET', '/v1/webhooks/{id}', 404, await api('GET', '/v1/webhooks/inner'));
});

test('a host name that resolves to loopback is refused when delivering, on every attempt', async () => {
  const url = `http://localhost:${receiver.address().port}/hook`;
  validate('PUT', '/v1/webhooks/{id}', 201, await api('PUT', '/v1/webhooks/byname', {
    token: true, body: { url, events: ['worker.moved'], secret: SECRET } }));
  validate('PUT', '/v1/workers/{name}', 201, await api('PUT', '/v1/workers/ssrf-312', {
    token: true, body: { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers'] } }));
  const a = validate('POST', '/v1/eol/apply', 200,
                     await api('POST', '/v1/eol/apply?as_of=2028-10-03', { token: true }));
  assert.ok(a.json.moves.length >= 1, 'the worker moved, so a delivery was queued');
  let d;
  for (let i = 0; i < 100; i++) {
    d = validate('GET', '/v1/webhooks/{id}/deliveries', 200,
                 await api('GET', '/v1/webhooks/byname/deliveries', { token: true }));
    if (d.json.deliveries.length && d.json.deliveries.every((x) => x.state === 'failed'))
      break;
    await sleep(100);
  }
  const dl = d.json.deliveries[0];
  assert.equal(dl.state, 'failed', JSON.stringify(d.json));
  assert.equal(dl.attempts.length, 5, 'every attempt was checked');
  for (const at of dl.attempts)
    assert.match(at.error, /^refused: (127\.0\.0\.1|::1) is a private, loopback/);
  assert.deepEqual(received, [], 'nothing reached the receiver');
});
