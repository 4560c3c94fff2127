// The DHCP server against real clients: isc-dhcp-client (dhclient) in namespaces of our own,
// directly on the server's segment and behind isc-dhcp-relay (dhcrelay, option 82), with the
// server in its own namespace and its leases in a real Redis (unix socket, reachable from both).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { capture, dhclient as startDhclient, ipn, killPid, sh, startServerProcess, startSocketRedis, waitFor, type CapturedPacket, type ServerProcess } from '../helpers/dhcp-lab';
import { RedisLeaseStore, type ActiveFabric, releaseUnonboarded } from '../../src/discovery/dhcp';
import { decode, encode, messageType, MSG, OPT } from '../../src/discovery/dhcp/packet';

const tag = `ds${Math.random().toString(36).slice(2, 6)}`;
const NS = { srv: `${tag}-srv`, cli: `${tag}-cli`, cli2: `${tag}-cli2`, rly: `${tag}-rly`, cli3: `${tag}-cli3` };

/** Our codec re-encodes what it decoded to the same bytes as on the wire. */
function expectByteForByte(pkts: CapturedPacket[]): void {
  for (const c of pkts) expect(encode(decode(c.payload)).toString('hex')).toBe(c.payload.toString('hex'));
}
const typesOf = (pkts: CapturedPacket[]): string[] => pkts.map((c) => `${c.dir} ${messageType(decode(c.payload))}`);
/** DHCP_CORPUS_OUT=dir: keep the captured packets (how test/fuzz/corpus/dhcp was made). */
function saveCorpus(name: string, pkts: CapturedPacket[]): void {
  const out = process.env.DHCP_CORPUS_OUT;
  if (!out) return;
  mkdirSync(out, { recursive: true });
  pkts.forEach((c, i) => writeFileSync(join(out, `${name}-${String(i).padStart(2, '0')}-${c.dir}-${messageType(decode(c.payload))}.hex`), `${c.payload.toString('hex')}\n`));
}

const fabric = 'dhcptest';
const active = (): ActiveFabric => ({
  fabric,
  subnets: [
    { cidr: '10.77.0.0/24', gateway: '10.77.0.1', rangeStart: '10.77.0.10' },
    { cidr: '10.78.0.0/24', gateway: '10.78.0.1', rangeStart: '10.78.0.50' },
  ],
  reservations: [{ serial: 'SIMRES1', ip: '10.77.0.100' }, { mac: '02:00:00:77:00:03', ip: '10.77.0.103' }],
  leaseSeconds: 6,
  until: Date.now() + 10 * 60_000,
});

describeIf({ root: true, commands: ['ip', 'dhclient', 'dhcrelay', 'redis-server'] })('DHCP server with real dhclient and dhcrelay', () => {
  let dir: string;
  let stopRedis: (() => void) | undefined;
  let server: ServerProcess | undefined;
  let redis: Redis;
  let store: RedisLeaseStore;
  const clients: ChildProcess[] = [];
  const serverLog = (): string => server?.log() ?? '';
  const dhclient = (name: string, ns: string, iface: string, vendorClass: string, extra: string[] = []) => {
    const c = startDhclient(dir, name, ns, iface, vendorClass, extra);
    clients.push(c.proc);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `${tag}-`));
    chmodSync(dir, 0o755);
    const r = await startSocketRedis(dir);
    stopRedis = r.stop;
    redis = r.redis;
    store = new RedisLeaseStore(redis);

    for (const ns of Object.values(NS)) { sh('ip', ['netns', 'add', ns]); ipn(ns, 'link', 'set', 'lo', 'up'); }
    // srv(s0) -- cli(c0): the served segment 10.77.0.0/24, server at .2
    ipn(NS.srv, 'link', 'add', 's0', 'type', 'veth', 'peer', 'name', 'c0', 'netns', NS.cli);
    // srv(s2) -- cli2(c0): same segment, through a bridge in srv so two clients share it
    ipn(NS.srv, 'link', 'add', 'br0', 'type', 'bridge');
    ipn(NS.srv, 'link', 'set', 's0', 'master', 'br0');
    ipn(NS.srv, 'link', 'add', 's2', 'type', 'veth', 'peer', 'name', 'c0', 'netns', NS.cli2);
    ipn(NS.srv, 'link', 'set', 's2', 'master', 'br0');
    ipn(NS.srv, 'addr', 'add', '10.77.0.2/24', 'dev', 'br0');
    // srv(s1) -- rly(r0) 10.77.9.0/30 ; rly(r1) -- cli3(c0) 10.78.0.0/24 with the relay at .1 (giaddr)
    ipn(NS.srv, 'link', 'add', 's1', 'type', 'veth', 'peer', 'name', 'r0', 'netns', NS.rly);
    ipn(NS.srv, 'addr', 'add', '10.77.9.1/30', 'dev', 's1');
    ipn(NS.rly, 'addr', 'add', '10.77.9.2/30', 'dev', 'r0');
    ipn(NS.rly, 'link', 'add', 'r1', 'type', 'veth', 'peer', 'name', 'c0', 'netns', NS.cli3);
    ipn(NS.rly, 'addr', 'add', '10.78.0.1/24', 'dev', 'r1');
    for (const [ns, ifs] of [[NS.srv, ['br0', 's0', 's1', 's2']], [NS.rly, ['r0', 'r1']]] as const) for (const i of ifs) ipn(ns, 'link', 'set', i, 'up');
    ipn(NS.srv, 'route', 'add', '10.78.0.0/24', 'via', '10.77.9.2');
    // The relay is a router, as in a fabric: a relayed client renews by unicast through it.
    sh('ip', ['netns', 'exec', NS.rly, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const ns of [NS.cli, NS.cli2, NS.cli3]) ipn(ns, 'link', 'set', 'c0', 'address', ns === NS.cli2 ? '02:00:00:77:00:03' : ns === NS.cli3 ? '02:00:00:78:00:01' : '02:00:00:77:00:01');

    // The server in its namespace, from the TypeScript sources (transpiled on load).
    server = await startServerProcess({ ns: NS.srv, dir, sock: r.sock, iface: 'br0', ztpBaseUrl: 'http://10.77.0.2:8080' });
    // dhcrelay: listens downstream on r1, forwards to the server, adds option 82 (-a).
    const relay = spawn('ip', ['netns', 'exec', NS.rly, 'dhcrelay', '-4', '-d', '-a', '-id', 'r1', '-iu', 'r0', '-pf', join(dir, 'relay.pid'), '10.77.9.1'], { stdio: 'ignore' });
    clients.push(relay);
    await store.activate(active());
  }, 60000);

  afterAll(async () => {
    // dhclient forks nothing with -d; `ip netns exec` execs it (same pid).
    for (const c of clients) killPid(c);
    killPid(server?.proc);
    for (const ns of Object.values(NS)) { try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ } }
    stopRedis?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('discover/request: lease from the range, gateway, mask, ZTP URL with a one-time token, kept in Redis', async () => {
    const cap = await capture(NS.cli, 'c0');
    const c = dhclient('c1', NS.cli, 'c0', 'FRR-frr-switch-SIM0001');
    const bound = await waitFor('BOUND', () => c.events().find((e) => e.reason === 'BOUND'));
    expect(bound.new_ip_address).toBe('10.77.0.10');
    expect(bound.new_subnet_mask).toBe('255.255.255.0');
    expect(bound.new_routers).toBe('10.77.0.1');
    expect(bound.new_dhcp_lease_time).toBe('6');
    expect(bound.new_dhcp_server_identifier).toBe('10.77.0.2');
    const m = /^http:\/\/10\.77\.0\.2:8080\/ztp\/SIM0001\?t=([0-9a-f]{32})$/.exec(bound.new_bootfile_name);
    expect(m).not.toBeNull();
    const leases = await store.list(fabric);
    expect(leases).toHaveLength(1);
    expect(leases[0]).toMatchObject({ ip: '10.77.0.10', serial: 'SIM0001', vendor: 'FRR', model: 'frr-switch', mac: '02:00:00:77:00:01', state: 'bound', subnet: '10.77.0.0/24' });
    // The token of the ACK is served once.
    const t = await store.takeToken(m![1]);
    expect(t).toMatchObject({ fabric, serial: 'SIM0001', ip: '10.77.0.10', platform: 'frr' });
    expect(await store.takeToken(m![1])).toBeUndefined();

    // renew: the client unicasts a REQUEST from its address at T1 (3 s); the lease is extended.
    const before = leases[0].expiresAt;
    const renew = await waitFor('RENEW', () => c.events().find((e) => e.reason === 'RENEW'), 10000);
    expect(renew.new_ip_address).toBe('10.77.0.10');
    expect((await store.get(fabric, '10.77.0.10'))!.expiresAt).toBeGreaterThan(before);
    await waitFor('renew log line', () => serverLog().includes('dhcp: renewed 10.77.0.10 to SIM0001') || undefined, 5000);

    // release: dhclient -r sends RELEASE; the lease is gone at once.
    execFileSync('ip', ['netns', 'exec', NS.cli, 'dhclient', '-4', '-r', ...c.files, 'c0'], { stdio: 'ignore', timeout: 15000 });
    // At once, well before the lease (6 s) could expire.
    await waitFor('lease released', async () => ((await store.get(fabric, '10.77.0.10')) ? undefined : true), 2000)
      .catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(c.events().map((x) => x.reason))} ${serverLog()}`); });
    // the log line follows the store update: wait for it rather than race it
    await waitFor('release log line', () => serverLog().includes('dhcp: released 10.77.0.10 by SIM0001') || undefined, 5000);

    // On the wire (captured on the client's interface): dhclient's DISCOVER, REQUEST, renewing
    // REQUEST and RELEASE, our OFFER and ACKs; the codec re-encodes each to the same bytes.
    const pkts = cap.stop();
    saveCorpus('dhclient', pkts);
    const seq = typesOf(pkts);
    const want = [`out ${MSG.DISCOVER}`, `in ${MSG.OFFER}`, `out ${MSG.REQUEST}`, `in ${MSG.ACK}`, `out ${MSG.REQUEST}`, `in ${MSG.ACK}`, `out ${MSG.RELEASE}`];
    let at = 0;
    for (const t of seq) if (t === want[at]) at++;
    expect({ seq, matched: at }).toEqual({ seq, matched: want.length });
    expectByteForByte(pkts);
    const disc = decode(pkts.find((x) => x.dir === 'out')!.payload);
    expect(disc).toMatchObject({ op: 1, htype: 1, hlen: 6, chaddr: '02:00:00:77:00:01', giaddr: '0.0.0.0', ciaddr: '0.0.0.0' });
    expect(disc.options.get(OPT.vendorClass)!.toString()).toBe('FRR-frr-switch-SIM0001');
    expect(disc.options.get(OPT.clientId)!.toString('hex')).toBe(`00${Buffer.from('SIM0001').toString('hex')}`);
    expect(disc.options.get(OPT.hostName)!.toString()).toBe('SIM0001');
    expect([...disc.options.get(OPT.paramList)!]).toEqual(expect.arrayContaining([1, 3, 43, 51, 66, 67]));
    const renewReq = pkts.filter((x) => x.dir === 'out').map((x) => decode(x.payload)).find((x) => messageType(x) === MSG.REQUEST && x.ciaddr === '10.77.0.10');
    expect(renewReq).toBeDefined(); // RENEWING: ciaddr set, unicast
  }, 60000);

  test('reservations by serial (option 60) and by MAC', async () => {
    const c = dhclient('c2', NS.cli, 'c0', 'FRR-frr-switch-SIMRES1');
    const bound = await waitFor('BOUND', () => c.events().find((e) => e.reason === 'BOUND'));
    expect(bound.new_ip_address).toBe('10.77.0.100');
    const d = dhclient('c3', NS.cli2, 'c0', 'FRR-frr-switch-SIM0003');
    const bound2 = await waitFor('BOUND', () => d.events().find((e) => e.reason === 'BOUND'));
    expect(bound2.new_ip_address).toBe('10.77.0.103');
    execFileSync('ip', ['netns', 'exec', NS.cli, 'dhclient', '-4', '-r', ...c.files, 'c0'], { stdio: 'ignore', timeout: 15000 });
    execFileSync('ip', ['netns', 'exec', NS.cli2, 'dhclient', '-4', '-r', ...d.files, 'c0'], { stdio: 'ignore', timeout: 15000 });
    await waitFor('released', async () => ((await store.list(fabric)).length === 0 ? true : undefined));
  }, 60000);

  test('relay: giaddr picks the second subnet, option 82 echoed, reply through dhcrelay', async () => {
    const cap = await capture(NS.srv, 's1'); // between dhcrelay and the server
    const c = dhclient('c4', NS.cli3, 'c0', 'FRR-frr-switch-SIM0004');
    const bound = await waitFor('BOUND', () => c.events().find((e) => e.reason === 'BOUND'));
    expect(bound.new_ip_address).toBe('10.78.0.50');
    expect(bound.new_routers).toBe('10.78.0.1');
    const l = await store.get(fabric, '10.78.0.50');
    expect(l).toMatchObject({ relay: '10.78.0.1', serial: 'SIM0004', subnet: '10.78.0.0/24' });
    await waitFor('bound log line', () => serverLog().includes('dhcp: bound 10.78.0.50 to SIM0004 (fabric dhcptest, relay 10.78.0.1)') || undefined, 5000);
    // What dhcrelay -a added (circuit ID = its interface); the echo itself is asserted byte for byte in dhcp-relay.test.ts.
    expect(l!.agentInfo).toBe(`0102${Buffer.from('r1').toString('hex')}`); // circuit ID = dhcrelay's interface
    // renew at T1 (3 s), not rebind at T2: the client unicasts to the server through the relay
    // (a router); dhcrelay, listening on r1, picks the unicast up and relays it (giaddr set).
    // The server's direct-unicast path is asserted in dhcp-relay.test.ts.
    const renew = await waitFor('RENEW', () => c.events().find((e) => e.reason === 'RENEW'), 10000);
    expect(renew.new_ip_address).toBe('10.78.0.50');
    await waitFor('renew log line', () => serverLog().includes('dhcp: renewed 10.78.0.50 to SIM0004 (fabric dhcptest, relay 10.78.0.1)\n') || undefined, 5000)
      .catch((e: Error) => { throw new Error(`${e.message}: ${serverLog()}`); });
    expect((await store.get(fabric, '10.78.0.50'))!.expiresAt).toBeGreaterThan(l!.expiresAt);

    // dhcrelay's packets carry option 82 last; our replies to it echo the same bytes, last.
    const pkts = cap.stop();
    saveCorpus('dhcrelay', pkts);
    expectByteForByte(pkts);
    const relayed = pkts.filter((x) => x.dport === 67 && x.src === '10.77.9.2').map((x) => decode(x.payload));
    const answers = pkts.filter((x) => x.dir === 'out' && x.sport === 67).map((x) => decode(x.payload));
    expect(relayed.length).toBeGreaterThanOrEqual(2);
    expect(answers.map(messageType)).toEqual(expect.arrayContaining([MSG.OFFER, MSG.ACK]));
    for (const r of [...relayed, ...answers]) {
      expect(r.giaddr).toBe('10.78.0.1');
      expect(r.options.get(OPT.relayAgentInfo)!.toString('hex')).toBe(l!.agentInfo);
      expect([...r.options.keys()].pop()).toBe(OPT.relayAgentInfo);
    }
  }, 60000);

  test('expiry: a lease nobody renews disappears; leases of never-onboarded devices are released at the end', async () => {
    const c = dhclient('c5', NS.cli, 'c0', 'FRR-frr-switch-SIM0005');
    await waitFor('BOUND', () => c.events().find((e) => e.reason === 'BOUND'));
    expect(await store.get(fabric, '10.77.0.10')).toMatchObject({ serial: 'SIM0005' });
    process.kill(c.proc.pid!, 'SIGKILL'); // no renew, no release
    await waitFor('lease expired', async () => ((await store.get(fabric, '10.77.0.10')) ? undefined : true), 9000);
    expect((await store.list(fabric)).map((l) => l.ip)).toEqual(['10.78.0.50']);
    // SIM0004 (relayed) was never onboarded: the job's end releases it.
    const released = await releaseUnonboarded(store, fabric, ['SIM0001']);
    expect(released.map((l) => l.serial)).toEqual(['SIM0004']);
    expect(await store.list(fabric)).toEqual([]);
  }, 60000);

  test('a fabric that is not onboarding gets no answer and a log line', async () => {
    await store.deactivate(fabric);
    const c = dhclient('c6', NS.cli2, 'c0', 'FRR-frr-switch-SIM0006', ['-1']);
    await waitFor('log line', () => serverLog().includes('from 02:00:00:77:00:03 (serial SIM0006) via local segment matches no onboarding fabric: no answer') || undefined, 15000);
    expect(c.events().some((e) => e.reason === 'BOUND')).toBe(false);
    expect(await store.list(fabric)).toEqual([]);
    await store.activate(active());
  }, 60000);
});
