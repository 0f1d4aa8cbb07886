// Helpers shared by the local bindings: state files, value conversion from Pyodide,
// and the platform's error shape.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

// better-sqlite3 is the executor's one npm dependency (executor/package.json); it is
// loaded lazily so a worker without SQLite-backed bindings never needs it.
let SqliteDb = null;
export function sqlite() {
  if (!SqliteDb) {
    try {
      SqliteDb = require("better-sqlite3");
    } catch (e) {
      throw new Error(
        `almanac: the local bindings need better-sqlite3 (run \`make deps\` or \`npm ci\` in executor/): ${e.message}`,
      );
    }
  }
  return SqliteDb;
}

// How long a connection waits for another process's write lock (`almanac d1 execute`
// while `almanac dev` serves) before SQLITE_BUSY.
export const BUSY_TIMEOUT_MS = 10000;

// Opens (creating) one SQLite file in WAL mode: readers never block the writer and a
// second process (d1 execute) can write while dev serves; every write is a transaction.
export function openDb(file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const Db = sqlite();
  const db = new Db(file, { timeout: BUSY_TIMEOUT_MS });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  return db;
}

// A file name for a namespace id / database id / bucket name: kept readable, never a path.
export function safeName(s) {
  const t = String(s).replace(/[^A-Za-z0-9._-]/g, "_");
  if (t === "" || t === "." || t === "..") return "_" + t;
  return t;
}

// True for a Pyodide PyProxy (a Python object handed to JS).
export function isPyProxy(v) {
  return (
    v != null &&
    (typeof v === "object" || typeof v === "function") &&
    typeof v.toJs === "function" &&
    typeof v.destroy === "function"
  );
}

// Converts what Python passed (a PyProxy of a dict/list/bytes, or a plain JS value) to a
// plain JS value, as the platform's structured clone / JSON conversion sees it.
export function fromPy(v) {
  if (!isPyProxy(v)) return v;
  // the workers SDK's wrappers (Request, Response, Headers, ...) carry their JS object
  let js;
  try {
    js = v.js_object;
  } catch {
    js = undefined;
  }
  if (js !== undefined && js !== null && !isPyProxy(js)) return js;
  return v.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
}

// Bytes of a body value the platform accepts: string, ArrayBuffer, a typed array/DataView,
// Blob, ReadableStream, Response/Request body, or a Python bytes/str (PyProxy).
export async function toBytes(value, what) {
  value = fromPy(value);
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value instanceof ArrayBuffer) return Buffer.from(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof Blob !== "undefined" && value instanceof Blob) return Buffer.from(await value.arrayBuffer());
  if (value && typeof value.getReader === "function") {
    return Buffer.from(await new Response(value).arrayBuffer());
  }
  throw new TypeError(`${what}: the value must be a string, ArrayBuffer, ArrayBufferView, Blob or ReadableStream`);
}

export function arrayBufferOf(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

// Options arguments may come from Python as a dict (PyProxy) or a JS object; undefined,
// null and Python None mean "no options".
export function opts(o) {
  o = fromPy(o);
  if (o == null) return {};
  if (o instanceof Map) return Object.fromEntries(o);
  return o;
}

// The (input, init) of a fetch() called from Python: converted to JS, a Python
// Request wrapper unwrapped to its JS Request. Each binding resolves relative URLs.
export function fetchArgs(input, init) {
  input = fromPy(input);
  init = init === undefined ? undefined : opts(init);
  if (isPyProxy(input)) {
    try {
      const js = input.js_object;
      if (js instanceof Request) input = js;
    } catch {}
  }
  return [input, init];
}
