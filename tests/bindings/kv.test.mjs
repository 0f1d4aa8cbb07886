import { test } from "node:test";
import assert from "node:assert/strict";
import { createBindings } from "../../executor/bindings/index.mjs";
import { tmpDir } from "./helpers.mjs";

const config = { kv_namespaces: [{ binding: "KV", id: "ns1" }, { binding: "OTHER", id: "ns2" }] };

test("KV get/put types, metadata, delete, namespaces are separate", async () => {
  const stateDir = tmpDir("kv");
  const { env, close } = await createBindings({ config, stateDir });
  const kv = env.KV;
  assert.equal(await kv.get("missing"), null);
  assert.deepEqual(await kv.getWithMetadata("missing"), { value: null, metadata: null, cacheStatus: null });
  await kv.put("k", "héllo");
  assert.equal(await kv.get("k"), "héllo");
  assert.equal(await kv.get("k", "text"), "héllo");
  assert.equal(await kv.get("k", { type: "text" }), "héllo");
  const ab = await kv.get("k", "arrayBuffer");
  assert.ok(ab instanceof ArrayBuffer);
  assert.equal(Buffer.from(ab).toString(), "héllo");
  const stream = await kv.get("k", { type: "stream" });
  assert.equal(await new Response(stream).text(), "héllo");
  await kv.put("j", JSON.stringify({ a: [1, 2] }), { metadata: { owner: "me", n: 3 } });
  assert.deepEqual(await kv.get("j", "json"), { a: [1, 2] });
  const wm = await kv.getWithMetadata("j", "json");
  assert.deepEqual(wm, { value: { a: [1, 2] }, metadata: { owner: "me", n: 3 }, cacheStatus: null });
  await kv.put("bin", new Uint8Array([0, 255, 1]));
  assert.deepEqual([...new Uint8Array(await kv.get("bin", "arrayBuffer"))], [0, 255, 1]);
  await kv.put("s", new Response("from-stream").body);
  assert.equal(await kv.get("s"), "from-stream");
  assert.equal(await env.OTHER.get("k"), null, "namespaces do not share keys");
  assert.equal(await kv.delete("k"), undefined);
  assert.equal(await kv.get("k"), null);
  await kv.delete("never-there");
  // bulk get returns a Map
  const m = await kv.get(["j", "nope"], "json");
  assert.ok(m instanceof Map);
  assert.deepEqual(m.get("j"), { a: [1, 2] });
  assert.equal(m.get("nope"), null);
  close();
});

test("KV put validation follows the platform", async () => {
  const { env, close } = await createBindings({ config, stateDir: tmpDir("kvv") });
  const kv = env.KV;
  await assert.rejects(kv.put("", "x"), /Key names must not be empty/);
  await assert.rejects(kv.put("..", "x"), /Illegal key name/);
  await assert.rejects(kv.put("x".repeat(513), "v"), /414 UTF-8 encoded length of 513 exceeds key length limit of 512/);
  await assert.rejects(kv.put("k", "v", { expirationTtl: 30 }), /Expiration TTL must be at least 60/);
  await assert.rejects(kv.put("k", "v", { expiration: Math.floor(Date.now() / 1000) + 10 }), /at least 60 seconds in the future/);
  await assert.rejects(kv.put("k", "v", { metadata: { big: "x".repeat(1100) } }), /Metadata length of \d+ exceeds limit of 1024/);
  await assert.rejects(kv.get("k", "xml"), /Unknown response type/);
  await assert.rejects(kv.list({ limit: 0 }), /key_count_limit/);
  await assert.rejects(kv.list({ limit: 1001 }), /key_count_limit/);
  close();
});

test("KV expiration and expirationTtl: listed, and an expired key is gone", async () => {
  const stateDir = tmpDir("kve");
  const { env, close } = await createBindings({ config, stateDir });
  const now = Math.floor(Date.now() / 1000);
  await env.KV.put("ttl", "v", { expirationTtl: 120 });
  await env.KV.put("abs", "v", { expiration: now + 3600, metadata: { m: 1 } });
  const l = await env.KV.list();
  const ttl = l.keys.find((k) => k.name === "ttl");
  assert.ok(ttl.expiration >= now + 120 && ttl.expiration <= now + 122);
  assert.deepEqual(l.keys.find((k) => k.name === "abs"), { name: "abs", expiration: now + 3600, metadata: { m: 1 } });
  close();
  // Make "ttl" expire by moving the clock forward.
  const realNow = Date.now;
  Date.now = () => realNow() + 200 * 1000;
  try {
    const b = await createBindings({ config, stateDir });
    assert.equal(await b.env.KV.get("ttl"), null);
    assert.equal(await b.env.KV.get("abs"), "v");
    assert.deepEqual((await b.env.KV.list()).keys.map((k) => k.name), ["abs"]);
    b.close();
  } finally {
    Date.now = realNow;
  }
});

test("KV list: byte order, prefix, limit and cursor pages", async () => {
  const { env, close } = await createBindings({ config, stateDir: tmpDir("kvl") });
  const names = ["b", "a", "a/2", "a/1", "ä", "Z", "a/10", "c"];
  for (const n of names) await env.KV.put(n, n);
  const all = await env.KV.list();
  assert.deepEqual(all.keys.map((k) => k.name), ["Z", "a", "a/1", "a/10", "a/2", "b", "c", "ä"]);
  assert.equal(all.list_complete, true);
  assert.equal("cursor" in all, false);
  assert.deepEqual((await env.KV.list({ prefix: "a/" })).keys.map((k) => k.name), ["a/1", "a/10", "a/2"]);
  const seen = [];
  let cursor;
  let pages = 0;
  for (;;) {
    const p = await env.KV.list({ limit: 3, cursor });
    pages++;
    seen.push(...p.keys.map((k) => k.name));
    if (p.list_complete) break;
    assert.equal(typeof p.cursor, "string");
    assert.equal(p.keys.length, 3);
    cursor = p.cursor;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, all.keys.map((k) => k.name));
  const pp = await env.KV.list({ prefix: "a", limit: 2 });
  assert.equal(pp.list_complete, false);
  const pp2 = await env.KV.list({ prefix: "a", limit: 2, cursor: pp.cursor });
  assert.deepEqual(pp2.keys.map((k) => k.name), ["a/10", "a/2"]);
  assert.equal(pp2.list_complete, true);
  close();
});

test("KV persists across instances; fresh starts empty", async () => {
  const stateDir = tmpDir("kvp");
  let b = await createBindings({ config, stateDir });
  await b.env.KV.put("keep", "1");
  b.close();
  b = await createBindings({ config, stateDir });
  assert.equal(await b.env.KV.get("keep"), "1");
  b.close();
  b = await createBindings({ config, stateDir, fresh: true });
  assert.equal(await b.env.KV.get("keep"), null);
  b.close();
});
