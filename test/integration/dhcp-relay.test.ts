// The DHCP server's relay path byte for byte, on loopback only: we play the relay agent
// (giaddr 127.66.0.1, our own UDP socket) in front of the server (127.66.0.2). Covers the
// option 82 echo, Juniper option 43 / 150, NAK, DECLINE, pool exhaustion and the
// "no onboarding fabric" silence. Leases live in a real Redis.
import dgram from 'node:dgram';
import Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { DhcpServer, RedisLeaseStore } from '../../src/discovery/dhcp';
import { decode, encode, OPT, MSG, parseSubOptions, subOptions, readIp, type DhcpPacket } from '../../src/discovery/dhcp/packet';

const RELAY = '127.66.0.1';
const SERVER = '127.66.0.2';

describeIf({ commands: ['redis-server'] })('DHCP server behind a relay (loopback)', () => {
  let tr: TestRedis;
  let redis: Redis;
  let store: RedisLeaseStore;
  let server: DhcpServer;
  let relay: dgram.Socket;
  let relay2: dgram.Socket;   // a second relay, 127.68.0.1, for the subnet its clients renew from
  let client2: dgram.Socket;  // a relayed client at 127.68.0.50, renewing by unicast
  const replies: DhcpPacket[] = [];
  const logs: string[] = [];
  let xid = 1000;

  const agentInfo = subOptions([[1, Buffer.from('ge-0/0/7.0')], [2, Buffer.from('tor-a')]]);
  function packet(type: number, mac: string, opts: [number, Buffer][] = [], extra: Partial<DhcpPacket> = {}): DhcpPacket {
    const options = new Map<number, Buffer>([[OPT.messageType, Buffer.from([type])], ...opts]);
    return {
      op: 1, htype: 1, hlen: 6, hops: 1, xid: ++xid, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
      giaddr: RELAY, chaddr: mac, sname: '', file: '', options, ...extra,
    };
  }
  async function send(p: DhcpPacket, expectReply = true, from: dgram.Socket = relay): Promise<DhcpPacket | undefined> {
    const before = replies.length;
    await new Promise<void>((r) => from.send(encode(p), server.address().port, SERVER, () => r()));
    await server.idle();
    for (let i = 0; i < 50 && replies.length === before && expectReply; i++) await new Promise((r) => setTimeout(r, 20));
    if (!expectReply) await new Promise((r) => setTimeout(r, 100));
    return replies.length > before ? replies[replies.length - 1] : undefined;
  }
  const vc = (s: string): [number, Buffer] => [OPT.vendorClass, Buffer.from(s)];
  /** sends in bursts of 20, each once the server has read the previous one */
  async function sendPaced(from: dgram.Socket, bufs: Buffer[], receivedBefore: number): Promise<void> {
    for (let at = 0; at < bufs.length; at += 20) {
      const burst = bufs.slice(at, at + 20);
      await Promise.all(burst.map((b) => new Promise<void>((r) => from.send(b, server.address().port, SERVER, () => r()))));
      for (let i = 0; i < 200 && server.stats.received < receivedBefore + at + burst.length; i++) await new Promise((r) => setTimeout(r, 5));
    }
  }
  const ip4b = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));
  const prefixOf = (st: RedisLeaseStore): string => (st as unknown as { prefix: string }).prefix;

  beforeAll(async () => {
    tr = await startTestRedis();
    redis = tr.client();
    store = new RedisLeaseStore(redis, `fz:dhcp:t${Date.now()}:`);
    relay = dgram.createSocket('udp4');
    relay.on('message', (m) => replies.push(decode(m)));
    await new Promise<void>((r) => relay.bind(0, RELAY, () => r()));
    relay2 = dgram.createSocket('udp4');
    relay2.on('message', (m) => replies.push(decode(m)));
    await new Promise<void>((r) => relay2.bind(relay.address().port, '127.68.0.1', () => r()));
    client2 = dgram.createSocket('udp4');
    client2.on('message', (m) => replies.push(decode(m)));
    await new Promise<void>((r) => client2.bind(0, '127.68.0.50', () => r()));
    server = new DhcpServer({
      store, serverAddress: SERVER, serverPrefix: 24, ztpBaseUrl: `http://${SERVER}:8080`, bindAddress: SERVER, port: 0,
      relayPort: relay.address().port, clientPort: client2.address().port, registryCacheMs: 0, log: (m) => logs.push(m),
    });
    await server.start();
    await store.activate({
      fabric: 'dc9', leaseSeconds: 600, until: Date.now() + 600_000,
      subnets: [
        { cidr: '127.66.0.0/24', gateway: RELAY, rangeStart: '127.66.0.10', rangeEnd: '127.66.0.12' },
        { cidr: '127.68.0.0/24', gateway: '127.68.0.1', rangeStart: '127.68.0.50' },
      ],
      reservations: [{ serial: 'RES1', ip: '127.66.0.50' }],
    });
  });
  afterAll(async () => {
    await server?.stop();
    relay?.close();
    relay2?.close();
    client2?.close();
    await tr?.stop();
  });

  test('Juniper DISCOVER -> OFFER: option 82 echoed unchanged, option 43 sub-options 1/3/5, option 150, giaddr kept', async () => {
    const offer = (await send(packet(MSG.DISCOVER, '02:00:00:00:66:01', [vc('Juniper-qfx5110-48s-4c-WS001'), [OPT.relayAgentInfo, agentInfo]])))!;
    expect(offer.options.get(OPT.messageType)![0]).toBe(MSG.OFFER);
    expect(offer.op).toBe(2);
    expect(offer.yiaddr).toBe('127.66.0.10');
    expect(offer.giaddr).toBe(RELAY);
    expect(offer.options.get(OPT.relayAgentInfo)).toEqual(agentInfo);
    expect(readIp(offer.options.get(OPT.serverId))).toBe(SERVER);
    expect(readIp(offer.options.get(OPT.router))).toBe(RELAY);
    expect(readIp(offer.options.get(OPT.subnetMask))).toBe('255.255.255.0');
    expect(readIp(offer.options.get(OPT.tftpServerAddress))).toBe(SERVER);
    const subs = parseSubOptions(offer.options.get(OPT.vendorSpecific)!);
    expect(subs.get(1)!.toString()).toMatch(/^ztp\/WS001\?t=[0-9a-f]{32}$/);
    expect(subs.get(3)!.toString()).toBe('http');
    expect(subs.get(5)!.toString()).toBe('8080');
    expect(offer.options.has(OPT.bootfileName)).toBe(false);
    expect((await store.get('dc9', '127.66.0.10'))).toMatchObject({ state: 'offered', serial: 'WS001', model: 'qfx5110-48s-4c', relay: RELAY });
  });

  test('REQUEST -> ACK binds the lease; a REQUEST for another address is NAKed (82 echoed)', async () => {
    const ack = (await send(packet(MSG.REQUEST, '02:00:00:00:66:01', [vc('Juniper-qfx5110-48s-4c-WS001'), [OPT.serverId, Buffer.from([127, 66, 0, 2])], [OPT.requestedIp, Buffer.from([127, 66, 0, 10])], [OPT.relayAgentInfo, agentInfo]])))!;
    expect(ack.options.get(OPT.messageType)![0]).toBe(MSG.ACK);
    expect(ack.yiaddr).toBe('127.66.0.10');
    expect(ack.options.get(OPT.leaseTime)!.readUInt32BE(0)).toBe(600);
    expect(ack.options.get(OPT.relayAgentInfo)).toEqual(agentInfo);
    expect(await store.get('dc9', '127.66.0.10')).toMatchObject({ state: 'bound', agentInfo: agentInfo.toString('hex') });
    const token = parseSubOptions(ack.options.get(OPT.vendorSpecific)!).get(1)!.toString().split('t=')[1];
    expect(await store.takeToken(token)).toMatchObject({ serial: 'WS001', platform: 'junos', ip: '127.66.0.10', fabric: 'dc9' });

    const nak = (await send(packet(MSG.REQUEST, '02:00:00:00:66:01', [[OPT.requestedIp, Buffer.from([127, 66, 0, 11])], [OPT.relayAgentInfo, agentInfo]])))!;
    expect(nak.options.get(OPT.messageType)![0]).toBe(MSG.NAK);
    expect(nak.yiaddr).toBe('0.0.0.0');
    expect(nak.options.get(OPT.message)!.toString()).toBe('no lease of 127.66.0.11 for 02:00:00:00:66:01');
    expect(nak.options.get(OPT.relayAgentInfo)).toEqual(agentInfo);
  });

  test('reservation by serial wins over the pool; DECLINE takes an address out; the pool runs dry cleanly', async () => {
    const r = (await send(packet(MSG.DISCOVER, '02:00:00:00:66:02', [vc('FRR-frr-switch-RES1')])))!;
    expect(r.yiaddr).toBe('127.66.0.50');
    expect(r.options.get(OPT.bootfileName)!.toString()).toMatch(/^http:\/\/127\.66\.0\.2:8080\/ztp\/RES1\?t=[0-9a-f]{32}$/);

    const o1 = (await send(packet(MSG.DISCOVER, '02:00:00:00:66:03', [vc('FRR-frr-switch-S3')])))!;
    expect(o1.yiaddr).toBe('127.66.0.11');
    await send(packet(MSG.DECLINE, '02:00:00:00:66:03', [[OPT.requestedIp, Buffer.from([127, 66, 0, 11])]]), false);
    expect(logs.some((l) => l.includes('02:00:00:00:66:03 declined 127.66.0.11 (address in use)'))).toBe(true);
    const o2 = (await send(packet(MSG.DISCOVER, '02:00:00:00:66:04', [vc('FRR-frr-switch-S4')])))!;
    expect(o2.yiaddr).toBe('127.66.0.12'); // .11 declined, .10 bound
    const none = await send(packet(MSG.DISCOVER, '02:00:00:00:66:05', [vc('FRR-frr-switch-S5')]), false);
    expect(none).toBeUndefined();
    expect(logs).toContain('dhcp: pool 127.66.0.0/24 of fabric dc9 is exhausted: no offer to 02:00:00:00:66:05');
  });

  test('a relay of a subnet no onboarding fabric serves gets no answer and a log line', async () => {
    const ignoredBefore = server.stats.ignored;
    const none = await send(packet(MSG.DISCOVER, '02:00:00:00:66:09', [vc('FRR-frr-switch-X9')], { giaddr: '127.67.0.1' }), false);
    expect(none).toBeUndefined();
    expect(server.stats.ignored).toBe(ignoredBefore + 1);
    expect(logs).toContain('dhcp: DISCOVER from 02:00:00:00:66:09 (serial X9) via relay 127.67.0.1 matches no onboarding fabric: no answer');
  });

  test('a relayed client renews and releases by unicast straight to the server (RFC 2131 4.3.2): placed by its ciaddr, ACK to it', async () => {
    const mac = '02:00:00:00:68:01';
    const via2 = { giaddr: '127.68.0.1' };
    const offer = (await send(packet(MSG.DISCOVER, mac, [vc('FRR-frr-switch-R68')], via2), true, relay2))!;
    expect(offer.yiaddr).toBe('127.68.0.50');
    const ack = (await send(packet(MSG.REQUEST, mac, [vc('FRR-frr-switch-R68'), [OPT.serverId, Buffer.from([127, 66, 0, 2])], [OPT.requestedIp, Buffer.from([127, 68, 0, 50])]], via2), true, relay2))!;
    expect(ack.options.get(OPT.messageType)![0]).toBe(MSG.ACK);
    const bound = (await store.get('dc9', '127.68.0.50'))!;
    expect(bound).toMatchObject({ state: 'bound', relay: '127.68.0.1', subnet: '127.68.0.0/24' });

    // RENEWING: no giaddr, no server id, no requested address; ciaddr is the client's own
    await new Promise((r) => setTimeout(r, 5));
    const renewed = (await send(packet(MSG.REQUEST, mac, [vc('FRR-frr-switch-R68')], { giaddr: '0.0.0.0', hops: 0, ciaddr: '127.68.0.50' }), true, client2))!;
    expect(renewed.options.get(OPT.messageType)![0]).toBe(MSG.ACK);
    expect(renewed.yiaddr).toBe('127.68.0.50');
    expect(renewed.giaddr).toBe('0.0.0.0');
    expect(readIp(renewed.options.get(OPT.router))).toBe('127.68.0.1');
    expect((await store.get('dc9', '127.68.0.50'))!.expiresAt).toBeGreaterThan(bound.expiresAt);
    expect(logs).toContain('dhcp: renewed 127.68.0.50 to R68 (fabric dc9)');

    // a DISCOVER off our segment without a relay is not for us
    const ignoredBefore = server.stats.ignored;
    expect(await send(packet(MSG.DISCOVER, mac, [vc('FRR-frr-switch-R68')], { giaddr: '0.0.0.0', ciaddr: '127.68.0.50' }), false, client2)).toBeUndefined();
    expect(server.stats.ignored).toBe(ignoredBefore + 1);
    expect(logs).toContain('dhcp: DISCOVER from 02:00:00:00:68:01 with ciaddr 127.68.0.50 outside our segment: ignored');

    // RELEASE by unicast: gone at once
    await send(packet(MSG.RELEASE, mac, [vc('FRR-frr-switch-R68')], { giaddr: '0.0.0.0', ciaddr: '127.68.0.50' }), false, client2);
    expect(await store.get('dc9', '127.68.0.50')).toBeUndefined();
    expect(logs).toContain('dhcp: released 127.68.0.50 by R68');
  });

  test('an OFFER, its ACK and a repeated DISCOVER carry the same one-time token: one live token per lease', async () => {
    const mac = '02:00:00:00:68:02';
    const via2 = { giaddr: '127.68.0.1' };
    const tokenOf = (p: DhcpPacket): string => /t=([0-9a-f]{32})$/.exec(p.options.get(OPT.bootfileName)!.toString())![1];
    const o1 = (await send(packet(MSG.DISCOVER, mac, [vc('FRR-frr-switch-T68')], via2), true, relay2))!;
    const o2 = (await send(packet(MSG.DISCOVER, mac, [vc('FRR-frr-switch-T68')], via2), true, relay2))!;
    const ack = (await send(packet(MSG.REQUEST, mac, [vc('FRR-frr-switch-T68'), [OPT.serverId, Buffer.from([127, 66, 0, 2])], [OPT.requestedIp, Buffer.from([127, 68, 0, 50])]], via2), true, relay2))!;
    expect(ack.options.get(OPT.messageType)![0]).toBe(MSG.ACK);
    expect(new Set([tokenOf(o1), tokenOf(o2), tokenOf(ack)]).size).toBe(1);
    const tokens = async () => (await redis.keys(`${prefixOf(store)}token:*`)).length;
    // never more live tokens than leases that were given one (a used token leaves its pointer)
    expect(await tokens()).toBeLessThanOrEqual((await redis.keys(`${prefixOf(store)}lease-token:*`)).length);
    // once used, the next ACK mints a new one (the device's fetch may have been lost)
    expect(await store.takeToken(tokenOf(ack))).toMatchObject({ serial: 'T68' });
    const again = (await send(packet(MSG.REQUEST, mac, [vc('FRR-frr-switch-T68'), [OPT.serverId, Buffer.from([127, 66, 0, 2])], [OPT.requestedIp, Buffer.from([127, 68, 0, 50])]], via2), true, relay2))!;
    expect(tokenOf(again)).not.toBe(tokenOf(ack));
    // a release takes the lease's token with it
    await send(packet(MSG.RELEASE, mac, [vc('FRR-frr-switch-T68')], { giaddr: '0.0.0.0', ciaddr: '127.68.0.50' }), false, client2);
    expect(await store.takeToken(tokenOf(again))).toBeUndefined();
  });

  test('a DECLINE from a client that holds no lease of the address is ignored (no pool poisoning)', async () => {
    const via2 = { giaddr: '127.68.0.1' };
    const offer = (await send(packet(MSG.DISCOVER, '02:00:00:00:68:03', [vc('FRR-frr-switch-D1')], via2), true, relay2))!;
    const ip = offer.yiaddr;
    await send(packet(MSG.DECLINE, '02:00:00:00:68:99', [[OPT.requestedIp, ip4b(ip)]], via2), false, relay2);
    await send(packet(MSG.DECLINE, '02:00:00:00:68:99', [[OPT.requestedIp, Buffer.from([127, 68, 0, 200])]], via2), false, relay2);
    expect(logs).toContain(`dhcp: DECLINE of ${ip} from 02:00:00:00:68:99, which holds no lease of it: ignored`);
    expect((await store.declined('dc9')).has(ip)).toBe(false);
    expect((await store.declined('dc9')).has('127.68.0.200')).toBe(false);
    expect(await store.get('dc9', ip)).toMatchObject({ mac: '02:00:00:00:68:03', state: 'offered' });
  });

  test('a flood of malformed packets: one log line per source and kind, then the count; the server still answers', async () => {
    const before = { ...server.stats };
    const logsBefore = logs.length;
    const good = encode(packet(MSG.DISCOVER, '02:00:00:00:66:0a', [vc('FRR-frr-switch-M1')], { giaddr: '127.68.0.1' }));
    const truncated = good.subarray(0, 250);
    const noCookie = Buffer.from(good); noCookie[236] = 0;
    // paced, so the socket's receive buffer never overflows (that would drop packets in the kernel)
    const hw = encode({ ...packet(MSG.DISCOVER, '02:00:00:00:66:0b', [], { giaddr: '127.68.0.1' }), htype: 6 });
    await sendPaced(relay2, [...Array.from({ length: 300 }, (_, i) => (i % 2 ? truncated : noCookie)), hw], before.received);
    expect(server.stats.malformed - before.malformed).toBe(300);
    const fresh = logs.slice(logsBefore);
    expect(fresh.filter((l) => l.startsWith('dhcp: malformed packet from 127.68.0.1:'))).toHaveLength(2); // truncated, cookie
    expect(fresh).toContain('dhcp: DISCOVER from 127.68.0.1:' + relay2.address().port + ' with hardware type 6 length 6: only Ethernet (1, 6) is served');
    server.limited.flush();
    expect(logs).toContain('dhcp: 149 more "malformed: truncated" lines from 127.68.0.1 suppressed in the last 10 s');
    expect(logs).toContain('dhcp: 149 more "malformed: cookie" lines from 127.68.0.1 suppressed in the last 10 s');
    const offer = (await send(packet(MSG.DISCOVER, '02:00:00:00:68:04', [vc('FRR-frr-switch-M2')], { giaddr: '127.68.0.1' }), true, relay2))!;
    expect(offer.options.get(OPT.messageType)![0]).toBe(MSG.OFFER);
  });
});

describeIf({ commands: ['redis-server'] })('DHCP server queue bound', () => {
  test('packets beyond maxQueue are dropped and counted, with one log line and a summary', async () => {
    const tr = await startTestRedis();
    const redis = tr.client();
    const logs: string[] = [];
    const store = new RedisLeaseStore(redis, 'fz:dhcp:q:');
    const server = new DhcpServer({ store, serverAddress: '127.66.1.2', serverPrefix: 24, ztpBaseUrl: 'http://127.66.1.2:8080', bindAddress: '127.66.1.2', port: 0, maxQueue: 4, log: (m) => logs.push(m) });
    const sock = dgram.createSocket('udp4');
    try {
      await server.start();
      await new Promise<void>((r) => sock.bind(0, '127.66.1.1', () => r()));
      const p = (i: number): Buffer => encode({
        op: 1, htype: 1, hlen: 6, hops: 1, xid: i, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
        giaddr: '127.66.1.1', chaddr: '02:00:00:00:01:01', sname: '', file: '', options: new Map([[OPT.messageType, Buffer.from([MSG.DISCOVER])]]),
      });
      // bursts of 20 (well within the socket buffer), faster than Redis round trips drain the queue
      for (let b = 0; b < 10; b++) {
        await new Promise<void>((r) => { for (let i = 0; i < 20; i++) sock.send(p(b * 20 + i), server.address().port, '127.66.1.2', i === 19 ? () => r() : undefined); });
        for (let i = 0; i < 100 && server.stats.received < (b + 1) * 20; i++) await new Promise((r) => setTimeout(r, 5));
      }
      await server.idle();
      expect(server.stats.received).toBe(200);
      expect(server.stats.dropped).toBeGreaterThan(0);
      expect(logs.filter((l) => / packets waiting: DISCOVER from 02:00:00:00:01:01 dropped$/.test(l))).toHaveLength(1);
      server.limited.flush();
      expect(logs).toContain(`dhcp: ${server.stats.dropped - 1} more "queue full" lines from server suppressed in the last 10 s`);
    } finally {
      sock.close();
      await server.stop();
      await tr.stop();
    }
  });
});
