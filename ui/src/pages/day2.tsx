// Day-2 actions of the device panel: maintenance on/off (a job, followed live here like the
// autoconfigure's), the OS version against the fabric's target, and the RMA form, offered only
// when the service's OpenAPI document has the route. Operators only; a viewer sees the facts.
import { useEffect, useState } from 'preact/hooks';
import { api, roleAllows } from '../api';
import { bodyProperty, findOperation, useOpenApi } from '../capabilities';
import { serialError, versionDrift } from '../day2';
import { fieldOf } from '../components/forms';
import { Badge, ErrorNote, Progress } from '../components/ui';
import { enc, href, navigate } from '../router';
import { useSession } from '../session';
import { useJobStream } from './jobs';
import { FINAL, type DeviceDetail } from '../types';

export const RMA_ROUTE = '/fabrics/{f}/devices/{d}/rma';

/** OS version, the fabric's target for the profile, and whether they differ (the stored, last reported version). */
export function VersionFacts({ d, osVersions }: { d: DeviceDetail; osVersions?: Record<string, string> }) {
  const v = versionDrift(d, osVersions);
  return (
    <dl class="facts" data-testid="version">
      <div><dt>OS version</dt><dd>{d.osVersion ?? '–'}</dd></div>
      <div>
        <dt>Target version</dt>
        <dd data-testid="version-drift" data-drift={v.target === undefined ? 'none' : String(v.drift)}>
          {v.target === undefined ? <span class="muted">none set (settings.osVersions)</span>
            : <>{v.target} {v.drift ? <Badge state="drift" label="version drift" /> : <Badge state="succeeded" label="on target" />}</>}
        </dd>
      </div>
    </dl>
  );
}

/** One job followed live in place: state, progress, its steps and last log lines; `onEnd` once it ends. */
export function LiveJob({ id, onEnd }: { id: string; onEnd(state: string): void }) {
  const { job, error } = useJobStream(id);
  const final = !!job && FINAL.includes(job.state);
  useEffect(() => { if (job && final) onEnd(job.state); }, [final]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!job) return <div class="live-job muted small">{error ?? 'starting…'}</div>;
  return (
    <div class="live-job" data-testid="live-job" data-state={job.state}>
      <div class="live-job-head">
        <Badge state={job.state} label={`${job.type} ${job.state}`} />
        <Progress value={job.progress} state={job.state} label={`${job.type} progress`} />
        <span class="small">{job.progress}%</span>
        <a class="small" href={href(`/jobs/${enc(job.id)}`)}>open the job</a>
      </div>
      <span class="steps">{job.steps.filter((s) => s.device).map((s) => <span key={`${s.device}-${s.name}`} class={`step ${s.state}`} title={`${s.name}: ${s.state}`}>{s.name}</span>)}</span>
      {job.error && <div class="error-note" role="alert"><strong>failed</strong> {job.error}</div>}
      <div class="log small" role="log" aria-live="polite">
        {job.log.slice(-6).map((l, i) => <div key={i} class="log-line"><span class="msg">{l.message}</span></div>)}
      </div>
    </div>
  );
}

/** Enter or leave maintenance (drain with BGP graceful shutdown / restore), followed live. */
export function MaintenanceControl({ fabric, d, onChanged }: { fabric: string; d: DeviceDetail; onChanged(): void }) {
  const me = useSession();
  const [jobId, setJobId] = useState<string>();
  const [ended, setEnded] = useState(false);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  if (!roleAllows(me?.role, 'operator')) return null;
  const inMaint = d.managedState === 'maintenance';
  const why = d.managedState === 'rma' ? 'in RMA: nothing to drain' : !d.managementIp ? 'no management address yet (onboard it first)'
    : d.managedState === 'upgrading' ? 'an upgrade holds it' : undefined;
  const run = async () => {
    if (!inMaint && !window.confirm(`Drain ${d.name} (BGP graceful shutdown) and put it in maintenance?`)) return;
    setBusy(true); setError(undefined);
    try { const r = await api.maintenance(fabric, d.name, !inMaint); setEnded(false); setJobId(r.jobId); } catch (e) { setError(e as Error); } finally { setBusy(false); }
  };
  const running = jobId !== undefined && !ended;
  return (
    <div class="actions" data-testid="maintenance">
      <h3>Maintenance</h3>
      <div class="action-row">
        <button type="button" class={inMaint ? '' : 'warn'} onClick={run} disabled={busy || running || !!why}
          title={why ?? (inMaint ? 'Push the intended config without the drain, verify, back to managed' : 'Push BGP graceful shutdown (commit confirmed, verified): traffic moves away, sessions stay up')}>
          {inMaint ? 'Leave maintenance' : 'Enter maintenance'}
        </button>
        {why && <span class="muted small">{why}</span>}
      </div>
      <ErrorNote error={error} />
      {jobId && <LiveJob key={jobId} id={jobId} onEnd={() => { setEnded(true); onChanged(); }} />}
    </div>
  );
}

/** Replace a failed box (RMA): the new serial, checked as the service's schema checks it. Only when the service has the route. */
export function RmaForm({ fabric, d }: { fabric: string; d: DeviceDetail }) {
  const me = useSession();
  const doc = useOpenApi();
  const [serial, setSerial] = useState('');
  const [error, setError] = useState<Error | string>();
  const [busy, setBusy] = useState(false);
  const op = doc ? findOperation(doc, 'post', RMA_ROUTE) : undefined;
  if (!roleAllows(me?.role, 'operator')) return null;
  // Decided (the document came and has no such route): a hidden mark tests wait for, no form.
  if (!op) return doc ? <span hidden data-testid="rma-unsupported" /> : null;
  const rule = bodyProperty(doc, op, 'serial') ?? {};
  const local = serial ? serialError(serial, rule) : undefined;
  // The serial's own problem (checked here, or the API's 400 naming it) goes beside the field; any other refusal under the form.
  const serialProblem = local ?? (typeof error === 'string' || fieldOf(error) === 'serial' ? error : undefined);
  const other = serialProblem === undefined ? error : undefined;
  const submit = async (e: Event) => {
    e.preventDefault();
    const bad = serialError(serial, rule);
    if (bad) { setError(bad); return; }
    if (!window.confirm(`Replace ${d.name} by the device with serial ${serial}?`)) return;
    setBusy(true); setError(undefined);
    try { navigate(`/jobs/${enc((await api.rma(fabric, d.name, serial)).jobId)}`); } catch (err) { setError(err as Error); } finally { setBusy(false); }
  };
  return (
    <form class="rma-form" onSubmit={submit} aria-label="RMA" data-testid="rma-form" noValidate>
      <h3>Replace (RMA)</h3>
      <div class={`field ${serialProblem ? 'invalid' : ''}`}>
        <label for="rma-serial">Serial of the replacement</label>
        <input id="rma-serial" name="serial" value={serial} autoComplete="off" spellcheck={false} aria-invalid={!!serialProblem}
          aria-describedby={serialProblem ? 'rma-serial-error' : undefined} onInput={(e) => { setSerial((e.target as HTMLInputElement).value); setError(undefined); }} />
        {serialProblem && <ErrorNote error={serialProblem} id="rma-serial-error" />}
      </div>
      <div class="form-actions"><button type="submit" disabled={busy || !serial || !!local}>{busy ? 'Starting…' : 'Start RMA'}</button></div>
      <ErrorNote error={other} />
    </form>
  );
}
