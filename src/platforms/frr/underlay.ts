// The underlay an FRR device runs, from its running frr.conf (and ifupdown2 interfaces file) and
// the agent's BGP state: what brownfield adoption records instead of allocating from the pools.
import type { NetconfClient } from '../../netconf/client';
import type { RunningUnderlay } from '../types';
import { frrReadRunning } from './config';
import { frrReadOperState } from './verify';

const IPV4_CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;

/**
 * Parses frr.conf text (+ the interfaces file). Pure. Only the default instance's `router bgp`
 * counts (`router bgp N vrf X` is a tenant's); peer-group remote-as is followed.
 */
export function parseFrrUnderlay(frrConf: string, interfaces = ''): RunningUnderlay {
  const out: RunningUnderlay = { interfaces: [], neighbors: [] };
  const addrs = new Map<string, string[]>();
  const addAddr = (ifname: string, a: string) => {
    if (!IPV4_CIDR.test(a)) return;
    addrs.set(ifname, [...(addrs.get(ifname) ?? []), a]);
  };
  let iface: string | undefined;
  let inBgp = false;
  const remoteAs = new Map<string, string>();
  const peerGroupOf = new Map<string, string>();
  const order: string[] = [];
  for (const raw of frrConf.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (!line.trim() || line.trim().startsWith('!')) continue;
    const top = !/^\s/.test(line);
    if (top) {
      iface = undefined;
      inBgp = false;
      let m = /^interface (\S+)(?: vrf \S+)?$/.exec(line);
      if (m && !/ vrf /.test(line)) { iface = m[1]; continue; }
      m = /^router bgp (\d+)$/.exec(line);
      if (m) { inBgp = true; out.asn = Number(m[1]); continue; }
      continue;
    }
    const t = line.trim();
    if (iface) {
      const m = /^ip address (\S+)$/.exec(t);
      if (m) addAddr(iface, m[1]);
      continue;
    }
    if (!inBgp) continue;
    let m = /^bgp router-id (\S+)$/.exec(t);
    if (m) { out.routerId = m[1]; continue; }
    m = /^neighbor (\S+) remote-as (\S+)$/.exec(t);
    if (m) {
      if (!remoteAs.has(m[1]) && !peerGroupOf.has(m[1])) order.push(m[1]);
      remoteAs.set(m[1], m[2]);
      continue;
    }
    m = /^neighbor (\S+) peer-group (\S+)$/.exec(t);
    if (m) { if (!remoteAs.has(m[1]) && !peerGroupOf.has(m[1])) order.push(m[1]); peerGroupOf.set(m[1], m[2]); continue; }
    m = /^neighbor (\S+) peer-group$/.exec(t);
    if (m) { peerGroupOf.set(m[1], ''); continue; }
  }
  // ifupdown2: `iface NAME` then indented `address A/len`
  let cur: string | undefined;
  for (const raw of interfaces.split('\n')) {
    const m = /^(?:auto|iface)\s+(\S+)/.exec(raw);
    if (m) { cur = raw.startsWith('iface') ? m[1] : undefined; continue; }
    const a = /^\s+address\s+(\S+)/.exec(raw);
    if (cur && a) addAddr(cur, a[1]);
  }
  const lo = (addrs.get('lo') ?? []).find((a) => a.endsWith('/32'));
  if (lo) out.loopback = lo.split('/')[0];
  for (const [name, list] of addrs) {
    if (name === 'lo') continue;
    for (const address of list) out.interfaces.push({ name, address });
  }
  out.interfaces.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const n of order) {
    if (peerGroupOf.get(n) === '') continue; // a peer group, not a neighbour
    const as = remoteAs.get(n) ?? (peerGroupOf.has(n) ? remoteAs.get(peerGroupOf.get(n)!) : undefined);
    out.neighbors.push({ address: n, ...(as && /^\d+$/.test(as) ? { remoteAs: Number(as) } : {}) });
  }
  return out;
}

/** Running config + the agent's BGP state (ipv4 sessions of the default instance). */
export async function frrReadUnderlay(c: NetconfClient, device: string): Promise<RunningUnderlay> {
  const files = await frrReadRunning(c, device);
  const u = parseFrrUnderlay(files[`${device}.frr.conf`] ?? '', files[`${device}.interfaces`] ?? '');
  try {
    const st = await frrReadOperState(c);
    for (const n of u.neighbors) {
      const s = st.bgp.find((b) => b.peer === n.address && (b.afi === 'ipv4' || b.afi === undefined)) ?? st.bgp.find((b) => b.peer === n.address);
      if (s) n.state = s.state;
    }
  } catch { /* state is a help, not a condition of adoption */ }
  return u;
}
