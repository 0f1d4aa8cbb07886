// Durable Object namespaces (DurableObjectNamespace of @cloudflare/workers-types).
// One instance per id for the life of the process, created by the worker's Python class
// through the host's factory; every event (RPC call, fetch) of one object runs after the
// previous one finished, and after any blockConcurrencyWhile() callback.
// Storage: one SQLite file per object, STATE/do/<class>/<id>.sqlite; the key-value API
// lives in table _cf_KV (values structured-cloned with v8.serialize), and SQLite-backed
// classes (migrations new_sqlite_classes) also get ctx.storage.sql.
import crypto from "node:crypto";
import path from "node:path";
import v8 from "node:v8";
import { openDb, safeName, fetchArgs, fromPy, isPyProxy, opts } from "./common.mjs";
import { splitSql, prepareCompat } from "./sqlsplit.mjs";

export const DO_MAX_KEY_BYTES = 2048;
export const DO_MAX_BATCH_KEYS = 128;

const HEX64 = /^[0-9a-f]{64}$/;

export class DurableObjectId {
  #hex;
  constructor(hex, name) {
    this.#hex = hex;
    if (name !== undefined) this.name = name;
  }
  toString() {
    return this.#hex;
  }
  equals(other) {
    return other instanceof DurableObjectId && other.toString() === this.#hex;
  }
  toJSON() {
    return this.#hex;
  }
}

function checkKey(k) {
  k = fromPy(k);
  if (typeof k !== "string") throw new TypeError("Durable Object storage keys must be strings");
  if (Buffer.byteLength(k) > DO_MAX_KEY_BYTES) {
    throw new RangeError(`Keys cannot be larger than ${DO_MAX_KEY_BYTES} bytes. ${Buffer.byteLength(k)} bytes provided.`);
  }
  return k;
}

function checkKeys(keys) {
  if (keys.length > DO_MAX_BATCH_KEYS) throw new RangeError(`Maximum number of keys is ${DO_MAX_BATCH_KEYS}. ${keys.length} keys provided.`);
  return keys.map(checkKey);
}

// Serializes a stored value: Python values (PyProxy) become plain JS first; undefined is
// refused as on the platform.
function ser(v) {
  v = fromPy(v);
  if (v === undefined) throw new TypeError("Cannot store undefined in Durable Object storage");
  return v8.serialize(v);
}
const deser = (b) => v8.deserialize(b);

// The key-value API over one SQLite connection. Each call is its own transaction; a
// storage.transaction() wraps several calls in one.
class Storage {
  constructor(db, sqlEnabled) {
    this.db = db;
    db.exec("CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID");
    db.exec("CREATE TABLE IF NOT EXISTS _cf_ALARM (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL)");
    this.q = {
      get: db.prepare("SELECT value FROM _cf_KV WHERE key = ?"),
      put: db.prepare("INSERT INTO _cf_KV (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      del: db.prepare("DELETE FROM _cf_KV WHERE key = ?"),
      delAll: db.prepare("DELETE FROM _cf_KV"),
      getAlarm: db.prepare("SELECT at FROM _cf_ALARM WHERE id = 1"),
      setAlarm: db.prepare("INSERT INTO _cf_ALARM (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at"),
      delAlarm: db.prepare("DELETE FROM _cf_ALARM WHERE id = 1"),
    };
    this.sqlEnabled = sqlEnabled;
    this.onAlarmChange = null;
    this._sql = null;
  }

  async get(keyOrKeys) {
    keyOrKeys = fromPy(keyOrKeys);
    if (Array.isArray(keyOrKeys)) {
      const keys = checkKeys(keyOrKeys);
      const out = new Map();
      for (const k of [...keys].sort()) {
        const r = this.q.get.get(k);
        if (r) out.set(k, deser(r.value));
      }
      return out;
    }
    const r = this.q.get.get(checkKey(keyOrKeys));
    return r ? deser(r.value) : undefined;
  }

  async put(keyOrEntries, value) {
    keyOrEntries = fromPy(keyOrEntries);
    if (keyOrEntries !== null && typeof keyOrEntries === "object") {
      const entries = keyOrEntries instanceof Map ? [...keyOrEntries] : Object.entries(keyOrEntries);
      checkKeys(entries.map(([k]) => k));
      const rows = entries.map(([k, v]) => [k, ser(v)]);
      this.db.transaction(() => {
        for (const [k, b] of rows) this.q.put.run(k, b);
      })();
      return;
    }
    const k = checkKey(keyOrEntries);
    this.q.put.run(k, ser(value));
  }

  async delete(keyOrKeys) {
    keyOrKeys = fromPy(keyOrKeys);
    if (Array.isArray(keyOrKeys)) {
      const keys = checkKeys(keyOrKeys);
      return this.db.transaction(() => keys.reduce((n, k) => n + this.q.del.run(k).changes, 0))();
    }
    return this.q.del.run(checkKey(keyOrKeys)).changes > 0;
  }

  async deleteAll() {
    this.db.transaction(() => {
      this.q.delAll.run();
      this.q.delAlarm.run();
    })();
    if (this.onAlarmChange) this.onAlarmChange(null);
  }

  // list({start, startAfter, end, prefix, reverse, limit}) -> Map in key order.
  async list(options) {
    return this.listSync(options);
  }

  listSync(options) {
    const o = opts(options);
    const where = [];
    const args = [];
    if (o.start != null) where.push("key >= ?"), args.push(String(o.start));
    if (o.startAfter != null) where.push("key > ?"), args.push(String(o.startAfter));
    if (o.end != null) where.push("key < ?"), args.push(String(o.end));
    if (o.prefix != null && o.prefix !== "") where.push("substr(key, 1, length(?)) = ?"), args.push(String(o.prefix), String(o.prefix));
    let sql = "SELECT key, value FROM _cf_KV";
    if (where.length) sql += " WHERE " + where.join(" AND ");
    sql += o.reverse ? " ORDER BY key DESC" : " ORDER BY key";
    if (o.limit != null) {
      const lim = Number(o.limit);
      if (!Number.isInteger(lim) || lim <= 0) throw new TypeError("List limit must be positive.");
      sql += " LIMIT ?";
      args.push(lim);
    }
    const out = new Map();
    for (const r of this.db.prepare(sql).all(...args)) out.set(r.key, deser(r.value));
    return out;
  }

  // transaction(closure): every storage call inside commits together or not at all.
  async transaction(closure) {
    this.db.exec("SAVEPOINT almanac_txn");
    let rolledBack = false;
    const txn = Object.create(this);
    txn.rollback = () => {
      if (!rolledBack) {
        rolledBack = true;
        this.db.exec("ROLLBACK TO almanac_txn; RELEASE almanac_txn");
      }
    };
    try {
      const r = await closure(txn);
      if (!rolledBack) this.db.exec("RELEASE almanac_txn");
      return r;
    } catch (e) {
      if (!rolledBack) this.db.exec("ROLLBACK TO almanac_txn; RELEASE almanac_txn");
      throw e;
    }
  }

  transactionSync(closure) {
    return this.db.transaction(() => closure())();
  }

  async sync() {}

  async getAlarm() {
    const r = this.q.getAlarm.get();
    return r ? r.at : null;
  }

  async setAlarm(when) {
    when = fromPy(when);
    const at = when instanceof Date ? when.getTime() : Number(when);
    if (!Number.isFinite(at)) throw new TypeError("setAlarm() expects a Date or a number of milliseconds since the epoch");
    this.q.setAlarm.run(at);
    if (this.onAlarmChange) this.onAlarmChange(at);
  }

  async deleteAlarm() {
    this.q.delAlarm.run();
    if (this.onAlarmChange) this.onAlarmChange(null);
  }

  // ctx.storage.kv: the synchronous key-value API of SQLite-backed objects, over the
  // same _cf_KV table as the asynchronous one.
  get kv() {
    if (!this.sqlEnabled) {
      throw new Error(
        "storage.kv is only available to SQLite-backed Durable Objects. Declare the class in `new_sqlite_classes` of a migration in the config.",
      );
    }
    if (!this._kv) {
      const st = this;
      this._kv = {
        get(key) {
          const r = st.q.get.get(checkKey(key));
          return r ? deser(r.value) : undefined;
        },
        put(key, value) {
          st.q.put.run(checkKey(key), ser(value));
        },
        delete(key) {
          return st.q.del.run(checkKey(key)).changes > 0;
        },
        list(options) {
          return st.listSync(options)[Symbol.iterator]();
        },
      };
    }
    return this._kv;
  }

  get sql() {
    if (!this.sqlEnabled) {
      throw new Error(
        "SQL is not enabled for this Durable Object class. Declare it in `new_sqlite_classes` of a migration in the config.",
      );
    }
    if (!this._sql) this._sql = new SqlStorage(this.db);
    return this._sql;
  }
}

// ctx.storage.sql of SQLite-backed Durable Objects: exec(query, ...bindings) -> cursor.
class SqlStorage {
  constructor(db) {
    this.db = db;
  }
  exec(query, ...bindings) {
    query = fromPy(query);
    const params = bindings.map((b) => {
      b = fromPy(b);
      if (b === undefined) return null;
      if (typeof b === "boolean") return b ? 1 : 0;
      if (b instanceof ArrayBuffer) return Buffer.from(new Uint8Array(b));
      if (ArrayBuffer.isView(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      return b;
    });
    const stmts = splitSql(query);
    let rows = [];
    let columnNames = [];
    let written = 0;
    for (let i = 0; i < stmts.length; i++) {
      const s = prepareCompat(this.db, stmts[i]).stmt;
      const last = i === stmts.length - 1;
      const p = last ? params : [];
      if (s.reader) {
        columnNames = s.columns().map((c) => c.name);
        rows = s.raw(true).all(...p);
      } else {
        written += s.run(...p).changes;
        if (last) (rows = []), (columnNames = []);
      }
    }
    return new SqlCursor(rows, columnNames, written);
  }
  get databaseSize() {
    return this.db.pragma("page_count", { simple: true }) * this.db.pragma("page_size", { simple: true });
  }
}

const sqlOut = (v) => (Buffer.isBuffer(v) ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v);

class SqlCursor {
  #rows;
  #i = 0;
  constructor(rows, columnNames, written) {
    this.#rows = rows.map((r) => r.map(sqlOut));
    this.columnNames = columnNames;
    this.rowsRead = rows.length;
    this.rowsWritten = written;
  }
  #obj(r) {
    const o = {};
    this.columnNames.forEach((c, j) => (o[c] = r[j]));
    return o;
  }
  next() {
    if (this.#i >= this.#rows.length) return { done: true, value: undefined };
    return { done: false, value: this.#obj(this.#rows[this.#i++]) };
  }
  toArray() {
    const out = [];
    for (let r = this.next(); !r.done; r = this.next()) out.push(r.value);
    return out;
  }
  one() {
    const rest = this.#rows.length - this.#i;
    if (rest !== 1) throw new Error(rest === 0 ? "Expected exactly one result from SQL query, but got no results." : "Expected exactly one result from SQL query, but got multiple results.");
    return this.next().value;
  }
  raw() {
    const rows = this.#rows.slice(this.#i);
    this.#i = this.#rows.length;
    return rows[Symbol.iterator]();
  }
  [Symbol.iterator]() {
    return this;
  }
}

// Converts what a Python handler returned to a JS value for the caller.
async function settle(v) {
  if (v && typeof v.then === "function") v = await v;
  if (isPyProxy(v)) {
    const js = v.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
    try {
      v.destroy();
    } catch {}
    return js;
  }
  return v;
}

// A Response from what a Python fetch() returned: a JS Response, a workers.Response (its
// js_object), a str/bytes.
async function toResponse(v) {
  if (v && typeof v.then === "function") v = await v;
  if (v instanceof Response) return v;
  if (isPyProxy(v)) {
    let js;
    try {
      js = v.js_object;
    } catch {}
    if (js instanceof Response) return js;
    const plain = v.toJs({ create_pyproxies: false });
    if (typeof plain === "string" || ArrayBuffer.isView(plain)) return new Response(plain);
  }
  if (typeof v === "string") return new Response(v);
  throw new TypeError("Durable Object fetch() must return a Response");
}

function toRequest(rawInput, rawInit) {
  let [input, init] = fetchArgs(rawInput, rawInit);
  if (input instanceof Request && init === undefined) return input;
  if (typeof input === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(input)) input = "http://fake-host" + (input.startsWith("/") ? "" : "/") + input;
  return new Request(input, init);
}

// Names Pyodide and JS machinery probe on any object; a stub answers them without RPC.
const NOT_RPC = new Set(["then", "catch", "finally", "toJSON", "constructor", "length", "size", "asymmetricMatch", "nodeType", "$$typeof", "inspect"]);

class ObjectState {
  constructor(ns, id) {
    this.ns = ns;
    this.id = id;
    this.instance = null;
    this.tail = Promise.resolve();
    this.blocker = null;
    this.db = null;
    this.storage = null;
    this.alarmTimer = null;
  }

  open() {
    if (this.storage) return;
    this.db = openDb(path.join(this.ns.dir, safeName(this.id.toString()) + ".sqlite"));
    this.storage = new Storage(this.db, this.ns.sqlEnabled);
    this.storage.onAlarmChange = (at) => this.scheduleAlarm(at);
  }

  ctx() {
    const self = this;
    return {
      id: this.id,
      storage: this.storage,
      blockConcurrencyWhile(cb) {
        const p = Promise.resolve().then(() => cb());
        self.blocker = p.then(
          () => {},
          () => {},
        );
        return p.then(settle);
      },
      waitUntil(p) {
        Promise.resolve(p).catch(() => {});
      },
      abort(reason) {
        self.instance = null;
        throw new Error(`Durable Object aborted${reason ? ": " + reason : ""}`);
      },
    };
  }

  async ensureInstance() {
    if (this.instance) return this.instance;
    this.open();
    const make = this.ns.factory(this.ns.className);
    if (typeof make !== "function") {
      throw new Error(`almanac: the worker exports no Durable Object class ${this.ns.className} (binding ${this.ns.binding})`);
    }
    this.instance = await make(this.ctx(), this.ns.env());
    const at = await this.storage.getAlarm();
    if (at != null) this.scheduleAlarm(at);
    return this.instance;
  }

  // Runs one event after the previous one and after blockConcurrencyWhile().
  async run(fn) {
    const prev = this.tail;
    let release;
    this.tail = new Promise((r) => (release = r));
    try {
      await prev;
      const inst = await this.ensureInstance();
      while (this.blocker) {
        const b = this.blocker;
        await b;
        if (this.blocker === b) this.blocker = null;
      }
      return await fn(inst);
    } finally {
      release();
    }
  }

  scheduleAlarm(at) {
    if (this.alarmTimer) clearTimeout(this.alarmTimer);
    this.alarmTimer = null;
    if (at == null || this.ns.closed) return;
    const delay = Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1));
    this.alarmTimer = setTimeout(() => {
      this.alarmTimer = null;
      this.run(async (inst) => {
        const cur = await this.storage.getAlarm();
        if (cur == null || cur > Date.now()) return;
        await this.storage.deleteAlarm();
        const m = inst.alarm;
        if (typeof m === "function") await settle(m.call(inst, { retryCount: 0, isRetry: false }));
      }).catch((e) => process.stderr.write(`almanac: alarm of Durable Object ${this.ns.className} failed: ${e && e.message}\n`));
    }, delay);
    if (this.alarmTimer.unref) this.alarmTimer.unref();
  }

  stub(name) {
    const self = this;
    const base = {
      id: this.id,
      name,
      fetch: (input, init) => {
        const req = toRequest(input, init);
        return self.run(async (inst) => toResponse(inst.fetch(req)));
      },
      toString: () => `[object DurableObjectStub ${self.ns.className}]`,
    };
    return new Proxy(base, {
      get(target, prop) {
        if (typeof prop === "symbol" || NOT_RPC.has(prop)) return undefined;
        if (prop in target) return target[prop];
        return (...args) =>
          self.run(async (inst) => {
            const m = inst[prop];
            if (typeof m !== "function") {
              throw new TypeError(`The RPC receiver does not implement the method "${prop}".`);
            }
            const jsArgs = args.map((a) => fromPy(a));
            return settle(m.apply(inst, jsArgs));
          });
      },
      has(target, prop) {
        return prop in target;
      },
    });
  }

  close() {
    if (this.alarmTimer) clearTimeout(this.alarmTimer);
    if (this.db) this.db.close();
    this.db = null;
    this.storage = null;
  }
}

export class DurableObjectNamespace {
  #ns;
  constructor({ binding, className, dir, sqlEnabled, factory, env }) {
    // one secret per namespace so ids are namespace-specific (as on the platform)
    const key = crypto.createHash("sha256").update("almanac-do:" + className).digest();
    this.#ns = { binding, className, dir, sqlEnabled, factory, env, key, objects: new Map(), closed: false };
  }

  #hexFromName(name) {
    return crypto.createHmac("sha256", this.#ns.key).update(String(name)).digest("hex");
  }

  idFromName(name) {
    name = fromPy(name);
    if (typeof name !== "string") throw new TypeError("idFromName() expects a string");
    return new DurableObjectId(this.#hexFromName(name), name);
  }

  newUniqueId(_options) {
    return new DurableObjectId(crypto.randomBytes(32).toString("hex"));
  }

  idFromString(hex) {
    hex = fromPy(hex);
    if (typeof hex !== "string" || !HEX64.test(hex)) {
      throw new TypeError("Invalid Durable Object ID: must be 64 hex digits");
    }
    return new DurableObjectId(hex);
  }

  #state(id) {
    if (!(id instanceof DurableObjectId)) throw new TypeError("get() expects a DurableObjectId (from idFromName, newUniqueId or idFromString)");
    const hex = id.toString();
    let st = this.#ns.objects.get(hex);
    if (!st) {
      st = new ObjectState(this.#ns, id);
      this.#ns.objects.set(hex, st);
    }
    return st;
  }

  get(id, _options) {
    return this.#state(id).stub(id.name);
  }

  getByName(name, options) {
    return this.get(this.idFromName(name), options);
  }

  jurisdiction(_j) {
    return this;
  }

  close() {
    this.#ns.closed = true;
    for (const st of this.#ns.objects.values()) st.close();
    this.#ns.objects.clear();
  }
}

// Classes declared SQLite-backed by the config's migrations.
export function sqliteClasses(config) {
  const out = new Set();
  for (const m of Array.isArray(config.migrations) ? config.migrations : []) {
    for (const c of m.new_sqlite_classes || []) out.add(c);
    for (const r of m.renamed_classes || []) if (out.has(r.from)) out.add(r.to);
  }
  return out;
}

export function doDir(stateDir, className) {
  return path.join(stateDir, "do", safeName(className));
}
