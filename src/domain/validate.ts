// Cross-object validation of a parsed fabric file. Every problem becomes one line that
// starts with where it is (`devices[3] (leaf2).roles[0]: ...`) and a JSON-path-like `path`.
// Forms and ranges (names, ASN and VNI ranges, addresses' shape) are the schema's, checked by
// parseFabricFile on every way into the store; the rules here need more than one value.
import { FabricError } from './errors';
import { NAME_PATTERN } from './schema';
import { featuresInUse, fileObjects, type FeatureObjects } from './features';
import { collectServiceErrors } from './services';
import { Cidr, contains, parseCidr, parseIp } from './ipv4';
import type { PlatformDataSet } from './platforms';
import {
  NULL_ROLE, ProfileSet, RoleFeatures, allowedRoles, describePorts, featuresFor, isLean, loadPlatforms, loadProfiles,
  loadRoleFeatures, portValid, profileNamed, roleAllowed,
} from './profiles';
import { FabricFile, Feature, LinkEnd, ROUTING_ROLES, RoutingRole } from './types';

/**
 * ASNs no device may take (RFC 7300, RFC 6793): 23456 is AS_TRANS, 65535 and 4294967295 are
 * reserved (0 and 4294967295 are outside the schema's 1..4294967294 anyway). The allocator skips them.
 */
export const RESERVED_ASNS: ReadonlySet<number> = new Set([0, 23456, 65535, 4294967295]);

/** Device, fabric and host names: DNS-label-like, usable as file and namespace names (the schema's form). */
export const NAME_RE = new RegExp(NAME_PATTERN);

/** ERB-UCAST-Gateway routes on the leaf; these centrally-routed roles cannot share a box with it. */
const ERB_EXCLUSIVE: readonly RoutingRole[] = ['CRB-Gateway', 'CRB-MCAST-Gateway', 'DC-Gateway', 'DCI-Gateway'];

/**
 * Overlay rule: a device takes part in the iBGP/EVPN overlay when it has any routing role
 * (anything but none/null). Lean devices stay in the underlay only, also in a fabric that
 * has an overlayAsn, as the reference treats a lean spine (it forwards VXLAN as IP).
 */
export function hasOverlay(roles: readonly string[]): boolean {
  return !isLean(roles);
}

export function fabricHasOverlay(file: FabricFile): boolean {
  return file.devices.some((d) => hasOverlay(d.roles));
}

function label(file: FabricFile, i: number): string {
  const n = file.devices[i]?.name;
  return n ? `devices[${i}] (${n})` : `devices[${i}]`;
}

function linkLabel(file: FabricFile, i: number): string {
  const l = file.links[i];
  return `links[${i}] (${l.a.device}:${l.a.port} -- ${l.b.device}:${l.b.port})`;
}

/** What a feature needs on the device, for the message when its platform lacks it. */
function neededFor(f: Feature, o: FeatureObjects): string {
  if (f === 'overlay_lag' || f === 'overlay_multi_homing') return ` for its ${o.vpgs} VPG${o.vpgs > 1 ? 's' : ''}`;
  if (f === 'dc_gateway') return ` for its ${o.externalNetworks} external network${o.externalNetworks > 1 ? 's' : ''}`;
  if (f === 'overlay_security_group') return ` for its ${o.secured} VPG${o.secured > 1 ? 's' : ''} with security groups or a port profile`;
  if (f === 'overlay_networking') return ` for its ${o.virtualNetworks} virtual network${o.virtualNetworks > 1 ? 's' : ''}`;
  if (f === 'overlay_evpn_type5' || f === 'overlay_evpn_gateway' || f === 'overlay_evpn_erb') {
    return o.logicalRouters > 0 ? ` for its ${o.logicalRouters} logical router${o.logicalRouters > 1 ? 's' : ''}` : ' for its virtual networks';
  }
  return '';
}

/**
 * Every problem in the file, in file order (fabric, devices, links). Empty when valid.
 * `platforms` (node-profiles/platforms/) says which roles and features each platform supports:
 * a device that needs one its platform lacks is refused here, never at render time.
 */
export function collectFabricErrors(
  file: FabricFile, profiles: ProfileSet = loadProfiles(),
  platforms: PlatformDataSet = loadPlatforms(), roleFeatures: RoleFeatures = loadRoleFeatures(),
): FabricError[] {
  const errs: FabricError[] = [];
  const add = (path: string, where: string, what: string) => errs.push(new FabricError(path, `${where}: ${what}`));
  const at = (path: string, what: string) => add(path, path, what);

  // ---- namespaces: CIDRs well formed and disjoint across every namespace
  const ns = file.fabric.namespaces;
  const blocks: { path: string; text: string; c: Cidr }[] = [];
  const cidrAt = (path: string, text: string): Cidr | undefined => {
    const r = parseCidr(text);
    if (!r.ok) { at(path, `"${text}" ${r.reason}`); return undefined; }
    blocks.push({ path, text, c: r.cidr });
    return r.cidr;
  };
  ns.management.forEach((m, i) => {
    const p = `fabric.namespaces.management[${i}]`;
    const c = cidrAt(`${p}.cidr`, m.cidr);
    const gw = parseIp(m.gateway);
    if (gw === undefined) at(`${p}.gateway`, `"${m.gateway}" is not an IPv4 address`);
    else if (c && !contains(c, gw)) at(`${p}.gateway`, `${m.gateway} is outside ${m.cidr}`);
    else if (c && c.prefix < 31 && (gw === c.base || gw === c.base + c.size - 1)) {
      at(`${p}.gateway`, `${m.gateway} is the ${gw === c.base ? 'network' : 'broadcast'} address of ${m.cidr}`);
    }
  });
  ns.loopback.forEach((t, i) => cidrAt(`fabric.namespaces.loopback[${i}]`, t));
  ns.fabric.forEach((t, i) => cidrAt(`fabric.namespaces.fabric[${i}]`, t));
  for (let i = 0; i < blocks.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = blocks[j];
      const b = blocks[i];
      if (a.c.base < b.c.base + b.c.size && b.c.base < a.c.base + a.c.size) {
        at(b.path, `${b.text} overlaps ${a.path} ${a.text}`);
        break;
      }
    }
  }

  // ---- ASN ranges and the overlay ASN
  if (ns.asn.length === 0) at('fabric.namespaces.asn', 'empty: at least one ASN range {min, max} is needed');
  const goodRanges: { i: number; min: number; max: number }[] = [];
  ns.asn.forEach((r, i) => {
    const p = `fabric.namespaces.asn[${i}]`;
    if (r.min > r.max) at(p, `range is reversed (min ${r.min} > max ${r.max})`);
    else if (r.min === r.max && RESERVED_ASNS.has(r.min)) at(p, `${r.min} is a reserved ASN (AS_TRANS 23456 and 65535 are never assigned)`);
    else {
      const clash = goodRanges.find((g) => g.min <= r.max && r.min <= g.max);
      if (clash) at(p, `${r.min}..${r.max} overlaps fabric.namespaces.asn[${clash.i}] ${clash.min}..${clash.max}`);
      goodRanges.push({ i, min: r.min, max: r.max });
    }
  });
  const overlay = fabricHasOverlay(file);
  if (ns.overlayAsn !== undefined) {
    const o = ns.overlayAsn;
    if (RESERVED_ASNS.has(o)) at('fabric.namespaces.overlayAsn', `${o} is a reserved ASN (AS_TRANS 23456 and 65535 are never assigned)`);
    else {
      const inside = goodRanges.find((g) => o >= g.min && o <= g.max);
      if (inside) at('fabric.namespaces.overlayAsn', `${o} lies inside ASN range fabric.namespaces.asn[${inside.i}] ${inside.min}..${inside.max} (it must be outside every range)`);
    }
  } else if (overlay) {
    const i = file.devices.findIndex((d) => hasOverlay(d.roles));
    at('fabric.namespaces.overlayAsn', `missing: ${file.devices[i].name} has overlay role ${file.devices[i].roles.filter((r) => r !== NULL_ROLE)[0]}, so the fabric needs an overlay (iBGP) ASN`);
  }

  // ---- devices
  const mgmtCidrs = ns.management.map((m) => parseCidr(m.cidr)).filter((r) => r.ok).map((r) => (r as { cidr: Cidr }).cidr);
  const objects = fileObjects(file);
  const byName = new Map<string, number>();
  const bySerial = new Map<string, number>();
  file.devices.forEach((d, i) => {
    const where = label(file, i);
    const p = `devices[${i}]`;
    const dup = byName.get(d.name);
    if (dup !== undefined) add(`${p}.name`, `${where}.name`, `duplicate device name "${d.name}" (also devices[${dup}])`);
    else byName.set(d.name, i);
    if (d.serial !== undefined) {
      const ds = bySerial.get(d.serial);
      if (ds !== undefined) add(`${p}.serial`, `${where}.serial`, `duplicate serial "${d.serial}" (also ${label(file, ds)})`);
      else bySerial.set(d.serial, i);
    }
    if (d.managementIp !== undefined) {
      const ip = parseIp(d.managementIp);
      if (ip === undefined) add(`${p}.managementIp`, `${where}.managementIp`, `"${d.managementIp}" is not an IPv4 address`);
      else if (mgmtCidrs.length && !mgmtCidrs.some((c) => contains(c, ip))) {
        // The service sends the fabric's credentials to this address: only inside the namespace.
        add(`${p}.managementIp`, `${where}.managementIp`, `${d.managementIp} is outside the management namespace (${ns.management.map((m) => m.cidr).join(', ')})`);
      }
    }
    const prof = profileNamed(profiles, d.profile);
    if (!prof) add(`${p}.profile`, `${where}.profile`, `unknown profile "${d.profile}" (known: ${Object.keys(profiles).sort().join(', ')})`);
    const plat = prof ? platforms.get(prof.platform) : undefined;
    if (prof && !plat) add(`${p}.profile`, `${where}.profile`, `profile ${prof.name} names platform "${prof.platform}", which has no platform data (known: ${[...platforms.keys()].join(', ')})`);
    /** roles the platform supports: their features are checked below */
    const supported: string[] = [];
    const seen = new Set<string>();
    d.roles.forEach((r, j) => {
      const rp = `${p}.roles[${j}]`;
      const rw = `${where}.roles[${j}]`;
      if (r !== NULL_ROLE && !ROUTING_ROLES.includes(r as RoutingRole)) {
        add(rp, rw, `unknown role "${r}" (known: ${NULL_ROLE}, ${ROUTING_ROLES.join(', ')})`);
        return;
      }
      if (seen.has(r)) { add(rp, rw, `role "${r}" listed twice`); return; }
      seen.add(r);
      if (r === NULL_ROLE && d.roles.length > 1) { add(rp, rw, `role "null" (lean) cannot be combined with other roles`); return; }
      const why = roleFeatures.notBuilt.get(r);
      if (why) { add(rp, rw, `role "${r}" is not built by this service yet: ${why}; it is refused rather than accepted and left without configuration`); return; }
      if (prof && !roleAllowed(prof, r, d.physicalRole)) {
        add(rp, rw, `role "${r}" not allowed for ${prof.name} as ${d.physicalRole} (allowed: ${allowedRoles(prof, d.physicalRole).join(', ') || 'none'})`);
      } else if (plat && r !== NULL_ROLE && !plat.roles.includes(r as RoutingRole)) {
        add(rp, rw, `role "${r}" is not supported on platform ${plat.name} (${d.name} is a ${prof!.name}; ${plat.name} supports: ${plat.roles.join(', ') || 'no routing role'})`);
      } else supported.push(r);
    });
    // Features the supported roles turn on and the device's objects make take effect.
    const objs = objects.get(d.name);
    if (plat && objs) {
      for (const f of featuresInUse(featuresFor(supported, roleFeatures), objs)) {
        if (plat.features.includes(f)) continue;
        const j = d.roles.findIndex((r) => (r === NULL_ROLE ? roleFeatures.lean : Object.hasOwn(roleFeatures.roles, r) ? roleFeatures.roles[r as RoutingRole] : []).includes(f));
        const rp = j >= 0 ? `${p}.roles[${j}]` : `${p}.roles`;
        const by = j >= 0 ? ` (role ${d.roles[j]}${neededFor(f, objs)})` : ` (lean devices${neededFor(f, objs)})`;
        add(rp, rp.replace(p, where), `platform ${plat.name} does not support feature ${f}, which ${d.name} needs${by}`);
      }
    }
    if (d.roles.length === 0 && prof && !roleAllowed(prof, NULL_ROLE, d.physicalRole)) {
      add(`${p}.roles`, `${where}.roles`, `lean (no role) not allowed for ${prof.name} as ${d.physicalRole} (allowed: ${allowedRoles(prof, d.physicalRole).join(', ') || 'none'})`);
    }
    if (d.roles.includes('ERB-UCAST-Gateway')) {
      const j = d.roles.findIndex((r) => ERB_EXCLUSIVE.includes(r as RoutingRole));
      if (j >= 0) add(`${p}.roles[${j}]`, `${where}.roles[${j}]`, `ERB-UCAST-Gateway cannot be combined with ${d.roles[j]}`);
    }
  });
  if (overlay && !file.devices.some((d) => d.roles.includes('Route-Reflector'))) {
    at('devices', 'the fabric has an overlay but no device has the Route-Reflector role');
  }

  // ---- links
  const ports = new Map<string, string>();
  file.links.forEach((l, i) => {
    const where = linkLabel(file, i);
    const p = `links[${i}]`;
    if (l.a.device === l.b.device) { add(p, where, `links ${l.a.device} to itself`); }
    const end = (e: LinkEnd, side: 'a' | 'b') => {
      const di = byName.get(e.device);
      if (di === undefined) { add(`${p}.${side}.device`, `${where}.${side}.device`, `unknown device "${e.device}"`); return; }
      const prof = profileNamed(profiles, file.devices[di].profile);
      if (prof && !portValid(prof, e.port)) {
        add(`${p}.${side}.port`, `${where}.${side}.port`, `"${e.port}" is not a valid port for ${e.device} (${prof.name}: ${describePorts(prof)})`);
        return;
      }
      const key = `${e.device}:${e.port}`;
      const other = ports.get(key);
      if (other !== undefined) add(`${p}.${side}`, `${where}.${side}`, `port ${key} is already used by ${other}`);
      else ports.set(key, `links[${i}]`);
    };
    end(l.a, 'a');
    end(l.b, 'b');
  });
  // ---- overlay services (virtual networks, logical routers, servers, VPGs)
  errs.push(...collectServiceErrors(file, profiles, platforms));
  return errs;
}

/** Throw the first problem as a FabricError (its `errors` lists them all). */
export function validateFabric(file: FabricFile, profiles: ProfileSet = loadProfiles(), platforms: PlatformDataSet = loadPlatforms()): void {
  const errs = collectFabricErrors(file, profiles, platforms);
  if (errs.length > 0) {
    errs[0].errors = errs;
    throw errs[0];
  }
}

