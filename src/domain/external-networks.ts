// External networks (issue 16, DC gateway to the outside): a tenant logical router connected to
// an outside router through the fabric's DC gateways. The schema (schema.ts, ExternalNetwork)
// checks forms and ranges; this file checks what needs the rest of the fabric: the logical
// router and its networks, the gateway devices (DC-Gateway role) and their ports (valid for the
// profile, not a fabric link, server NIC or VPG port, used once), the link addressing (peer in
// the gateway's subnet, not the fabric's pools or a tenant subnet), the peer AS (not the
// fabric's own). Every problem is one line starting with where it is. Pure.
import { FabricError } from './errors';
import { contains, parseCidr, parseIp, type Cidr } from './ipv4';
import { describePorts, portValid, profileNamed, type ProfileSet } from './profiles';
import type { ExternalNetworkSpec, FabricFile } from './types';

export const DC_GATEWAY_ROLE = 'DC-Gateway';
/** ASNs never peered with (RFC 7300, RFC 6793: AS_TRANS, 65535). */
const RESERVED = new Set([23456, 65535]);

/** Normalises one schema-checked item (a copy with the optional lists as given). */
export function toExternalNetwork(o: Record<string, unknown>): ExternalNetworkSpec {
  return structuredClone(o) as unknown as ExternalNetworkSpec;
}

/** External networks that use a logical router (deleting the router is refused while any does). */
export function routerExternals(file: { externalNetworks?: ExternalNetworkSpec[] }, lr: string): string[] {
  return (file.externalNetworks ?? []).filter((e) => e.logicalRouter === lr).map((e) => e.name);
}

/** `a.b.c.d/len` with host bits (an interface address) -> its subnet. */
export function ifaceNet(text: string): Cidr | undefined {
  const [a, l] = text.split('/');
  const ip = parseIp(a);
  if (ip === undefined || !/^(3[0-2]|[12]?\d)$/.test(l ?? '')) return undefined;
  const size = 2 ** (32 - Number(l));
  return { base: ip - (ip % size), prefix: Number(l), size };
}

export function collectExternalErrors(file: FabricFile, profiles: ProfileSet): FabricError[] {
  const errs: FabricError[] = [];
  const list = file.externalNetworks ?? [];
  if (list.length === 0) return errs;
  const add = (path: string, where: string, what: string) => errs.push(new FabricError(path, `${where}: ${what}`));
  const devByName = new Map(file.devices.map((d) => [d.name, d]));
  const lrByName = new Map((file.logicalRouters ?? []).map((l) => [l.name, l]));
  const vnByName = new Map((file.virtualNetworks ?? []).map((v) => [v.name, v]));
  const ns = file.fabric.namespaces;
  // Ports something else already uses on a device: fabric links, server NICs, VPG ports.
  const taken = new Map<string, string>();
  file.links.forEach((l, i) => { for (const e of [l.a, l.b]) taken.set(`${e.device}:${e.port}`, `a fabric link port, links[${i}]`); });
  for (const s of file.servers ?? []) for (const n of s.nics) if (!taken.has(`${n.device}:${n.port}`)) taken.set(`${n.device}:${n.port}`, `a NIC of server ${s.name}`);
  for (const v of file.vpgs ?? []) for (const p of v.ports) if (!taken.has(`${p.device}:${p.port}`)) taken.set(`${p.device}:${p.port}`, `in VPG ${v.name}`);
  // Address space the outside links and imported prefixes may not overlap.
  const blocks: { c: Cidr; what: string }[] = [];
  const block = (text: string | undefined, what: string) => { if (!text) return; const r = parseCidr(text); if (r.ok) blocks.push({ c: r.cidr, what }); };
  ns.management.forEach((m, i) => block(m.cidr, `fabric.namespaces.management[${i}] ${m.cidr}`));
  ns.loopback.forEach((t, i) => block(t, `fabric.namespaces.loopback[${i}] ${t}`));
  ns.fabric.forEach((t, i) => block(t, `fabric.namespaces.fabric[${i}] ${t}`));
  (file.virtualNetworks ?? []).forEach((v, i) => block(v.subnet, `virtualNetworks[${i}] (${v.name}) ${v.subnet}`));
  const overlaps = (a: Cidr, b: Cidr) => a.base < b.base + b.size && b.base < a.base + a.size;
  const clash = (c: Cidr) => blocks.find((b) => overlaps(b.c, c));

  const names = new Map<string, number>();
  const linkNets: { c: Cidr; what: string }[] = [];
  list.forEach((x, i) => {
    const p = `externalNetworks[${i}]`;
    const w = `externalNetworks[${i}] (${x.name})`;
    if (names.has(x.name)) add(`${p}.name`, `${w}.name`, `duplicate external network name "${x.name}" (also externalNetworks[${names.get(x.name)}])`);
    else names.set(x.name, i);
    const lr = lrByName.get(x.logicalRouter);
    if (!lr) add(`${p}.logicalRouter`, `${w}.logicalRouter`, `unknown logical router "${x.logicalRouter}"`);

    // the outside AS: not one the fabric uses itself
    if (RESERVED.has(x.peerAsn)) add(`${p}.peerAsn`, `${w}.peerAsn`, `${x.peerAsn} is a reserved ASN`);
    else if (ns.overlayAsn === x.peerAsn) add(`${p}.peerAsn`, `${w}.peerAsn`, `${x.peerAsn} is the fabric's overlay AS (the outside router needs its own AS for EBGP)`);
    else {
      const r = ns.asn.findIndex((a) => x.peerAsn >= a.min && x.peerAsn <= a.max);
      if (r >= 0) add(`${p}.peerAsn`, `${w}.peerAsn`, `${x.peerAsn} lies inside fabric.namespaces.asn[${r}] ${ns.asn[r].min}..${ns.asn[r].max} (the fabric's own ASNs)`);
    }

    // what comes in: prefixes or a default route, never a fabric or tenant block
    if ((x.import ?? []).length === 0 && x.defaultRoute !== true) {
      add(`${p}.import`, `${w}.import`, 'empty: give the outside prefixes to import or defaultRoute: true (nothing would reach the tenant)');
    }
    (x.import ?? []).forEach((t, j) => {
      const r = parseCidr(t);
      if (!r.ok) { add(`${p}.import[${j}]`, `${w}.import[${j}]`, `"${t}" ${r.reason}`); return; }
      if (r.cidr.prefix === 0) { add(`${p}.import[${j}]`, `${w}.import[${j}]`, '0.0.0.0/0 is the default route: use defaultRoute: true'); return; }
      const c = clash(r.cidr);
      if (c) add(`${p}.import[${j}]`, `${w}.import[${j}]`, `${t} overlaps ${c.what} (the fabric's own space is never learned from outside)`);
    });

    // what goes out: networks of this logical router
    const seenExport = new Set<string>();
    (x.export ?? []).forEach((n, j) => {
      if (!vnByName.has(n)) { add(`${p}.export[${j}]`, `${w}.export[${j}]`, `unknown virtual network "${n}"`); return; }
      if (seenExport.has(n)) { add(`${p}.export[${j}]`, `${w}.export[${j}]`, `network "${n}" listed twice`); return; }
      seenExport.add(n);
      if (lr && !lr.networks.includes(n)) add(`${p}.export[${j}]`, `${w}.export[${j}]`, `network "${n}" is not in logical router ${lr.name} (its networks: ${lr.networks.join(', ') || 'none'})`);
    });

    // the gateways: DC-Gateway devices, a free valid port each, one /n link each
    const gwDevices = new Map<string, number>();
    x.gateways.forEach((g, j) => {
      const gp = `${p}.gateways[${j}]`;
      const gw = `${w}.gateways[${j}]`;
      const d = devByName.get(g.device);
      if (!d) { add(`${gp}.device`, `${gw}.device`, `unknown device "${g.device}"`); return; }
      if (!d.roles.includes(DC_GATEWAY_ROLE)) { add(`${gp}.device`, `${gw}.device`, `${g.device} has no ${DC_GATEWAY_ROLE} role (roles: ${d.roles.join(', ') || 'none'})`); return; }
      if (gwDevices.has(g.device)) { add(`${gp}.device`, `${gw}.device`, `${g.device} is listed twice (also gateways[${gwDevices.get(g.device)}])`); return; }
      gwDevices.set(g.device, j);
      const prof = profileNamed(profiles, d.profile);
      if (prof && !portValid(prof, g.port)) { add(`${gp}.port`, `${gw}.port`, `"${g.port}" is not a valid port for ${g.device} (${prof.name}: ${describePorts(prof)})`); return; }
      const key = `${g.device}:${g.port}`;
      const other = taken.get(key);
      if (other !== undefined) { add(`${gp}.port`, `${gw}.port`, `port ${key} is already used (${other})`); return; }
      taken.set(key, `the gateway port of ${p} (${x.name})`);
      const net = ifaceNet(g.address);
      if (!net) { add(`${gp}.address`, `${gw}.address`, `"${g.address}" is not an address with prefix length (a.b.c.d/len)`); return; }
      if (net.prefix < 8 || net.prefix > 31) { add(`${gp}.address`, `${gw}.address`, `${g.address}: a point-to-point link to the outside router is /8../31`); return; }
      const own = parseIp(g.address.split('/')[0])!;
      const peer = parseIp(g.peer);
      if (peer === undefined) { add(`${gp}.peer`, `${gw}.peer`, `"${g.peer}" is not an IPv4 address`); return; }
      if (net.prefix < 31 && (own === net.base || own === net.base + net.size - 1)) {
        add(`${gp}.address`, `${gw}.address`, `${g.address} is the ${own === net.base ? 'network' : 'broadcast'} address of its subnet`);
        return;
      }
      if (!contains(net, peer)) { add(`${gp}.peer`, `${gw}.peer`, `${g.peer} is outside the gateway's subnet ${g.address}`); return; }
      if (peer === own) { add(`${gp}.peer`, `${gw}.peer`, `${g.peer} is the gateway's own address`); return; }
      if (net.prefix < 31 && (peer === net.base || peer === net.base + net.size - 1)) { add(`${gp}.peer`, `${gw}.peer`, `${g.peer} is the ${peer === net.base ? 'network' : 'broadcast'} address of ${g.address}`); return; }
      const c = clash(net) ?? linkNets.find((b) => overlaps(b.c, net));
      if (c) { add(`${gp}.address`, `${gw}.address`, `${g.address} overlaps ${c.what}`); return; }
      linkNets.push({ c: net, what: `${gp} ${g.address}` });
    });
  });
  return errs;
}
