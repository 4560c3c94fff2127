// Pure helpers over the store's records: the snapshot a write reads, the fabric file intent
// takes, name and state checks. No IO (the aggregates and the transaction core do that).
import { randomUUID } from 'node:crypto';
import type { Allocations, DeviceSpec, FabricFile, LinkEnd, LinkSpec, SnmpSettings } from '../domain/types';
import type {
  DeviceRecord, FabricRecord, FabricServices, LinkInput, LinkRecord, NewDevice, NewEvent, PortRecord, RemovedDevice, SnmpPublic,
} from './types';
import { MANAGED_STATES, ONBOARDING_STATES } from './types';
import { invalid } from './errors';
import { redactSecrets } from './secrets';
import { managementIpProblem, NAME_RE } from './checks';

export const REDACTED = '<redacted>';
export const now = (): string => new Date().toISOString();

/** What a snapshot write reads of one fabric, in one pipeline (core.readSnapshot). */
export interface Snapshot {
  version: string;
  fabric?: FabricRecord;
  devices: Map<string, DeviceRecord>;
  links: Map<string, LinkInput>;
  alloc: Allocations;
  serials: Map<string, string>;
  services: FabricServices;
  /** Only the deviceExtras device's (see readSnapshot). */
  ports: Map<string, PortRecord[]>;
  hostKeys: Map<string, string>;
  needs: Set<string>;
  /** Bumped only by writes that change what intent compiles. */
  intentVersion: number;
}

export function emptyServices(): FabricServices {
  return { virtualNetworks: [], logicalRouters: [], servers: [], vpgs: [], externalNetworks: [] };
}

export function snmpPublic(s: SnmpSettings | undefined | null): SnmpPublic | null {
  if (!s) return null;
  return 'v3' in s ? { version: 'v3', user: s.v3.user } : { version: 'v2c' };
}

function snmpRedacted(s: SnmpPublic | null): SnmpSettings | undefined {
  if (!s) return undefined;
  return s.version === 'v3' ? { v3: { user: s.user, authKey: REDACTED, privKey: REDACTED } } : { community: REDACTED };
}

export function mapOf<T>(h: Record<string, string> | null | undefined): Map<string, T> {
  const m = new Map<string, T>();
  for (const [k, v] of Object.entries(h ?? {})) m.set(k, JSON.parse(v) as T);
  return m;
}

export function endText(e: LinkEnd): string { return `${e.device}:${e.port}`; }

export function checkName(kind: string, name: unknown, path: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw invalid(`${path}: ${kind} name ${JSON.stringify(name)} must be 1-63 of letters, digits, '.', '_', '-' (starting with a letter or digit)`, path);
  }
  return name;
}

export function sameJson(a: unknown, b: unknown): boolean { return JSON.stringify(a) === JSON.stringify(b); }

/** The device as a DeviceSpec, when it has what intent needs (profile and physical role). */
export function specOf(d: DeviceRecord): DeviceSpec | undefined {
  if (!d.profile || !d.physicalRole) return undefined;
  const s: DeviceSpec = { name: d.name, profile: d.profile, physicalRole: d.physicalRole, roles: [...d.roles] };
  if (d.serial) s.serial = d.serial;
  if (d.managementIp) s.managementIp = d.managementIp;
  if (d.model) s.model = d.model;
  return s;
}

/** Cached records are shared between callers: freeze them so a caller's edit fails loudly. */
export function frozen(d: DeviceRecord): DeviceRecord {
  Object.freeze(d.roles);
  return Object.freeze(d);
}

/** What intent compiles from a device (render/intent read no serial, model or management address). */
export function intentOf(d: DeviceRecord | undefined): unknown {
  const s = d && specOf(d);
  return s ? [s.name, s.profile, s.physicalRole, s.roles] : undefined;
}

/** The inventory as a fabric file (credentials redacted): what validation and intent take. */
export function fileOf(s: Snapshot, opts: { links?: boolean; devices?: DeviceRecord[] } = {}): FabricFile {
  const fab = s.fabric!;
  const devices = (opts.devices ?? [...s.devices.values()]).map(specOf).filter((x): x is DeviceSpec => !!x);
  const names = new Set(devices.map((d) => d.name));
  const links: LinkSpec[] = opts.links === false ? [] : [...s.links.values()]
    .filter((l) => !l.anomaly && names.has(l.a.device) && names.has(l.b.device))
    .map((l) => ({ a: { ...l.a }, b: { ...l.b } }));
  const file: FabricFile = {
    fabric: {
      name: fab.name,
      credentials: { username: fab.credentials.username, password: REDACTED },
      namespaces: fab.namespaces,
      settings: fab.settings,
    },
    devices,
    links,
  };
  const snmp = snmpRedacted(fab.snmp);
  if (snmp) file.fabric.snmp = snmp;
  const sv = s.services;
  if (sv.virtualNetworks.length) file.virtualNetworks = sv.virtualNetworks;
  if (sv.logicalRouters.length) file.logicalRouters = sv.logicalRouters;
  if (sv.servers.length) file.servers = sv.servers;
  if (sv.vpgs.length) file.vpgs = sv.vpgs;
  if (sv.externalNetworks?.length) file.externalNetworks = sv.externalNetworks;
  if (sv.securityGroups?.length) file.securityGroups = sv.securityGroups;
  if (sv.portProfiles?.length) file.portProfiles = sv.portProfiles;
  return file;
}

export function newDeviceRecord(input: NewDevice, at: string): DeviceRecord {
  return {
    id: randomUUID(),
    name: input.name,
    serial: input.serial ?? null,
    model: input.model ?? null,
    profile: input.profile ?? null,
    managementIp: input.managementIp ?? null,
    osVersion: input.osVersion ?? null,
    physicalRole: input.physicalRole ?? null,
    roles: input.roles ? [...input.roles] : [],
    managedState: input.managedState ?? 'dhcp',
    onboardingState: input.onboardingState === undefined ? null : input.onboardingState,
    hostname: input.hostname ?? null,
    createdAt: at,
    updatedAt: at,
  };
}

/** Links with the subnets of the allocation record, sorted by link key. */
export function linkRecords(links: Map<string, LinkInput>, alloc: Allocations): LinkRecord[] {
  return [...links.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, l]) => {
    const r: LinkRecord = { a: l.a, b: l.b };
    const sub = alloc.links[k];
    if (sub) r.subnet = sub;
    if (l.anomaly) r.anomaly = l.anomaly;
    return r;
  });
}

/** A management address outside the namespace is refused on every write path (credentials go there). */
export function checkManagementIp(fab: FabricRecord, ip: string | null | undefined, path: string): void {
  if (ip === undefined || ip === null) return;
  const why = managementIpProblem(fab.namespaces, ip);
  if (why) throw invalid(`${path}: ${why}`, path);
}

export function checkStates(p: { managedState?: unknown; onboardingState?: unknown }): void {
  if (p.managedState !== undefined && !MANAGED_STATES.includes(p.managedState as never)) {
    throw invalid(`managedState: "${String(p.managedState)}" is not one of ${MANAGED_STATES.join(', ')}`, 'managedState');
  }
  if (p.onboardingState !== undefined && p.onboardingState !== null && !ONBOARDING_STATES.includes(p.onboardingState as never)) {
    throw invalid(`onboardingState: "${String(p.onboardingState)}" is not one of ${ONBOARDING_STATES.join(', ')}`, 'onboardingState');
  }
}

/** An event as stream fields (details redacted): the commit's XADD and appendEvent share it. */
export function eventFields(ev: NewEvent): string[] {
  const fields: string[] = ['at', now(), 'actor', ev.actor ?? 'system', 'action', ev.action, 'object', ev.object];
  if (ev.details !== undefined) fields.push('details', JSON.stringify(redactSecrets(ev.details)));
  return fields;
}

/** Earlier same-name removed devices whose history is kept (beyond it the oldest is deleted). */
export const REMOVED_CHAIN = 10;

export function parseRemoved(v: string | null): RemovedDevice | null {
  return v ? JSON.parse(v) as RemovedDevice : null;
}

/** Every device id whose config history a removed record keeps alive. */
export function removedIds(r: RemovedDevice | null): string[] {
  return r ? [r.id, ...(r.earlierIds ?? [])] : [];
}
