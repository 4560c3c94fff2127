// The `onboard` job: greenfield (DHCP leases -> bootstrap -> NETCONF facts) or brownfield
// (sweep -> SNMP -> NETCONF facts), then the same import (profile by model or sysObjectID,
// device upserted by serial, ports), then LLDP topology over SNMP -> links with anomalies.
// Re-running on a managed fabric adds what is new and touches nothing else; the devices on
// both ends of a new link are marked for the next autoconfigure.
//
// Written against H5's job registry (plan -> one child per device -> finalize); `runOnboarding`
// drives the same three functions in-process (tests, CLI, benchmarks).
import { networkInterfaces } from 'node:os';
import type { Redis } from 'ioredis';
import type { FabricFile, LinkSpec, SnmpSettings, Credentials, PhysicalRole } from '../domain/types';
import { linkKey } from '../domain/types';
import { profileForModel, profileForSysObjectId } from '../domain/profiles';
import type { JobTypeDef, PlanContext, DeviceContext, FinalizeContext, JobServices } from '../jobs/registry';
import type { DeviceOutcome } from '../jobs/records';
import { JobFailedError } from '../jobs/errors';
import type { DeviceRecord, LinkRecord, PortRecord, Store } from '../store';
import { AllowList, DiscoveryError } from './allow';
import { liveDhcpServers } from './presence';
import { sweep, validateSweep } from './sweep';
import { SnmpDevice, type BgpMibPeer, type LldpInfo, type SystemInfo } from './snmp';
import { compareBgpMib } from './bgp-mib';
import { readFacts, readFactsAndUnderlay, type DeviceFactsRead } from './facts';
import type { RunningUnderlay } from '../platforms/types';
import { adoptAndRecord } from './adopt-record';
import { buildTopology, type Anomaly, type TopologyDevice } from './topology';
import { RedisLeaseStore, activeFabricFor, releaseUnonboarded, type Lease } from './dhcp';

export interface OnboardParams {
  mode: 'greenfield' | 'brownfield';
  expectedDevices?: number;
  serials?: string[];
  subnets?: string[];
  cablingPlan?: (LinkSpec | [string, string])[];
  manageUnderlay?: boolean;
  /** brownfield: adopt running loopbacks/ASNs/link subnets outside the fabric's namespaces (they widen the pools) */
  adoptOutsidePools?: boolean;
  timeoutSeconds?: number;
  /** tests and the sim: ports other than 830 / 161 */
  netconfPort?: number;
  snmpPort?: number;
  /** greenfield: DHCP lease time handed out (default 3600 s) */
  leaseSeconds?: number;
  /** greenfield: how long a device may take to apply its bootstrap (default: timeoutSeconds, at least 120 s) */
  bootstrapWaitSeconds?: number;
  /** greenfield: LLDP re-reads (5 s apart) while links look one-sided (default 4) */
  lldpSettleRounds?: number;
}

export interface DeviceTaskData { ip: string; serial?: string; mac?: string }

export interface OnboardDeviceResult {
  ip: string;
  serial: string;
  name: string;
  model: string;
  profile: string | null;
  unknownModel?: true;
  osVersion: string;
  system?: SystemInfo;
  lldp?: LldpInfo;
  snmpError?: string;
  /** brownfield: the underlay the device runs (adopted at finalize), or why it could not be read */
  underlay?: RunningUnderlay;
  underlayError?: string;
  /** brownfield: BGP4-MIB's bgpPeerTable over SNMP ([]: the device does not serve it) */
  bgpMib?: BgpMibPeer[];
}

export interface OnboardResult {
  mode: 'greenfield' | 'brownfield';
  found: { name: string; serial: string; ip: string; profile: string | null; created: boolean }[];
  missing: string[];
  unknownModels: { name: string; model: string; sysObjectID?: string }[];
  links: { found: number; added: number; kept: number };
  anomalies: Anomaly[];
  needsConfig: string[];
  releasedLeases?: number;
  /** brownfield: what was adopted from the running underlays (src/discovery/adopt.ts) */
  adopted?: { loopbacks: number; asns: number; links: number; outsidePools: string[]; notes: string[] };
  /** brownfield: devices whose BGP4-MIB was compared with NETCONF; those without one (not served, or unanswered) */
  bgpMib?: { compared: string[]; without: string[] };
}

interface PlanData { mode: OnboardParams['mode']; expected?: number; serials?: string[] }

function localAddresses(iface: string): string[] {
  return (networkInterfaces()[iface] ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function storeOf(s: JobServices): Store { return s.store as Store; }

function allowFor(s: JobServices, file: FabricFile): AllowList {
  const conf = (s.config as { discoveryAllow?: string[] }).discoveryAllow ?? [];
  return AllowList.forFabric(file.fabric.namespaces.management.map((m) => m.cidr), conf);
}

function snmpSettings(secrets: { snmp?: SnmpSettings }): SnmpSettings {
  if (!secrets.snmp) throw new DiscoveryError('the fabric has no SNMP settings: discovery reads LLDP over SNMP (set fabric.snmp)');
  return secrets.snmp;
}

function normPlan(p?: OnboardParams['cablingPlan']): LinkSpec[] | undefined {
  if (!p) return undefined;
  const end = (t: string, i: number, side: string) => {
    const k = t.indexOf(':');
    if (k <= 0 || k === t.length - 1) throw new DiscoveryError(`cablingPlan[${i}].${side} "${t}" is not device:port`);
    return { device: t.slice(0, k), port: t.slice(k + 1) };
  };
  return p.map((l, i) => (Array.isArray(l) ? { a: end(l[0], i, '0'), b: end(l[1], i, '1') } : l));
}

// ------------------------------------------------------------------------------ plan

export async function planOnboard(ctx: PlanContext<OnboardParams>): Promise<{ devices: { device: string; data: DeviceTaskData }[]; data: PlanData }> {
  const p = ctx.params;
  if (p.mode !== 'greenfield' && p.mode !== 'brownfield') throw new DiscoveryError(`mode: "${String(p.mode)}" is not greenfield or brownfield`);
  const store = storeOf(ctx.services);
  const { file } = await store.getFabricFile(ctx.fabric);
  normPlan(p.cablingPlan); // bad plans fail before anything is sent
  const allow = allowFor(ctx.services, file);
  const mgmt = file.fabric.namespaces.management.map((m) => m.cidr);
  const data: PlanData = { mode: p.mode, expected: p.expectedDevices, serials: p.serials };
  if (p.mode === 'brownfield') {
    const subnets = p.subnets?.length ? p.subnets : mgmt;
    validateSweep({ subnets, allow, managementSubnets: mgmt });
    await ctx.log(`sweeping ${subnets.join(', ')}`);
    const r = await sweep({ subnets, allow, managementSubnets: mgmt, deadlineMs: Math.min(600, p.timeoutSeconds ?? 600) * 1000 });
    // The management gateways and the service's own management address answer too: not devices.
    const own = (ctx.services.config as { dhcpInterface?: string }).dhcpInterface;
    const notDevices = new Set([...file.fabric.namespaces.management.map((m) => m.gateway), ...(own ? localAddresses(own) : [])]);
    const alive = r.alive.filter((ip) => !notDevices.has(ip));
    await ctx.log(`sweep: ${r.alive.length} of ${r.probed} addresses answered in ${r.durationMs} ms${alive.length < r.alive.length ? ` (${r.alive.length - alive.length} gateway/own address left out)` : ''}`);
    return { devices: alive.map((ip) => ({ device: ip, data: { ip } })), data };
  }
  // Greenfield: open DHCP for this fabric and wait for the devices to take leases. Only when a
  // DHCP server runs: otherwise the wait could only end in a timeout.
  const servers = await liveDhcpServers(ctx.services.redis);
  if (!servers.length) {
    throw new DiscoveryError('greenfield onboarding needs a DHCP server on the management segment and none is running: start the service with DHCP_INTERFACE=<interface> (see docs/discovery.md)');
  }
  const leases = new RedisLeaseStore(ctx.services.redis);
  const timeoutMs = (p.timeoutSeconds ?? 900) * 1000;
  const deadline = Date.now() + timeoutMs;
  await leases.activate(activeFabricFor(file, { leaseSeconds: p.leaseSeconds, jobId: ctx.jobId, untilMs: deadline + 10 * 60_000 }));
  await ctx.log(`DHCP open for ${mgmt.join(', ')} on ${servers.map((s) => `${s.interface} ${s.address} (${s.backend})`).join(', ')} until the expected devices have leases (timeout ${Math.round(timeoutMs / 1000)} s)`);
  const want = p.serials?.length ? new Set(p.serials) : undefined;
  const expected = want ? want.size : p.expectedDevices ?? file.devices.filter((d) => d.serial).length;
  const seen = new Map<string, Lease>();
  // Devices onboarded by an earlier run no longer ask for DHCP (they keep their pinned
  // address): they count as found and are re-read where they are, so a re-run is quick and
  // changes nothing.
  const known: { device: string; data: DeviceTaskData }[] = [];
  for (const d of await store.listDevices(ctx.fabric)) {
    if (!d.serial || !d.managementIp || d.managedState !== 'active') continue;
    if (want && !want.has(d.serial)) continue;
    known.push({ device: d.managementIp, data: { ip: d.managementIp, serial: d.serial } });
  }
  const knownSerials = new Set(known.map((k) => k.data.serial!));
  if (known.length) await ctx.log(`${known.length} device(s) already onboarded: ${[...knownSerials].join(', ')}`);
  for (;;) {
    await ctx.checkCancel();
    for (const l of await leases.list(ctx.fabric)) {
      if (l.state !== 'bound' || !l.serial || seen.has(l.serial) || knownSerials.has(l.serial)) continue;
      if (want && !want.has(l.serial)) continue;
      seen.set(l.serial, l);
      await store.upsertDiscoveredDevice(ctx.fabric, { serial: l.serial, managementIp: l.ip, managedState: 'dhcp', model: l.model });
      await ctx.log(`${l.serial} took lease ${l.ip}${l.model ? ` (${l.vendor ?? ''} ${l.model})` : ''}`);
    }
    if (expected > 0 && seen.size + known.length >= expected) break;
    if (Date.now() >= deadline) {
      await ctx.log(`timeout: ${seen.size + known.length} of ${expected || 'the'} expected devices found`);
      break;
    }
    await sleep(1000);
  }
  return { devices: [...known, ...[...seen.values()].map((l) => ({ device: l.ip, data: { ip: l.ip, serial: l.serial, mac: l.mac } }))], data };
}

// ------------------------------------------------------------------------------ device

async function factsWithRetry(ip: string, creds: Credentials, o: { allow: AllowList; port?: number; waitMs: number; hostKeyStore?: Parameters<typeof readFacts>[1]['hostKeyStore']; deviceId?: string; checkCancel(): Promise<void> }): Promise<DeviceFactsRead> {
  const until = Date.now() + o.waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await readFacts(ip, { credentials: creds, port: o.port, allow: o.allow, hostKeyStore: o.hostKeyStore, deviceId: o.deviceId, connectTimeoutMs: 10_000 });
    } catch (e) {
      // Before its bootstrap is applied a device refuses NETCONF: wait (bounded) and retry.
      if (Date.now() + 2000 > until || attempt >= 200) throw e;
      await o.checkCancel();
      await sleep(2000);
    }
  }
}

export async function onboardDevice(ctx: DeviceContext<OnboardParams>): Promise<OnboardDeviceResult> {
  const p = ctx.params;
  const { ip, serial: leaseSerial } = ctx.data as DeviceTaskData;
  const store = storeOf(ctx.services);
  const { file } = await store.getFabricFile(ctx.fabric);
  const allow = allowFor(ctx.services, file);
  const secrets = await store.getFabricSecrets(ctx.fabric);
  // facts: NETCONF with the fabric's credentials (greenfield: once the bootstrap is applied)
  await ctx.step('facts');
  // A device may take as long as the onboarding window to come up after its lease (a loaded
  // host under software emulation needs more than 120 s); the retry ends as soon as it answers.
  const waitMs = p.mode === 'greenfield' ? (p.bootstrapWaitSeconds ?? Math.max(120, p.timeoutSeconds ?? 120)) * 1000 : 0;
  // brownfield: what the device runs too (same session), adopted at finalize
  const bf = p.mode === 'brownfield' ? await readFactsAndUnderlay(ip, { credentials: secrets.credentials, port: p.netconfPort, allow }) : undefined;
  const facts = bf ? bf.facts : await factsWithRetry(ip, secrets.credentials, { allow, port: p.netconfPort, waitMs, checkCancel: () => ctx.checkCancel() });
  if (leaseSerial && facts.serial !== leaseSerial) {
    throw new DiscoveryError(`${ip}: facts report serial ${facts.serial}, the DHCP lease was taken by ${leaseSerial}`);
  }
  // snmp: system group and LLDP (a failure here is reported, not fatal: facts are enough to import)
  await ctx.step('snmp');
  let system: SystemInfo | undefined;
  let lldp: LldpInfo | undefined;
  let snmpError: string | undefined;
  let bgpMib: BgpMibPeer[] | undefined;
  const snmp = new SnmpDevice(ip, { settings: snmpSettings(secrets), port: p.snmpPort, allow, timeoutMs: 2000, retries: 2 });
  try {
    [system, lldp] = await Promise.all([snmp.system(), snmp.lldp()]);
    // brownfield: the MIB's view of the BGP neighbours, checked against NETCONF's at finalize
    if (bf?.underlay) bgpMib = await snmp.bgpPeers().catch(() => undefined);
  } catch (e) {
    snmpError = (e as Error).message;
    await ctx.log(`${ip}: ${snmpError}`);
  } finally {
    snmp.close();
  }
  // import: profile, device by serial, ports; management address pinned in the store (and, in
  // greenfield, reserved in DHCP: the agent keeps its lease address once bootstrapped)
  await ctx.step('import');
  const byModel = facts.model ? profileForModel(facts.model) : undefined;
  const byOid = !byModel && system?.sysObjectID ? profileForSysObjectId(system.sysObjectID) : undefined;
  const profile = byModel ?? byOid;
  const ports: PortRecord[] = facts.interfaces
    .filter((i) => !/^(eth0|lo|mgmt\d*|em0|fxp0|re0:mgmt-\d)$/.test(i.name))
    .map((i) => ({ name: i.name, ...(i.mac ? { mac: i.mac } : {}), operState: i.operStatus === 'up' ? 'up' : i.operStatus === 'down' ? 'down' : 'unknown' }));
  const { device } = await store.upsertDiscoveredDevice(ctx.fabric, {
    serial: facts.serial, model: facts.model || undefined, profile: profile?.name, managementIp: ip, osVersion: facts.osVersion || undefined,
    hostname: facts.hostname || undefined, ports, managedState: 'active', onboardingState: 'interfaces_onboarded',
  });
  if (!profile) await ctx.log(`${device.name}: unknown model "${facts.model}"${system ? ` (sysObjectID ${system.sysObjectID})` : ''}: no node profile matches; imported without one`);
  const r: OnboardDeviceResult = { ip, serial: facts.serial, name: device.name, model: facts.model, profile: profile?.name ?? device.profile, osVersion: facts.osVersion };
  if (!profile && !device.profile) r.unknownModel = true;
  if (system) r.system = system;
  if (lldp) r.lldp = lldp;
  if (snmpError) r.snmpError = snmpError;
  if (bf?.underlay) r.underlay = bf.underlay;
  if (bgpMib) r.bgpMib = bgpMib;
  if (bf?.underlayError) {
    r.underlayError = bf.underlayError;
    await ctx.log(`${device.name}: ${bf.underlayError}; nothing adopted for it`);
  }
  return r;
}

// ------------------------------------------------------------------------------ finalize

type LldpRead = (ip: string) => Promise<LldpInfo | undefined>;

/** One LLDP read over SNMP with the fabric's settings (loaded once); undefined when the device does not answer. */
async function lldpReader(ctx: FinalizeContext<OnboardParams>): Promise<LldpRead> {
  const store = storeOf(ctx.services);
  const { file } = await store.getFabricFile(ctx.fabric);
  const allow = allowFor(ctx.services, file);
  const settings = snmpSettings(await store.getFabricSecrets(ctx.fabric));
  return async (ip) => {
    const d = new SnmpDevice(ip, { settings, port: ctx.params.snmpPort, allow, timeoutMs: 2000, retries: 1 });
    try { return await d.lldp(); } catch { return undefined; } finally { d.close(); }
  };
}

/**
 * Adding boxes to a running fabric (`serials`/`subnets` name only the new ones): the devices
 * already managed are the other ends of the new boxes' links. Their LLDP is read (nothing is
 * changed on them) so a new leaf's uplinks become links seen from both ends, not anomalies.
 */
async function managedPeers(read: () => Promise<LldpRead>, records: DeviceRecord[], found: Set<string>): Promise<TopologyDevice[]> {
  const rest = records.filter((d) => d.managementIp && d.serial && !found.has(d.serial) && ['active', 'maintenance', 'upgrading'].includes(d.managedState));
  if (!rest.length || !found.size) return [];
  const lldpOf = await read();
  return Promise.all(rest.map(async (d) => {
    const lldp = await lldpOf(d.managementIp!); // unanswered: its links stay one-sided, reported as anomalies
    return {
      name: d.name, physicalRole: (d.physicalRole ?? undefined) as PhysicalRole | undefined,
      aliases: [d.serial, d.hostname].filter((x): x is string => !!x), chassisIds: lldp?.chassisId ? [lldp.chassisId] : [], neighbors: lldp ? lldp.neighbors : null,
    };
  }));
}

export async function finalizeOnboard(ctx: FinalizeContext<OnboardParams>): Promise<OnboardResult> {
  const p = ctx.params;
  const store = storeOf(ctx.services);
  const plan = (ctx.planData ?? {}) as PlanData;
  const ok = Object.values(ctx.devices).filter((o: DeviceOutcome) => o.state === 'succeeded' && o.result).map((o) => o.result as OnboardDeviceResult)
    .sort((x, y) => (x.serial < y.serial ? -1 : x.serial > y.serial ? 1 : 0)); // deterministic result order
  const records = await store.listDevices(ctx.fabric);
  const bySerial = new Map(records.filter((d) => d.serial).map((d) => [d.serial!, d]));
  // Topology over every device that answered SNMP; names as the store has them now.
  const tds: TopologyDevice[] = ok.map((r) => {
    const rec = bySerial.get(r.serial);
    return {
      name: rec?.name ?? r.name,
      physicalRole: (rec?.physicalRole ?? undefined) as PhysicalRole | undefined,
      aliases: [r.system?.sysName, r.serial, rec?.hostname ?? undefined].filter((x): x is string => !!x),
      chassisIds: r.lldp?.chassisId ? [r.lldp.chassisId] : [],
      neighbors: r.lldp ? r.lldp.neighbors : null,
    };
  });
  let reader: Promise<LldpRead> | undefined;
  const read = () => (reader ??= lldpReader(ctx));
  tds.push(...(await managedPeers(read, records, new Set(ok.map((r) => r.serial)))));
  // Freshly bootstrapped devices start LLDP seconds apart: a link seen from one end only may
  // just not have been announced yet. Re-read LLDP (bounded) before calling it an anomaly.
  const unsettled = (): boolean => topo.anomalies.some((a) => a.kind === 'one-sided' || a.kind === 'outside-fabric');
  const greenfield = (plan.mode ?? p.mode) === 'greenfield' && ok.length > 1;
  let reread: (() => Promise<void>) | undefined;
  if (greenfield) {
    const lldpOf = await read();
    reread = async () => {
      await Promise.all(ok.map(async (r, i) => {
        const lldp = await lldpOf(r.ip);
        if (lldp) tds[i].neighbors = lldp.neighbors; // unanswered: keep what we had
      }));
    };
    // The device jobs read LLDP at different moments: an early device's table predates a late
    // one's lldpd, and the late one read its own before its peer's next announcement, so the
    // link between them was in neither snapshot (no anomaly either). One read of all at once.
    await reread();
  }
  let topo = buildTopology(tds, { cablingPlan: normPlan(p.cablingPlan) });
  if (reread) {
    for (let round = 0; round < (p.lldpSettleRounds ?? 4) && unsettled(); round++) {
      await ctx.log(`LLDP not settled (${topo.anomalies.length} anomalies): reading it again in 5 s`);
      await sleep(5000);
      await ctx.checkCancel();
      await reread();
      topo = buildTopology(tds, { cablingPlan: normPlan(p.cablingPlan) });
    }
  }
  const existing = await store.listLinks(ctx.fabric);
  const have = new Set(existing.map((l: LinkRecord) => linkKey(l)));
  let fresh = topo.links.filter((l) => !have.has(linkKey(l)));
  // Brownfield: the running underlays become the allocations. Conflicts and (without
  // adoptOutsidePools) values outside the namespaces fail the job before any link is stored.
  let adopted: OnboardResult['adopted'];
  let recordAdopted: (() => Promise<void>) | undefined;
  if ((plan.mode ?? p.mode) === 'brownfield') {
    const devs = ok.filter((r) => r.underlay).map((r) => ({ name: bySerial.get(r.serial)?.name ?? r.name, underlay: r.underlay! }));
    const unread = ok.filter((r) => r.underlayError).map((r) => `${bySerial.get(r.serial)?.name ?? r.name}: ${r.underlayError}`);
    const a = await adoptAndRecord(store, ctx.fabric, { devices: devs, unread, found: topo.links, existing, fresh, adoptOutsidePools: p.adoptOutsidePools === true, manageUnderlay: p.manageUnderlay, log: ctx.log });
    fresh = a.fresh;
    adopted = a.summary;
    recordAdopted = a.record;
  }
  if (fresh.length) await store.addLinks(ctx.fabric, fresh.map((l) => ({ a: l.a, b: l.b, ...(l.anomaly ? { anomaly: l.anomaly } : {}) })));
  if (recordAdopted) await recordAdopted();
  // Both ends of a new link need config at the next autoconfigure (the old peer too).
  const needs = [...new Set(fresh.flatMap((l) => [l.a.device, l.b.device]))].filter((n) => records.some((d: DeviceRecord) => d.name === n));
  if (needs.length) await store.markNeedsConfig(ctx.fabric, needs);
  // Devices whose LLDP was read are topology_discovered.
  for (const r of ok) {
    if (!r.lldp) continue;
    const rec = bySerial.get(r.serial);
    if (rec && rec.onboardingState === 'interfaces_onboarded') await store.updateDevice(ctx.fabric, rec.name, { onboardingState: 'topology_discovered' });
  }
  for (const a of topo.anomalies) await ctx.log(`cabling: ${a.message}`);
  // Brownfield: NETCONF's neighbours against BGP4-MIB's, where the device serves the MIB
  let bgpMib: OnboardResult['bgpMib'];
  const bgpAnomalies: Anomaly[] = [];
  if ((plan.mode ?? p.mode) === 'brownfield') {
    bgpMib = { compared: [], without: [] };
    for (const r of ok.filter((x) => x.underlay)) {
      const name = bySerial.get(r.serial)?.name ?? r.name;
      if (!r.bgpMib?.length) { bgpMib.without.push(name); continue; }
      bgpMib.compared.push(name);
      bgpAnomalies.push(...compareBgpMib(name, r.underlay!, r.bgpMib));
    }
    for (const a of bgpAnomalies) await ctx.log(`bgp: ${a.message}`);
    if (bgpMib.compared.length) await ctx.log(`BGP4-MIB compared with NETCONF on ${bgpMib.compared.length} device(s): ${bgpAnomalies.length ? `${bgpAnomalies.length} mismatch(es)` : 'they agree'}`);
  }
  const foundSerials = new Set(ok.map((r) => r.serial));
  let missing: string[] = [];
  if (plan.serials?.length) missing = plan.serials.filter((s) => !foundSerials.has(s));
  else if (plan.mode === 'greenfield' || p.expectedDevices) {
    const listed = (await store.getFabricFile(ctx.fabric)).file.devices.filter((d) => d.serial).map((d) => d.serial!);
    missing = listed.filter((s) => !foundSerials.has(s));
    const expected = p.expectedDevices ?? listed.length;
    if (missing.length === 0 && ok.length < expected) missing = [`${expected - ok.length} device(s) not found (expected ${expected}, found ${ok.length})`];
  }
  if (missing.length) await ctx.log(`missing: ${missing.join(', ')}`);
  const result: OnboardResult = {
    mode: plan.mode ?? p.mode,
    found: ok.map((r) => ({ name: bySerial.get(r.serial)?.name ?? r.name, serial: r.serial, ip: r.ip, profile: r.profile, created: false })),
    missing,
    unknownModels: ok.filter((r) => r.unknownModel).map((r) => ({ name: r.name, model: r.model, sysObjectID: r.system?.sysObjectID })),
    links: { found: topo.links.length, added: fresh.length, kept: topo.links.length - fresh.length },
    anomalies: [...topo.anomalies, ...bgpAnomalies],
    needsConfig: needs,
    ...(adopted ? { adopted } : {}),
    ...(bgpMib ? { bgpMib } : {}),
  };
  if ((plan.mode ?? p.mode) === 'greenfield') {
    const leases = new RedisLeaseStore(ctx.services.redis);
    // Deactivate first: a DHCP backend that syncs its leases into the store (Kea) no longer
    // touches this fabric, so it cannot put a released lease back while the release runs.
    await leases.deactivate(ctx.fabric);
    const released = await releaseUnonboarded(leases, ctx.fabric, foundSerials);
    result.releasedLeases = released.length;
    if (released.length) await ctx.log(`released ${released.length} lease(s) of devices not onboarded: ${released.map((l) => l.serial ?? l.mac).join(', ')}`);
  }
  // Fewer devices than asked for is a failed job (what was found is still imported and shown).
  if (missing.length) throw new JobFailedError(`onboarding incomplete: ${ok.length} device(s) found, missing ${missing.join(', ')}`, result);
  return result;
}

export const ONBOARD_STEPS = [{ name: 'facts', weight: 3 }, { name: 'snmp', weight: 2 }, { name: 'import', weight: 1 }];

export const onboardJob: JobTypeDef<OnboardParams> = {
  type: 'onboard',
  queue: 'discovery',
  fabricLock: true,
  deviceSteps: ONBOARD_STEPS,
  attempts: 1,
  plan: planOnboard,
  runDevice: onboardDevice,
  finalize: finalizeOnboard,
};

/**
 * The same job without BullMQ: plan, every device (bounded concurrency), finalize. For tests,
 * the CLI and benchmarks; the service runs it through the job system.
 */
export async function runOnboarding(o: {
  fabric: string;
  params: OnboardParams;
  services: { store: Store; redis: Redis; config?: { discoveryAllow?: string[] } };
  concurrency?: number;
  log?: (m: string) => void;
}): Promise<OnboardResult & { failed: { device: string; error: string }[] }> {
  const services = { store: o.services.store, redis: o.services.redis, config: { discoveryAllow: [], ...(o.services.config ?? {}) }, logger: console } as unknown as JobServices;
  const base = {
    jobId: `local-${Date.now()}`, type: 'onboard', fabric: o.fabric, params: o.params, services,
    log: async (m: string) => o.log?.(m), checkCancel: async () => undefined,
  };
  const plan = await planOnboard(base);
  const outcomes: Record<string, DeviceOutcome> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.devices.length) {
      const t = plan.devices[next++];
      try {
        const result = await onboardDevice({ ...base, device: t.device, data: t.data, planData: plan.data, attempt: 1, step: async () => undefined });
        outcomes[t.device] = { state: 'succeeded', progress: 1, result };
      } catch (e) {
        outcomes[t.device] = { state: 'failed', progress: 0, error: (e as Error).message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 32, plan.devices.length)) }, worker));
  let result: OnboardResult & { incomplete?: string };
  try {
    result = await finalizeOnboard({ ...base, planData: plan.data, devices: outcomes, cancelled: false });
  } catch (e) {
    if (!(e instanceof JobFailedError)) throw e;
    result = { ...(e.result as OnboardResult), incomplete: e.message };
  }
  return { ...result, failed: Object.entries(outcomes).filter(([, v]) => v.state === 'failed').map(([device, v]) => ({ device, error: v.error ?? '' })) };
}
