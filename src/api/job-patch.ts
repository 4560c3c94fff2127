// The `patch` event of GET /jobs/{id}/stream: what changed between two reads of a job. Pure, in a
// file of its own so the web UI and the CLI type-check against it without the route's imports.
import type { JobLogEntry, JobView, StepState } from '../jobs/records';

/** What changed between two reads of a job (the `patch` event). */
export interface JobPatch {
  state: JobView['state'];
  progress: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  result?: unknown;
  cancelRequested?: boolean;
  attempts?: number;
  /** devices whose outcome changed (or appeared) */
  devices?: JobView['devices'];
  /** every step, when steps were added (planning declared the devices) */
  steps?: JobView['steps'];
  /** [index, state] of steps whose state changed, when the list itself did not */
  stepStates?: [number, StepState][];
  /** lines after the last one sent */
  log?: JobLogEntry[];
  /** the last line sent is no longer among the lines read: some were skipped */
  logGap?: boolean;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Log lines of `next` after the last line of `prev` (matched by its text and time). */
function newLines(prev: JobLogEntry[], next: JobLogEntry[]): { lines: JobLogEntry[]; gap: boolean } {
  if (prev.length === 0) return { lines: next, gap: false };
  const last = JSON.stringify(prev[prev.length - 1]);
  for (let i = next.length - 1; i >= 0; i--) {
    if (JSON.stringify(next[i]) === last) return { lines: next.slice(i + 1), gap: false };
  }
  return { lines: next, gap: next.length > 0 };
}

/** The patch from `prev` to `next`, or undefined when nothing a viewer sees changed. Pure. */
export function jobPatch(prev: JobView, next: JobView): JobPatch | undefined {
  const p: JobPatch = { state: next.state, progress: next.progress };
  let changed = prev.state !== next.state || prev.progress !== next.progress;
  for (const k of ['startedAt', 'finishedAt', 'error', 'cancelRequested', 'attempts'] as const) {
    if (next[k] !== undefined) (p as unknown as Record<string, unknown>)[k] = next[k];
    if (prev[k] !== next[k]) changed = true;
  }
  if (next.result !== undefined) {
    if (!same(prev.result, next.result)) changed = true;
    p.result = next.result;
  }
  const devices: JobView['devices'] = {};
  let nDev = 0;
  for (const [d, o] of Object.entries(next.devices)) {
    if (!Object.hasOwn(prev.devices, d) || !same(prev.devices[d], o)) { devices[d] = o; nDev++; }
  }
  if (nDev) { p.devices = devices; changed = true; }
  const reshaped = prev.steps.length !== next.steps.length
    || next.steps.some((s, i) => s.name !== prev.steps[i].name || s.device !== prev.steps[i].device);
  if (reshaped) {
    p.steps = next.steps;
    changed = true;
  } else {
    const st: [number, StepState][] = [];
    next.steps.forEach((s, i) => { if (s.state !== prev.steps[i].state) st.push([i, s.state]); });
    if (st.length) { p.stepStates = st; changed = true; }
  }
  const { lines, gap } = newLines(prev.log, next.log);
  if (lines.length) { p.log = lines; changed = true; }
  if (gap) p.logGap = true;
  return changed ? p : undefined;
}
