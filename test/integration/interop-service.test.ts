// `fabric export netbox|containerlab NAME` from a running service (real Redis, the API over
// HTTP, a viewer token): the same files as offline for a fabric created from the same file,
// the links' /31s as the service allocated them, containerlab's configs = the service's
// intended configs, and no secret in anything written.
import { mkdtempSync, readFileSync, readdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { JobSystem, JobTypes } from '../../src/jobs';
import { TokenStore } from '../../src/api/auth';
import { buildApp, type App } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { main } from '../../src/cli/main';
import { netboxExport } from '../../src/interop/netbox';
import { planFabric } from '../../src/intent/compile';
import { loadProfiles } from '../../src/domain/profiles';

jest.setTimeout(120_000);

describeIf({ commands: ['redis-server'] })('fabric export from the service', () => {
  let t: TestRedis;
  let jobs: JobSystem;
  let app: App;
  let base: string;
  let dir: string;
  let admin: string;
  let viewer: string;
  let store: Store;

  const run = async (args: string[], token = viewer) => {
    let out = '';
    let err = '';
    const code = await main(args, { out: (s) => { out += s; }, err: (s) => { err += s; }, env: { FABRIC_API_URL: base, FABRIC_TOKEN: token } });
    return { code, out, err };
  };
  const readDir = (d: string): Record<string, string> => Object.fromEntries(readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile()).map((e) => { const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name); return [path.relative(d, p), readFileSync(p, 'utf8')]; }));

  beforeAll(async () => {
    t = await startTestRedis();
    const redis = t.client();
    store = new Store(redis, { secretKey: t.secretKey });
    jobs = new JobSystem({ connection: redis, connect: () => t.client(), lockBackend: store, types: new JobTypes() });
    const config = loadConfig({ DATA_DIR: t.dataDir });
    const logger = createLogger({ level: 'silent' });
    const tokens = new TokenStore(redis);
    admin = (await tokens.create('admin')).token;
    viewer = (await tokens.create('viewer')).token;
    app = await buildApp({ store, jobs, tokens, config, logger });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    dir = mkdtempSync(path.join(tmpdir(), 'eco-interop-'));
    copyFileSync(path.join(__dirname, '../../examples/dc1-frr-services.yaml'), path.join(dir, 'dc1.yaml'));
    expect((await run(['fabrics', 'create', path.join(dir, 'dc1.yaml')], admin)).code).toBe(0);
    await store.allocateFabric('dc1');
  });

  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('netbox: the files of the offline export, device states from the service, no secret', async () => {
    const out = path.join(dir, 'nb');
    const r = await run(['export', 'netbox', 'dc1', '--out', out]);
    expect(r.code).toBe(0);
    const got = readDir(out);
    // offline, with the service's allocation record, the export is the same
    const alloc = await store.getAllocations('dc1');
    const profiles = loadProfiles();
    const p = planFabric(readFileSync(path.join(dir, 'dc1.yaml'), 'utf8'), alloc, profiles);
    const want = netboxExport(p.file, p.plans, p.allocations, profiles).files;
    expect(p.allocations).toEqual(alloc);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    // the same rows (the service lists devices by name, the file in its own order); the
    // service's devices are not yet discovered: state dhcp -> NetBox "planned", as offline
    const rows = (t: string): string[] => t.split('\n').filter(Boolean).sort();
    for (const [name, text] of Object.entries(want)) expect([name, rows(got[name])]).toEqual([name, rows(text)]);
    const all = Object.values(got).join('\n');
    expect(all).not.toContain('s3cret');
    expect(all).not.toContain('fabric-ro');
  });

  test('netbox: addresses and ASNs are the service\'s own allocation', async () => {
    const links = await store.listLinks('dc1');
    const out = path.join(dir, 'nb2');
    expect((await run(['export', 'netbox', 'dc1', '--out', out])).code).toBe(0);
    const cables = readFileSync(path.join(out, '08-cables.csv'), 'utf8');
    for (const l of links) expect(cables).toContain(`fabric-ztp ${l.subnet}`);
    const alloc = await store.getAllocations('dc1');
    const ips = readFileSync(path.join(out, '13-ip-addresses.csv'), 'utf8');
    const asns = readFileSync(path.join(out, '11-asns.csv'), 'utf8');
    for (const [d, lo] of Object.entries(alloc.loopbacks)) expect(ips).toContain(`${lo}/32,active,loopback,${d},lo,`);
    for (const [d, asn] of Object.entries(alloc.asns)) expect(asns).toContain(`${asn},fabric-ztp-private,fabric-ztp dc1 device ${d}`);
  });

  test('containerlab: the service\'s intended configs bound, the links as stored', async () => {
    const out = path.join(dir, 'clab');
    const r = await run(['export', 'containerlab', 'dc1', '--out', out]);
    expect(r.code).toBe(0);
    for (const d of ['spine1', 'leaf1']) {
      const cfg = await (await fetch(`${base}/api/v1/fabrics/dc1/devices/${d}/config`, { headers: { authorization: `Bearer ${viewer}` } })).json() as { files: Record<string, string> };
      expect(readFileSync(path.join(out, d, 'frr.conf'), 'utf8')).toBe(cfg.files[`${d}.frr.conf`]);
    }
    const topo = readFileSync(path.join(out, 'dc1.clab.yml'), 'utf8');
    for (const l of await store.listLinks('dc1')) expect(topo).toContain(`- ${l.a.device}:${l.a.port}\n        - ${l.b.device}:${l.b.port}`);
  });

  test('an unknown fabric: one line, exit 1', async () => {
    const r = await run(['export', 'netbox', 'nope', '--out', path.join(dir, 'x')]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^fabric: .*nope/);
  });
});
