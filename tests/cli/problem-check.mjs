// tests/cli/problem-check.mjs FILE...: each FILE holds what `almanac --json` printed
// on stdout for a failure; it must be one RFC 9457 problem document that matches
// openapi.yaml's Problem schema (the server's own). Exits 1 naming what did not.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from '../api/node_modules/ajv/dist/2020.js';
import addFormats from '../api/node_modules/ajv-formats/dist/index.js';
import YAML from '../api/node_modules/yaml/dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const spec = YAML.parse(fs.readFileSync(path.join(root, 'openapi.yaml'), 'utf8'));
const schemas = JSON.parse(JSON.stringify(spec.components.schemas).replaceAll(
  '"#/components/schemas/', '"openapi.json#/$defs/'));
const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true });
(addFormats.default || addFormats)(ajv);
ajv.addSchema({ $id: 'openapi.json', $defs: schemas });
const check = ajv.compile({ $ref: 'openapi.json#/$defs/Problem' });
let bad = 0;
for (const f of process.argv.slice(2)) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    console.log(`${f}: not one JSON document: ${e.message}`);
    bad++;
    continue;
  }
  if (!check(doc)) {
    console.log(`${f}: not a Problem: ${JSON.stringify(check.errors.slice(0, 5))}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
