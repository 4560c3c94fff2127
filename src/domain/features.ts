// Which of a device's features take effect: one rule for render (from a DevicePlan) and for
// validation (from the fabric file, before anything is allocated), so a feature its platform
// cannot render is refused at validation, never at render time. Pure.
//
// A feature of the device's roles takes effect unless it is an overlay feature on a device
// without an overlay, or it configures objects the device does not carry (a virtual network,
// a logical router, a VPG): those render nothing, not an empty placeholder.
import { isLean } from './profiles';
import type { DevicePlan, FabricFile, Feature } from './types';

/** What decides which features take effect on a device. */
export interface FeatureObjects {
  /** the device takes part in the overlay (a routing role, and the fabric has an overlay AS) */
  overlay: boolean;
  virtualNetworks: number;
  logicalRouters: number;
  vpgs: number;
  /** external networks with this device as a gateway */
  externalNetworks: number;
  /** VPGs here with a security group on a binding or a port profile */
  secured: number;
}

export const OVERLAY_FEATURES: ReadonlySet<Feature> = new Set<Feature>([
  'overlay_bgp', 'overlay_evpn', 'overlay_evpn_gateway', 'overlay_evpn_erb', 'overlay_evpn_type5',
  'overlay_networking', 'overlay_lag', 'overlay_multi_homing', 'overlay_security_group', 'dc_gateway',
]);

/** Features that exist only once their objects exist (VN, LR, VPG). */
const HAS_OBJECTS: Partial<Record<Feature, (o: FeatureObjects) => boolean>> = {
  overlay_evpn_gateway: (o) => o.logicalRouters > 0 || o.virtualNetworks > 0,
  overlay_evpn_erb: (o) => o.logicalRouters > 0 || o.virtualNetworks > 0,
  overlay_evpn_type5: (o) => o.logicalRouters > 0,
  overlay_networking: (o) => o.virtualNetworks > 0,
  overlay_lag: (o) => o.vpgs > 0,
  overlay_multi_homing: (o) => o.vpgs > 0,
  overlay_security_group: (o) => o.secured > 0,
  dc_gateway: (o) => o.externalNetworks > 0,
};

/** The features that take effect, in the given order, each once. */
export function featuresInUse(features: readonly Feature[], o: FeatureObjects): Feature[] {
  const out: Feature[] = [];
  for (const f of features) {
    if (out.includes(f)) continue;
    if (OVERLAY_FEATURES.has(f) && !o.overlay) continue;
    const has = HAS_OBJECTS[f];
    if (has && !has(o)) continue;
    out.push(f);
  }
  return out;
}

export function planObjects(p: DevicePlan): FeatureObjects {
  return {
    overlay: p.overlay !== undefined, virtualNetworks: p.virtualNetworks.length, logicalRouters: p.logicalRouters.length, vpgs: p.vpgs.length,
    externalNetworks: p.externalNetworks?.length ?? 0,
    secured: p.vpgs.filter((v) => v.filters !== undefined || v.stormControl !== undefined).length,
  };
}

/**
 * The same counts from the fabric file, device by device, as src/intent places services: a VPG
 * on each device with one of its ports; a logical router on each overlay device with the role
 * of its mode (crb: CRB-Gateway, erb: ERB-UCAST-Gateway); a network wherever a local VPG binds
 * it or a local logical router routes it. (test/unit/platforms-data.test.ts holds the two equal.)
 */
export function fileObjects(file: FabricFile): Map<string, FeatureObjects> {
  const overlayAsn = file.fabric.namespaces.overlayAsn !== undefined;
  const vns = new Set((file.virtualNetworks ?? []).map((v) => v.name));
  const out = new Map<string, FeatureObjects>();
  for (const d of file.devices) {
    const overlay = overlayAsn && !isLean(d.roles);
    const vpgs = (file.vpgs ?? []).filter((v) => v.ports.some((p) => p.device === d.name));
    const routes = (lr: { mode: string }) => d.roles.includes(lr.mode === 'crb' ? 'CRB-Gateway' : 'ERB-UCAST-Gateway');
    // a DC gateway carries the logical routers of its external networks (VRF only, no networks)
    const exts = overlay ? (file.externalNetworks ?? []).filter((x) => x.gateways.some((g) => g.device === d.name)) : [];
    const outside = new Set(exts.map((x) => x.logicalRouter));
    const lrs = overlay ? (file.logicalRouters ?? []).filter((lr) => routes(lr) || outside.has(lr.name)) : [];
    const here = new Set<string>();
    for (const v of vpgs) for (const b of v.bindings) here.add(b.network);
    for (const lr of lrs) if (routes(lr)) for (const n of lr.networks) here.add(n);
    const secured = vpgs.filter((v) => v.portProfile !== undefined || v.bindings.some((b) => (b.securityGroups ?? []).length > 0)).length;
    out.set(d.name, {
      overlay, virtualNetworks: [...here].filter((n) => vns.has(n)).length, logicalRouters: lrs.length, vpgs: vpgs.length, externalNetworks: exts.length, secured,
    });
  }
  return out;
}
