// Tests for executor/host.mjs against real Pyodide npm distributions.
//
//   node --test tests/executor/            (picks up executor.test.mjs, which imports this file)
//   node --test tests/executor/run.mjs
//
// Distributions are looked up as $PYODIDE_DISTS/VERSION/package/ (default $ALMANAC_CACHE/pyodide, where `almanacd seed` unpacks them); the
// ones that are missing are skipped.  Versions run two at a time
// (ALMANAC_TEST_CONCURRENCY); each Pyodide boot costs ~2-3 s, so every boot checks as much
// as it can.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import crypto from "node:crypto";
import { spawn, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const HOST = fileURLToPath(new URL("../../executor/host.mjs", import.meta.url));
const DISTS =
  process.env.PYODIDE_DISTS ||
  path.join(process.env.ALMANAC_CACHE || path.join(os.homedir(), ".cache", "almanac"), "pyodide");
const ALL_VERSIONS = ["0.26.4", "0.27.7", "0.28.3", "0.29.3", "314.0.7"];
const VERSIONS = ALL_VERSIONS.filter((v) => fs.existsSync(path.join(DISTS, v, "package", "pyodide.mjs")));
const CONCURRENCY = Number(process.env.ALMANAC_TEST_CONCURRENCY || 2);
const CORE = /^(pyodide\.mjs|pyodide\.asm\.(js|mjs|wasm)|python_stdlib\.zip)$/;

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "almanac-executor-test-"));
const WORKERS = path.join(TMP, "workers");

// ------------------------------------------------------------------------------------------
// helpers
// ------------------------------------------------------------------------------------------
const sha256 = (bytes) => crypto.createHash("sha256").update(bytes).digest("hex");

// A pure-Python wheel, built with Python's zipfile: the package files plus
// NAME-VERSION.dist-info/{METADATA,WHEEL,RECORD}.
function buildWheel(outDir, name, version, files) {
  const script = `
import sys, json, zipfile, hashlib, base64
spec = json.load(sys.stdin)
name, version, files = spec["name"], spec["version"], spec["files"]
di = f"{name}-{version}.dist-info/"
files[di + "METADATA"] = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
files[di + "WHEEL"] = "Wheel-Version: 1.0\\nGenerator: almanac-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
rec = []
for n, c in files.items():
    b = c.encode()
    h = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
    rec.append(f"{n},sha256={h},{len(b)}")
rec.append(di + "RECORD,,")
files[di + "RECORD"] = "\\n".join(rec) + "\\n"
with zipfile.ZipFile(spec["out"], "w", zipfile.ZIP_DEFLATED) as z:
    for n, c in files.items():
        z.writestr(zipfile.ZipInfo(n, (2024, 1, 1, 0, 0, 0)), c)
`;
  const fileName = `${name}-${version}-py3-none-any.whl`;
  const out = path.join(outDir, fileName);
  execFileSync("python3", ["-c", script], { input: JSON.stringify({ name, version, files, out }) });
  return { fileName, sha256: sha256(fs.readFileSync(out)) };
}

const ALMTEST_FILES = {
  "almtest/__init__.py": "from .sub import VALUE\n\ndef greet(n):\n    return f'hi {n}'\n",
  "almtest/sub.py": "VALUE = 42\n",
  "almtest/lazy.py": "LAZY = 'lazy-ok'\n",
};

function linkOrCopy(src, dst) {
  fs.rmSync(dst, { force: true }); // never copy *onto* an existing hard link of src
  try {
    fs.linkSync(src, dst);
  } catch {
    fs.copyFileSync(src, dst);
  }
}

// Lay out a run directory the way `almanac run` does: core files + the package files of
// the lock in one directory, and a pyodide-lock.json (the distribution's lock, filtered to
// exactly the packages of the run).
function layout(version, name) {
  const src = path.join(DISTS, version, "package");
  const dir = path.join(TMP, version, `layout-${name}`) + "/";
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(src)) if (CORE.test(f)) linkOrCopy(path.join(src, f), dir + f);
  const whl = buildWheel(dir, "almtest", "1.0.0", { ...ALMTEST_FILES });
  const distLock = JSON.parse(fs.readFileSync(path.join(src, "pyodide-lock.json"), "utf8"));
  const packages = {
    almtest: {
      name: "almtest",
      version: "1.0.0",
      file_name: whl.fileName,
      install_dir: "site",
      sha256: whl.sha256,
      package_type: "package",
      imports: ["almtest"],
      depends: [],
      unvendored_tests: false,
      shared_library: false,
    },
  };
  const lockFile = dir + "pyodide-lock.json";
  fs.writeFileSync(lockFile, JSON.stringify({ info: distLock.info, packages }, null, 1));
  return { dir, lockFile, src, distLock };
}

function writeWorkers() {
  const w = (rel, text) => {
    const p = path.join(WORKERS, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
    return p;
  };
  return {
    // The canonical worker, unchanged.
    hello: w(
      "hello/worker.py",
      `from js import Response
async def on_fetch(request, env):
    return Response.new("Hello world!")
`,
    ),
    // Everything one boot can check: plain-str return, request fields, env, a wheel from
    // the lock, a sibling module, a lazily imported submodule, print(), no network.
    echo: w(
      "echo/main.py",
      `import json, random
import almtest
from helper import helper_value
import js
print("worker-imported-marker")

async def on_fetch(request, env):
    print("handler-print-marker")
    text = await request.clone().text()
    data = (await request.json()).to_py()
    import almtest.lazy
    net = []
    try:
        await js.fetch(env.NET_URL)
        net.append("fetch: NOT REFUSED")
    except Exception as e:
        net.append(str(e))
    try:
        from pyodide.http import pyfetch
        await pyfetch(env.NET_URL)
        net.append("pyfetch: NOT REFUSED")
    except Exception as e:
        net.append(str(e))
    try:
        import urllib.request
        urllib.request.urlopen(env.NET_URL, timeout=2)
        net.append("urllib: NOT REFUSED")
    except Exception as e:
        net.append(f"urllib: {type(e).__name__}: {e}")
    return json.dumps({
        "method": request.method,
        "url": request.url,
        "x_a": request.headers.get("x-a"),
        "ctype": request.headers.get("content-type"),
        "text": text,
        "json": data,
        "env": env.KEY,
        "greet": almtest.greet(almtest.VALUE),
        "lazy": almtest.lazy.LAZY,
        "helper": helper_value(),
        "net": net,
        "random": random.random(),
    })
`,
    ),
    echoHelper: w("echo/helper.py", "def helper_value():\n    return 'helper-ok'\n"),
    fail: w(
      "fail/failing.py",
      `def on_fetch(request, env):
    return compute(request.method)

def compute(method):
    raise ValueError(f"boom {method}")
`,
    ),
    // Worker-contract cases, routed by path so one snapshot serves them all.
    contract: w(
      "contract/routes.py",
      `from js import Response, Object, Promise
from pyodide.ffi import to_js

def on_fetch(request, env):          # sync def
    path = request.url.split("/", 3)[3]
    if path == "binary":
        body = to_js(bytes([0, 255, 1, 2, 200]))
        init = to_js({"status": 201, "headers": {"x-b": "2", "content-type": "application/x-test"}},
                     dict_converter=Object.fromEntries)
        return Response.new(body, init)
    if path == "bytes":
        return b"\\xff\\x00abc"
    if path == "bad":
        return 42
    if path == "spin":
        while True:
            pass
    if path == "never":
        return never()
    return "unrouted"

async def never():
    await Promise.new(lambda resolve, reject: None)
`,
    ),
    noFetch: w("extras/no_fetch.py", "def handler(request, env):\n    return 'x'\n"),
    api: w(
      "api/worker.py",
      `import json
import asgi
from workers import Response, Request, WorkerEntrypoint, FormData, Blob, handler, fetch
import workers

async def app(scope, receive, send):
    msg = await receive()
    await send({"type": "http.response.start", "status": 202, "headers": [(b"x-asgi", b"1")]})
    await send({"type": "http.response.body", "body": b"asgi " + scope["path"].encode() + b" " + msg["body"]})

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.url.endswith("/asgi"):
            return await asgi.fetch(app, request, self.env)
        if request.url.endswith("/redirect"):
            return Response.redirect("https://example.com/", 301)
        if request.url.endswith("/net"):
            try:
                await fetch("http://127.0.0.1:9/")
            except OSError as e:
                return Response(str(e), status=599)
        b = Blob(["ab", b"cd"], content_type="text/x")
        out = {"method": str(request.method), "url": request.url, "text": await request.text(),
               "hdr": request.headers.get("x-a"), "env": self.env.K.to_py(), "blob": await b.text(),
               "flag": workers._workers.get_compat_flag("python_no_global_handlers"),
               "names": sorted(workers.__all__)}
        return Response.json(out, headers=[("x-api", "1")])
`,
    ),
    importError: w("extras/import_error.py", "import does_not_exist_anywhere\n"),
    jsAtImport: w(
      "extras/js_at_import.py",
      "from js import Object, Response\nTHING = Object.new()\nasync def on_fetch(request, env):\n    return Response.new('x')\n",
    ),
  };
}

let runCounter = 0;
function runHost(config) {
  const cfgPath = path.join(TMP, `config-${++runCounter}.json`);
  fs.writeFileSync(cfgPath, JSON.stringify(config, null, 1));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOST, cfgPath], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const lines = stdout.split("\n").filter((l) => l !== "");
      let result;
      try {
        result = JSON.parse(lines[lines.length - 1]);
      } catch {
        result = undefined;
      }
      resolve({ code, signal, stdout, stderr, lines, result });
    });
  });
}

// stdout must be exactly one JSON line.
function assertProtocol(r, expectCode) {
  const ctx = `exit ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(-3000)}`;
  assert.equal(r.lines.length, 1, `stdout must be one line\n${ctx}`);
  assert.ok(r.stdout.endsWith("\n"), ctx);
  assert.ok(r.result && typeof r.result === "object", ctx);
  assert.equal(r.code, expectCode, ctx);
  return r.result;
}

function baseConfig(lay, worker, extra = {}) {
  return {
    dir: lay.dir,
    lock_file: lay.lockFile,
    packages: [],
    worker,
    request: { method: "GET", url: "http://localhost/", headers: [], body: null },
    env: {},
    snapshot: { mode: "none" },
    timings: true,
    ...extra,
  };
}

// ------------------------------------------------------------------------------------------
// a local HTTP server that must never see a connection
// ------------------------------------------------------------------------------------------
let server;
let serverConnections = 0;
let NET_URL;
let W;

before(async () => {
  W = writeWorkers();
  server = http.createServer((req, res) => res.end("you should not see this"));
  server.on("connection", () => serverConnections++);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  NET_URL = `http://127.0.0.1:${server.address().port}/probe`;
});

after(() => {
  server?.close();
  if (!process.env.ALMANAC_TEST_KEEP) fs.rmSync(TMP, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------
// per-version suites
// ------------------------------------------------------------------------------------------
function echoConfig(lay, extra = {}) {
  return baseConfig(lay, W.echo, {
    packages: ["almtest"],
    request: {
      method: "POST",
      url: "http://localhost/path?q=1",
      headers: [
        ["x-a", "1"],
        ["content-type", "application/json"],
      ],
      body: JSON.stringify({ a: [1, 2], b: "ü" }),
    },
    env: { KEY: "value-1", NET_URL },
    ...extra,
  });
}

function assertEcho(res, version) {
  assert.equal(res.ok, true, JSON.stringify(res));
  assert.equal(res.status, 200);
  assert.deepEqual(res.headers, [["content-type", "text/plain;charset=UTF-8"]]);
  assert.equal(res.body_encoding, undefined);
  assert.equal(res.pyodide_version, version);
  const body = JSON.parse(res.body);
  assert.equal(body.method, "POST");
  assert.equal(body.url, "http://localhost/path?q=1");
  assert.equal(body.x_a, "1");
  assert.equal(body.ctype, "application/json");
  assert.equal(body.text, JSON.stringify({ a: [1, 2], b: "ü" }));
  assert.deepEqual(body.json, { a: [1, 2], b: "ü" });
  assert.equal(body.env, "value-1");
  assert.equal(body.greet, "hi 42");
  assert.equal(body.lazy, "lazy-ok");
  assert.equal(body.helper, "helper-ok");
  assert.equal(body.net.length, 3);
  // js.fetch and pyodide.http.pyfetch hit the host's guard ...
  for (const n of body.net.slice(0, 2)) assert.match(n, /network access is disabled/);
  // ... and Python sockets (urllib) fail inside Emscripten; the probe server sees nothing.
  assert.match(body.net[2], /^urllib: URLError/);
  return body;
}

describe("executor host", { concurrency: CONCURRENCY }, () => {
  if (VERSIONS.length === 0) {
    test("no Pyodide distributions found", { skip: `none under ${DISTS}/VERSION/package/` }, () => {});
    return;
  }

  // Worker-contract edge cases: one distribution (the newest available) is enough.
  const NEWEST = VERSIONS[VERSIONS.length - 1];
  describe(`worker contract, from one snapshot (Pyodide ${NEWEST})`, { concurrency: 1 }, () => {
    let lay;
    before(() => {
      lay = layout(NEWEST, "contract");
    });

    const snap = () => path.join(TMP, "contract", "routes.snap");
    const route = (p, mode, extra = {}) =>
      baseConfig(lay, W.contract, {
        request: { method: "GET", url: `http://localhost/${p}`, headers: [], body: null },
        snapshot: { mode, path: snap() },
        ...extra,
      });

    test("sync def returning a binary Response with status and headers -> base64 (snapshot make)", async () => {
      const res = assertProtocol(await runHost(route("binary", "make", { timings: false })), 0);
      assert.equal(res.status, 201);
      assert.deepEqual(Object.fromEntries(res.headers), { "content-type": "application/x-test", "x-b": "2" });
      assert.equal(res.body_encoding, "base64");
      assert.deepEqual([...Buffer.from(res.body, "base64")], [0, 255, 1, 2, 200]);
      assert.equal(res.timings, undefined);
    });

    test("returning bytes -> application/octet-stream, base64 body", async () => {
      const res = assertProtocol(await runHost(route("bytes", "load")), 0);
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers, [["content-type", "application/octet-stream"]]);
      assert.equal(res.body_encoding, "base64");
      assert.deepEqual([...Buffer.from(res.body, "base64")], [0xff, 0, 97, 98, 99]);
    });

    test("returning something else -> PythonError TypeError", async () => {
      const res = assertProtocol(await runHost(route("bad", "load")), 1);
      assert.equal(res.error.type, "PythonError");
      assert.match(res.error.message, /^TypeError: on_fetch must return a Response, str or bytes, not int/);
    });

    test("timeout_ms interrupts a spinning handler -> HostError timeout, exit 2", async () => {
      // Normally Python takes the interrupt and the host exits 2; on a loaded machine
      // the watchdog's fallback may come first (2 s later): the same line, then SIGKILL.
      const r = await runHost(route("spin", "load", { timeout_ms: 1000 }));
      const res = assertProtocol(r, r.code === null ? null : 2);
      if (r.code === null) assert.equal(r.signal, "SIGKILL");
      assert.equal(res.error.type, "HostError");
      assert.equal(res.error.code, "timeout");
    });

    test("a promise that never settles -> HostError, exit 2 (not silence)", async () => {
      const res = assertProtocol(await runHost(route("never", "load")), 2);
      assert.match(res.error.message, /never settled/);
    });
  });

  describe(`worker contract, cold runs (Pyodide ${NEWEST})`, { concurrency: 1 }, () => {
    let lay;
    before(() => {
      lay = layout(NEWEST, "contract-cold");
    });

    test("no on_fetch -> the platform's refusal (PlatformError)", async () => {
      const res = assertProtocol(await runHost(baseConfig(lay, W.noFetch)), 1);
      assert.equal(res.error.type, "PlatformError");
      assert.match(res.error.message, /^Python entrypoint "no_fetch\.py" does not export a handler named "on_fetch"$/);
    });

    test("import error in the worker -> PythonError with the worker's path", async () => {
      const res = assertProtocol(await runHost(baseConfig(lay, W.importError)), 1);
      assert.match(res.error.message, /ModuleNotFoundError: No module named 'does_not_exist_anywhere'/);
      assert.ok(res.error.traceback.includes(`File "${W.importError}", line 1`), res.error.traceback);
    });

    test("snapshot make refuses a JS object kept from import time -> snapshot_unsupported", async () => {
      const snap = path.join(TMP, "contract", "js.snap");
      const res = assertProtocol(await runHost(baseConfig(lay, W.jsAtImport, { snapshot: { mode: "make", path: snap } })), 2);
      assert.equal(res.error.type, "HostError");
      assert.equal(res.error.code, "snapshot_unsupported");
      assert.ok(!fs.existsSync(snap));
    });

  });


  for (const version of VERSIONS) {
    describe(`Pyodide ${version}`, { concurrency: 1 }, () => {
      let lay;
      const snapPath = path.join(TMP, version, "snap", "echo.snap");
      before(() => {
        lay = layout(version, "main");
      });

      test("workers API: WorkerEntrypoint, Request, Response.json/redirect, Blob, asgi, fetch refused", async () => {
        const flags = ["python_workers", "python_no_global_handlers"];
        const cfg = (method, url, body) =>
          baseConfig(lay, W.api, {
            flags,
            env: { K: { deep: [1] } },
            request: { method, url, headers: [["x-a", "7"]], body },
          });
        let res = assertProtocol(await runHost(cfg("POST", "http://localhost/p", "hello")), 0);
        assert.equal(res.status, 200);
        assert.ok(res.headers.some(([k, v]) => k === "x-api" && v === "1"));
        assert.match(res.headers.find(([k]) => k === "content-type")[1], /application\/json/);
        const b = JSON.parse(res.body);
        assert.deepEqual(
          { ...b, names: undefined },
          { method: "POST", url: "http://localhost/p", text: "hello", hdr: "7", env: { deep: [1] }, blob: "abcd", flag: true, names: undefined },
        );
        for (const n of ["Blob", "BlobEnding", "BlobValue", "Body", "Context", "DurableObject", "FetchKwargs", "FetchResponse", "File", "FormData", "FormDataValue", "Headers", "JSBody", "Request", "RequestInitCfProperties", "Response", "WorkerEntrypoint", "WorkflowEntrypoint", "env", "fetch", "handler", "import_from_javascript", "python_from_rpc", "python_to_rpc", "waitUntil"])
          assert.ok(b.names.includes(n), n);
        res = assertProtocol(await runHost(cfg("PUT", "http://localhost/asgi", "B")), 0);
        assert.equal(res.status, 202);
        assert.equal(res.body, "asgi /asgi B");
        res = assertProtocol(await runHost(cfg("GET", "http://localhost/redirect", null)), 0);
        assert.equal(res.status, 301);
        res = assertProtocol(await runHost(cfg("GET", "http://localhost/net", null)), 0);
        assert.equal(res.status, 599);
        assert.match(res.body, /network access is disabled/);
      });

      test("canonical hello world (Response.new), no packages", async () => {
        const r = await runHost(baseConfig(lay, W.hello));
        const res = assertProtocol(r, 0);
        assert.equal(res.ok, true);
        assert.equal(res.status, 200);
        assert.deepEqual(res.headers, [["content-type", "text/plain;charset=UTF-8"]]);
        assert.equal(res.body, "Hello world!");
        for (const k of ["boot_ms", "install_ms", "import_ms", "handler_ms", "snapshot_ms", "total_ms"])
          assert.equal(typeof res.timings[k], "number", k);
      });

      test("sync def raising -> PythonError with traceback, exit 1", async () => {
        const r = await runHost(baseConfig(lay, W.fail));
        const res = assertProtocol(r, 1);
        assert.equal(res.ok, false);
        assert.equal(res.error.type, "PythonError");
        assert.equal(res.error.message, "ValueError: boom GET");
        assert.match(res.error.traceback, /^Traceback \(most recent call last\):/);
        // worker frames name the worker's real path
        assert.ok(res.error.traceback.includes(`File "${W.fail}", line 5, in compute`), res.error.traceback);
        assert.ok(res.error.traceback.includes("in on_fetch"), res.error.traceback);
      });

      test("wheels shipped inside the npm distribution", (t) => {
        const whls = fs.readdirSync(lay.src).filter((f) => f.endsWith(".whl"));
        if (whls.length === 0) return t.skip("the npm tarball ships no wheels (core files only)");
        // If a future tarball ships wheels, they must be listed in its lock.
        const names = new Set(Object.values(lay.distLock.packages).map((p) => p.file_name));
        for (const w of whls) assert.ok(names.has(w), `${w} is not in the distribution's lock`);
      });

      let madeRandom;
      test("snapshot make: wheel install, request echo, print to stderr, network refused", async () => {
        fs.rmSync(snapPath, { force: true });
        const r = await runHost(echoConfig(lay, { snapshot: { mode: "make", path: snapPath } }));
        const res = assertProtocol(r, 0);
        madeRandom = assertEcho(res, version).random;
        assert.equal(res.snapshot.mode, "make");
        assert.ok(fs.existsSync(snapPath));
        assert.ok(!fs.existsSync(snapPath + ".tmp"));
        assert.equal(res.snapshot.bytes, fs.statSync(snapPath).size);
        assert.ok(res.timings.install_ms > 0);
        // print() output and Pyodide's messages went to stderr, not stdout
        assert.match(r.stderr, /worker-imported-marker/);
        assert.match(r.stderr, /handler-print-marker/);
        assert.ok(!r.stdout.includes("marker"));
      });

      test("snapshot load: no install, no re-import, files restored, random reseeded", async () => {
        const r1 = await runHost(echoConfig(lay, { snapshot: { mode: "load", path: snapPath } }));
        const res1 = assertProtocol(r1, 0);
        const body1 = assertEcho(res1, version);
        assert.equal(res1.snapshot.mode, "load");
        assert.equal(res1.timings.install_ms, 0);
        assert.ok(!r1.stderr.includes("worker-imported-marker"), "the worker was imported again");
        assert.ok(!/Loading almtest/.test(r1.stderr), "the wheel was installed again");
        assert.match(r1.stderr, /handler-print-marker/);
        // Without a reseed, the load would replay the random state the make run continued from.
        assert.notEqual(body1.random, madeRandom, "random state was not reseeded after load");
      });

      test("snapshot load refuses a stale snapshot (worker changed)", async () => {
        const copyDir = path.join(TMP, version, "echo-changed");
        fs.mkdirSync(copyDir, { recursive: true });
        fs.copyFileSync(W.echoHelper, path.join(copyDir, "helper.py"));
        fs.writeFileSync(path.join(copyDir, "main.py"), fs.readFileSync(W.echo, "utf8") + "\n# changed\n");
        const cfg = echoConfig(lay, { snapshot: { mode: "load", path: snapPath } });
        cfg.worker = path.join(copyDir, "main.py");
        const res = assertProtocol(await runHost(cfg), 2);
        assert.equal(res.error.type, "HostError");
        assert.equal(res.error.code, "snapshot_stale");
      });
    });
  }

  // Host/config errors are found before Pyodide boots: fast, exit 2.
  describe("host errors (exit 2, before boot)", { concurrency: 1 }, () => {
    let lay;
    before(() => {
      lay = layout(VERSIONS[0], "errors");
    });
    const hostError = async (cfg, re, code) => {
      const res = assertProtocol(await runHost(cfg), 2);
      assert.equal(res.ok, false);
      assert.equal(res.error.type, "HostError");
      assert.match(res.error.message, re);
      if (code) assert.equal(res.error.code, code);
    };

    test("missing worker", () => hostError(baseConfig(lay, path.join(WORKERS, "nope.py")), /does not exist/));
    test("package not in the lock", () =>
      hostError(baseConfig(lay, W.hello, { packages: ["numpy"] }), /"numpy" is not in the lock file/));
    test("package file with the wrong sha256", () => {
      const lock = JSON.parse(fs.readFileSync(lay.lockFile, "utf8"));
      lock.packages.almtest.sha256 = "0".repeat(64);
      const bad = path.join(lay.dir, "bad-sha-lock.json");
      fs.writeFileSync(bad, JSON.stringify(lock));
      return hostError(baseConfig(lay, W.hello, { lock_file: bad, packages: ["almtest"] }), /has sha256 .* the lock says 0{64}/);
    });
    test("package file missing from the layout (no CDN fallback)", () => {
      const lock = JSON.parse(fs.readFileSync(lay.lockFile, "utf8"));
      lock.packages.almtest.file_name = "almtest-9.9.9-py3-none-any.whl";
      const bad = path.join(lay.dir, "missing-file-lock.json");
      fs.writeFileSync(bad, JSON.stringify(lock));
      return hostError(baseConfig(lay, W.hello, { lock_file: bad, packages: ["almtest"] }), /is missing/);
    });
    test("GET with a body", () =>
      hostError(baseConfig(lay, W.hello, { request: { method: "GET", url: "http://x/", body: "b" } }), /cannot have a body/));
    test("bad snapshot mode", () =>
      hostError(baseConfig(lay, W.hello, { snapshot: { mode: "sometimes" } }), /snapshot.mode/));
    test("missing snapshot file", () =>
      hostError(
        baseConfig(lay, W.hello, { snapshot: { mode: "load", path: path.join(TMP, "none.snap") } }),
        /does not exist/,
        "snapshot_missing",
      ));
    test("not a snapshot", () => {
      const p = path.join(TMP, "garbage.snap");
      fs.writeFileSync(p, "garbage".repeat(10));
      return hostError(baseConfig(lay, W.hello, { snapshot: { mode: "load", path: p } }), /not a valid/, "snapshot_invalid");
    });
    test("unreadable config", async () => {
      const res = assertProtocol(await runHostRaw(["/nonexistent/config.json"]), 2);
      assert.equal(res.error.type, "HostError");
    });
  });

  after(() => {
    assert.equal(serverConnections, 0, "something connected to the local probe server");
  });
});

function runHostRaw(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOST, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const lines = stdout.split("\n").filter((l) => l !== "");
      let result;
      try {
        result = JSON.parse(lines[lines.length - 1]);
      } catch {}
      resolve({ code, stdout, stderr, lines, result });
    });
  });
}
