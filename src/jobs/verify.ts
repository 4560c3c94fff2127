// Verification of a pushed device against its plan (issue 7). `checkDevice` is pure: operational
// state (parsed from NETCONF replies) + the DevicePlan -> failures and notes. The readers at the
// bottom fetch that state over NETCONF only: frr through the device agent's <get> (frr-state
// tree), junos through get-bgp-summary-information / get-bfd-session-information /
// get-route-information. Never a shell.
import type { DevicePlan } from '../domain/types';
import type { NetconfClient } from '../netconf/client';
import { childText, findAll, parseFragment, type XmlElement } from '../netconf/xml';

/** One BGP session as the device reports it; `afi` 'ipv4' | 'evpn' (or undefined: unknown). */
export interface BgpSessionState { peer: string; afi?: 'ipv4' | 'evpn' | string; state: string }
export interface BfdSessionState { peer: string; state: string }
export interface OperState {
  bgp: BgpSessionState[];
  /** undefined: the device does not report BFD (the check becomes a note, not a failure) */
  bfd?: BfdSessionState[];
  /** selected IPv4 prefixes (e.g. 10.255.0.1/32) */
  routes: string[];
}

export type VerifyPhase = 'underlay' | 'overlay' | 'all';

export interface VerifyInput {
  plan: DevicePlan;
  state: OperState;
  /** device name -> loopback address (every device of the fabric) */
  loopbacks: Record<string, string>;
  /** devices whose own push failed: their sessions and loopbacks are notes, not failures */
  failedPeers?: Iterable<string>;
  phase?: VerifyPhase;
}

export interface VerifyResult {
  ok: boolean;
  failures: string[];
  notes: string[];
  checked: number;
  /** peer devices named by the failures (a session to them down, their loopback missing) */
  blame: string[];
  /** sessions of the plan found Established */
  up: number;
}

function established(state: OperState, peer: string, afi: string): string | undefined {
  const m = state.bgp.filter((s) => s.peer === peer && (s.afi === undefined || s.afi === afi));
  if (m.some((s) => s.state === 'Established')) return undefined;
  return m.length ? m.map((s) => s.state).join('/') : 'missing';
}

/** What is wrong with a device's state compared with its plan (pure). */
export function checkDevice(input: VerifyInput): VerifyResult {
  const { plan, state } = input;
  const phase = input.phase ?? 'all';
  const failed = new Set(input.failedPeers ?? []);
  const failures: string[] = [];
  const notes = new Set<string>();
  const blame = new Set<string>();
  let checked = 0;
  let up = 0;
  if (phase !== 'overlay') {
    for (const n of plan.underlay.neighbors) {
      if (failed.has(n.peerDevice)) {
        notes.add(`peer ${n.peerDevice} not configured (its push failed): BGP ${n.address} not checked`);
        continue;
      }
      checked++;
      const bad = established(state, n.address, 'ipv4');
      if (bad) { failures.push(`BGP ${n.address} (${n.peerDevice} on ${n.interface}) is ${bad}, not Established`); blame.add(n.peerDevice); } else up++;
      if (n.bfd) {
        if (!state.bfd) notes.add('BFD state not reported by this device: BFD not checked');
        else {
          checked++;
          const b = state.bfd.find((x) => x.peer === n.address);
          if (!b || b.state.toLowerCase() !== 'up') { failures.push(`BFD ${n.address} (${n.peerDevice}) is ${b ? b.state : 'missing'}, not up`); blame.add(n.peerDevice); }
        }
      }
    }
    const routes = new Set(state.routes);
    for (const [dev, lb] of Object.entries(input.loopbacks).sort(([a], [b]) => a.localeCompare(b))) {
      if (dev === plan.name) continue;
      if (failed.has(dev)) {
        notes.add(`peer ${dev} not configured (its push failed): loopback ${lb} not checked`);
        continue;
      }
      checked++;
      if (!routes.has(`${lb}/32`)) { failures.push(`no route to ${dev}'s loopback ${lb}/32`); blame.add(dev); }
    }
  }
  if (phase !== 'underlay' && plan.overlay) {
    for (const n of plan.overlay.neighbors) {
      if (failed.has(n.device)) {
        notes.add(`peer ${n.device} not configured (its push failed): EVPN ${n.address} not checked`);
        continue;
      }
      checked++;
      const bad = established(state, n.address, 'evpn');
      if (bad) { failures.push(`EVPN ${n.address} (${n.device}) is ${bad}, not Established`); blame.add(n.device); } else up++;
    }
  }
  return { ok: failures.length === 0, failures, notes: [...notes], checked, blame: [...blame].sort(), up };
}

// ----------------------------------------------------------------------------- parsers

const FRR_AFI: Record<string, string> = { ipv4Unicast: 'ipv4', l2VpnEvpn: 'evpn' };

/** The device agent's <get> data (frr-state tree, docs/device-agent.md §5). */
export function parseFrrState(data: string): OperState {
  const nodes = parseFragment(data);
  const st = findAll(nodes, 'frr-state')[0];
  const out: OperState = { bgp: [], routes: [] };
  if (!st) return out;
  for (const n of findAll(st.children, 'bgp').flatMap((b) => findAll(b.children, 'neighbor'))) {
    const vrf = childText(n, 'vrf') ?? 'default';
    if (vrf !== 'default') continue;
    const afi = childText(n, 'afi') ?? '';
    out.bgp.push({ peer: childText(n, 'address') ?? '', afi: FRR_AFI[afi] ?? afi, state: childText(n, 'state') ?? 'Unknown' });
  }
  for (const r of findAll(st.children, 'routes').flatMap((b) => findAll(b.children, 'route'))) {
    const p = childText(r, 'prefix');
    if (p) out.routes.push(p);
  }
  // <bfd><peer><address/><vrf/><status/></peer></bfd> (FRR's status: up, down, init ...); an agent
  // without the tree leaves bfd undefined (a note, not a failure).
  const bfd = findAll(st.children, 'bfd')[0];
  if (bfd) {
    out.bfd = findAll(bfd.children, 'peer')
      .filter((p) => (childText(p, 'vrf') ?? 'default') === 'default')
      .map((p) => ({ peer: childText(p, 'address') ?? childText(p, 'peer') ?? '', state: childText(p, 'status') ?? childText(p, 'state') ?? '' }));
  }
  return out;
}

const JUNOS_RIB: Record<string, string> = { 'inet.0': 'ipv4', 'bgp.evpn.0': 'evpn' };

/** get-bgp-summary-information reply: <bgp-peer> with peer-address (maybe "+port"), peer-state, bgp-rib. */
export function parseJunosBgpSummary(xml: string): BgpSessionState[] {
  const out: BgpSessionState[] = [];
  for (const p of findAll(parseFragment(xml), 'bgp-peer')) {
    const peer = (childText(p, 'peer-address') ?? '').replace(/\+\d+$/, '');
    const state = childText(p, 'peer-state') ?? 'Unknown';
    const ribs = p.children.filter((c): c is XmlElement => c.type === 'element' && c.name === 'bgp-rib').map((r) => childText(r, 'name') ?? '');
    const afis = ribs.map((r) => JUNOS_RIB[r]).filter((x): x is string => !!x);
    if (afis.length === 0) out.push({ peer, state });
    else for (const afi of afis) out.push({ peer, afi, state });
  }
  return out;
}

/** get-bfd-session-information reply: <bfd-session> session-neighbor + session-state (Up/Down). */
export function parseJunosBfd(xml: string): BfdSessionState[] {
  return findAll(parseFragment(xml), 'bfd-session').map((s) => ({ peer: childText(s, 'session-neighbor') ?? '', state: childText(s, 'session-state') ?? '' }));
}

/** get-route-information reply: inet.0 rt-destination prefixes. */
export function parseJunosRoutes(xml: string): string[] {
  const out: string[] = [];
  for (const t of findAll(parseFragment(xml), 'route-table')) {
    const name = childText(t, 'table-name');
    if (name && name !== 'inet.0') continue;
    for (const rt of findAll(t.children, 'rt')) {
      const d = childText(rt, 'rt-destination');
      if (d) out.push(d.includes('/') ? d : `${d}/32`);
    }
  }
  return out;
}

// ----------------------------------------------------------------------------- readers (NETCONF)

/** Operational state of a device over NETCONF. */
export async function readOperState(client: NetconfClient, platform: string, opts: { timeoutMs?: number } = {}): Promise<OperState> {
  const ro = opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : undefined;
  if (platform === 'junos') {
    const [bgp, bfd, routes] = await Promise.all([
      client.rpc('<get-bgp-summary-information/>', ro),
      client.rpc('<get-bfd-session-information/>', ro),
      client.rpc('<get-route-information><table>inet.0</table><protocol>bgp</protocol></get-route-information>', ro),
    ]);
    return { bgp: parseJunosBgpSummary(bgp.xml), bfd: parseJunosBfd(bfd.xml), routes: parseJunosRoutes(routes.xml) };
  }
  const data = await client.get('<frr-state xmlns="urn:fabric:frr"/>', ro);
  return parseFrrState(data);
}

export function describeVerify(r: VerifyResult): string {
  const parts = [r.ok ? `verified (${r.checked} checks)` : `${r.failures.length} of ${r.checked} checks failed: ${r.failures.join('; ')}`];
  if (r.notes.length) parts.push(`notes: ${r.notes.join('; ')}`);
  return parts.join('; ');
}

