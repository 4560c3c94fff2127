// The chaos tests' peer where a routing daemon is needed (a kill mid-verify): the netns twin of
// 2 spines + 2 leaves (real FRR, the device agent's NETCONF), preconfigured, reached through TCP
// relays into the lab's controller namespace, by this process and by the worker processes.
// Lab name `ch` + 4 random characters; close() takes the lab down (namespaces, processes).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { relay, tmpRoot, within, type Relay } from '../lab/helpers';
import type { ChaosPeer } from './chaos-fabric';

const DEVICES = [
  { name: 'spine1', serial: 'CHS0001', role: 'spine' as const },
  { name: 'spine2', serial: 'CHS0002', role: 'spine' as const },
  { name: 'leaf1', serial: 'CHS0101', role: 'leaf' as const },
  { name: 'leaf2', serial: 'CHS0102', role: 'leaf' as const },
];
const LINKS = [['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51'], ['spine2:swp1', 'leaf1:swp52'], ['spine2:swp2', 'leaf2:swp52']];
const CREDS = { username: 'admin', password: 'chaos-pass1' };

export async function twinPeer(): Promise<ChaosPeer & { lab: string }> {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const lab = 'ch' + [...randomBytes(4)].map((b) => abc[b % abc.length]).join('');
  const root = tmpRoot();
  const management = { cidr: '10.0.0.0/24', gateway: '10.0.0.1' };
  const topo = validateTopology({
    name: lab, management, credentials: CREDS, snmp: { community: 'chaos-ro' },
    devices: DEVICES.map((d) => ({ name: d.name, serial: d.serial, profile: 'frr-switch' })), links: LINKS,
  });
  const relays = new Map<string, Relay>();
  const close = async () => {
    for (const r of relays.values()) await within(r.close().catch(() => undefined), 5000);
    await netnsBackend.down(lab, { root });
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const up = await netnsBackend.up(topo, { preconfigured: true, root, timeoutSeconds: 180 });
    for (const d of DEVICES) relays.set(d.name, await relay(lab, up.managementIps[d.name], 830));
    return {
      lab,
      devices: DEVICES.map((d) => ({ ...d, address: up.managementIps[d.name] })),
      links: LINKS,
      management,
      credentials: CREDS,
      endpoint: (device) => ({ host: '127.0.0.1', port: relays.get(device)!.port }),
      workerEndpoints: Object.fromEntries(DEVICES.map((d) => [up.managementIps[d.name], `127.0.0.1:${relays.get(d.name)!.port}`])),
      workerEnv: { CHAOS_VERIFY: '1', CHAOS_RPC_MS: '20000', CHAOS_CONFIRM_S: '120' },
      close,
    };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}
