// Day 2 on a real twin (netns backend, --preconfigured, 2 spines + 2 leaves of frr-switch):
// autoconfigure first, then (1) maintenance of a spine: its config carries the drain, its peers'
// sessions stay up, and a leaf's best path to the other leaf's loopback no longer goes through
// it (read with vtysh inside the leaf's namespace: the test looks, the product only uses
// NETCONF); leaving restores; (2) settings.osVersions: drift shows every device off-version;
// (3) a rolling upgrade of every device to 9.1.0 through the device agents' install-software:
// leaves before spines one at a time, every device reports 9.1.0, managed again, drift clean,
// and a ping stream between the leaves' servers loses at most 5% while the spines are upgraded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { NetconfClient } from '../../src/netconf/client';
import { startLocalRedis, connectRedis, type LocalRedis } from '../../src/store/redis-server';
import { Store } from '../../src/store';
import { imageStoreAt } from '../../src/store/images';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { createPush, readRunning, type DevicePush } from '../../src/jobs/push';
import { computeDrift } from '../../src/jobs/drift';
import { upgradeJob, configureUpgrade } from '../../src/jobs/upgrade/job';
import { maintenanceJob } from '../../src/jobs/maintenance/job';
import { factsFrom } from '../../src/discovery/facts';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { spawn } from 'node:child_process';
import { labName, tmpRoot, relay, sh, within, namespaces, type Relay, twinFabricInput, jobFinished } from './helpers';

/** A ping every 200 ms from one server to another, each probe recorded as answered or not, with its time. */
function pingStream(lab: string, from: string, to: string) {
  const probes: { at: number; ok: boolean }[] = [];
  const child = spawn('ip', ['netns', 'exec', `${lab}-${from}`, 'ping', '-O', '-D', '-n', '-i', '0.2', '-W', '1', to], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^\[(\d+\.\d+)\] (.*)$/.exec(l);
      if (!m) continue;
      if (/bytes from/.test(m[2])) probes.push({ at: Number(m[1]) * 1000, ok: true });
      else if (/no answer yet/.test(m[2])) probes.push({ at: Number(m[1]) * 1000, ok: false });
    }
  });
  const within = (a: number, b: number) => probes.filter((p) => p.at >= a && p.at <= b);
  return {
    probes,
    loss: (a: number, b: number) => { const w = within(a, b); return { sent: w.length, lost: w.filter((p) => !p.ok).length }; },
    stop: async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } },
  };
}

jest.setTimeout(900_000);

const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'snmpd', 'redis-server'] });

// d2 (or D2_LAB_PREFIX, 2 characters) + 5 random characters: this suite's namespaces never collide with another's.
const LAB = `${/^[a-z][a-z0-9]$/.test(process.env.D2_LAB_PREFIX ?? '') ? process.env.D2_LAB_PREFIX : 'd2'}${labName().slice(1, 6)}`;
const ROOT = tmpRoot();
const F = 'day2';
const DEVICES = [
  { name: 'spine1', serial: 'SIM0001', physicalRole: 'spine', roles: ['Route-Reflector'] },
  { name: 'spine2', serial: 'SIM0002', physicalRole: 'spine', roles: ['Route-Reflector'] },
  { name: 'leaf1', serial: 'SIM0101', physicalRole: 'leaf', roles: ['CRB-Access'] },
  { name: 'leaf2', serial: 'SIM0102', physicalRole: 'leaf', roles: ['CRB-Access'] },
];
const LINKS = [['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51'], ['spine2:swp1', 'leaf1:swp52'], ['spine2:swp2', 'leaf2:swp52']];
const topo = validateTopology({
  name: LAB,
  devices: DEVICES.map((x) => ({ name: x.name, serial: x.serial, profile: 'frr-switch' })),
  links: LINKS,
  servers: [{ name: 'bms1', nics: ['leaf1:swp10'], address: '10.10.0.11/24' }, { name: 'bms2', nics: ['leaf2:swp10'], address: '10.10.0.12/24' }],
  management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
  credentials: { username: 'admin', password: 's3cret' },
  snmp: { community: 'fabric-ro' },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

d('day 2 on a 2x2 twin: maintenance, version drift, rolling upgrade', () => {
  const relays = new Map<string, Relay>();
  let dir: string;
  let server: LocalRedis;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  let mgmt: Record<string, string> = {};
  let dp: DevicePush;
  const timings: Record<string, number> = {};
  const streams: { stop(): Promise<void> }[] = [];

  const finished = (id: string, ms = 600_000): Promise<JobView> => jobFinished(jobs, id, ms);
  const withClient = async <T>(dev: string, fn: (c: NetconfClient) => Promise<T>): Promise<T> => {
    const c = await NetconfClient.connect({ host: '127.0.0.1', port: relays.get(dev)!.port, deviceId: dev, username: 'admin', password: 's3cret', connectTimeoutMs: 20_000 });
    try { return await fn(c); } finally { await c.close(); }
  };
  const frrConf = async (dev: string) => (await withClient(dev, (c) => readRunning(c, dev, 'frr')))[`${dev}.frr.conf`];
  const version = async (dev: string) => (await withClient(dev, (c) => factsFrom(c))).osVersion;
  /** The best path's next hops from `dev` to `prefix`, as bgpd chose them. */
  const bestVia = async (dev: string, prefix: string): Promise<string[]> => {
    const r = await sh(['vtysh', '-N', `${LAB}-${dev}`, '-c', `show bgp ipv4 unicast ${prefix} json`]);
    const j = JSON.parse(r.stdout || '{}') as { paths?: { bestpath?: { overall?: boolean }; multipath?: boolean; peer?: { peerId?: string } }[] };
    return (j.paths ?? []).filter((p) => p.bestpath?.overall || p.multipath).map((p) => p.peer?.peerId ?? '?').sort();
  };

  beforeAll(async () => {
    const up = await netnsBackend.up(topo, { preconfigured: true, root: ROOT, timeoutSeconds: 180 });
    mgmt = up.managementIps;
    const byIp = new Map<string, Relay>();
    for (const dev of topo.devices) {
      const rl = await relay(LAB, mgmt[dev.name], 830);
      relays.set(dev.name, rl);
      byIp.set(mgmt[dev.name], rl);
    }
    dir = mkdtempSync(join(tmpdir(), 'd2-twin-'));
    server = await startLocalRedis({ dataDir: dir });
    redis = connectRedis(server.url);
    store = new Store(redis, { secretKey: randomBytes(32) });
    await store.createFabric(twinFabricInput(F, DEVICES, LINKS, { bms: true }));
    for (const dev of DEVICES) await store.updateDevice(F, dev.name, { managementIp: mgmt[dev.name], managedState: 'active' });
    dp = createPush({
      resolveEndpoint: ({ managementIp }) => ({ host: '127.0.0.1', port: byIp.get(managementIp)!.port }),
      verifyTimeoutMs: 60_000, verifyPollMs: 1000, rpcTimeoutMs: 10_000, confirmTimeoutSeconds: 120, connectTimeoutMs: 5_000,
    });
    configureUpgrade({ rebootSeconds: 2, pollMs: 1000, rebootTimeoutMs: 120_000, postcheckTimeoutMs: Number(process.env.D2_POSTCHECK_MS ?? 300_000) });
    const types = new JobTypes().register(autoconfigureJob({ push: dp.push })).register(upgradeJob({ device: dp })).register(maintenanceJob({ device: dp }));
    jobs = new JobSystem({ connection: redis, connect: () => connectRedis(server.url), lockBackend: store, lockTtlMs: 60_000, types });
    await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency: 20 });
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    if (v.state !== 'succeeded') throw new Error(`autoconfigure: ${v.error}`);
  });

  afterAll(async () => {
    for (const st of streams) await within(st.stop(), 3000);
    configureUpgrade(undefined);
    await within(jobs?.close(), 10_000);
    try { redis?.disconnect(); } catch { /* closing */ }
    await within(server?.stop(), 10_000);
    for (const r of relays.values()) await within(r.close().catch(() => undefined), 3000);
    await netnsBackend.down(LAB, { root: ROOT });
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (process.env.D2_TIMINGS_FILE) writeFileSync(process.env.D2_TIMINGS_FILE, JSON.stringify(timings));
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
  });

  test('maintenance of spine1: drained (graceful shutdown + prepend), leaves route around it, sessions up; leaving restores', async () => {
    const lo = (await store.getAllocations(F)).loopbacks;
    const leaf2Lo = `${lo.leaf2}/32`;
    // Before: leaf1 reaches leaf2's loopback over both spines (ECMP).
    const before = await bestVia('leaf1', leaf2Lo);
    expect(before).toHaveLength(2);
    const t0 = Date.now();
    const v = await finished(await jobs.submit('maintenance', F, { device: 'spine1', enabled: true }));
    timings.maintenanceEnterMs = Date.now() - t0;
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    expect((await store.getDevice(F, 'spine1'))!.managedState).toBe('maintenance');
    expect(await frrConf('spine1')).toContain(' bgp graceful-shutdown');
    // The peers now prefer spine2 only (bounded wait for the UPDATEs to arrive).
    let via: string[] = [];
    for (let i = 0; i < 60 && !(via.length === 1); i++) { via = await bestVia('leaf1', leaf2Lo); if (via.length !== 1) await sleep(500); }
    expect(via).toHaveLength(1);
    expect(before).toContain(via[0]);
    const spine2Peer = via[0];
    const t1 = Date.now();
    const back = await finished(await jobs.submit('maintenance', F, { device: 'spine1', enabled: false }));
    timings.maintenanceLeaveMs = Date.now() - t1;
    expect(back.state).toBe('succeeded');
    expect((await store.getDevice(F, 'spine1'))!.managedState).toBe('active');
    expect(await frrConf('spine1')).not.toContain('graceful-shutdown');
    for (let i = 0; i < 60 && via.length !== 2; i++) { via = await bestVia('leaf1', leaf2Lo); if (via.length !== 2) await sleep(500); }
    expect(via).toEqual(before);
    expect(via).toContain(spine2Peer);
  });

  test('settings.osVersions: drift shows every device off the target version', async () => {
    const from = await version('leaf1');
    expect(from).not.toBe('9.1.0');
    await store.updateFabric(F, { settings: { osVersions: { 'frr-switch': '9.1.0' } } });
    const drift = await computeDrift(store, F, { connectDevice: dp.connect });
    expect(drift.map((x) => `${x.device}:${x.versionDrift}:${x.osVersion}`)).toEqual(['leaf1', 'leaf2', 'spine1', 'spine2'].map((n) => `${n}:true:${from}`));
    expect(drift.every((x) => !x.drift)).toBe(true);
  });

  test('rolling upgrade to 9.1.0: leaves before spines, one at a time; every device reports 9.1.0 and is managed again', async () => {
    const img = join(dir, 'frr-9.1.0.bin');
    writeFileSync(img, randomBytes(4096));
    const images = imageStoreAt(store, dir);
    const image = await images.create({ name: 'frr-9.1.0', platform: 'frr', version: '9.1.0', path: img });
    const stream = pingStream(LAB, 'bms1', '10.10.0.12');
    streams.push(stream);
    // The stream flows before anything starts (EVPN type-2 routes learned: bounded wait).
    for (let i = 0; i < 240 && (stream.probes.length < 5 || !stream.probes.slice(-5).every((p) => p.ok)); i++) await sleep(250);
    expect(stream.probes.slice(-5).every((p) => p.ok)).toBe(true);
    const t0 = Date.now();
    const id = await jobs.submit('upgrade', F, { image: 'frr-9.1.0', imageUrl: `http://10.0.0.1:8080/images/frr-9.1.0/${image.sha256}` });
    // The image is in use while the plan runs.
    await sleep(1500);
    await expect(images.delete('frr-9.1.0')).rejects.toThrow(/used by the running upgrade job/);
    const v = await finished(id);
    timings.upgradeMs = Date.now() - t0;
    if (v.state !== 'succeeded') {
      // What bgpd says on the spines, for the failure message.
      for (const dev of ['spine1', 'spine2']) {
        const r = await sh(['vtysh', '-N', `${LAB}-${dev}`, '-c', 'show bgp summary', '-c', 'show ip route', '-c', 'show bgp l2vpn evpn summary', '-c', 'show bgp neighbors']);
        console.log(`${dev}:\n${r.stdout.slice(0, 12000)}`); // eslint-disable-line no-console
      }
    }
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    const res = v.result as { batches: { devices: string[] }[]; upgraded: string[] };
    expect(res.batches.map((b) => b.devices)).toEqual([['leaf1'], ['leaf2'], ['spine1'], ['spine2']]);
    expect(res.upgraded).toEqual(['leaf1', 'leaf2', 'spine1', 'spine2']);
    // Batches really ran one after another: each device's install came after the previous one's undrain.
    const msgs = v.log.map((l) => `${l.device ?? ''}|${l.message}`);
    const at = (dev: string, re: RegExp) => msgs.findIndex((m) => m.startsWith(`${dev}|`) && re.test(m));
    const order = ['leaf1', 'leaf2', 'spine1', 'spine2'];
    for (let i = 1; i < order.length; i++) {
      expect(at(order[i], /install-software accepted/)).toBeGreaterThan(at(order[i - 1], /^.*\|undrained/));
      expect(at(order[i - 1], /^.*\|undrained/)).toBeGreaterThan(-1);
    }
    // While the spines were upgraded (first spine log line to the last spine's undrain), the
    // stream between the leaves' servers lost at most 5% (each leaf's own server is cut off
    // while that leaf reboots, as its batch reason says).
    const atOf = (dev: string, re: RegExp) => Date.parse(v.log.find((l) => l.device === dev && re.test(l.message))!.at);
    // (from the precheck: every child logs "waits for batch N" the moment the job starts)
    const spineWindow = stream.loss(atOf('spine1', /^precheck:/), atOf('spine2', /^undrained/));
    timings.spineWindowProbes = spineWindow.sent;
    timings.spineWindowLost = spineWindow.lost;
    const leafWindow = stream.loss(atOf('leaf1', /^precheck:/), atOf('leaf2', /^undrained/));
    timings.leafWindowProbes = leafWindow.sent;
    timings.leafWindowLost = leafWindow.lost;
    if (process.env.D2_STREAM_FILE) {
      writeFileSync(process.env.D2_STREAM_FILE, JSON.stringify({
        t0, probes: stream.probes.filter((p) => !p.ok).map((p) => p.at - t0),
        log: v.log.map((l) => `${Date.parse(l.at) - t0} ${l.device ?? ''} ${l.message.slice(0, 100)}`),
      }));
    }
    expect(spineWindow.sent).toBeGreaterThan(50);
    expect(spineWindow.lost / spineWindow.sent).toBeLessThanOrEqual(0.05);
    expect(leafWindow.lost).toBeGreaterThan(0); // the fault did happen: a leaf reboot cuts its server off
    expect(res.batches.length).toBe(4);
    for (let i = 0; i < 20 && !stream.probes.slice(-5).every((p) => p.ok); i++) await sleep(500);
    expect(stream.probes.slice(-5).every((p) => p.ok)).toBe(true);
    await stream.stop();
    for (const dev of order) {
      expect(await version(dev)).toBe('9.1.0');
      const rec = (await store.getDevice(F, dev))!;
      expect(rec.osVersion).toBe('9.1.0');
      expect(rec.managedState).toBe('active');
      expect(await frrConf(dev)).not.toContain('graceful-shutdown');
    }
    const drift = await computeDrift(store, F, { connectDevice: dp.connect });
    expect(drift.map((x) => `${x.device}:${x.versionDrift}:${x.drift}`)).toEqual(order.slice().sort().map((n) => `${n}:false:false`));
    expect(await images.usedBy('frr-9.1.0')).toEqual([]);
  });
});
