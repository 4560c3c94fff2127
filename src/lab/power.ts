// Powering a twin device off and on, and replacing it by a factory-default box with another
// serial on the same cables (issue 15, RMA). netns backend only: a device is its namespace's
// agent and the daemons it started. Off: every process of the node killed by recorded pid (and
// whatever else runs in its namespace, which is the node's), its links down (the peers lose
// carrier, as with a dead box), addresses and config-made netdevs gone. On: the agent again from
// the node's device.json; a bootstrapped box comes back with its address and config, a replaced
// one in factory default (DHCP on eth0). Cables (veths) are never touched.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceConfig } from './agent/device';
import { LabError, agentMainPath, listNamespaces, readStatus, requireRoot } from './netns';
import { LabPaths, isAlive, killRecorded, readRecord, recordPidTo, recordedPids, writeRecord, type LabRecord } from './state';
import { deviceIdentity } from './topology';
import { must, run, sleep, spawnDaemon } from './sh';

// The serial rule of the service's DHCP identity (src/discovery/dhcp/identity.ts; lab may not import discovery).
const SERIAL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface PowerOptions { root?: string; log?: (line: string) => void; timeoutSeconds?: number; nodeBin?: string }

function deviceOf(lab: string, node: string, root?: string): { p: LabPaths; rec: LabRecord; ns: string } {
  const p = new LabPaths(lab, root);
  const rec = readRecord(p);
  if (!rec) throw new LabError(`lab ${lab}: no such lab under ${p.dir}`);
  if (rec.backend !== 'netns') throw new LabError(`lab ${lab}: power and replace work on netns labs only (this one is ${rec.backend}); the vm backend does not carry them yet`);
  if (!rec.topology.devices.some((d) => d.name === node)) {
    throw new LabError(`lab ${lab}: no device "${node}" (devices: ${rec.topology.devices.map((d) => d.name).join(', ')})`);
  }
  return { p, rec, ns: `${lab}-${node}` };
}

const agentOf = (p: LabPaths, node: string) => recordedPids(p.pidFile).filter((e) => e.node === node && e.what === 'agent' && isAlive(e));

/** True when the device's agent runs. */
export function isPoweredOn(lab: string, node: string, root?: string): boolean {
  const { p } = deviceOf(lab, node, root);
  return agentOf(p, node).length > 0;
}

export async function powerOff(lab: string, node: string, o: PowerOptions = {}): Promise<void> {
  const { p, ns } = deviceOf(lab, node, o.root);
  requireRoot();
  if (!(await listNamespaces()).has(ns)) throw new LabError(`lab ${lab}: ${ns} does not exist (is the lab up?)`);
  const mine = recordedPids(p.pidFile).filter((e) => e.node === node);
  const killed = (await killRecorded(mine.filter((e) => e.what === 'agent'), 3000)) + (await killRecorded(mine.filter((e) => e.what !== 'agent'), 3000));
  // Anything left in the node's namespace is the node's (a daemon the agent had not recorded yet).
  const left = (await run(['ip', 'netns', 'pids', ns])).stdout.split('\n').map(Number).filter((x) => x > 0);
  for (const pid of left) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  const cfg = JSON.parse(readFileSync(join(p.nodeRun(node), 'device.json'), 'utf8')) as DeviceConfig;
  const physical = new Set(['lo', 'eth0', ...cfg.ports]);
  const links = JSON.parse((await must(['ip', '-n', ns, '-j', 'link', 'show'])) || '[]') as { ifname: string }[];
  const lines: string[] = [];
  for (const l of links) {
    if (!physical.has(l.ifname)) lines.push(`link del dev ${l.ifname}`);
  }
  for (const port of ['eth0', ...cfg.ports]) lines.push(`addr flush dev ${port}`, `link set dev ${port} down`);
  lines.push('addr flush dev lo scope global');
  // -force: a netdev that went with its master is fine
  await run(['ip', '-n', ns, '-force', '-batch', '-'], { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
  rmSync(join(p.nodeRun(node), 'status.json'), { force: true });
  o.log?.(`${node} powered off (${killed + left.length} processes, ${cfg.ports.length} ports down)`);
}

export async function powerOn(lab: string, node: string, o: PowerOptions = {}): Promise<Record<string, unknown>> {
  const { p, ns } = deviceOf(lab, node, o.root);
  requireRoot();
  if (agentOf(p, node).length) throw new LabError(`lab ${lab}: ${node} is already powered on`);
  const main = agentMainPath();
  if (!existsSync(main)) throw new LabError(`device agent not built: ${main} is missing (run npx tsc first)`);
  const runDir = p.nodeRun(node);
  rmSync(join(runDir, 'status.json'), { force: true });
  await must(['ip', '-n', ns, 'link', 'set', 'dev', 'eth0', 'up']);
  const pid = spawnDaemon(['ip', 'netns', 'exec', ns, 'unshare', '--uts', o.nodeBin ?? process.execPath, main, '--run', runDir], join(runDir, 'agent.log'));
  recordPidTo(p.pidFile, pid, node, 'agent');
  // Up once the agent says so: NETCONF for a bootstrapped box, dhclient for a factory-default one.
  const end = Date.now() + (o.timeoutSeconds ?? 120) * 1000;
  for (;;) {
    const st = readStatus(p, node);
    if (st?.error) throw new LabError(`${node}: ${String(st.error)}`);
    if (st && (st.netconf === true || st.dhcp === true)) {
      o.log?.(`${node} powered on: ${st.netconf === true ? `NETCONF on ${String(st.managementIp)}` : 'factory default, DHCP on eth0'}`);
      return st;
    }
    if (!agentOf(p, node).length) throw new LabError(`${node}: the agent exited during boot (see ${join(runDir, 'agent.log')})`);
    if (Date.now() > end) throw new LabError(`${node}: not up after ${o.timeoutSeconds ?? 120} s`);
    await sleep(200);
  }
}

/** A locally administered unicast MAC: a new box has its own. */
const newMac = () => {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
};

/**
 * The old box off, a factory-default one with `serial` on the same cables: no host key, no
 * state, no bootstrap, a new MAC on eth0. The lab's record carries the new serial.
 */
export async function replaceDevice(lab: string, node: string, serial: string, o: PowerOptions = {}): Promise<Record<string, unknown>> {
  if (!SERIAL_RE.test(serial)) throw new LabError(`--serial "${serial}": 1-64 of [A-Za-z0-9._-], starting with a letter or digit`);
  const { p, rec, ns } = deviceOf(lab, node, o.root);
  requireRoot();
  const dev = rec.topology.devices.find((d) => d.name === node)!;
  if (dev.serial === serial) throw new LabError(`--serial ${serial} is ${node}'s serial now: a replacement has another`);
  const other = rec.topology.devices.find((d) => d.serial === serial);
  if (other) throw new LabError(`--serial ${serial} belongs to ${other.name} in lab ${lab}`);
  if (agentOf(p, node).length) await powerOff(lab, node, o);
  const runDir = p.nodeRun(node);
  const cfg = JSON.parse(readFileSync(join(runDir, 'device.json'), 'utf8')) as DeviceConfig;
  const next: DeviceConfig = { ...cfg, serial, vendorClass: deviceIdentity({ ...dev, serial }).vendorClass, preconfigured: undefined };
  writeFileSync(join(runDir, 'device.json'), JSON.stringify(next, null, 2), { mode: 0o600 });
  // A new box: nothing of the old one survives (host key, saved config, SNMP engine, leases).
  rmSync(p.nodeState(node), { recursive: true, force: true });
  for (const f of ['lease.env', 'dhclient.leases', 'dhclient.pid']) rmSync(join(runDir, f), { force: true });
  await must(['ip', '-n', ns, 'link', 'set', 'dev', 'eth0', 'address', newMac()]);
  writeRecord(p, { ...rec, topology: { ...rec.topology, devices: rec.topology.devices.map((d) => (d.name === node ? { ...d, serial } : d)) } });
  o.log?.(`${node}: serial ${dev.serial} replaced by ${serial} (factory default, same cables)`);
  return powerOn(lab, node, o);
}
