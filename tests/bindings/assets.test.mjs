import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createBindings } from "../../executor/bindings/index.mjs";
import { tmpDir } from "./helpers.mjs";

function project() {
  const dir = tmpDir("assets");
  const files = {
    "public/index.html": "<h1>home</h1>",
    "public/about.html": "<h1>about</h1>",
    "public/docs/index.html": "<h1>docs</h1>",
    "public/docs/404.html": "docs missing",
    "public/404.html": "missing",
    "public/style.css": "body{}",
    "public/app.js": "1",
    "public/data.json": "{}",
    "public/img.png": "\x89PNG",
    "public/font.woff2": "w",
    "public/blob.unknownext": "?",
    "public/secret.txt": "hidden",
    "public/.assetsignore": "secret.txt\n",
  };
  for (const [f, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), c);
  }
  return dir;
}

const get = (url, headers) => new Request("http://localhost" + url, { headers });

async function make(assets, extra = {}) {
  const projectDir = project();
  return createBindings({ config: { assets: { directory: "./public", ...assets }, ...extra }, projectDir, stateDir: tmpDir("as") });
}

test("assets before the worker: index.html for /, content types, fall-through", async () => {
  const { assets, close } = await make({}, { main: "src/entry.py" });
  let r = await assets.serve(get("/"));
  assert.equal(r.status, 200);
  assert.equal(await r.text(), "<h1>home</h1>");
  assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
  const types = {
    "/style.css": "text/css; charset=utf-8",
    "/app.js": "text/javascript; charset=utf-8",
    "/data.json": "application/json; charset=utf-8",
    "/img.png": "image/png",
    "/font.woff2": "font/woff2",
    "/blob.unknownext": "application/octet-stream",
  };
  for (const [u, t] of Object.entries(types)) assert.equal((await assets.serve(get(u))).headers.get("content-type"), t, u);
  assert.equal(await assets.serve(get("/api/hello")), null, "no asset: the worker answers");
  assert.equal(await assets.serve(get("/secret.txt")), null, ".assetsignore'd files are not served");
  assert.equal(await assets.serve(get("/.assetsignore")), null);
  assert.equal(await assets.serve(get("/../etc/passwd")), null);
  assert.equal(await assets.serve(get("/%2e%2e/%2e%2e/etc/passwd")), null);
  assert.equal(await assets.serve(new Request("http://localhost/style.css", { method: "POST", body: "x" })), null, "POST goes to the worker");
  r = await assets.serve(new Request("http://localhost/style.css", { method: "HEAD" }));
  assert.equal(r.status, 200);
  assert.equal(await r.text(), "");
  const etag = (await assets.serve(get("/style.css"))).headers.get("etag");
  assert.equal((await assets.serve(get("/style.css", { "if-none-match": etag }))).status, 304);
  close();
});

test("html_handling auto-trailing-slash (default)", async () => {
  const { assets, close } = await make({}, { main: "w.py" });
  const cases = [
    ["/about", 200, "<h1>about</h1>"],
    ["/about.html", 307, "/about"],
    ["/about/", 307, "/about"],
    ["/docs", 307, "/docs/"],
    ["/docs/", 200, "<h1>docs</h1>"],
    ["/docs/index.html", 307, "/docs/"],
    ["/index.html", 307, "/"],
  ];
  for (const [u, status, x] of cases) {
    const r = await assets.serve(get(u));
    assert.equal(r.status, status, u);
    if (status === 307) assert.equal(r.headers.get("location"), x, u);
    else assert.equal(await r.text(), x, u);
  }
  assert.equal((await assets.serve(get("/about.html?x=1"))).headers.get("location"), "/about?x=1");
  close();
});

test("html_handling force-trailing-slash, drop-trailing-slash, none", async () => {
  let b = await make({ html_handling: "force-trailing-slash" }, { main: "w.py" });
  assert.equal((await b.assets.serve(get("/about"))).headers.get("location"), "/about/");
  assert.equal(await (await b.assets.serve(get("/about/"))).text(), "<h1>about</h1>");
  assert.equal((await b.assets.serve(get("/docs"))).headers.get("location"), "/docs/");
  b.close();
  b = await make({ html_handling: "drop-trailing-slash" }, { main: "w.py" });
  assert.equal(await (await b.assets.serve(get("/docs"))).text(), "<h1>docs</h1>");
  assert.equal((await b.assets.serve(get("/docs/"))).headers.get("location"), "/docs");
  assert.equal((await b.assets.serve(get("/about.html"))).headers.get("location"), "/about");
  b.close();
  b = await make({ html_handling: "none" }, { main: "w.py" });
  assert.equal(await b.assets.serve(get("/about")), null);
  assert.equal(await (await b.assets.serve(get("/about.html"))).text(), "<h1>about</h1>");
  assert.equal(await b.assets.serve(get("/")), null);
  b.close();
  await assert.rejects(make({ html_handling: "sometimes" }), /html_handling must be one of/);
  await assert.rejects(make({ not_found_handling: "x" }), /not_found_handling must be one of/);
  await assert.rejects(make({ directory: "./nope" }), /is not a directory/);
});

test("not_found_handling without a worker; SPA navigations with one", async () => {
  let b = await make({});
  assert.equal((await b.assets.serve(get("/nothing"))).status, 404);
  assert.equal(await (await b.assets.serve(get("/nothing"))).text(), "");
  assert.equal((await b.assets.serve(new Request("http://x/a", { method: "POST" }))).status, 405);
  b.close();
  b = await make({ not_found_handling: "404-page" });
  let r = await b.assets.serve(get("/docs/deep/nothing"));
  assert.equal(r.status, 404);
  assert.equal(await r.text(), "docs missing");
  r = await b.assets.serve(get("/nothing"));
  assert.equal(await r.text(), "missing");
  b.close();
  b = await make({ not_found_handling: "single-page-application" });
  r = await b.assets.serve(get("/app/route"));
  assert.equal(r.status, 200);
  assert.equal(await r.text(), "<h1>home</h1>");
  b.close();
  b = await make({ not_found_handling: "single-page-application" }, { main: "w.py" });
  assert.equal(await b.assets.serve(get("/api/x")), null, "fetch() calls go to the worker");
  r = await b.assets.serve(get("/app/route", { "sec-fetch-mode": "navigate" }));
  assert.equal(await r.text(), "<h1>home</h1>");
  b.close();
});

test("run_worker_first and env.ASSETS.fetch", async () => {
  let b = await make({ binding: "ASSETS", run_worker_first: true }, { main: "w.py" });
  assert.equal(await b.assets.serve(get("/style.css")), null);
  let r = await b.env.ASSETS.fetch(get("/style.css"));
  assert.equal(await r.text(), "body{}");
  r = await b.env.ASSETS.fetch("http://whatever/about");
  assert.equal(await r.text(), "<h1>about</h1>");
  assert.equal((await b.env.ASSETS.fetch("http://whatever/none")).status, 404);
  b.close();
  b = await make({ binding: "ASSETS", run_worker_first: ["/api/*", "!/api/docs/*"] }, { main: "w.py" });
  assert.equal(await b.assets.serve(get("/api/x")), null);
  assert.equal(await b.assets.serve(get("/api/docs/x")), null, "negated: assets first, and no asset matches");
  assert.equal((await b.assets.serve(get("/style.css"))).status, 200);
  b.close();
  await assert.rejects(make({ run_worker_first: "yes" }), /run_worker_first must be/);
});
