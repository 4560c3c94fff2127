// Fabric file -> a containerlab topology (docs/interop.md), pure: `<fabric>.clab.yml` with one
// `linux` node per switch running FRR's image, the rendered frr.conf and an FRR daemons file
// bound into it, the fabric's netdevs (the rendered ifupdown2 text: VRFs, VXLANs, bridges,
// bonds) created by `exec` with the same `ip` commands the twin's agent runs, the links as the
// fabric stores them, servers as plain linux nodes on their NICs' ports, and containerlab's
// management network on the fabric's management subnet (each known management address pinned).
import { dump } from 'js-yaml';
import type { DevicePlan, FabricFile } from '../domain/types';
import { renderDevice } from '../platforms';
import { EMPTY_NETDEV_STATE, parseInterfaces, planReconcile } from '../lab/agent/interfaces';

export const DEFAULT_FRR_IMAGE = 'quay.io/frrouting/frr:8.4.4';
export const DEFAULT_SERVER_IMAGE = 'alpine:3';

export class ContainerlabError extends Error {}

// FRR's daemons file: the daemons the rendered config needs (zebra always runs).
const DAEMONS = `# fabric-ztp: FRR daemons for the rendered config
bgpd=yes
bfdd=yes
staticd=yes
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
bgpd_options="   -A 127.0.0.1"
bfdd_options="   -A 127.0.0.1"
staticd_options="-A 127.0.0.1"
`;

export interface ClabExport {
  /** path (relative to the output directory) -> content; the topology is `<fabric>.clab.yml` */
  files: Record<string, string>;
  topology: string;
}

/** A switch to run: its rendered config files (offline: renderDevice; from a service: the intended config it recorded). */
export interface ClabSwitch { name: string; platform: string; physicalRole: string; profile: string | null; files: Record<string, string> }

/** Offline: every device's plan rendered. */
export function renderedSwitches(plans: DevicePlan[]): ClabSwitch[] {
  return plans.map((p) => ({ name: p.name, platform: p.platform, physicalRole: p.physicalRole, profile: p.profile, files: renderDevice(p).files }));
}

export function fabricToContainerlab(file: FabricFile, switches: ClabSwitch[], o: { image?: string; serverImage?: string } = {}): ClabExport {
  const junos = switches.filter((p) => p.platform !== 'frr').map((p) => p.name);
  if (junos.length) {
    throw new ContainerlabError(`containerlab export needs FRR devices; ${junos.join(', ')} ${junos.length > 1 ? 'are' : 'is'} Junos (its XML config has no containerlab node kind here)`);
  }
  const files: Record<string, string> = {};
  const nodes: Record<string, object> = {};
  for (const sw of switches) {
    const conf = sw.files[`${sw.name}.frr.conf`];
    if (conf === undefined) throw new ContainerlabError(`device ${sw.name}: no rendered frr.conf`);
    files[`${sw.name}/frr.conf`] = conf;
    files[`${sw.name}/daemons`] = DAEMONS;
    files[`${sw.name}/vtysh.conf`] = 'service integrated-vtysh-config\n';
    const itf = sw.files[`${sw.name}.interfaces`];
    const exec = itf ? planReconcile(parseInterfaces(itf), EMPTY_NETDEV_STATE, new Set()).commands.map((c) => c.join(' ')) : [];
    const d = file.devices.find((x) => x.name === sw.name);
    nodes[sw.name] = {
      kind: 'linux',
      image: o.image ?? DEFAULT_FRR_IMAGE,
      ...(d?.managementIp ? { 'mgmt-ipv4': d.managementIp } : {}),
      labels: { 'fabric-ztp.role': sw.physicalRole, ...(sw.profile ? { 'fabric-ztp.profile': sw.profile } : {}) },
      binds: [`${sw.name}/frr.conf:/etc/frr/frr.conf`, `${sw.name}/daemons:/etc/frr/daemons`, `${sw.name}/vtysh.conf:/etc/frr/vtysh.conf`],
      // netdevs first; FRR (started by the image) picks them up as they appear
      ...(exec.length ? { exec } : {}),
    };
  }
  const links: { endpoints: [string, string] }[] = file.links.map((l) => ({ endpoints: [`${l.a.device}:${l.a.port}`, `${l.b.device}:${l.b.port}`] }));
  for (const s of file.servers ?? []) {
    if (Object.hasOwn(nodes, s.name)) throw new ContainerlabError(`server ${s.name}: a switch has that name too`);
    nodes[s.name] = { kind: 'linux', image: o.serverImage ?? DEFAULT_SERVER_IMAGE, labels: { 'fabric-ztp.role': 'server' } };
    s.nics.forEach((n, i) => links.push({ endpoints: [`${s.name}:eth${i + 1}`, `${n.device}:${n.port}`] }));
  }
  const m = file.fabric.namespaces.management[0];
  const topo = {
    name: file.fabric.name,
    ...(m ? { mgmt: { network: `fz-${file.fabric.name}`.slice(0, 15), 'ipv4-subnet': m.cidr, 'ipv4-gw': m.gateway } } : {}),
    topology: { nodes, links },
  };
  const topology = `${file.fabric.name}.clab.yml`;
  files[topology] = `# fabric-ztp: fabric ${file.fabric.name} for containerlab (sudo containerlab deploy -t ${topology})\n${dump(topo, { lineWidth: -1, noRefs: true })}`;
  return { files, topology };
}
