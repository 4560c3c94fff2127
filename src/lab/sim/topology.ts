// The simulator's generated spine-leaf fabric: every leaf uplinked to every spine of its pod.
// Pure. Addresses are consecutive hosts of one 127.0.0.0/8 block (one address per device).
import { formatIp, hostRange, parseCidr } from '../../domain/ipv4';

export interface SimPort { num: number; name: string }
export interface SimNeighbor { localPort: string; peer: string; peerPort: string }
export interface SimDeviceSpec {
  name: string;
  serial: string;
  role: 'spine' | 'leaf';
  address: string;
  model: string;
  vendor: string;
  osVersion: string;
  sysObjectID: string;
  chassisId: string; // aa:bb:.. (LLDP chassis subtype MAC)
  ports: SimPort[];
  neighbors: SimNeighbor[];
}

export interface SimTopologyOptions {
  spines: number;
  leaves: number;
  /** Spines per pod (leaves of a pod uplink to its spines only). Default: all spines, one pod. */
  spinesPerPod?: number;
  /** Block of 127.0.0.0/8 the addresses come from. Default 127.20.0.0/22 (big enough for 1,022). */
  cidr?: string;
  model?: string;
  /** default: net-snmp's Linux OID, what a Linux + FRR box reports */
  sysObjectID?: string;
  serialPrefix?: string;
  /** Front-panel ports on a leaf; uplinks are the last ones. Default 52. */
  leafPorts?: number;
}

export const SIM_SYS_OBJECT_ID = '1.3.6.1.4.1.8072.3.2.10';
export const SIM_OS_VERSION = '8.4.4';

export function simTopology(o: SimTopologyOptions): SimDeviceSpec[] {
  const { spines, leaves } = o;
  if (!Number.isInteger(spines) || spines < 1 || !Number.isInteger(leaves) || leaves < 0) {
    throw new Error(`sim: --spines must be >= 1 and --leaves >= 0 (got ${spines}, ${leaves})`);
  }
  const perPod = o.spinesPerPod ?? spines;
  if (spines % perPod !== 0) throw new Error(`sim: ${spines} spines do not split into pods of ${perPod}`);
  const pods = spines / perPod;
  const c = parseCidr(o.cidr ?? '127.20.0.0/22');
  if (!c.ok) throw new Error(`sim: cidr ${o.cidr} ${c.reason}`);
  if ((c.cidr.base >>> 24) !== 127) throw new Error(`sim: cidr ${o.cidr} is not inside 127.0.0.0/8`);
  const { first, count } = hostRange(c.cidr);
  if (spines + leaves > count) throw new Error(`sim: ${spines + leaves} devices do not fit in ${o.cidr}`);
  const model = o.model ?? 'frr-switch';
  const prefix = o.serialPrefix ?? 'SIM';
  const leafPorts = o.leafPorts ?? Math.max(52, perPod + 48);
  const leavesPerPod = Math.ceil(leaves / pods);

  const mk = (i: number, name: string, role: 'spine' | 'leaf'): SimDeviceSpec => ({
    name, role, address: formatIp(first + i), model, vendor: 'FRR', osVersion: SIM_OS_VERSION,
    serial: `${prefix}${String(i + 1).padStart(5, '0')}`,
    sysObjectID: o.sysObjectID ?? SIM_SYS_OBJECT_ID,
    chassisId: `02:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255, 1].map((b) => b.toString(16).padStart(2, '0')).join(':')}`,
    ports: [], neighbors: [],
  });
  const devs: SimDeviceSpec[] = [];
  for (let s = 0; s < spines; s++) devs.push(mk(s, `spine${s + 1}`, 'spine'));
  for (let l = 0; l < leaves; l++) devs.push(mk(spines + l, `leaf${l + 1}`, 'leaf'));
  // Leaf ports swp1..N; spine ports swp1..(leaves of its pod).
  for (let l = 0; l < leaves; l++) {
    const leaf = devs[spines + l];
    for (let p = 1; p <= leafPorts; p++) leaf.ports.push({ num: p, name: `swp${p}` });
  }
  for (let s = 0; s < spines; s++) {
    const pod = Math.floor(s / perPod);
    const n = Math.min(leavesPerPod, Math.max(0, leaves - pod * leavesPerPod));
    for (let p = 1; p <= Math.max(n, 1); p++) devs[s].ports.push({ num: p, name: `swp${p}` });
  }
  for (let l = 0; l < leaves; l++) {
    const leaf = devs[spines + l];
    const pod = Math.floor(l / leavesPerPod);
    const idxInPod = l - pod * leavesPerPod;
    for (let k = 0; k < perPod; k++) {
      const spine = devs[pod * perPod + k];
      const leafPort = `swp${leafPorts - perPod + 1 + k}`;
      const spinePort = `swp${idxInPod + 1}`;
      leaf.neighbors.push({ localPort: leafPort, peer: spine.name, peerPort: spinePort });
      spine.neighbors.push({ localPort: spinePort, peer: leaf.name, peerPort: leafPort });
    }
  }
  return devs;
}

/** The links of a sim topology as "a:port--b:port" keys (sorted ends), for checking discovery. */
export function simLinkKeys(devs: SimDeviceSpec[]): string[] {
  const keys = new Set<string>();
  for (const d of devs) {
    for (const n of d.neighbors) {
      const a = `${d.name}:${n.localPort}`;
      const b = `${n.peer}:${n.peerPort}`;
      keys.add(a < b ? `${a}--${b}` : `${b}--${a}`);
    }
  }
  return [...keys].sort();
}
