// Overlay services -> per-device plan fields (virtualNetworks, logicalRouters, vpgs).
// Pure and deterministic: everything derives from the (validated) fabric file, the plans'
// loopbacks and the file order. Names: the platform's LAG name per VPG in file order on each
// device (facts.lag: ae0.. on junos, bond1.. on frr); VLANs: a VN's device-local VLAN is its lowest tagged binding
// VLAN on that device when free, else a pool slot derived from its VNI (3000 + VNI mod 1095,
// the next free one up on a clash), so adding or deleting another network leaves it alone.
import { createHash } from 'node:crypto';
import { FabricError } from '../domain/errors';
import { formatIp, parseCidr, parseIp } from '../domain/ipv4';
import { isUntagged } from '../domain/services';
import { compileExternal, gatewayRouters } from './external';
import { compileSecurity } from './security';
import { allocateEsis } from './allocate';
import {
  DevicePlan, FabricFile, PlanIrb, PlanLogicalRouter, PlanVirtualNetwork, PlanVpg, PlatformFacts, VirtualNetworkSpec,
} from '../domain/types';

/** The anycast / virtual gateway MAC (VRRP's IANA range, as Junos and Cumulus examples use). */
export const ANYCAST_MAC = '00:00:5e:00:01:01';
export const VLAN_POOL_START = 3000;
export const VLAN_POOL_END = 4094;
/** RD assigned numbers: <loopback>:<RD_BASE + local VLAN> (":1" stays the default switch's). */
export const RD_BASE = 10000;

/**
 * The fabric's ESI prefix: type 0, then 7 bytes from the fabric name, so every ESI of a fabric
 * has the same first 8 bytes (and one ES-import route target, which RFC 7432 7.6 derives from
 * the ESI's high-order bytes) and segments differ only in bytes 9-10, as Juniper's EVPN LAG
 * guide asks.
 */
export function esiPrefixOf(fabric: string): string[] {
  const h = createHash('sha256').update(`esi/${fabric}`).digest();
  return ['00', ...[...h.subarray(0, 7)].map((b) => b.toString(16).padStart(2, '0'))];
}

/** Type-0 ESI of segment `index` (1..65535) of a fabric: the same on every leaf of the VPG. */
export function esiOf(fabric: string, index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > 0xffff) throw new FabricError('vpgs', `ESI index ${index} is outside 1..65535`);
  return [...esiPrefixOf(fabric), (index >> 8).toString(16).padStart(2, '0'), (index & 0xff).toString(16).padStart(2, '0')].join(':');
}

/** LACP system id (locally administered unicast MAC) from an ESI's last five bytes. */
export function lacpSystemIdOf(esi: string): string {
  return ['02', ...esi.split(':').slice(5)].join(':');
}

/** FRR local ES id 1..16777215 from an ESI's last three bytes (with es-sys-mac it names the ES; unique per fabric since bytes 1-8 are). */
export function esIdOf(esi: string): number {
  const b = esi.split(':').slice(7).map((x) => parseInt(x, 16));
  return ((b[0] << 16) | (b[1] << 8) | b[2]) || 1;
}

export function routeTargetOf(asn: number, vni: number): string {
  return `target:${asn}:${vni}`;
}

function gatewayCidr(vn: VirtualNetworkSpec): { gw: string; len: number; base: number; size: number } {
  const r = parseCidr(vn.subnet);
  if (!r.ok || vn.gateway === undefined) throw new FabricError('virtualNetworks', `virtualNetworks (${vn.name}): a routed network needs a subnet and a gateway`);
  return { gw: vn.gateway, len: r.cidr.prefix, base: r.cidr.base, size: r.cidr.size };
}

/**
 * Fills `virtualNetworks`, `logicalRouters` and `vpgs` of each plan (plans are the compiler's
 * fresh objects; nothing else is touched). Expects a validated file. `factsOf` gives a device's
 * platform facts (its profile's, src/domain/platforms.ts).
 */
export function compileServices(file: FabricFile, plans: DevicePlan[], factsOf: (plan: DevicePlan) => PlatformFacts,
  storedEsis: Record<string, number> = {}): DevicePlan[] {
  const vns = file.virtualNetworks ?? [];
  const lrs = file.logicalRouters ?? [];
  const vpgs = file.vpgs ?? [];
  if (vns.length === 0 && lrs.length === 0 && vpgs.length === 0) return plans;
  const asn = file.fabric.namespaces.overlayAsn;
  if (asn === undefined) throw new FabricError('fabric.namespaces.overlayAsn', 'fabric.namespaces.overlayAsn: missing: virtual networks need the overlay ASN');
  // The store's indexes; a VPG it has not seen yet gets the one the store would hand out next.
  const esiIndex = allocateEsis(file, storedEsis);
  const vnByName = new Map(vns.map((v) => [v.name, v]));
  const lrOf = new Map<string, (typeof lrs)[number]>();
  for (const lr of lrs) for (const n of lr.networks) lrOf.set(n, lr);
  const roles = new Map(file.devices.map((d) => [d.name, d.roles]));
  // CRB gateways in file order: each takes a distinct host address from the top of a subnet.
  const crbGateways = file.devices.filter((d) => d.roles.includes('CRB-Gateway')).map((d) => d.name);

  for (const plan of plans) {
    const dev = plan.name;
    const devRoles = roles.get(dev) ?? [];
    const lag = factsOf(plan).lag;
    // 1. this device's VPGs (file order), their ports and lag names
    const localVpgs: { spec: (typeof vpgs)[number]; ports: string[]; multi: boolean }[] = [];
    for (const v of vpgs) {
      const ports = v.ports.filter((p) => p.device === dev).map((p) => p.port);
      if (ports.length === 0) continue;
      const multi = new Set(v.ports.map((p) => p.device)).size > 1;
      localVpgs.push({ spec: v, ports, multi });
    }
    // 2. LRs here: crb on CRB-Gateway, erb on ERB-UCAST-Gateway (only with an overlay)
    //    and on a DC gateway the LRs of its external networks (VRF and L3VNI only: no IRBs)
    const routes = (lr: (typeof lrs)[number]) => devRoles.includes(lr.mode === 'crb' ? 'CRB-Gateway' : 'ERB-UCAST-Gateway');
    const outside = gatewayRouters(file, dev);
    const localLrs = plan.overlay ? lrs.filter((lr) => routes(lr) || outside.has(lr.name)) : [];
    // 3. VNs here: bound on a local VPG, or routed by a local LR; in VN file order
    const here = new Set<string>();
    for (const lv of localVpgs) for (const b of lv.spec.bindings) here.add(b.network);
    for (const lr of localLrs) if (routes(lr)) for (const n of lr.networks) here.add(n);
    const localVns = vns.filter((v) => here.has(v.name));
    // 4. device-local VLANs
    const tagged = new Set<number>();
    for (const lv of localVpgs) for (const b of lv.spec.bindings) if (!isUntagged(b)) tagged.add(b.vlan);
    const taken = new Set<number>();
    const vlanOf = new Map<string, number>();
    // The slot comes from the VNI, not from the order of the networks: a network's VLAN moves
    // only when another one's VNI lands on the same slot (or a tagged binding takes it).
    const size = VLAN_POOL_END - VLAN_POOL_START + 1;
    const pool = (vni: number): number => {
      for (let i = 0; i < size; i++) {
        const id = VLAN_POOL_START + ((vni + i) % size);
        if (!taken.has(id) && !tagged.has(id)) { taken.add(id); return id; }
      }
      throw new FabricError('vpgs', `device ${dev}: no free VLAN id left in ${VLAN_POOL_START}..${VLAN_POOL_END}`);
    };
    for (const vn of localVns) {
      const mine: number[] = [];
      for (const lv of localVpgs) {
        for (const b of lv.spec.bindings) if (b.network === vn.name && !isUntagged(b)) mine.push(b.vlan);
      }
      const pick = mine.sort((a, b) => a - b).find((x) => !taken.has(x));
      if (pick !== undefined) { taken.add(pick); vlanOf.set(vn.name, pick); }
    }
    // by VNI, so a clash resolves the same way whatever the file order
    for (const vn of [...localVns].sort((x, y) => x.vni - y.vni)) if (!vlanOf.has(vn.name)) vlanOf.set(vn.name, pool(vn.vni));

    // 5. VPG plans
    const planVpgs: PlanVpg[] = [];
    let lagNo = 0;
    for (const lv of localVpgs) {
      const v = lv.spec;
      const pv: PlanVpg = {
        name: v.name, interface: lv.ports[0], ports: lv.ports,
        bindings: v.bindings.map((b) => {
          const vni = vnByName.get(b.network)!.vni;
          return isUntagged(b)
            ? { network: b.network, vni, untagged: true, localVlan: vlanOf.get(b.network)! }
            : { network: b.network, vni, vlan: b.vlan, untagged: false, localVlan: vlanOf.get(b.network)! };
        }),
      };
      if (v.server !== undefined) pv.server = v.server;
      if (lv.multi || lv.ports.length > 1) {
        pv.lag = `${lag.prefix}${lag.first + lagNo}`;
        lagNo++;
        pv.interface = pv.lag;
      }
      if (lv.multi) {
        pv.esiIndex = esiIndex[v.name];
        pv.esi = esiOf(file.fabric.name, pv.esiIndex);
        pv.lacpSystemId = lacpSystemIdOf(pv.esi);
        pv.esId = esIdOf(pv.esi);
        // The VPG's first device (port order) is the preferred designated forwarder.
        pv.esDfPref = 50000 - 100 * [...new Set(v.ports.map((p) => p.device))].indexOf(dev);
      }
      planVpgs.push(pv);
    }

    // 6. VN plans
    const planVns: PlanVirtualNetwork[] = localVns.map((vn) => {
      const vlan = vlanOf.get(vn.name)!;
      const pvn: PlanVirtualNetwork = {
        name: vn.name, vni: vn.vni, vlan,
        routeTarget: routeTargetOf(asn, vn.vni),
        rd: `${plan.loopback}:${RD_BASE + vlan}`,
        members: [],
      };
      if (vn.subnet !== undefined) pvn.subnet = vn.subnet;
      if (vn.gateway !== undefined) pvn.gateway = vn.gateway;
      for (const pv of planVpgs) {
        for (const b of pv.bindings) {
          if (b.network !== vn.name) continue;
          pvn.members.push(b.untagged
            ? { interface: pv.interface, vpg: pv.name, untagged: true }
            : { interface: pv.interface, vpg: pv.name, vlan: b.vlan, untagged: false });
        }
      }
      const lr = lrOf.get(vn.name);
      if (lr && localLrs.includes(lr)) pvn.router = lr.name;
      return pvn;
    });

    // 7. LR plans (their L3 VLAN comes after the VNs' so VN VLANs stay put)
    const planLrs: PlanLogicalRouter[] = localLrs.map((lr) => {
      const l3vlan = pool(lr.vni);
      const routed = routes(lr) ? lr.networks : [];
      const irbs: PlanIrb[] = routed.map((n) => {
        const vn = vnByName.get(n)!;
        const g = gatewayCidr(vn);
        let address = `${g.gw}/${g.len}`;
        if (lr.mode === 'crb') {
          // distinct per gateway: from the top of the subnet down, skipping the gateway itself
          const gwN = parseIp(g.gw)!;
          let host = g.base + g.size - 2;
          for (let k = 0; ; host--) {
            if (host === gwN) continue;
            if (k++ === crbGateways.indexOf(dev) || host <= g.base) break;
          }
          if (host <= g.base) throw new FabricError('virtualNetworks', `virtualNetworks (${vn.name}): ${vn.subnet} has no host address left for CRB gateway ${dev}`);
          address = `${formatIp(host)}/${g.len}`;
        }
        return { network: n, vni: vn.vni, vlan: vlanOf.get(n)!, address, gateway: `${g.gw}/${g.len}`, mac: ANYCAST_MAC };
      });
      return {
        name: lr.name, mode: lr.mode, vrf: lr.name, l3vni: lr.vni, l3vlan,
        routeTarget: routeTargetOf(asn, lr.vni), rd: `${plan.loopback}:${RD_BASE + l3vlan}`,
        networks: routed.slice(), irbs,
      };
    });

    compileSecurity(file, planVpgs);
    plan.virtualNetworks = planVns;
    plan.logicalRouters = planLrs;
    plan.vpgs = planVpgs;
    const ext = plan.overlay ? compileExternal(file, dev) : [];
    if (ext.length) plan.externalNetworks = ext;
    // IGMP snooping on an ERB leaf's networks where its model supports it
    if (devRoles.includes('ERB-UCAST-Gateway') && factsOf(plan).igmpSnooping) for (const v of planVns) v.igmpSnooping = true;
  }
  return plans;
}
