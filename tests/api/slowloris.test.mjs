// Slow clients (issue 9): 1,100 connections from 127.0.0.1 that send a request head
// one byte at a time must not lock out another client (probes from 127.0.0.2 answer
// within 1 s throughout); one address holds at most --max-conns-per-ip connections
// (default 64), and a head not complete within the head deadline (10 s) is closed.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';

import { server, startServer } from './lib/harness.mjs';

await startServer();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SLOW = 1100;
const PROBE_EVERY_MS = 250;
const RUN_MS = 13000;

function probe() {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const req = http.request({ host: '127.0.0.1', port: server().port, path: '/v1/health', localAddress: '127.0.0.2',
                               agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, ms: Date.now() - t0, error: e.message }));
    req.end();
  });
}

test('1,100 slow connections from one address: others still get answers within 1 s', async () => {
  const socks = [];
  let open = 0, closedEarly = 0, maxOpen = 0;
  const start = Date.now();
  for (let i = 0; i < SLOW; i++) {
    const s = net.connect({ host: '127.0.0.1', port: server().port, localAddress: '127.0.0.1' });
    s.on('connect', () => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    });
    s.on('error', () => {});
    s.on('close', () => {
      open = Math.max(0, open - 1);
      if (Date.now() - start < 9000)
        closedEarly++;
      s.closedAt = Date.now();
    });
    socks.push(s);
  }
  // Trickle: one header byte per second on every socket that is still open.
  const trickle = setInterval(() => {
    for (const s of socks)
      if (!s.destroyed && s.writable)
        s.write('a');
  }, 1000);
  const probes = [];
  while (Date.now() - start < RUN_MS) {
    probes.push(await probe());
    await sleep(PROBE_EVERY_MS);
  }
  clearInterval(trickle);
  const alive = socks.filter((s) => !s.destroyed && s.closedAt === undefined).length;
  for (const s of socks)
    s.destroy();
  const slow = probes.filter((p) => p.status !== 200 || p.ms > 1000);
  assert.ok(probes.length >= 20, `${probes.length} probes`);
  assert.deepEqual(slow, [], `every probe from 127.0.0.2 answered within 1 s (${probes.length} probes)`);
  // The per-address limit turned most of the 1,100 away at once...
  assert.ok(closedEarly >= SLOW - 64 - 16, `${closedEarly} of ${SLOW} closed early (per-IP limit 64)`);
  // ...and the head deadline (10 s) closed the ones it let in.
  assert.equal(alive, 0, `${alive} slow connections still open after ${RUN_MS} ms`);
});
