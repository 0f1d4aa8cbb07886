#!/usr/bin/env node
// almanac executor host: runs ONE Python worker on ONE exact Pyodide, from local files only.
//
//   node executor/host.mjs CONFIG.json
//
// The config format, the output protocol, and the snapshot file format are documented in
// executor/README.md.  Summary: exactly one JSON object is written to stdout, as the last
// (and only) line; everything else (Python print(), Pyodide's loading messages, console.*)
// goes to stderr.  Exit code 0 = ok, 1 = Python error in the worker, 2 = host/config error.

import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import net from "node:net";
import dns from "node:dns";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const T_PROCESS = performance.now(); // ms since the node process started (timeOrigin)

// ---------------------------------------------------------------------------------------
// stdout discipline: keep the real stdout for the single result line, send the rest to stderr
// ---------------------------------------------------------------------------------------
const realStdoutWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
for (const m of ["log", "info", "debug", "trace", "dir", "table"]) {
  const errFn = console.error.bind(console);
  if (typeof console[m] === "function") console[m] = (...a) => errFn(...a);
}

let resultWritten = false;

// Watchdog state shared with the watchdog thread: [0] = result written, [1] = timed out.
const watchState = new Int32Array(new SharedArrayBuffer(8));
let timeoutMs = null;

// Exactly one writer of the result line: this thread or the watchdog, whoever flips [0].
const claimResult = () => Atomics.compareExchange(watchState, 0, 0, 1) === 0;

function emit(obj, code) {
  statusClear();
  if (resultWritten || !claimResult()) return;
  resultWritten = true;
  process.exitCode = code;
  const line = JSON.stringify(obj) + "\n";
  realStdoutWrite(line, () => process.exit(code));
}

// The terminal status line (config.status is set by almanac when stdout and stderr
// are a terminal): one line on stderr, rewritten in place, erased before any other
// output.
let statusShown = false;
let statusEnabled = false;
function status(msg) {
  if (!statusEnabled) return;
  process.stderr.write(`\r\x1b[K${msg}`);
  statusShown = true;
}
function statusClear() {
  if (statusShown) process.stderr.write("\r\x1b[K");
  statusShown = false;
}

function hostError(message, extra = {}) {
  return Object.assign(new Error(message), { almanacHostError: true, extra });
}

// A run whose promises can never settle (e.g. the worker awaits something that never
// resolves) would otherwise end with no output at all.
process.on("exit", () => {
  if (resultWritten || !claimResult()) return;
  resultWritten = true;
  const line =
    JSON.stringify({
      ok: false,
      error: {
        type: "HostError",
        message: "the run ended without a response (a promise the worker awaited never settled)",
      },
    }) + "\n";
  try {
    fs.writeSync(1, line);
  } catch {}
  process.exitCode = 2;
});
process.on("uncaughtException", (e) => fail(e));
process.on("unhandledRejection", (e) => {
  // Not fatal by itself (a worker may drop a failed task); the run's own errors reach fail().
  try {
    process.stderr.write(`almanac host: unhandled rejection: ${e?.stack ?? e}\n`);
  } catch {}
});

// ---------------------------------------------------------------------------------------
// Network guard: Pyodide (and the worker) must never touch the network.
// ---------------------------------------------------------------------------------------
export const NETWORK_REFUSED = "network access is disabled in the almanac executor";

function refuse(what) {
  const e = new TypeError(`${NETWORK_REFUSED}: ${what}`);
  e.code = "ALMANAC_NETWORK_REFUSED";
  return e;
}

function installNetworkGuard() {
  const describe = (input) => {
    try {
      if (typeof input === "string") return input;
      if (input && typeof input.url === "string") return input.url;
      return String(input);
    } catch {
      return "<unprintable>";
    }
  };
  // fetch: the only way Pyodide itself would go online (CDN fallback for a missing package
  // file in 0.26/0.27, pyodide.http.pyfetch, micropip).  Refuse every URL.
  globalThis.fetch = async function fetch(input) {
    throw refuse(`fetch(${describe(input)})`);
  };
  // Defence in depth: no outgoing sockets, no DNS.  stdio pipes are already connected and
  // never call connect(), so they keep working.
  net.Socket.prototype.connect = function () {
    throw refuse("net.Socket.connect");
  };
  // An IP literal needs no resolver: `almanac dev` listens on one through dns.lookup.
  const realLookup = dns.lookup;
  const noDns = (name) =>
    function (host, ...rest) {
      if (name === "lookup" && typeof host === "string" && net.isIP(host)) return realLookup.call(dns, host, ...rest);
      throw refuse(`dns.${name}`);
    };
  for (const name of ["lookup", "resolve", "resolve4", "resolve6", "resolveAny", "lookupService"]) {
    if (typeof dns[name] === "function") dns[name] = noDns(name);
    if (dns.promises && typeof dns.promises[name] === "function") dns.promises[name] = noDns(name);
  }
  for (const name of ["WebSocket", "EventSource", "XMLHttpRequest"]) {
    if (name in globalThis) {
      try {
        delete globalThis[name];
      } catch {}
    }
  }
}

// ---------------------------------------------------------------------------------------
// Watchdog (config.timeout_ms): bounds the worker's own time, i.e. import + on_fetch.
// It runs on its own thread so that it also fires while Python spins in a loop: first it
// raises KeyboardInterrupt inside Python through Pyodide's interrupt buffer (the run then
// ends normally with a "timeout" HostError, exit 2); if the process is still going 2 s
// later (stuck in JS, or Python ignores the interrupt) it writes the same JSON line itself
// and kills the process with SIGKILL.
// ---------------------------------------------------------------------------------------
const WATCHDOG_SRC = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const { state, interrupt, ms, graceMs, line, pid } = workerData;
setTimeout(() => {
  if (Atomics.load(state, 0)) return;
  Atomics.store(state, 1, 1);
  if (interrupt) Atomics.store(interrupt, 0, 2); // SIGINT -> KeyboardInterrupt in Python
  setTimeout(() => {
    if (Atomics.compareExchange(state, 0, 0, 1) !== 0) return;
    try { fs.writeSync(1, line); } catch {}
    process.kill(pid, "SIGKILL");
  }, graceMs);
}, ms);
`;

function timeoutError(ms) {
  return hostError(`the worker did not finish within timeout_ms=${ms} (import + on_fetch)`, { code: "timeout" });
}

let interruptBuffer = null;

function startWatchdog(ms, py) {
  let interrupt = null;
  if (typeof py.setInterruptBuffer === "function") {
    interrupt = new Uint8Array(new SharedArrayBuffer(1));
    py.setInterruptBuffer(interrupt);
    interruptBuffer = interrupt;
  }
  const e = timeoutError(ms);
  const line = JSON.stringify({ ok: false, error: { type: "HostError", message: e.message, ...e.extra } }) + "\n";
  const w = new Worker(WATCHDOG_SRC, {
    eval: true,
    workerData: { state: watchState, interrupt, ms, graceMs: 2000, line, pid: process.pid },
  });
  w.unref();
}

// ---------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------
function readConfig(argv) {
  if (argv.length !== 1) throw hostError("usage: node executor/host.mjs CONFIG.json");
  let cfg;
  try {
    cfg = JSON.parse(fs.readFileSync(argv[0], "utf8"));
  } catch (e) {
    throw hostError(`cannot read config ${argv[0]}: ${e.message}`);
  }
  if (!cfg || typeof cfg !== "object" || Array.isArray(cfg)) throw hostError("config must be a JSON object");
  const str = (v, name) => {
    if (typeof v !== "string" || v === "") throw hostError(`config.${name} must be a non-empty string`);
    return v;
  };
  let dir = path.resolve(str(cfg.dir, "dir"));
  if (!dir.endsWith("/")) dir += "/";
  if (!fs.existsSync(dir + "pyodide.mjs")) throw hostError(`config.dir ${dir} has no pyodide.mjs`);
  const lockFile = path.resolve(cfg.lock_file == null ? dir + "pyodide-lock.json" : str(cfg.lock_file, "lock_file"));
  if (!fs.existsSync(lockFile)) throw hostError(`lock file ${lockFile} does not exist`);
  const packages = cfg.packages == null ? [] : cfg.packages;
  if (!Array.isArray(packages) || packages.some((p) => typeof p !== "string" || p === ""))
    throw hostError("config.packages must be an array of package names");
  const worker = path.resolve(str(cfg.worker, "worker"));
  if (!fs.existsSync(worker) || !fs.statSync(worker).isFile()) throw hostError(`worker ${worker} does not exist`);
  if (!worker.endsWith(".py")) throw hostError(`worker ${worker} must be a .py file`);

  const rq = cfg.request == null ? {} : cfg.request;
  if (typeof rq !== "object" || Array.isArray(rq)) throw hostError("config.request must be an object");
  const method = (rq.method == null ? "GET" : str(rq.method, "request.method")).toUpperCase();
  const url = rq.url == null ? "http://localhost/" : str(rq.url, "request.url");
  try {
    new URL(url);
  } catch {
    throw hostError(`config.request.url is not an absolute URL: ${url}`);
  }
  const headers = rq.headers == null ? [] : rq.headers;
  if (
    !Array.isArray(headers) ||
    headers.some((h) => !Array.isArray(h) || h.length !== 2 || typeof h[0] !== "string" || typeof h[1] !== "string")
  )
    throw hostError("config.request.headers must be an array of [name, value] string pairs");
  let body = rq.body == null ? null : rq.body;
  if (body !== null && typeof body !== "string") throw hostError("config.request.body must be null or a string");
  if (body !== null && rq.body_encoding === "base64") body = Buffer.from(body, "base64");
  else if (rq.body_encoding != null && rq.body_encoding !== "utf-8")
    throw hostError(`config.request.body_encoding must be "utf-8" or "base64"`);
  if (body !== null && (method === "GET" || method === "HEAD"))
    throw hostError(`a ${method} request cannot have a body`);

  const env = cfg.env == null ? {} : cfg.env;
  if (typeof env !== "object" || Array.isArray(env)) throw hostError("config.env must be an object");

  const snap = cfg.snapshot == null ? { mode: "none" } : cfg.snapshot;
  const mode = snap.mode == null ? "none" : snap.mode;
  if (!["none", "make", "load"].includes(mode))
    throw hostError(`config.snapshot.mode must be "none", "make" or "load", not ${JSON.stringify(mode)}`);
  let snapPath = null;
  if (mode !== "none") snapPath = path.resolve(str(snap.path, "snapshot.path"));
  if (mode === "load" && !fs.existsSync(snapPath))
    throw hostError(`snapshot ${snapPath} does not exist`, { code: "snapshot_missing" });

  const flags = cfg.flags == null ? [] : cfg.flags;
  if (!Array.isArray(flags) || flags.some((f) => typeof f !== "string" || !/^[a-z0-9_]+$/.test(f)))
    throw hostError("config.flags must be an array of flag names");
  const workerConfig = cfg.config == null ? {} : cfg.config;
  if (typeof workerConfig !== "object" || Array.isArray(workerConfig)) throw hostError("config.config must be an object");
  const projectDir = cfg.project_dir == null ? path.dirname(worker) : path.resolve(str(cfg.project_dir, "project_dir"));
  const event = cfg.event == null ? "fetch" : cfg.event;
  if (!["fetch", "scheduled"].includes(event)) throw hostError(`config.event must be "fetch" or "scheduled"`);
  const cron = cfg.cron == null ? "" : cfg.cron;
  if (typeof cron !== "string") throw hostError("config.cron must be a string");

  return {
    dir,
    lockFile,
    packages,
    worker,
    request: { method, url, headers, body },
    env,
    flags,
    config: workerConfig,
    projectDir,
    stateDir: cfg.state_dir == null ? path.join(projectDir, ".almanac", "state") : path.resolve(str(cfg.state_dir, "state_dir")),
    fresh: cfg.fresh === true,
    allowNet: cfg.allow_net === true,
    event,
    cron,
    raw: cfg,
    statusLabel: typeof cfg.status === "string" ? cfg.status : null,
    snapshot: { mode, path: snapPath },
    timings: cfg.timings === true,
    timeoutMs: parseTimeout(cfg.timeout_ms),
  };
}

function parseTimeout(v) {
  if (v == null) return null;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw hostError("config.timeout_ms must be a positive number");
  return v;
}

// ---------------------------------------------------------------------------------------
// Lock: validate names, compute the closure, check files (exists + sha256)
// ---------------------------------------------------------------------------------------
const normalize = (n) => n.toLowerCase().replace(/[-_.]+/g, "-");

function readLock(lockFile) {
  let lock;
  try {
    lock = JSON.parse(fs.readFileSync(lockFile, "utf8"));
  } catch (e) {
    throw hostError(`cannot read lock file ${lockFile}: ${e.message}`);
  }
  if (!lock || typeof lock.packages !== "object") throw hostError(`lock file ${lockFile} has no "packages" object`);
  const byNorm = new Map();
  for (const [key, p] of Object.entries(lock.packages)) {
    byNorm.set(normalize(key), key);
    if (p && typeof p.name === "string") byNorm.set(normalize(p.name), key);
  }
  return { lock, byNorm };
}

function lockClosure({ lock, byNorm }, names) {
  const keys = [];
  const seen = new Set();
  const visit = (name, from) => {
    const key = byNorm.get(normalize(name));
    if (key === undefined)
      throw hostError(
        from
          ? `package ${JSON.stringify(from)} depends on ${JSON.stringify(name)}, which is not in the lock file`
          : `package ${JSON.stringify(name)} is not in the lock file`,
      );
    if (seen.has(key)) return;
    seen.add(key);
    keys.push(key);
    for (const d of lock.packages[key].depends || []) visit(d, key);
  };
  for (const n of names) visit(n, null);
  return keys;
}

function verifyPackageFiles(dir, lock, keys) {
  for (const key of keys) {
    const p = lock.packages[key];
    const fileName = p.file_name;
    if (typeof fileName !== "string" || fileName === "") throw hostError(`lock entry ${key} has no file_name`);
    const file = path.isAbsolute(fileName) ? fileName : path.join(dir, fileName);
    let bytes;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      throw hostError(`package ${key}: file ${file} is missing (${e.code || e.message})`);
    }
    if (typeof p.sha256 === "string" && p.sha256 !== "") {
      const got = crypto.createHash("sha256").update(bytes).digest("hex");
      if (got !== p.sha256.toLowerCase())
        throw hostError(`package ${key}: ${file} has sha256 ${got}, the lock says ${p.sha256}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Worker files: the worker module, its sibling .py modules, and sibling regular packages
// (directories with __init__.py, copied whole).  They are written into Pyodide's FS under
// WORKER_FS_DIR; tracebacks are mapped back to the host path.
// ---------------------------------------------------------------------------------------
const WORKER_FS_DIR = "/session/metadata"; // where the platform puts the worker's files
const MAX_WORKER_FILES = 5000;
const MAX_WORKER_BYTES = 64 * 1024 * 1024;

// The platform's vendored-code directories: python_modules/ of the project (always), and
// vendor/ beside the main module while the legacy vendor path is on and the config's
// rules name it (wrangler uploads it only through a rule).
function vendorDirs(cfg) {
  const dirs = [];
  const pm = path.join(cfg.projectDir, "python_modules");
  if (fs.existsSync(pm) && fs.statSync(pm).isDirectory()) dirs.push({ abs: pm, rel: "python_modules" });
  const rules = Array.isArray(cfg.config.rules) ? cfg.config.rules : [];
  const ruled = rules.some((r) => Array.isArray(r?.globs) && r.globs.some((g) => typeof g === "string" && g.startsWith("vendor/")));
  const vd = path.join(path.dirname(cfg.worker), "vendor");
  if (ruled && !cfg.flags.includes("python_workers_force_new_vendor_path") && fs.existsSync(vd))
    dirs.push({ abs: vd, rel: "vendor" });
  return dirs;
}

function collectWorkerFiles(worker, extraDirs = []) {
  const root = path.dirname(worker);
  const files = []; // {rel, bytes}
  let total = 0;
  const add = (abs) => {
    const bytes = fs.readFileSync(abs);
    total += bytes.length;
    files.push({ rel: path.relative(root, abs).split(path.sep).join("/"), bytes });
    if (files.length > MAX_WORKER_FILES || total > MAX_WORKER_BYTES)
      throw hostError(`the worker directory ${root} is too large (limit ${MAX_WORKER_FILES} files / ${MAX_WORKER_BYTES} bytes)`);
  };
  const skip = (name) => name.startsWith(".") || name === "__pycache__" || name === "node_modules";
  const addPackageDir = (abs) => {
    for (const ent of fs.readdirSync(abs, { withFileTypes: true })) {
      if (skip(ent.name)) continue;
      const p = path.join(abs, ent.name);
      if (ent.isDirectory()) addPackageDir(p);
      else if (ent.isFile() && !ent.name.endsWith(".pyc")) add(p);
    }
  };
  add(worker);
  for (const ent of fs.readdirSync(root, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (skip(ent.name)) continue;
    const p = path.join(root, ent.name);
    if (ent.isFile() && ent.name.endsWith(".py") && p !== worker) add(p);
    else if (ent.isDirectory() && fs.existsSync(path.join(p, "__init__.py"))) addPackageDir(p);
  }
  for (const d of extraDirs) {
    const before = files.length;
    addPackageDir(d.abs);
    for (let i = before; i < files.length; i++)
      files[i].rel = `${d.rel}/${path.relative(d.abs, path.join(root, files[i].rel)).split(path.sep).join("/")}`;
  }
  const h = crypto.createHash("sha256");
  for (const f of files) h.update(`${f.rel}\0${f.bytes.length}\0`).update(f.bytes);
  return { root, files, sha256: h.digest("hex") };
}

// ---------------------------------------------------------------------------------------
// Pyodide FS helpers (used to carry installed files through a memory snapshot: a snapshot
// holds only the wasm heap; Pyodide's MEMFS lives in JS and is rebuilt fresh on load).
// ---------------------------------------------------------------------------------------
const FS_ROOTS = ["/lib", "/usr", "/session", "/home", "/tmp"];

function fsScan(FS) {
  const out = new Map(); // path -> {mtime, size}
  const walk = (p) => {
    let st;
    try {
      st = FS.stat(p);
    } catch {
      return;
    }
    if (FS.isDir(st.mode)) {
      for (const n of FS.readdir(p)) if (n !== "." && n !== "..") walk(p + "/" + n);
    } else if (FS.isFile(st.mode)) {
      out.set(p, { mtime: +st.mtime, size: st.size });
    }
  };
  for (const r of FS_ROOTS) walk(r);
  return out;
}

function fsChangedFiles(FS, before) {
  const after = fsScan(FS);
  const changed = [];
  for (const [p, st] of after) {
    const b = before.get(p);
    if (!b || b.mtime !== st.mtime || b.size !== st.size) changed.push(p);
  }
  return changed.sort();
}

function writeFsFile(FS, p, bytes) {
  FS.mkdirTree(p.slice(0, p.lastIndexOf("/")) || "/");
  FS.writeFile(p, bytes);
}

// ---------------------------------------------------------------------------------------
// Snapshot container
//   "ALMSNAP1" | u32 LE header length | header JSON | pad to 16 | file payloads | pad to 16 |
//   the bytes of pyodide.makeMemorySnapshot()
// ---------------------------------------------------------------------------------------
const SNAP_MAGIC = Buffer.from("ALMSNAP1");
const align16 = (n) => Math.ceil(n / 16) * 16;

function encodeSnapshot(header, files, heap) {
  const fileEntries = [];
  let off = 0;
  for (const f of files) {
    fileEntries.push({ path: f.path, offset: off, size: f.bytes.length });
    off += f.bytes.length;
  }
  const payloadLen = off;
  const hdr = Buffer.from(JSON.stringify({ ...header, files: fileEntries, payload_bytes: payloadLen }));
  const payloadStart = align16(12 + hdr.length);
  const heapStart = align16(payloadStart + payloadLen);
  const out = Buffer.alloc(heapStart + heap.length);
  SNAP_MAGIC.copy(out, 0);
  out.writeUInt32LE(hdr.length, 8);
  hdr.copy(out, 12);
  let p = payloadStart;
  for (const f of files) {
    Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.length).copy(out, p);
    p += f.bytes.length;
  }
  Buffer.from(heap.buffer, heap.byteOffset, heap.length).copy(out, heapStart);
  return out;
}

function decodeSnapshot(buf) {
  const bad = (why) => hostError(`snapshot is not a valid almanac snapshot: ${why}`, { code: "snapshot_invalid" });
  if (buf.length < 12 || !buf.subarray(0, 8).equals(SNAP_MAGIC)) throw bad("bad magic");
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw bad("truncated header");
  let header;
  try {
    header = JSON.parse(buf.subarray(12, 12 + hlen).toString("utf8"));
  } catch {
    throw bad("header is not JSON");
  }
  const payloadStart = align16(12 + hlen);
  const heapStart = align16(payloadStart + header.payload_bytes);
  if (heapStart >= buf.length) throw bad("truncated");
  const files = header.files.map((f) => ({
    path: f.path,
    bytes: buf.subarray(payloadStart + f.offset, payloadStart + f.offset + f.size),
  }));
  let heap = buf.subarray(heapStart);
  if (heap.byteOffset % 16 !== 0) heap = new Uint8Array(heap); // Pyodide reads it as Uint32Array
  return { header, files, heap: new Uint8Array(heap.buffer, heap.byteOffset, heap.length) };
}

// pyodide.loadedPackages is one of the JS objects Python holds from boot; makeMemorySnapshot
// insists that it still looks like it did at boot ({}), because on load it is recreated
// empty.  We clear it for the duration of makeMemorySnapshot and put it back afterwards.
// The interrupt buffer (watchdog) is JS state too: detach it so the heap does not record one.
function makeHeapSnapshot(py) {
  const lp = py.loadedPackages;
  const saved = { ...lp };
  for (const k of Object.keys(lp)) delete lp[k];
  if (interruptBuffer) py.setInterruptBuffer(undefined);
  try {
    return py.makeMemorySnapshot();
  } finally {
    Object.assign(lp, saved);
    if (interruptBuffer) py.setInterruptBuffer(interruptBuffer);
  }
}

// ---------------------------------------------------------------------------------------
// Python glue
// ---------------------------------------------------------------------------------------
const PY_GLUE = `
import sys as _almanac_sys

def _almanac_search_path(wdir, legacy_vendor, process_pth):
    # The platform's order: python_modules (and the legacy vendor/) just before
    # site-packages, the worker's own directory after it.
    sys = _almanac_sys
    pm, vd = wdir + "/python_modules", wdir + "/vendor"
    for p in (pm, vd, wdir):
        while p in sys.path:
            sys.path.remove(p)
    for i, p in enumerate(sys.path):
        if "site-packages" in p:
            if legacy_vendor:
                sys.path.insert(i, vd)
            sys.path.insert(i, pm)
            break
    else:
        sys.path.insert(0, pm)
    sys.path.append(wdir)
    if process_pth:
        import os, site
        if os.path.isdir(pm):
            site.addsitedir(pm)

def _almanac_import(name, path):
    import importlib.util
    sys = _almanac_sys
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == path:
        return
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(name, None)
        raise
`;

const PY_RESEED = `
import sys
if "random" in sys.modules:
    sys.modules["random"].seed()
`;

// ---------------------------------------------------------------------------------------
// The platform's Python side: the `workers` SDK, `asgi`, the flags module and the
// entrypoint plumbing, written into site-packages as the platform injects them.
// ---------------------------------------------------------------------------------------
const PLATFORM_DIR = path.join(path.dirname(new URL(import.meta.url).pathname), "python");
const EXTERNAL_SDK_STUB = (mod) =>
  `err = ModuleNotFoundError("No module named '${mod}'", name="${mod}")\n` +
  `err.add_note("You need to update to workers-py >= 1.9 or to pass disable_python_external_sdk")\n` +
  `raise err\n`;

function readTree(dir, rel = "") {
  const out = [];
  for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory() && ent.name !== "__pycache__") out.push(...readTree(dir, r));
    else if (ent.isFile() && ent.name.endsWith(".py")) out.push({ rel: r, bytes: fs.readFileSync(path.join(dir, r)) });
  }
  return out;
}

// The files for site-packages, given the enabled flags and the Pyodide version.
function platformFiles(flags, pyodideVersion) {
  const on = new Set(flags);
  let files = readTree(PLATFORM_DIR);
  if (on.has("enable_python_external_sdk")) {
    // The SDK gives way to the one the worker vendors; importing it without one fails.
    files = files.filter((f) => !f.rel.startsWith("workers/") && !f.rel.startsWith("cloudflare/") && f.rel !== "asgi.py");
    files.push({ rel: "workers/__init__.py", bytes: Buffer.from(EXTERNAL_SDK_STUB("workers")) });
    files.push({ rel: "asgi.py", bytes: Buffer.from(EXTERNAL_SDK_STUB("asgi")) });
  } else if (!/^0\.26\./.test(pyodideVersion)) {
    files = files.filter((f) => !f.rel.startsWith("cloudflare/"));
  }
  const flagLines = [...on].sort().map((f) => `${f} = True\n`).join("");
  files.push({ rel: "_cloudflare_compat_flags.py", bytes: Buffer.from(`# The worker's enabled compatibility flags.\n${flagLines}`) });
  return files;
}

function platformDigest(flags) {
  const h = crypto.createHash("sha256");
  for (const f of readTree(PLATFORM_DIR)) h.update(`${f.rel}\0${f.bytes.length}\0`).update(f.bytes);
  h.update(JSON.stringify([...flags].sort()));
  return h.digest("hex");
}

function installPlatform(py, cfg) {
  const site = py.runPython("import site; site.getsitepackages()[0]");
  for (const f of platformFiles(cfg.flags, py.version)) writeFsFile(py.FS, `${site}/${f.rel}`, f.bytes);
  py.runPython("import importlib; importlib.invalidate_caches()");
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------
let currentPy = null;
let workerRoot = null;

function isPythonError(e) {
  if (!e || typeof e !== "object") return false;
  const PE = currentPy?.ffi?.PythonError;
  if (PE && e instanceof PE) return true;
  return e.constructor?.name === "PythonError" || e.name === "PythonError";
}

// Drop the host's own glue frame and show the worker's files under their real paths.
function mapTraceback(text) {
  text = text.replace(/^  File "<exec>", line \d+, in _almanac_(call|import)\n/gm, "");
  text = text.replace(/^  File "[^"]*\/_almanac_platform\.py", line \d+, in (dispatch|relaxed_call|call_method)\n(    .*\n)*/gm, "");
  if (!workerRoot) return text;
  return text.split(`"${WORKER_FS_DIR}/`).join(`"${workerRoot}/`);
}

// The exception's own line of a traceback, with its notes (PEP 678) after it in
// parentheses: "ModuleNotFoundError: No module named 'workers' (You need to ...)".
function exceptionLine(lines, type) {
  const re = type ? new RegExp(`^([\\w.]+\\.)?${type.replace(/[^\w]/g, "")}(:|$)`) : null;
  let i = lines.length - 1;
  if (re) while (i > 0 && !re.test(lines[i])) i--;
  if (!re || !re.test(lines[i] ?? "")) return lines[lines.length - 1] || "Python error";
  const notes = lines.slice(i + 1).filter((l) => l.trim() !== "");
  return notes.length ? `${lines[i]} (${notes.join("; ")})` : lines[i];
}

function fail(e) {
  if (resultWritten) return;
  if (Atomics.load(watchState, 1) && timeoutMs != null) e = timeoutError(timeoutMs);
  if (isPythonError(e) && e.type === "WorkerRefused") {
    // The platform itself refuses this worker for this event: its own message, no traceback.
    const lines = String(e.message || "").trimEnd().split("\n");
    const message = (lines[lines.length - 1] || "").replace(/^(_almanac_platform\.)?WorkerRefused: /, "");
    emit({ ok: false, error: { type: "PlatformError", message } }, 1);
    return;
  }
  if (isPythonError(e)) {
    const traceback = mapTraceback(String(e.message || ""));
    const lines = traceback.trimEnd().split("\n");
    emit(
      {
        ok: false,
        error: {
          type: "PythonError",
          python_type: e.type || undefined,
          message: exceptionLine(lines, e.type),
          traceback,
        },
      },
      1,
    );
    return;
  }
  const error = { type: "HostError", message: String(e?.message ?? e) };
  if (e?.almanacHostError && e.extra) Object.assign(error, e.extra);
  else if (e?.stack) error.stack = String(e.stack).split("\n").slice(0, 8).join("\n");
  emit({ ok: false, error }, 2);
}

// ---------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------
async function responseToJson(resp) {
  const headers = [...resp.headers];
  const buf = new Uint8Array(await resp.arrayBuffer());
  let body;
  let encoding;
  try {
    body = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    body = Buffer.from(buf).toString("base64");
    encoding = "base64";
  }
  const out = { ok: true, status: resp.status, headers, body };
  if (encoding) out.body_encoding = encoding;
  return out;
}

// ---------------------------------------------------------------------------------------
// Phases of a run. A session boots one Pyodide for one worker; `run` serves one event
// with it; `almanac dev` (serve.mjs) keeps the session and serves many.
// ---------------------------------------------------------------------------------------
const tick = () => performance.now();

// Lock, closure and worker files; the snapshot's header is checked before paying for boot.
function preparePhase(cfg, timings) {
  const lockInfo = readLock(cfg.lockFile);
  const closure = lockClosure(lockInfo, cfg.packages);
  const wanted = cfg.packages.map((n) => lockInfo.byNorm.get(normalize(n)));
  const pkgPins = Object.fromEntries(closure.map((k) => [k, lockInfo.lock.packages[k].sha256 || null]).sort());
  const wf = collectWorkerFiles(cfg.worker, vendorDirs(cfg));
  workerRoot = wf.root;
  const moduleName = path.basename(cfg.worker, ".py");
  const workerFsPath = `${WORKER_FS_DIR}/${path.relative(wf.root, cfg.worker).split(path.sep).join("/")}`;
  const platform = platformDigest(cfg.flags);
  let snap = null;
  const t = tick();
  if (cfg.snapshot.mode === "load") {
    snap = decodeSnapshot(fs.readFileSync(cfg.snapshot.path));
    const h = snap.header;
    const stale = (why) => hostError(`snapshot ${cfg.snapshot.path} does not match this run: ${why}`, { code: "snapshot_stale" });
    if (h.format !== 1) throw stale(`format ${h.format}`);
    if (JSON.stringify(h.packages) !== JSON.stringify(pkgPins)) throw stale("the package set or a package pin differs");
    if (h.worker_sha256 !== wf.sha256) throw stale("the worker's files changed");
    if (h.module !== moduleName) throw stale("the worker module name differs");
    if (h.platform_sha256 !== platform) throw stale("the flags or the executor's workers module differ");
    timings.snapshot_read_ms = tick() - t;
  } else {
    verifyPackageFiles(cfg.dir, lockInfo.lock, closure);
  }
  return { lockInfo, closure, wanted, pkgPins, wf, moduleName, workerFsPath, platform, snap };
}

async function bootPhase(cfg, prep, timings) {
  const mode = cfg.snapshot.mode;
  const t = tick();
  const { loadPyodide } = await import(pathToFileURL(cfg.dir + "pyodide.mjs").href);
  if (typeof loadPyodide !== "function") throw hostError(`${cfg.dir}pyodide.mjs exports no loadPyodide`);
  const toStderr = (line) => {
    statusClear();
    process.stderr.write(line + "\n");
  };
  status(`booting ${cfg.statusLabel ?? "Pyodide"} ...`);
  const opts = {
    indexURL: cfg.dir,
    lockFileURL: cfg.lockFile,
    packageBaseUrl: cfg.dir, // 0.28+: also becomes the "CDN" fallback URL, so a miss stays local
    packageCacheDir: cfg.dir,
    stdout: toStderr,
    stderr: toStderr,
    env: { HOME: "/home/pyodide" },
  };
  if (mode === "make") opts._makeSnapshot = true;
  if (mode === "load") opts._loadSnapshot = prep.snap.heap;
  let py;
  try {
    py = await loadPyodide(opts);
  } catch (e) {
    if (mode === "load")
      throw hostError(`Pyodide could not start from snapshot ${cfg.snapshot.path}: ${e?.message ?? e}`, {
        code: "snapshot_invalid",
      });
    throw hostError(`Pyodide failed to boot from ${cfg.dir}: ${e?.message ?? e}`);
  }
  currentPy = py;
  timings.boot_ms = tick() - t;
  if (mode === "make" && typeof py.makeMemorySnapshot !== "function")
    throw hostError(`Pyodide ${py.version} has no makeMemorySnapshot; snapshots need Pyodide >= 0.26`, {
      code: "snapshot_unsupported",
    });
  if (mode === "load" && prep.snap.header.pyodide_version !== py.version)
    throw hostError(
      `snapshot ${cfg.snapshot.path} was made by Pyodide ${prep.snap.header.pyodide_version}, this is ${py.version}`,
      { code: "snapshot_stale" },
    );
  return py;
}

// Packages, the platform's modules and the worker's files (or all of them from a snapshot).
async function installPhase(cfg, prep, py, timings) {
  const t = tick();
  if (cfg.snapshot.mode === "load") {
    for (const f of prep.snap.files) writeFsFile(py.FS, f.path, f.bytes);
    for (const k of prep.snap.header.installed) py.loadedPackages[k] = "default channel";
    py.runPython(PY_RESEED);
    timings.install_ms = 0;
    timings.snapshot_ms = timings.snapshot_read_ms + (tick() - t);
    delete timings.snapshot_read_ms;
    return;
  }
  if (prep.wanted.length) {
    status(`installing ${prep.closure.length} package${prep.closure.length === 1 ? "" : "s"} ...`);
    const errors = [];
    await py.loadPackage(prep.wanted, {
      messageCallback: (m) => (statusClear(), process.stderr.write(m + "\n")),
      errorCallback: (m) => {
        errors.push(m);
        process.stderr.write(m + "\n");
      },
      checkIntegrity: false, // verified above (sha256 of each file against the lock)
    });
    const missing = prep.closure.filter((k) => !(k in py.loadedPackages));
    if (missing.length)
      throw hostError(`could not install ${missing.join(", ")}` + (errors.length ? `: ${errors.join(" | ")}` : ""));
  }
  timings.install_ms = tick() - t;
  installPlatform(py, cfg);
  for (const f of prep.wf.files) writeFsFile(py.FS, `${WORKER_FS_DIR}/${f.rel}`, f.bytes);
}

// The search path as the flags set it, then the worker's module (its top level runs).
function importPhase(cfg, prep, py, timings) {
  const t = tick();
  status(`importing ${path.basename(cfg.worker)} ...`);
  if (cfg.snapshot.mode !== "load" || !py.globals.has("_almanac_import")) py.runPython(PY_GLUE);
  const on = new Set(cfg.flags);
  const setPath = py.globals.get("_almanac_search_path");
  const importer = py.globals.get("_almanac_import");
  try {
    setPath(WORKER_FS_DIR, !on.has("python_workers_force_new_vendor_path"), on.has("python_process_pth_files"));
    importer(prep.moduleName, prep.workerFsPath);
  } finally {
    setPath.destroy();
    importer.destroy();
  }
  timings.import_ms = tick() - t;
}

function snapshotPhase(cfg, prep, py, fsBefore, timings) {
  const t = tick();
  status("saving a snapshot ...");
  const changed = fsChangedFiles(py.FS, fsBefore);
  const native = changed.filter((p) => /\.so(\.[0-9.]+)?$/.test(p));
  if (native.length)
    throw hostError(
      `cannot snapshot: the installed packages load native code (${native.slice(0, 3).join(", ")}${
        native.length > 3 ? ", ..." : ""
      }), which a Pyodide memory snapshot does not capture; run without a snapshot`,
      { code: "snapshot_unsupported" },
    );
  let heap;
  try {
    heap = makeHeapSnapshot(py);
  } catch (e) {
    throw hostError(
      `cannot snapshot this worker: ${e?.message ?? e} (a snapshot cannot hold JavaScript objects ` +
        `that Python keeps from import time, other than names imported from the js module); ` +
        `run without a snapshot`,
      { code: "snapshot_unsupported" },
    );
  }
  const files = changed.map((p) => ({ path: p, bytes: py.FS.readFile(p) }));
  const header = {
    format: 1,
    pyodide_version: py.version,
    packages: prep.pkgPins,
    installed: Object.keys(py.loadedPackages).sort(),
    module: prep.moduleName,
    worker: cfg.worker,
    worker_sha256: prep.wf.sha256,
    platform_sha256: prep.platform,
    created: new Date().toISOString(),
  };
  const out = encodeSnapshot(header, files, heap);
  const tmp = `${cfg.snapshot.path}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(cfg.snapshot.path), { recursive: true });
  fs.writeFileSync(tmp, out);
  fs.renameSync(tmp, cfg.snapshot.path);
  timings.snapshot_ms = tick() - t;
  return { mode: "make", path: cfg.snapshot.path, bytes: out.length, files: files.length };
}

// What a scheduled() handler receives (the platform's ScheduledController).
class ScheduledController {
  constructor(cron) {
    this.cron = cron;
    this.scheduledTime = Date.now();
    this.type = "scheduled";
  }
  noRetry() {}
}

// The execution context a handler gets: waitUntil() promises are awaited before the run ends.
function makeContext() {
  const pending = [];
  const ctx = {
    waitUntil(p) {
      if (p && typeof p.copy === "function") p = p.copy(); // a Python future outlives the call
      pending.push(Promise.resolve(p));
    },
    passThroughOnException() {},
    props: {},
  };
  return { ctx, settle: () => Promise.allSettled(pending) };
}

// Bindings (KV, D1, Durable Objects, R2, assets) come from executor/bindings/ when it is
// there; a worker that uses none runs without it.
async function loadBindings(cfg, py, durableObjectClasses) {
  let mod;
  try {
    mod = await import(new URL("./bindings/index.mjs", import.meta.url).href);
  } catch (e) {
    if (e?.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("bindings/index.mjs")) return null;
    throw e;
  }
  return await mod.createBindings({
    config: cfg.config,
    stateDir: cfg.stateDir,
    fresh: cfg.fresh,
    projectDir: cfg.projectDir,
    pyodide: py,
    durableObjectClasses,
  });
}

// A session: one booted Pyodide with the worker imported, ready for events.
export async function openSession(cfg) {
  const timings = {};
  const prep = preparePhase(cfg, timings);
  const py = await bootPhase(cfg, prep, timings);
  const fsBefore = cfg.snapshot.mode === "make" ? fsScan(py.FS) : null;
  await installPhase(cfg, prep, py, timings);
  if (cfg.timeoutMs != null) {
    timeoutMs = cfg.timeoutMs;
    startWatchdog(cfg.timeoutMs, py);
  }
  importPhase(cfg, prep, py, timings);
  let snapInfo;
  if (cfg.snapshot.mode === "make") snapInfo = snapshotPhase(cfg, prep, py, fsBefore, timings);
  else if (cfg.snapshot.mode === "load") snapInfo = { mode: "load", path: cfg.snapshot.path };

  const plat = py.pyimport("_almanac_platform");
  const dispatch = plat.dispatch;
  const mainFile = path.basename(cfg.worker);
  const durableObjectClasses = (className) => (ctxJs, envJs) => {
    const inst = plat.make_instance(prep.moduleName, className, ctxJs, envJs);
    return new Proxy(
      {},
      {
        get: (_t, prop) =>
          typeof prop !== "string" || prop === "then" ? undefined : (...args) => plat.call_method(inst, prop, args),
      },
    );
  };
  const bindings = await loadBindings(cfg, py, durableObjectClasses);
  const env = Object.assign(Object.create(null), bindings?.env ?? {}, cfg.env);
  plat.set_js_module("cloudflare:workers", { env, waitUntil: (p) => p });

  return {
    py,
    prep,
    timings,
    snapInfo,
    env,
    // One event through the worker, as the platform delivers it.
    async fetch(request) {
      if (bindings?.assets) {
        const r = await bindings.assets.serve(request);
        if (r) return r;
      }
      const { ctx, settle } = makeContext();
      const resp = await dispatch(prep.moduleName, mainFile, "fetch", request, env, ctx);
      await settle();
      return resp;
    },
    async scheduled(cron) {
      const { ctx, settle } = makeContext();
      const controller = new ScheduledController(cron);
      await dispatch(prep.moduleName, mainFile, "scheduled", controller, env, ctx);
      await settle();
    },
    async close() {
      await bindings?.close?.();
    },
  };
}

async function main() {
  const cfg = readConfig(process.argv.slice(2));
  statusEnabled = cfg.statusLabel != null;
  if (!cfg.allowNet) installNetworkGuard();
  const request =
    cfg.event === "fetch"
      ? new Request(cfg.request.url, { method: cfg.request.method, headers: cfg.request.headers, body: cfg.request.body })
      : null;
  const session = await openSession(cfg);
  statusClear();
  const timings = session.timings;
  let t = tick();
  let out;
  if (cfg.event === "scheduled") {
    await session.scheduled(cfg.cron);
    out = { ok: true, event: "scheduled", cron: cfg.cron };
  } else {
    out = await responseToJson(await session.fetch(request));
  }
  timings.handler_ms = tick() - t;
  await session.close();
  if (session.snapInfo) out.snapshot = session.snapInfo;
  out.pyodide_version = session.py.version;
  if (cfg.timings) {
    for (const k of ["boot_ms", "install_ms", "import_ms", "handler_ms", "snapshot_ms"])
      timings[k] = Math.round((timings[k] ?? 0) * 10) / 10;
    timings.node_startup_ms = Math.round(T_PROCESS * 10) / 10;
    timings.total_ms = Math.round(performance.now() * 10) / 10;
    out.timings = timings;
  }
  emit(out, 0);
}

// ---------------------------------------------------------------------------------------
// `almanac dev`: node host.mjs --serve CONFIG.json. One warm session serves every
// request; one access line per request on stdout; the worker's files are watched and a
// change re-imports it in a new session (swapped in when it is ready); a change to the
// config, pyproject.toml or requirements.txt ends the host with EXIT_RERESOLVE so that
// almanac resolves again (the date, flags or packages may have changed).
// ---------------------------------------------------------------------------------------
const EXIT_RERESOLVE = 75;
const RERESOLVE_FILES = /^(wrangler\.(toml|json|jsonc)|pyproject\.toml|requirements\.txt|\.dev\.vars(\..+)?)$/;
const WATCH_IGNORE = /(^|\/)(\.almanac|\.git|node_modules|__pycache__|\.venv)(\/|$)/;

const say = (line) => realStdoutWrite(line + "\n");

async function nodeRequest(req, origin) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(origin + req.url, { method: req.method, headers, body: hasBody ? Buffer.concat(chunks) : null });
}

async function writeNodeResponse(res, resp, head) {
  const headers = {};
  for (const [k, v] of resp.headers) {
    if (k === "set-cookie") continue;
    headers[k] = v;
  }
  const cookies = typeof resp.headers.getSetCookie === "function" ? resp.headers.getSetCookie() : [];
  if (cookies.length) headers["set-cookie"] = cookies;
  const body = head || resp.body === null ? null : Buffer.from(await resp.arrayBuffer());
  if (body && !("content-length" in headers) && !("transfer-encoding" in headers)) headers["content-length"] = body.length;
  res.writeHead(resp.status, resp.statusText || undefined, headers);
  res.end(body);
}

function errorText(e) {
  if (isPythonError(e) && e.type === "WorkerRefused") {
    const lines = String(e.message || "").trimEnd().split("\n");
    return { text: lines[lines.length - 1].replace(/^(_almanac_platform\.)?WorkerRefused: /, ""), log: null };
  }
  if (isPythonError(e)) {
    const tb = mapTraceback(String(e.message || ""));
    return { text: tb, log: tb };
  }
  return { text: `almanac: ${e?.message ?? e}`, log: String(e?.stack ?? e) };
}

async function serve(cfg) {
  claimResult(); // no result line in this mode
  resultWritten = true;
  process.removeAllListeners("uncaughtException");
  process.on("uncaughtException", (e) => process.stderr.write(`almanac host: ${e?.stack ?? e}\n`));
  const http = await import("node:http");
  // A worker that fails to start (an import error, the platform's refusal) is still
  // served: every request answers 500 with the error, until a change fixes it.
  const failedSession = (e) => {
    const { text, log } = errorText(e);
    process.stderr.write((log ?? text).replace(/\n?$/, "\n"));
    const refuse = async () => {
      throw e;
    };
    return { py: null, fetch: refuse, scheduled: refuse, close: async () => {} };
  };
  const open = async (c) => {
    try {
      return await openSession(c);
    } catch (e) {
      if (e?.almanacHostError && !isPythonError(e)) throw e;
      return failedSession(e);
    }
  };
  let session = await open(cfg);
  statusClear();
  let reloading = null;
  const origin = `http://${cfg.serve.ip.includes(":") ? `[${cfg.serve.ip}]` : cfg.serve.ip}:${cfg.serve.port}`;

  const server = http.createServer(async (req, res) => {
    const t0 = performance.now();
    let status = 500;
    try {
      const u = new URL(req.url, origin);
      if (u.pathname === "/__scheduled") {
        for await (const _ of req);
        await session.scheduled(u.searchParams.get("cron") ?? "");
        status = 200;
        res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
        res.end("Ran scheduled event");
      } else {
        const resp = await session.fetch(await nodeRequest(req, origin));
        status = resp.status;
        await writeNodeResponse(res, resp, req.method === "HEAD");
      }
    } catch (e) {
      const { text, log } = errorText(e);
      if (log) process.stderr.write(log.endsWith("\n") ? log : log + "\n");
      else process.stderr.write(text + "\n");
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain;charset=UTF-8" });
        res.end(text);
      } else res.destroy();
      status = 500;
    }
    const ms = performance.now() - t0;
    say(`[almanac] ${req.method} ${req.url} ${status} ${http.STATUS_CODES[status] ?? ""} (${ms < 10 ? ms.toFixed(1) : Math.round(ms)}ms)`);
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve, reject) => {
    server.once("error", (e) => reject(hostError(`cannot listen on ${cfg.serve.ip}:${cfg.serve.port}: ${e.message}`)));
    server.listen(cfg.serve.port, cfg.serve.ip, resolve);
  });
  say(
    session.py
      ? `[almanac] ready on ${origin} (Pyodide ${session.py.version}, Python ${session.py.runPython("import sys; '%d.%d.%d' % sys.version_info[:3]")})`
      : `[almanac] ready on ${origin} (the worker failed to start: requests answer 500 until it is fixed)`,
  );

  // Watch the project and the worker's directory.
  let timer = null;
  const changed = new Set();
  const onChange = (dir) => (_ev, name) => {
    if (!name) return;
    const rel = String(name);
    if (WATCH_IGNORE.test(rel)) return;
    changed.add(path.join(dir, rel));
    clearTimeout(timer);
    timer = setTimeout(reload, 100);
  };
  const dirs = [...new Set([cfg.projectDir, path.dirname(cfg.worker)])];
  const watchers = dirs.map((d) => fs.watch(d, { recursive: true }, onChange(d)));
  async function reload() {
    // Editors' temporary files (sed -i, vim swap files) come and go: name what is there.
    const files = [...changed].filter((f) => fs.existsSync(f));
    changed.clear();
    if (!files.length) return;
    if (files.some((f) => RERESOLVE_FILES.test(path.basename(f)) && path.dirname(f) === cfg.projectDir)) {
      say(`[almanac] ${path.relative(cfg.projectDir, files[0]) || files[0]} changed: resolving again`);
      for (const w of watchers) w.close();
      server.close();
      server.closeAllConnections?.();
      process.exit(EXIT_RERESOLVE);
    }
    if (reloading) return;
    reloading = (async () => {
      const t0 = performance.now();
      try {
        // --fresh applies to the first start only: a reload keeps the state
        const next = await open({ ...cfg, fresh: false, snapshot: { mode: "none", path: null } });
        const old = session;
        session = next;
        await old.close();
        say(`[almanac] reloaded after a change to ${files.map((f) => path.relative(cfg.projectDir, f)).join(", ")} (${Math.round(performance.now() - t0)}ms)`);
      } catch (e) {
        const { text, log } = errorText(e);
        process.stderr.write((log ?? text) + "\n");
        say(`[almanac] reload failed; still serving the previous version`);
      } finally {
        reloading = null;
      }
    })();
  }
  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  if (process.argv[2] === "--serve") {
    (async () => {
      const cfg = readConfig(process.argv.slice(3));
      statusEnabled = cfg.statusLabel != null;
      if (!cfg.allowNet) installNetworkGuard();
      const sv = cfg.raw.serve ?? {};
      cfg.serve = { ip: typeof sv.ip === "string" ? sv.ip : "127.0.0.1", port: Number.isInteger(sv.port) ? sv.port : 8787 };
      await serve(cfg);
    })().catch((e) => {
      process.stderr.write(`almanac: ${e?.message ?? e}\n`);
      process.exit(2);
    });
  } else main().catch(fail);
}
