// Onboarding: greenfield (ZTP: devices ask DHCP) or brownfield (sweep subnets), with the
// discovery job's progress live and the topology growing as devices and links are found.
// The API's validation errors are shown beside the field they name.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { enc, href } from '../router';
import { Badge, Card, ErrorNote, Progress } from '../components/ui';
import { useJobStream } from './jobs';
import { fieldOf } from '../components/forms';
import { TopologyPicture, type FabricData } from './fabric-common';
import { FINAL } from '../types';

const FIELDS = ['expectedDevices', 'serials', 'subnets', 'timeoutSeconds'];
const list = (s: string) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

export function OnboardTab({ data, onOpen }: { data: FabricData; onOpen(d: string): void }) {
  const [mode, setMode] = useState<'greenfield' | 'brownfield'>('greenfield');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const [jobId, setJobId] = useState<string>();
  const { job } = useJobStream(jobId);
  // A refusal at submission names its field in `path`; one the job finds while planning starts
  // its message with the field (`subnets[0] 10.0.0.0/30 is not inside ...`): both go beside it.
  const jobError = job?.state === 'failed' && job.error ? job.error : undefined;
  const jobField = jobError ? FIELDS.find((f) => jobError.startsWith(`${f}[`) || jobError.startsWith(`${f}:`) || jobError.startsWith(`${f} `)) : undefined;
  const field = fieldOf(error) ?? jobField;
  const shown: Error | undefined = error ?? (jobField ? new Error(jobError) : undefined);

  // Devices appear as discovery finds them: reload the fabric when the job's device set or
  // log grows, at most every 2 s (the job itself streams).
  const seen = useRef('');
  const lastReload = useRef(0);
  useEffect(() => {
    if (!job) return;
    const sig = `${Object.keys(job.devices).length}/${job.log.length}/${job.state}`;
    if (sig === seen.current) return;
    seen.current = sig;
    const wait = Math.max(0, 2000 - (Date.now() - lastReload.current));
    const t = setTimeout(() => { lastReload.current = Date.now(); data.reload(); }, FINAL.includes(job.state) ? 0 : wait);
    return () => clearTimeout(t);
  }, [job]); // eslint-disable-line react-hooks/exhaustive-deps

  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const body: Record<string, unknown> = { mode };
    const expected = String(f.get('expectedDevices') ?? '').trim();
    if (expected) body.expectedDevices = Number(expected);
    const serials = list(String(f.get('serials') ?? ''));
    if (serials.length) body.serials = serials;
    const subnets = list(String(f.get('subnets') ?? ''));
    if (mode === 'brownfield' || subnets.length) body.subnets = subnets;
    const timeout = String(f.get('timeoutSeconds') ?? '').trim();
    if (timeout) body.timeoutSeconds = Number(timeout);
    body.manageUnderlay = f.get('manageUnderlay') === 'on';
    setBusy(true); setError(undefined);
    try {
      setJobId((await api.onboard(data.fabric.name, body)).jobId);
    } catch (err) { setError(err as Error); } finally { setBusy(false); }
  };
  const fieldError = (name: string) => (field === name ? <ErrorNote error={shown} id={`${name}-error`} /> : null);
  const inv = (name: string) => (field === name ? { 'aria-invalid': 'true' as const, 'aria-describedby': `${name}-error` } : {});

  return (
    <div class="onboard">
      <Card title="Onboard devices">
        <form class="form" onSubmit={submit} aria-label="Onboarding" noValidate>
          <fieldset class="field">
            <legend>Mode</legend>
            <div class="seg">
              {(['greenfield', 'brownfield'] as const).map((m) => (
                <label key={m} class={`seg-opt ${mode === m ? 'on' : ''}`}><input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} />{m}</label>
              ))}
            </div>
            <p class="help">{mode === 'greenfield' ? 'Factory-default devices ask DHCP for a ZTP script; each is matched by serial or counted up to the expected number.' : 'Devices already running: sweep management subnets, read facts over NETCONF and LLDP over SNMP.'}</p>
          </fieldset>
          {mode === 'greenfield' && (
            <div class={`field ${field === 'expectedDevices' ? 'invalid' : ''}`}>
              <label for="expectedDevices">Expected devices</label>
              <input id="expectedDevices" name="expectedDevices" type="number" min={1} inputMode="numeric" placeholder={String(data.devices.length || '')} {...inv('expectedDevices')} />
              {fieldError('expectedDevices')}
            </div>
          )}
          <div class={`field ${field === 'serials' ? 'invalid' : ''}`}>
            <label for="serials">Serials <span class="muted small">(optional; commas or lines)</span></label>
            <textarea id="serials" name="serials" rows={2} {...inv('serials')} />
            {fieldError('serials')}
          </div>
          <div class={`field ${field === 'subnets' ? 'invalid' : ''}`}>
            <label for="subnets">Subnets {mode === 'greenfield' && <span class="muted small">(optional)</span>}</label>
            <input id="subnets" name="subnets" type="text" placeholder={data.fabric.namespaces.management.map((m) => m.cidr).join(', ')} {...inv('subnets')} />
            {fieldError('subnets')}
          </div>
          <div class="field-row">
            <div class={`field ${field === 'timeoutSeconds' ? 'invalid' : ''}`}>
              <label for="timeoutSeconds">Timeout (s)</label>
              <input id="timeoutSeconds" name="timeoutSeconds" type="number" min={1} placeholder="600" {...inv('timeoutSeconds')} />
              {fieldError('timeoutSeconds')}
            </div>
            <label class="check"><input type="checkbox" name="manageUnderlay" defaultChecked />Configure the underlay when done</label>
          </div>
          {error && !FIELDS.includes(field ?? '') && <ErrorNote error={error} />}
          <div class="form-actions">
            <button type="submit" class="primary" disabled={busy || (!!job && !FINAL.includes(job.state))}>{busy ? 'Starting…' : 'Start onboarding'}</button>
            {job && <a href={href(`/jobs/${enc(job.id)}`)}>Open the job</a>}
          </div>
        </form>
        {job && (
          <div class="onboard-progress" aria-live="polite">
            <div class="job-progress"><Progress value={job.progress} state={job.state} label="onboarding progress" /><span class="pct">{job.progress}%</span><Badge state={job.state} /></div>
            {job.error && !jobField && <div class="error-note" role="alert">{job.error}</div>}
            {job.state === 'succeeded' && <OnboardResult result={job.result} />}
            <ul class="log compact">{job.log.slice(-8).map((l, i) => <li key={i}><span class="log-dev">{l.device ?? 'job'}</span> {l.message}</li>)}</ul>
          </div>
        )}
      </Card>
      <Card title={`Topology (${data.devices.length} devices, ${data.links.length} links)`}>
        {data.devices.length === 0 ? <div class="empty">Devices appear here as they are found.</div> : <TopologyPicture data={data} onOpen={onOpen} query="" />}
      </Card>
    </div>
  );
}

/** What discovery found, from the job's result. */
function OnboardResult({ result }: { result: unknown }) {
  const r = (result ?? {}) as { found?: unknown[]; missing?: string[]; failed?: unknown[]; links?: { found: number; added: number } };
  if (!r.found) return null;
  return (
    <p class="muted small" data-testid="onboard-result">
      found {r.found.length} device{r.found.length === 1 ? '' : 's'}{r.links ? `, ${r.links.found} links (${r.links.added} new)` : ''}
      {r.missing?.length ? `; not seen: ${r.missing.slice(0, 8).join(', ')}${r.missing.length > 8 ? ', …' : ''}` : ''}
      {r.failed?.length ? `; ${r.failed.length} failed` : ''}
    </p>
  );
}
