#!/usr/bin/env node
// `almanac d1 execute` (the C CLI runs this; it links no SQLite), like
// `wrangler d1 execute --local`:
//
//   node executor/d1-execute.mjs --config-json FILE --state-dir DIR
//        (--file F.sql | --command SQL) [--json] [--] BINDING
//
// FILE is the worker's wrangler config as JSON (parsed by the CLI, env overrides
// applied). BINDING is a d1_databases entry's binding or database_name. The statements
// run in one IMMEDIATE transaction on the same SQLite file the worker's env.BINDING uses
// (STATE/d1/<database_id>.sqlite): all or none of them apply. The file is in WAL mode and
// both sides wait up to 10 s for the other's write lock, so running this while `almanac
// dev` serves is safe: the worker's writes and these are serialized by SQLite, none is
// lost, and the worker sees the new rows on its next query.
//
// Output: stdout gets the results (a table per statement returning rows, or with --json
// the D1 results as a JSON array, like wrangler's --json); stderr a one-line summary.
// Exit status: 0 ok, 1 SQL error (nothing applied), 2 usage/config error.
import fs from "node:fs";
import path from "node:path";
import { D1Database, d1File } from "./bindings/d1.mjs";

function usage(msg) {
  process.stderr.write(`almanac: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const a = { json: false };
  let positional = false;
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (positional || x === "--") {
      if (x === "--" && !positional) {
        positional = true;
        continue;
      }
      if (a.binding === undefined) a.binding = x;
      else usage(`d1 execute: unexpected argument ${x}`);
      continue;
    }
    const val = () => {
      if (i + 1 >= argv.length) usage(`${x} needs a value`);
      return argv[++i];
    };
    if (x === "--config-json") a.configJson = val();
    else if (x === "--state-dir") a.stateDir = val();
    else if (x === "--file") a.file = val();
    else if (x === "--command") a.command = val();
    else if (x === "--json") a.json = true;
    else if (x.startsWith("--")) usage(`d1 execute: unknown option ${x}`);
    else if (a.binding === undefined) a.binding = x;
    else usage(`d1 execute: unexpected argument ${x}`);
  }
  return a;
}

function cell(v) {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return `[blob ${v.length} bytes]`;
  return String(v);
}

function table(rows) {
  if (rows.length === 0) return "(no rows)\n";
  const cols = Object.keys(rows[0]);
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => "│ " + vals.map((v, i) => v.padEnd(w[i])).join(" │ ") + " │\n";
  let out = "┌" + w.map((n) => "─".repeat(n + 2)).join("┬") + "┐\n";
  out += line(cols);
  out += "├" + w.map((n) => "─".repeat(n + 2)).join("┼") + "┤\n";
  for (const r of rows) out += line(cols.map((c) => cell(r[c])));
  out += "└" + w.map((n) => "─".repeat(n + 2)).join("┴") + "┘\n";
  return out;
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  if (!a.configJson) usage("d1 execute: --config-json is required");
  if (!a.stateDir) usage("d1 execute: --state-dir is required");
  if (!a.binding) usage("d1 execute: the D1 binding (or database name) is required");
  if ((a.file === undefined) === (a.command === undefined)) usage("d1 execute: give exactly one of --file and --command");
  let config;
  try {
    config = JSON.parse(fs.readFileSync(a.configJson, "utf8"));
  } catch (e) {
    usage(`d1 execute: cannot read the config ${a.configJson}: ${e.message}`);
  }
  const dbs = Array.isArray(config.d1_databases) ? config.d1_databases : [];
  const d = dbs.find((x) => x && x.binding === a.binding) || dbs.find((x) => x && x.database_name === a.binding);
  if (!d) {
    const known = dbs.map((x) => x && x.binding).filter(Boolean);
    usage(`d1 execute: no D1 database with the binding or name ${a.binding} in the config` +
      (known.length ? ` (bindings: ${known.join(", ")})` : " (it declares no d1_databases)"));
  }
  let sql;
  if (a.file !== undefined) {
    try {
      sql = fs.readFileSync(a.file, "utf8");
    } catch (e) {
      usage(`d1 execute: cannot read ${a.file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    }
  } else sql = a.command;
  const file = d1File(path.resolve(a.stateDir), d);
  let db;
  try {
    db = new D1Database(file);
  } catch (e) {
    usage(`d1 execute: cannot open ${file}: ${e.message}`);
  }
  let results;
  try {
    results = db.executeScript(sql);
  } catch (e) {
    db.close();
    process.stderr.write(`almanac: d1 execute: ${e.message} (nothing was applied)\n`);
    process.exit(1);
  }
  db.close();
  const name = d.database_name || d.binding;
  if (a.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + "\n");
  } else {
    for (const r of results) if (r.results.length > 0 || a.command !== undefined) process.stdout.write(table(r.results));
  }
  process.stderr.write(
    `Executed ${results.length} command${results.length === 1 ? "" : "s"} on local database ${name} (${file}).\n`,
  );
}

main();
