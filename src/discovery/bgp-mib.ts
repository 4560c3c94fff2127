// Brownfield: the BGP neighbours a device's NETCONF reports (running config + session state,
// RunningUnderlay) checked against its BGP4-MIB over SNMP (bgpPeerTable). Two views of one
// bgpd must agree; where they do not (a neighbour only one of them knows, another remote AS,
// one says Established and the other not) the onboarding names it as an anomaly rather than
// adopting on a view it cannot trust. Pure.
import type { RunningUnderlay } from '../platforms/types';
import type { BgpMibPeer } from './snmp';
import type { Anomaly } from './topology';

const up = (s: string | undefined) => s === 'Established';

export function compareBgpMib(device: string, underlay: RunningUnderlay, mib: BgpMibPeer[]): Anomaly[] {
  const out: Anomaly[] = [];
  const say = (message: string) => out.push({ kind: 'bgp-mib', device, message: `${device}: ${message}` });
  const byPeer = new Map(mib.map((m) => [m.peer, m]));
  const known = new Set<string>();
  for (const n of underlay.neighbors) {
    known.add(n.address);
    const m = byPeer.get(n.address);
    if (!m) { say(`neighbour ${n.address} is in the running config (NETCONF) but not in BGP4-MIB`); continue; }
    if (n.remoteAs !== undefined && m.remoteAs !== n.remoteAs) say(`neighbour ${n.address}: remote AS ${n.remoteAs} (NETCONF), ${m.remoteAs} (BGP4-MIB)`);
    if (n.state !== undefined && up(n.state) !== up(m.state)) say(`neighbour ${n.address}: ${n.state} (NETCONF), ${m.state} (BGP4-MIB)`);
  }
  for (const m of mib) if (!known.has(m.peer)) say(`BGP4-MIB reports neighbour ${m.peer} (AS ${m.remoteAs}, ${m.state}) that the running config (NETCONF) does not have`);
  return out;
}
