// External networks -> the DC gateways' plans (issue 16): each gateway of an external network
// carries the tenant's VRF (L3VNI, type-5; no IRBs unless another role puts them there) and an
// EBGP session to the outside router in it. Pure; expects a validated file.
import type { ExternalNetworkSpec, FabricFile, PlanExternalNetwork } from '../domain/types';

/** Logical routers a device carries as a gateway of an external network. */
export function gatewayRouters(file: FabricFile, device: string): Set<string> {
  const out = new Set<string>();
  for (const x of file.externalNetworks ?? []) if (x.gateways.some((g) => g.device === device)) out.add(x.logicalRouter);
  return out;
}

function planOf(file: FabricFile, x: ExternalNetworkSpec, g: ExternalNetworkSpec['gateways'][number]): PlanExternalNetwork {
  const lr = (file.logicalRouters ?? []).find((l) => l.name === x.logicalRouter)!;
  const subnets = new Map((file.virtualNetworks ?? []).map((v) => [v.name, v.subnet]));
  const out = (x.export ?? lr.networks).map((n) => subnets.get(n)).filter((s): s is string => s !== undefined);
  return {
    name: x.name, vrf: lr.name, interface: g.port, address: g.address, peer: g.peer, peerAsn: x.peerAsn,
    import: [...(x.import ?? [])], defaultRoute: x.defaultRoute === true, export: out,
  };
}

/** This device's external networks, in file order. */
export function compileExternal(file: FabricFile, device: string): PlanExternalNetwork[] {
  const out: PlanExternalNetwork[] = [];
  for (const x of file.externalNetworks ?? []) {
    const g = x.gateways.find((y) => y.device === device);
    if (g) out.push(planOf(file, x, g));
  }
  return out;
}
