// The service's DHCP server (RFC 2131): our logic, the `dhcp` package only as header codec.
// Serves only fabrics that are onboarding (the registry in the lease store); leases from each
// management subnet's range, reservations by MAC or serial, relay (giaddr picks the subnet,
// option 82 echoed, reply to the relay on port 67), renew, release, decline, and ZTP options
// chosen by vendor class. Binds 0.0.0.0:67 inside the namespace that serves (a socket bound
// to an interface address never sees a broadcast DISCOVER) and answers only for requests
// that arrive relayed or that belong to the segment of its own interface address.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { contains, formatIp, hostRange, parseCidr, parseIp, type Cidr } from '../../domain/ipv4';
import {
  MSG, MSG_NAME, OPT, decode, encode, ip4, ipList, messageType, readIp, str, subOptions, u32,
  type DhcpPacket,
} from './packet';
import { platformModule } from '../../platforms';
import { identify, platformFor, type ClientIdentity } from './identity';
import type { ActiveFabric, DhcpSubnet, Lease, LeaseStore } from './leases';

export interface DhcpServerOptions {
  store: LeaseStore;
  /** Our address on the served segment: server identifier (54), and the ZTP host by default. */
  serverAddress: string;
  /** Prefix length of serverAddress's interface: direct (non-relayed) requests belong to it. */
  serverPrefix: number;
  /** `<ZTP_BASE_URL>`: option 67 is `<base>/ztp/<serial>?t=<token>`. */
  ztpBaseUrl: string;
  bindAddress?: string;        // 0.0.0.0
  port?: number;               // 67
  clientPort?: number;         // 68
  /** Port replies to a relay go to (giaddr). Default: `port`. */
  relayPort?: number;
  /** Lifetime of an OFFER not yet requested, ms. Default 30 s. */
  offerMs?: number;
  /** How long a declined address stays unusable, ms. Default 10 min. */
  declineMs?: number;
  /** Registry cache time, ms. Default 1 s. */
  registryCacheMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface LeaseEvent { type: 'offer' | 'bound' | 'renew' | 'release' | 'decline' | 'nak'; lease?: Lease; ip?: string; mac: string; fabric?: string }

interface Placement { fabric: ActiveFabric; subnet: DhcpSubnet; cidr: Cidr }

export class DhcpServer extends EventEmitter {
  private sock?: dgram.Socket;
  private queue: Promise<void> = Promise.resolve();
  private cache?: { at: number; list: ActiveFabric[] };
  private readonly o: Required<Omit<DhcpServerOptions, 'log'>> & { log: NonNullable<DhcpServerOptions['log']> };
  private readonly localNet: Cidr;
  /** Packets handled (for tests and metrics). */
  stats = { received: 0, answered: 0, ignored: 0, errors: 0 };

  constructor(opts: DhcpServerOptions) {
    super();
    this.o = {
      bindAddress: '0.0.0.0', port: 67, clientPort: 68, relayPort: opts.port ?? 67, offerMs: 30_000, declineMs: 600_000, registryCacheMs: 1000,
      log: () => undefined, ...opts,
    };
    const n = parseIp(opts.serverAddress);
    if (n === undefined) throw new Error(`DHCP server address "${opts.serverAddress}" is not an IPv4 address`);
    const size = 2 ** (32 - opts.serverPrefix);
    this.localNet = { base: n - (n % size), prefix: opts.serverPrefix, size };
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      this.sock = s;
      s.once('error', reject);
      s.on('message', (buf, rinfo) => {
        this.queue = this.queue.then(() => this.handle(buf, rinfo)).catch((e: Error) => {
          this.stats.errors++;
          this.o.log(`dhcp: packet from ${rinfo.address} dropped: ${e.message}`);
        });
      });
      s.bind(this.o.port, this.o.bindAddress, () => {
        s.removeListener('error', reject);
        s.on('error', (e) => this.o.log(`dhcp: socket error: ${e.message}`));
        s.setBroadcast(true);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    await this.queue.catch(() => undefined);
    await new Promise<void>((r) => (this.sock ? this.sock.close(() => r()) : r()));
    this.sock = undefined;
  }

  /** The bound address (port 0 picks a free one). */
  address(): { address: string; port: number } {
    if (!this.sock) throw new Error('DHCP server is not started');
    const a = this.sock.address();
    return { address: a.address, port: a.port };
  }

  /** Waits until every packet received so far is handled. */
  idle(): Promise<void> { return this.queue.catch(() => undefined); }

  private async activeFabrics(): Promise<ActiveFabric[]> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > this.o.registryCacheMs) this.cache = { at: now, list: await this.o.store.active() };
    return this.cache.list;
  }

  /** Drops the registry cache (after an onboarding job starts or ends in this process). */
  refresh(): void { this.cache = undefined; }

  /** The fabric and subnet an address (giaddr, ciaddr or our own) belongs to. */
  private async place(ip: string): Promise<Placement | undefined> {
    const n = parseIp(ip);
    if (n === undefined) return undefined;
    for (const f of await this.activeFabrics()) {
      for (const s of f.subnets) {
        const c = parseCidr(s.cidr);
        if (c.ok && contains(c.cidr, n)) return { fabric: f, subnet: s, cidr: c.cidr };
      }
    }
    return undefined;
  }

  private async handle(buf: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    this.stats.received++;
    let p: DhcpPacket;
    try { p = decode(buf); } catch (e) { this.stats.ignored++; this.o.log(`dhcp: malformed packet from ${rinfo.address}: ${(e as Error).message}`); return; }
    if (p.op !== 1) { this.stats.ignored++; return; }
    const type = messageType(p);
    const id = identify(p);
    const relayed = p.giaddr !== '0.0.0.0';
    // Which segment: the relay's, the client's current address (renew), or ours.
    let anchor: string;
    if (relayed) anchor = p.giaddr;
    else if (p.ciaddr !== '0.0.0.0') anchor = p.ciaddr;
    else anchor = this.o.serverAddress;
    // A client behind a relay renews (RENEWING, RFC 2131 4.3.2) and releases by unicast straight
    // to us: no giaddr, ciaddr in the relayed subnet. place() then finds that subnet and the lease
    // must be the client's own. Anything else off our segment is not for us.
    const unicastKind = type === MSG.REQUEST || type === MSG.RELEASE || type === MSG.INFORM;
    if (!relayed && p.ciaddr !== '0.0.0.0' && !unicastKind && !contains(this.localNet, parseIp(p.ciaddr)!)) {
      this.stats.ignored++;
      this.o.log(`dhcp: ${MSG_NAME[type ?? 0] ?? type} from ${id.mac} with ciaddr ${p.ciaddr} outside our segment: ignored`);
      return;
    }
    const place = await this.place(anchor);
    if (!place) {
      this.stats.ignored++;
      this.o.log(`dhcp: ${MSG_NAME[type ?? 0] ?? `type ${type}`} from ${id.mac}${id.serial ? ` (serial ${id.serial})` : ''} via ${relayed ? `relay ${p.giaddr}` : 'local segment'} matches no onboarding fabric: no answer`);
      return;
    }
    switch (type) {
      case MSG.DISCOVER: return this.onDiscover(p, id, place);
      case MSG.REQUEST: return this.onRequest(p, id, place);
      case MSG.RELEASE: return this.onRelease(p, id, place);
      case MSG.DECLINE: return this.onDecline(p, id, place);
      case MSG.INFORM: return this.onInform(p, id, place);
      default: this.stats.ignored++;
    }
  }

  // ---------------------------------------------------------------- address choice

  private owns(l: Lease, id: ClientIdentity): boolean {
    return l.mac === id.mac || (!!id.clientId && l.clientId === id.clientId);
  }

  private reservationFor(f: ActiveFabric, id: ClientIdentity, cidr: Cidr): string | undefined {
    for (const r of f.reservations) {
      const n = parseIp(r.ip);
      if (n === undefined || !contains(cidr, n)) continue;
      if (r.mac && r.mac.toLowerCase() === id.mac) return r.ip;
      if (r.serial && id.serial && r.serial === id.serial) return r.ip;
    }
    return undefined;
  }

  private async choose(p: DhcpPacket, id: ClientIdentity, pl: Placement): Promise<string | undefined> {
    const f = pl.fabric;
    const leases = await this.o.store.list(f.fabric);
    const mine = leases.find((l) => l.subnet === pl.subnet.cidr && this.owns(l, id));
    const reserved = this.reservationFor(f, id, pl.cidr);
    if (reserved) {
      const holder = leases.find((l) => l.ip === reserved);
      if (!holder || this.owns(holder, id)) return reserved;
      this.o.log(`dhcp: reserved ${reserved} for ${id.serial ?? id.mac} is leased to ${holder.mac}: not offered`);
      return undefined;
    }
    if (mine) return mine.ip;
    const taken = new Set(leases.map((l) => l.ip));
    const declined = await this.o.store.declined(f.fabric);
    const reservedIps = new Set(f.reservations.map((r) => r.ip));
    const usable = (n: number): boolean => {
      const ip = formatIp(n);
      return !taken.has(ip) && !declined.has(ip) && !reservedIps.has(ip) && ip !== pl.subnet.gateway && ip !== this.o.serverAddress;
    };
    const { first, count } = hostRange(pl.cidr);
    const lo = pl.subnet.rangeStart ? parseIp(pl.subnet.rangeStart)! : first;
    const hi = pl.subnet.rangeEnd ? parseIp(pl.subnet.rangeEnd)! : first + count - 1;
    const wish = parseIp(readIp(p.options.get(OPT.requestedIp)) ?? '');
    if (wish !== undefined && wish >= lo && wish <= hi && usable(wish)) return formatIp(wish);
    for (let n = Math.max(lo, first); n <= Math.min(hi, first + count - 1); n++) if (usable(n)) return formatIp(n);
    this.o.log(`dhcp: pool ${pl.subnet.cidr} of fabric ${f.fabric} is exhausted: no offer to ${id.mac}`);
    return undefined;
  }

  // ---------------------------------------------------------------- messages

  private async onDiscover(p: DhcpPacket, id: ClientIdentity, pl: Placement): Promise<void> {
    const ip = await this.choose(p, id, pl);
    if (!ip) return;
    const prev = await this.o.store.get(pl.fabric.fabric, ip);
    const lease = this.leaseRecord(pl, ip, id, p, prev?.state === 'bound' ? 'bound' : 'offered',
      prev?.state === 'bound' ? prev.expiresAt : Date.now() + this.o.offerMs, prev);
    await this.o.store.put(lease);
    await this.reply(p, MSG.OFFER, pl, id, ip);
    this.emit('lease', { type: 'offer', lease, mac: id.mac, fabric: pl.fabric.fabric } satisfies LeaseEvent);
  }

  private async onRequest(p: DhcpPacket, id: ClientIdentity, pl: Placement): Promise<void> {
    const sid = readIp(p.options.get(OPT.serverId));
    const wanted = readIp(p.options.get(OPT.requestedIp));
    const f = pl.fabric.fabric;
    if (sid && sid !== this.o.serverAddress) {
      // The client chose another server: drop our offer.
      const l = wanted ? await this.o.store.get(f, wanted) : undefined;
      if (l && l.state === 'offered' && this.owns(l, id)) await this.o.store.remove(f, wanted!);
      return;
    }
    const ip = wanted ?? (p.ciaddr !== '0.0.0.0' ? p.ciaddr : undefined);
    const n = ip ? parseIp(ip) : undefined;
    if (!ip || n === undefined || !contains(pl.cidr, n)) return this.nak(p, pl, id, `requested ${ip ?? 'nothing'} is not in ${pl.subnet.cidr}`);
    const l = await this.o.store.get(f, ip);
    if (!l || !this.owns(l, id)) {
      // INIT-REBOOT after a lease expired, or an address held by another client.
      return this.nak(p, pl, id, l ? `${ip} is leased to another client` : `no lease of ${ip} for ${id.mac}`);
    }
    const reserved = this.reservationFor(pl.fabric, id, pl.cidr);
    if (reserved && reserved !== ip) return this.nak(p, pl, id, `${id.serial ?? id.mac} is reserved ${reserved}`);
    const renew = l.state === 'bound' && p.ciaddr !== '0.0.0.0';
    const lease = this.leaseRecord(pl, ip, id, p, 'bound', Date.now() + pl.fabric.leaseSeconds * 1000, l);
    lease.boundAt = l.boundAt ?? Date.now();
    await this.o.store.put(lease);
    await this.reply(p, MSG.ACK, pl, id, ip);
    this.emit('lease', { type: renew ? 'renew' : 'bound', lease, mac: id.mac, fabric: f } satisfies LeaseEvent);
    this.o.log(`dhcp: ${renew ? 'renewed' : 'bound'} ${ip} to ${id.serial ?? id.mac} (fabric ${f}${p.giaddr !== '0.0.0.0' ? `, relay ${p.giaddr}` : ''})`);
  }

  private async onRelease(p: DhcpPacket, id: ClientIdentity, pl: Placement): Promise<void> {
    const l = await this.o.store.get(pl.fabric.fabric, p.ciaddr);
    if (!l || !this.owns(l, id)) return;
    await this.o.store.remove(pl.fabric.fabric, p.ciaddr);
    this.emit('lease', { type: 'release', ip: p.ciaddr, mac: id.mac, fabric: pl.fabric.fabric } satisfies LeaseEvent);
    this.o.log(`dhcp: released ${p.ciaddr} by ${id.serial ?? id.mac}`);
  }

  private async onDecline(p: DhcpPacket, id: ClientIdentity, pl: Placement): Promise<void> {
    const ip = readIp(p.options.get(OPT.requestedIp));
    if (!ip) return;
    const l = await this.o.store.get(pl.fabric.fabric, ip);
    if (l && this.owns(l, id)) await this.o.store.remove(pl.fabric.fabric, ip);
    await this.o.store.decline(pl.fabric.fabric, ip, this.o.declineMs);
    this.emit('lease', { type: 'decline', ip, mac: id.mac, fabric: pl.fabric.fabric } satisfies LeaseEvent);
    this.o.log(`dhcp: ${id.mac} declined ${ip} (address in use): not offered for ${Math.round(this.o.declineMs / 1000)} s`);
  }

  private async onInform(p: DhcpPacket, id: ClientIdentity, pl: Placement): Promise<void> {
    await this.reply(p, MSG.ACK, pl, id, undefined);
  }

  private async nak(p: DhcpPacket, pl: Placement, id: ClientIdentity, why: string): Promise<void> {
    this.o.log(`dhcp: NAK to ${id.mac}: ${why}`);
    const opts = new Map<number, Buffer>([[OPT.messageType, Buffer.from([MSG.NAK])], [OPT.serverId, ip4(this.o.serverAddress)], [OPT.message, str(why)]]);
    const relay = p.options.get(OPT.relayAgentInfo);
    if (relay) opts.set(OPT.relayAgentInfo, relay);
    await this.send(p, { ...this.replyHeader(p), flags: p.giaddr !== '0.0.0.0' ? p.flags | 0x8000 : p.flags, ciaddr: '0.0.0.0', options: opts }, true);
    this.emit('lease', { type: 'nak', mac: id.mac, fabric: pl.fabric.fabric } satisfies LeaseEvent);
  }

  private leaseRecord(pl: Placement, ip: string, id: ClientIdentity, p: DhcpPacket, state: Lease['state'], expiresAt: number, prev?: Lease): Lease {
    const l: Lease = { ...(prev ?? {}), fabric: pl.fabric.fabric, ip, subnet: pl.subnet.cidr, mac: id.mac, state, expiresAt };
    if (id.clientId) l.clientId = id.clientId;
    if (id.serial) l.serial = id.serial;
    if (id.vendor) l.vendor = id.vendor;
    if (id.model) l.model = id.model;
    if (id.vendorClass) l.vendorClass = id.vendorClass;
    if (id.hostName) l.hostName = id.hostName;
    if (p.giaddr !== '0.0.0.0') l.relay = p.giaddr;
    const ai = p.options.get(OPT.relayAgentInfo);
    if (ai) l.agentInfo = ai.toString('hex');
    return l;
  }

  private replyHeader(p: DhcpPacket): DhcpPacket {
    return {
      op: 2, htype: 1, hlen: 6, hops: 0, xid: p.xid, secs: 0, flags: p.flags, ciaddr: p.ciaddr, yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0', giaddr: p.giaddr, chaddr: p.chaddr, sname: '', file: '', options: new Map(),
    };
  }

  private async reply(p: DhcpPacket, type: number, pl: Placement, id: ClientIdentity, ip: string | undefined): Promise<void> {
    const f = pl.fabric;
    const mask = formatIp(pl.cidr.prefix === 0 ? 0 : (0xffffffff << (32 - pl.cidr.prefix)) >>> 0);
    const o = new Map<number, Buffer>();
    o.set(OPT.messageType, Buffer.from([type]));
    o.set(OPT.serverId, ip4(this.o.serverAddress));
    if (ip) {
      o.set(OPT.leaseTime, u32(f.leaseSeconds));
      o.set(OPT.renewalT1, u32(Math.floor(f.leaseSeconds / 2)));
      o.set(OPT.rebindingT2, u32(Math.floor(f.leaseSeconds * 7 / 8)));
    }
    o.set(OPT.subnetMask, ip4(mask));
    o.set(OPT.router, ipList([pl.subnet.gateway]));
    const ztp = await this.ztpOptions(f, id, ip);
    for (const [k, v] of ztp) o.set(k, v);
    const relay = p.options.get(OPT.relayAgentInfo);
    if (relay) o.set(OPT.relayAgentInfo, relay); // RFC 3046: echoed unchanged
    const h = this.replyHeader(p);
    if (ip) h.yiaddr = ip;
    if (type !== MSG.ACK || !ip) h.ciaddr = type === MSG.ACK ? p.ciaddr : '0.0.0.0';
    h.siaddr = this.ztpHost();
    h.options = o;
    await this.send(p, h, false);
  }

  private ztpHost(): string {
    try {
      const h = new URL(this.o.ztpBaseUrl).hostname;
      return parseIp(h) !== undefined ? h : this.o.serverAddress;
    } catch { return this.o.serverAddress; }
  }

  /** ZTP options by vendor class: Juniper option 43 + 150, everyone else 66 + 67 (full URL). */
  private async ztpOptions(f: ActiveFabric, id: ClientIdentity, ip: string | undefined): Promise<Map<number, Buffer>> {
    const out = new Map<number, Buffer>();
    if (!ip) return out;
    const serial = id.serial ?? id.mac.replace(/:/g, '');
    const token = randomBytes(16).toString('hex');
    const platform = platformFor(id);
    await this.o.store.putToken({ token, fabric: f.fabric, serial, ip, mac: id.mac, platform, vendor: id.vendor, model: id.model }, f.leaseSeconds * 1000);
    const base = this.o.ztpBaseUrl.replace(/\/+$/, '');
    const url = new URL(base);
    const path = `${url.pathname.replace(/\/+$/, '')}/ztp/${encodeURIComponent(serial)}?t=${token}`;
    const host = this.ztpHost();
    out.set(OPT.tftpServerName, str(host));
    if (platformModule(platform).ztp.dhcpOptions === 'juniper') {
      // Juniper ZTP sub-options: 1 config file name, 3 transfer mode, 5 HTTP port; the file
      // server comes from option 150 (then 66).
      const subs: [number, Buffer][] = [[1, str(path.replace(/^\//, ''))], [3, str('http')]];
      if (url.port) subs.push([5, str(url.port)]);
      out.set(OPT.vendorSpecific, subOptions(subs));
      out.set(OPT.tftpServerAddress, ip4(host));
    } else {
      out.set(OPT.bootfileName, str(`${url.origin}${path}`));
    }
    return out;
  }

  private send(p: DhcpPacket, reply: DhcpPacket, nak: boolean): Promise<void> {
    const buf = encode(reply);
    let to: string;
    let port = this.o.clientPort;
    if (p.giaddr !== '0.0.0.0') { to = p.giaddr; port = this.o.relayPort; } // back through the relay
    else if (!nak && p.ciaddr !== '0.0.0.0') to = p.ciaddr;                 // renew: unicast
    else to = '255.255.255.255';                                            // no ARP from userspace: broadcast
    this.stats.answered++;
    return new Promise((resolve) => {
      this.sock?.send(buf, port, to, (e) => {
        if (e) this.o.log(`dhcp: reply to ${to}:${port} failed: ${e.message}${to === '255.255.255.255' ? ' (needs a route: ip route add 255.255.255.255/32 dev <iface>)' : ''}`);
        resolve();
      });
    });
  }
}
