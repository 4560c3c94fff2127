// Brownfield adoption against a real store (redis-server): what the devices run becomes the
// allocations in one write; conflicts and values outside the namespaces fail the job (naming
// them) and store nothing; adoptOutsidePools takes them into the namespaces, and the pools then
// never hand them out again.
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { adoptAndRecord } from '../../src/discovery/adopt-record';
import { JobFailedError } from '../../src/jobs/errors';
import type { RunningUnderlay } from '../../src/platforms/types';

const u = (lo: string, asn: number, ifs: [string, string][]): RunningUnderlay => ({ loopback: lo, asn, interfaces: ifs.map(([name, address]) => ({ name, address })), neighbors: [] });
const LINK = { a: { device: 'spine1', port: 'swp1' }, b: { device: 'leaf1', port: 'swp51' } };

describeIf({ commands: ['redis-server'] })('brownfield adoption into the store', () => {
  let t: TestRedis;
  let redis: Redis;
  let store: Store;
  const logs: string[] = [];
  const log = async (m: string) => { logs.push(m); };

  const fabric = async (name: string) => {
    await store.createFabric({
      fabric: {
        name, credentials: { username: 'admin', password: 'pw-Adopt-1' },
        namespaces: { management: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }], overlayAsn: 64512 },
      },
      devices: [
        { name: 'spine1', profile: 'frr-switch', physicalRole: 'spine', roles: ['Route-Reflector'] },
        { name: 'leaf1', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] },
        { name: 'leaf2', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] },
      ],
      links: [],
    } as never);
  };
  /** adopt, then (as the onboarding does) store the fresh links and record */
  const adopt = async (f: string, devices: { name: string; underlay: RunningUnderlay }[], adoptOutsidePools = false) => {
    const a = await adoptAndRecord(store, f, { devices, found: [LINK], existing: await store.listLinks(f), fresh: [LINK], adoptOutsidePools, log });
    await store.addLinks(f, a.fresh);
    await a.record();
    return a;
  };

  beforeAll(async () => {
    t = await startTestRedis();
    redis = t.client();
    store = new Store(redis, { secretKey: randomBytes(32) });
  });
  afterAll(async () => { await t?.stop(); });

  test('adopted: running values are the allocations, the link stored lower address first, the fabric marked; a later allocation never reuses them', async () => {
    await fabric('ad1');
    const a = await adopt('ad1', [
      { name: 'spine1', underlay: u('10.255.0.1', 64601, [['swp1', '10.254.0.1/31']]) },
      { name: 'leaf1', underlay: u('10.255.0.9', 64650, [['swp51', '10.254.0.0/31']]) },
    ]);
    expect(a.summary).toMatchObject({ loopbacks: 2, asns: 2, links: 1, outsidePools: [] });
    const links = await store.listLinks('ad1');
    expect(links.map((l) => `${l.a.device}:${l.a.port}`)).toEqual(['leaf1:swp51']); // leaf1 runs .0
    // the default: the running underlay stays the devices' own
    expect((await store.getFabric('ad1'))!.settings.brownfield).toEqual({ manageUnderlay: false });
    const alloc = await store.allocateFabric('ad1');
    expect(alloc.loopbacks).toEqual({ spine1: '10.255.0.1', leaf1: '10.255.0.9', leaf2: '10.255.0.2' });
    expect(alloc.asns).toEqual({ spine1: 64601, leaf1: 64650, leaf2: 64602 });
    expect(Object.values(alloc.links)).toEqual(['10.254.0.0/31']);
    // onboarding again (LLDP names the link spine1 first again): nothing changes, no conflict
    const again = await adoptAndRecord(store, 'ad1', {
      devices: [{ name: 'spine1', underlay: u('10.255.0.1', 64601, [['swp1', '10.254.0.1/31']]) }, { name: 'leaf1', underlay: u('10.255.0.9', 64650, [['swp51', '10.254.0.0/31']]) }],
      found: [LINK], existing: await store.listLinks('ad1'), fresh: [], adoptOutsidePools: false, log,
    });
    await again.record();
    expect(await store.getAllocations('ad1')).toEqual(alloc);
    // asked to manage the underlay, then onboarded again without saying: it stays managed
    const devs = [{ name: 'spine1', underlay: u('10.255.0.1', 64601, [['swp1', '10.254.0.1/31']]) }];
    await (await adoptAndRecord(store, 'ad1', { devices: devs, found: [LINK], existing: await store.listLinks('ad1'), fresh: [], adoptOutsidePools: false, manageUnderlay: true, log })).record();
    expect((await store.getFabric('ad1'))!.settings.brownfield).toEqual({ manageUnderlay: true });
    await (await adoptAndRecord(store, 'ad1', { devices: devs, found: [LINK], existing: await store.listLinks('ad1'), fresh: [], adoptOutsidePools: false, log })).record();
    expect((await store.getFabric('ad1'))!.settings.brownfield).toEqual({ manageUnderlay: true });
  });

  test('conflicts fail the job naming the devices; nothing is stored', async () => {
    await fabric('ad2');
    const e = await adopt('ad2', [
      { name: 'spine1', underlay: u('10.255.0.1', 64601, [['swp1', '10.254.0.1/31']]) },
      { name: 'leaf1', underlay: u('10.255.0.1', 64601, [['swp51', '10.254.0.2/31']]) },
    ]).catch((x) => x);
    expect(e).toBeInstanceOf(JobFailedError);
    expect(e.message).toBe('brownfield adoption refused: loopback 10.255.0.1 is run by both spine1 and leaf1; ASN 64601 is run by both spine1 and leaf1 (the fabric gives each device its own underlay ASN); link spine1--leaf1: spine1:swp1 (10.254.0.1/31) and leaf1:swp51 (10.254.0.2/31) are not one /31');
    expect(await store.getAllocations('ad2')).toEqual({ loopbacks: {}, asns: {}, links: {} });
    expect(await store.listLinks('ad2')).toEqual([]);
    expect((await store.getFabric('ad2'))!.settings.brownfield).toBeUndefined();
  });

  test('values outside the namespaces fail the job naming them; with adoptOutsidePools they are adopted and the namespaces take them in', async () => {
    await fabric('ad3');
    const devices = [
      { name: 'spine1', underlay: u('172.31.0.1', 4200000001, [['swp1', '172.16.0.1/31']]) },
      { name: 'leaf1', underlay: u('10.255.0.9', 64650, [['swp51', '172.16.0.0/31']]) },
    ];
    const e = await adopt('ad3', devices).catch((x) => x);
    expect(e).toBeInstanceOf(JobFailedError);
    expect(e.message).toContain("3 running value(s) outside the fabric's namespaces: loopback 172.31.0.1 of spine1 is outside namespaces.loopback (10.255.0.0/24); ASN 4200000001 of spine1 is outside namespaces.asn (64601..64700); subnet 172.16.0.0/31 of link spine1--leaf1 is outside namespaces.fabric (10.254.0.0/20)");
    expect(await store.getAllocations('ad3')).toEqual({ loopbacks: {}, asns: {}, links: {} });
    await adopt('ad3', devices, true);
    const ns = (await store.getFabric('ad3'))!.namespaces;
    expect(ns.loopback).toEqual(['10.255.0.0/24', '172.31.0.1/32']);
    expect(ns.fabric).toEqual(['10.254.0.0/20', '172.16.0.0/31']);
    expect(ns.asn).toEqual([{ min: 64601, max: 64700 }, { min: 4200000001, max: 4200000001 }]);
    const alloc = await store.allocateFabric('ad3');
    expect(alloc.loopbacks.spine1).toBe('172.31.0.1');
    expect(alloc.asns.spine1).toBe(4200000001);
    expect(alloc.loopbacks.leaf2).toBe('10.255.0.1');
  });

  test('a device already allocated another value than it runs is a conflict', async () => {
    await fabric('ad4');
    await store.allocateFabric('ad4');
    const cur = await store.getAllocations('ad4');
    const e = await adopt('ad4', [{ name: 'leaf1', underlay: u('10.255.0.99', cur.asns.leaf1, []) }]).catch((x) => x);
    expect(e.message).toBe(`brownfield adoption refused: leaf1 runs loopback 10.255.0.99, the fabric has ${cur.loopbacks.leaf1} allocated to it`);
  });
});
