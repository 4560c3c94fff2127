// The REST API's replies as the UI reads them, in the service's own types where the reply is
// one of them (type-only imports: nothing of the server is bundled).
import type { DeviceRecord, EventRecord, LinkRecord, ConfigCommit as StoredCommit } from '../../src/store/types';
import type { DeviceOutcome as JobDeviceOutcome, JobLogEntry as StoredLogEntry, JobState as StoredJobState, JobStep as StoredJobStep, JobView } from '../../src/jobs/records';
import type { UpgradePlan as StoredUpgradePlan } from '../../src/jobs/upgrade/plan';
import type { LogicalRouterSpec, NodeProfile as StoredProfile, ServerSpec, VirtualNetworkSpec, VpgSpec } from '../../src/domain/types';

export type { LogicalRouterSpec, ServerSpec, VirtualNetworkSpec, VpgSpec };

export type Role = 'viewer' | 'operator' | 'admin';

export interface Whoami { id: string; role: Role; name?: string; createdAt: string }

/** GET /fabrics/{f}: the fabric (no secrets) with its counts and the job holding it. */
export interface Fabric {
  name: string;
  createdAt: string;
  updatedAt: string;
  namespaces: { management: { cidr: string; gateway: string }[]; overlayAsn?: number };
  /** osVersions: the target OS version per node profile (the device panel shows the drift) */
  settings?: { osVersions?: Record<string, string> };
  devices?: number;
  links?: number;
  lockedBy?: string;
}

/** The device fields the API shows (src/api/routes-fabrics.ts: deviceView). */
export type Device = Pick<DeviceRecord, 'name' | 'serial' | 'model' | 'profile' | 'managementIp' | 'osVersion' | 'physicalRole'
  | 'roles' | 'managedState' | 'onboardingState'> & { hostname?: string | null };

export interface DeviceDetail extends Device {
  ports: { name: string; mac?: string; operState?: string; speedMbps?: number; description?: string }[];
  needsConfig: boolean;
}

export type Link = LinkRecord;
export type NodeProfile = Pick<StoredProfile, 'name' | 'roles'>;
export type ConfigCommit = StoredCommit;
export type FabricEvent = EventRecord;

export type JobState = StoredJobState;
export type JobStep = StoredJobStep;
/** `gap`: a line the page adds where the stream skipped some */
export type JobLogEntry = StoredLogEntry & { gap?: boolean };
export type DeviceOutcome = JobDeviceOutcome;
export type Job = Omit<JobView, 'log'> & { log: JobLogEntry[] };

export interface JobSummary { id: string; type: string; state: JobState; progress: number; createdAt: string; finishedAt?: string; error?: string; fabric?: string }

export interface DriftItem { device: string; drift: boolean; diff: string; error?: string }

export type ServiceKind = 'virtual-networks' | 'logical-routers' | 'servers' | 'vpgs';
export interface ServiceChange { item?: unknown; deleted?: string; devices: string[]; jobId?: string }

/** GET /images: an OS image an upgrade installs (src/api/routes-images.ts: ImageReply). */
export interface Image { name: string; platform: string; version: string; sha256: string; size: number; createdAt: string }

/** POST /fabrics/{f}/upgrade {dryRun: true}: the ordered batches and what is skipped, with reasons. */
export type UpgradePlan = StoredUpgradePlan;

export const FINAL: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];
