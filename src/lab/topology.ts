// Topology file of a digital twin (docs/architecture.md, Digital twin): parse and validate, pure (no IO).
// Every error is one line naming what is wrong and where.
import { load as parseYaml } from 'js-yaml';

export interface TopoEnd { node: string; port: string }
export interface TopoDevice { name: string; profile: string; serial: string }
export interface TopoLink { a: TopoEnd; b: TopoEnd }
/** A router outside the fabric (issue 16): FRR run by the lab with its own config file, cabled like a device. */
export interface TopoRouter { name: string; config: string }
export interface TopoServer { name: string; nics: TopoEnd[]; address?: string; vlan?: number }
export interface TopoSnmp {
  community?: string;
  v3?: { user: string; authKey: string; privKey: string };
}
export interface Topology {
  name: string;
  devices: TopoDevice[];
  links: TopoLink[];
  servers: TopoServer[];
  /** outside routers (not part of the fabric, never discovered or pushed to) */
  routers: TopoRouter[];
  management: { cidr: string; gateway: string };
  credentials?: { username: string; password: string };
  snmp?: TopoSnmp;
}

/** Kernel features a topology needs beyond veth + bridge. */
export type KernelFeature = 'bond' | 'vlan' | 'vrf' | 'vlan-filtering' | 'vxlan' | 'bridge';

export class TopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyError';
  }
}

export const LAB_NAME_RE = /^[a-z0-9]{1,8}$/;
export const NODE_NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
const SERIAL_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Profiles the twin can run (its devices are Linux + FRR). */
export const TWIN_PROFILES = ['frr-switch'] as const;

/** Linux interface name rules (IFNAMSIZ 16 incl. NUL; no '/', ':', whitespace). */
export function isValidIfName(n: string): boolean {
  return n.length >= 1 && n.length <= 15 && n !== '.' && n !== '..' && /^[A-Za-z0-9_.-]+$/.test(n);
}

/** Management ports and names the twin uses itself. */
const RESERVED_PORTS = new Set(['eth0', 'lo', 'mgmt0']);

export function parseTopologyText(text: string, source = 'topology'): Topology {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new TopologyError(`${source}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return validateTopology(doc, source);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(s: string): { base: number; len: number; addr: number } | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const addr = ipv4ToInt(m[1]);
  const len = Number(m[2]);
  if (addr === undefined || len > 32) return undefined;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { base: (addr & mask) >>> 0, len, addr };
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new TopologyError(`${where}: expected a non-empty string`);
  return v;
}

function parseEnd(v: unknown, where: string): TopoEnd {
  if (typeof v !== 'string') throw new TopologyError(`${where}: expected "node:port", got ${JSON.stringify(v)}`);
  const i = v.indexOf(':');
  if (i <= 0 || i === v.length - 1) throw new TopologyError(`${where}: expected "node:port", got "${v}"`);
  return { node: v.slice(0, i), port: v.slice(i + 1) };
}

export function validateTopology(doc: unknown, source = 'topology'): Topology {
  if (!isObj(doc)) throw new TopologyError(`${source}: expected a mapping with name, devices, links, management`);
  const known = new Set(['name', 'devices', 'links', 'servers', 'routers', 'management', 'credentials', 'snmp']);
  for (const k of Object.keys(doc)) if (!known.has(k)) throw new TopologyError(`${source}: unknown key "${k}"`);

  const name = doc.name;
  if (typeof name !== 'string' || !LAB_NAME_RE.test(name)) {
    throw new TopologyError(`${source}: name: lab names are 1-8 characters of [a-z0-9], got ${JSON.stringify(name)}`);
  }

  // devices
  if (!Array.isArray(doc.devices) || doc.devices.length === 0) throw new TopologyError(`${source}: devices: expected a non-empty list`);
  const nodeNames = new Set<string>();
  const serials = new Set<string>();
  const devices: TopoDevice[] = doc.devices.map((d: unknown, i: number) => {
    const where = `${source}: devices[${i}]`;
    if (!isObj(d)) throw new TopologyError(`${where}: expected {name, profile, serial}`);
    for (const k of Object.keys(d)) if (!['name', 'profile', 'serial'].includes(k)) throw new TopologyError(`${where}: unknown key "${k}"`);
    const n = str(d.name, `${where}.name`);
    checkNodeName(n, `${where}.name`, nodeNames);
    const profile = str(d.profile, `${where} (${n}).profile`);
    if (!(TWIN_PROFILES as readonly string[]).includes(profile)) {
      throw new TopologyError(`${where} (${n}).profile: "${profile}" cannot run in the twin (supported: ${TWIN_PROFILES.join(', ')})`);
    }
    const serial = str(d.serial, `${where} (${n}).serial`);
    if (!SERIAL_RE.test(serial)) throw new TopologyError(`${where} (${n}).serial: "${serial}" must be 1-64 of [A-Za-z0-9_-]`);
    if (serials.has(serial)) throw new TopologyError(`${where} (${n}).serial: "${serial}" is used twice`);
    serials.add(serial);
    return { name: n, profile, serial };
  });
  // routers: FRR nodes outside the fabric, each with the frr.conf the lab loads (path as given)
  const rawRouters = doc.routers ?? [];
  if (!Array.isArray(rawRouters)) throw new TopologyError(`${source}: routers: expected a list of {name, config}`);
  const routers: TopoRouter[] = rawRouters.map((r: unknown, i: number) => {
    const where = `${source}: routers[${i}]`;
    if (!isObj(r)) throw new TopologyError(`${where}: expected {name, config}`);
    for (const k of Object.keys(r)) if (!['name', 'config'].includes(k)) throw new TopologyError(`${where}: unknown key "${k}"`);
    const n = str(r.name, `${where}.name`);
    checkNodeName(n, `${where}.name`, nodeNames);
    const config = str(r.config, `${where} (${n}).config`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(config)) throw new TopologyError(`${where} (${n}).config: control characters in the path`);
    return { name: n, config };
  });
  const deviceSet = new Set(devices.map((d) => d.name));
  const routerSet = new Set(routers.map((r) => r.name));
  const usedPorts = new Map<string, string>(); // "node:port" -> where

  const usePort = (e: TopoEnd, where: string, routersToo = false): void => {
    if (!deviceSet.has(e.node) && !(routersToo && routerSet.has(e.node))) {
      throw new TopologyError(`${where}: "${e.node}" is not a device${routersToo ? ' or router' : ''} of this topology`);
    }
    if (!isValidIfName(e.port)) throw new TopologyError(`${where}: port "${e.port}" is not a valid Linux interface name (1-15 of [A-Za-z0-9_.-])`);
    if (RESERVED_PORTS.has(e.port)) throw new TopologyError(`${where}: port "${e.port}" is reserved (management)`);
    const key = `${e.node}:${e.port}`;
    const prev = usedPorts.get(key);
    if (prev) throw new TopologyError(`${where}: port ${key} is already cabled at ${prev}`);
    usedPorts.set(key, where);
  };

  // links
  const rawLinks = doc.links ?? [];
  if (!Array.isArray(rawLinks)) throw new TopologyError(`${source}: links: expected a list of [a:port, b:port]`);
  const links: TopoLink[] = rawLinks.map((l: unknown, i: number) => {
    const where = `${source}: links[${i}]`;
    if (!Array.isArray(l) || l.length !== 2) throw new TopologyError(`${where}: expected [a:port, b:port]`);
    const a = parseEnd(l[0], where);
    const b = parseEnd(l[1], where);
    if (a.node === b.node) throw new TopologyError(`${where}: both ends on ${a.node} (a device cannot be cabled to itself)`);
    if (routerSet.has(a.node) && routerSet.has(b.node)) throw new TopologyError(`${where}: both ends are routers (a router is cabled to the fabric)`);
    usePort(a, where, true);
    usePort(b, where, true);
    return { a, b };
  });

  // servers
  const rawServers = doc.servers ?? [];
  if (!Array.isArray(rawServers)) throw new TopologyError(`${source}: servers: expected a list`);
  const servers: TopoServer[] = rawServers.map((s: unknown, i: number) => {
    const where = `${source}: servers[${i}]`;
    if (!isObj(s)) throw new TopologyError(`${where}: expected {name, nics, address?, vlan?}`);
    for (const k of Object.keys(s)) if (!['name', 'nics', 'address', 'vlan'].includes(k)) throw new TopologyError(`${where}: unknown key "${k}"`);
    const n = str(s.name, `${where}.name`);
    checkNodeName(n, `${where}.name`, nodeNames);
    if (!Array.isArray(s.nics) || s.nics.length === 0) throw new TopologyError(`${where} (${n}).nics: expected a non-empty list of device:port`);
    if (s.nics.length > 8) throw new TopologyError(`${where} (${n}).nics: at most 8 NICs`);
    const nics = s.nics.map((x: unknown, j: number) => {
      const e = parseEnd(x, `${where} (${n}).nics[${j}]`);
      usePort(e, `${where} (${n}).nics[${j}]`);
      return e;
    });
    const out: TopoServer = { name: n, nics };
    if (s.address !== undefined) {
      const a = typeof s.address === 'string' ? parseCidr(s.address) : undefined;
      if (!a || a.len > 30) throw new TopologyError(`${where} (${n}).address: expected an IPv4 address with prefix length, e.g. 10.10.0.11/24`);
      out.address = s.address as string;
    }
    if (s.vlan !== undefined) {
      if (typeof s.vlan !== 'number' || !Number.isInteger(s.vlan) || s.vlan < 1 || s.vlan > 4094) {
        throw new TopologyError(`${where} (${n}).vlan: expected an integer 1-4094`);
      }
      if (out.address === undefined) throw new TopologyError(`${where} (${n}).vlan: a VLAN needs an address`);
      out.vlan = s.vlan;
    }
    return out;
  });

  // management
  const m = doc.management;
  if (!isObj(m)) throw new TopologyError(`${source}: management: expected {cidr, gateway}`);
  const cidr = str(m.cidr, `${source}: management.cidr`);
  const gateway = str(m.gateway, `${source}: management.gateway`);
  const net = parseCidr(cidr);
  if (!net || net.base !== net.addr) throw new TopologyError(`${source}: management.cidr: "${cidr}" is not an IPv4 network (e.g. 10.0.0.0/24)`);
  if (net.len > 28) throw new TopologyError(`${source}: management.cidr: "${cidr}" is too small (at most /28)`);
  const gw = ipv4ToInt(gateway);
  const size = 2 ** (32 - net.len);
  if (gw === undefined || gw <= net.base || gw >= net.base + size - 1) {
    throw new TopologyError(`${source}: management.gateway: "${gateway}" is not a host address of ${cidr}`);
  }
  // Preconfigured addresses are network+11 upward (see managementPlan); they must fit.
  if (11 + devices.length > size - 2) {
    throw new TopologyError(`${source}: management.cidr: ${cidr} has no room for ${devices.length} devices from .11 upward`);
  }

  // credentials
  let credentials: Topology['credentials'];
  if (doc.credentials !== undefined) {
    const c = doc.credentials;
    if (!isObj(c)) throw new TopologyError(`${source}: credentials: expected {username, password}`);
    const username = str(c.username, `${source}: credentials.username`);
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(username)) throw new TopologyError(`${source}: credentials.username: "${username}" is not a valid user name`);
    credentials = { username, password: str(c.password, `${source}: credentials.password`) };
  }

  // snmp
  let snmp: TopoSnmp | undefined;
  if (doc.snmp !== undefined) {
    const s = doc.snmp;
    if (!isObj(s)) throw new TopologyError(`${source}: snmp: expected {community} and/or {v3: {user, authKey, privKey}}`);
    snmp = {};
    if (s.community !== undefined) {
      snmp.community = str(s.community, `${source}: snmp.community`);
      if (!/^[A-Za-z0-9_.-]{1,32}$/.test(snmp.community)) throw new TopologyError(`${source}: snmp.community: 1-32 of [A-Za-z0-9_.-]`);
    }
    if (s.v3 !== undefined) {
      const v = s.v3;
      if (!isObj(v)) throw new TopologyError(`${source}: snmp.v3: expected {user, authKey, privKey}`);
      const user = str(v.user, `${source}: snmp.v3.user`);
      const authKey = str(v.authKey, `${source}: snmp.v3.authKey`);
      const privKey = str(v.privKey, `${source}: snmp.v3.privKey`);
      if (authKey.length < 8) throw new TopologyError(`${source}: snmp.v3.authKey: at least 8 characters`);
      if (privKey.length < 8) throw new TopologyError(`${source}: snmp.v3.privKey: at least 8 characters`);
      snmp.v3 = { user, authKey, privKey };
    }
    if (!snmp.community && !snmp.v3) throw new TopologyError(`${source}: snmp: give a community or v3 settings`);
  }

  return { name, devices, links, servers, routers, management: { cidr, gateway }, credentials, snmp };
}

function checkNodeName(n: string, where: string, seen: Set<string>): void {
  if (!NODE_NAME_RE.test(n)) throw new TopologyError(`${where}: "${n}" must be of [a-z0-9-] and start with a letter or digit`);
  if (n === 'ctl') throw new TopologyError(`${where}: "ctl" is reserved for the controller namespace`);
  if (n.length > 40) throw new TopologyError(`${where}: "${n}" is longer than 40 characters`);
  if (seen.has(n)) throw new TopologyError(`${where}: "${n}" is used twice`);
  seen.add(n);
}

/** Kernel features beyond veth + bridge that building this topology needs. */
export function requiredKernelFeatures(t: Topology): KernelFeature[] {
  const need = new Set<KernelFeature>(['bridge']);
  for (const s of t.servers) {
    if (s.nics.length >= 2) need.add('bond');
    if (s.vlan !== undefined) need.add('vlan');
  }
  return [...need];
}

/**
 * Management plan of `--preconfigured`: the gateway sits on mgmt0 in `<lab>-ctl`; device i (file
 * order, 0-based) takes network + 11 + i, skipping the gateway.
 */
export function managementPlan(t: Topology): { prefixLen: number; gateway: string; devices: Record<string, string> } {
  const net = parseCidr(t.management.cidr)!;
  const gw = ipv4ToInt(t.management.gateway)!;
  const out: Record<string, string> = {};
  let next = net.base + 11;
  for (const d of t.devices) {
    if (next === gw) next++;
    out[d.name] = intToIpv4(next++);
  }
  return { prefixLen: net.len, gateway: t.management.gateway, devices: out };
}

/** Vendor, model and option-60 vendor class of a twin device (Junos style `<Vendor>-<model>-<serial>`). */
export function deviceIdentity(d: TopoDevice): { vendor: string; model: string; vendorClass: string } {
  const vendor = 'FRR';
  const model = d.profile;
  return { vendor, model, vendorClass: `${vendor}-${model}-${d.serial}` };
}
