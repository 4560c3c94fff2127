// Records the store keeps and returns. No secrets in any of them (see FabricSecrets).
import type {
  Allocations, Credentials, ExternalNetworkSpec, FabricSettings, LinkEnd, LogicalRouterSpec, Namespaces, PhysicalRole,
  PortProfileSpec, SecurityGroupSpec, ServerSpec, SnmpSettings, VirtualNetworkSpec, VpgSpec,
} from '../domain/types';

// 'active' is the managed state; 'maintenance' drained (BGP graceful shutdown), 'upgrading' an
// OS install under way (issue 15), 'rma' a dead box awaiting its replacement.
export type ManagedState = 'dhcp' | 'rma' | 'activating' | 'active' | 'maintenance' | 'upgrading' | 'error';
export const MANAGED_STATES: readonly ManagedState[] = ['dhcp', 'rma', 'activating', 'active', 'maintenance', 'upgrading', 'error'];

export type OnboardingState =
  | 'discovered' | 'interfaces_onboarded' | 'topology_discovered' | 'role_discovered' | 'underlay_configured';
export const ONBOARDING_STATES: readonly OnboardingState[] = [
  'discovered', 'interfaces_onboarded', 'topology_discovered', 'role_discovered', 'underlay_configured',
];

/** Who did it, for the event history. */
export interface Actor { actor?: string }

/** SNMP settings as returned: never the community or the v3 keys. */
export type SnmpPublic = { version: 'v2c' } | { version: 'v3'; user: string };

export interface FabricRecord {
  name: string;
  namespaces: Namespaces;
  /** As given (partial); defaults are applied by the domain's resolveSettings. */
  settings: Partial<FabricSettings>;
  /** Username only: the password is encrypted at rest and never returned. */
  credentials: { username: string };
  snmp: SnmpPublic | null;
  createdAt: string;
  updatedAt: string;
}

/** The decrypted secrets (getFabricSecrets only: for NETCONF/SNMP/ZTP bootstrap jobs). */
export interface FabricSecrets { credentials: Credentials; snmp?: SnmpSettings }

/** Overlay services of a fabric (kept as given; shaped for the coming VN/LR/BMS/VPG routes). */
export interface FabricServices {
  virtualNetworks: VirtualNetworkSpec[];
  logicalRouters: LogicalRouterSpec[];
  servers: ServerSpec[];
  vpgs: VpgSpec[];
  /** absent in records written before external networks existed */
  externalNetworks?: ExternalNetworkSpec[];
  /** absent in records written before security groups existed */
  securityGroups?: SecurityGroupSpec[];
  portProfiles?: PortProfileSpec[];
}

export interface FabricUpdate {
  settings?: Partial<FabricSettings>;
  namespaces?: Namespaces;
  credentials?: Credentials;
  /** null removes the SNMP settings. */
  snmp?: SnmpSettings | null;
}

export interface PortRecord {
  name: string;
  mac?: string;
  operState?: 'up' | 'down' | 'unknown';
  speedMbps?: number;
  description?: string;
}

/** One device as `GET /fabrics/{f}/devices` lists it (plus bookkeeping fields). */
export interface DeviceRecord {
  /** Stable id: survives renames (config history is keyed by it). */
  id: string;
  name: string;
  serial: string | null;
  model: string | null;
  /** Node profile name; null until discovery resolved it. */
  profile: string | null;
  managementIp: string | null;
  osVersion: string | null;
  /** null until a role is assigned (or listed in the fabric file). */
  physicalRole: PhysicalRole | null;
  roles: string[];
  managedState: ManagedState;
  /** null: planned in the fabric file, not discovered yet. */
  onboardingState: OnboardingState | null;
  hostname: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A device taken out by the remove-device job, kept so its config history stays readable by name. */
export interface RemovedDevice extends DeviceRecord {
  removedAt: string;
  removedBy?: string;
  /** Ids of earlier devices removed under the same name, newest first: their history is read too. */
  earlierIds?: string[];
}

/** One device with its ports, NETCONF host key fingerprint and its pending-config marker. */
export interface DeviceDetail extends DeviceRecord {
  ports: PortRecord[];
  hostKey: string | null;
  needsConfig: boolean;
}

/** Input of addDevice (a DeviceSpec, profile/physicalRole optional for discovered boxes). */
export interface NewDevice {
  name: string;
  serial?: string;
  model?: string;
  profile?: string;
  physicalRole?: PhysicalRole;
  roles?: string[];
  managementIp?: string;
  osVersion?: string;
  hostname?: string;
  managedState?: ManagedState;
  onboardingState?: OnboardingState | null;
}

/** What discovery learnt about a box; matched by serial. */
export interface DiscoveredDevice {
  serial: string;
  model?: string;
  /** Profile resolved from model / sysObjectID, when known. */
  profile?: string;
  managementIp?: string;
  osVersion?: string;
  hostname?: string;
  ports?: PortRecord[];
  managedState?: ManagedState;
  onboardingState?: OnboardingState;
}

/** Fields of a device that may be patched (name: renameDevice; roles: setDeviceRoles). */
export interface DevicePatch {
  serial?: string | null;
  model?: string | null;
  profile?: string | null;
  managementIp?: string | null;
  osVersion?: string | null;
  hostname?: string | null;
  managedState?: ManagedState;
  onboardingState?: OnboardingState | null;
}

export interface LinkRecord {
  a: LinkEnd;
  b: LinkEnd;
  /** The /31 allocated to the link (from the allocation record), when addressed. */
  subnet?: string;
  /** Cabling anomaly found by discovery (e.g. "not in the cabling plan"). */
  anomaly?: string;
}

export interface LinkInput { a: LinkEnd; b: LinkEnd; anomaly?: string }

export interface ReplaceLinksResult {
  added: number;
  removed: number;
  /** Devices whose peers changed; they are marked needsConfig. */
  changedDevices: string[];
}

/** Everything intent needs, read in one consistent snapshot. Credentials redacted. */
export interface Inventory {
  fabric: FabricRecord;
  devices: DeviceRecord[];
  links: LinkRecord[];
  allocations: Allocations;
  services: FabricServices;
  /**
   * Intent version: bumped by every write that changes what intent compiles (not by state or
   * fact updates). Pass it to setIntendedConfig.
   */
  version: number;
}

// ------------------------------------------------------------------------------- fabric lock

export type LockResult = { ok: true } | { ok: false; heldBy: string };

// ------------------------------------------------------------------------------- events

export interface NewEvent { actor?: string; action: string; object: string; details?: unknown }
export interface EventRecord { id: string; at: string; actor: string; action: string; object: string; details?: unknown }

// ------------------------------------------------------------------------------- config history

export interface ConfigCommit {
  at: string; jobId: string; text: string; diff?: string; platform?: string;
  /** Read with `withRemoved`: a commit of an earlier box removed under this name. */
  removed?: boolean;
}
export interface IntendedConfig { platform: string; files: Record<string, string> }

/** NETCONF trust-on-first-use store (H3's client): deviceId is the device name in the fabric. */
export interface HostKeyStore {
  get(deviceId: string): Promise<string | undefined>;
  set(deviceId: string, fingerprint: string): Promise<void>;
  reset(deviceId: string): Promise<void>;
  /** Same as reset (the name the NETCONF client uses). */
  delete?(deviceId: string): Promise<void>;
}
