import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createBindings } from "../../executor/bindings/index.mjs";
import { splitSql } from "../../executor/bindings/sqlsplit.mjs";
import { tmpDir } from "./helpers.mjs";

const D1_EXECUTE = fileURLToPath(new URL("../../executor/d1-execute.mjs", import.meta.url));
const config = { d1_databases: [{ binding: "DB", database_name: "app-db", database_id: "1111-2222" }] };

async function setup(stateDir) {
  const b = await createBindings({ config, stateDir });
  await b.env.DB.exec(
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, data BLOB, ok INTEGER)",
  );
  return b;
}

test("D1 prepare/bind with first, all, run, raw and meta", async () => {
  const { env, close } = await setup(tmpDir("d1"));
  const ins = env.DB.prepare("INSERT INTO users (name, score, data, ok) VALUES (?1, ?2, ?3, ?4)");
  const r1 = await ins.bind("ann", 1.5, new Uint8Array([1, 2]), true).run();
  assert.equal(r1.success, true);
  assert.deepEqual(r1.results, []);
  assert.equal(r1.meta.changes, 1);
  assert.equal(r1.meta.last_row_id, 1);
  assert.equal(r1.meta.changed_db, true);
  assert.equal(typeof r1.meta.duration, "number");
  assert.ok(r1.meta.size_after > 0);
  await ins.bind("bob", 2, null, false).run();
  // bind() returns a new statement; the prepared one is reusable
  const all = await env.DB.prepare("SELECT id, name, score, data, ok FROM users ORDER BY id").all();
  assert.deepEqual(all.results, [
    { id: 1, name: "ann", score: 1.5, data: [1, 2], ok: 1 },
    { id: 2, name: "bob", score: 2, data: null, ok: 0 },
  ]);
  assert.equal(all.meta.rows_read, 2);
  assert.equal(all.meta.changes, 0);
  assert.deepEqual(await env.DB.prepare("SELECT name FROM users WHERE id = ?").bind(2).first(), { name: "bob" });
  assert.equal(await env.DB.prepare("SELECT name FROM users WHERE id = ?").bind(2).first("name"), "bob");
  assert.equal(await env.DB.prepare("SELECT name FROM users WHERE id = ?").bind(99).first(), null);
  assert.equal(await env.DB.prepare("SELECT name FROM users WHERE id = ?").bind(99).first("name"), null);
  await assert.rejects(env.DB.prepare("SELECT name FROM users WHERE id = 1").first("nope"), /D1_COLUMN_NOTFOUND/);
  assert.deepEqual(await env.DB.prepare("SELECT id, name FROM users ORDER BY id").raw(), [[1, "ann"], [2, "bob"]]);
  assert.deepEqual(await env.DB.prepare("SELECT id, name FROM users ORDER BY id").raw({ columnNames: true }), [
    ["id", "name"],
    [1, "ann"],
    [2, "bob"],
  ]);
  const ret = await env.DB.prepare("INSERT INTO users (name) VALUES (?) RETURNING id, name").bind("cy").all();
  assert.deepEqual(ret.results, [{ id: 3, name: "cy" }]);
  assert.equal(ret.meta.changes, 1);
  const upd = await env.DB.prepare("UPDATE users SET score = score + 1 WHERE score IS NOT NULL").run();
  assert.equal(upd.meta.changes, 2);
  close();
});

test("D1 errors carry the platform's prefixes", async () => {
  const { env, close } = await setup(tmpDir("d1e"));
  await assert.rejects(env.DB.prepare("SELECT * FROM nope").all(), /^Error: D1_ERROR: no such table: nope: SQLITE_ERROR$/);
  await env.DB.prepare("INSERT INTO users (name) VALUES ('x')").run();
  await assert.rejects(env.DB.prepare("INSERT INTO users (name) VALUES ('x')").run(), /D1_ERROR: UNIQUE constraint failed: users.name: SQLITE_CONSTRAINT/);
  assert.throws(() => env.DB.prepare("SELECT ?").bind({ a: 1 }), /D1_TYPE_ERROR: Type 'object' not supported/);
  await assert.rejects(env.DB.exec("CREATE TABLE a (x);\nBROKEN SQL"), /D1_EXEC_ERROR: Error in line 2: BROKEN SQL: /);
  close();
});

test("D1 batch is one transaction; exec counts statements", async () => {
  const { env, close } = await setup(tmpDir("d1b"));
  const ins = env.DB.prepare("INSERT INTO users (name) VALUES (?)");
  const res = await env.DB.batch([ins.bind("a"), ins.bind("b"), env.DB.prepare("SELECT count(*) AS n FROM users")]);
  assert.equal(res.length, 3);
  assert.deepEqual(res[2].results, [{ n: 2 }]);
  await assert.rejects(env.DB.batch([ins.bind("c"), ins.bind("a")]), /UNIQUE constraint failed/);
  assert.equal(await env.DB.prepare("SELECT count(*) AS n FROM users").first("n"), 2, "the failed batch left nothing");
  const ex = await env.DB.exec("INSERT INTO users (name) VALUES ('e1')\nINSERT INTO users (name) VALUES ('e2')\n");
  assert.equal(ex.count, 2);
  assert.equal(typeof ex.duration, "number");
  const dump = await env.DB.dump();
  assert.ok(dump instanceof ArrayBuffer && Buffer.from(dump).subarray(0, 15).toString() === "SQLite format 3");
  close();
});

test("D1: one SQLite file per database, persisted; fresh starts empty", async () => {
  const stateDir = tmpDir("d1p");
  const cfg = { d1_databases: [...config.d1_databases, { binding: "DB2", database_name: "other", database_id: "3333" }] };
  let b = await createBindings({ config: cfg, stateDir });
  await b.env.DB.exec("CREATE TABLE t (x)");
  await b.env.DB.prepare("INSERT INTO t VALUES (?)").bind(42).run();
  await assert.rejects(b.env.DB2.prepare("SELECT * FROM t").all(), /no such table/);
  b.close();
  assert.ok(fs.existsSync(path.join(stateDir, "d1", "1111-2222.sqlite")));
  assert.ok(fs.existsSync(path.join(stateDir, "d1", "3333.sqlite")));
  b = await createBindings({ config: cfg, stateDir });
  assert.equal(await b.env.DB.prepare("SELECT x FROM t").first("x"), 42);
  b.close();
  b = await createBindings({ config: cfg, stateDir, fresh: true });
  await assert.rejects(b.env.DB.prepare("SELECT x FROM t").first("x"), /no such table/);
  b.close();
});

test("D1 accepts double-quoted string literals as the platform's SQLite does", async () => {
  const { env, close } = await setup(tmpDir("d1dqs"));
  await env.DB.prepare('INSERT INTO users (name) VALUES ("it\'s ""quoted"""), ("plain")').run();
  assert.deepEqual((await env.DB.prepare("SELECT name FROM users ORDER BY id").all()).results, [{ name: 'it\'s "quoted"' }, { name: "plain" }]);
  // a double-quoted identifier that exists stays an identifier
  assert.deepEqual((await env.DB.prepare('SELECT "name" FROM users WHERE "name" = "plain"').all()).results, [{ name: "plain" }]);
  await assert.rejects(env.DB.prepare("SELECT nocol FROM users").all(), /no such column: nocol/);
  close();
});

test("splitSql respects quotes, comments and trigger bodies", () => {
  assert.deepEqual(splitSql("a; b;;\n-- x; y\nc 'q;r' \"s;t\" /* ; */;"), ["a", "b", "c 'q;r' \"s;t\" /* ; */"]);
  assert.deepEqual(
    splitSql("CREATE TRIGGER t AFTER INSERT ON x BEGIN UPDATE x SET a=1; DELETE FROM y; END; SELECT 1"),
    ["CREATE TRIGGER t AFTER INSERT ON x BEGIN UPDATE x SET a=1; DELETE FROM y; END", "SELECT 1"],
  );
  assert.deepEqual(splitSql("-- only a comment\n"), []);
});

function d1exec(stateDir, cfgFile, args) {
  return spawnSync(process.execPath, [D1_EXECUTE, "--config-json", cfgFile, "--state-dir", stateDir, ...args], {
    encoding: "utf8",
  });
}

test("d1-execute: --file then a query from the worker side; --command; --json; errors", async () => {
  const stateDir = tmpDir("d1x");
  const cfgFile = path.join(stateDir, "config.json");
  fs.writeFileSync(cfgFile, JSON.stringify(config));
  const sqlFile = path.join(stateDir, "schema.sql");
  fs.writeFileSync(
    sqlFile,
    "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE quotes (id INTEGER PRIMARY KEY, text TEXT);\n" +
      "INSERT INTO quotes (text) VALUES ('one; two'), ('it''s');\nCOMMIT;\n",
  );
  let r = d1exec(stateDir, cfgFile, ["DB", "--file", sqlFile]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Executed 3 commands on local database app-db/);
  const { env, close } = await createBindings({ config, stateDir });
  assert.deepEqual((await env.DB.prepare("SELECT text FROM quotes ORDER BY id").all()).results, [{ text: "one; two" }, { text: "it's" }]);
  // by database_name too, and --json
  r = d1exec(stateDir, cfgFile, ["app-db", "--json", "--command", "SELECT count(*) AS n FROM quotes"]);
  assert.equal(r.status, 0, r.stderr);
  const js = JSON.parse(r.stdout);
  assert.deepEqual(js[0].results, [{ n: 2 }]);
  assert.equal(js[0].success, true);
  r = d1exec(stateDir, cfgFile, ["DB", "--command", "SELECT text FROM quotes WHERE id = 2"]);
  assert.match(r.stdout, /│ it's │/);
  // an error applies nothing (one transaction) and exits 1
  r = d1exec(stateDir, cfgFile, ["DB", "--command", "INSERT INTO quotes (text) VALUES ('new'); INSERT INTO nope VALUES (1)"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^almanac: d1 execute: D1_ERROR: no such table: nope: SQLITE_ERROR \(nothing was applied\)\n$/);
  assert.equal(await env.DB.prepare("SELECT count(*) AS n FROM quotes").first("n"), 2);
  // usage errors exit 2 with one line
  for (const args of [["NOPE", "--command", "SELECT 1"], ["DB"], ["DB", "--file", "/nonexistent.sql"], ["DB", "--command", "x", "--file", sqlFile]]) {
    r = d1exec(stateDir, cfgFile, args);
    assert.equal(r.status, 2, args.join(" "));
    assert.match(r.stderr, /^almanac: [^\n]+\n$/);
  }
  close();
});

test("d1-execute while a worker holds the database open: no lost writes", async () => {
  const stateDir = tmpDir("d1c");
  const cfgFile = path.join(stateDir, "config.json");
  fs.writeFileSync(cfgFile, JSON.stringify(config));
  const { env, close } = await createBindings({ config, stateDir });
  await env.DB.exec("CREATE TABLE n (src TEXT, i INTEGER)");
  const N = 200;
  const values = Array.from({ length: N }, (_, i) => `('cli', ${i})`).join(", ");
  const child = spawn(process.execPath, [D1_EXECUTE, "--config-json", cfgFile, "--state-dir", stateDir, "DB", "--command",
    `INSERT INTO n VALUES ${values}; INSERT INTO n SELECT 'cli2', i FROM n WHERE src = 'cli'`]);
  const done = new Promise((res) => child.on("exit", res));
  for (let i = 0; i < N; i++) {
    await env.DB.prepare("INSERT INTO n VALUES ('worker', ?)").bind(i).run();
    if (i % 20 === 0) await new Promise((r) => setImmediate(r));
  }
  assert.equal(await done, 0);
  const counts = (await env.DB.prepare("SELECT src, count(*) AS c FROM n GROUP BY src ORDER BY src").all()).results;
  assert.deepEqual(counts, [{ src: "cli", c: N }, { src: "cli2", c: N }, { src: "worker", c: N }]);
  close();
});
