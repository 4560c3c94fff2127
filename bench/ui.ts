// Benchmark: the web UI's time to first render for the 1,056-device Clos fabric (32 spines in
// 8 pods, 1,024 leaves; src/intent/generate.ts) in headless chromium (Debian's): from the start
// of the navigation to the topology SVG holding every device name (leaves grouped per pod), and
// to the virtualised device table's first rows. Cold (browser cache cleared) and warm runs.
// The API runs in this process on a redis-server the bench starts (no workers: nothing runs).
//   npx tsc -p . && node ui/build.mjs && node dist/bench/ui.js [runs=5] [--shots DIR]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { startLocalRedis, connectRedis } from '../src/store/redis-server';
import { Store } from '../src/store';
import { JobSystem, JobTypes } from '../src/jobs';
import { TokenStore } from '../src/api/auth';
import { buildApp } from '../src/api/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { generateClos } from '../src/intent/generate';
import { launchChromium } from '../test/ui/browser';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ms from navigation start to the UI's own mark, after checking what it drew. */
async function timeView(page: Page, url: string, mark: string, check: () => Promise<void>, cold: boolean): Promise<number> {
  if (cold) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    await cdp.detach();
  }
  await page.goto(url);
  await page.waitForFunction((m) => performance.getEntriesByName(m).length > 0, mark, { timeout: 60_000 });
  await check();
  if (process.env.UI_BENCH_DETAIL) {
    const detail = await page.evaluate(() => [
      ...performance.getEntriesByType('mark').map((e) => `${e.name} ${e.startTime.toFixed(0)}`),
      ...(performance.getEntriesByType('resource') as unknown as { name: string; startTime: number; responseEnd: number }[]).map((e) => `${e.name.replace(/^https?:\/\/[^/]+/, '')} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`),
    ]);
    console.log(detail.join('\n'));
  }
  return page.evaluate((m) => performance.getEntriesByName(m)[0].startTime, mark);
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const si = process.argv.indexOf('--shots');
  const shots = si > 0 ? process.argv[si + 1] : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'ui-bench-'));
  const server = await startLocalRedis({ dataDir: dir });
  const redis = connectRedis(server.url);
  const browser = await launchChromium({ width: 1600, height: 1000 });
  try {
    const store = new Store(redis, { secretKey: randomBytes(32) });
    const file = generateClos({ spines: 32, leaves: 1024, rrs: 4, pods: 8, name: 'clos' });
    await store.createFabric(file as unknown as object, { actor: 'bench' });
    const jobs = new JobSystem({ connection: redis, connect: () => connectRedis(server.url), lockBackend: store, types: new JobTypes() });
    const tokens = new TokenStore(redis);
    const { token } = await tokens.create('viewer', 'ui-bench');
    const app = await buildApp({ store, jobs, tokens, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }) });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const page = await browser.context.newPage();
    await page.goto(`${base}/ui/`);
    await page.fill('input[name="token"]', token);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="whoami"]');

    const names = file.devices.map((d) => d.name);
    const topoCheck = async () => {
      const drawn = await page.$$eval('[data-testid="topology"] text.node-name, [data-testid="topology"] text.member-name', (els) => els.map((e) => e.textContent));
      const missing = names.filter((n) => !drawn.includes(n));
      if (missing.length) throw new Error(`topology lacks ${missing.length} device names, e.g. ${missing.slice(0, 3).join(', ')}`);
    };
    const tableCheck = async () => {
      await page.waitForSelector('[data-testid="devices"] tbody tr[data-key]');
      const count = await page.textContent('.table-tools .count');
      if (!count?.includes('1,056')) throw new Error(`device table says "${count}"`);
    };
    const out: Record<string, { cold: number[]; warm: number[] }> = { topology: { cold: [], warm: [] }, devices: { cold: [], warm: [] } };
    for (let i = 0; i < runs; i++) {
      for (const cold of [true, false]) {
        out.topology[cold ? 'cold' : 'warm'].push(await timeView(page, `${base}/ui/fabrics/clos`, 'ui:topology-rendered', topoCheck, cold));
        out.devices[cold ? 'cold' : 'warm'].push(await timeView(page, `${base}/ui/fabrics/clos/devices`, 'ui:devices-rendered', tableCheck, cold));
      }
    }
    if (shots) {
      mkdirSync(shots, { recursive: true });
      await page.goto(`${base}/ui/fabrics/clos`);
      await page.waitForFunction(() => performance.getEntriesByName('ui:topology-rendered').length > 0);
      await page.screenshot({ path: path.join(shots, 'ui-topology-1056.png'), fullPage: true });
      await page.goto(`${base}/ui/fabrics/clos/devices?device=leaf517`);
      await page.waitForSelector('[data-testid="device-panel"] select, [data-testid="device-panel"] dl');
      await page.screenshot({ path: path.join(shots, 'ui-devices-1056.png') });
    }
    const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
    console.log(`ui bench: 1,056 devices (32 spines, 1,024 leaves in 8 pods, ${file.links.length} links), ${runs} runs each, chromium headless, ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`);
    for (const [view, r] of Object.entries(out)) console.log(`  ${view}: cold ${fmt(r.cold)}; warm ${fmt(r.warm)}`);
    await app.close();
    await jobs.close();
  } finally {
    await browser.close();
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => { console.error(`bench failed: ${e instanceof Error ? e.stack : String(e)}`); process.exit(1); });
