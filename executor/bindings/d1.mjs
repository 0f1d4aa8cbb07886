// D1 database binding (D1Database of @cloudflare/workers-types) on real SQLite
// (better-sqlite3), one file per database: STATE/d1/<database_id>.sqlite.
import path from "node:path";
import { openDb, safeName, fromPy, opts } from "./common.mjs";
import { splitSql, numberedParams, prepareCompat } from "./sqlsplit.mjs";

// D1's documented limits.
export const D1_MAX_PARAMS = 100;
export const D1_MAX_BATCH = 1000;

export class D1Error extends Error {}

function d1Error(e) {
  if (e instanceof D1Error) return e;
  const code = e && e.code ? `: ${e.code}` : "";
  const err = new D1Error(`D1_ERROR: ${e && e.message ? e.message : String(e)}${code}`);
  err.cause = e;
  return err;
}

// JS (or Python-through-Pyodide) value -> SQLite value, as D1 accepts them.
function bindValue(v) {
  v = fromPy(v);
  // Python None arrives as undefined through Pyodide; both mean SQL NULL here.
  if (v === undefined || v === null) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" || typeof v === "string" || typeof v === "bigint") return v;
  if (v instanceof ArrayBuffer) return Buffer.from(new Uint8Array(v));
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x < 256)) return Buffer.from(v);
  let shown;
  try {
    shown = JSON.stringify(v);
  } catch {
    shown = String(v);
  }
  throw new D1Error(`D1_TYPE_ERROR: Type '${typeof v}' not supported for value '${shown}'`);
}

// SQLite value -> what D1 returns: blobs as arrays of byte numbers.
function outValue(v) {
  if (Buffer.isBuffer(v)) return Array.from(v);
  if (typeof v === "bigint") return Number(v);
  return v;
}

function outRow(row) {
  for (const k of Object.keys(row)) row[k] = outValue(row[k]);
  return row;
}

export class D1PreparedStatement {
  constructor(db, sql, params = []) {
    this.db = db;
    this.sql = sql;
    this.params = params;
  }

  bind(...values) {
    if (values.length > D1_MAX_PARAMS) {
      throw new D1Error(`D1_ERROR: too many SQL variables (at most ${D1_MAX_PARAMS} per statement): SQLITE_RANGE`);
    }
    return new D1PreparedStatement(this.db, this.sql, values.map(bindValue));
  }

  async first(colName) {
    colName = fromPy(colName);
    const { rows } = this.db._execute(this, "objects");
    if (rows.length === 0) return null;
    const row = rows[0];
    if (colName === undefined || colName === null) return row;
    if (!Object.prototype.hasOwnProperty.call(row, colName)) throw new D1Error("D1_COLUMN_NOTFOUND: Column not found");
    return row[colName];
  }

  async all() {
    return this.db._result(this);
  }

  async run() {
    return this.db._result(this);
  }

  async raw(options) {
    const o = opts(options);
    const { rows, columns } = this.db._execute(this, "arrays");
    if (o.columnNames) return [columns, ...rows];
    return rows;
  }
}

export class D1Database {
  #db;
  #file;
  #cache = new Map();
  constructor(file) {
    this.#file = file;
    this.#db = openDb(file);
    this.#db.pragma("foreign_keys = ON");
  }

  prepare(sql) {
    sql = fromPy(sql);
    if (typeof sql !== "string") throw new TypeError("D1Database.prepare(): the query must be a string");
    return new D1PreparedStatement(this, sql, []);
  }

  #stmt(sql) {
    let s = this.#cache.get(sql);
    if (!s) {
      s = prepareCompat(this.#db, sql).stmt;
      if (this.#cache.size > 256) this.#cache.clear();
      this.#cache.set(sql, s);
    }
    return s;
  }

  // Runs one statement synchronously; "objects" rows or "arrays" rows plus the column
  // names, and the change counters for meta.
  _execute(st, shape) {
    if (st.db !== this) throw new TypeError("D1: the statement belongs to another database");
    try {
      let sql = st.sql;
      let params = st.params;
      const np = numberedParams(sql);
      if (np) {
        if (params.length > np.count) throw new D1Error(`D1_ERROR: Wrong number of parameter bindings for SQL query.`);
        sql = np.sql;
        params = np.order.map((i) => (i <= params.length ? params[i - 1] : null));
      }
      const s = this.#stmt(sql);
      if (s.reader) {
        const columns = s.columns().map((c) => c.name);
        const rows =
          shape === "arrays"
            ? s.raw(true).all(...params).map((r) => r.map(outValue))
            : s.raw(false).all(...params).map(outRow);
        const changes = this.#db.prepare("SELECT changes() AS c, last_insert_rowid() AS r").get();
        const writes = /^\s*(insert|update|delete|replace|with)/i.test(sql) ? changes.c : 0;
        return { rows, columns, changes: writes, lastRowId: Number(changes.r) };
      }
      const info = s.run(...params);
      return { rows: [], columns: [], changes: info.changes, lastRowId: Number(info.lastInsertRowid) };
    } catch (e) {
      throw d1Error(e);
    }
  }

  _meta(r, t0) {
    const duration = Math.round((performance.now() - t0) * 1000) / 1000;
    const pages = this.#db.pragma("page_count", { simple: true });
    const psize = this.#db.pragma("page_size", { simple: true });
    return {
      served_by: "almanac.db",
      served_by_region: "local",
      served_by_primary: true,
      timings: { sql_duration_ms: duration },
      duration,
      changes: r.changes,
      last_row_id: r.lastRowId,
      changed_db: r.changes > 0,
      size_after: pages * psize,
      rows_read: r.rows.length,
      rows_written: r.changes,
    };
  }

  _result(st) {
    const t0 = performance.now();
    const r = this._execute(st, "objects");
    return { success: true, meta: this._meta(r, t0), results: r.rows };
  }

  // All statements in one transaction: any error rolls every one back and rejects.
  async batch(statements) {
    statements = fromPy(statements);
    if (!Array.isArray(statements)) throw new TypeError("D1Database.batch(): expects an array of prepared statements");
    if (statements.length > D1_MAX_BATCH) throw new D1Error(`D1_ERROR: a batch holds at most ${D1_MAX_BATCH} statements`);
    for (const s of statements) {
      if (!(s instanceof D1PreparedStatement)) throw new TypeError("D1Database.batch(): every item must be a D1PreparedStatement");
    }
    const run = this.#db.transaction(() => statements.map((s) => this._result(s)));
    try {
      // IMMEDIATE: take the write lock first (waiting for another process's writer) so a
      // read-then-write batch never fails on a stale snapshot.
      return run.immediate();
    } catch (e) {
      throw d1Error(e);
    }
  }

  // exec(): statements separated by newlines, as the platform's exec splits them;
  // no bindings, no results, { count, duration }.
  async exec(query) {
    query = fromPy(query);
    const t0 = performance.now();
    const lines = String(query).trim().split("\n");
    let count = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.trim() === "") continue;
      try {
        for (const one of splitSql(line)) {
          const { stmt } = prepareCompat(this.#db, one);
          if (stmt.reader) stmt.all();
          else stmt.run();
        }
      } catch (e) {
        throw new D1Error(`D1_EXEC_ERROR: Error in line ${i + 1}: ${line}: ${e.message}${e.code ? `: ${e.code}` : ""}`);
      }
      count++;
    }
    return { count, duration: Math.round((performance.now() - t0) * 1000) / 1000 };
  }

  async dump() {
    const buf = this.#db.serialize();
    return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  }

  // D1 read replication sessions: locally one primary, so a session is the database.
  withSession(_constraintOrBookmark) {
    const db = this;
    return {
      prepare: (sql) => db.prepare(sql),
      batch: (s) => db.batch(s),
      getBookmark: () => null,
    };
  }

  // Runs a whole SQL text (d1 execute): statements split, all in one transaction;
  // returns one D1Result per statement.
  executeScript(text) {
    // A dump's own BEGIN TRANSACTION / COMMIT are dropped: the whole file already runs
    // in one transaction (a nested BEGIN would fail).
    const stmts = splitSql(text).filter((s) => !/^(BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?|COMMIT(\s+TRANSACTION)?|END(\s+TRANSACTION)?)$/i.test(s));
    const run = this.#db.transaction(() =>
      stmts.map((sql) => this._result(new D1PreparedStatement(this, sql, []))),
    );
    try {
      return run.immediate();
    } catch (e) {
      throw d1Error(e);
    }
  }

  get file() {
    return this.#file;
  }

  close() {
    this.#cache.clear();
    this.#db.close();
  }
}

// The file of a D1 binding: the same for the worker and for `almanac d1 execute`.
export function d1File(stateDir, d) {
  return path.join(stateDir, "d1", safeName(d.database_id || d.database_name || d.binding) + ".sqlite");
}
