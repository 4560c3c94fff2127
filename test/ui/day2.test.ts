// Day-2 actions in a real browser (Debian's chromium) against the real service and simulator
// devices: maintenance entered and left from the device panel (the job pushes the drain over
// NETCONF, followed live), the OS version against the fabric's target, the upgrade dry run shown
// as the planner's batches with the skipped list, Apply starting the job whose page shows the
// batches live, RMA offered only when the service's OpenAPI document has the route, and a viewer
// offered none of it. Screenshots: out/test-artifacts/ui/ (UI_DOC_IMAGES=1: docs/img/ too).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { describeIf } from '../helpers/env';
import { launchChromium, CHROMIUM, type Browser } from './browser';
import { screenshots, seeTextOn, signInAt } from './page-helpers';
import { ensureUiBuilt, startUiStack, type UiStack } from './stack';
import { SIM_OS_VERSION } from '../../src/lab/sim/topology';

jest.setTimeout(180_000);

const DOCS = ['maintenance', 'upgrade-plan', 'upgrade-job', 'rma'];
const F = 'u2-day2';
const NEXT = '99.1.0';

describeIf({ commands: ['redis-server', CHROMIUM] })('web UI day-2 actions in chromium', () => {
  let stack: UiStack;
  let browser: Browser;
  let page: Page;
  let tmp: string;
  const apiRequests: string[] = [];
  const cspViolations: string[] = [];

  const save = screenshots(DOCS);
  const shot = (name: string, p: Page = page) => save(p, name);
  const seeText = (sel: string | Locator, text: string | RegExp, timeout?: number) => seeTextOn(page, sel, text, timeout);
  const signIn = (p: Page, token: string) => signInAt(p, stack.base, token);
  const managed = async (d: string) => (await stack.call('GET', `/api/v1/fabrics/${F}/devices/${d}`)).json.managedState as string;

  beforeAll(async () => {
    ensureUiBuilt();
    tmp = mkdtempSync(path.join(tmpdir(), 'u2-day2-'));
    stack = await startUiStack({ fabric: { name: F, spines: 2, leaves: 3 } });
    // The fabric's target is what the sims run; leaf3 reports the newer image's version, so it
    // shows version drift in its panel and the upgrade plan skips it ("already on").
    expect((await stack.call('PATCH', `/api/v1/fabrics/${F}`, { settings: { osVersions: { 'frr-switch': SIM_OS_VERSION } } })).status).toBe(200);
    expect((await stack.call('PATCH', `/api/v1/fabrics/${F}/devices/leaf3`, { osVersion: NEXT })).status).toBe(200);
    const img = path.join(tmp, 'frr-next.bin');
    writeFileSync(img, Buffer.alloc(4096, 7));
    const r = await stack.call('POST', '/api/v1/images', { name: 'frr-next', platform: 'frr', version: NEXT, path: img });
    expect(r.status).toBe(201);
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text()); });
    page.on('request', (q) => { if (q.url().includes('/api/v1/')) apiRequests.push(`${q.method()} ${new URL(q.url()).pathname}`); });
    page.on('dialog', (d) => void d.accept());
    await signIn(page, stack.tokens.operator);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('device panel: managed state, OS version against the target, version drift where they differ', async () => {
    await page.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf1`);
    const panel = page.locator('[data-testid="device-panel"]');
    await seeText(panel.locator('[data-testid="version"]'), SIM_OS_VERSION);
    expect(await panel.locator('[data-testid="version-drift"]').getAttribute('data-drift')).toBe('false');
    await seeText(panel.locator('[data-testid="version-drift"]'), 'on target');
    expect(await panel.locator('dd[data-fact="Managed state"]').textContent()).toBe(await managed('leaf1'));
    await page.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf3`);
    await seeText(panel.locator('[data-testid="version"]'), NEXT);
    await seeText(panel.locator('[data-testid="version-drift"][data-drift="true"]'), 'version drift');
  });

  test('maintenance: entered from the panel, the job followed live, the state shown in panel, table and topology; then left', async () => {
    await page.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf1`);
    const panel = page.locator('[data-testid="device-panel"]');
    await panel.locator('button:has-text("Enter maintenance")').click();
    await panel.locator('[data-testid="live-job"][data-state="succeeded"]').waitFor({ timeout: 60_000 });
    await seeText(panel.locator('[data-testid="live-job"] .log'), 'drained');
    // the job changed the device (not only the page): state in the store, drain in the running config
    expect(await managed('leaf1')).toBe('maintenance');
    const running = (await stack.call('GET', `/api/v1/fabrics/${F}/drift`)).json.items.find((i: { device: string }) => i.device === 'leaf1');
    expect(running).toMatchObject({ drift: false }); // compared with the drained config: the drain is there
    await seeText(panel.locator('dd[data-fact="Managed state"]'), /^maintenance$/);
    await seeText(panel.locator('.panel-head .badge'), 'maintenance');
    await panel.locator('button:has-text("Leave maintenance")').waitFor();
    await seeText('[data-testid="devices"] tr[data-key="leaf1"]', 'maintenance');
    await panel.locator('[data-testid="live-job"]').scrollIntoViewIfNeeded();
    await shot('maintenance');
    await page.goto(`${stack.base}/ui/fabrics/${F}?device=leaf1`);
    await page.waitForSelector('[data-testid="topology"] g.node.s-maintenance[data-device="leaf1"]');
    expect(await page.locator('[data-testid="topology"] g.node.s-maintenance').count()).toBe(1);

    await panel.locator('button:has-text("Leave maintenance")').click();
    await panel.locator('[data-testid="live-job"][data-state="succeeded"]').waitFor({ timeout: 60_000 });
    await seeText(panel.locator('[data-testid="live-job"] .log'), 'undrained');
    expect(await managed('leaf1')).toBe('active');
    await seeText(panel.locator('dd[data-fact="Managed state"]'), /^active$/);
    await page.waitForSelector('[data-testid="topology"] g.node.s-managed[data-device="leaf1"]');
  });

  test('upgrade: the dry run is shown as the planner\'s ordered batches and the skipped list; Apply runs the job shown per batch', async () => {
    await page.goto(`${stack.base}/ui/fabrics/${F}`);
    await page.click('button:has-text("Upgrade…")');
    await page.waitForURL(/\/ui\/fabrics\/u2-day2\/upgrade$/);
    const form = page.locator('[data-testid="upgrade-form"]');
    // a name that is not a device: refused beside its field, nothing sent
    await form.locator('input[name="devices"]').fill('leaf1, leaf9');
    await form.locator('button[type="submit"]').click();
    await seeText(form.locator('.field.invalid #upgrade-devices-error'), 'leaf9');
    await form.locator('input[name="devices"]').fill('');
    await form.locator('input[name="maxParallel"]').fill('2');
    apiRequests.length = 0;
    await form.locator('button[type="submit"]').click();
    await page.locator('[data-testid="upgrade-batches"]').waitFor();
    expect(apiRequests).toContain(`POST /api/v1/fabrics/${F}/upgrade`);

    // exactly the API's plan, in its order
    const plan = (await stack.call('POST', `/api/v1/fabrics/${F}/upgrade`, { image: 'frr-next', maxParallel: 2, dryRun: true }, 'operator')).json;
    expect(plan.batches.map((b: { devices: string[] }) => b.devices)).toEqual([['leaf1', 'leaf2'], ['spine1'], ['spine2']]);
    const shown = await page.$$eval('[data-testid="upgrade-batch"]', (els) => els.map((e) => [...e.querySelectorAll('.chip')].map((c) => c.getAttribute('data-device'))));
    expect(shown).toEqual(plan.batches.map((b: { devices: string[] }) => b.devices));
    await seeText('[data-testid="upgrade-batch"][data-batch="2"] .batch-reason', 'at most half of the 2 spines');
    await seeText('[data-testid="upgrade-skipped"] tr[data-key="leaf3"]', 'already');
    await seeText('[data-testid="upgrade-summary"]', '4 devices in 3 batches, 1 skipped');
    await shot('upgrade-plan');

    // changing the form voids the plan: Apply only for what was planned
    await form.locator('input[name="maxParallel"]').fill('1');
    expect(await page.locator('button:has-text("Apply: upgrade")').count()).toBe(0);
    await form.locator('input[name="maxParallel"]').fill('2');
    await form.locator('button[type="submit"]').click();
    await page.click('button:has-text("Apply: upgrade 4 devices")');
    await page.waitForURL(/\/ui\/jobs\//);
    const id = page.url().split('/').pop()!;
    await seeText('h1', 'upgrade');
    // the job's page lists its batches (from the job's plan) with each device's state, live
    await page.locator('[data-testid="upgrade-batch"]').nth(2).waitFor({ timeout: 30_000 });
    expect(await page.$$eval('[data-testid="upgrade-batch"]', (els) => els.map((e) => [...e.querySelectorAll('.chip')].map((c) => c.getAttribute('data-device')))))
      .toEqual(plan.batches.map((b: { devices: string[] }) => b.devices));
    await page.locator('[data-testid="upgrade-batch"][data-batch="1"][data-state]').waitFor();
    // Cancel while it runs (the sims cannot install an OS); the job ends, never as succeeded.
    const cancel = page.locator('button:has-text("Cancel job")');
    if (await cancel.count()) await cancel.click().catch(() => undefined);
    await page.waitForSelector('[data-testid="job-state"][data-state="cancelled"], [data-testid="job-state"][data-state="failed"]', { timeout: 90_000 });
    await shot('upgrade-job');
    const job = await stack.waitJob(id);
    expect(job.state).not.toBe('succeeded');
    expect(await page.locator('[data-testid="upgrade-batch"][data-state="succeeded"]').count()).toBe(0);
  });

  test('RMA: not offered when the service\'s OpenAPI document lacks the route (an older service)', async () => {
    // This tab's copy of the real document loses the one operation; the UI must then offer no form.
    const opage = await browser.context.newPage();
    const asked: string[] = [];
    try {
      await opage.route('**/api/v1/openapi.json', async (route) => {
        const res = await route.fetch();
        const doc = await res.json();
        const key = Object.keys(doc.paths).find((k) => /\/devices\/\{[^}]+\}\/rma$/.test(k));
        expect(key).toBeDefined(); // today's service has it
        delete doc.paths[key!];
        await route.fulfill({ response: res, json: doc });
      });
      opage.on('request', (q) => { if (q.url().includes('/api/v1/')) asked.push(`${q.method()} ${new URL(q.url()).pathname}`); });
      await signIn(opage, stack.tokens.operator);
      await opage.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf2`);
      const panel = opage.locator('[data-testid="device-panel"]');
      await panel.locator('button:has-text("Enter maintenance")').waitFor();
      await panel.locator('[data-testid="rma-unsupported"]').waitFor({ state: 'attached' });
      expect(asked).toContain('GET /api/v1/openapi.json');
      expect(await panel.locator('[data-testid="rma-form"]').count()).toBe(0);
      expect(await panel.locator('input[name="serial"]').count()).toBe(0);
    } finally {
      await opage.close();
    }
  });

  test('RMA form: offered to an operator, the serial checked before anything is sent, the service\'s 400 beside the field, then the job', async () => {
    const rpage = await browser.context.newPage();
    try {
      const posts: { url: string; body: string | null }[] = [];
      rpage.on('request', (q) => { if (q.method() === 'POST' && q.url().endsWith('/rma')) posts.push({ url: new URL(q.url()).pathname, body: q.postData() }); });
      rpage.on('dialog', (d) => void d.accept());
      await signIn(rpage, stack.tokens.operator);
      await rpage.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf2`);
      const form = rpage.locator('[data-testid="rma-form"]');
      await form.waitFor();
      const serialField = form.locator('input[name="serial"]');
      await serialField.fill('SN 1');
      await form.locator('#rma-serial-error').filter({ hasText: 'no spaces' }).waitFor();
      expect(await form.locator('button[type="submit"]').isDisabled()).toBe(true);
      await serialField.fill('SN/1'); // the route's own pattern (from its OpenAPI schema) has no slash
      await form.locator('#rma-serial-error').filter({ hasText: 'does not match' }).waitFor();
      await serialField.fill('A'.repeat(65));
      await form.locator('#rma-serial-error').filter({ hasText: '1 to 64 characters' }).waitFor();
      expect(posts).toEqual([]);
      // A serial only the service can refuse: the one of the box being replaced.
      const before = (await stack.call('GET', `/api/v1/fabrics/${F}/devices/leaf2`)).json;
      const own = before.serial as string;
      await serialField.fill(own);
      await form.locator('button[type="submit"]').click();
      await form.locator('#rma-serial-error').filter({ hasText: 'the serial of the box being replaced' }).waitFor();
      expect(await managed('leaf2')).toBe(before.managedState);
      await serialField.fill('SN-NEW-1');
      expect(await form.locator('#rma-serial-error').count()).toBe(0);
      await form.scrollIntoViewIfNeeded();
      await shot('rma', rpage);
      await form.locator('button[type="submit"]').click();
      // 202: the job page. The UI stack runs no DHCP server, so the job refuses before anything changes.
      await rpage.waitForURL(/\/ui\/jobs\/[^/]+$/);
      await rpage.locator('h1').filter({ hasText: 'rma' }).waitFor();
      expect(posts.map((x) => x.body)).toEqual([JSON.stringify({ serial: own }), JSON.stringify({ serial: 'SN-NEW-1' })]);
      const id = decodeURIComponent(new URL(rpage.url()).pathname.split('/').pop()!);
      let job: any;
      for (let i = 0; i < 120; i++) {
        job = (await stack.call('GET', `/api/v1/jobs/${encodeURIComponent(id)}`)).json;
        if (['failed', 'succeeded', 'cancelled'].includes(job.state)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(job.state).toBe('failed');
      expect(job.error).toMatch(/DHCP server/);
      await seeTextOn(rpage, 'main', /DHCP server/);
      const dev = (await stack.call('GET', `/api/v1/fabrics/${F}/devices/leaf2`)).json;
      expect(dev).toMatchObject({ managedState: before.managedState, serial: own });
    } finally {
      await rpage.close();
    }
  });

  test('a viewer sees the facts and none of the day-2 actions', async () => {
    const vpage = await browser.context.newPage();
    try {
      await signIn(vpage, stack.tokens.viewer);
      await vpage.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf1`);
      const panel = vpage.locator('[data-testid="device-panel"]');
      await panel.locator('[data-testid="version-drift"]').waitFor();
      expect(await panel.locator('[data-testid="maintenance"]').count()).toBe(0);
      expect(await panel.locator('button:has-text("maintenance")').count()).toBe(0);
      expect(await panel.locator('[data-testid="rma-form"]').count()).toBe(0);
      expect(await vpage.locator('button:has-text("Upgrade")').count()).toBe(0);
      expect(await vpage.locator('nav.tabs >> text=Upgrade').count()).toBe(0);
      await vpage.goto(`${stack.base}/ui/fabrics/${F}/upgrade`);
      await vpage.waitForSelector('nav.tabs');
      expect(await vpage.locator('[data-testid="upgrade-form"]').count()).toBe(0);
      expect(await vpage.locator('button:has-text("Plan (dry run)")').count()).toBe(0);
    } finally {
      await vpage.close();
    }
    expect(cspViolations).toEqual([]);
  });
});
