// An upgrade plan as the operator reads it: ordered batches (each with its devices and the
// planner's reason), then what is skipped and why. Given the job, each batch shows its live
// progress and each device its state (the dry run and the running job share this view).
import { Badge, Progress } from './ui';
import type { Job, UpgradePlan } from '../types';

/** Batches past this are summarised (a 1,056-device fabric at maxParallel 1 has ~1,000). */
const SHOWN = 200;

function batchState(states: string[]): string {
  if (states.length === 0) return 'planned';
  if (states.some((s) => s === 'failed')) return 'failed';
  if (states.every((s) => s === 'succeeded')) return 'succeeded';
  if (states.some((s) => s === 'running')) return 'running';
  if (states.every((s) => s === 'cancelled' || s === 'succeeded')) return 'cancelled';
  return 'queued';
}

export function Batches({ batches, skipped, job }: { batches: UpgradePlan['batches']; skipped?: UpgradePlan['skipped']; job?: Job }) {
  return (
    <div class="batches" data-testid="upgrade-batches">
      {batches.length === 0 && <p class="muted">No device to upgrade: every device chosen is skipped.</p>}
      <ol class="batch-list">
        {batches.slice(0, SHOWN).map((b, i) => {
          const outcomes = job ? b.devices.map((d) => job.devices[d]).filter((o) => o !== undefined) : [];
          const state = job ? batchState(outcomes.map((o) => o.state)) : undefined;
          const pct = outcomes.length ? Math.round((outcomes.reduce((s, o) => s + o.progress, 0) / b.devices.length) * 100) : 0;
          return (
            <li key={i} class="batch" data-testid="upgrade-batch" data-batch={i + 1} data-state={state}>
              <div class="batch-head">
                <span class="strong">Batch {i + 1}</span>
                <span class="muted small">{b.devices.length} device{b.devices.length === 1 ? '' : 's'}</span>
                {state && <Badge state={state} />}
                {job && <div class="batch-progress"><Progress value={pct} state={state} label={`batch ${i + 1} progress`} /><span class="small">{pct}%</span></div>}
              </div>
              <div class="batch-devices">
                {b.devices.map((d) => {
                  const o = job?.devices[d];
                  return <span key={d} class="chip" data-device={d} title={o?.error ?? o?.state}>{d}{o && <Badge state={o.state} />}</span>;
                })}
              </div>
              <div class="batch-reason small muted">{b.reason}</div>
            </li>
          );
        })}
      </ol>
      {batches.length > SHOWN && <p class="muted small">… and {batches.length - SHOWN} more batches ({batches.slice(SHOWN).reduce((n, b) => n + b.devices.length, 0)} devices).</p>}
      {skipped && skipped.length > 0 && (
        <>
          <h3>Skipped <span class="muted small">({skipped.length})</span></h3>
          <table class="mini" data-testid="upgrade-skipped">
            <thead><tr><th>Device</th><th>Why</th></tr></thead>
            <tbody>{skipped.map((s) => <tr key={s.device} data-key={s.device}><td class="strong">{s.device}</td><td>{s.reason}</td></tr>)}</tbody>
          </table>
        </>
      )}
    </div>
  );
}
