// The dashboard against almanacd --private-reads (the registry, events and
// webhooks need a read token): without a token its pages make no request the API
// refuses and show the login prompt; with one they read as usual. /v1/health says
// private_reads so the page knows before asking.
import { after, test } from 'node:test';

import { api, server, startServer, validate } from '../api/lib/harness.mjs';
import { UI_DIR, assert, deployFleet, launch, skipReason, watch } from './lib.mjs';

const SKIP = skipReason();

if (SKIP) {
  console.log(`# private-reads dashboard tests skipped: ${SKIP}`);
  test('dashboard under --private-reads', { skip: SKIP }, () => {});
} else {
  await startServer({ serveArgs: ['--ui-dir', UI_DIR, '--no-sweep', '--private-reads'] });
  await deployFleet(6);
  const browser = await launch();
  after(() => browser.close());

  test('health says private_reads', async () => {
    const h = validate('GET', '/v1/health', 200, await api('GET', '/v1/health')).json;
    assert.equal(h.private_reads, true);
  });

  test('without a token: login prompts, and no refused request', async () => {
    for (const path of ['/ui/', '/ui/workers', '/ui/workers/w-0001', '/ui/events']) {
      const page = await browser.ctx.newPage();
      const bad = watch(page);
      await page.goto(server().url + path);
      await page.locator('h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      assert.match(await page.locator('main').innerText(), /needs an admin token/, path);
      assert.deepEqual(bad, [], path);
      await page.close();
    }
  });

  test('with a token: the registry and events are read', async () => {
    const page = await browser.ctx.newPage();
    await page.addInitScript((t) => sessionStorage.setItem('almanac.token', t), server().token);
    const bad = watch(page);
    await page.goto(`${server().url}/ui/workers`);
    await page.locator('#workers-table tbody tr').first().waitFor();
    assert.equal(await page.locator('#workers-table tbody tr').count(), 7);
    await page.goto(`${server().url}/ui/`);
    await page.locator('#recent-events').waitFor();
    assert.match(await page.locator('.card').first().innerText(), /7/);
    assert.deepEqual(bad, []);
    await page.close();
  });
}
