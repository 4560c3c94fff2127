// The rule check's view of a rendered FRR device (<device>.frr.conf and <device>.interfaces,
// ifupdown2 syntax): what the rules of src/platforms/rules.ts read. Pure.
import type { DevicePlan } from '../../domain/types';
import type { ConfigFacts } from '../types';

const all = (re: RegExp, s: string): RegExpMatchArray[] => [...s.matchAll(re)];

/** `iface NAME` stanzas of an interfaces file: name -> its indented lines. */
function stanzas(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of all(/^iface (\S+)\n((?:[ \t]+.*\n?)*)/gm, text)) out.set(m[1], m[2]);
  return out;
}

export function frrConfigFacts(plan: DevicePlan, files: Record<string, string>): ConfigFacts {
  const conf = files[`${plan.name}.frr.conf`] ?? '';
  const ifaces = stanzas(files[`${plan.name}.interfaces`] ?? '');
  // An FRR Ethernet segment is named by es-id together with es-sys-mac (type-3 ESI).
  const esis = all(/^interface (\S+)\n((?: .*\n)*?)exit/gm, conf).flatMap((m) => {
    const id = /evpn mh es-id (\S+)/.exec(m[2])?.[1];
    const mac = /evpn mh es-sys-mac (\S+)/.exec(m[2])?.[1];
    return id === undefined && mac === undefined ? [] : [{ interface: m[1], aggregate: /^bond\d+$/.test(m[1]), esi: `es-id ${id} es-sys-mac ${mac}` }];
  });
  const vnisInUse = [...ifaces.values()].flatMap((b) => all(/vxlan-id (\d+)/g, b).map((x) => Number(x[1])));
  const evpnVnis = /^ +advertise-all-vni$/m.test(conf) ? 'all' as const : all(/^ +vni (\d+)$/gm, conf).map((x) => Number(x[1]));
  const routeDistinguishers = all(/^ +rd (\S+)$/gm, conf).map((x) => x[1]);
  // FRR's IRB is the VN's bridge (br<vni>) with an address, enslaved to the VRF.
  const vrfIrbs = plan.logicalRouters.flatMap((lr) => lr.irbs.map((irb) => {
    const b = ifaces.get(`br${irb.vni}`);
    return { vrf: lr.vrf, irb: `br${irb.vni}`, exists: b !== undefined && new RegExp(`^\\s+vrf ${lr.vrf}$`, 'm').test(b) && /^\s+address /m.test(b) };
  }));
  const bfdIntervalsMs = all(/^ +(?:receive|transmit)-interval (\d+)$/gm, conf).map((x) => Number(x[1]));
  // graceful restart with BFD and overlay multipath are Junos rules from Juniper's documents
  // (docs/vendor-rules.md, rules 3 and 5); FRR's templates keep GR beside BFD, so not checked here.
  const block = (name: string) => new RegExp(`^interface ${name.replace(/[.]/g, '\\.')}\n((?: .*\n)*?)exit`, 'm').exec(conf)?.[1] ?? '';
  const frr: NonNullable<ConfigFacts['frr']> = {
    fabricMtus: plan.interfaces.map((i) => {
      const m = /^\s+mtu (\d+)$/m.exec(ifaces.get(i.name) ?? '');
      return m ? { port: i.name, mtu: Number(m[1]) } : { port: i.name };
    }),
    // L2VNIs only (the plan's networks): an L3VNI's VXLAN port carries no hosts to answer for
    l2vnis: (plan.virtualNetworks ?? []).map((v) => `vxlan${v.vni}`).filter((n) => ifaces.has(n))
      .map((n) => ({ interface: n, arpNdSuppress: /^\s+bridge-arp-nd-suppress (on|yes)$/m.test(ifaces.get(n)!) })),
    // (an ESI off a bond is esi-on-aggregate's finding)
    esBonds: esis.filter((e) => e.aggregate).map((e) => ({
      interface: e.interface,
      esSysMac: /evpn mh es-sys-mac (\S+)/.exec(block(e.interface))?.[1],
      lacpActor: /^\s+es-sys-mac (\S+)$/m.exec(ifaces.get(e.interface) ?? '')?.[1],
    })),
    uplinks: plan.interfaces.map((i) => ({ port: i.name, tracked: /^ evpn mh uplink$/m.test(block(i.name)) })),
    unfilteredUnderlay: plan.underlay.neighbors.map((n) => n.address)
      .filter((a) => !new RegExp(`^  neighbor ${a.replace(/[.]/g, '\\.')} filter-list UNDERLAY-OUT out$`, 'm').test(conf)),
  };
  return { esis, vnisInUse, evpnVnis, routeDistinguishers, vrfIrbs, bfdIntervalsMs, frr };
}
