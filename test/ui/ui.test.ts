// The web UI in a real browser (Debian's chromium) against the real service: Redis, the API
// with its workers, and simulator devices that autoconfigure pushes to over NETCONF. Sign in,
// topology, device panel, dry run with diffs, apply with live progress to succeeded, services
// with the API's refusals, roles hiding what they may not do, 401 back to sign-in.
// Screenshots of every page go to out/test-artifacts/ui/ (UI_DOC_IMAGES=1: the main ones to docs/img/ too).
import type { Locator, Page } from 'playwright-core';
import { describeIf } from '../helpers/env';
import { launchChromium, CHROMIUM, type Browser } from './browser';
import { screenshots, seeTextOn, signInAt } from './page-helpers';
import { ensureUiBuilt, startUiStack, type UiStack } from './stack';
import { generateClos } from '../../src/intent/generate';

jest.setTimeout(180_000);

const DOCS = ['topology', 'device', 'dry-run', 'job', 'services', 'topology-dark'];
const F = 'ui-dc1';
const DEVICES = ['spine1', 'spine2', 'leaf1', 'leaf2', 'leaf3'];

describeIf({ commands: ['redis-server', CHROMIUM] })('web UI in chromium', () => {
  let stack: UiStack;
  let browser: Browser;
  let page: Page;
  const cspViolations: string[] = [];
  const apiRequests: string[] = [];

  const save = screenshots(DOCS);
  const shot = (name: string, p: Page = page) => save(p, name);
  const seeText = (sel: string | Locator, text: string | RegExp, timeout?: number) => seeTextOn(page, sel, text, timeout);
  const gone = (sel: string) => page.locator(sel).first().waitFor({ state: 'detached', timeout: 20_000 });
  const signIn = (p: Page, token: string) => signInAt(p, stack.base, token);

  beforeAll(async () => {
    ensureUiBuilt();
    stack = await startUiStack({ fabric: { name: F, spines: 2, leaves: 3 } });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text()); });
    page.on('request', (r) => { if (r.url().includes('/api/v1/')) apiRequests.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`); });
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('sign in: a bad token is refused on the form; a good one lands on the fabrics, kept in sessionStorage only', async () => {
    await page.goto(`${stack.base}/ui/fabrics/${F}`);
    await page.waitForSelector('input[name="token"]');
    await shot('signin');
    await page.fill('input[name="token"]', 'fzt_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await page.click('button[type="submit"]');
    await seeText('[role="alert"]', 'invalid or revoked token');
    await page.fill('input[name="token"]', stack.tokens.admin);
    await page.click('button[type="submit"]');
    // back to where it was asked for, the fabric, through the sign-in's ?next=
    await page.waitForSelector('[data-testid="topology"]');
    await page.goto(`${stack.base}/ui/`);
    await page.waitForSelector('[data-testid="fabrics"] >> text=' + F);
    await shot('fabrics');
    expect(page.url()).not.toContain(stack.tokens.admin);
    expect(await page.content()).not.toContain(stack.tokens.admin);
    expect(await page.evaluate('Object.keys(localStorage).length')).toBe(0);
    expect(await page.evaluate('sessionStorage.getItem("fabric.token")')).toBe(stack.tokens.admin);
    expect(await page.locator('[data-testid="whoami"]').textContent()).toContain('admin');
  });

  test('topology: every device name is text in the SVG; a click opens the device panel', async () => {
    await page.click(`[data-testid="fabrics"] >> text=${F}`);
    await page.waitForSelector('[data-testid="topology"] .node');
    const names = await page.$$eval('[data-testid="topology"] text.node-name', (els) => els.map((e) => e.textContent));
    expect(names.sort()).toEqual([...DEVICES].sort());
    // spines above leaves
    const y = async (n: string) => (await page.locator(`[data-testid="topology"] g[data-device="${n}"]`).boundingBox())!.y;
    expect(await y('spine1')).toBeLessThan(await y('leaf1'));
    await shot('topology');
    await page.click('[data-testid="topology"] g[data-device="leaf2"]');
    await page.waitForSelector('[data-testid="device-panel"] >> text=Management IP');
    expect(page.url()).toContain(`/ui/fabrics/${F}?device=leaf2`);
    await seeText('[data-testid="device-panel"] h2', /^leaf2$/);
  });

  test('hundreds of leaves: grouped per pod, every name still text in the picture, a leaf in a group opens', async () => {
    const file = generateClos({ spines: 4, leaves: 80, pods: 2, name: 'ui-big' });
    expect((await stack.call('POST', '/api/v1/fabrics', file)).status).toBe(201);
    await page.goto(`${stack.base}/ui/fabrics/ui-big`);
    await page.waitForSelector('[data-testid="topology"] .group');
    expect(await page.locator('[data-testid="topology"] .group').count()).toBe(2);
    const names = await page.$$eval('[data-testid="topology"] text.node-name, [data-testid="topology"] text.member-name', (els) => els.map((e) => e.textContent));
    expect(names.sort()).toEqual(file.devices.map((d) => d.name).sort());
    await seeText('.topo-foot', '80 leaves grouped per pod');
    await page.click('[data-testid="topology"] text.member-name[data-device="leaf57"]');
    await seeText('[data-testid="device-panel"] h2', /^leaf57$/);
    await shot('topology-grouped');
    expect((await stack.call('DELETE', '/api/v1/fabrics/ui-big')).status).toBe(204);
  });

  test('device panel: facts, roles from the profile, links with addresses, intended config; reachable by keyboard', async () => {
    await page.goto(`${stack.base}/ui/fabrics/${F}/devices`);
    await page.waitForSelector('[data-testid="devices"] tbody tr[data-key]');
    expect(await page.$$eval('[data-testid="devices"] tbody tr[data-key]', (rs) => rs.map((r) => r.getAttribute('data-key')).sort())).toEqual([...DEVICES].sort());
    // keyboard: first row, down one, Enter
    await page.focus('[data-testid="devices"] tbody tr[data-index="0"]');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="device-panel"]');
    const second = await page.getAttribute('[data-testid="devices"] tbody tr[data-index="1"]', 'data-key');
    await seeText('[data-testid="device-panel"] h2', new RegExp(`^${second}$`));
    await page.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf1`);
    const panel = page.locator('[data-testid="device-panel"]');
    await panel.locator('select[name="physicalRole"]').waitFor();
    expect(await panel.locator('select[name="physicalRole"] option').allTextContents()).toEqual(['leaf', 'spine', 'superspine', 'gateway']);
    expect(await panel.locator('input[name="roles"][value="CRB-Access"]').isChecked()).toBe(true);
    await seeText(panel.locator('table.mini'), 'spine1:swp');
    await shot('device');
    await panel.locator('a:has-text("Intended config")').click();
    await seeText(panel.locator('.diff.config'), 'router bgp');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="device-panel"]', { state: 'detached' });
  });

  test('autoconfigure: the dry run shows each device\'s diff against the simulator; apply runs live to succeeded', async () => {
    await page.goto(`${stack.base}/ui/fabrics/${F}`);
    await page.click('button:has-text("Autoconfigure")');
    await page.waitForURL(/\/ui\/jobs\//);
    const dryId = page.url().split('/').pop()!;
    await seeText('[data-testid="changes-summary"]', /^5 of 5 devices change$/, 60_000);
    // every device is listed with its counts; the one picked shows its diff
    expect((await page.$$eval('[data-testid="changes"] tbody tr[data-key]', (rs) => rs.map((r) => r.getAttribute('data-key')))).sort()).toEqual([...DEVICES].sort());
    await page.click('[data-testid="changes"] tr[data-key="leaf1"]');
    const leaf1 = page.locator('[data-testid="device-diff"][data-device="leaf1"]');
    await leaf1.locator('.dl.add').first().waitFor();
    expect(await leaf1.locator('.dl.add').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('router bgp')]));
    await shot('dry-run');

    apiRequests.length = 0;
    await page.click('button:has-text("Apply to 5 devices")');
    await page.waitForURL((u) => /\/ui\/jobs\//.test(u.pathname) && !u.pathname.endsWith(dryId));
    const id = page.url().split('/').pop()!;
    await page.waitForSelector('[data-testid="job-state"][data-state="succeeded"]', { timeout: 90_000 });
    await seeText('[data-testid="job-progress"]', /^100%$/);
    await seeText('[data-testid="job-devices"] tbody', 'succeeded');
    await seeText('[data-testid="job-log"]', 'committed');
    await shot('job');
    // live progress came over the event stream, not by polling the job
    expect(apiRequests.filter((r) => r.startsWith(`GET /api/v1/jobs/${id}/stream`)).length).toBeGreaterThanOrEqual(1);
    expect(apiRequests.filter((r) => r.startsWith(`GET /api/v1/jobs/${id}?`) || r === `GET /api/v1/jobs/${id}`)).toEqual([]);
    const view = await stack.call('GET', `/api/v1/jobs/${id}`);
    expect(view.json.state).toBe('succeeded');
    expect(Object.values(view.json.devices).filter((d: any) => d.result?.committed)).toHaveLength(5); // eslint-disable-line @typescript-eslint/no-explicit-any

    // what was applied is running now: a second dry run finds nothing to change
    await page.goto(`${stack.base}/ui/fabrics/${F}`);
    await page.click('button:has-text("Autoconfigure")');
    await page.waitForURL((u) => /\/ui\/jobs\//.test(u.pathname) && !u.pathname.endsWith(id) && !u.pathname.endsWith(dryId));
    await seeText('[data-testid="changes-summary"]', /^0 of 5 devices change$/, 60_000);
  });

  test('services: a network is created and deleted; the API\'s refusals show beside the field and the row', async () => {
    await page.goto(`${stack.base}/ui/fabrics/${F}/services`);
    const form = page.locator('[data-testid="form-virtual-networks"]');
    await form.locator('input[name="name"]').fill('web');
    await form.locator('input[name="vni"]').fill('0');
    await form.locator('button[type="submit"]').click();
    // 400 with path vni: the message sits under the VNI field
    await seeText(form.locator('.field.invalid'), 'vni');
    await seeText(form.locator('#svc-vni-error'), '400');
    await form.locator('input[name="vni"]').fill('10100');
    await form.locator('button[type="submit"]').click();
    await seeText('[data-testid="svc-virtual-networks"] tbody', '10100');
    const waitIdle = async () => { for (const j of (await stack.call('GET', `/api/v1/fabrics/${F}/jobs`)).json.items) await stack.waitJob(j.id); };
    await waitIdle();

    await page.click('nav[aria-label="Service kinds"] >> text=VPGs');
    const vform = page.locator('[data-testid="form-vpgs"]');
    await vform.locator('input[name="name"]').fill('db1');
    await vform.locator('textarea[name="ports"]').fill('leaf1:swp10');
    await vform.locator('textarea[name="bindings"]').fill('web:100');
    await vform.locator('button[type="submit"]').click();
    await seeText('[data-testid="svc-vpgs"] tbody', 'leaf1:swp10');
    await seeText('.ok-note', 'pushing to 1 device');
    await waitIdle();

    // the bound network cannot go: 409, worded by the API, beside the table
    await page.click('nav[aria-label="Service kinds"] >> text=Virtual networks');
    const row = page.locator('[data-testid="svc-virtual-networks"] tr[data-key="web"]');
    await row.locator('button:has-text("Delete")').click();
    await row.locator('button:has-text("Confirm delete")').click();
    await seeText('.row-note [role="alert"]', 'virtual network "web" is still bound (vpg db1)');
    await shot('services');

    await page.click('nav[aria-label="Service kinds"] >> text=VPGs');
    const vrow = page.locator('[data-testid="svc-vpgs"] tr[data-key="db1"]');
    await vrow.locator('button:has-text("Delete")').click();
    await vrow.locator('button:has-text("Confirm delete")').click();
    await gone('[data-testid="svc-vpgs"] tr[data-key="db1"]');
    await waitIdle();
    await page.click('nav[aria-label="Service kinds"] >> text=Virtual networks');
    await row.locator('button:has-text("Delete")').click();
    await row.locator('button:has-text("Confirm delete")').click();
    await gone('[data-testid="svc-virtual-networks"] tr[data-key="web"]');
    expect((await stack.call('GET', `/api/v1/fabrics/${F}/virtual-networks`)).json.items).toEqual([]);
    await waitIdle();
  });

  test('config history: each push listed with its diff; a rollback runs as a job to succeeded', async () => {
    const before = (await stack.call('GET', `/api/v1/fabrics/${F}/devices/leaf1/config/history?limit=20`)).json.items;
    expect(before.length).toBeGreaterThanOrEqual(3); // apply, VPG created, VPG deleted
    await page.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf1?panel=history`);
    const panel = page.locator('[data-testid="device-panel"]');
    await panel.locator('ol.history > li').nth(before.length - 1).waitFor();
    expect(await panel.locator('ol.history > li').count()).toBe(before.length);
    await seeText(panel.locator('ol.history > li').first().locator('.diff'), 'swp10');
    await panel.locator('button:has-text("Roll back to v1")').click();
    await page.waitForURL(/\/ui\/jobs\//);
    await page.waitForSelector('[data-testid="job-state"][data-state="succeeded"]', { timeout: 60_000 });
    await seeText('h1', 'rollback');
    const after = (await stack.call('GET', `/api/v1/fabrics/${F}/devices/leaf1/config/history?limit=20`)).json.items;
    expect(after.length).toBe(before.length + 1);
    expect(after[0].text).toBe(before[1].text);
  });

  test('onboarding form: a validation error is shown beside its field; jobs and events pages list what happened', async () => {
    await page.goto(`${stack.base}/ui/fabrics/${F}/onboard`);
    await page.fill('input[name="expectedDevices"]', '0');
    await page.click('button:has-text("Start onboarding")');
    await seeText('.field.invalid #expectedDevices-error', 'expectedDevices');
    await page.waitForSelector('.onboard [data-testid="topology"] .node');
    await shot('onboard');
    // a subnet the onboarding job refuses while planning: its message goes beside the field too
    await page.click('.seg-opt:has-text("brownfield")');
    await page.fill('input[name="subnets"]', '10.99.0.0/30');
    await page.click('button:has-text("Start onboarding")');
    await seeText('.field.invalid #subnets-error', 'is not inside a management subnet of the fabric');
    await page.goto(`${stack.base}/ui/jobs`);
    await page.locator('[data-testid="jobs"] tbody tr[data-key]').first().waitFor();
    expect(await page.locator('[data-testid="jobs"] tbody tr[data-key]').count()).toBeGreaterThanOrEqual(4);
    await shot('jobs');
    await page.goto(`${stack.base}/ui/fabrics/${F}/events`);
    await seeText('[data-testid="events"] tbody', 'services.updated');
    await shot('events');
    await page.goto(`${stack.base}/ui/fabrics/${F}`);
    await page.waitForSelector('[data-testid="topology"] .node');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('topology-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('a viewer is offered nothing that would be refused; a revoked token goes back to sign-in', async () => {
    const vpage = await browser.context.newPage();
    try {
      // sessionStorage is per tab: this one signs in on its own
      await signIn(vpage, stack.tokens.viewer);
      await vpage.goto(`${stack.base}/ui/fabrics/${F}`);
      await vpage.waitForSelector('[data-testid="topology"] .node');
      expect(await vpage.locator('button:has-text("Autoconfigure")').count()).toBe(0);
      expect(await vpage.locator('nav.tabs >> text=Onboarding').count()).toBe(0);
      await vpage.goto(`${stack.base}/ui/fabrics/${F}/services`);
      await vpage.waitForSelector('[data-testid="svc-virtual-networks"]');
      expect(await vpage.locator('form').count()).toBe(0);
      await vpage.goto(`${stack.base}/ui/fabrics/${F}/devices/leaf1`);
      await vpage.waitForSelector('[data-testid="device-panel"] >> text=Physical role');
      expect(await vpage.locator('[data-testid="device-panel"] button:has-text("Save roles")').count()).toBe(0);
      expect(await vpage.locator('[data-testid="device-panel"] button:has-text("Dry run")').count()).toBe(0);

      const id = /^fzt_([0-9a-f]{12})_/.exec(stack.tokens.viewer)![1];
      expect(await stack.tokenStore.revoke(id)).toBe(true);
      await vpage.reload();
      await vpage.waitForSelector('input[name="token"]');
      expect(await vpage.evaluate('sessionStorage.getItem("fabric.token")')).toBeNull();
      expect(new URL(vpage.url()).pathname).toBe('/ui/signin');
    } finally {
      await vpage.close();
    }
    expect(cspViolations).toEqual([]);
  });
});
