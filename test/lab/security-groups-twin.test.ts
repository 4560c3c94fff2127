// Security groups on a real twin (netns backend, --preconfigured, 1 spine + 2 CRB-Access leaves
// of frr-switch, a server on each leaf in one L2VNI): the services use case the REST routes run
// (changeServicesAndPush: one store transaction, then the incremental autoconfigure) attaches a
// group denying TCP 9090 towards bms2 to bms2's binding. The test first shows the fault state
// really exists (leaf2's device agent put an nftables drop rule on swp10: `nft list` inside its
// namespace), then that bms1 -> bms2 TCP 9090 is dropped (and the rule's counter moved) while
// TCP 8080 passes; removing the group again removes the table and 9090 passes again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { startLocalRedis, connectRedis, type LocalRedis } from '../../src/store/redis-server';
import { Store, type FabricServices } from '../../src/store';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { createPush } from '../../src/jobs/push';
import { changeServicesAndPush } from '../../src/jobs/intent-change';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { labName, tmpRoot, relay, inNs, within, namespaces, type Relay, twinFabricInput, jobFinished } from './helpers';

jest.setTimeout(300_000);

const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'redis-server', 'nft'] });

// pg + 5 random characters: this suite's namespaces never collide with another's.
const LAB = `pg${labName().slice(1, 6)}`;
const ROOT = tmpRoot();
const F = 'sg';
const DEVICES = [
  { name: 'spine1', serial: 'SIM0001', physicalRole: 'spine', roles: ['Route-Reflector'] },
  { name: 'leaf1', serial: 'SIM0101', physicalRole: 'leaf', roles: ['CRB-Access'] },
  { name: 'leaf2', serial: 'SIM0102', physicalRole: 'leaf', roles: ['CRB-Access'] },
];
const LINKS = [['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51']];
const topo = validateTopology({
  name: LAB,
  devices: DEVICES.map((x) => ({ name: x.name, serial: x.serial, profile: 'frr-switch' })),
  links: LINKS,
  servers: [{ name: 'bms1', nics: ['leaf1:swp10'], address: '10.10.0.11/24' }, { name: 'bms2', nics: ['leaf2:swp10'], address: '10.10.0.12/24' }],
  management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
  credentials: { username: 'admin', password: 's3cret' },
  snmp: { community: 'fabric-ro' },
});
const BMS2 = '10.10.0.12';
const GROUP = { name: 'no-9090', rules: [{ direction: 'ingress' as const, action: 'deny' as const, protocol: 'tcp' as const, ports: { from: 9090 } }] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP connect from bms1 to bms2:port within 2 s: 'ok', 'timeout' or the error code. */
async function connect(port: number): Promise<string> {
  const js = `const s=require('net').connect(${port},'${BMS2}');s.setTimeout(2000);` +
    `s.on('connect',()=>{process.stdout.write('ok');s.destroy()});` +
    `s.on('timeout',()=>{process.stdout.write('timeout');process.exit(0)});` +
    `s.on('error',(e)=>{process.stdout.write(String(e.code));process.exit(0)})`;
  const r = await inNs(`${LAB}-bms1`, [process.execPath, '-e', js], { timeoutMs: 10_000 });
  return r.stdout.trim();
}

d('security groups on a twin: nftables on the leaf port drop a denied flow, pass the rest, and go away again', () => {
  const relays = new Map<string, Relay>();
  let dir: string;
  let server: LocalRedis;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  let listener: ChildProcess | undefined;

  const finished = (id: string, ms = 180_000): Promise<JobView> => jobFinished(jobs, id, ms);
  /** One services change through the REST routes' use case; its push must succeed. */
  const change = async (fn: (cur: FabricServices) => FabricServices): Promise<string[]> => {
    const r = await changeServicesAndPush({ store, jobs }, F, (cur) => ({ next: fn(cur), result: null }), { actor: 'test' });
    expect(r.jobId).toBeDefined();
    const v = await finished(r.jobId!);
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    return r.devices;
  };
  const table = async (dev: string) => inNs(`${LAB}-${dev}`, ['nft', 'list', 'table', 'bridge', 'fabric_sg']);
  const withGroup = (on: boolean) => (cur: FabricServices): FabricServices => ({
    ...cur,
    securityGroups: on ? [GROUP] : [],
    vpgs: cur.vpgs.map((v) => (v.name !== 'bms2' ? v : { ...v, bindings: [on ? { network: 'web', untagged: true, securityGroups: [GROUP.name] } : { network: 'web', untagged: true }] })),
  });

  beforeAll(async () => {
    const up = await netnsBackend.up(topo, { preconfigured: true, root: ROOT, timeoutSeconds: 180 });
    const byIp = new Map<string, Relay>();
    for (const dev of topo.devices) {
      const rl = await relay(LAB, up.managementIps[dev.name], 830);
      relays.set(dev.name, rl);
      byIp.set(up.managementIps[dev.name], rl);
    }
    dir = mkdtempSync(join(tmpdir(), 'pg-sg-twin-'));
    server = await startLocalRedis({ dataDir: dir });
    redis = connectRedis(server.url);
    store = new Store(redis, { secretKey: randomBytes(32) });
    await store.createFabric(twinFabricInput(F, DEVICES, LINKS, { bms: true, subnet: '10.10.0.0/24' }));
    for (const dev of DEVICES) await store.updateDevice(F, dev.name, { managementIp: up.managementIps[dev.name], managedState: 'active' });
    const dp = createPush({
      resolveEndpoint: ({ managementIp }) => ({ host: '127.0.0.1', port: byIp.get(managementIp)!.port }),
      verifyTimeoutMs: 60_000, verifyPollMs: 1000, rpcTimeoutMs: 10_000, confirmTimeoutSeconds: 120, connectTimeoutMs: 5_000,
    });
    const types = new JobTypes().register(autoconfigureJob({ push: dp.push }));
    jobs = new JobSystem({ connection: redis, connect: () => connectRedis(server.url), lockBackend: store, lockTtlMs: 60_000, types });
    await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency: 4 });
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    if (v.state !== 'succeeded') throw new Error(`autoconfigure: ${v.error}`);
    // Listeners on bms2 for both ports (one process, stopped by pid).
    const js = "for (const p of [8080, 9090]) require('net').createServer((c) => c.end()).listen(p, '0.0.0.0'); process.stdout.write('up\\n')";
    listener = spawn('ip', ['netns', 'exec', `${LAB}-bms2`, process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('listener did not start')), 10_000);
      listener!.stdout!.once('data', () => { clearTimeout(t); resolve(); });
    });
    // The overlay carries bms1 -> bms2 before any filter (EVPN may take a few seconds).
    let r = '';
    for (let i = 0; i < 60 && r !== 'ok'; i++) { r = await connect(8080); if (r !== 'ok') await sleep(1000); }
    expect(r).toBe('ok');
  });

  afterAll(async () => {
    if (listener && listener.exitCode === null) { listener.kill('SIGTERM'); await within(new Promise((r) => listener!.once('exit', r)), 3000); }
    await within(jobs?.close(), 10_000);
    try { redis?.disconnect(); } catch { /* closing */ }
    await within(server?.stop(), 10_000);
    for (const r of relays.values()) await within(r.close().catch(() => undefined), 3000);
    await netnsBackend.down(LAB, { root: ROOT });
    if (dir) rmSync(dir, { recursive: true, force: true });
    rmSync(ROOT, { recursive: true, force: true });
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
  });

  test('a denied flow is dropped and an allowed one passes; removing the group lets it pass again', async () => {
    expect(await connect(9090)).toBe('ok');
    expect((await table('leaf2')).code).not.toBe(0);

    // Attach: only leaf2's intent changes, so only leaf2 is pushed.
    expect(await change(withGroup(true))).toEqual(['leaf2']);
    // The fault state is real: leaf2's agent installed the drop rule on the server's port.
    const t = await table('leaf2');
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('oifname "swp10" jump');
    expect(t.stdout).toMatch(/tcp dport 9090 counter packets 0 bytes 0 drop/);
    expect((await table('leaf1')).code).not.toBe(0);

    expect(await connect(9090)).toBe('timeout');
    expect(await connect(8080)).toBe('ok');
    // The drop came from that rule: its counter moved.
    expect((await table('leaf2')).stdout).toMatch(/tcp dport 9090 counter packets [1-9]\d* bytes \d+ drop/);

    // Detach and delete the group: the table goes, the flow passes again.
    expect(await change(withGroup(false))).toEqual(['leaf2']);
    expect((await table('leaf2')).code).not.toBe(0);
    expect(await connect(9090)).toBe('ok');
  });
});
