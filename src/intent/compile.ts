// The intent compiler: validated inventory + allocations -> one DevicePlan per device.
// Pure and deterministic: same input, same plans (device order = file order).
import { FabricError } from '../domain/errors';
import { formatIp, parseIp } from '../domain/ipv4';
import { parseFabricFile, settingsOf } from '../domain/parse';
import { factsOf, type PlatformDataSet } from '../domain/platforms';
import {
  ProfileSet, RoleFeatures, featuresFor, loadPlatforms, loadProfiles, loadRoleFeatures, profileNamed,
} from '../domain/profiles';
import {
  Allocations, DevicePlan, FabricFile, Feature, LinkEnd, OverlayNeighbor, PlanInterface, RoutingRole,
  UnderlayNeighbor, linkKey,
} from '../domain/types';
import { hasOverlay, validateFabric } from '../domain/validate';
import { compileServices } from './services';
import { allocate, deviceIndex, emptyAllocations, isAddressedLink } from './allocate';

interface Adjacent { port: string; peer: LinkEnd; address?: string; peerAddress?: string }

function missing(what: string, owner: string): never {
  throw new FabricError('allocations', `allocations: no ${what} for ${owner} (run allocate first)`);
}


/** An allocation by owner name (device and link names are user-supplied: own keys only). */
const own = <T>(rec: Record<string, T>, key: string): T | undefined => (Object.hasOwn(rec, key) ? rec[key] : undefined);
export function compileFabric(
  file: FabricFile, allocations: Allocations,
  profiles: ProfileSet = loadProfiles(), roleFeatures: RoleFeatures = loadRoleFeatures(),
  platforms: PlatformDataSet = loadPlatforms(),
): DevicePlan[] {
  const settings = settingsOf(file);
  const devs = deviceIndex(file);
  // an underlay the devices keep (brownfield, manageUnderlay false) runs whatever BFD they run:
  // the plan promises none, so verify does not ask for sessions the service never configured
  const bfd = settings.bfd.intervalMs > 0 && settings.brownfield?.manageUnderlay !== false;
  // Most devices share a role list: compute each distinct list's features once.
  const featureCache = new Map<string, Feature[]>();
  const features = (roles: string[]): Feature[] => {
    const key = roles.join(',');
    let f = featureCache.get(key);
    if (!f) { f = featuresFor(roles, roleFeatures); featureCache.set(key, f); }
    return f.slice();
  };

  // Per-device adjacency in link order; the link's first end takes the lower /31 address.
  const adj = new Map<string, Adjacent[]>();
  for (const d of file.devices) adj.set(d.name, []);
  for (const l of file.links) {
    let aAddr: string | undefined;
    let bAddr: string | undefined;
    if (isAddressedLink(l, devs)) {
      const key = linkKey(l);
      const cidr = own(allocations.links, key) ?? missing('/31', `link ${key}`);
      // Every link's /31 is read here: a direct parse, no regex.
      const base = cidr.endsWith('/31') ? parseIp(cidr.slice(0, -3)) : undefined;
      if (base === undefined || base % 2 !== 0) throw new FabricError('allocations', `allocations: link ${key} has "${cidr}", not a /31`);
      aAddr = formatIp(base);
      bAddr = formatIp(base + 1);
    }
    adj.get(l.a.device)?.push({ port: l.a.port, peer: l.b, address: aAddr, peerAddress: bAddr });
    adj.get(l.b.device)?.push({ port: l.b.port, peer: l.a, address: bAddr, peerAddress: aAddr });
  }

  // Overlay membership: devices with a routing role; route reflectors among them.
  const overlayAsn = file.fabric.namespaces.overlayAsn;
  const rrs = file.devices.filter((d) => d.roles.includes('Route-Reflector')).map((d) => d.name);
  const members = file.devices.filter((d) => hasOverlay(d.roles)).map((d) => d.name);
  const rrSet = new Set(rrs);
  const lo = (name: string) => own(allocations.loopbacks, name) ?? missing('loopback', name);
  // One cluster id for all RRs: the first RR's loopback (file order), so RRs that share
  // clients drop each other's reflected copies.
  const clusterId = rrs.length ? lo(rrs[0]) : undefined;
  const rrNeighbors: OverlayNeighbor[] = rrs.map((n) => ({ address: lo(n), device: n, client: false }));
  const clientNeighbors: OverlayNeighbor[] = members.filter((n) => !rrSet.has(n))
    .map((n) => ({ address: lo(n), device: n, client: true }));

  const plans = file.devices.map((d): DevicePlan => {
    const profile = profileNamed(profiles, d.profile);
    if (!profile) throw new FabricError('devices', `devices (${d.name}).profile: unknown profile "${d.profile}"`);
    const loopback = lo(d.name);
    const asn = own(allocations.asns, d.name) ?? missing('ASN', d.name);
    const interfaces: PlanInterface[] = [];
    const neighbors: UnderlayNeighbor[] = [];
    for (const a of adj.get(d.name) ?? []) {
      const itf: PlanInterface = {
        name: a.port, mtu: settings.mtu, description: `to ${a.peer.device}:${a.peer.port}`, peer: a.peer,
      };
      if (a.address !== undefined && a.peerAddress !== undefined) {
        itf.address = `${a.address}/31`;
        neighbors.push({
          address: a.peerAddress, localAddress: a.address,
          peerAsn: own(allocations.asns, a.peer.device) ?? missing('ASN', a.peer.device),
          peerDevice: a.peer.device, interface: a.port, bfd,
        });
      }
      interfaces.push(itf);
    }
    // BFD floor of the model: render max(setting, floor) and say so in the plan.
    const floor = factsOf(profile, platforms).bfdMinIntervalMs;
    let devSettings = settings;
    const warnings: string[] = [];
    if (bfd && settings.bfd.intervalMs < floor) {
      devSettings = { ...settings, bfd: { ...settings.bfd, intervalMs: floor } };
      warnings.push(`BFD interval ${settings.bfd.intervalMs} ms is below what ${profile.name} supports; ${d.name} runs ${floor} ms`);
    }
    const plan: DevicePlan = {
      name: d.name,
      hostname: d.name,
      platform: profile.platform,
      profile: profile.name,
      physicalRole: d.physicalRole,
      roles: d.roles.filter((r): r is RoutingRole => r !== 'null'),
      // adopted with manageUnderlay false: the running underlay stays the device's (no ip_clos);
      // plan.interfaces/underlay stay as adopted, so verify still checks those sessions
      features: settings.brownfield?.manageUnderlay === false ? features(d.roles).filter((f) => f !== 'ip_clos') : features(d.roles),
      loopback,
      routerId: loopback,
      asn,
      settings: devSettings,
      // absent for `vlans`, so the plans of QFX and FRR devices stay as they were
      ...(factsOf(profile, platforms).l2Model === 'bridge-domains' ? { l2Model: 'bridge-domains' as const } : {}),
      // absent unless the model needs it for a type-5 role it has (src/platforms/junos/overlay-ecmp.ts)
      ...(factsOf(profile, platforms).overlayEcmp && features(d.roles).includes('overlay_evpn_type5') ? { overlayEcmp: true as const } : {}),
      ...(warnings.length ? { warnings } : {}),
      interfaces,
      underlay: { neighbors, exportLoopback: loopback },
      virtualNetworks: [],
      logicalRouters: [],
      vpgs: [],
    };
    if (hasOverlay(d.roles) && overlayAsn !== undefined) {
      const isRr = rrSet.has(d.name);
      plan.overlay = {
        asn: overlayAsn,
        localAddress: loopback,
        routeReflector: isRr,
        // RRs: every other RR (non-client) then every other member (client); others: the RRs.
        neighbors: isRr
          ? [...rrNeighbors, ...clientNeighbors].filter((n) => n.device !== d.name).map((n) => ({ ...n }))
          : rrNeighbors.map((n) => ({ ...n })),
        vtepSource: loopback,
        routeDistinguisher: `${loopback}:1`,
      };
      if (settings.brownfield) {
        // adopted: the running `router bgp <asn>` stays; overlay peers are EBGP in their own ASNs
        plan.overlay.ebgp = true;
        for (const n of plan.overlay.neighbors) n.asn = own(allocations.asns, n.device) ?? missing('ASN', n.device);
      }
      if (isRr && clusterId !== undefined) plan.overlay.clusterId = clusterId;
    }
    return plan;
  });
  // Overlay services (VNs, LRs, VPGs) onto the plans of the devices they touch.
  return compileServices(file, plans, (p) => factsOf(profileNamed(profiles, p.profile)!, platforms), allocations.esis);
}

export interface FabricPlan {
  file: FabricFile;
  plans: DevicePlan[];
  allocations: Allocations;
}

/** parse + validate + allocate + compile in one call (throws FabricError on bad input). */
export function planFabric(
  input: string | object | FabricFile, existing: Allocations = emptyAllocations(),
  profiles: ProfileSet = loadProfiles(), platforms: PlatformDataSet = loadPlatforms(),
): FabricPlan {
  const file = parseFabricFile(input);
  validateFabric(file, profiles, platforms);
  const allocations = allocate(file, existing);
  return { file, plans: compileFabric(file, allocations, profiles, loadRoleFeatures(), platforms), allocations };
}
