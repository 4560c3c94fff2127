// The stored data's schema version: a store written by the release before versions
// (test/fixtures/store-v0.json, made by that release's code) opens in this one with everything
// in it; a store newer than this code refuses to start, with one line.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { ensureBuilt, ROOT } from './api-build-helper';
import { openStore, SCHEMA_VERSION, StoreSchemaError, Store, type OpenedStore } from '../../src/store';
import { TokenStore } from '../../src/api/auth';
import { FIXTURE_KEY, fixtureV0, loadDump } from '../helpers/store-dump';

const FIXTURE = { records: fixtureV0() };
const raw = (key: string) => FIXTURE.records.find((r) => r.key === key)!.value;
const load = loadDump;

describeIf({ commands: ['redis-server'] })('store schema version and migration', () => {
  let t: TestRedis;
  let redis: Redis;
  let dataDir: string;
  const opened: OpenedStore[] = [];
  const open = async () => {
    const o = await openStore({ dataDir, redisUrl: t.url, secretKey: FIXTURE_KEY });
    opened.push(o);
    return o;
  };

  beforeAll(async () => {
    t = await startTestRedis();
    redis = t.client();
    dataDir = mkdtempSync(path.join(tmpdir(), 'st-schema-'));
  });
  afterAll(async () => {
    for (const o of opened) await o.close();
    await t?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a store written by the previous release opens: every fabric, device, allocation, host key, history entry, secret, token', async () => {
    await redis.flushall();
    await load(redis, FIXTURE.records);
    // Keys of the removed job model (that release wrote them under the store prefix) go; the
    // live job records (job:*, no prefix) stay.
    await redis.hset('fz:job:old-1', 'id', 'old-1');
    await redis.zadd('fz:jobs', 1, 'old-1');
    await redis.hset('job:live-1', 'id', 'live-1');
    expect(await redis.get('fz:schema')).toBeNull();

    const { store, migration } = await open();
    expect(migration.from).toBe(0);
    expect(migration.to).toBe(SCHEMA_VERSION);
    expect(migration.steps).toHaveLength(1);
    expect(await redis.get('fz:schema')).toBe(String(SCHEMA_VERSION));
    expect(await redis.exists('fz:job:old-1', 'fz:jobs')).toBe(0);
    expect(await redis.exists('job:live-1')).toBe(1);

    expect((await store.listFabrics()).map((f) => f.name).sort()).toEqual(['dc1', 'lab2']);
    const dc1 = await store.getInventory('dc1');
    expect(dc1.devices.map((d) => d.name).sort()).toEqual(['SIMX999', 'leaf1', 'leaf2', 'leaf3', 'leaf4', 'spine1', 'spine2']);
    expect(dc1.links).toHaveLength(8);
    expect(dc1.links.every((l) => /^\d+\.\d+\.\d+\.\d+\/31$/.test(l.subnet ?? ''))).toBe(true);
    // Allocations exactly as that release wrote them (every loopback, ASN and /31).
    expect(dc1.allocations).toEqual(JSON.parse(raw('fz:f:dc1:alloc') as string));
    expect(Object.keys(dc1.allocations.loopbacks)).toHaveLength(7);
    expect(dc1.services.virtualNetworks.length).toBeGreaterThan(0);
    const lab2 = await store.getInventory('lab2');
    expect(lab2.devices).toHaveLength(6);
    expect(lab2.allocations).toEqual(JSON.parse(raw('fz:f:lab2:alloc') as string));

    const hk = store.hostKeyStore('dc1');
    for (const d of ['spine1', 'spine2', 'leaf1', 'leaf2', 'leaf3', 'leaf4']) expect(await hk.get(d)).toBe(`SHA256:fixture-${d}-hostkey-fingerprint`);
    const leaf1 = (await store.getDevice('dc1', 'leaf1'))!;
    expect(leaf1).toMatchObject({ managedState: 'active', onboardingState: 'underlay_configured', hostKey: 'SHA256:fixture-leaf1-hostkey-fingerprint' });
    expect(leaf1.ports.map((p) => p.name)).toEqual(['swp1', 'swp51', 'swp52']);
    expect(await store.listNeedsConfig('dc1')).toEqual(['leaf2']);

    for (const d of ['leaf1', 'spine1']) {
      expect((await store.listConfigCommits('dc1', d)).map((c) => c.jobId)).toEqual(['job-fixture-2', 'job-fixture-1']);
    }
    const events = (await store.listEvents('dc1', { limit: 1000 })).items;
    expect(events).toHaveLength(18);
    expect(events.at(-1)).toMatchObject({ action: 'job.finished', object: 'job/job-fixture-2' });
    expect((await store.listEvents('gone', { limit: 1000 })).items).toHaveLength(2);
    expect(await store.getIntendedConfig('dc1', 'leaf1')).toEqual({ platform: 'frr', files: { 'leaf1.frr.conf': '! intended\nhostname leaf1\n' } });

    expect((await store.getFabricSecrets('dc1')).credentials.password).toBe('Fixture-Pw-1');
    expect((await store.getFabricSecrets('lab2')).snmp).toEqual({ v3: { user: 'nms', authKey: 'Fixture-Auth-1', privKey: 'Fixture-Priv-1' } });
    expect((await new TokenStore(redis).list()).map((x) => x.role).sort()).toEqual(['admin', 'operator', 'viewer']);

    // The migrated store takes writes, and the next start has nothing to do.
    await store.updateDevice('dc1', 'leaf3', { managedState: 'active' });
    expect((await store.getDevice('dc1', 'leaf3'))!.managedState).toBe('active');
    expect((await open()).migration).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, steps: [] });
  });

  test('trusting or resetting a host key bumps neither the commit nor the intent version', async () => {
    const { store } = await open();
    const before = [await redis.get('fz:f:dc1:ver'), await redis.get('fz:f:dc1:iver'), (await store.getFabricFile('dc1')).version];
    await store.hostKeyStore('dc1').set('leaf4', 'SHA256:new-key');
    await store.hostKeyStore('dc1').reset('leaf3');
    expect(await store.hostKeyStore('dc1').get('leaf4')).toBe('SHA256:new-key');
    expect(await store.hostKeyStore('dc1').get('leaf3')).toBeUndefined();
    expect([await redis.get('fz:f:dc1:ver'), await redis.get('fz:f:dc1:iver'), (await store.getFabricFile('dc1')).version]).toEqual(before);
    // ... and the intended-config cache survives it.
    expect(await store.getIntendedConfig('dc1', 'leaf1')).not.toBeNull();
  });

  test('a store newer than the code is refused: openStore throws, the service exits with one line', async () => {
    await redis.set('fz:schema', String(SCHEMA_VERSION + 1));
    const err = await openStore({ dataDir, redisUrl: t.url, secretKey: FIXTURE_KEY }).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(StoreSchemaError);
    expect(err!.message).toMatch(new RegExp(`store schema version ${SCHEMA_VERSION + 1} is newer than this release supports \\(${SCHEMA_VERSION}\\)`));
    // Nothing was changed by the refused start.
    expect(await redis.get('fz:schema')).toBe(String(SCHEMA_VERSION + 1));
    expect((await new Store(redis, { secretKey: Buffer.from(FIXTURE_KEY, 'base64') }).listFabrics()).length).toBe(2);

    ensureBuilt();
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, REDIS_URL: t.url, FABRIC_SECRET_KEY: FIXTURE_KEY, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/api/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => { out += d.toString(); });
    child.stderr!.on('data', (d) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => {
      const kill = setTimeout(() => { child.kill('SIGKILL'); }, 30_000);
      child.on('exit', (c) => { clearTimeout(kill); resolve(c); });
    });
    expect(code).toBe(1);
    expect(out.trim().split('\n')).toEqual([expect.stringMatching(/^fabric service: cannot start: store schema version \d+ is newer than this release supports/)]);
    await redis.set('fz:schema', String(SCHEMA_VERSION));
  }, 300_000);
});
