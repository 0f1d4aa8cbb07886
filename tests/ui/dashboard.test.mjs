// The dashboard end to end in Debian's chromium (playwright-core), against a real
// almanacd with the seed catalog and a registry of a few hundred workers deployed
// through the API: every page (clean load: no 4xx/5xx, no console error, no layout
// shift, axe-core finds nothing serious, a screenshot at 1280x800 and at phone
// width), the login, a plan and an apply with its confirmation, a resolve with an
// error, pagination, catalog drafts and publishing, events and webhook deliveries,
// a mirror, the keyboard, and the page served from another origin through CORS.
import http from 'node:http';
import { after, test } from 'node:test';

import { api, server, startServer, validate } from '../api/lib/harness.mjs';
import { BLOCKING_REQ, CLS_INIT, assert, axe, deployFleet, launch, screenshot, skipReason, staticServer, watch, UI_DIR } from './lib.mjs';

const SKIP = skipReason();
const FLEET = 300;
const PAGE = 50;
const MAX_CLS = 0.01;

const PAGES = [
  ['overview', '/ui/'],
  ['timeline', '/ui/timeline'],
  ['resolve', '/ui/resolve'],
  ['workers', '/ui/workers'],
  ['worker', '/ui/workers/w-0001'],
  ['eol', '/ui/eol?as_of=2028-10-02'],
  ['catalog', '/ui/catalog'],
  ['events', '/ui/events'],
  ['login', '/ui/login'],
];

if (SKIP) {
  console.log(`# dashboard tests skipped: ${SKIP}`);
  test('dashboard in a browser', { skip: SKIP }, () => {});
} else {
  let browser, other, base, nDeployed;
  const received = [];
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => { received.push(req.url); res.writeHead(received.length === 1 ? 500 : 204).end(); });
  });

  // Top level (not a before hook): the harness stops the server in an after hook of
  // this file.
  {
    other = await staticServer(''); // the API origin is set below, once known
    await startServer({ serveArgs: ['--ui-dir', UI_DIR, '--no-sweep', '--webhook-allow-private', '--cors-origin', other.origin],
                        env: { ALMANAC_WEBHOOK_BACKOFF_MS: '100' } });
    base = server().url;
    other.setApi(base);
    nDeployed = await deployFleet(FLEET);
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    validate('PUT', '/v1/webhooks/{id}', 201, await api('PUT', '/v1/webhooks/hook1', {
      token: true, body: { url: `http://127.0.0.1:${receiver.address().port}/hook`, events: ['worker.moved', 'worker.blocked'], secret: 'a-secret-of-sixteen-bytes' } }));
    browser = await launch();
  }
  after(async () => {
    if (browser)
      await browser.close();
    if (other)
      await other.close();
    await new Promise((r) => receiver.close(r));
  });

  async function open(path, { width = 1280, height = 800, token = null, init = null } = {}) {
    const page = await browser.ctx.newPage();
    await page.setViewportSize({ width, height });
    await page.addInitScript(CLS_INIT);
    if (token)
      await page.addInitScript((t) => sessionStorage.setItem('almanac.token', t), token);
    if (init)
      await init(page);
    const bad = watch(page);
    const requests = [];
    page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), headers: r.headers() }));
    await page.goto(base + path);
    await page.waitForLoadState('networkidle');
    await page.locator('h1').first().waitFor();
    return { page, bad, requests };
  }

  test('every page loads cleanly, with a <nav>, at desktop and phone widths; axe finds nothing serious', async () => {
    for (const [name, path] of PAGES) {
      for (const [w, h, suffix] of [[1280, 800, ''], [390, 844, '-phone']]) {
        const { page, bad } = await open(path, { width: w, height: h });
        await page.waitForSelector('.loading', { state: 'detached' });
        assert.deepEqual(bad, [], `${path} at ${w}px: requests that failed or console errors`);
        const nav = await page.locator('nav[aria-label="Pages"] a').allTextContents();
        assert.deepEqual(nav, ['Overview', 'Timeline', 'Resolve', 'Workers', 'End of support', 'Catalog', 'Events'], `${path}: nav links`);
        const cls = await page.evaluate(() => window.__cls);
        assert.ok(cls < MAX_CLS, `${path} at ${w}px: layout shift ${cls}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${path} at ${w}px: the page is ${overflow}px wider than the window`);
        if (!suffix) {
          assert.deepEqual(await axe(page), [], `${path}: axe-core serious/critical violations`);
          // Every nav link is a real URL of its own.
          assert.equal(await page.locator('nav[aria-label="Pages"] a[aria-current="page"]').count(), name === 'worker' || name === 'login' ? (name === 'worker' ? 1 : 0) : 1);
        }
        await screenshot(page, `${name}${suffix}`);
        await page.close();
      }
    }
  });

  test('dates are ISO text, and the timeline has a table for its chart', async () => {
    const { page, bad } = await open('/ui/timeline?as_of=2028-10-02');
    assert.equal(await page.locator('figure.timeline svg[role="img"]').count(), 1);
    const rows = await page.locator('section#tl-lines table tbody tr').allTextContents();
    assert.ok(rows.some((r) => r.includes('3.12') && r.includes('2023-10-02') && r.includes('2028-10-02') && r.includes('ended')), rows.join('\n'));
    assert.ok(rows.some((r) => r.includes('3.13') && r.includes('supported')), 'as of 2028-10-02, 3.13 (ends 2029-10-07) is not yet ending');
    assert.ok(rows.some((r) => r.includes('3.11') && r.includes('ended')), rows.join('\n'));
    const text = await page.locator('main').innerText();
    assert.doesNotMatch(text, /\b\d{1,2}\/\d{1,2}\/\d{4}\b/, 'a date in a locale format');
    assert.deepEqual(bad, []);
    await page.close();
  });

  test('the overview counts workers with /v1/workers/stats and never lists the registry', async () => {
    const { page, bad, requests } = await open('/ui/');
    const paths = requests.map((r) => new URL(r.url).pathname + new URL(r.url).search);
    assert.ok(paths.some((p) => p.startsWith('/v1/workers/stats')), paths.join(' '));
    assert.ok(!paths.some((p) => /^\/v1\/workers(\?|$)/.test(p) || p.startsWith('/v1/eol')), `the overview listed workers: ${paths.join(' ')}`);
    const stats = validate('GET', '/v1/workers/stats', 200, await api('GET', '/v1/workers/stats')).json;
    assert.equal(stats.total, nDeployed);
    const cards = await page.locator('.card').allTextContents();
    assert.ok(cards[0].includes(String(nDeployed)), cards.join('|'));
    const row312 = await page.locator('#lines-table tbody tr', { hasText: '2028-10-02' }).innerText();
    const n312 = stats.by_line.find((l) => l.python_line === '3.12').workers;
    assert.match(row312, new RegExp(`\\b${n312}\\b`));
    assert.deepEqual(bad, []);
    await page.close();
  });

  test('without a token, write parts show the login prompt and no refused request is made', async () => {
    const { page, bad, requests } = await open('/ui/eol?as_of=2028-10-02');
    await page.locator('#plan-groups').waitFor();
    assert.equal(await page.locator('#confirm-date').count(), 0);
    assert.ok(await page.getByRole('link', { name: 'Log in' }).count() >= 1);
    assert.ok(requests.every((r) => !r.headers.authorization), 'no request carries a token');
    const cat = await open('/ui/catalog');
    assert.equal(await cat.page.locator('#new-flag').count(), 0);
    assert.match(await cat.page.locator('main').innerText(), /needs an admin token/);
    assert.deepEqual([...bad, ...cat.bad], []);
    await page.close();
    await cat.page.close();
  });

  test('login keeps the token in sessionStorage, sends it as a bearer token, never in a URL', async () => {
    const { page, bad, requests } = await open('/ui/login?next=%2Fui%2Fcatalog');
    await page.getByLabel('Admin token').fill(server().token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL('**/ui/catalog');
    await page.locator('#new-flag').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('almanac.token')), server().token);
    assert.equal(await page.evaluate(() => Object.keys(localStorage).length), 0);
    assert.ok(requests.every((r) => !r.url.includes(server().token)), 'the token appeared in a URL');
    assert.ok(!page.url().includes(server().token));
    await page.getByRole('button', { name: 'Log out' }).click();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('almanac.token')), null);
    assert.deepEqual(bad, []);
    await page.close();
  });

  test('a resolve with an error shows the problem; a good one the lock, its signature link, and a diff', async () => {
    const { page, bad } = await open('/ui/resolve');
    await page.getByLabel('Compatibility date').fill('2024-04-01');
    await page.getByLabel('Compatibility flags').fill('python_workers');
    await page.getByRole('button', { name: 'Add flag' }).click();
    await page.getByLabel('Compatibility flags').fill('pyhton_workers_typo');
    await page.getByRole('button', { name: 'Add flag' }).click();
    await page.getByLabel('Requirements (requirements.txt lines)').fill('numpy');
    await page.getByRole('button', { name: 'Resolve' }).click();
    const problem = page.locator('.problem');
    await problem.waitFor();
    const text = await problem.innerText();
    const direct = await api('POST', '/v1/resolve', { body: { compatibility_date: '2024-04-01', compatibility_flags: ['python_workers', 'pyhton_workers_typo'], requirements: ['numpy'] } });
    validate('POST', '/v1/resolve', 422, direct);
    assert.ok(text.includes(direct.json.title), text);
    assert.ok(text.includes(direct.json.detail), text);
    for (const e of direct.json.errors) {
      assert.ok(text.includes(e.code) && text.includes(e.message), `errors[] entry ${e.code} missing: ${text}`);
    }
    // the 422 is the answer to the user's action, not to the page's load
    assert.deepEqual(bad.filter((b) => !b.includes('/v1/resolve') && !b.includes('422')), []);
    bad.length = 0;
    await page.getByRole('button', { name: 'Remove flag pyhton_workers_typo' }).click();
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.locator('#lock').waitFor();
    const pkgs = await page.locator('#packages table').innerText();
    assert.match(pkgs, /numpy/);
    assert.match(await page.locator('#artifacts table').innerText(), /pyodide\.asm\.wasm[\s\S]*[0-9a-f]{8}/);
    const sig = await page.getByRole('link', { name: 'minisign signature of this lock' }).getAttribute('href');
    assert.match(sig, /^\/v1\/locks\/sha256%3A[0-9a-f]{64}\/signature$/);
    const sres = await page.request.get(base + sig);
    assert.equal(sres.status(), 200);
    assert.match(await sres.text(), /trusted comment: almanac kind=lock/);
    assert.ok(page.url().includes('date=2024-04-01'), 'the resolve has its own URL');
    await page.getByLabel('From', { exact: true }).fill('2024-04-01');
    await page.getByLabel('To', { exact: true }).fill('2025-10-01');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.locator('.diff').waitFor();
    const diff = await page.locator('.diff').innerText();
    assert.match(diff, /3\.12\s*→\s*3\.13/);
    assert.match(diff, /numpy/);
    assert.deepEqual(bad, []);
    await page.close();
  });

  test('workers: cursor pagination through the whole registry, never more than the limit', async () => {
    const { page, bad, requests } = await open('/ui/workers');
    const seen = new Set();
    for (let p = 1; ; p++) {
      await page.locator(`#workers-table caption:text-is("Workers, page ${p}")`).waitFor();
      const names = await page.locator('#workers-table tbody tr td:first-child').allTextContents();
      assert.ok(names.length <= PAGE && names.length > 0);
      for (const n of names) {
        assert.ok(!seen.has(n), `${n} on two pages`);
        seen.add(n);
      }
      const next = page.getByRole('link', { name: 'Next page' });
      if (await next.count() === 0)
        break;
      await next.click();
      if (p === 2) { // and back
        await page.locator('#workers-table caption:text-is("Workers, page 3")').waitFor();
        await page.getByRole('link', { name: 'Previous page' }).click();
        await page.locator('#workers-table caption:text-is("Workers, page 2")').waitFor();
        await page.getByRole('link', { name: 'Next page' }).click();
      }
    }
    assert.equal(seen.size, nDeployed);
    const lists = requests.filter((r) => /\/v1\/workers\?/.test(r.url));
    assert.ok(lists.length >= Math.ceil(nDeployed / PAGE));
    assert.ok(lists.every((r) => new URL(r.url).searchParams.get('limit') === String(PAGE)));
    // filters: the API's, as URL parameters of the page
    await page.getByLabel('Python line').selectOption('3.13');
    await page.waitForURL(/python_line=3\.13/);
    await page.locator('#workers-table caption:text-is("Workers, page 1")').waitFor();
    await page.waitForLoadState('networkidle');
    const lines = await page.locator('#workers-table tbody tr td:nth-child(2)').allTextContents();
    assert.ok(lines.length > 0 && lines.every((l) => l === '3.13'), lines.join(','));
    await page.getByRole('link', { name: lines.length ? /^w-/ : 'x' }).first().click();
    await page.locator('#w-history table').waitFor();
    assert.match(await page.locator('h1').innerText(), /^Worker w-/);
    assert.deepEqual(bad, []);
    await page.getByRole('button', { name: 'Show where the policy moves it' }).click();
    await page.locator('#upgrade-steps li:nth-child(3)').waitFor();
    assert.match(await page.locator('#w-upgrade').innerText(), /On 2029-10-07: moves to Python 3\.14 \(pyodide-314/);
    // later ends may have no supported runtime: a 422 of the resolve the user asked for
    assert.deepEqual(bad.filter((b) => !/422/.test(b)), []);
    await page.close();
  });

  test('end of support: the plan, a confirmation by typing the date, then the apply', async () => {
    const plan = validate('GET', '/v1/eol/plan', 200, await api('GET', '/v1/eol/plan?as_of=2028-10-02')).json;
    assert.ok(plan.totals.moves > 0 && plan.totals.blocked > 0);
    const { page, bad, requests } = await open('/ui/eol?as_of=2028-10-02', { token: server().token });
    const groups = await page.locator('#plan-groups tbody').innerText();
    assert.match(groups, /3\.12 \(pyodide-0\.2[67]\.\d\)\s+3\.13 \(pyodide-0\.28\.3\)\s+move/);
    const blocked = await page.locator('#plan-blocked-table tbody').innerText();
    assert.match(blocked, /blocked-duck/);
    assert.match(blocked, new RegExp(plan.blocked[0].code));
    assert.match(blocked, new RegExp(BLOCKING_REQ));
    const apply = page.getByRole('button', { name: 'Apply the plan for 2028-10-02' });
    assert.ok(await apply.isDisabled());
    await page.getByLabel(/Type the policy date/).fill('2028-10-01');
    assert.ok(await apply.isDisabled(), 'a wrong date does not confirm');
    await page.getByLabel(/Type the policy date/).fill('2028-10-02');
    assert.ok(await apply.isEnabled());
    await apply.click();
    const ok = await page.locator('.success').innerText();
    assert.match(ok, new RegExp(`${plan.totals.moves} moved`));
    const post = requests.find((r) => r.method === 'POST' && r.url.includes('/v1/eol/apply'));
    assert.equal(post.headers.authorization, `Bearer ${server().token}`);
    const again = validate('GET', '/v1/eol/plan', 200, await api('GET', '/v1/eol/plan?as_of=2028-10-02&summary=true')).json;
    assert.equal(again.totals.moves, 0, 'the apply moved every planned worker');
    const w = validate('GET', '/v1/workers/{name}', 200, await api('GET', '/v1/workers/w-0000')).json;
    assert.equal(w.python_line, '3.13');
    assert.deepEqual(bad, []);
    await page.close();
  });

  test('a blocked worker: its page loads cleanly, says why, and its upgrade path shows the problem', async () => {
    const { page, bad } = await open('/ui/workers/blocked-duck');
    await page.locator('#w-history table').waitFor();
    assert.deepEqual(bad, [], 'the page load made a refused request');
    const summary = await page.locator('#w-summary').innerText();
    assert.match(summary, /Blocked: upgrade_blocked[\s\S]*duckdb/);
    await page.getByRole('button', { name: 'Show where the policy moves it' }).click();
    await page.locator('#upgrade-steps .problem').first().waitFor();
    const steps = await page.locator('#upgrade-steps').innerText();
    assert.match(steps, /On 2028-10-02:[\s\S]*Unprocessable Content[\s\S]*upgrade_blocked[\s\S]*duckdb/);
    assert.match(steps, /On 2029-10-07: moves to Python 3\.14/);
    await screenshot(page, 'worker-blocked');
    await page.close();
  });

  test('catalog: a draft flag, then publishing it after a confirmation that says what becomes immutable', async () => {
    const { page, bad } = await open('/ui/catalog', { token: server().token });
    await page.getByLabel('Name').fill('ui_test_flag');
    await page.getByLabel('Description').fill('made by the dashboard test');
    await page.getByLabel('Enable date').fill('2027-03-01');
    await page.getByRole('button', { name: 'Save draft flag' }).click();
    await page.locator('.success', { hasText: 'Saved draft flag ui_test_flag' }).waitFor();
    const row = page.locator('#drafts-flag tbody tr', { hasText: 'ui_test_flag' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Publish…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /immutable[\s\S]*2027-03-01[\s\S]*only its description/);
    await dialog.getByRole('button', { name: 'Publish' }).click();
    await page.locator('.success', { hasText: 'Published flag ui_test_flag' }).waitFor();
    const f = validate('GET', '/v1/flags/{name}', 200, await api('GET', '/v1/flags/ui_test_flag')).json;
    assert.equal(f.state, 'published');
    // a refused write shows the API's problem
    await page.getByLabel('Name').fill('ui_test_flag');
    await page.getByLabel('Enable date').fill('2027-04-01');
    await page.getByRole('button', { name: 'Save draft flag' }).click();
    await page.locator('#new-flag .problem').waitFor();
    assert.match(await page.locator('#new-flag .problem').innerText(), /Conflict[\s\S]*409/);
    assert.deepEqual(bad.filter((b) => !/409 PUT .*\/v1\/flags\/ui_test_flag/.test(b) && !/status of 409/.test(b)), []);
    await page.close();
  });

  test('events: paged log, webhook deliveries with their attempts', async () => {
    for (let i = 0; i < 100 && received.length < 2; i++)
      await new Promise((r) => setTimeout(r, 100));
    const { page, bad } = await open('/ui/events', { token: server().token });
    const first = await page.locator('#events-table tbody tr').allTextContents();
    assert.equal(first.length, 50);
    const caption = await page.locator('#events-table caption').innerText();
    await page.getByRole('link', { name: 'Older events' }).click();
    await page.waitForURL(/before=/);
    // a client-side navigation: wait for the new page of events, not for the network
    for (let i = 0; i < 100 && await page.locator('#events-table caption').innerText() === caption; i++)
      await page.waitForTimeout(50);
    const older = await page.locator('#events-table tbody tr').allTextContents();
    assert.equal(older.length, 50);
    assert.notDeepEqual(older, first);
    await page.getByRole('link', { name: 'hook1' }).click();
    await page.locator('#deliveries-table').waitFor();
    const d = await page.locator('#deliveries-table tbody').innerText();
    assert.match(d, /worker\.(moved|blocked)/);
    assert.match(d, /#1 .*HTTP (204|500), \d+ ms/);
    assert.deepEqual(bad, []);
    await page.close();
  });

  test('against a mirror, the write pages say so and offer no writes', async () => {
    const init = (page) => page.route('**/v1/health', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      await route.fulfill({ response: res, json: { ...body, mirror: true, upstream: 'https://almanac.upstream.example' } });
    });
    for (const path of ['/ui/eol?as_of=2028-10-02', '/ui/catalog']) {
      const { page, bad } = await open(path, { token: server().token, init });
      await page.waitForSelector('.loading', { state: 'detached' });
      assert.match(await page.locator('main').innerText(), /mirror of https:\/\/almanac\.upstream\.example/);
      assert.equal(await page.locator('#confirm-date, #new-flag, button:text("Publish…")').count(), 0);
      assert.deepEqual(bad, []);
      await page.close();
    }
  });

  test('keyboard: skip link, nav by Tab and Enter, focus moves to the new page heading', async () => {
    const { page, bad } = await open('/ui/');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement.textContent) === 'Timeline')
        break;
    }
    await page.keyboard.press('Enter');
    await page.waitForURL('**/ui/timeline');
    await page.locator('h1:text-is("Timeline")').waitFor();
    await page.waitForFunction(() => document.activeElement.tagName === 'H1', null, { timeout: 5000 });
    assert.deepEqual(bad, []);
    await page.close();
  });

  test('served from another origin, the dashboard reads and writes through CORS', async () => {
    const page = await browser.ctx.newPage();
    const bad = watch(page);
    const origins = new Set();
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    await page.addInitScript((t) => sessionStorage.setItem('almanac.token', t), server().token);
    await page.goto(`${other.origin}/ui/`);
    await page.locator('#lines-table').waitFor();
    assert.ok(origins.has(base) && origins.has(other.origin), [...origins].join(' '));
    await page.goto(`${other.origin}/ui/catalog`);
    await page.getByLabel('Name').fill('cors_flag');
    await page.getByLabel('Enable date').fill('2027-05-01');
    await page.getByRole('button', { name: 'Save draft flag' }).click();
    await page.locator('.success', { hasText: 'Saved draft flag cors_flag' }).waitFor();
    validate('GET', '/v1/flags/{name}', 200, await api('GET', '/v1/flags/cors_flag'));
    await screenshot(page, 'cross-origin-catalog');
    assert.deepEqual(bad, []);
    await page.close();
  });
}
