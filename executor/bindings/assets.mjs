// Static assets (the `assets` config: directory, binding, html_handling,
// not_found_handling, run_worker_first), with the platform's routing rules:
//   - GET/HEAD requests matching an asset are served before the worker;
//   - a request matching no asset falls through to the worker (serve() -> null); without a
//     worker, not_found_handling answers (404, nearest 404.html, or the SPA's index.html);
//   - run_worker_first: true sends every request to the worker first, a list of route
//     patterns ("/api/*", negated with "!") only the matching ones;
//   - env.ASSETS.fetch(request) resolves as if there were no worker.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { contentType } from "./mime.mjs";
import { fetchArgs } from "./common.mjs";

const HTML_HANDLING = ["auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none"];
const NOT_FOUND = ["none", "404-page", "single-page-application"];
// Files in the directory that configure the upload and are never served.
const NEVER_SERVED = new Set([".assetsignore", "_headers", "_redirects", "_routes.json", "_worker.js"]);

function globToRegExp(g) {
  let re = "";
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === "*") {
      if (g[i + 1] === "*") {
        re += ".*";
        i++;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return re;
}

// .assetsignore: gitignore-like lines; a pattern without "/" matches a name at any depth.
function readIgnore(dir) {
  let text;
  try {
    text = fs.readFileSync(path.join(dir, ".assetsignore"), "utf8");
  } catch {
    return [];
  }
  const out = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.trim();
    if (line === "" || line.startsWith("#")) continue;
    const neg = line.startsWith("!");
    if (neg) line = line.slice(1);
    const dirOnly = line.endsWith("/");
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes("/");
    if (line.startsWith("/")) line = line.slice(1);
    const body = globToRegExp(line);
    const re = new RegExp((anchored ? "^" : "(^|/)") + body + (dirOnly ? "/" : "(/|$)"));
    out.push({ re, neg });
  }
  return out;
}

export class Assets {
  constructor(config, projectDir) {
    const a = config.assets || {};
    if (typeof a.directory !== "string" || a.directory === "") {
      throw new Error("almanac: assets.directory must be set to serve static assets");
    }
    this.dir = path.resolve(projectDir || ".", a.directory);
    if (!fs.existsSync(this.dir) || !fs.statSync(this.dir).isDirectory()) {
      throw new Error(`almanac: assets.directory ${this.dir} is not a directory`);
    }
    this.htmlHandling = a.html_handling ?? "auto-trailing-slash";
    if (!HTML_HANDLING.includes(this.htmlHandling)) {
      throw new Error(`almanac: assets.html_handling must be one of ${HTML_HANDLING.join(", ")}, not ${JSON.stringify(this.htmlHandling)}`);
    }
    this.notFound = a.not_found_handling ?? "none";
    if (!NOT_FOUND.includes(this.notFound)) {
      throw new Error(`almanac: assets.not_found_handling must be one of ${NOT_FOUND.join(", ")}, not ${JSON.stringify(this.notFound)}`);
    }
    const rwf = a.run_worker_first ?? false;
    if (typeof rwf !== "boolean" && !(Array.isArray(rwf) && rwf.every((p) => typeof p === "string"))) {
      throw new Error("almanac: assets.run_worker_first must be a boolean or a list of route patterns");
    }
    this.runWorkerFirst = rwf;
    this.rwfRules = Array.isArray(rwf)
      ? rwf.map((p) => {
          const neg = p.startsWith("!");
          const pat = neg ? p.slice(1) : p;
          return { neg, re: new RegExp("^" + pat.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$") };
        })
      : [];
    this.hasWorker = typeof config.main === "string" && config.main !== "";
    this.ignore = readIgnore(this.dir);
    this.binding = typeof a.binding === "string" && a.binding !== "" ? a.binding : null;
  }

  // The file of URL path p ("/a/b.css") when it is a servable regular file, else null.
  #file(p) {
    if (!p.startsWith("/")) return null;
    const rel = p.slice(1);
    if (rel === "" || rel.split("/").some((s) => s === "" || s === "." || s === "..")) return null;
    if (NEVER_SERVED.has(rel)) return null;
    let ignored = false;
    for (const r of this.ignore) if (r.re.test(rel)) ignored = !r.neg;
    if (ignored) return null;
    const f = path.join(this.dir, rel);
    if (!f.startsWith(this.dir + path.sep)) return null;
    try {
      const st = fs.statSync(f);
      return st.isFile() ? f : null;
    } catch {
      return null;
    }
  }

  // -> {file, status} to serve, {redirect} (a path), or null when nothing matches.
  resolve(pathname) {
    let p;
    try {
      p = decodeURIComponent(pathname);
    } catch {
      return null;
    }
    if (p.includes("\0")) return null;
    const mode = this.htmlHandling;
    if (mode === "none") {
      const f = this.#file(p);
      return f ? { file: f } : null;
    }
    // an exact non-HTML file is itself
    if (!p.endsWith("/") && !p.endsWith(".html")) {
      const f = this.#file(p);
      if (f) return { file: f };
    }
    let base;
    let kinds; // which of "file" (base.html) / "index" (base/index.html) the request can mean
    if (p.endsWith("/index.html")) {
      base = p.slice(0, -"/index.html".length);
      kinds = ["index"];
    } else if (p.endsWith(".html")) {
      base = p.slice(0, -".html".length);
      kinds = ["file"];
    } else if (p.endsWith("/")) {
      base = p.slice(0, -1);
      kinds = mode === "force-trailing-slash" ? ["index", "file"] : ["index", "file"];
    } else {
      base = p;
      kinds = ["file", "index"];
    }
    if (base === "") kinds = ["index"];
    let found = null;
    for (const k of kinds) {
      const f = k === "file" ? this.#file(base + ".html") : this.#file(base + "/index.html");
      if (f) {
        found = { kind: k, file: f };
        break;
      }
    }
    if (!found) return null;
    let canonical;
    if (base === "") canonical = "/";
    else if (mode === "force-trailing-slash") canonical = base + "/";
    else if (mode === "drop-trailing-slash") canonical = base;
    else canonical = found.kind === "file" ? base : base + "/";
    if (canonical === p) return { file: found.file };
    return { redirect: canonical };
  }

  #notFoundPage(p) {
    if (this.notFound === "single-page-application") {
      const f = this.#file("/index.html");
      if (f) return { file: f, status: 200 };
    } else if (this.notFound === "404-page") {
      let d = p.endsWith("/") ? p.slice(0, -1) : p.slice(0, p.lastIndexOf("/"));
      for (;;) {
        const f = this.#file(d + "/404.html");
        if (f) return { file: f, status: 404 };
        if (d === "") break;
        d = d.slice(0, d.lastIndexOf("/"));
      }
    }
    return null;
  }

  #respond(request, r, url) {
    if (r.redirect) {
      return new Response(null, { status: 307, headers: { location: r.redirect + url.search } });
    }
    const bytes = fs.readFileSync(r.file);
    const etag = '"' + crypto.createHash("sha256").update(bytes).digest("hex").slice(0, 32) + '"';
    const headers = new Headers({
      "content-type": contentType(r.file),
      etag,
      "cache-control": "public, max-age=0, must-revalidate",
    });
    const status = r.status || 200;
    const inm = request.headers.get("if-none-match");
    if (status === 200 && inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(request.method === "HEAD" ? null : bytes, { status, headers });
  }

  #workerFirst(pathname) {
    if (this.runWorkerFirst === true) return true;
    if (!this.rwfRules.length) return false;
    let hit = false;
    for (const r of this.rwfRules) {
      if (r.re.test(pathname)) {
        if (r.neg) return false;
        hit = true;
      }
    }
    return hit;
  }

  // Before the worker: a Response, or null to hand the request to the worker.
  async serve(request) {
    const url = new URL(request.url);
    if (this.hasWorker && this.#workerFirst(url.pathname)) return null;
    return this.#lookup(request, url, !this.hasWorker);
  }

  // env.ASSETS.fetch(): resolution as if no worker were there.
  async fetch(input, init) {
    const request = toRequest(input, init);
    return this.#lookup(request, new URL(request.url), true);
  }

  async #lookup(request, url, final) {
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") {
      if (!final) return null;
      return new Response("Method Not Allowed", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const r = this.resolve(url.pathname);
    if (r) return this.#respond(request, r, url);
    if (!final) {
      // with a worker, a navigation the SPA owns is still served from assets
      if (this.notFound === "single-page-application" && request.headers.get("sec-fetch-mode") === "navigate") {
        const nf = this.#notFoundPage(url.pathname);
        if (nf) return this.#respond(request, nf, url);
      }
      return null;
    }
    const nf = this.#notFoundPage(url.pathname);
    if (nf) return this.#respond(request, nf, url);
    return new Response(null, { status: 404 });
  }
}

function toRequest(rawInput, rawInit) {
  let [input, init] = fetchArgs(rawInput, rawInit);
  if (input instanceof Request) return init ? new Request(input, init) : input;
  if (input instanceof URL) input = input.href;
  if (typeof input === "string" && input.startsWith("/")) input = "http://assets.local" + input;
  return new Request(input, init);
}
