// tests/api/lib/coverage.mjs FILE: list the operations of openapi.yaml that no API test
// response was validated against (FILE holds "METHOD route status" lines written by
// the harness when ALMANAC_API_COVERAGE is set), and the documented statuses seen.
import fs from 'node:fs';

import { spec } from './harness.mjs';

const seen = new Set(fs.existsSync(process.argv[2])
  ? fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean) : []);
const ops = new Set([...seen].map((l) => l.split(' ').slice(0, 2).join(' ')));
let total = 0, statuses = 0, hit = 0;
const missing = [];
for (const [route, item] of Object.entries(spec().paths)) {
  for (const m of ['get', 'put', 'post', 'delete', 'patch']) {
    if (!item[m])
      continue;
    total++;
    const op = `${m.toUpperCase()} ${route}`;
    if (!ops.has(op))
      missing.push(op);
    for (const st of Object.keys(item[m].responses)) {
      statuses++;
      if (seen.has(`${op} ${st}`))
        hit++;
    }
  }
}
console.log(`api coverage: ${total - missing.length}/${total} operations, ${hit}/${statuses} documented statuses seen`);
for (const op of missing)
  console.log(`api coverage: never exercised: ${op}`);
