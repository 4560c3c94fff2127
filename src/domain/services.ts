// Overlay services of a fabric file: virtual networks (L2VNIs), logical routers (VRFs with an
// L3VNI), servers (BMS) and VPGs (a server's ports with their VLAN -> network bindings).
// parseServices normalises the four lists (the schema checked them); collectServiceErrors checks the
// cross-object rules of docs/architecture.md (Stages, Contracts). Every problem is one line starting with where it is.
// Names, VNI and VLAN ranges and MAC forms are the schema's (parse and the API bodies check them).
import { FabricError } from './errors';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { SERVICE_SCHEMAS } from './schema';
import { collectExternalErrors, toExternalNetwork } from './external-networks';
import { checkSchema } from './schema-errors';
import { contains, parseCidr, parseIp, type Cidr } from './ipv4';
import { factsOf, platformDataOf, type PlatformDataSet } from './platforms';
import { ProfileSet, loadPlatforms, portValid, describePorts, profileNamed } from './profiles';
import {
  FabricFile, LinkEnd, LogicalRouterSpec, PortProfileSpec, SecurityGroupSpec, ServerSpec, VirtualNetworkSpec, VpgBinding, VpgSpec,
} from './types';
import { collectSecurityErrors } from './security';

/** Roles whose leaves carry access ports (VPGs). */
export const ACCESS_ROLES = ['CRB-Access', 'ERB-UCAST-Gateway'];

type Obj = Record<string, unknown>;
type ServiceKey = (typeof SERVICE_SCHEMAS)[number]['key'];

// The structure (types, unknown fields, forms, ranges) is the schema's: a file was checked whole
// by parseFabricFile; an API body is checked here (all errors, worded as the file's are).
const CHECKS = new Map(SERVICE_SCHEMAS.map((k) => [k.key, TypeCompiler.Compile(k.schema)]));

/** `body` (one key) is the document the errors are ordered in; a deeper path orders by the schema. */
function check(key: ServiceKey, v: unknown, path: string): void {
  const pointer = `/${path.replace(/\[(\d+)\]/g, '.$1').split('.').join('/')}`;
  checkSchema(CHECKS.get(key)!, v, pointer, /^\w+$/.test(path) ? { [path]: v } : {});
}

/** `leaf1:swp10` or {device, port}: split at the first ':' (a device name has none). */
function end(v: unknown): Obj & LinkEnd {
  if (typeof v === 'string') {
    const c = v.indexOf(':');
    return { device: v.slice(0, c), port: v.slice(c + 1) };
  }
  return v as Obj & LinkEnd;
}

function toVirtualNetwork(o: Obj): VirtualNetworkSpec {
  const vn: VirtualNetworkSpec = { name: o.name as string, vni: o.vni as number };
  if (o.subnet !== undefined) vn.subnet = o.subnet as string;
  if (o.gateway !== undefined) vn.gateway = o.gateway as string;
  return vn;
}

function toLogicalRouter(o: Obj): LogicalRouterSpec {
  return { name: o.name as string, mode: o.mode as LogicalRouterSpec['mode'], networks: [...(o.networks as string[])], vni: o.vni as number };
}

function toServer(o: Obj): ServerSpec {
  const nics = (o.nics as unknown[]).map((n) => {
    const e = end(n);
    const nic: ServerSpec['nics'][number] = { device: e.device, port: e.port };
    if (e.mac !== undefined) nic.mac = e.mac as string;
    return nic;
  });
  return { name: o.name as string, nics };
}

function toVpg(o: Obj): VpgSpec {
  const vpg: VpgSpec = {
    name: o.name as string,
    ports: (o.ports as unknown[]).map((p) => { const e = end(p); return { device: e.device, port: e.port }; }),
    bindings: (o.bindings as Obj[]).map((b): VpgBinding => {
      const out: VpgBinding = b.untagged === true
        ? { network: b.network as string, untagged: true }
        : { network: b.network as string, vlan: b.vlan as number };
      if (b.securityGroups !== undefined) out.securityGroups = [...(b.securityGroups as string[])];
      return out;
    }),
  };
  if (o.server !== undefined) vpg.server = o.server as string;
  if (o.portProfile !== undefined) vpg.portProfile = o.portProfile as string;
  return vpg;
}

// Security groups and port profiles: the schema's shape is the normal form (a copy, no aliasing).
const toSecurityGroup = (o: Obj): SecurityGroupSpec => structuredClone(o) as SecurityGroupSpec;
const toPortProfile = (o: Obj): PortProfileSpec => structuredClone(o) as PortProfileSpec;

/** One service item (an API body): checked by its schema, then normalised; throws FabricError. */
const checked = <T>(key: ServiceKey, to: (o: Obj) => T) => (v: unknown, path: string): T => {
  check(key, v, path);
  return to(v as Obj);
};
export const parseVirtualNetwork = checked('virtualNetworks', toVirtualNetwork);
export const parseLogicalRouter = checked('logicalRouters', toLogicalRouter);
export const parseServer = checked('servers', toServer);
export const parseVpg = checked('vpgs', toVpg);
export const parseExternalNetwork = checked('externalNetworks', toExternalNetwork);
export const parseSecurityGroup = checked('securityGroups', toSecurityGroup);
export const parsePortProfile = checked('portProfiles', toPortProfile);

/** Normalises the service lists of a schema-checked fabric file in place (absent lists stay absent). */
export function parseServices(file: FabricFile): void {
  const raw = file as unknown as Obj;
  if (raw.virtualNetworks !== undefined) file.virtualNetworks = (raw.virtualNetworks as Obj[]).map(toVirtualNetwork);
  if (raw.logicalRouters !== undefined) file.logicalRouters = (raw.logicalRouters as Obj[]).map(toLogicalRouter);
  if (raw.servers !== undefined) file.servers = (raw.servers as Obj[]).map(toServer);
  if (raw.vpgs !== undefined) file.vpgs = (raw.vpgs as Obj[]).map(toVpg);
  if (raw.externalNetworks !== undefined) file.externalNetworks = (raw.externalNetworks as Obj[]).map(toExternalNetwork);
  if (raw.securityGroups !== undefined) file.securityGroups = (raw.securityGroups as Obj[]).map(toSecurityGroup);
  if (raw.portProfiles !== undefined) file.portProfiles = (raw.portProfiles as Obj[]).map(toPortProfile);
}

export const isUntagged = (b: VpgBinding): b is { network: string; untagged: true } => 'untagged' in b && b.untagged === true;

/** Every VPG binding of a network (the API refuses deleting a network while this is non-empty). */
export function networkBindings(file: FabricFile, network: string): { vpg: string; vlan?: number; untagged: boolean }[] {
  const out: { vpg: string; vlan?: number; untagged: boolean }[] = [];
  for (const v of file.vpgs ?? []) {
    for (const b of v.bindings) {
      if (b.network !== network) continue;
      out.push(isUntagged(b) ? { vpg: v.name, untagged: true } : { vpg: v.name, vlan: b.vlan, untagged: false });
    }
  }
  return out;
}

/** Logical routers that route a network. */
export function networkRouters(file: FabricFile, network: string): string[] {
  return (file.logicalRouters ?? []).filter((l) => l.networks.includes(network)).map((l) => l.name);
}

/** Every problem in the service lists, in file order. Assumes devices/links were parsed. */
export function collectServiceErrors(file: FabricFile, profiles: ProfileSet, platforms: PlatformDataSet = loadPlatforms()): FabricError[] {
  const errs: FabricError[] = [];
  const add = (path: string, where: string, what: string) => errs.push(new FabricError(path, `${where}: ${what}`));
  const vns = file.virtualNetworks ?? [];
  const lrs = file.logicalRouters ?? [];
  const servers = file.servers ?? [];
  const vpgs = file.vpgs ?? [];
  const overlayAsn = file.fabric.namespaces.overlayAsn;
  const lab = (kind: string, i: number, name: string | undefined) => (name ? `${kind}[${i}] (${name})` : `${kind}[${i}]`);
  const devByName = new Map(file.devices.map((d) => [d.name, d]));
  // Ports the fabric links use: never access ports.
  const linkPorts = new Map<string, number>();
  file.links.forEach((l, i) => { linkPorts.set(`${l.a.device}:${l.a.port}`, i); linkPorts.set(`${l.b.device}:${l.b.port}`, i); });

  if ((vns.length || lrs.length || vpgs.length || (file.externalNetworks ?? []).length) && overlayAsn === undefined) {
    add('fabric.namespaces.overlayAsn', 'fabric.namespaces.overlayAsn', 'missing: virtual networks need the overlay (iBGP EVPN) ASN for their route targets');
  }

  // ---- virtual networks
  const ns = file.fabric.namespaces;
  const pools: { c: Cidr; what: string }[] = [];
  const pool = (list: string[], kind: string) => list.forEach((t, i) => { const r = parseCidr(t); if (r.ok) pools.push({ c: r.cidr, what: `fabric.namespaces.${kind}[${i}] ${t}` }); });
  pool(ns.management.map((m) => m.cidr), 'management');
  pool(ns.loopback, 'loopback');
  pool(ns.fabric, 'fabric');
  const vnSubnets: { c: Cidr; what: string }[] = [];
  const overlaps = (a: Cidr, b: Cidr) => a.base < b.base + b.size && b.base < a.base + a.size;
  const vnIndex = new Map<string, number>();
  const vniOwner = new Map<number, string>();
  vns.forEach((vn, i) => {
    const p = `virtualNetworks[${i}]`;
    const w = lab('virtualNetworks', i, vn.name);
    if (vnIndex.has(vn.name)) add(`${p}.name`, `${w}.name`, `duplicate virtual network name "${vn.name}" (also virtualNetworks[${vnIndex.get(vn.name)}])`);
    else vnIndex.set(vn.name, i);
    if (vniOwner.has(vn.vni)) add(`${p}.vni`, `${w}.vni`, `VNI ${vn.vni} is already used by ${vniOwner.get(vn.vni)}`);
    else {
      vniOwner.set(vn.vni, p);
      if (overlayAsn !== undefined && overlayAsn > 65535 && vn.vni > 65535) {
        add(`${p}.vni`, `${w}.vni`, `${vn.vni} does not fit a route target of 4-byte overlay AS ${overlayAsn} (VNI at most 65535)`);
      }
    }
    let cidr;
    if (vn.subnet !== undefined) {
      const r = parseCidr(vn.subnet);
      if (!r.ok) add(`${p}.subnet`, `${w}.subnet`, `"${vn.subnet}" ${r.reason}`);
      else if (r.cidr.prefix > 30) add(`${p}.subnet`, `${w}.subnet`, `${vn.subnet} is too small for hosts and a gateway (at most /30)`);
      else if (r.cidr.prefix < 8) add(`${p}.subnet`, `${w}.subnet`, `${vn.subnet} is not a tenant network (at least /8)`);
      else {
        // A tenant subnet may not overlap the fabric's own pools or another network's subnet.
        const clash = pools.find((b) => overlaps(b.c, r.cidr)) ?? vnSubnets.find((b) => overlaps(b.c, r.cidr));
        if (clash) add(`${p}.subnet`, `${w}.subnet`, `${vn.subnet} overlaps ${clash.what}`);
        else { cidr = r.cidr; vnSubnets.push({ c: r.cidr, what: `${p} (${vn.name}) ${vn.subnet}` }); }
      }
    }
    if (vn.gateway !== undefined) {
      const gw = parseIp(vn.gateway);
      if (gw === undefined) add(`${p}.gateway`, `${w}.gateway`, `"${vn.gateway}" is not an IPv4 address`);
      else if (vn.subnet === undefined) add(`${p}.gateway`, `${w}.gateway`, 'a gateway needs a subnet');
      else if (cidr && !contains(cidr, gw)) add(`${p}.gateway`, `${w}.gateway`, `${vn.gateway} is outside ${vn.subnet}`);
      else if (cidr && (gw === cidr.base || gw === cidr.base + cidr.size - 1)) {
        add(`${p}.gateway`, `${w}.gateway`, `${vn.gateway} is the ${gw === cidr.base ? 'network' : 'broadcast'} address of ${vn.subnet}`);
      }
    }
  });

  // ---- logical routers
  const lrIndex = new Map<string, number>();
  const vnRouter = new Map<string, string>();
  lrs.forEach((lr, i) => {
    const p = `logicalRouters[${i}]`;
    const w = lab('logicalRouters', i, lr.name);
    if (lrIndex.has(lr.name)) add(`${p}.name`, `${w}.name`, `duplicate logical router name "${lr.name}" (also logicalRouters[${lrIndex.get(lr.name)}])`);
    else lrIndex.set(lr.name, i);
    if (vniOwner.has(lr.vni)) add(`${p}.vni`, `${w}.vni`, `VNI ${lr.vni} is already used by ${vniOwner.get(lr.vni)}`);
    else {
      vniOwner.set(lr.vni, p);
      if (overlayAsn !== undefined && overlayAsn > 65535 && lr.vni > 65535) {
        add(`${p}.vni`, `${w}.vni`, `${lr.vni} does not fit a route target of 4-byte overlay AS ${overlayAsn} (VNI at most 65535)`);
      }
    }
    const role = lr.mode === 'crb' ? 'CRB-Gateway' : 'ERB-UCAST-Gateway';
    if (!file.devices.some((d) => d.roles.includes(role))) {
      add(`${p}.mode`, `${w}.mode`, `${lr.mode} needs a device with the ${role} role (none has it)`);
    }
    const seen = new Set<string>();
    lr.networks.forEach((n, j) => {
      const np = `${p}.networks[${j}]`;
      const nw = `${w}.networks[${j}]`;
      const vi = vnIndex.get(n);
      if (vi === undefined) { add(np, nw, `unknown virtual network "${n}"`); return; }
      if (seen.has(n)) { add(np, nw, `network "${n}" listed twice`); return; }
      seen.add(n);
      const other = vnRouter.get(n);
      if (other !== undefined) { add(np, nw, `network "${n}" is already in logical router ${other} (a network joins at most one)`); return; }
      vnRouter.set(n, lr.name);
      const vn = vns[vi];
      if (vn.subnet === undefined || vn.gateway === undefined) add(np, nw, `network "${n}" needs a subnet and a gateway to be routed`);
    });
  });

  // ---- servers
  const serverIndex = new Map<string, number>();
  const nicOwner = new Map<string, string>();
  /** An access port: on a leaf with an access role, valid for its profile, not a fabric link port. */
  const accessPortProblem = (e: LinkEnd): string | undefined => {
    const d = devByName.get(e.device);
    if (!d) return `unknown device "${e.device}"`;
    if (d.physicalRole !== 'leaf') return `${e.device}:${e.port} is not a leaf access port (${e.device} is a ${d.physicalRole})`;
    const prof = profileNamed(profiles, d.profile);
    if (prof && !portValid(prof, e.port)) return `"${e.port}" is not a valid port for ${e.device} (${prof.name}: ${describePorts(prof)})`;
    const li = linkPorts.get(`${e.device}:${e.port}`);
    if (li !== undefined) return `${e.device}:${e.port} is not a leaf access port (it is a fabric link port, links[${li}])`;
    return undefined;
  };
  servers.forEach((s, i) => {
    const p = `servers[${i}]`;
    const w = lab('servers', i, s.name);
    if (serverIndex.has(s.name)) add(`${p}.name`, `${w}.name`, `duplicate server name "${s.name}" (also servers[${serverIndex.get(s.name)}])`);
    else serverIndex.set(s.name, i);
    if (s.nics.length === 0) add(`${p}.nics`, `${w}.nics`, 'empty: a server needs at least one NIC');
    s.nics.forEach((n, j) => {
      const np = `${p}.nics[${j}]`;
      const nw = `${w}.nics[${j}]`;
      const prob = accessPortProblem(n);
      if (prob) { add(np, nw, prob); return; }
      const key = `${n.device}:${n.port}`;
      const other = nicOwner.get(key);
      if (other !== undefined) add(np, nw, `port ${key} is already a NIC of ${other}`);
      else nicOwner.set(key, s.name);
    });
  });

  // ---- VPGs
  const vpgIndex = new Map<string, number>();
  const portOwner = new Map<string, string>();
  // Device-wide VLAN ids (Junos: one VLAN id, one network per device): device -> vlan -> network
  const deviceVlans = new Map<string, Map<number, { network: string; where: string }>>();
  const deviceNetVlan = new Map<string, Map<string, { vlan: number; where: string }>>();
  vpgs.forEach((v, i) => {
    const p = `vpgs[${i}]`;
    const w = lab('vpgs', i, v.name);
    if (vpgIndex.has(v.name)) add(`${p}.name`, `${w}.name`, `duplicate VPG name "${v.name}" (also vpgs[${vpgIndex.get(v.name)}])`);
    else vpgIndex.set(v.name, i);
    let server: ServerSpec | undefined;
    if (v.server !== undefined) {
      const si = serverIndex.get(v.server);
      if (si === undefined) add(`${p}.server`, `${w}.server`, `unknown server "${v.server}"`);
      else server = servers[si];
    }
    if (v.ports.length === 0) add(`${p}.ports`, `${w}.ports`, 'empty: a VPG needs at least one port');
    const devices = new Set<string>();
    v.ports.forEach((e, j) => {
      const pp = `${p}.ports[${j}]`;
      const pw = `${w}.ports[${j}]`;
      const prob = accessPortProblem(e);
      if (prob) { add(pp, pw, prob); return; }
      const d = devByName.get(e.device)!;
      if (!d.roles.some((r) => ACCESS_ROLES.includes(r))) {
        add(pp, pw, `${e.device}:${e.port} is not a leaf access port (${e.device} has no access role: ${ACCESS_ROLES.join(' or ')})`);
        return;
      }
      const key = `${e.device}:${e.port}`;
      const other = portOwner.get(key);
      if (other !== undefined) { add(pp, pw, `port ${key} is already in ${other === v.name ? 'this VPG' : `VPG ${other}`}`); return; }
      portOwner.set(key, v.name);
      if (server && !server.nics.some((n) => n.device === e.device && n.port === e.port)) {
        add(pp, pw, `port ${key} is not a NIC of server ${server.name}`);
      }
      devices.add(e.device);
    });
    const vlans = new Map<number, number>();
    const nets = new Map<string, number>();
    let untagged: number | undefined;
    v.bindings.forEach((b, j) => {
      const bp = `${p}.bindings[${j}]`;
      const bw = `${w}.bindings[${j}]`;
      if (!vnIndex.has(b.network)) { add(`${bp}.network`, `${bw}.network`, `unknown virtual network "${b.network}"`); return; }
      if (nets.has(b.network)) { add(`${bp}.network`, `${bw}.network`, `network "${b.network}" is bound twice in this VPG (also bindings[${nets.get(b.network)}])`); return; }
      if (isUntagged(b)) {
        if (untagged !== undefined) { add(`${bp}.untagged`, `${bw}.untagged`, `a second untagged binding (bindings[${untagged}] is untagged already)`); return; }
        untagged = j;
      } else {
        if (vlans.has(b.vlan)) { add(`${bp}.vlan`, `${bw}.vlan`, `VLAN ${b.vlan} is used twice in this VPG (also bindings[${vlans.get(b.vlan)}])`); return; }
        vlans.set(b.vlan, j);
        for (const dn of devices) {
          const prof = profileNamed(profiles, devByName.get(dn)!.profile);
          // Only where the platform's VLAN ids are device-wide (platform data, facts.vlanScope).
          if (!prof || !platforms.has(prof.platform) || factsOf(prof, platforms).vlanScope !== 'device') continue;
          const title = platformDataOf(prof, platforms).title;
          const byVlan = deviceVlans.get(dn) ?? new Map();
          const byNet = deviceNetVlan.get(dn) ?? new Map();
          deviceVlans.set(dn, byVlan);
          deviceNetVlan.set(dn, byNet);
          const a = byVlan.get(b.vlan);
          const c = byNet.get(b.network);
          if (a && a.network !== b.network) {
            add(`${bp}.vlan`, `${bw}.vlan`, `VLAN ${b.vlan} on ${title} device ${dn} already carries network ${a.network} (${a.where}); ${title} maps a VLAN id to one network per device`);
            return;
          }
          if (c && c.vlan !== b.vlan) {
            add(`${bp}.vlan`, `${bw}.vlan`, `network ${b.network} already rides VLAN ${c.vlan} on ${title} device ${dn} (${c.where}); ${title} maps a network to one VLAN id per device`);
            return;
          }
          byVlan.set(b.vlan, { network: b.network, where: bp });
          byNet.set(b.network, { vlan: b.vlan, where: bp });
        }
      }
      nets.set(b.network, j);
    });
  });
  // ---- external networks (DC gateways to the outside)
  errs.push(...collectExternalErrors(file, profiles));
  errs.push(...collectSecurityErrors(file, profiles, platforms));
  return errs;
}
