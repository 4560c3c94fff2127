// The store's fabric for a simulator run (benches and tests create the same one): the sim's
// devices and links, management namespace = the sim's block, pools big enough for 1,000
// devices, spine1/spine2 route reflectors, and optionally a dual-homed server on each pair of
// leaves (leaf1+leaf2, leaf3+leaf4, ...), which the upgrade planner keeps in separate batches.
import { formatIp, hostRange, parseCidr } from '../../domain/ipv4';
import type { SimDeviceSpec } from './topology';

export interface SimFabricOptions {
  cidr: string;
  credentials: { username: string; password: string };
  community?: string;
  /** a server with one NIC on each leaf of a pair (swp10) */
  dualHomedServers?: boolean;
}

export function simFabricInput(name: string, devices: readonly SimDeviceSpec[], links: readonly string[], o: SimFabricOptions): object {
  const c = parseCidr(o.cidr);
  if (!c.ok) throw new Error(`sim fabric: cidr ${o.cidr} ${c.reason}`);
  const { first, count } = hostRange(c.cidr);
  const leaves = devices.filter((d) => d.role === 'leaf').map((d) => d.name);
  const servers = o.dualHomedServers
    ? Array.from({ length: Math.floor(leaves.length / 2) }, (_, i) => ({
      name: `bms${i + 1}`, nics: [{ device: leaves[2 * i], port: 'swp10' }, { device: leaves[2 * i + 1], port: 'swp10' }],
    }))
    : [];
  return {
    fabric: {
      name, credentials: o.credentials, snmp: { community: o.community ?? 'fabric-ro' },
      namespaces: {
        management: [{ cidr: o.cidr, gateway: formatIp(first + count - 1) }],
        loopback: ['10.255.0.0/22'], fabric: ['10.254.0.0/19'], asn: [{ min: 64601, max: 65400 }], overlayAsn: 64512,
      },
    },
    devices: devices.map((d) => ({
      name: d.name, serial: d.serial, profile: 'frr-switch', physicalRole: d.role,
      roles: d.role === 'spine' ? (d.name === 'spine1' || d.name === 'spine2' ? ['Route-Reflector'] : []) : ['CRB-Access'],
      managementIp: d.address,
    })),
    links: links.map((k) => k.split('--')),
    ...(servers.length ? { servers } : {}),
  };
}
