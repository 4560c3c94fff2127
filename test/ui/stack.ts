// The service as the browser tests see it: a real Redis, the API on 127.0.0.1 with BullMQ
// workers, a fabric of simulator devices (src/lab/sim: NETCONF on their own 127.x addresses)
// that autoconfigure really pushes to, and tokens of every role. Stopped in reverse order.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { JobSystem } from '../../src/jobs';
import { builtinJobTypes } from '../../src/jobs/runtime';
import { createPush } from '../../src/jobs/push';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { rollbackJob } from '../../src/jobs/rollback';
import { maintenanceJob } from '../../src/jobs/maintenance/job';
import { upgradeJob } from '../../src/jobs/upgrade/job';
import { TokenStore, type Role } from '../../src/api/auth';
import { buildApp, type App } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { runSim, type Sim } from '../../src/lab/sim';

const ROOT = path.join(__dirname, '../..');

function newest(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((e) => newest(path.join(p, e))));
}

/** Builds dist/webui when it is missing or older than ui/ (setup.sh builds it for npm test). */
export function ensureUiBuilt(): void {
  const index = path.join(ROOT, 'dist/webui/index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(path.join(ROOT, 'ui'))) return;
  execFileSync(process.execPath, [path.join(ROOT, 'ui/build.mjs')], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
}

export interface UiStack {
  base: string;
  tokens: Record<Role, string>;
  tokenStore: TokenStore;
  store: Store;
  jobs: JobSystem;
  sim?: Sim;
  /** fetch against the API with a role's token */
  call(method: string, url: string, body?: unknown, role?: Role): Promise<{ status: number; json: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  waitJob(id: string): Promise<{ state: string; error?: string }>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** a fabric of sim devices with this name (spines/leaves), created through the API */
  fabric?: { name: string; spines: number; leaves: number };
}

export async function startUiStack(o: StackOptions = {}): Promise<UiStack> {
  const redis: TestRedis = await startTestRedis();
  const cleanups: (() => Promise<unknown>)[] = [() => redis.stop()];
  const stop = async () => { for (const c of cleanups.reverse()) await c().catch(() => undefined); };
  try {
    const conn = redis.client();
    const store = new Store(conn, { secretKey: redis.secretKey });
    const config = loadConfig({ DATA_DIR: redis.dataDir });
    const logger = createLogger({ level: 'silent' });
    const jobs = new JobSystem({ connection: conn, connect: () => redis.client(), lockBackend: store, lockTtlMs: 20_000, types: builtinJobTypes(config, logger) });
    cleanups.push(() => jobs.close());
    await jobs.startWorkers({ redis: conn, config, logger, store }, { concurrency: 8 });
    const tokenStore = new TokenStore(conn, 0);
    const tokens = {} as Record<Role, string>;
    for (const r of ['viewer', 'operator', 'admin'] as Role[]) tokens[r] = (await tokenStore.create(r, `ui-${r}`)).token;
    const app: App = await buildApp({ store, jobs, tokens: tokenStore, config, logger });
    cleanups.push(() => app.close());
    const base = await app.listen({ port: 0, host: '127.0.0.1' });

    const call: UiStack['call'] = async (method, url, body, role = 'admin') => {
      const res = await fetch(base + url, {
        method, headers: { authorization: `Bearer ${tokens[role]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };
    const waitJob: UiStack['waitJob'] = async (id) => {
      for (let i = 0; i < 1200; i++) {
        const r = await call('GET', `/api/v1/jobs/${id}?logLimit=1`, undefined, 'viewer');
        if (['succeeded', 'failed', 'cancelled'].includes(r.json?.state)) return r.json;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`job ${id} did not finish in 120 s`);
    };

    let sim: Sim | undefined;
    if (o.fabric) {
      // A random /22 of 127/8 and port: other engineers' sims run on this machine too.
      const cidr = `127.${150 + Math.floor(Math.random() * 90)}.${Math.floor(Math.random() * 64) * 4}.0/22`;
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const credentials = { username: 'admin', password: 'ui-sim-pass' };
      sim = await runSim({ spines: o.fabric.spines, leaves: o.fabric.leaves, cidr, netconfPort: port, snmp: false, credentials });
      cleanups.push(() => sim!.stop());
      // The sim runs no routing daemons: nothing to verify after the commit (the twin tests do).
      const device = createPush({ resolveEndpoint: ({ managementIp }) => ({ host: managementIp, port }), verify: false, confirmTimeoutSeconds: 60, connectTimeoutMs: 10_000 });
      const { push } = device;
      jobs.types.register(autoconfigureJob({ push })).register(rollbackJob({ push })).register(maintenanceJob({ device })).register(upgradeJob({ device }));
      const gw = cidr.replace(/\.0\/22$/, '.254').replace(/^(127\.\d+\.)(\d+)/, (_m, a: string, b: string) => `${a}${Number(b) + 3}`);
      const r = await call('POST', '/api/v1/fabrics', {
        fabric: {
          name: o.fabric.name, credentials,
          namespaces: { management: [{ cidr, gateway: gw }], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/22'], asn: [{ min: 64601, max: 64900 }], overlayAsn: 64512 },
        },
        devices: sim.devices.map((d) => ({
          name: d.name, serial: d.serial, profile: 'frr-switch', physicalRole: d.role,
          roles: d.role === 'spine' ? (d.name === 'spine1' ? ['Route-Reflector'] : []) : ['CRB-Access'],
        })),
        links: sim.links.map((k) => k.split('--')),
      });
      if (r.status !== 201) throw new Error(`fabric create: ${r.status} ${JSON.stringify(r.json)}`);
      // Management addresses come from discovery in real life; here the sim's are known.
      for (const d of sim.devices) {
        const p = await call('PATCH', `/api/v1/fabrics/${o.fabric.name}/devices/${d.name}`, { managementIp: d.address, model: d.model, osVersion: d.osVersion });
        if (p.status !== 200) throw new Error(`device ${d.name}: ${p.status} ${JSON.stringify(p.json)}`);
      }
    }
    return { base, tokens, tokenStore, store, jobs, sim, call, waitJob, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
