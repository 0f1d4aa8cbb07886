import { test } from "node:test";
import assert from "node:assert/strict";
import { createBindings } from "../../executor/bindings/index.mjs";
import { DurableObjectId } from "../../executor/bindings/do.mjs";
import { tmpDir, sleep } from "./helpers.mjs";

const config = {
  name: "w",
  durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }, { name: "SQLDO", class_name: "SqlObj" }] },
  migrations: [{ tag: "v1", new_classes: ["Counter"] }, { tag: "v2", new_sqlite_classes: ["SqlObj"] }],
};

// Stand-ins for the Python classes the host's factory returns (same shape: methods called
// with JS arguments, fetch(request) returning a Response).
let constructed = 0;
const log = [];
class Counter {
  constructor(ctx, env) {
    constructed++;
    this.ctx = ctx;
    this.env = env;
    this.ready = false;
    ctx.blockConcurrencyWhile(async () => {
      await sleep(30);
      this.ready = true;
    });
  }
  async increment(by = 1) {
    assert.ok(this.ready, "blockConcurrencyWhile finished before the first event");
    const v = ((await this.ctx.storage.get("count")) ?? 0) + by;
    await this.ctx.storage.put("count", v);
    return v;
  }
  async slow(tag) {
    log.push(`start ${tag}`);
    await sleep(20);
    log.push(`end ${tag}`);
    return tag;
  }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/slow") {
      await this.slow(url.searchParams.get("t"));
      return new Response(url.searchParams.get("t"));
    }
    const n = await this.increment(1);
    return new Response(`${this.ctx.id.toString().slice(0, 8)} ${n}`);
  }
  whoami() {
    return { id: this.ctx.id.toString(), name: this.ctx.id.name };
  }
}
class SqlObj {
  constructor(ctx) {
    this.ctx = ctx;
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT)");
  }
  kvRoundTrip() {
    const kv = this.ctx.storage.kv;
    kv.put("a", { n: 1 });
    kv.put("b", 2);
    const out = { a: kv.get("a"), missing: kv.get("zz"), list: [...kv.list()].map(([k]) => k) };
    out.deleted = kv.delete("b");
    out.after = [...kv.list()].map(([k]) => k);
    return out;
  }
  add(v) {
    this.sql.exec("INSERT INTO items (v) VALUES (?)", v);
    return this.sql.exec("SELECT count(*) AS n FROM items").one().n;
  }
  all() {
    return this.sql.exec("SELECT id, v FROM items ORDER BY id").toArray();
  }
}
const classes = (name) => ({ Counter: (ctx, env) => new Counter(ctx, env), SqlObj: (ctx, env) => new SqlObj(ctx, env) })[name];

test("DO ids: idFromName is stable, newUniqueId unique, idFromString validates", async () => {
  const { env, close } = await createBindings({ config, stateDir: tmpDir("doid"), durableObjectClasses: classes });
  const a = env.COUNTER.idFromName("a");
  assert.ok(a instanceof DurableObjectId);
  assert.match(a.toString(), /^[0-9a-f]{64}$/);
  assert.equal(a.name, "a");
  assert.ok(a.equals(env.COUNTER.idFromName("a")));
  assert.ok(!a.equals(env.COUNTER.idFromName("b")));
  assert.notEqual(env.SQLDO.idFromName("a").toString(), a.toString(), "ids differ per namespace");
  const u1 = env.COUNTER.newUniqueId();
  assert.notEqual(u1.toString(), env.COUNTER.newUniqueId().toString());
  assert.ok(env.COUNTER.idFromString(a.toString()).equals(a));
  assert.throws(() => env.COUNTER.idFromString("xyz"), /Invalid Durable Object ID/);
  close();
});

test("DO stubs: RPC, fetch, one instance per id, storage persisted", async () => {
  const stateDir = tmpDir("do");
  constructed = 0;
  let b = await createBindings({ config, stateDir, durableObjectClasses: classes });
  const stub = b.env.COUNTER.get(b.env.COUNTER.idFromName("x"));
  assert.equal(await stub.increment(5), 5);
  assert.equal(await stub.increment(), 6);
  assert.equal(await b.env.COUNTER.getByName("x").increment(1), 7);
  assert.equal(constructed, 1, "one instance per id");
  const r = await stub.fetch("http://do/");
  assert.ok(r instanceof Response);
  assert.match(await r.text(), / 8$/);
  const r2 = await stub.fetch(new Request("http://do/"));
  assert.match(await r2.text(), / 9$/);
  assert.deepEqual(await stub.whoami(), { id: stub.id.toString(), name: "x" });
  assert.equal(await b.env.COUNTER.getByName("y").increment(1), 1, "another id has its own storage");
  await assert.rejects(stub.nope(), /The RPC receiver does not implement the method "nope"/);
  assert.equal(stub.then, undefined, "a stub is not a thenable");
  b.close();
  b = await createBindings({ config, stateDir, durableObjectClasses: classes });
  assert.equal(await b.env.COUNTER.getByName("x").increment(1), 10, "storage persisted across runs");
  b.close();
  b = await createBindings({ config, stateDir, fresh: true, durableObjectClasses: classes });
  assert.equal(await b.env.COUNTER.getByName("x").increment(1), 1, "fresh starts empty");
  b.close();
});

test("DO events of one object are serialized; other objects run in parallel", async () => {
  const { env, close } = await createBindings({ config, stateDir: tmpDir("doser"), durableObjectClasses: classes });
  log.length = 0;
  const s = env.COUNTER.getByName("ser");
  await s.increment(0); // past the constructor's blockConcurrencyWhile
  await Promise.all([s.slow("a"), s.fetch("http://x/slow?t=b"), s.slow("c")]);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  log.length = 0;
  const t = env.COUNTER.getByName("other");
  await t.increment(0);
  await Promise.all([s.slow("p"), t.slow("q")]);
  assert.deepEqual(log.slice(0, 2).sort(), ["start p", "start q"]);
  close();
});

test("DO storage API: get/put/delete/list with options, transaction, alarm", async () => {
  const { env, close } = await createBindings({ config, stateDir: tmpDir("dost"), durableObjectClasses: classes });
  let ctx;
  const cap = (name) => (c) => {
    ctx = c;
    return { ping: () => "pong", alarm: () => {} };
  };
  const b = await createBindings({ config, stateDir: tmpDir("dost2"), durableObjectClasses: cap });
  await b.env.COUNTER.getByName("s").ping();
  const st = ctx.storage;
  assert.equal(await st.get("none"), undefined);
  await st.put("a", { nested: [1, "x"], d: new Date(5) });
  const v = await st.get("a");
  assert.deepEqual(v.nested, [1, "x"]);
  assert.ok(v.d instanceof Date, "structured clone keeps Dates");
  await st.put({ b: 2, c: 3, d: 4, e: 5 });
  const m = await st.get(["b", "zz", "c"]);
  assert.ok(m instanceof Map);
  assert.deepEqual([...m], [["b", 2], ["c", 3]]);
  assert.deepEqual([...(await st.list({ start: "b", end: "e" })).keys()], ["b", "c", "d"]);
  assert.deepEqual([...(await st.list({ startAfter: "b", limit: 2 })).keys()], ["c", "d"]);
  assert.deepEqual([...(await st.list({ reverse: true, limit: 2 })).keys()], ["e", "d"]);
  assert.deepEqual([...(await st.list({ prefix: "a" })).keys()], ["a"]);
  assert.equal(await st.delete("b"), true);
  assert.equal(await st.delete("b"), false);
  assert.equal(await st.delete(["c", "d", "nope"]), 2);
  await assert.rejects(st.put("u", undefined), /undefined/);
  await assert.rejects(
    st.transaction(async (txn) => {
      await txn.put("t1", 1);
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(await st.get("t1"), undefined, "a failed transaction wrote nothing");
  await st.transaction(async (txn) => {
    await txn.put("t2", 2);
  });
  assert.equal(await st.get("t2"), 2);
  await st.setAlarm(Date.now() + 60000);
  assert.equal(typeof (await st.getAlarm()), "number");
  await st.deleteAlarm();
  assert.equal(await st.getAlarm(), null);
  await st.deleteAll();
  assert.equal((await st.list()).size, 0);
  assert.throws(() => st.sql, /SQL is not enabled/);
  assert.throws(() => st.kv, /only available to SQLite-backed/);
  b.close();
  close();
});

test("DO alarm fires alarm() on the object", async () => {
  let fired = 0;
  let ctx;
  const f = () => (c) => {
    ctx = c;
    return { arm: (ms) => c.storage.setAlarm(Date.now() + ms), alarm: () => void fired++ };
  };
  const { env, close } = await createBindings({ config, stateDir: tmpDir("doal"), durableObjectClasses: f });
  await env.COUNTER.getByName("al").arm(20);
  for (let i = 0; i < 50 && fired === 0; i++) await sleep(10);
  assert.equal(fired, 1);
  assert.equal(await ctx.storage.getAlarm(), null);
  close();
});

test("SQLite-backed DO: ctx.storage.sql persisted", async () => {
  const stateDir = tmpDir("dosql");
  let b = await createBindings({ config, stateDir, durableObjectClasses: classes });
  const s = b.env.SQLDO.getByName("q");
  assert.equal(await s.add("one"), 1);
  assert.equal(await s.add("two"), 2);
  b.close();
  b = await createBindings({ config, stateDir, durableObjectClasses: classes });
  assert.deepEqual(await b.env.SQLDO.getByName("q").all(), [{ id: 1, v: "one" }, { id: 2, v: "two" }]);
  assert.deepEqual(await b.env.SQLDO.getByName("q").kvRoundTrip(), { a: { n: 1 }, missing: undefined, list: ["a", "b"], deleted: true, after: ["a"] });
  b.close();
});

test("DO: a class the worker does not export is a clear error; script_name is unsimulated", async () => {
  const cfg = { ...config, durable_objects: { bindings: [{ name: "X", class_name: "Missing" }, { name: "R", class_name: "C", script_name: "other" }] } };
  const { env, close } = await createBindings({ config: cfg, stateDir: tmpDir("domiss"), durableObjectClasses: () => undefined });
  await assert.rejects(env.X.getByName("a").f(), /exports no Durable Object class Missing \(binding X\)/);
  assert.throws(() => env.R.getByName("a"), /binding R \(Durable Object namespace C of worker other\) is not simulated/);
  close();
});
