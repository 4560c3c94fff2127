// Brownfield discovery pipeline: sweep -> SNMP (system + LLDP) -> NETCONF facts, with bounded
// concurrency and per-device errors that never stop the rest; then the topology.
import type { Credentials, DeviceSpec, PhysicalRole, SnmpSettings } from '../domain/types';
import type { HostKeyStore } from '../netconf/client';
import { AllowList } from './allow';
import { sweep, type SweepOptions } from './sweep';
import { readDevice, type LldpInfo, type SystemInfo } from './snmp';
import { readFacts, type DeviceFactsRead } from './facts';
import { buildTopology, type TopologyDevice, type TopologyResult } from './topology';
import type { LinkSpec } from '../domain/types';

export interface DiscoveredDevice {
  address: string;
  system?: SystemInfo;
  lldp?: LldpInfo;
  facts?: DeviceFactsRead;
  /** one line per failed step: "snmp 10.0.0.5: timeout ..." */
  errors: string[];
}

export interface ProbeOptions {
  allow: AllowList;
  snmp: SnmpSettings;
  credentials: Credentials;
  snmpPort?: number;
  snmpTimeoutMs?: number;
  snmpRetries?: number;
  netconfPort?: number;
  hostKeyStore?: HostKeyStore;
  /** devices probed at once. Default 64. */
  concurrency?: number;
  /** skip NETCONF facts (SNMP only) */
  facts?: boolean;
  onDevice?: (d: DiscoveredDevice) => void;
}

/** Runs `fn` over items with at most `n` in flight. */
export async function pool<T, R>(items: T[], n: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  return out;
}

/** SNMP and NETCONF facts of one device; failures become error lines. */
export async function probeDevice(address: string, o: ProbeOptions): Promise<DiscoveredDevice> {
  const d: DiscoveredDevice = { address, errors: [] };
  const snmpP = readDevice(address, { settings: o.snmp, port: o.snmpPort, allow: o.allow, timeoutMs: o.snmpTimeoutMs ?? 2000, retries: o.snmpRetries ?? 1 })
    .then((r) => {
      d.system = { sysDescr: r.sysDescr, sysObjectID: r.sysObjectID, sysName: r.sysName };
      d.lldp = { chassisId: r.chassisId, neighbors: r.neighbors };
    }, (e: Error) => { d.errors.push(e.message); });
  const factsP = o.facts === false ? Promise.resolve() : readFacts(address, { credentials: o.credentials, port: o.netconfPort, allow: o.allow, hostKeyStore: o.hostKeyStore })
    .then((f) => { d.facts = f; }, (e: Error) => { d.errors.push(e.message); });
  await Promise.all([snmpP, factsP]);
  o.onDevice?.(d);
  return d;
}

export interface BrownfieldOptions extends ProbeOptions {
  subnets: string[];
  managementSubnets?: string[];
  sweep?: Partial<Omit<SweepOptions, 'subnets' | 'allow' | 'managementSubnets'>>;
}

export interface BrownfieldResult {
  alive: string[];
  devices: DiscoveredDevice[];
  timings: { sweepMs: number; probeMs: number };
}

export async function discoverBrownfield(o: BrownfieldOptions): Promise<BrownfieldResult> {
  const t0 = Date.now();
  const sw = await sweep({ ...o.sweep, subnets: o.subnets, allow: o.allow, managementSubnets: o.managementSubnets });
  const t1 = Date.now();
  const devices = await pool(sw.alive, o.concurrency ?? 64, (ip) => probeDevice(ip, o));
  return { alive: sw.alive, devices, timings: { sweepMs: t1 - t0, probeMs: Date.now() - t1 } };
}

/** The fabric name of a discovered device: the listed device with its serial, else its serial. */
export function nameFor(d: DiscoveredDevice, listed: Pick<DeviceSpec, 'name' | 'serial'>[]): string | undefined {
  const serial = d.facts?.serial;
  if (!serial) return undefined;
  return listed.find((l) => l.serial === serial)?.name ?? serial;
}

/** Topology of discovered devices, named as the fabric names them. */
export function topologyOf(
  found: { name: string; physicalRole?: PhysicalRole; device: DiscoveredDevice }[],
  opts: { cablingPlan?: LinkSpec[] } = {},
): TopologyResult {
  const tds: TopologyDevice[] = found.map(({ name, physicalRole, device: d }) => ({
    name,
    physicalRole,
    aliases: [d.system?.sysName, d.facts?.hostname, d.facts?.serial].filter((x): x is string => !!x && x !== name),
    chassisIds: d.lldp?.chassisId ? [d.lldp.chassisId] : [],
    neighbors: d.lldp ? d.lldp.neighbors : null,
  }));
  return buildTopology(tds, opts);
}
