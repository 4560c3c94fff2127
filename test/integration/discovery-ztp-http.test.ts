// GET /ztp/<serial>?t=<token> with a real Store (secrets decrypted from Redis) and lease store:
// served once, only for its serial, and the token and secrets never reach the request log.
import Fastify from 'fastify';
import { Writable } from 'node:stream';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { RedisLeaseStore } from '../../src/discovery/dhcp';
import { ztpPlugin } from '../../src/discovery/ztp-http';
import { ztpRoutes } from '../../src/discovery/service';

describeIf({ commands: ['redis-server'] })('ZTP bootstrap over HTTP', () => {
  let tr: TestRedis;
  let store: Store;
  let leases: RedisLeaseStore;
  const logLines: string[] = [];
  let app: ReturnType<typeof Fastify>;
  let base = '';
  // A real HTTP round trip (app.inject's cookie parser is ESM, which jest cannot load here).
  const get = async (url: string) => {
    const r = await fetch(base + url);
    const body = await r.text();
    return { statusCode: r.status, headers: Object.fromEntries(r.headers), body, json: () => JSON.parse(body) };
  };

  beforeAll(async () => {
    tr = await startTestRedis();
    const redis = tr.client();
    store = new Store(redis, { secretKey: tr.secretKey });
    await store.createFabric({
      fabric: {
        name: 'z1', credentials: { username: 'admin', password: 'Sup3r-secret' }, snmp: { v3: { user: 'ro', authKey: 'authkey-123', privKey: 'privkey-123' } },
        namespaces: { management: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }], overlayAsn: 64512 },
      },
      devices: [
        { name: 'leaf7', serial: 'SIM0007', profile: 'frr-switch', physicalRole: 'leaf', roles: [] },
        // overlay-ecmp (issue 14 item 1): decided from the record's profile and roles
        { name: 'erb1', serial: 'WS10', profile: 'juniper-qfx5120-48y', physicalRole: 'leaf', roles: ['ERB-UCAST-Gateway'] },
        { name: 'acc1', serial: 'WS11', profile: 'juniper-qfx5120-48y', physicalRole: 'leaf', roles: ['CRB-Access'] },
        { name: 'rr1', profile: 'juniper-qfx10002-36q', physicalRole: 'spine', roles: ['Route-Reflector'] },
      ],
      links: [],
    });
    leases = new RedisLeaseStore(redis, `fz:dhcp:z${Date.now()}:`);
    const sink = new Writable({ write(chunk, _e, cb) { logLines.push(chunk.toString()); cb(); } });
    app = Fastify({ logger: { level: 'info', stream: sink } });
    await app.register(ztpPlugin, {
      leases,
      secrets: (f: string) => store.getFabricSecrets(f),
      deviceName: async (f: string, serial: string) => (await store.listDevices(f)).find((d) => d.serial === serial)?.name,
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => { await app?.close(); await tr?.stop(); });

  const token = (n: number) => n.toString(16).padStart(32, '0');

  test('served once, with the listed name, credentials, SNMP v3 and LLDP', async () => {
    await leases.putToken({ token: token(1), fabric: 'z1', serial: 'SIM0007', ip: '10.0.0.10', mac: '02:00:00:00:00:07', platform: 'frr' }, 60_000);
    const r = await get(`/ztp/SIM0007?t=${token(1)}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(r.body)).toEqual({
      hostname: 'leaf7', credentials: { username: 'admin', password: 'Sup3r-secret' }, netconf: { port: 830 },
      snmp: { v3: { user: 'ro', authKey: 'authkey-123', privKey: 'privkey-123' } }, lldp: true,
    });
    const again = await get(`/ztp/SIM0007?t=${token(1)}`);
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ error: 'not_found', message: 'no bootstrap for this URL (unknown, used or expired token)' });
  });

  test('a token for another serial, a missing or malformed token: 404; Junos gets a hashed password', async () => {
    await leases.putToken({ token: token(2), fabric: 'z1', serial: 'OTHER', ip: '10.0.0.11', mac: '02:00:00:00:00:08', platform: 'frr' }, 60_000);
    expect((await get(`/ztp/SIM0007?t=${token(2)}`)).statusCode).toBe(404);
    expect((await get('/ztp/SIM0007')).statusCode).toBe(404);
    expect((await get('/ztp/SIM0007?t=../../etc')).statusCode).toBe(404);
    await leases.putToken({ token: token(3), fabric: 'z1', serial: 'WS9', ip: '10.0.0.12', mac: '02:00:00:00:00:09', platform: 'junos' }, 60_000);
    const j = await get(`/ztp/WS9?t=${token(3)}`);
    expect(j.statusCode).toBe(200);
    expect(j.body).toContain('host-name "WS9";');
    expect(j.body).toMatch(/encrypted-password "\$6\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}";/);
    expect(j.body).not.toContain('Sup3r-secret');
  });

  test("the service's route: overlay-ecmp from the device record (profile + roles), else from the DHCP model", async () => {
    const svc = Fastify();
    await svc.register(ztpRoutes(store));
    try {
      const own = new RedisLeaseStore(store.redis);
      const boot = async (n: number, serial: string, model?: string) => {
        await own.putToken({ token: token(n), fabric: 'z1', serial, ip: `10.0.0.${n}`, mac: '02:00:00:00:01:00', platform: 'junos', ...(model ? { model } : {}) }, 60_000);
        const r = await svc.inject({ method: 'GET', url: `/ztp/${serial}?t=${token(n)}` });
        expect(r.statusCode).toBe(200);
        return r.body;
      };
      const erb = await boot(20, 'WS10');
      expect(erb).toContain('host-name "erb1";');
      expect(erb).toMatch(/forwarding-options \{\s+vxlan-routing \{\s+overlay-ecmp;/);
      expect(await boot(21, 'WS11')).not.toContain('overlay-ecmp');
      // not listed: its model could take a type-5 role, so it gets it up front
      expect(await boot(22, 'WS12', 'qfx5120-48y-8c')).toContain('overlay-ecmp');
      expect(await boot(23, 'WS13', 'mx204')).not.toContain('overlay-ecmp');
    } finally {
      await svc.close();
    }
  });

  test('neither tokens nor secrets reach the log', () => {
    const all = logLines.join('');
    expect(all).not.toContain(token(1));
    expect(all).not.toContain('Sup3r-secret');
    expect(all).not.toContain('privkey-123');
  });
});
