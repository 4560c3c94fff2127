// The use case behind every intent write that the service pushes by itself (overlay services
// today): store the change in one transaction, find the devices whose compiled plan changed,
// and hand them to the job engine's follow-up push (now, or after the running job).
import type { Allocations, FabricFile } from '../domain/types';
import { allocate } from '../intent/allocate';
import { compileFabric } from '../intent/compile';
import type { Actor, FabricServices, Store } from '../store';
import type { JobSystem } from './engine';

/** Devices whose plan differs between two versions of a fabric (pure; allocation in memory). */
export function changedDevices(before: FabricFile, after: FabricFile, allocations: Allocations): string[] {
  const plans = (file: FabricFile) => new Map(compileFabric(file, allocate(file, allocations)).map((p) => [p.name, JSON.stringify(p)]));
  const a = plans(before);
  const b = plans(after);
  return [...b.keys()].filter((d) => a.get(d) !== b.get(d)).sort();
}

export interface PushedChange<T> { result: T; devices: string[]; jobId?: string; behind?: string }

/** Stores a services change and queues the push of what it touches; never refused because a job runs. */
export async function changeServicesAndPush<T>(
  deps: { store: Store; jobs: JobSystem }, fabric: string,
  change: (cur: FabricServices) => { next: FabricServices; result: T }, actor: Actor,
): Promise<PushedChange<T>> {
  const { result, devices } = await deps.store.changeServices(fabric, change, actor, changedDevices);
  if (!devices.length) return { result, devices };
  const { jobId, behind } = await deps.jobs.submitFollowUp('autoconfigure', fabric, devices, { dryRun: false, requestedBy: actor.actor ?? 'system' });
  return { result, devices, jobId, ...(behind ? { behind } : {}) };
}
