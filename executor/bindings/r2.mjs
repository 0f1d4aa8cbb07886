// R2 bucket binding (R2Bucket of @cloudflare/workers-types), file-backed: each object's
// bytes in STATE/r2/<bucket>/blobs/<version>, its metadata in STATE/r2/<bucket>/meta.sqlite.
// A put writes the new blob (temp file + rename) before the metadata row points at it,
// so a crash never leaves a row without its bytes.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { openDb, safeName, toBytes, fromPy, opts, arrayBufferOf } from "./common.mjs";

export const R2_MAX_KEY_BYTES = 1024;
export const R2_MAX_LIST = 1000;
export const R2_MAX_DELETE = 1000;

const HTTP_FIELDS = [
  ["contentType", "content-type"],
  ["contentLanguage", "content-language"],
  ["contentDisposition", "content-disposition"],
  ["contentEncoding", "content-encoding"],
  ["cacheControl", "cache-control"],
  ["cacheExpiry", "expires"],
];

function checkKey(key) {
  key = fromPy(key);
  if (typeof key !== "string") throw new TypeError("R2: the key must be a string");
  if (Buffer.byteLength(key) > R2_MAX_KEY_BYTES) {
    throw new Error(`R2: key too long (${Buffer.byteLength(key)} bytes; the limit is ${R2_MAX_KEY_BYTES})`);
  }
  return key;
}

// httpMetadata given as R2HTTPMetadata or as Headers.
function readHttpMetadata(h) {
  h = fromPy(h);
  if (h == null) return {};
  const out = {};
  if (typeof Headers !== "undefined" && h instanceof Headers) {
    for (const [k, hk] of HTTP_FIELDS) {
      const v = h.get(hk);
      if (v != null) out[k] = k === "cacheExpiry" ? new Date(v).getTime() : v;
    }
    return out;
  }
  for (const [k] of HTTP_FIELDS) {
    if (h[k] == null) continue;
    out[k] = k === "cacheExpiry" ? new Date(h[k]).getTime() : String(h[k]);
  }
  return out;
}

function httpMetadataOut(m) {
  const o = { ...m };
  if (o.cacheExpiry != null) o.cacheExpiry = new Date(o.cacheExpiry);
  return o;
}

function hexOf(v, name) {
  v = fromPy(v);
  if (typeof v === "string") return v.toLowerCase();
  if (v instanceof ArrayBuffer) return Buffer.from(v).toString("hex");
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");
  throw new TypeError(`R2 put(): ${name} must be a hex string or an ArrayBuffer`);
}

export class R2Object {
  constructor(row, include) {
    this.key = row.key;
    this.version = row.version;
    this.size = row.size;
    this.etag = row.etag;
    this.httpEtag = `"${row.etag}"`;
    const sums = JSON.parse(row.checksums);
    this.checksums = {
      md5: arrayBufferOf(Buffer.from(sums.md5, "hex")),
      toJSON: () => ({ md5: sums.md5 }),
    };
    this.uploaded = new Date(row.uploaded);
    this.storageClass = "Standard";
    if (include.http) this.httpMetadata = httpMetadataOut(JSON.parse(row.http_metadata));
    if (include.custom) this.customMetadata = JSON.parse(row.custom_metadata);
  }

  writeHttpMetadata(headers) {
    const m = this.httpMetadata || {};
    for (const [k, hk] of HTTP_FIELDS) {
      if (m[k] == null) continue;
      headers.set(hk, k === "cacheExpiry" ? new Date(m[k]).toUTCString() : m[k]);
    }
  }
}

export class R2ObjectBody extends R2Object {
  #bytes;
  #used = false;
  constructor(row, bytes, range) {
    super(row, { http: true, custom: true });
    this.#bytes = bytes;
    this.range = range;
  }
  #take() {
    if (this.#used) throw new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
    this.#used = true;
    return this.#bytes;
  }
  get body() {
    const b = this.#bytes;
    if (this._stream) return this._stream;
    this._stream = new ReadableStream({
      start: (c) => {
        this.#used = true;
        if (b.length) c.enqueue(new Uint8Array(b));
        c.close();
      },
    });
    return this._stream;
  }
  get bodyUsed() {
    return this.#used;
  }
  async arrayBuffer() {
    return arrayBufferOf(this.#take());
  }
  async bytes() {
    return new Uint8Array(this.#take());
  }
  async text() {
    return this.#take().toString("utf8");
  }
  async json() {
    return JSON.parse(this.#take().toString("utf8"));
  }
  async blob() {
    const t = this.httpMetadata && this.httpMetadata.contentType;
    return new Blob([this.#take()], t ? { type: t } : {});
  }
}

// onlyIf as R2Conditional or Headers: true when the condition holds.
function conditionHolds(cond, row) {
  cond = fromPy(cond);
  if (cond == null) return true;
  const strip = (s) => String(s).replace(/^W\//, "").replace(/^"|"$/g, "");
  let c = cond;
  if (typeof Headers !== "undefined" && cond instanceof Headers) {
    c = {};
    if (cond.get("if-match")) c.etagMatches = cond.get("if-match");
    if (cond.get("if-none-match")) c.etagDoesNotMatch = cond.get("if-none-match");
    if (cond.get("if-modified-since")) c.uploadedAfter = new Date(cond.get("if-modified-since"));
    if (cond.get("if-unmodified-since")) c.uploadedBefore = new Date(cond.get("if-unmodified-since"));
  }
  const list = (v) => String(v).split(",").map((s) => strip(s.trim()));
  if (c.etagMatches != null) {
    const l = list(c.etagMatches);
    if (!row || !(l.includes("*") || l.includes(row.etag))) return false;
  }
  if (c.etagDoesNotMatch != null) {
    const l = list(c.etagDoesNotMatch);
    if (row && (l.includes("*") || l.includes(row.etag))) return false;
  }
  if (row && c.uploadedBefore != null && !(row.uploaded < new Date(c.uploadedBefore).getTime())) return false;
  if (row && c.uploadedAfter != null && !(row.uploaded > new Date(c.uploadedAfter).getTime())) return false;
  return true;
}

function readRange(r, size) {
  r = fromPy(r);
  if (r == null) return null;
  if (typeof Headers !== "undefined" && r instanceof Headers) {
    const h = r.get("range");
    if (!h) return null;
    const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
    if (!m) throw new RangeError("R2 get(): unsupported Range header");
    if (m[1] === "") return { suffix: Number(m[2]) };
    return m[2] === "" ? { offset: Number(m[1]) } : { offset: Number(m[1]), length: Number(m[2]) - Number(m[1]) + 1 };
  }
  const out = {};
  if (r.suffix != null) out.suffix = Number(r.suffix);
  if (r.offset != null) out.offset = Number(r.offset);
  if (r.length != null) out.length = Number(r.length);
  for (const v of Object.values(out)) if (!Number.isInteger(v) || v < 0) throw new RangeError("R2 get(): invalid range");
  if (out.offset != null && out.offset > size) throw new RangeError("R2 get(): the range starts after the end of the object");
  return out;
}

export class R2Bucket {
  #dir;
  #db;
  #q;
  constructor(dir) {
    this.#dir = dir;
    fs.mkdirSync(path.join(dir, "blobs"), { recursive: true });
    this.#db = openDb(path.join(dir, "meta.sqlite"));
    this.#db.exec(`CREATE TABLE IF NOT EXISTS objects (
      key TEXT PRIMARY KEY, version TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
      uploaded REAL NOT NULL, http_metadata TEXT NOT NULL, custom_metadata TEXT NOT NULL,
      checksums TEXT NOT NULL)`);
    this.#q = {
      get: this.#db.prepare("SELECT * FROM objects WHERE key = ?"),
      put: this.#db.prepare(
        "INSERT OR REPLACE INTO objects (key, version, size, etag, uploaded, http_metadata, custom_metadata, checksums) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      del: this.#db.prepare("DELETE FROM objects WHERE key = ?"),
      list: this.#db.prepare(
        "SELECT * FROM objects WHERE key > ? AND substr(key, 1, length(?)) = ? ORDER BY key",
      ),
    };
  }

  #blob(version) {
    return path.join(this.#dir, "blobs", version);
  }

  async head(key) {
    const row = this.#q.get.get(checkKey(key));
    return row ? new R2Object(row, { http: true, custom: true }) : null;
  }

  async get(key, options) {
    key = checkKey(key);
    const o = opts(options);
    const row = this.#q.get.get(key);
    if (!row) return null;
    if (!conditionHolds(o.onlyIf, row)) return new R2Object(row, { http: true, custom: true });
    let bytes = fs.readFileSync(this.#blob(row.version));
    const range = readRange(o.range, row.size);
    let outRange = { offset: 0, length: row.size };
    if (range) {
      let start, len;
      if (range.suffix != null) {
        len = Math.min(range.suffix, row.size);
        start = row.size - len;
      } else {
        start = range.offset || 0;
        len = range.length != null ? Math.min(range.length, row.size - start) : row.size - start;
      }
      bytes = bytes.subarray(start, start + len);
      outRange = range.suffix != null ? { suffix: range.suffix } : { offset: start, length: len };
    }
    return new R2ObjectBody(row, bytes, outRange);
  }

  async put(key, value, options) {
    key = checkKey(key);
    const o = opts(options);
    value = fromPy(value);
    const bytes = value == null ? Buffer.alloc(0) : await toBytes(value, "R2 put()");
    const md5 = crypto.createHash("md5").update(bytes).digest("hex");
    if (o.md5 != null && hexOf(o.md5, "md5") !== md5) {
      throw new Error("put: The Content-MD5 you specified did not match what we received. (10037)");
    }
    for (const alg of ["sha1", "sha256", "sha384", "sha512"]) {
      if (o[alg] != null && hexOf(o[alg], alg) !== crypto.createHash(alg).update(bytes).digest("hex")) {
        throw new Error(`put: The ${alg.toUpperCase()} checksum you specified did not match what we received.`);
      }
    }
    const old = this.#q.get.get(key);
    if (o.onlyIf != null && !conditionHolds(o.onlyIf, old)) return null;
    const custom = fromPy(o.customMetadata) || {};
    const customOut = {};
    for (const [k, v] of custom instanceof Map ? custom : Object.entries(custom)) customOut[k] = String(v);
    const version = crypto.randomBytes(16).toString("hex");
    const tmp = this.#blob(version) + ".tmp";
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, this.#blob(version));
    const row = {
      key,
      version,
      size: bytes.length,
      etag: md5,
      uploaded: Date.now(),
      http_metadata: JSON.stringify(readHttpMetadata(o.httpMetadata)),
      custom_metadata: JSON.stringify(customOut),
      checksums: JSON.stringify({ md5 }),
    };
    this.#q.put.run(row.key, row.version, row.size, row.etag, row.uploaded, row.http_metadata, row.custom_metadata, row.checksums);
    if (old) fs.rmSync(this.#blob(old.version), { force: true });
    return new R2Object(row, { http: true, custom: true });
  }

  async delete(keys) {
    keys = fromPy(keys);
    const list = Array.isArray(keys) ? keys : [keys];
    if (list.length > R2_MAX_DELETE) throw new Error(`delete: You can delete at most ${R2_MAX_DELETE} keys at once.`);
    const ks = list.map(checkKey);
    const gone = [];
    this.#db.transaction(() => {
      for (const k of ks) {
        const row = this.#q.get.get(k);
        if (row) {
          this.#q.del.run(k);
          gone.push(row.version);
        }
      }
    })();
    for (const v of gone) fs.rmSync(this.#blob(v), { force: true });
  }

  // list({prefix, limit, cursor, delimiter, startAfter, include}); objects and
  // delimitedPrefixes together count toward limit; the cursor is opaque (base64url JSON).
  async list(options) {
    const o = opts(options);
    const prefix = o.prefix == null ? "" : String(o.prefix);
    let limit = R2_MAX_LIST;
    if (o.limit != null) {
      limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > R2_MAX_LIST) {
        throw new RangeError(`list: MaxKeys params must be positive integer <= ${R2_MAX_LIST}. (10022)`);
      }
    }
    const include = fromPy(o.include) || [];
    const inc = { http: include.includes("httpMetadata"), custom: include.includes("customMetadata") };
    const delimiter = o.delimiter == null || o.delimiter === "" ? null : String(o.delimiter);
    let after = o.startAfter == null ? "" : String(o.startAfter);
    let skipPrefix = null;
    if (o.cursor != null && o.cursor !== "") {
      let c;
      try {
        c = JSON.parse(Buffer.from(String(o.cursor), "base64url").toString("utf8"));
      } catch {
        throw new Error("list: Invalid cursor (10023)");
      }
      if (typeof c.k !== "string") throw new Error("list: Invalid cursor (10023)");
      if (c.k > after) after = c.k;
      if (c.p) skipPrefix = c.k;
    }
    const objects = [];
    const delimitedPrefixes = [];
    const seen = new Set();
    let last = null;
    let truncated = false;
    for (const row of this.#q.list.iterate(after, prefix, prefix)) {
      if (skipPrefix && row.key.startsWith(skipPrefix)) continue;
      let item = null;
      if (delimiter) {
        const i = row.key.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          const p = row.key.slice(0, i + delimiter.length);
          if (seen.has(p)) continue;
          item = { p };
        }
      }
      if (objects.length + delimitedPrefixes.length >= limit) {
        truncated = true;
        break;
      }
      if (item) {
        seen.add(item.p);
        delimitedPrefixes.push(item.p);
        last = { k: item.p, p: true };
      } else {
        objects.push(new R2Object(row, inc));
        last = { k: row.key };
      }
    }
    const res = { objects, truncated, delimitedPrefixes };
    if (truncated) res.cursor = Buffer.from(JSON.stringify(last)).toString("base64url");
    return res;
  }

  close() {
    this.#db.close();
  }
}

export function r2Dir(stateDir, b) {
  return path.join(stateDir, "r2", safeName(b.bucket_name || b.binding));
}
