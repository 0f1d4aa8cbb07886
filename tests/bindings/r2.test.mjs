import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createBindings } from "../../executor/bindings/index.mjs";
import { tmpDir } from "./helpers.mjs";

const config = { r2_buckets: [{ binding: "BUCKET", bucket_name: "files" }] };

test("R2 put/get/head/delete with metadata and body readers", async () => {
  const stateDir = tmpDir("r2");
  const { env, close } = await createBindings({ config, stateDir });
  const b = env.BUCKET;
  assert.equal(await b.get("nope"), null);
  assert.equal(await b.head("nope"), null);
  const put = await b.put("docs/a.json", JSON.stringify({ x: 1 }), {
    httpMetadata: { contentType: "application/json", cacheControl: "max-age=60" },
    customMetadata: { owner: "ann" },
  });
  const md5 = crypto.createHash("md5").update('{"x":1}').digest("hex");
  assert.equal(put.key, "docs/a.json");
  assert.equal(put.size, 7);
  assert.equal(put.etag, md5);
  assert.equal(put.httpEtag, `"${md5}"`);
  assert.ok(put.uploaded instanceof Date);
  const got = await b.get("docs/a.json");
  assert.deepEqual(got.httpMetadata, { contentType: "application/json", cacheControl: "max-age=60" });
  assert.deepEqual(got.customMetadata, { owner: "ann" });
  assert.deepEqual(await got.json(), { x: 1 });
  assert.equal(got.bodyUsed, true);
  await assert.rejects(got.text(), /already been used/);
  assert.equal(await (await b.get("docs/a.json")).text(), '{"x":1}');
  assert.equal(Buffer.from(await (await b.get("docs/a.json")).arrayBuffer()).toString(), '{"x":1}');
  assert.equal(await new Response((await b.get("docs/a.json")).body).text(), '{"x":1}');
  const h = new Headers();
  got.writeHttpMetadata(h);
  assert.equal(h.get("content-type"), "application/json");
  assert.equal(h.get("cache-control"), "max-age=60");
  const head = await b.head("docs/a.json");
  assert.equal(head.size, 7);
  assert.equal("body" in head, false);
  // overwrite, binary, Headers as httpMetadata, ranges
  await b.put("bin", new Uint8Array([1, 2, 3, 4, 5]), { httpMetadata: new Headers({ "content-type": "application/x-test" }) });
  const bin = await b.get("bin", { range: { offset: 1, length: 2 } });
  assert.deepEqual([...new Uint8Array(await bin.arrayBuffer())], [2, 3]);
  assert.deepEqual(bin.range, { offset: 1, length: 2 });
  assert.deepEqual([...new Uint8Array(await (await b.get("bin", { range: { suffix: 2 } })).arrayBuffer())], [4, 5]);
  assert.equal((await b.head("bin")).httpMetadata.contentType, "application/x-test");
  // conditional get: a failed condition gives the object without a body
  const cond = await b.get("bin", { onlyIf: { etagDoesNotMatch: (await b.head("bin")).etag } });
  assert.equal("body" in cond, false);
  await assert.rejects(b.put("x", "data", { md5: "00".repeat(16) }), /Content-MD5/);
  await b.delete("bin");
  assert.equal(await b.get("bin"), null);
  await b.delete(["docs/a.json", "never"]);
  assert.equal(await b.head("docs/a.json"), null);
  assert.deepEqual(fs.readdirSync(path.join(stateDir, "r2", "files", "blobs")), [], "deleted objects leave no blob");
  close();
});

test("R2 list: prefix, limit/cursor, delimiter, include", async () => {
  const { env, close } = await createBindings({ config, stateDir: tmpDir("r2l") });
  const b = env.BUCKET;
  for (const k of ["a/1", "a/2", "a/sub/3", "a/sub/4", "b", "c/x"]) await b.put(k, k, { customMetadata: { k } });
  const all = await b.list();
  assert.deepEqual(all.objects.map((o) => o.key), ["a/1", "a/2", "a/sub/3", "a/sub/4", "b", "c/x"]);
  assert.equal(all.truncated, false);
  assert.deepEqual(all.delimitedPrefixes, []);
  assert.equal(all.objects[0].customMetadata, undefined, "metadata only with include");
  const inc = await b.list({ include: ["customMetadata", "httpMetadata"], limit: 1 });
  assert.deepEqual(inc.objects[0].customMetadata, { k: "a/1" });
  assert.equal(inc.truncated, true);
  assert.equal(typeof inc.cursor, "string");
  const d = await b.list({ delimiter: "/" });
  assert.deepEqual(d.objects.map((o) => o.key), ["b"]);
  assert.deepEqual(d.delimitedPrefixes, ["a/", "c/"]);
  const dp = await b.list({ prefix: "a/", delimiter: "/" });
  assert.deepEqual(dp.objects.map((o) => o.key), ["a/1", "a/2"]);
  assert.deepEqual(dp.delimitedPrefixes, ["a/sub/"]);
  // pages of 2 with a delimiter never repeat a prefix
  const seen = [];
  let cursor;
  for (;;) {
    const p = await b.list({ delimiter: "/", limit: 1, cursor });
    seen.push(...p.objects.map((o) => o.key), ...p.delimitedPrefixes);
    if (!p.truncated) break;
    cursor = p.cursor;
  }
  assert.deepEqual(seen, ["a/", "b", "c/"]);
  const pages = [];
  cursor = undefined;
  for (;;) {
    const p = await b.list({ prefix: "a/", limit: 3, cursor });
    pages.push(p.objects.map((o) => o.key));
    if (!p.truncated) break;
    cursor = p.cursor;
  }
  assert.deepEqual(pages, [["a/1", "a/2", "a/sub/3"], ["a/sub/4"]]);
  await assert.rejects(b.list({ limit: 1001 }), /MaxKeys/);
  close();
});

test("R2 persists across runs; fresh starts empty", async () => {
  const stateDir = tmpDir("r2p");
  let r = await createBindings({ config, stateDir });
  await r.env.BUCKET.put("keep", "me");
  r.close();
  r = await createBindings({ config, stateDir });
  assert.equal(await (await r.env.BUCKET.get("keep")).text(), "me");
  r.close();
  r = await createBindings({ config, stateDir, fresh: true });
  assert.equal(await r.env.BUCKET.get("keep"), null);
  r.close();
});
