// Backup and restore (issue 18): `fabric backup FILE` on one service, `fabric restore FILE` into
// a fresh one (its own Redis), and every record compared; a non-empty store refuses unless
// --force; secrets stay encrypted and the store key is never in the file.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { startApi, type ApiHarness } from '../helpers/api-harness';
import { dumpKeys } from '../helpers/redis';
import { FIXTURE_KEY, fixtureV0, loadDump } from '../helpers/store-dump';
import { main } from '../../src/cli/main';
import { migrateStore, SCHEMA_VERSION, type BackupFile } from '../../src/store';

jest.setTimeout(120_000);
const KEY = Buffer.from(FIXTURE_KEY, 'base64');
const PASSWORDS = ['Fixture-Pw-1', 'Fixture-Auth-1', 'Fixture-Priv-1', 'Dc9-S3cret-pw'];

/** Every store record (the intended-config cache is a cache, not a record). */
async function storeRecords(r: Redis, opts: { counters?: boolean } = {}): Promise<Record<string, unknown>> {
  const all = { ...(await dumpKeys(r, 'fz:f:*')), ...(await dumpKeys(r, 'fz:fabrics')) };
  for (const k of Object.keys(all)) {
    if (k.endsWith(':intended')) delete all[k];
    if (opts.counters === false && /:(ver|iver|dver|dchg)$/.test(k)) delete all[k];
  }
  return all;
}

describeIf({ commands: ['redis-server'] })('backup and restore', () => {
  let a: ApiHarness;
  let b: ApiHarness;
  let dir: string;
  const cli = async (h: ApiHarness, args: string[], token = h.tokens.admin) => {
    let out = '';
    let err = '';
    const code = await main(args, { out: (s) => { out += s; }, err: (s) => { err += s; }, env: { FABRIC_API_URL: h.base, FABRIC_TOKEN: token } });
    return { code, out, err };
  };

  beforeAll(async () => {
    a = await startApi({ secretKey: KEY });
    b = await startApi({ secretKey: KEY });
    dir = mkdtempSync(path.join(tmpdir(), 'st-backup-'));
    // A: the previous release's store (migrated, as the service does at start), plus writes of this one.
    await loadDump(a.redis, fixtureV0());
    await migrateStore(a.redis);
    await migrateStore(b.redis);
    const text = readFileSync(path.join(__dirname, '../../examples/dc1-frr-services.yaml'), 'utf8')
      .replace('name: dc1', 'name: dc9').replace('password: s3cret', `password: ${PASSWORDS[3]}`);
    await a.store.createFabric(text, { actor: 'test' });
    await a.store.allocateFabric('dc9');
    await a.store.hostKeyStore('dc9').set('leaf1', 'SHA256:dc9-leaf1');
    await a.store.addConfigCommit('dc9', 'leaf1', { jobId: 'job-dc9', text: 'hostname leaf1\n', platform: 'frr' });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('backup on one service, restore into a fresh one: every record equal, secrets readable, tokens work', async () => {
    const file = path.join(dir, 'a.json');
    const bk = await cli(a, ['backup', file]);
    expect(bk).toMatchObject({ code: 0, err: '' });
    expect(bk.out).toMatch(/^wrote .*a\.json: 3 fabrics, 19 devices, 24 links, 7 host keys, 5 config commits, \d+ events, 6 tokens\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    const parsed = JSON.parse(text) as BackupFile;
    expect(parsed).toMatchObject({ format: 'fabric-ztp-backup', version: 1, schema: SCHEMA_VERSION });
    // Secrets stay encrypted; neither the key nor a password is in the file.
    for (const s of [...PASSWORDS, FIXTURE_KEY, KEY.toString('hex'), KEY.toString('base64url')]) expect(text).not.toContain(s);
    for (const t of Object.values(a.tokens)) expect(text).not.toContain(t);

    const before = await dumpKeys(b.redis, 'auth:*');
    const rs = await cli(b, ['restore', file]);
    expect(rs).toMatchObject({ code: 0, err: '' });
    expect(rs.out).toMatch(/^restored .*a\.json: 3 fabrics, 19 devices/);

    expect(await storeRecords(b.redis)).toEqual(await storeRecords(a.redis));
    // Tokens are merged: A's tokens work on B, B's own (the admin that restored) still do.
    const aTokens = await dumpKeys(a.redis, 'auth:token*');
    expect(await dumpKeys(b.redis, 'auth:token*')).toEqual({ ...aTokens, ...Object.fromEntries(Object.entries(before).filter(([k]) => k !== 'auth:tokens')), 'auth:tokens': expect.any(Array) });
    expect((await fetch(`${b.base}/api/v1/fabrics`, { headers: { authorization: `Bearer ${a.tokens.viewer}` } })).status).toBe(200);
    expect((await b.call('GET', '/api/v1/tokens')).status).toBe(200);

    // Read through the service and the store: what A says, B says.
    for (const f of ['dc1', 'lab2', 'dc9']) {
      expect((await b.call('GET', `/api/v1/fabrics/${f}`)).json).toEqual((await a.call('GET', `/api/v1/fabrics/${f}`)).json);
      expect((await b.call('GET', `/api/v1/fabrics/${f}/devices`)).json).toEqual((await a.call('GET', `/api/v1/fabrics/${f}/devices`)).json);
      expect(await b.store.getFabricSecrets(f)).toEqual(await a.store.getFabricSecrets(f));
      expect(await b.store.listEvents(f, { limit: 10_000 })).toEqual(await a.store.listEvents(f, { limit: 10_000 }));
    }
    expect((await b.store.getFabricSecrets('dc9')).credentials.password).toBe(PASSWORDS[3]);
    expect(await b.store.hostKeyStore('dc9').get('leaf1')).toBe('SHA256:dc9-leaf1');
    expect(await b.store.listConfigCommits('dc1', 'leaf1')).toEqual(await a.store.listConfigCommits('dc1', 'leaf1'));
    expect(await b.redis.get('fz:schema')).toBe(String(SCHEMA_VERSION));
  });

  it('a non-empty store refuses a restore unless forced; forced, it becomes the backup (caches too)', async () => {
    const file = path.join(dir, 'a.json');
    // B moves on after the restore: a new fabric, a device state; its device list is cached.
    await b.store.createFabric(readFileSync(path.join(__dirname, '../../examples/dc1-frr.yaml'), 'utf8').replace('name: dc1', 'name: other'));
    await b.store.updateDevice('dc1', 'leaf4', { managedState: 'active' });
    expect((await b.store.listDevices('dc1')).find((d) => d.name === 'leaf4')!.managedState).toBe('active');
    const changed = await storeRecords(b.redis);

    const refused = await cli(b, ['restore', file]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^fabric: restore: the store is not empty \(4 fabrics, \d+ keys\); restore with force to replace it\n$/);
    const api = await b.call('POST', '/api/v1/restore', { body: JSON.parse(readFileSync(file, 'utf8')) });
    expect(api.status).toBe(409);
    expect(await storeRecords(b.redis)).toEqual(changed);

    const forced = await cli(b, ['restore', file, '--force']);
    expect(forced).toMatchObject({ code: 0, err: '' });
    expect(forced.out).toContain('(replaced the store)');
    expect(await storeRecords(b.redis, { counters: false })).toEqual(await storeRecords(a.redis, { counters: false }));
    expect(await b.store.getFabric('other')).toBeNull();
    // The counters moved past both stores' values: B's warm device-list cache reloads.
    expect(Number(await b.redis.get('fz:f:dc1:dver'))).toBeGreaterThan(Number(await a.redis.get('fz:f:dc1:dver')));
    expect((await b.store.listDevices('dc1')).find((d) => d.name === 'leaf4')!.managedState).toBe((await a.store.getDevice('dc1', 'leaf4'))!.managedState);
  });

  it('bad files are refused with what is wrong and where, nothing written; admin only', async () => {
    const good = JSON.parse(readFileSync(path.join(dir, 'a.json'), 'utf8')) as BackupFile;
    const before = await storeRecords(b.redis);
    const post = (body: unknown) => b.call('POST', '/api/v1/restore?force=true', { body });
    const otherKey = await post({ ...good, keyId: '0123456789abcdef' });
    expect(otherKey.status).toBe(400);
    expect(otherKey.json.message).toMatch(/^keyId: the backup's secrets are encrypted with another store key/);
    const newer = await post({ ...good, schema: SCHEMA_VERSION + 1 });
    expect(newer.status).toBe(400);
    expect(newer.json.message).toMatch(/newer than this release supports/);
    const badKey = await post({ ...good, store: [...good.store, { key: 'f:dc1:../../x', type: 'string', value: 'x' }] });
    expect(badKey.status).toBe(400);
    expect(badKey.json).toMatchObject({ path: `store[${good.store.length}].key` });
    const badValue = await post({ ...good, store: [{ key: 'fabrics', type: 'hash', value: ['not', 'a', 'hash'] }] });
    expect(badValue.status).toBe(400);
    expect(badValue.json.message).toMatch(/^store\[0\]\.value: a hash record must be/);
    expect((await post({ ...good, format: 'something-else' })).status).toBe(400);
    const devIdx = good.store.findIndex((r) => r.key === 'f:dc9:devices');
    const notJson = await post({ ...good, store: good.store.map((r, i) => (i === devIdx ? { ...r, value: { leaf1: '{not json' } } : r)) });
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ path: `store[${devIdx}].value`, message: expect.stringMatching(/f:dc9:devices is not JSON/) });
    // A fabric job holding a lock: refused, the job keeps its store.
    expect(await b.store.acquireFabricLock('dc9', 'job-running', 10_000)).toEqual({ ok: true });
    const busy = await post(good);
    expect(busy.status).toBe(409);
    expect(busy.json.message).toMatch(/^restore: fabric dc9 is busy: job job-running is running/);
    await b.store.releaseFabricLock('dc9', 'job-running');
    expect(await storeRecords(b.redis)).toEqual(before);

    for (const role of ['operator', 'viewer'] as const) {
      expect((await b.call('GET', '/api/v1/backup', { role })).status).toBe(403);
      expect((await b.call('POST', '/api/v1/restore', { role, body: good })).status).toBe(403);
    }
    const missing = await cli(b, ['restore', path.join(dir, 'nope.json')]);
    expect(missing).toEqual({ code: 1, out: '', err: `fabric: ${path.join(dir, 'nope.json')}: no such file\n` });
    writeFileSync(path.join(dir, 'junk.json'), '{"format":');
    expect((await cli(b, ['restore', path.join(dir, 'junk.json')])).err).toMatch(/^fabric: .*junk\.json: not a JSON backup file/);
  });
});
