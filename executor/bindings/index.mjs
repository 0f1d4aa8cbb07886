// Local bindings for `almanac run` / `almanac dev`, built from the worker's wrangler
// config (already parsed, env overrides applied):
//   createBindings({config, stateDir, fresh, projectDir, pyodide, durableObjectClasses})
//     -> { env: {NAME: binding}, assets: {serve(request) -> Promise<Response|null>} | null, close() }
// State lives under stateDir (default PROJECT/.almanac/state): kv/, d1/, r2/, do/.
import fs from "node:fs";
import path from "node:path";
import { KVNamespace, kvFile } from "./kv.mjs";
import { D1Database, d1File } from "./d1.mjs";
import { R2Bucket, r2Dir } from "./r2.mjs";
import { DurableObjectNamespace, sqliteClasses, doDir } from "./do.mjs";
import { Assets } from "./assets.mjs";
import { unsimulated, UNSIMULATED } from "./unsimulated.mjs";

export { unsimulated, UnsimulatedBindingError } from "./unsimulated.mjs";
export { KVNamespace, D1Database, R2Bucket, DurableObjectNamespace, Assets };

// The subdirectories of the state dir that belong to bindings; --fresh empties exactly these.
export const STATE_KINDS = ["kv", "d1", "r2", "do"];

export function defaultStateDir(projectDir) {
  return path.join(projectDir || ".", ".almanac", "state");
}

function list(v) {
  if (v == null) return [];
  return Array.isArray(v) ? v : [v];
}

function bindingName(e, key, where) {
  const n = e && e[key];
  if (typeof n !== "string" || n === "") throw new Error(`almanac: config ${where}: an entry has no "${key}"`);
  return n;
}

export async function createBindings({ config, stateDir, fresh, projectDir, pyodide, durableObjectClasses } = {}) {
  config = config || {};
  stateDir = path.resolve(stateDir || defaultStateDir(projectDir));
  if (fresh) {
    for (const k of STATE_KINDS) fs.rmSync(path.join(stateDir, k), { recursive: true, force: true });
  }
  const env = {};
  const closers = [];
  const seen = new Map();
  const add = (name, value, kind) => {
    if (seen.has(name)) throw new Error(`almanac: config declares the binding ${name} twice (${seen.get(name)} and ${kind})`);
    seen.set(name, kind);
    env[name] = value;
  };
  try {
    for (const ns of list(config.kv_namespaces)) {
      const name = bindingName(ns, "binding", "kv_namespaces");
      const kv = new KVNamespace(kvFile(stateDir, ns));
      closers.push(() => kv.close());
      add(name, kv, "KV namespace");
    }
    for (const d of list(config.d1_databases)) {
      const name = bindingName(d, "binding", "d1_databases");
      const db = new D1Database(d1File(stateDir, d));
      closers.push(() => db.close());
      add(name, db, "D1 database");
    }
    for (const b of list(config.r2_buckets)) {
      const name = bindingName(b, "binding", "r2_buckets");
      const r2 = new R2Bucket(r2Dir(stateDir, b));
      closers.push(() => r2.close());
      add(name, r2, "R2 bucket");
    }
    const dos = config.durable_objects && config.durable_objects.bindings;
    const sqlClasses = sqliteClasses(config);
    for (const d of list(dos)) {
      const name = bindingName(d, "name", "durable_objects.bindings");
      if (typeof d.class_name !== "string" || d.class_name === "") {
        throw new Error(`almanac: config durable_objects.bindings: ${name} has no "class_name"`);
      }
      if (d.script_name && d.script_name !== config.name) {
        add(name, unsimulated(name, `Durable Object namespace ${d.class_name} of worker ${d.script_name}`), "Durable Object namespace");
        continue;
      }
      const factory = (cls) => {
        if (typeof durableObjectClasses !== "function") return null;
        return durableObjectClasses(cls);
      };
      const ns = new DurableObjectNamespace({
        binding: name,
        className: d.class_name,
        dir: doDir(stateDir, d.class_name),
        sqlEnabled: sqlClasses.has(d.class_name),
        factory,
        env: () => env,
      });
      closers.push(() => ns.close());
      add(name, ns, "Durable Object namespace");
    }
    let assets = null;
    if (config.assets != null) {
      const a = new Assets(config, projectDir);
      assets = { serve: (req) => a.serve(req) };
      if (a.binding) add(a.binding, { fetch: (input, init) => a.fetch(input, init) }, "assets");
    }
    if (config.version_metadata && config.version_metadata.binding) {
      add(
        config.version_metadata.binding,
        { id: "00000000-0000-0000-0000-000000000000", tag: "", timestamp: new Date(0).toISOString() },
        "version metadata",
      );
    }
    for (const [key, nameKey, kind] of UNSIMULATED) {
      for (const e of list(config[key])) {
        add(bindingName(e, nameKey, key), unsimulated(e[nameKey], kind(e)), kind(e));
      }
    }
    for (const p of list(config.queues && config.queues.producers)) {
      const name = bindingName(p, "binding", "queues.producers");
      add(name, unsimulated(name, `Queue producer for ${p.queue ?? "?"}`), "Queue producer");
    }
    void pyodide;
    let closed = false;
    return {
      env,
      assets,
      close() {
        if (closed) return;
        closed = true;
        for (const c of closers.reverse()) {
          try {
            c();
          } catch {}
        }
      },
    };
  } catch (e) {
    for (const c of closers.reverse()) {
      try {
        c();
      } catch {}
    }
    throw e;
  }
}
