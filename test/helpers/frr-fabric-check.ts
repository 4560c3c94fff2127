// What a converged fabric looks like from FRR's side, and what the plans say it must be.
// Shared by the real-FRR fabric tests (and reusable by the twin's checks).
import type { DevicePlan } from '../../src/domain/types';
import type { FrrLab } from './frr-lab';

interface PeerMap { [addr: string]: { state: string } }
interface Summary { ipv4Unicast?: { peers: PeerMap }; l2VpnEvpn?: { peers: PeerMap }; peers?: PeerMap }
interface BfdPeer { peer: string; status: string }
type Routes = Record<string, { protocol: string; selected?: boolean }[]>;

export interface DeviceState {
  device: string;
  /** underlay (ipv4 unicast) peers in Established */
  ebgpUp: string[];
  /** l2vpn evpn peers in Established */
  evpnUp: string[];
  /** BFD peers up */
  bfdUp: string[];
  /** /32s selected from BGP in the RIB */
  loopbacks: string[];
}

function peers(s: Summary): [string, { state: string }][] {
  return Object.entries(s.peers ?? s.ipv4Unicast?.peers ?? s.l2VpnEvpn?.peers ?? {});
}

/** Reads the state of every device (vtysh ... json). */
export function readFabricState(lab: FrrLab, plans: DevicePlan[]): DeviceState[] {
  return plans.map((p) => {
    const ipv4 = lab.vtyshJson<Summary>(p.name, 'show bgp ipv4 unicast summary json');
    const evpn = lab.vtyshJson<Summary>(p.name, 'show bgp l2vpn evpn summary json');
    const bfd = lab.vtyshJson<BfdPeer[]>(p.name, 'show bfd peers json');
    const routes = lab.vtyshJson<Routes>(p.name, 'show ip route bgp json');
    const up = (s: Summary) => peers(s).filter(([, v]) => v.state === 'Established').map(([k]) => k).sort();
    return {
      device: p.name,
      ebgpUp: up(ipv4),
      evpnUp: up(evpn),
      bfdUp: (Array.isArray(bfd) ? bfd : []).filter((b) => b.status === 'up').map((b) => b.peer).sort(),
      loopbacks: Object.entries(routes)
        .filter(([pfx, rs]) => pfx.endsWith('/32') && rs.some((r) => r.protocol === 'bgp' && r.selected))
        .map(([pfx]) => pfx).sort(),
    };
  });
}

/** The state the plans promise: every session up, every other loopback reachable. */
export function expectedFabricState(plans: DevicePlan[]): DeviceState[] {
  return plans.map((p) => ({
    device: p.name,
    ebgpUp: p.underlay.neighbors.map((n) => n.address).sort(),
    evpnUp: (p.overlay?.neighbors ?? []).map((n) => n.address).sort(),
    bfdUp: p.underlay.neighbors.filter((n) => n.bfd).map((n) => n.address).sort(),
    loopbacks: plans.filter((o) => o.name !== p.name).map((o) => `${o.loopback}/32`).sort(),
  }));
}

export function countSessions(states: DeviceState[]): { ebgp: number; evpn: number; bfd: number } {
  const sum = (k: 'ebgpUp' | 'evpnUp' | 'bfdUp') => states.reduce((n, s) => n + s[k].length, 0);
  return { ebgp: sum('ebgpUp'), evpn: sum('evpnUp'), bfd: sum('bfdUp') };
}
