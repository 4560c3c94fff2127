// RMA on a real twin (netns backend, --preconfigured, spine1 + leaf1 + leaf2 of frr-switch, a
// server on each leaf in one L2VNI): autoconfigure; leaf1 is powered off (`lab power`) and the
// test shows it is dead (lab status, no management answer, spine1's session down, the servers'
// ping stream broken); an RMA job with a new serial waits for the box; `lab replace` brings a
// factory-default one with that serial and a new MAC up on the same cables; the service's real
// DHCP server and ZTP route (in the controller namespace, on the same Redis over a unix socket)
// give it leaf1's identity; the job pins its new host key, checks LLDP, pushes, verifies spine1's
// sessions; leaf1 is managed again with the same addresses, and the ping stream returns.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import IORedis, { type Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { Store } from '../../src/store';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { createPush, readRunning, type DevicePush } from '../../src/jobs/push';
import { computeDrift } from '../../src/jobs/drift';
import { rmaJob, configureRma } from '../../src/jobs/rma/job';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { NetconfClient } from '../../src/netconf/client';
import { relay, sh, inNs, within, namespaces, type Relay, twinFabricInput, jobFinished } from './helpers';

jest.setTimeout(600_000);

const REPO = resolve(__dirname, '../..');
const CLI = join(REPO, 'dist/src/lab/cli.js');
const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'snmpd', 'dhclient', 'redis-server'] });

// rm + 5 random characters: this suite's namespaces never collide with another's.
const LAB = `rm${randomBytes(3).toString('hex').slice(0, 5)}`;
const ROOT = mkdtempSync(join(tmpdir(), 'rm-lab-'));
const F = 'rma';
const NEW_SERIAL = 'RMA0101';
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

// The service's DHCP server and ZTP route, from dist/, inside the controller namespace.
const DISCOVERY = `
const [repo, sock, key] = process.argv.slice(1);
const IORedis = require(repo + '/node_modules/ioredis');
const { Store } = require(repo + '/dist/src/store');
const { startDhcpFromEnv } = require(repo + '/dist/src/discovery/dhcp');
const { ztpRoutes } = require(repo + '/dist/src/discovery/service');
const fastify = require(repo + '/node_modules/fastify');
(async () => {
  const redis = new IORedis({ path: sock, maxRetriesPerRequest: null });
  const store = new Store(redis, { secretKey: Buffer.from(key, 'hex') });
  const dhcp = await startDhcpFromEnv(redis, { DHCP_INTERFACE: 'mgmt0', PORT: '8080' }, { log: (m) => process.stdout.write(m + '\\n') });
  const app = fastify();
  await app.register(ztpRoutes(store));
  await app.listen({ host: '10.0.0.1', port: 8080 });
  process.stdout.write('ready\\n');
  process.on('SIGTERM', async () => { await dhcp.stop(); await app.close(); redis.disconnect(); process.exit(0); });
})().catch((e) => { process.stderr.write(String(e.stack) + '\\n'); process.exit(1); });
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pingStream(from: string, to: string) {
  const probes: { at: number; ok: boolean }[] = [];
  const child = spawn('ip', ['netns', 'exec', `${LAB}-${from}`, 'ping', '-O', '-D', '-n', '-i', '0.2', '-W', '1', to], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      if (/bytes from/.test(l)) probes.push({ at: Date.now(), ok: true });
      else if (/no answer yet/.test(l)) probes.push({ at: Date.now(), ok: false });
    }
  });
  return {
    probes,
    lastOk: (n: number) => probes.length >= n && probes.slice(-n).every((p) => p.ok),
    lastLost: (n: number) => probes.length >= n && probes.slice(-n).every((p) => !p.ok),
    stop: async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } },
  };
}

const lab = (...args: string[]) => sh([process.execPath, CLI, ...args, '--dir', ROOT], { timeoutMs: 180_000 });

d('RMA of a powered-off leaf on a twin (netns)', () => {
  const relays = new Map<string, Relay>();
  let dir: string;
  let redisProc: ChildProcess | undefined;
  let discovery: ChildProcess | undefined;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  let mgmt: Record<string, string> = {};
  let dp: DevicePush;
  const streams: { stop(): Promise<void> }[] = [];
  const timings: Record<string, number> = {};

  const finished = (id: string, ms = 300_000): Promise<JobView> => jobFinished(jobs, id, ms);
  const sessions = async (dev: string) => {
    // Keyed by peer address, not the hostname bgpd announces: the twin's bgpd keeps the host name
    // it started with (a factory-default box's is its serial) until it restarts.
    const r = await sh(['vtysh', '-N', `${LAB}-${dev}`, '-c', 'show bgp vrf all summary json']);
    const out: Record<string, string> = {};
    try {
      const j = JSON.parse(r.stdout) as Record<string, Record<string, { peers?: Record<string, { state: string }> }>>;
      for (const [afi, v] of Object.entries(j.default ?? {})) for (const [peer, s] of Object.entries(v?.peers ?? {})) out[`${afi}:${peer}:`] = s.state;
    } catch { /* bgpd not answering */ }
    return out;
  };
  const frrConf = async (dev: string) => {
    const c = await NetconfClient.connect({ host: '127.0.0.1', port: relays.get(dev)!.port, deviceId: dev, username: 'admin', password: 's3cret', connectTimeoutMs: 20_000 });
    try { return (await readRunning(c, dev, 'frr'))[`${dev}.frr.conf`]; } finally { await c.close(); }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rm-twin-'));
    const sock = join(dir, 'redis.sock');
    redisProc = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(100);
    const connect = () => new IORedis({ path: sock, maxRetriesPerRequest: null });
    redis = connect();
    const key = randomBytes(32);
    store = new Store(redis, { secretKey: key });
    const up = await netnsBackend.up(topo, { preconfigured: true, root: ROOT, timeoutSeconds: 180 });
    mgmt = up.managementIps;
    const byIp = new Map<string, Relay>();
    for (const dev of topo.devices) {
      const rl = await relay(LAB, mgmt[dev.name], 830);
      relays.set(dev.name, rl);
      byIp.set(mgmt[dev.name], rl);
    }
    discovery = spawn('ip', ['netns', 'exec', `${LAB}-ctl`, process.execPath, '-e', DISCOVERY, REPO, sock, key.toString('hex')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('DHCP/ZTP helper did not start')), 30_000);
      let out = '';
      discovery!.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('ready')) { clearTimeout(t); res(); } });
      discovery!.once('exit', (c) => { clearTimeout(t); rej(new Error(`DHCP/ZTP helper exited ${c}`)); });
    });
    await store.createFabric(twinFabricInput(F, DEVICES, LINKS, { bms: true }));
    for (const dev of DEVICES) await store.updateDevice(F, dev.name, { managementIp: mgmt[dev.name], managedState: 'active' });
    dp = createPush({
      resolveEndpoint: ({ managementIp }) => ({ host: '127.0.0.1', port: byIp.get(managementIp)!.port }),
      verifyTimeoutMs: 90_000, verifyPollMs: 1000, rpcTimeoutMs: 10_000, confirmTimeoutSeconds: 120, connectTimeoutMs: 5_000,
    });
    configureRma({ bootTimeoutMs: 180_000, settleTimeoutMs: 120_000, pollMs: 1000 });
    const types = new JobTypes().register(autoconfigureJob({ push: dp.push })).register(rmaJob({ device: dp }));
    jobs = new JobSystem({ connection: redis, connect, lockBackend: store, lockTtlMs: 60_000, types });
    await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency: 10 });
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    if (v.state !== 'succeeded') throw new Error(`autoconfigure: ${v.error}`);
  });

  afterAll(async () => {
    for (const st of streams) await within(st.stop(), 3000);
    configureRma(undefined);
    await within(jobs?.close(), 10_000);
    try { redis?.disconnect(); } catch { /* closing */ }
    if (discovery && discovery.exitCode === null) { discovery.kill('SIGTERM'); await within(new Promise((r) => discovery!.once('exit', r)), 5000); }
    for (const r of relays.values()) await within(r.close().catch(() => undefined), 3000);
    await netnsBackend.down(LAB, { root: ROOT });
    if (redisProc && redisProc.exitCode === null) { redisProc.kill('SIGTERM'); await within(new Promise((r) => redisProc!.once('exit', r)), 5000); }
    rmSync(ROOT, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (process.env.RMA_TIMINGS_FILE) writeFileSync(process.env.RMA_TIMINGS_FILE, JSON.stringify(timings));
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
  });

  test('leaf1 dies, an RMA with a new serial brings a factory-default replacement back with the same identity and traffic', async () => {
    const stream = pingStream('bms1', '10.10.0.12');
    streams.push(stream);
    for (let i = 0; i < 240 && !stream.lastOk(5); i++) await sleep(250);
    expect(stream.lastOk(5)).toBe(true);
    const before = (await store.getDevice(F, 'leaf1'))!;
    const confBefore = await frrConf('leaf1');
    // spine1's sessions to leaf1: the underlay on swp1 (its cable to leaf1), EVPN to leaf1's loopback.
    const lo1 = (await store.getAllocations(F)).loopbacks.leaf1;
    const toLeaf1 = new RegExp(`:(swp1|${lo1.replace(/\./g, '\\.')}):`);
    const upBefore = Object.entries(await sessions('spine1')).filter(([k, s]) => toLeaf1.test(k) && s === 'Established').map(([k]) => k).sort();
    expect(upBefore.length).toBeGreaterThanOrEqual(1);

    // Power off, and show the box is really dead.
    const off = await lab('power', LAB, 'leaf1', 'off');
    expect(off.code).toBe(0);
    const st = JSON.parse((await lab('status', LAB, '--json')).stdout) as { nodes: { name: string; state: string; processes: unknown[] }[] };
    expect(st.nodes.find((n) => n.name === 'leaf1')).toMatchObject({ state: 'down', processes: [] });
    expect((await inNs(`${LAB}-ctl`, ['ping', '-c', '2', '-W', '1', mgmt.leaf1])).code).not.toBe(0);
    for (let i = 0; i < 60 && Object.entries(await sessions('spine1')).some(([k, s]) => toLeaf1.test(k) && s === 'Established'); i++) await sleep(500);
    expect(Object.entries(await sessions('spine1')).filter(([k, s]) => toLeaf1.test(k) && s === 'Established')).toEqual([]);
    for (let i = 0; i < 40 && !stream.lastLost(3); i++) await sleep(250);
    expect(stream.lastLost(3)).toBe(true);

    // The RMA job: leaf1 goes to rma and waits for its replacement.
    const id = await jobs.submit('rma', F, { device: 'leaf1', serial: NEW_SERIAL, imageBaseUrl: 'http://10.0.0.1:8080' });
    for (let i = 0; i < 120; i++) {
      const v = await jobs.get(id, { logLimit: 100 });
      if (v?.log.some((l) => /DHCP reserves/.test(l.message)) || (v && ['failed', 'succeeded'].includes(v.state))) break;
      await sleep(250);
    }
    expect((await store.getDevice(F, 'leaf1'))!).toMatchObject({ managedState: 'rma', serial: NEW_SERIAL, managementIp: before.managementIp });
    // Nothing asks the dead box: drift leaves it out.
    expect((await computeDrift(store, F, { connectDevice: dp.connect })).map((x) => x.device)).toEqual(['leaf2', 'spine1']);

    const t0 = Date.now();
    const rep = await lab('replace', LAB, 'leaf1', '--serial', NEW_SERIAL);
    expect(rep.stderr).toMatch(/factory default, DHCP on eth0/);
    expect(rep.code).toBe(0);
    const v = await finished(id);
    timings.rmaMs = Date.now() - t0;
    if (v.state !== 'succeeded') console.log(v.log.map((l) => `${l.device ?? ''} ${l.message}`).join('\n')); // eslint-disable-line no-console
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    const msgs = v.log.map((l) => l.message);
    expect(msgs).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^${NEW_SERIAL} took lease ${before.managementIp!.replace(/\./g, '\\.')} `)),
      expect.stringMatching(/^cabling: LLDP sees all 1 stored links on the same ports$/),
      expect.stringMatching(/^peers: (.*, )?spine1(, .*)? see their sessions to leaf1 Established$/),
    ]));

    // Same identity, new serial and host key (an audit event says so), managed again.
    const after = (await store.getDevice(F, 'leaf1'))!;
    expect(after).toMatchObject({ name: 'leaf1', serial: NEW_SERIAL, managementIp: before.managementIp, managedState: 'active', physicalRole: 'leaf', roles: before.roles });
    expect(after.hostKey).toBeTruthy();
    expect(after.hostKey).not.toBe(before.hostKey);
    const ev = (await store.listEvents(F, { limit: 500 })).items.find((e) => e.action === 'device.rma.hostkey');
    expect(ev?.details).toMatchObject({ oldSerial: 'SIM0101', serial: NEW_SERIAL, oldFingerprint: before.hostKey, fingerprint: after.hostKey });
    // The replacement runs the same config (loopback, ASN, link addresses), and spine1 sees its sessions again.
    expect(await frrConf('leaf1')).toBe(confBefore);
    const upAfter = Object.entries(await sessions('spine1')).filter(([k, s]) => toLeaf1.test(k) && s === 'Established').map(([k]) => k).sort();
    expect(upAfter).toEqual(upBefore);
    // BMS traffic through the new box returns.
    for (let i = 0; i < 240 && !stream.lastOk(5); i++) await sleep(250);
    expect(stream.lastOk(5)).toBe(true);
    await stream.stop();
    expect(JSON.parse((await lab('status', LAB, '--json')).stdout).nodes.find((n: { name: string }) => n.name === 'leaf1').serial).toBe(NEW_SERIAL);
  });
});
