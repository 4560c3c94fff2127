// Hand-built DevicePlans following the offline allocation rules (docs/architecture.md, Contracts) (devices in file
// order, links in file order, a link's first end takes the lower /31 address, loopbacks from the
// first host address). Used only until the intent pipeline (src/intent) is available.
import type { DevicePlan, FabricSettings, Platform, PhysicalRole, RoutingRole, Feature } from '../../src/domain/types';

export interface HandDevice { name: string; physicalRole: PhysicalRole; roles: RoutingRole[]; profile: string }
export interface HandFabric {
  platform: Platform;
  devices: HandDevice[];
  links: [string, string][];
  overlayAsn?: number;
  settings?: Partial<FabricSettings>;
}

function ip(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
const LO = (10 << 24) | (255 << 16);
const P2P = (10 << 24) | (254 << 16);

export function handPlans(f: HandFabric): DevicePlan[] {
  const settings: FabricSettings = { mtu: 9216, bfd: { intervalMs: 300, multiplier: 3 }, gracefulRestart: true, ntp: [], syslog: [], dns: [], ...f.settings };
  const lo = new Map<string, string>();
  const asn = new Map<string, number>();
  f.devices.forEach((d, i) => { lo.set(d.name, ip(LO + 1 + i)); asn.set(d.name, 64601 + i); });
  const rrs = f.devices.filter((d) => d.roles.includes('Route-Reflector')).map((d) => d.name);
  const plans = new Map<string, DevicePlan>();
  for (const d of f.devices) {
    const features: Feature[] = ['basic', 'ip_clos'];
    if (f.overlayAsn && d.roles.length) features.push('overlay_bgp');
    if (f.overlayAsn && d.roles.includes('CRB-Access')) features.push('overlay_evpn');
    const isRr = rrs.includes(d.name);
    plans.set(d.name, {
      name: d.name, hostname: d.name, platform: f.platform, profile: d.profile, physicalRole: d.physicalRole,
      roles: d.roles, features, loopback: lo.get(d.name)!, routerId: lo.get(d.name)!, asn: asn.get(d.name)!,
      settings, interfaces: [], underlay: { neighbors: [], exportLoopback: `${lo.get(d.name)}/32` },
      overlay: f.overlayAsn && d.roles.length ? {
        asn: f.overlayAsn, localAddress: lo.get(d.name)!, routeReflector: isRr, clusterId: isRr ? lo.get(rrs[0]) : undefined,
        neighbors: (isRr ? f.devices.filter((o) => o.name !== d.name && o.roles.length) : f.devices.filter((o) => rrs.includes(o.name) && o.name !== d.name))
          .map((o) => ({ address: lo.get(o.name)!, device: o.name, client: isRr && !rrs.includes(o.name) })),
        vtepSource: lo.get(d.name)!, routeDistinguisher: `${lo.get(d.name)}:1`,
      } : undefined,
      virtualNetworks: [], logicalRouters: [], vpgs: [],
    });
  }
  f.links.forEach(([a, b], i) => {
    const [ad, ap] = a.split(':');
    const [bd, bp] = b.split(':');
    const base = P2P + 2 * i;
    const A = plans.get(ad)!;
    const B = plans.get(bd)!;
    A.interfaces.push({ name: ap, address: `${ip(base)}/31`, mtu: settings.mtu, description: `to ${bd}:${bp}`, peer: { device: bd, port: bp } });
    B.interfaces.push({ name: bp, address: `${ip(base + 1)}/31`, mtu: settings.mtu, description: `to ${ad}:${ap}`, peer: { device: ad, port: ap } });
    A.underlay.neighbors.push({ address: ip(base + 1), localAddress: ip(base), peerAsn: B.asn, peerDevice: bd, interface: ap, bfd: true });
    B.underlay.neighbors.push({ address: ip(base), localAddress: ip(base + 1), peerAsn: A.asn, peerDevice: ad, interface: bp, bfd: true });
  });
  return [...plans.values()];
}
