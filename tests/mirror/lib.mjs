// tests/mirror/lib.mjs: helpers for the mirror tests: run the CLI with its own config
// and cache directories, and a fake mirror that forwards to an upstream almanacd and
// lets a test replace any answer (to serve the bad thing and check the refusal).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { ROOT } from '../api/lib/harness.mjs';

export const BIN = path.resolve(ROOT, process.env.ALMANAC_BIN_DIR || 'build');
export const TODAY = '2026-11-25';

/* JSON with sorted keys and no whitespace: the canonical form of a lock. */
export function canonical(v) {
  if (Array.isArray(v))
    return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/* A CLI user: its own config dir (trust state) and cache. */
export class User {
  constructor(tag) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `almanac-mirror-${tag}-`));
    this.env = { ...process.env, XDG_CONFIG_HOME: path.join(this.dir, 'config'),
                 ALMANAC_CACHE: path.join(this.dir, 'cache'), ALMANAC_TODAY: TODAY, HOME: this.dir };
    delete this.env.ALMANAC_KEY;
    delete this.env.ALMANAC_TOKEN;
  }

  /* Run the CLI without blocking the event loop (a fake mirror in this process must
   * keep answering); resolves {code, stdout, stderr}. */
  run(server, args, extraEnv = {}) {
    return new Promise((resolve, reject) => {
      const p = spawn(path.join(BIN, 'almanac'), args, {
        env: { ...this.env, ALMANAC_SERVER: server, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '', stderr = '';
      const timer = setTimeout(() => p.kill('SIGKILL'), 120000);
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('error', reject);
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? signal, stdout, stderr });
      });
    });
  }

  file(name, data) {
    const p = path.join(this.dir, name);
    fs.writeFileSync(p, data);
    return p;
  }

  cleanup() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/* A mirror in front of upstream (a URL). hook(req, body) may return
 * {status, headers, body} (a Buffer or string, or a function(res) that writes the
 * answer itself) to answer instead of upstream; null forwards. */
export async function fakeMirror(upstream, hook = () => null) {
  const up = new URL(upstream);
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      let over;
      try {
        over = await srv.hook(req, body);
      } catch (e) {
        res.writeHead(500).end(String(e));
        return;
      }
      if (over) {
        if (typeof over.body === 'function') {
          over.body(res);
          return;
        }
        res.writeHead(over.status || 200, over.headers || {});
        res.end(over.body);
        return;
      }
      const h = { ...req.headers, host: up.host };
      const p = http.request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: h },
                             (ur) => {
                               res.writeHead(ur.statusCode, ur.headers);
                               ur.pipe(res);
                             });
      p.on('error', (e) => res.writeHead(502).end(String(e)));
      p.end(body);
    });
  });
  srv.hook = hook;
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  srv.url = `http://127.0.0.1:${srv.address().port}`;
  return srv;
}

/* GET url; resolves {status, headers, body}. */
export function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

/* POST JSON; resolves {status, json}. */
export function postJson(url, obj) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(obj));
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': data.length } },
                             (res) => {
                               const chunks = [];
                               res.on('data', (c) => chunks.push(c));
                               res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
                             });
    req.on('error', reject);
    req.end(data);
  });
}

/* A free loopback port. */
export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/* Wait until GET url answers 200. */
export async function waitFor(url, tries = 100) {
  for (let i = 0; i < tries; i++) {
    try {
      const r = await get(url);
      if (r.status === 200)
        return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

/* Python's http.server on dir (a static tree); the process goes to procs. */
export async function pythonServeDir(dir, procs) {
  const port = await freePort();
  const p = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir],
                  { stdio: 'ignore' });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/almanac-mirror.json`);
  return url;
}

export function haveNginx() {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/* nginx with nothing but a root (no index files, rewrites or content negotiation)
 * on dir; its configuration lives under work; the process goes to procs. */
export async function nginxServeDir(dir, work, procs) {
  const port = await freePort();
  const conf = path.join(work, `nginx-${port}`);
  fs.mkdirSync(conf);
  fs.writeFileSync(path.join(conf, 'nginx.conf'), `
master_process off;
daemon off;
pid ${conf}/nginx.pid;
error_log ${conf}/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${conf};
    proxy_temp_path ${conf};
    fastcgi_temp_path ${conf};
    uwsgi_temp_path ${conf};
    scgi_temp_path ${conf};
    server { listen 127.0.0.1:${port}; root ${dir}; }
}
`);
  const p = spawn('nginx', ['-c', path.join(conf, 'nginx.conf'), '-p', conf], { stdio: 'ignore' });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/almanac-mirror.json`);
  return url;
}
