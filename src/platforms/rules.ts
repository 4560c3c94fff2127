// The rule check over rendered configurations (issue 14): what no schema catches, read from the
// files renderDevice produced (through each platform's configFacts) plus the DevicePlans where
// a rule spans devices. Pure. Run by test/golden/rules-golden.test.ts on every golden case and
// by `fabric render` before it writes. The rules and their sources: docs/vendor-rules.md.
import { factsOf } from '../domain/platforms';
import { loadPlatforms, loadProfiles, profileNamed } from '../domain/profiles';
import type { DevicePlan, PlatformFacts } from '../domain/types';
import { findPlatform } from './registry';
import type { ConfigFacts } from './types';

export interface RuleFinding { rule: string; device: string; message: string }
export interface Rule { id: string; reason: string; source: string }

export const RULES: readonly Rule[] = [
  { id: 'esi-on-aggregate', reason: 'an ESI names a multihomed LAG; on a member or single port it is refused or splits the segment',
    source: 'Juniper "EVPN Multihoming Overview" (ESI on aggregated Ethernet interfaces); FRR "EVPN multihoming" (es-id on a bond)' },
  { id: 'esi-same-on-legs', reason: 'every leaf of one Ethernet segment must announce the same ESI, or the server sees two segments',
    source: 'RFC 7432 section 5; Juniper "EVPN Multihoming Overview"' },
  { id: 'esi-fabric-prefix', reason: 'a fabric\'s type-0 ESIs share their first 8 bytes and differ in bytes 9-10, one per segment: the ES-import route target derives from the high-order bytes, and releases differ in how they handle many of them',
    source: 'Juniper "EVPN LAG multihoming" guide (ESI assignment); RFC 7432 section 7.6 (ES-Import route target from the ESI)' },
  { id: 'vni-in-evpn', reason: 'a VNI bound to a VLAN but not in the EVPN list is never advertised (no type-2/3 routes)',
    source: 'Juniper "extended-vni-list"/"vni-options" (EVPN-VXLAN); FRR "EVPN: advertise-all-vni"' },
  { id: 'rd-unique', reason: 'two instances with one RD make their routes collide in the RRs and one is lost',
    source: 'RFC 7432 section 7.9; Juniper EVPN-VXLAN ERB/CRB reference configs (RD = loopback:n)' },
  { id: 'vrf-irb-exists', reason: 'a VRF naming an IRB the device lacks fails commit (Junos) or routes nothing (FRR)',
    source: 'Juniper "Understanding EVPN with VXLAN: IRB"; FRR "EVPN symmetric routing" (SVI in the VRF)' },
  { id: 'bfd-floor', reason: 'a BFD interval under the model\'s floor flaps or is refused (fact bfdMinIntervalMs)',
    source: 'Juniper BGP User Guide, "BFD for BGP Sessions" (QFX5000: no intervals under 1 s)' },
  { id: 'no-gr-with-bfd', reason: 'BGP graceful restart with BFD: BFD drops the session, GR keeps forwarding on stale routes',
    source: 'Juniper "BFD for BGP Sessions" note; "Configuring Graceful Restart for Routing Protocols"' },
  { id: 'overlay-multipath', reason: 'without multipath an EVPN route to a multihomed segment keeps one VTEP only',
    source: 'Juniper EVPN-VXLAN ERB/CRB reference configs (multipath in the internal overlay group)' },
  { id: 'fabric-mtu', reason: 'frr.conf has no MTU: without the netdev setting a fabric port stays at 1500 and full-size frames across VXLAN are lost',
    source: 'the plan (settings.mtu); NVIDIA Cumulus "Interface Configuration" (mtu in /etc/network/interfaces)' },
  { id: 'arp-nd-suppress', reason: 'without it every ARP/ND is flooded to all VTEPs instead of answered from EVPN type-2 bindings',
    source: 'NVIDIA Cumulus "EVPN ARP and ND Suppression"; FRR "EVPN" (neigh_suppress on the VXLAN bridge port)' },
  { id: 'es-lacp-actor', reason: 'each leg of an Ethernet segment must present the segment\'s es-sys-mac as its LACP system, or the server sees two partners and uses one link',
    source: 'FRR "EVPN multihoming"; NVIDIA Cumulus "EVPN Multihoming" (es-sys-mac)' },
  { id: 'es-uplink-tracking', reason: 'a multihomed leaf that loses all uplinks keeps its ES bonds up and black-holes the server\'s traffic unless its fabric ports are tracked',
    source: 'FRR "EVPN multihoming: uplink/core tracking" (evpn mh uplink)' },
  { id: 'leaf-no-transit', reason: 'a leaf passing other leaves\' routes between spines makes spines try valley paths to a VTEP before withdrawing it',
    source: 'RFC 7938 section 5.2.1 (valley-free paths); issue 14 item 13' },
];

export interface RenderedPlan { plan: DevicePlan; files: Record<string, string> }

let defaultFacts: ((p: DevicePlan) => PlatformFacts) | undefined;
/** A plan's platform facts from the shipped node profiles (loaded once). */
function shippedFacts(p: DevicePlan): PlatformFacts {
  if (!defaultFacts) {
    const profiles = loadProfiles();
    const platforms = loadPlatforms();
    defaultFacts = (q) => {
      const prof = profileNamed(profiles, q.profile);
      if (!prof) throw new Error(`device ${q.name}: unknown node profile ${q.profile}`);
      return factsOf(prof, platforms);
    };
  }
  return defaultFacts(p);
}

/** Every broken rule over a rendered fabric; empty when clean. */
export function checkRenderedFabric(devices: RenderedPlan[], facts: (p: DevicePlan) => PlatformFacts = shippedFacts): RuleFinding[] {
  const out: RuleFinding[] = [];
  const seen = new Map<string, ConfigFacts>();
  const rds = new Map<string, string>();
  for (const { plan, files } of devices) {
    const cf = findPlatform(plan.platform)?.configFacts?.(plan, files);
    if (!cf) continue;
    seen.set(plan.name, cf);
    const f = (rule: string, message: string): void => { out.push({ rule, device: plan.name, message }); };
    for (const e of cf.esis) if (!e.aggregate) f('esi-on-aggregate', `ESI ${e.esi} on ${e.interface}, not an aggregate interface`);
    const evpn = cf.evpnVnis;
    for (const v of new Set(cf.vnisInUse)) if (evpn !== 'all' && !evpn.includes(v)) f('vni-in-evpn', `VNI ${v} is in use but not in the EVPN VNI list`);
    for (const rd of cf.routeDistinguishers) {
      const other = rds.get(rd);
      if (other !== undefined) f('rd-unique', `route distinguisher ${rd} is also used on ${other}`);
      else rds.set(rd, plan.name);
    }
    for (const i of cf.vrfIrbs) if (!i.exists) f('vrf-irb-exists', `VRF ${i.vrf} uses ${i.irb}, which this device does not define`);
    const floor = facts(plan).bfdMinIntervalMs;
    for (const ms of new Set(cf.bfdIntervalsMs)) if (ms < floor) f('bfd-floor', `BFD interval ${ms} ms is under the floor of ${plan.profile} (${floor} ms)`);
    if (cf.gracefulRestartWithBfd) f('no-gr-with-bfd', 'BGP graceful restart is configured together with BFD');
    for (const g of cf.overlayGroups ?? []) if (!g.multipath) f('overlay-multipath', `overlay BGP group ${g.name} has no multipath`);
    if (cf.frr) {
      const mtu = plan.settings.mtu;
      for (const x of cf.frr.fabricMtus) if (x.mtu !== mtu) f('fabric-mtu', `fabric port ${x.port}: MTU ${x.mtu ?? 'not rendered'}, the plan's is ${mtu}`);
      for (const x of cf.frr.l2vnis) if (!x.arpNdSuppress) f('arp-nd-suppress', `${x.interface}: ARP/ND suppression is off`);
      for (const x of cf.frr.esBonds) if (x.lacpActor === undefined || x.lacpActor !== x.esSysMac) f('es-lacp-actor', `${x.interface}: LACP actor ${x.lacpActor ?? 'not set'}, the segment's es-sys-mac is ${x.esSysMac ?? 'not set'}`);
      if (cf.esis.length) for (const x of cf.frr.uplinks) if (!x.tracked) f('es-uplink-tracking', `fabric port ${x.port} of a multihomed leaf has no evpn mh uplink`);
      if (plan.physicalRole === 'leaf') for (const a of cf.frr.unfilteredUnderlay) f('leaf-no-transit', `underlay neighbor ${a} gets this leaf's routes without the UNDERLAY-OUT filter`);
    }
  }
  // One ESI per VPG: the rendered ESI on each leg's interface, compared across devices.
  const legs = new Map<string, { device: string; esi: string | undefined }[]>();
  for (const { plan } of devices) {
    const cf = seen.get(plan.name);
    if (!cf) continue;
    for (const v of plan.vpgs) {
      if (v.esi === undefined) continue;
      const esi = cf.esis.find((e) => e.interface === v.interface)?.esi;
      let l = legs.get(v.name);
      if (!l) legs.set(v.name, (l = []));
      l.push({ device: plan.name, esi });
    }
  }
  // One fabric-wide prefix (bytes 1-8), and one ESI per segment (bytes 9-10 tell them apart).
  const typeZero = /^00(:[0-9a-f]{2}){9}$/i;
  let prefixOwner: { device: string; esi: string } | undefined;
  const segmentOf = new Map<string, string>();
  for (const [vpg, l] of legs) {
    for (const leg of l) {
      if (leg.esi === undefined || !typeZero.test(leg.esi)) continue;
      const esi = leg.esi.toLowerCase();
      if (!prefixOwner) prefixOwner = { device: leg.device, esi };
      else if (esi.slice(0, 23) !== prefixOwner.esi.slice(0, 23)) {
        out.push({ rule: 'esi-fabric-prefix', device: leg.device, message: `VPG ${vpg}: ESI ${esi} does not start with the fabric's ${prefixOwner.esi.slice(0, 23)} (as on ${prefixOwner.device})` });
      }
      const other = segmentOf.get(esi);
      if (other !== undefined && other !== vpg) out.push({ rule: 'esi-fabric-prefix', device: leg.device, message: `VPG ${vpg}: ESI ${esi} is also VPG ${other}'s` });
      else segmentOf.set(esi, vpg);
    }
  }
  for (const [vpg, l] of legs) {
    const first = l[0];
    for (const leg of l) {
      if (leg.esi === undefined) out.push({ rule: 'esi-same-on-legs', device: leg.device, message: `VPG ${vpg} is multihomed but its interface carries no ESI` });
      else if (first.esi !== undefined && leg.esi !== first.esi) out.push({ rule: 'esi-same-on-legs', device: leg.device, message: `VPG ${vpg}: ESI ${leg.esi} differs from ${first.device}'s ${first.esi}` });
    }
  }
  return out;
}

/** One line per finding, as `fabric render` prints them. */
export const formatFinding = (x: RuleFinding): string => `rule ${x.rule}: device ${x.device}: ${x.message}`;
