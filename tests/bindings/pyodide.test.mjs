// The bindings from Python, on the oldest and the newest runtime of the catalog: real
// Pyodide booted here, the bindings in `env`, Python code calling them through Pyodide's
// proxies as a worker does (await env.KV.get(...), env.DB.prepare(...).bind(...).all()).
// Skipped when ALMANAC_SLOW_TESTS=0 or a distribution is not in the cache.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createBindings } from "../../executor/bindings/index.mjs";
import { tmpDir } from "./helpers.mjs";

const DISTS =
  process.env.PYODIDE_DISTS ||
  path.join(process.env.ALMANAC_CACHE || path.join(os.homedir(), ".cache", "almanac"), "pyodide");
const SLOW = process.env.ALMANAC_SLOW_TESTS !== "0";

const config = {
  name: "pyw",
  kv_namespaces: [{ binding: "KV", id: "kv1" }],
  d1_databases: [{ binding: "DB", database_name: "db", database_id: "db1" }],
  r2_buckets: [{ binding: "BUCKET", bucket_name: "b" }],
  durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }] },
  migrations: [{ tag: "v1", new_sqlite_classes: ["Counter"] }],
  ai: { binding: "AI" },
};

const PY = `
import json, asyncio
from pyodide.ffi import to_js
from js import Object, Request

class Counter:
    def __init__(self, ctx, env):
        self.ctx = ctx
        self.env = env
    async def increment(self, by):
        v = (await self.ctx.storage.get("n")) or 0
        v = v + by
        await self.ctx.storage.put("n", v)
        return v
    async def remember(self, d):
        await self.ctx.storage.put("d", d)
        return await self.ctx.storage.get("d")
    async def slow(self, tag):
        LOG.append("start " + tag)
        await asyncio.sleep(0.02)
        LOG.append("end " + tag)
        return tag
    async def fetch(self, request):
        from js import Response
        n = await self.increment(1)
        return Response.new(f"count {n} {request.url}")

LOG = []

def isnull(x):
    # JS null is None up to Pyodide 0.27 and pyodide.ffi.jsnull from 0.28 on
    return x is None or repr(x) == "jsnull"

async def check(env):
    out = {}
    kv = env.KV
    await kv.put("k", "v1", to_js({"metadata": {"a": 1}}, dict_converter=Object.fromEntries))
    out["kv_get"] = await kv.get("k")
    wm = await kv.getWithMetadata("k")
    out["kv_meta"] = wm.metadata.to_py()
    await kv.put("j", json.dumps({"x": [1, 2]}))
    out["kv_json"] = (await kv.get("j", "json")).to_py()
    # a Python dict as options works too (converted by the binding)
    await kv.put("ttl", "t", {"expirationTtl": 300, "metadata": {"py": True}})
    lst = await kv.list({"prefix": "", "limit": 2})
    out["kv_list"] = [k.name for k in lst.keys]
    out["kv_list_complete"] = lst.list_complete
    lst2 = await kv.list({"cursor": lst.cursor})
    out["kv_list2"] = [k.name for k in lst2.keys]
    out["kv_missing"] = isnull(await kv.get("nope"))

    db = env.DB
    await db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT, n REAL)")
    r = await db.prepare("INSERT INTO t (name, n) VALUES (?, ?)").bind("ann", 1.5).run()
    out["d1_changes"] = r.meta.changes
    await db.prepare("INSERT INTO t (name, n) VALUES (?, ?)").bind("bob", None).run()
    rows = await db.prepare("SELECT id, name, n FROM t ORDER BY id").all()
    out["d1_all"] = rows.results.to_py()
    out["d1_first"] = await db.prepare("SELECT name FROM t WHERE id = ?").bind(2).first("name")
    out["d1_raw"] = (await db.prepare("SELECT id, name FROM t ORDER BY id").raw()).to_py()
    stmt = db.prepare("INSERT INTO t (name) VALUES (?)")
    res = await db.batch([stmt.bind("c"), stmt.bind("d")])
    out["d1_batch"] = len(res)
    try:
        await db.prepare("SELECT * FROM nope").all()
    except Exception as e:
        out["d1_error"] = str(e)

    b = env.BUCKET
    await b.put("f.txt", "hello r2", {"httpMetadata": {"contentType": "text/plain"}, "customMetadata": {"o": "p"}})
    obj = await b.get("f.txt")
    out["r2_text"] = await obj.text()
    out["r2_type"] = obj.httpMetadata.contentType
    out["r2_custom"] = obj.customMetadata.to_py()
    out["r2_head_size"] = (await b.head("f.txt")).size
    out["r2_list"] = [o.key for o in (await b.list({"prefix": "f"})).objects]
    await b.put("bin", to_js(b"\\x00\\x01\\x02"))
    out["r2_bytes"] = list(bytes((await (await b.get("bin")).arrayBuffer()).to_py()))
    await b.delete("bin")
    out["r2_deleted"] = isnull(await b.get("bin"))

    ns = env.COUNTER
    stub = ns.get(ns.idFromName("one"))
    out["do_rpc"] = [await stub.increment(2), await stub.increment(3)]
    out["do_dict"] = (await stub.remember({"a": [1, 2], "b": None})).to_py()
    resp = await stub.fetch("http://do/path")
    out["do_fetch"] = await resp.text()
    out["do_byname"] = await ns.getByName("one").increment(0)
    out["do_other"] = await ns.getByName("two").increment(1)
    LOG.clear()
    s = ns.getByName("ser")
    await asyncio.gather(s.slow("a"), s.slow("b"))
    out["do_serial"] = list(LOG)

    try:
        await env.AI.run("@cf/meta/llama", {})
    except Exception as e:
        out["ai_error"] = str(e)
    return json.dumps(out)
`;

async function boot(version) {
  const dir = path.join(DISTS, version, "package");
  const mod = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
  return mod.loadPyodide({ indexURL: dir + "/", stdout: () => {}, stderr: () => {} });
}

for (const version of ["0.26.4", "314.0.7"]) {
  const have = fs.existsSync(path.join(DISTS, version, "package", "pyodide.mjs"));
  test(`bindings from Python on Pyodide ${version}`, { skip: !SLOW ? "ALMANAC_SLOW_TESTS=0" : !have ? `no ${version} in ${DISTS}` : false, timeout: 120000 }, async () => {
    const py = await boot(version);
    py.runPython(PY);
    const factory = (cls) => {
      const C = py.globals.get(cls);
      return C ? (ctx, env) => C(ctx, env) : null;
    };
    const stateDir = tmpDir("py" + version);
    let b = await createBindings({ config, stateDir, durableObjectClasses: factory });
    const check = py.globals.get("check");
    const out = JSON.parse(await check(b.env));
    if (process.env.DEBUG_BINDINGS) console.log(version, out);
    b.close();
    assert.equal(out.kv_get, "v1");
    assert.deepEqual(out.kv_meta, { a: 1 });
    assert.deepEqual(out.kv_json, { x: [1, 2] });
    assert.deepEqual(out.kv_list, ["j", "k"]);
    assert.equal(out.kv_list_complete, false);
    assert.deepEqual(out.kv_list2, ["ttl"]);
    assert.equal(out.kv_missing, true);
    assert.equal(out.d1_changes, 1);
    assert.deepEqual(out.d1_all, [{ id: 1, name: "ann", n: 1.5 }, { id: 2, name: "bob", n: null }]);
    assert.equal(out.d1_first, "bob");
    assert.deepEqual(out.d1_raw, [[1, "ann"], [2, "bob"]]);
    assert.equal(out.d1_batch, 2);
    assert.match(out.d1_error, /D1_ERROR: no such table: nope: SQLITE_ERROR/);
    assert.equal(out.r2_text, "hello r2");
    assert.equal(out.r2_type, "text/plain");
    assert.deepEqual(out.r2_custom, { o: "p" });
    assert.equal(out.r2_head_size, 8);
    assert.deepEqual(out.r2_list, ["f.txt"]);
    assert.deepEqual(out.r2_bytes, [0, 1, 2]);
    assert.equal(out.r2_deleted, true);
    assert.deepEqual(out.do_rpc, [2, 5]);
    assert.deepEqual(out.do_dict, { a: [1, 2], b: null });
    assert.equal(out.do_fetch, "count 6 http://do/path");
    assert.equal(out.do_byname, 6);
    assert.equal(out.do_other, 1);
    assert.deepEqual(out.do_serial, ["start a", "end a", "start b", "end b"]);
    assert.match(out.ai_error, /binding AI \(Workers AI\) is not simulated/);
    assert.doesNotMatch(out.ai_error, /AttributeError/);
    // state persisted: a second "run" sees it; fresh does not
    b = await createBindings({ config, stateDir, durableObjectClasses: factory });
    py.runPython("async def again(env):\n    return [await env.KV.get('k'), await env.COUNTER.getByName('one').increment(0), (await env.DB.prepare('SELECT count(*) AS c FROM t').first('c'))]");
    assert.deepEqual((await py.globals.get("again")(b.env)).toJs(), ["v1", 6, 4]);
    b.close();
    b = await createBindings({ config, stateDir, fresh: true, durableObjectClasses: factory });
    py.runPython("async def fresh(env):\n    return [isnull(await env.KV.get('k')), await env.COUNTER.getByName('one').increment(0)]");
    const fr = (await py.globals.get("fresh")(b.env)).toJs();
    assert.equal(fr[0], true);
    assert.equal(fr[1], 0);
    await assert.rejects(py.globals.get("again")(b.env), /no such table: t/);
    b.close();
  });
}
