// openapi.yaml itself: it compiles, and it documents exactly the routes the server
// has (every route table listed in server/routes.c), with the conventions every
// operation must follow.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { ROOT, compileWholeSpec, spec } from './lib/harness.mjs';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/* "METHOD /path/{}" for every entry of every route table that routes.c lists. */
function serverRoutes() {
  const routesC = fs.readFileSync(path.join(ROOT, 'server/routes.c'), 'utf8');
  const tables = [...routesC.matchAll(/\{\s*(\w+)\s*,\s*&\s*\w+\s*\}/g)].map((m) => m[1]);
  assert.ok(tables.length >= 2, 'server/routes.c lists route tables');
  const sources = fs.readdirSync(path.join(ROOT, 'server')).filter((f) => f.endsWith('.c'))
    .map((f) => fs.readFileSync(path.join(ROOT, 'server', f), 'utf8')).join('\n');
  const out = new Set();
  for (const t of tables) {
    const m = sources.match(new RegExp(`struct\\s+srv_route\\s+${t}\\s*\\[\\s*\\]\\s*=\\s*\\{([\\s\\S]*?)\\n\\};`));
    assert.ok(m, `route table ${t} (listed in server/routes.c) is defined in server/*.c`);
    for (const e of m[1].matchAll(/\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"/g))
      out.add(`${e[1]} ${normalize(e[2])}`);
  }
  return out;
}

/* Parameters become {}; a server parameter spanning two segments ({id+}) is {}/{}. */
function normalize(p) {
  return p.replace(/\{[^}]*[+/]\}/g, '{}/{}').replace(/\{[^}]*\}/g, '{}');
}

function specRoutes() {
  const out = new Set();
  for (const [p, item] of Object.entries(spec().paths)) {
    for (const m of METHODS) {
      if (item[m])
        out.add(`${m.toUpperCase()} ${normalize(p)}`);
    }
  }
  return out;
}

test('openapi.yaml is OpenAPI 3.1 and every schema in it compiles', () => {
  assert.match(spec().openapi, /^3\.1\./);
  compileWholeSpec();
});

test('every server route is documented, and nothing else is', () => {
  const server = serverRoutes();
  const documented = specRoutes();
  const missing = [...server].filter((r) => !documented.has(r)).sort();
  const extra = [...documented].filter((r) => !server.has(r)).sort();
  assert.deepEqual(missing, [], `routes the server has but openapi.yaml does not document`);
  assert.deepEqual(extra, [], `routes openapi.yaml documents but the server does not have`);
});

// Reads are public except webhook deliveries (issue 9: they show whether internal
// addresses answered).
const PRIVATE_READS = new Set(['/v1/webhooks/{id}/deliveries']);

test('writes need the bearer token and document 401; reads are public', () => {
  for (const [p, item] of Object.entries(spec().paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op)
        continue;
      const admin = Array.isArray(op.security) && op.security.some((s) => 'bearerAuth' in s);
      // [{}, {bearerAuth: []}]: public unless --private-reads.
      const optional = admin && op.security.some((s) => Object.keys(s).length === 0);
      if (m === 'get' && p !== '/v1/tokens' && !PRIVATE_READS.has(p))
        assert.ok(!admin || optional, `GET ${p} is public (or private only under --private-reads)`);
      if (m === 'get' && PRIVATE_READS.has(p))
        assert.ok(admin && !optional, `GET ${p} is behind a token`);
      if (admin)
        assert.ok(op.responses['401'], `${m.toUpperCase()} ${p} documents 401`);
    }
  }
});

test('every operation has an id, a 2xx answer and problem+json errors', () => {
  const ids = new Set();
  for (const [p, item] of Object.entries(spec().paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op)
        continue;
      assert.ok(op.operationId && !ids.has(op.operationId), `${m} ${p} has a unique operationId`);
      ids.add(op.operationId);
      const statuses = Object.keys(op.responses);
      assert.ok(statuses.some((s) => /^2/.test(s)), `${m} ${p} documents a success`);
      for (const s of statuses.filter((x) => /^[45]/.test(x))) {
        const r = op.responses[s];
        assert.ok(r.$ref && r.$ref.startsWith('#/components/responses/'),
                  `${m} ${p} ${s} uses a shared problem response`);
        const shared = spec().components.responses[r.$ref.split('/').pop()];
        assert.ok(shared.content['application/problem+json'], `${r.$ref} is problem+json`);
      }
      if (op.requestBody && m !== 'post')
        assert.ok(op.responses['400'] && op.responses['413'], `${m} ${p} takes a body: 400 and 413`);
    }
  }
});
