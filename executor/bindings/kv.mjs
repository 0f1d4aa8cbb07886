// KV namespace binding (KVNamespace of @cloudflare/workers-types), backed by one SQLite
// file per namespace: STATE/kv/<id>.sqlite.
import path from "node:path";
import { openDb, safeName, toBytes, arrayBufferOf, opts, fromPy } from "./common.mjs";

// The platform's limits (Cloudflare KV docs; the same numbers as miniflare).
export const KV_MAX_KEY_BYTES = 512;
export const KV_MAX_VALUE_BYTES = 25 * 1024 * 1024;
export const KV_MAX_METADATA_BYTES = 1024;
export const KV_MAX_LIST_KEYS = 1000;
export const KV_MIN_TTL_S = 60;
export const KV_MAX_BULK_KEYS = 100;

class KVError extends Error {}

function kvError(op, status, msg) {
  return new KVError(`KV ${op} failed: ${status} ${msg}`);
}

function validateKey(op, key) {
  if (typeof key !== "string") key = String(key);
  if (key === "") throw new TypeError("Key names must not be empty");
  if (key === "." || key === "..") throw new TypeError(`Illegal key name "${key}". Please use a different name.`);
  const n = Buffer.byteLength(key, "utf8");
  if (n > KV_MAX_KEY_BYTES) {
    throw kvError(op, 414, `UTF-8 encoded length of ${n} exceeds key length limit of ${KV_MAX_KEY_BYTES}.`);
  }
  return key;
}

function readType(arg) {
  arg = fromPy(arg);
  let type = "text";
  if (typeof arg === "string") type = arg;
  else if (arg != null && typeof arg === "object") {
    const o = opts(arg);
    if (o.type !== undefined) type = o.type;
    if (o.cacheTtl !== undefined && (!Number.isFinite(o.cacheTtl) || o.cacheTtl < KV_MIN_TTL_S)) {
      throw kvError("GET", 400, `Invalid cache_ttl of ${o.cacheTtl}. Cache TTL must be at least ${KV_MIN_TTL_S}.`);
    }
  }
  if (!["text", "json", "arrayBuffer", "stream"].includes(type)) {
    throw new TypeError(`Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".`);
  }
  return type;
}

function decode(buf, type) {
  switch (type) {
    case "text":
      return buf.toString("utf8");
    case "json":
      return JSON.parse(buf.toString("utf8"));
    case "arrayBuffer":
      return arrayBufferOf(buf);
    case "stream":
      return new Response(buf).body;
  }
  return null;
}

const nowS = () => Math.floor(Date.now() / 1000);

export class KVNamespace {
  #db;
  #get;
  #put;
  #del;
  #list;
  constructor(file) {
    this.#db = openDb(file);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS kv (
      key TEXT PRIMARY KEY, value BLOB NOT NULL, expiration INTEGER, metadata TEXT)`);
    this.#get = this.#db.prepare("SELECT value, expiration, metadata FROM kv WHERE key = ?");
    this.#put = this.#db.prepare(
      "INSERT INTO kv (key, value, expiration, metadata) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expiration = excluded.expiration, metadata = excluded.metadata",
    );
    this.#del = this.#db.prepare("DELETE FROM kv WHERE key = ?");
    this.#list = this.#db.prepare(
      "SELECT key, expiration, metadata FROM kv WHERE key >= ? AND (expiration IS NULL OR expiration > ?) " +
        "AND substr(key, 1, length(?)) = ? AND key > ? ORDER BY key LIMIT ?",
    );
  }

  #row(key) {
    const r = this.#get.get(key);
    if (!r) return null;
    if (r.expiration != null && r.expiration <= nowS()) {
      this.#del.run(key);
      return null;
    }
    return r;
  }

  async get(key, typeOrOptions) {
    key = fromPy(key);
    const type = readType(typeOrOptions);
    if (Array.isArray(key)) return this.#bulk(key, type, false);
    key = validateKey("GET", key);
    const r = this.#row(key);
    return r ? decode(r.value, type) : null;
  }

  async getWithMetadata(key, typeOrOptions) {
    key = fromPy(key);
    const type = readType(typeOrOptions);
    if (Array.isArray(key)) return this.#bulk(key, type, true);
    key = validateKey("GET", key);
    const r = this.#row(key);
    if (!r) return { value: null, metadata: null, cacheStatus: null };
    return {
      value: decode(r.value, type),
      metadata: r.metadata == null ? null : JSON.parse(r.metadata),
      cacheStatus: null,
    };
  }

  // get([keys]) returns a Map, as the platform's bulk get does (text and json only).
  #bulk(keys, type, withMeta) {
    if (type !== "text" && type !== "json") {
      throw new TypeError(`"${type}" is not a valid type. Use "json" or "text"`);
    }
    if (keys.length > KV_MAX_BULK_KEYS) throw kvError("GET", 400, `You can request a maximum of ${KV_MAX_BULK_KEYS} keys`);
    const out = new Map();
    for (const k of keys) {
      const key = validateKey("GET", k);
      const r = this.#row(key);
      const value = r ? decode(r.value, type) : null;
      if (withMeta) out.set(key, r ? { value, metadata: r.metadata == null ? null : JSON.parse(r.metadata) } : null);
      else out.set(key, value);
    }
    return out;
  }

  async put(key, value, options) {
    key = validateKey("PUT", fromPy(key));
    const o = opts(options);
    if (value === undefined || value === null) {
      throw new TypeError(
        "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.",
      );
    }
    const bytes = await toBytes(value, "KV put()");
    if (bytes.length > KV_MAX_VALUE_BYTES) {
      throw kvError("PUT", 413, `Value length of ${bytes.length} exceeds limit of ${KV_MAX_VALUE_BYTES}.`);
    }
    let expiration = null;
    const now = nowS();
    if (o.expirationTtl != null) {
      const ttl = Number(o.expirationTtl);
      if (!Number.isFinite(ttl) || ttl <= 0) {
        throw kvError("PUT", 400, `Invalid expiration_ttl of ${o.expirationTtl}. Please specify integer greater than 0.`);
      }
      if (ttl < KV_MIN_TTL_S) {
        throw kvError("PUT", 400, `Invalid expiration_ttl of ${o.expirationTtl}. Expiration TTL must be at least ${KV_MIN_TTL_S}.`);
      }
      expiration = now + Math.floor(ttl);
    } else if (o.expiration != null) {
      const exp = Number(o.expiration);
      if (!Number.isFinite(exp) || exp <= 0) {
        throw kvError("PUT", 400, `Invalid expiration of ${o.expiration}. Please specify integer greater than 0.`);
      }
      if (exp < now + KV_MIN_TTL_S) {
        throw kvError("PUT", 400,
          `Invalid expiration of ${o.expiration}. Expiration times must be at least ${KV_MIN_TTL_S} seconds in the future.`);
      }
      expiration = Math.floor(exp);
    }
    let metadata = null;
    if (o.metadata !== undefined && o.metadata !== null) {
      metadata = JSON.stringify(fromPy(o.metadata));
      const n = Buffer.byteLength(metadata, "utf8");
      if (n > KV_MAX_METADATA_BYTES) {
        throw kvError("PUT", 413, `Metadata length of ${n} exceeds limit of ${KV_MAX_METADATA_BYTES}.`);
      }
    }
    this.#put.run(key, bytes, expiration, metadata);
  }

  async delete(key) {
    key = validateKey("DELETE", fromPy(key));
    this.#del.run(key);
  }

  // list({prefix, limit, cursor}): keys in UTF-8 byte order (SQLite compares TEXT with
  // memcmp); the cursor is the base64 of the last key returned, opaque to the worker.
  async list(options) {
    const o = opts(options);
    const prefix = o.prefix == null ? "" : String(o.prefix);
    let limit = KV_MAX_LIST_KEYS;
    if (o.limit != null) {
      limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit <= 0) {
        throw kvError("LIST", 400, `Invalid key_count_limit of ${o.limit}. Please specify an integer greater than 0.`);
      }
      if (limit > KV_MAX_LIST_KEYS) {
        throw kvError("LIST", 400, `Invalid key_count_limit of ${o.limit}. Please specify an integer less than ${KV_MAX_LIST_KEYS + 1}.`);
      }
    }
    let after = "";
    let afterSet = false;
    if (o.cursor != null && o.cursor !== "") {
      after = Buffer.from(String(o.cursor), "base64url").toString("utf8");
      afterSet = true;
    }
    const rows = this.#list.all(prefix, nowS(), prefix, prefix, afterSet ? after : "", limit + 1);
    // key > '' excludes nothing (keys are never empty)
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const keys = page.map((r) => {
      const k = { name: r.key };
      if (r.expiration != null) k.expiration = r.expiration;
      if (r.metadata != null) k.metadata = JSON.parse(r.metadata);
      return k;
    });
    const res = { keys, list_complete: !more, cacheStatus: null };
    if (more) res.cursor = Buffer.from(page[page.length - 1].key, "utf8").toString("base64url");
    return res;
  }

  close() {
    this.#db.close();
  }
}

export function kvFile(stateDir, ns) {
  return path.join(stateDir, "kv", safeName(ns.id || ns.binding) + ".sqlite");
}
