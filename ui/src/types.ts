// The REST API's replies as the UI reads them (docs/api.md; src/api/schemas.ts is the source).
import type { LogicalRouterSpec, ServerSpec, VirtualNetworkSpec, VpgSpec } from '../../src/domain/types';

export type { LogicalRouterSpec, ServerSpec, VirtualNetworkSpec, VpgSpec };

export type Role = 'viewer' | 'operator' | 'admin';

export interface Whoami { id: string; role: Role; name?: string; createdAt: string }

export interface Fabric {
  name: string;
  createdAt: string;
  updatedAt: string;
  credentials: { username: string };
  settings: Record<string, unknown>;
  namespaces: { management: { cidr: string; gateway: string }[]; loopback: string[]; fabric: string[]; asn: { min: number; max: number }[]; overlayAsn?: number };
  devices?: number;
  links?: number;
  lockedBy?: string;
}

export interface Device {
  name: string;
  serial: string | null;
  model: string | null;
  profile: string | null;
  managementIp: string | null;
  osVersion: string | null;
  physicalRole: string | null;
  roles: string[];
  managedState: string;
  onboardingState: string | null;
  hostname?: string | null;
}

export interface DeviceDetail extends Device {
  ports: { name: string; mac?: string; operState?: string; speedMbps?: number; description?: string }[];
  needsConfig: boolean;
}

export interface LinkEnd { device: string; port: string }
export interface Link { a: LinkEnd; b: LinkEnd; subnet?: string; anomaly?: string }

export interface NodeProfile { name: string; vendor: string; platform: string; models: string[]; roles: string[] }

export interface ConfigCommit { at: string; jobId: string; text: string; diff?: string; platform?: string }

export interface FabricEvent { id: string; at: string; actor: string; action: string; object: string; details?: unknown }

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export interface JobStep { name: string; state: string; device?: string }
export interface JobLogEntry { at: string; message: string; device?: string; gap?: boolean }
export interface DeviceOutcome { state: string; progress: number; error?: string; result?: unknown; attempts?: number }

export interface Job {
  id: string;
  type: string;
  fabric?: string;
  state: JobState;
  progress: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  steps: JobStep[];
  log: JobLogEntry[];
  devices: Record<string, DeviceOutcome>;
  result?: unknown;
  error?: string;
  cancelRequested?: boolean;
}

export interface JobSummary { id: string; type: string; state: JobState; progress: number; createdAt: string; finishedAt?: string; error?: string; fabric?: string }

export interface DriftItem { device: string; drift: boolean; diff: string; error?: string }

export type ServiceKind = 'virtual-networks' | 'logical-routers' | 'servers' | 'vpgs';
export interface ServiceChange { item?: unknown; deleted?: string; devices: string[]; jobId?: string }

export const FINAL: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];
