// The simulator's stand-in for routing (it runs no FRR): BGP session states and routes derived
// from the frr.conf each device was pushed, for what the upgrade and verify steps read
// (the agent's frr-state tree, docs/device-agent.md section 5).
//   - a session is Established when both ends are up (not rebooting), each names the other's
//     address as a neighbour with the AS the other speaks, and both activate the address
//     family; a session to a loopback (iBGP/EVPN) also needs the peer's loopback reachable;
//   - the underlay is the graph of Established ipv4 sessions: a device has a route to the
//     loopback of every device in its connected component.
// That is what the checks need to see a peer go down while it reboots and come back; graceful
// shutdown changes preferences only, so a drained device looks the same (as on FRR).
// Pure parsing; the state is recomputed lazily once per change (a generation counter).
import { escapeText } from '../../netconf/xml';
import { NS_FRR } from '../agent/netconf';

export type SimAfi = 'ipv4Unicast' | 'l2VpnEvpn';
export interface SimBgpNeighbor { address: string; remoteAs: string; localAs?: string; afis: SimAfi[] }
export interface SimRoutingConfig { asn?: string; addresses: string[]; loopbacks: string[]; neighbors: SimBgpNeighbor[] }
export interface SimSession { peer: string; afi: SimAfi; state: 'Established' | 'Active'; remoteAs: string; peerDevice?: string }

const AFI_OF: Record<string, SimAfi> = { 'ipv4 unicast': 'ipv4Unicast', 'l2vpn evpn': 'l2VpnEvpn' };

/** The parts of an frr.conf the sim's routing reads: interface addresses, the default BGP instance. */
export function parseSimFrr(text: string): SimRoutingConfig {
  const out: SimRoutingConfig = { addresses: [], loopbacks: [], neighbors: [] };
  const byAddr = new Map<string, SimBgpNeighbor>();
  let iface: string | undefined;
  let inBgp = false;
  let afi: SimAfi | undefined;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      iface = /^interface (\S+)/.exec(line)?.[1];
      const rb = /^router bgp (\d+)\s*$/.exec(line);
      inBgp = !!rb;
      if (rb) out.asn = rb[1];
      afi = undefined;
      continue;
    }
    if (iface) {
      const a = /^ ip address (\d+\.\d+\.\d+\.\d+)\/\d+/.exec(line);
      if (a) { out.addresses.push(a[1]); if (iface === 'lo') out.loopbacks.push(a[1]); }
      continue;
    }
    if (!inBgp) continue;
    const af = /^ address-family (.+?)\s*$/.exec(line);
    if (af) { afi = AFI_OF[af[1]]; continue; }
    if (/^ exit-address-family/.test(line)) { afi = undefined; continue; }
    const ra = /^ neighbor (\S+) remote-as (\S+)/.exec(line);
    if (ra) {
      const n: SimBgpNeighbor = { address: ra[1], remoteAs: ra[2], afis: [] };
      byAddr.set(n.address, n);
      out.neighbors.push(n);
      continue;
    }
    const la = /^ neighbor (\S+) local-as (\d+)/.exec(line);
    if (la && byAddr.has(la[1])) { byAddr.get(la[1])!.localAs = la[2]; continue; }
    const act = /^ {2}neighbor (\S+) activate\s*$/.exec(line);
    if (act && afi && byAddr.has(act[1])) byAddr.get(act[1])!.afis.push(afi);
  }
  return out;
}

interface Node { cfg: SimRoutingConfig; up: boolean }

export class SimRouting {
  private readonly nodes = new Map<string, Node>();
  private generation = 0;
  private computed = -1;
  private owner = new Map<string, string>();
  private component = new Map<string, number>();
  private sessionsOf = new Map<string, SimSession[]>();
  private loopbacksIn = new Map<number, string[]>();

  private node(name: string): Node {
    let n = this.nodes.get(name);
    if (!n) this.nodes.set(name, n = { cfg: { addresses: [], loopbacks: [], neighbors: [] }, up: true });
    return n;
  }

  setConfig(device: string, frrConf: string): void { this.node(device).cfg = parseSimFrr(frrConf); this.generation++; }
  setUp(device: string, up: boolean): void { this.node(device).up = up; this.generation++; }
  isUp(device: string): boolean { return this.node(device).up; }

  /** The sessions a device reports (empty while it is down: nobody answers). */
  sessions(device: string): SimSession[] { this.compute(); return this.sessionsOf.get(device) ?? []; }

  /** Prefixes in the device's table: every loopback of its underlay component, as /32. */
  routes(device: string): string[] {
    this.compute();
    const c = this.component.get(device);
    return c === undefined ? [] : (this.loopbacksIn.get(c) ?? []).map((a) => `${a}/32`);
  }

  /** The agent's frr-state tree (the part the FRR verify reader parses). */
  frrStateXml(device: string): string {
    const x = escapeText;
    let s = `<frr-state xmlns="${NS_FRR}"><bgp>`;
    const asn = this.node(device).cfg.asn;
    for (const b of this.sessions(device)) {
      s += `<neighbor><address>${x(b.peer)}</address><vrf>default</vrf><afi>${b.afi}</afi>${asn ? `<local-as>${asn}</local-as>` : ''}`
        + `<state>${b.state}</state>${b.peerDevice && b.state === 'Established' ? `<peer-hostname>${x(b.peerDevice)}</peer-hostname>` : ''}</neighbor>`;
    }
    s += '</bgp><routes>';
    for (const r of this.routes(device)) s += `<route><prefix>${r}</prefix><protocol>bgp</protocol></route>`;
    return `${s}</routes><phase>${this.node(device).up ? 'running' : 'rebooting'}</phase></frr-state>`;
  }

  private compute(): void {
    if (this.computed === this.generation) return;
    this.owner = new Map();
    for (const [name, n] of this.nodes) for (const a of n.cfg.addresses) this.owner.set(a, name);
    // What each neighbour statement finds at the other end (same for every afi).
    const peerOf = (dev: string, n: SimBgpNeighbor): { peer: string; back: SimBgpNeighbor } | undefined => {
      const peer = this.owner.get(n.address);
      const me = this.nodes.get(dev)!;
      const other = peer ? this.nodes.get(peer) : undefined;
      if (!peer || !other || !me.up || !other.up) return undefined;
      // The other end's statement for this session: to our loopback when we peer with its
      // loopback (update-source), else to one of our link addresses.
      const multihop = other.cfg.loopbacks.includes(n.address);
      const mine = new Set(multihop ? me.cfg.loopbacks : me.cfg.addresses.filter((a) => !me.cfg.loopbacks.includes(a)));
      const back = other.cfg.neighbors.find((b) => mine.has(b.address));
      if (!back) return undefined;
      const speaks = (node: Node, nb: SimBgpNeighbor) => nb.localAs ?? node.cfg.asn;
      const expects = (node: Node, nb: SimBgpNeighbor, theirs?: string) =>
        nb.remoteAs === 'internal' ? theirs === node.cfg.asn : nb.remoteAs === 'external' ? theirs !== node.cfg.asn : nb.remoteAs === theirs;
      if (!expects(me, n, speaks(other, back)) || !expects(other, back, speaks(me, n))) return undefined;
      return { peer, back };
    };
    // Underlay: components over the ipv4 sessions to directly connected (non-loopback) addresses.
    const adj = new Map<string, string[]>();
    for (const [name, n] of this.nodes) {
      for (const nb of n.cfg.neighbors) {
        if (!nb.afis.includes('ipv4Unicast')) continue;
        const p = peerOf(name, nb);
        if (p && p.back.afis.includes('ipv4Unicast') && !this.nodes.get(p.peer)!.cfg.loopbacks.includes(nb.address)) {
          adj.set(name, [...(adj.get(name) ?? []), p.peer]);
        }
      }
    }
    this.component = new Map();
    this.loopbacksIn = new Map();
    let c = 0;
    for (const [name, n] of this.nodes) {
      if (!n.up || this.component.has(name)) continue;
      const stack = [name];
      this.component.set(name, c);
      const lbs: string[] = [];
      while (stack.length) {
        const d = stack.pop()!;
        lbs.push(...this.nodes.get(d)!.cfg.loopbacks);
        for (const e of adj.get(d) ?? []) if (!this.component.has(e)) { this.component.set(e, c); stack.push(e); }
      }
      this.loopbacksIn.set(c++, lbs.sort());
    }
    this.sessionsOf = new Map();
    for (const [name, n] of this.nodes) {
      if (!n.up) continue;
      const list: SimSession[] = [];
      for (const nb of n.cfg.neighbors) {
        const p = peerOf(name, nb);
        // A multihop session (to a loopback) rides on the underlay: the peer must be reachable.
        const reach = p && (!this.nodes.get(p.peer)!.cfg.loopbacks.includes(nb.address) || this.component.get(p.peer) === this.component.get(name));
        for (const afi of nb.afis) {
          const ok = !!(p && reach && p.back.afis.includes(afi));
          list.push({ peer: nb.address, afi, state: ok ? 'Established' : 'Active', remoteAs: nb.remoteAs, ...(p ? { peerDevice: p.peer } : {}) });
        }
      }
      this.sessionsOf.set(name, list);
    }
    this.computed = this.generation;
  }
}
