#!/usr/bin/env node
// Cold-start benchmark for executor/host.mjs.
//
//   node executor/bench.mjs [VERSION ...]        (default: 0.27.7 0.28.3 314.0.7)
//
// For each Pyodide distribution under $PYODIDE_DISTS/VERSION/package/ (default $ALMANAC_CACHE/pyodide, where `almanacd seed` unpacks them) it
// lays out a run directory (hard links), then runs the canonical hello-world worker
// $RUNS times (default 5) with snapshot mode "none", once with "make", and $RUNS times with
// "load". Runs are sequential. Reported: the median wall time from spawn() until the result
// line arrives on stdout (= node process start -> response), and the median of the host's
// own timings.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const HOST = fileURLToPath(new URL("./host.mjs", import.meta.url));
const DISTS =
  process.env.PYODIDE_DISTS ||
  path.join(process.env.ALMANAC_CACHE || path.join(os.homedir(), ".cache", "almanac"), "pyodide");
const RUNS = Number(process.env.RUNS || 5);
const versions = process.argv.slice(2).length ? process.argv.slice(2) : ["0.27.7", "0.28.3", "314.0.7"];
const CORE = /^(pyodide\.mjs|pyodide\.asm\.(js|mjs|wasm)|python_stdlib\.zip)$/;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "almanac-bench-"));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function run(cfgPath) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let tLine = null;
    let out = "";
    const child = spawn(process.execPath, [HOST, cfgPath], { stdio: ["ignore", "pipe", "ignore"] });
    child.stdout.on("data", (d) => {
      out += d;
      if (tLine === null && out.includes("\n")) tLine = performance.now() - t0;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const res = JSON.parse(out.trim().split("\n").pop());
      if (!res.ok) return reject(new Error(`run failed (exit ${code}): ${out}`));
      resolve({ wall: tLine, exit: performance.now() - t0, t: res.timings });
    });
  });
}

const worker = path.join(tmp, "worker.py");
fs.writeFileSync(
  worker,
  'from js import Response\nasync def on_fetch(request, env):\n    return Response.new("Hello world!")\n',
);

const rows = [];
for (const v of versions) {
  const src = path.join(DISTS, v, "package");
  if (!fs.existsSync(path.join(src, "pyodide.mjs"))) {
    console.error(`skip ${v}: no ${src}/pyodide.mjs`);
    continue;
  }
  const dir = path.join(tmp, v) + "/";
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(src))
    if (CORE.test(f)) {
      try {
        fs.linkSync(path.join(src, f), dir + f);
      } catch {
        fs.copyFileSync(path.join(src, f), dir + f);
      }
    }
  const lock = JSON.parse(fs.readFileSync(path.join(src, "pyodide-lock.json"), "utf8"));
  fs.writeFileSync(dir + "pyodide-lock.json", JSON.stringify({ info: lock.info, packages: {} }));
  const snap = path.join(tmp, `${v}.snap`);
  const cfg = (mode) => {
    const p = path.join(tmp, `${v}-${mode}.json`);
    fs.writeFileSync(
      p,
      JSON.stringify({
        dir,
        lock_file: dir + "pyodide-lock.json",
        packages: [],
        worker,
        request: { method: "GET", url: "http://localhost/", headers: [], body: null },
        env: {},
        snapshot: mode === "none" ? { mode } : { mode, path: snap },
        timings: true,
      }),
    );
    return p;
  };
  const measure = async (mode, n) => {
    const rs = [];
    for (let i = 0; i < n; i++) rs.push(await run(cfg(mode)));
    const med = (k) => Math.round(median(rs.map((r) => r.t[k])));
    return {
      version: v,
      mode,
      runs: n,
      wall_ms: Math.round(median(rs.map((r) => r.wall))),
      wall_all: rs.map((r) => Math.round(r.wall)),
      boot_ms: med("boot_ms"),
      import_ms: med("import_ms"),
      handler_ms: med("handler_ms"),
      snapshot_ms: med("snapshot_ms"),
    };
  };
  rows.push(await measure("none", RUNS));
  rows.push(await measure("make", 1));
  rows.push({ ...(await measure("load", RUNS)), snapshot_bytes: fs.statSync(snap).size });
  console.error(JSON.stringify(rows.slice(-3)));
}

console.log("version  mode  runs  median_wall_ms  (all)                          boot  import  handler  snapshot");
for (const r of rows)
  console.log(
    `${r.version.padEnd(8)} ${r.mode.padEnd(5)} ${String(r.runs).padStart(4)}  ${String(r.wall_ms).padStart(14)}  ${JSON.stringify(
      r.wall_all,
    ).padEnd(30)} ${String(r.boot_ms).padStart(5)} ${String(r.import_ms).padStart(7)} ${String(r.handler_ms).padStart(8)} ${String(
      r.snapshot_ms,
    ).padStart(9)}`,
  );
fs.rmSync(tmp, { recursive: true, force: true });
