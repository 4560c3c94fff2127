// The underlay a Junos device runs, from its running `<configuration>` (get-config, the
// committed tree outside the service's groups) and get-bgp-summary-information: what
// brownfield adoption records instead of allocating from the pools. The parsing is pure.
import type { NetconfClient } from '../../netconf/client';
import { child, childText, childrenNamed, findAll, parseFragment, type XmlElement } from '../../netconf/xml';
import type { RunningUnderlay } from '../types';

const IPV4_CIDR = /^\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}$/;
const MGMT_IF = /^(fxp0|em0|me0|vme|re0:mgmt-\d+)$/;

function txt(el: XmlElement | undefined, name: string): string | undefined {
  return childText(el, name)?.trim() || undefined;
}

function asNumber(v: string | undefined): number | undefined {
  return v && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** `<configuration>` -> loopback, AS, router id, addressed ports and BGP neighbours. Pure. */
export function parseJunosUnderlay(configXml: string): RunningUnderlay {
  const out: RunningUnderlay = { interfaces: [], neighbors: [] };
  const cfg = findAll(parseFragment(configXml), 'configuration')[0];
  if (!cfg) return out;
  const ro = child(cfg, 'routing-options');
  out.asn = asNumber(txt(child(ro, 'autonomous-system'), 'as-number'));
  const rid = txt(ro, 'router-id');
  if (rid) out.routerId = rid;
  for (const i of childrenNamed(child(cfg, 'interfaces'), 'interface')) {
    const name = txt(i, 'name') ?? '';
    if (!name || MGMT_IF.test(name)) continue;
    for (const u of childrenNamed(i, 'unit')) {
      const unit = txt(u, 'name') ?? '0';
      const addrs = childrenNamed(child(child(u, 'family'), 'inet'), 'address').map((a) => txt(a, 'name') ?? '').filter((a) => IPV4_CIDR.test(a));
      if (name === 'lo0') {
        const lo = addrs.find((a) => a.endsWith('/32'));
        if (unit === '0' && lo && !out.loopback) out.loopback = lo.split('/')[0];
        continue;
      }
      for (const a of addrs) out.interfaces.push({ name: `${name}.${unit}`, address: a });
    }
  }
  // protocols bgp group [type external] neighbor; a neighbour's peer-as wins over its group's
  for (const g of childrenNamed(child(child(cfg, 'protocols'), 'bgp'), 'group')) {
    const groupAs = asNumber(txt(g, 'peer-as'));
    for (const n of childrenNamed(g, 'neighbor')) {
      const address = txt(n, 'name');
      if (!address) continue;
      const remoteAs = asNumber(txt(n, 'peer-as')) ?? groupAs ?? (txt(g, 'type') === 'internal' ? out.asn : undefined);
      out.neighbors.push({ address, ...(remoteAs !== undefined ? { remoteAs } : {}) });
    }
  }
  return out;
}

/** get-bgp-summary-information: peer state and `elapsed-time seconds` per peer. Pure. */
export function junosBgpPeerStates(xml: string): Map<string, { state: string; uptimeSeconds?: number }> {
  const m = new Map<string, { state: string; uptimeSeconds?: number }>();
  for (const p of findAll(parseFragment(xml), 'bgp-peer')) {
    const peer = (txt(p, 'peer-address') ?? '').replace(/\+\d+$/, '');
    const el = child(p, 'elapsed-time');
    const secs = el?.attrs?.['junos:seconds'] ?? el?.attrs?.seconds;
    m.set(peer, { state: txt(p, 'peer-state') ?? 'Unknown', ...(secs && /^\d+$/.test(secs) ? { uptimeSeconds: Number(secs) } : {}) });
  }
  return m;
}

export async function junosReadUnderlay(c: NetconfClient): Promise<RunningUnderlay> {
  const u = parseJunosUnderlay(await c.getConfig('running', '<configuration/>'));
  try {
    const r = await c.rpc('<get-bgp-summary-information/>');
    const states = junosBgpPeerStates(r.xml);
    for (const n of u.neighbors) {
      const s = states.get(n.address);
      if (s) Object.assign(n, s);
    }
  } catch { /* state is a help, not a condition of adoption */ }
  return u;
}
