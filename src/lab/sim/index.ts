// The scale simulator: N light devices in one process, each on its own 127.x.y.z address,
// with NETCONF (H3's server core, facts RPC, config store + validation) and an SNMP agent
// (system group, LLDP-MIB) for a generated spine-leaf topology.
//
// Every 127.x address answers ping on the host, so for a sweep the sim runs inside a
// namespace of our own where only the devices' addresses exist (`prepareSimNamespace`), and
// the sweeper runs there too.
import { execFileSync } from 'node:child_process';
import { simTopology, simLinkKeys, type SimDeviceSpec, type SimTopologyOptions } from './topology';
import { startSnmpAgent, type SimSnmpAgent } from './snmp-agent';
import { SimNetconf, type SimInstallOptions } from './netconf';

export { simTopology, simLinkKeys } from './topology';
export type { SimDeviceSpec } from './topology';
export type { SimInstallOptions } from './netconf';

export interface SimOptions extends SimTopologyOptions {
  credentials?: { username: string; password: string };
  community?: string;
  v3?: { user: string; authKey: string; privKey: string };
  netconfPort?: number;
  snmpPort?: number;
  /** skip NETCONF or SNMP (memory measurements) */
  netconf?: boolean;
  snmp?: boolean;
  /** devices generated (their neighbors see them) but not started: racked, not yet powered */
  exclude?: string[];
  /** simulated OS installs: install time, reboot time, devices whose install fails */
  install?: SimInstallOptions;
}

export interface Sim {
  devices: SimDeviceSpec[];
  links: string[];
  startupMs: number;
  netconf?: SimNetconf;
  /** starts a device left out with `exclude` */
  startDevice(name: string): Promise<void>;
  stop(): Promise<void>;
}

export const SIM_DEFAULTS = {
  credentials: { username: 'admin', password: 'admin123' },
  community: 'fabric-ro',
};

export async function runSim(o: SimOptions): Promise<Sim> {
  const t0 = Date.now();
  const devices = simTopology(o);
  const peers = new Map(devices.map((d) => [d.name, d]));
  const agents: SimSnmpAgent[] = [];
  const nc = o.netconf === false ? undefined : new SimNetconf({ credentials: o.credentials ?? SIM_DEFAULTS.credentials, port: o.netconfPort, install: o.install });
  const stop = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.close()));
    await nc?.close();
  };
  const start = async (d: SimDeviceSpec): Promise<void> => {
    if (o.snmp !== false) agents.push(await startSnmpAgent(d, peers, { community: o.community ?? SIM_DEFAULTS.community, v3: o.v3, port: o.snmpPort }));
    if (nc) await nc.add(d);
  };
  const excluded = new Set(o.exclude ?? []);
  const started = new Set<string>();
  try {
    // Bounded parallelism: fast, without a burst of thousands of binds at once.
    const batch = 50;
    const todo = devices.filter((d) => !excluded.has(d.name));
    for (let i = 0; i < todo.length; i += batch) {
      await Promise.all(todo.slice(i, i + batch).map(async (d) => { await start(d); started.add(d.name); }));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const startDevice = async (name: string): Promise<void> => {
    const d = peers.get(name);
    if (!d) throw new Error(`sim: no device ${name}`);
    if (started.has(name)) return;
    await start(d);
    started.add(name);
  };
  return { devices, links: simLinkKeys(devices), startupMs: Date.now() - t0, netconf: nc, startDevice, stop };
}

const NS_RE = /^ds[a-z0-9-]{1,13}$/;

/**
 * A namespace of our own holding only the given addresses (on `lo`, as /32s; 127.0.0.1 kept),
 * so a ping sweep inside it finds exactly them. Name must start with `ds`.
 */
export function prepareSimNamespace(name: string, addresses: string[]): void {
  if (!NS_RE.test(name)) throw new Error(`sim namespace "${name}" must match ${NS_RE}`);
  execFileSync('ip', ['netns', 'add', name]);
  const batch = ['link set lo up', 'addr del 127.0.0.1/8 dev lo', 'addr add 127.0.0.1/32 dev lo', ...addresses.map((a) => `addr add ${a}/32 dev lo`)];
  execFileSync('ip', ['-n', name, '-batch', '-'], { input: batch.join('\n') + '\n' });
}

export function removeSimNamespace(name: string): void {
  if (!NS_RE.test(name)) throw new Error(`sim namespace "${name}" must match ${NS_RE}`);
  try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* already gone */ }
}
