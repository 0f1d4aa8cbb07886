import { test } from "node:test";
import assert from "node:assert/strict";
import { createBindings } from "../../executor/bindings/index.mjs";
import { tmpDir } from "./helpers.mjs";

test("unsimulated bindings: harmless probes, a one-line error on first use", async () => {
  const config = {
    ai: { binding: "AI" },
    vectorize: [{ binding: "VEC", index_name: "idx" }],
    queues: { producers: [{ binding: "Q", queue: "jobs" }] },
    hyperdrive: [{ binding: "HD", id: "x" }],
    services: [{ binding: "API", service: "api-worker" }],
    analytics_engine_datasets: [{ binding: "AE" }],
    version_metadata: { binding: "VER" },
  };
  const { env, close } = await createBindings({ config, stateDir: tmpDir("un") });
  const cases = [
    ["AI", () => env.AI.run("@cf/model", {}), /binding AI \(Workers AI\) is not simulated by almanac run\/dev/],
    ["VEC", () => env.VEC.query([1]), /binding VEC \(Vectorize index idx\)/],
    ["Q", () => env.Q.send({}), /binding Q \(Queue producer for jobs\)/],
    ["HD", () => env.HD.connectionString, /binding HD \(Hyperdrive\)/],
    ["API", () => env.API.fetch("http://x"), /binding API \(service binding to worker api-worker\)/],
    ["AE", () => env.AE.writeDataPoint({}), /binding AE \(Analytics Engine dataset\)/],
  ];
  for (const [name, use, re] of cases) {
    const v = env[name];
    assert.equal(v.then, undefined, `${name} is not a thenable`);
    assert.equal(v[Symbol.iterator], undefined);
    assert.equal("get" in v, false);
    assert.match(String(v), /unsimulated/);
    assert.throws(use, (e) => re.test(e.message) && !e.message.includes("\n"), name);
    assert.throws(() => v(), re);
  }
  assert.equal(typeof env.VER.id, "string");
  close();
});

test("a binding name declared twice is refused", async () => {
  await assert.rejects(
    createBindings({ config: { kv_namespaces: [{ binding: "X", id: "1" }], d1_databases: [{ binding: "X", database_id: "2" }] }, stateDir: tmpDir("dup") }),
    /declares the binding X twice/,
  );
  await assert.rejects(createBindings({ config: { kv_namespaces: [{ id: "1" }] }, stateDir: tmpDir("nob") }), /kv_namespaces: an entry has no "binding"/);
});
