// Jobs: the recent jobs of every fabric, and one job live (server-sent events): progress, each
// device's steps and log, the failure reason, cancel; for an autoconfigure dry run, each
// device's diff and the Apply button.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, roleAllows } from '../api';
import { applyPatch, type JobPatch } from '../job-patch';
import { readStream } from '../sse';
import { enc, href, navigate } from '../router';
import { getToken, useSession } from '../session';
import { Ago, Badge, Card, ErrorNote, Progress, Spinner, duration } from '../components/ui';
import { DataTable, type Column } from '../components/table';
import { Diff } from '../components/diff';
import { Batches } from '../components/batches';
import { upgradeBatches } from '../day2';
import { diffStats } from '../diff-parse';
import { JOB_COLUMNS, useRecentJobs } from './fabric-history';
import { FINAL, type Job, type JobSummary } from '../types';

export function JobsPage() {
  const jobs = useRecentJobs(async () => {
    const fabrics = await api.fabrics();
    const lists = await Promise.all(fabrics.map((f) => api.fabricJobs(f.name, 20).catch(() => [] as JobSummary[])));
    return lists.flat().sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }, []);
  const [state, setState] = useState('all');
  const pre = useMemo(() => (state === 'all' ? undefined : state === 'active' ? (j: JobSummary) => !FINAL.includes(j.state) : (j: JobSummary) => j.state === state), [state]);
  return (
    <div class="page">
      <div class="page-head"><h1>Jobs</h1><div class="spacer" /><button type="button" class="ghost" onClick={jobs.reload}>Refresh</button></div>
      <ErrorNote error={jobs.error} />
      {!jobs.data ? <Spinner /> : (
        <Card>
          <DataTable<JobSummary> label="Jobs" testId="jobs" rows={jobs.data} rowKey={(j) => j.id} onOpen={(j) => navigate(`/jobs/${enc(j.id)}`)} columns={JOB_COLUMNS}
            initialSort={{ key: 'created', dir: -1 }} prefilter={pre} empty="No jobs yet."
            toolbar={<label class="inline">State <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
              {['all', 'active', 'succeeded', 'failed', 'cancelled'].map((s) => <option key={s}>{s}</option>)}
            </select></label>} />
        </Card>
      )}
    </div>
  );
}

/** A job kept up to date by its event stream (GET /jobs/{id}/stream); no polling. */
export function useJobStream(id: string | undefined): { job?: Job; error?: string; live: boolean; replace(j: Job): void } {
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<string>();
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!id) return;
    setJob(undefined); setError(undefined);
    const ac = new AbortController();
    setLive(true);
    void readStream(`/api/v1/jobs/${enc(id)}/stream`, getToken(), {
      onEvent: (e) => {
        if (e.event === 'job') { setJob(JSON.parse(e.data) as Job); setError(undefined); }
        else if (e.event === 'patch') { const p = JSON.parse(e.data) as JobPatch; setJob((j) => (j ? applyPatch(j, p) : j)); setError(undefined); }
        else if (e.event === 'end') setLive(false);
      },
      onError: (status, message) => setError(status === 0 ? `connection lost (${message}); reconnecting` : message),
    }, ac.signal).finally(() => { if (!ac.signal.aborted) setLive(false); });
    return () => ac.abort();
  }, [id]);
  return { job, error, live, replace: setJob };
}

export const isDryRun = (j: Job) => (j.result as { dryRun?: boolean } | undefined)?.dryRun === true
  || Object.values(j.devices).some((d) => (d.result as { dryRun?: boolean } | undefined)?.dryRun === true)
  || j.log.some((l) => l.message.startsWith('dry run'));

/** Steps of one device, in order: render ✓ record ✓ push … */
function Steps({ job, device }: { job: Job; device: string }) {
  const steps = job.steps.filter((s) => s.device === device);
  return <span class="steps">{steps.map((s) => <span key={s.name} class={`step ${s.state}`} title={`${s.name}: ${s.state}`}>{s.name}</span>)}</span>;
}

interface DeviceRow { name: string; state: string; progress: number; error?: string; attempts?: number; changed?: boolean }

export function JobPage({ id }: { id: string }) {
  const me = useSession();
  const { job, error, live, replace } = useJobStream(id);
  const [device, setDevice] = useState<string>();
  const [actionError, setActionError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  if (!job) return <div class="page">{error ? <ErrorNote error={error} /> : <Spinner label={`Loading job ${id}`} />}</div>;
  const final = FINAL.includes(job.state);
  const dry = job.type === 'autoconfigure' && isDryRun(job);
  const rows: DeviceRow[] = Object.entries(job.devices).map(([name, o]) => ({
    name, state: o.state, progress: Math.round(o.progress * 100), error: o.error, attempts: o.attempts,
    changed: (o.result as { changed?: boolean } | undefined)?.changed,
  }));
  const counts = rows.reduce<Record<string, number>>((m, r) => { m[r.state] = (m[r.state] ?? 0) + 1; return m; }, {});
  const columns: Column<DeviceRow>[] = [
    { key: 'name', label: 'Device', value: (r) => r.name, class: 'strong' },
    { key: 'state', label: 'State', value: (r) => r.state, render: (r) => <Badge state={r.state} /> },
    { key: 'progress', label: 'Progress', align: 'right', value: (r) => r.progress, render: (r) => <div class="cell-progress"><Progress value={r.progress} state={r.state} label={`${r.name} progress`} /><span>{r.progress}%</span></div> },
    { key: 'steps', label: 'Steps', value: (r) => r.state, render: (r) => <Steps job={job} device={r.name} /> },
    { key: 'changed', label: 'Changes', value: (r) => (r.changed === undefined ? '' : r.changed ? 'changed' : 'none') },
    { key: 'error', label: 'Failure', value: (r) => r.error, class: 'wrap-cell error-cell' },
  ];

  const cancel = async () => {
    setBusy(true); setActionError(undefined);
    try { replace(await api.cancelJob(job.id)); } catch (e) { setActionError(e as Error); } finally { setBusy(false); }
  };
  const apply = async () => {
    setBusy(true); setActionError(undefined);
    try {
      const devices = Object.keys(job.devices);
      const { jobId } = await api.autoconfigure(job.fabric!, devices.length ? { devices } : {});
      navigate(`/jobs/${enc(jobId)}`);
    } catch (e) { setActionError(e as Error); } finally { setBusy(false); }
  };

  return (
    <div class="page job-page">
      <div class="page-head">
        <div>
          <div class="crumbs"><a href={href('/jobs')}>Jobs</a> <span aria-hidden="true">/</span> {job.fabric && <><a href={href(`/fabrics/${enc(job.fabric)}/jobs`)}>{job.fabric}</a> <span aria-hidden="true">/</span></>}</div>
          <h1>{job.type}{dry ? ' (dry run)' : ''} <Badge state={job.state} label={job.state} /></h1>
          <div class="meta">
            <span class="mono">{job.id}</span>
            <span>created <Ago at={job.createdAt} /></span>
            <span>{final ? 'took' : 'running for'} {duration(job.startedAt ?? job.createdAt, job.finishedAt)}</span>
            {live ? <span class="live" aria-live="polite"><i />live</span> : null}
          </div>
        </div>
        <div class="spacer" />
        {!final && roleAllows(me?.role, 'operator') && <button type="button" class="danger" onClick={cancel} disabled={busy || job.cancelRequested}>{job.cancelRequested ? 'Cancelling…' : 'Cancel job'}</button>}
      </div>
      <div class="job-progress">
        <Progress value={job.progress} state={job.state} label="job progress" />
        <span class="pct" data-testid="job-progress">{job.progress}%</span>
        <span data-testid="job-state" data-state={job.state} class="sr-state">{job.state}</span>
        <div class="counts">{Object.entries(counts).map(([s, n]) => <span key={s}><Badge state={s} label={`${n} ${s}`} /></span>)}</div>
      </div>
      <ErrorNote error={error} />
      {job.error && <div class="error-note" role="alert"><strong>failed</strong> {job.error}</div>}
      <ErrorNote error={actionError} />
      {job.type === 'upgrade' && <UpgradeProgress job={job} />}
      {dry && <DryRunChanges job={job} canApply={final && job.state === 'succeeded' && roleAllows(me?.role, 'operator')} onApply={apply} busy={busy} />}
      <div class="job-grid">
        <Card title="Devices">
          <DataTable<DeviceRow> label="Devices of the job" testId="job-devices" rows={rows} columns={columns} rowKey={(r) => r.name} selected={device}
            onOpen={(r) => setDevice((d) => (d === r.name ? undefined : r.name))} empty="Planning: no device jobs yet." maxHeight={420} />
        </Card>
        <JobLog job={job} device={device} onDevice={setDevice} live={live} />
      </div>
    </div>
  );
}

/** A running upgrade per batch: which batch runs, each one's progress and its devices' states. */
function UpgradeProgress({ job }: { job: Job }) {
  const batches = upgradeBatches(job);
  const skipped = (job.result as { skipped?: { device: string; reason: string }[] } | undefined)?.skipped;
  const done = batches.filter((b) => b.devices.every((d) => job.devices[d]?.state === 'succeeded')).length;
  return (
    <Card class="upgrade-progress" title={<>Batches <span class="muted" data-testid="batches-summary">{batches.length ? `${done} of ${batches.length} done` : 'planning'}</span></>}>
      {batches.length > 0 && <Batches batches={batches} skipped={skipped} job={job} />}
    </Card>
  );
}

interface ChangeRow { name: string; diff: string; changed?: boolean; error?: string; added: number; removed: number }

/** A dry run's outcome: which devices change (a table that scales to every device) and the
 * selected one's diff; only that one diff is in the page. */
function DryRunChanges({ job, canApply, onApply, busy }: { job: Job; canApply: boolean; onApply(): void; busy: boolean }) {
  const rows: ChangeRow[] = useMemo(() => Object.entries(job.devices).map(([name, o]) => {
    const r = (o.result ?? {}) as { diff?: string; changed?: boolean };
    const diff = r.diff ?? '';
    return { name, diff, changed: r.changed ?? (r.diff !== undefined ? diff.trim() !== '' : undefined), error: o.error, ...diffStats(diff) };
  }), [job.devices]);
  const [only, setOnly] = useState(true);
  const [picked, setPicked] = useState<string>();
  const changing = rows.filter((d) => d.changed);
  const compared = rows.some((d) => d.changed !== undefined);
  const final = FINAL.includes(job.state);
  const interesting = (r: ChangeRow) => !!r.changed || !!r.error;
  const first = [...rows].filter(interesting).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))[0];
  const sel = rows.find((r) => r.name === picked) ?? first;
  const columns: Column<ChangeRow>[] = [
    { key: 'name', label: 'Device', value: (r) => r.name, class: 'strong' },
    { key: 'added', label: 'Added', align: 'right', value: (r) => r.added, render: (r) => <span class="add">+{r.added}</span> },
    { key: 'removed', label: 'Removed', align: 'right', value: (r) => r.removed, render: (r) => <span class="del">−{r.removed}</span> },
    { key: 'outcome', label: 'Outcome', value: (r) => (r.error ? 'failed' : r.changed ? 'changes' : r.changed === false ? 'no change' : 'not compared'),
      render: (r) => (r.error ? <Badge state="failed" /> : r.changed ? <Badge state="running" label="changes" /> : <Badge state="queued" label={r.changed === false ? 'no change' : 'not compared'} />) },
  ];
  return (
    <Card class="changes" title={<>Changes {final && <span class="muted" data-testid="changes-summary">{compared ? `${changing.length} of ${rows.length} devices change` : 'not compared with running configs (push off)'}</span>}</>}
      actions={canApply && <button type="button" class="primary" onClick={onApply} disabled={busy}>{busy ? 'Starting…' : `Apply to ${rows.length} device${rows.length === 1 ? '' : 's'}`}</button>}>
      {!final && <Spinner label="Comparing each device's rendered config with its running config" />}
      {final && changing.length === 0 && compared && <p class="muted">Every device already runs its intended config: nothing to apply.</p>}
      {final && rows.some(interesting) && (
        <div class="changes-grid">
          <DataTable<ChangeRow> label="Devices that change" testId="changes" rows={rows} columns={columns} rowKey={(r) => r.name} selected={sel?.name}
            onOpen={(r) => setPicked(r.name)} prefilter={only ? interesting : undefined} maxHeight={520}
            toolbar={<label class="check small"><input type="checkbox" checked={only} onChange={(e) => setOnly((e.target as HTMLInputElement).checked)} />changes only</label>} />
          <div class="device-diff" data-testid="device-diff" data-device={sel?.name}>
            {sel && <div class="diff-title"><span class="strong">{sel.name}</span> <span class="add">+{sel.added}</span> <span class="del">−{sel.removed}</span></div>}
            {sel?.error ? <div class="error-note">{sel.error}</div> : sel ? <Diff text={sel.diff} label={`Diff for ${sel.name}`} /> : null}
          </div>
        </div>
      )}
    </Card>
  );
}

function JobLog({ job, device, onDevice, live }: { job: Job; device?: string; onDevice(d?: string): void; live: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const [full, setFull] = useState<Job['log']>();
  const stick = useRef(true);
  const log = full ?? job.log;
  const lines = device ? log.filter((l) => l.device === device || (!l.device && l.gap)) : log;
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  const loadAll = async () => setFull((await api.job(job.id, 5000)).log);
  return (
    <Card title={<>Log {device && <span class="muted small">· {device} <button type="button" class="link" onClick={() => onDevice(undefined)}>show all</button></span>}</>}
      actions={!live && !full && job.log.length >= 500 && <button type="button" class="ghost small" onClick={loadAll}>Load the whole log</button>}>
      <div class="log" ref={box} role="log" aria-live={live ? 'polite' : 'off'} data-testid="job-log"
        onScroll={(e) => { const el = e.target as HTMLElement; stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 24; }}>
        {lines.length === 0 && <div class="muted">No log lines yet.</div>}
        {lines.map((l, i) => (
          <div key={i} class={`log-line ${l.gap ? 'gap' : ''} ${/fail|error/i.test(l.message) ? 'bad' : ''}`}>
            <time dateTime={l.at} title={l.at}>{new Date(l.at).toLocaleTimeString('en-GB', { hour12: false })}</time>
            {l.device ? <button type="button" class="log-dev" onClick={() => onDevice(l.device)}>{l.device}</button> : <span class="log-dev job">job</span>}
            <span class="msg">{l.message}</span>
          </div>
        ))}
      </div>
    </Card>
  );
}
