// The REST API's replies as the UI reads them: the API's own schemas (src/api/schemas.ts, the
// ones that validate and document it) where it has them; type-only imports, nothing bundled.
import type { Static } from '@sinclair/typebox';
import type { DeviceReply, EventReply, FabricReply, JobReply, LinkReply, ProfileReply } from '../../src/api/schemas';
import type { LogicalRouterSpec, ServerSpec, VirtualNetworkSpec, VpgSpec } from '../../src/domain/types';

export type { LogicalRouterSpec, ServerSpec, VirtualNetworkSpec, VpgSpec };

export type Role = 'viewer' | 'operator' | 'admin';

export interface Whoami { id: string; role: Role; name?: string; createdAt: string }

export type Fabric = Static<typeof FabricReply>;
export type Device = Static<typeof DeviceReply>;

export interface DeviceDetail extends Device {
  ports: { name: string; mac?: string; operState?: string; speedMbps?: number; description?: string }[];
  needsConfig: boolean;
}

export type Link = Static<typeof LinkReply>;
export type NodeProfile = Static<typeof ProfileReply>;

export interface ConfigCommit { at: string; jobId: string; text: string; diff?: string; platform?: string }

export type FabricEvent = Static<typeof EventReply>;

type JobReplyT = Static<typeof JobReply>;
export type JobState = JobReplyT['state'];
export type JobStep = JobReplyT['steps'][number];
/** `gap`: a line the page adds where the stream skipped some */
export type JobLogEntry = JobReplyT['log'][number] & { gap?: boolean };
export type DeviceOutcome = JobReplyT['devices'][string];
export type Job = Omit<JobReplyT, 'log'> & { log: JobLogEntry[] };

export interface JobSummary { id: string; type: string; state: JobState; progress: number; createdAt: string; finishedAt?: string; error?: string; fabric?: string }

export interface DriftItem { device: string; drift: boolean; diff: string; error?: string }

export type ServiceKind = 'virtual-networks' | 'logical-routers' | 'servers' | 'vpgs';
export interface ServiceChange { item?: unknown; deleted?: string; devices: string[]; jobId?: string }

export const FINAL: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];
