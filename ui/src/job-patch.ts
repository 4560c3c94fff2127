// Applies the job stream's `patch` events (src/api/routes-stream.ts: jobPatch) to the job the
// page shows. Pure: returns a new object, the old one is left as it was.
import type { JobPatch } from '../../src/api/job-patch';
import type { Job, JobLogEntry } from './types';

export type { JobPatch };

/** The page keeps at most this many log lines (the job page can load the whole log). */
export const LOG_KEEP = 5000;

export function applyPatch(job: Job, p: JobPatch): Job {
  const next: Job = { ...job, state: p.state, progress: p.progress };
  for (const k of ['startedAt', 'finishedAt', 'error', 'cancelRequested', 'result'] as const) {
    if (p[k] !== undefined) (next as unknown as Record<string, unknown>)[k] = p[k];
  }
  if (p.devices) next.devices = { ...job.devices, ...p.devices };
  if (p.steps) next.steps = p.steps;
  else if (p.stepStates) {
    const steps = job.steps.slice();
    for (const [i, state] of p.stepStates) if (steps[i]) steps[i] = { ...steps[i], state };
    next.steps = steps;
  }
  if (p.log?.length || p.logGap) {
    const gap: JobLogEntry[] = p.logGap ? [{ at: p.log?.[0]?.at ?? new Date().toISOString(), message: 'some lines were skipped (reload for the whole log)', gap: true }] : [];
    const log = [...job.log, ...gap, ...(p.log ?? [])];
    next.log = log.length > LOG_KEEP ? log.slice(log.length - LOG_KEEP) : log;
  }
  return next;
}
