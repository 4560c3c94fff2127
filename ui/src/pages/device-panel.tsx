// The device panel: facts, roles (a choice among what its node profile allows), addresses
// (management and each link's /31), actions, intended config, running-vs-intended diff, and
// the config history with rollback. Esc closes it.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, roleAllows } from '../api';
import { fieldOf } from '../components/forms';
import { DEVICE_ACTIONS } from '../actions';
import { enc, href, navigate, useLocation, withQuery } from '../router';
import { useSession } from '../session';
import { Ago, Badge, ErrorNote, Spinner, useAsync } from '../components/ui';
import { ConfigText, Diff } from '../components/diff';
import { diffStats } from '../diff-parse';
import { deviceState } from '../topology/model';
import { MaintenanceControl, RmaForm, VersionFacts } from './day2';
import { allowedRoles } from '../roles';
import type { DeviceDetail, Link, NodeProfile } from '../types';

type PanelTab = 'overview' | 'config' | 'drift' | 'history';
const PANEL_TABS: { id: PanelTab; label: string }[] = [
  { id: 'overview', label: 'Overview' }, { id: 'config', label: 'Intended config' }, { id: 'drift', label: 'Running vs intended' }, { id: 'history', label: 'History' },
];

export function DevicePanel({ fabric, name, links, osVersions, onClose, onChanged }: {
  fabric: string; name: string; links: Link[]; osVersions?: Record<string, string>; onClose(): void; onChanged(): void;
}) {
  const loc = useLocation();
  const tab = (loc.query.get('panel') ?? 'overview') as PanelTab;
  const dev = useAsync(() => api.device(fabric, name), [fabric, name]);
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.focus();
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') onClose(); };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <aside class="panel" ref={ref} tabIndex={-1} aria-label={`Device ${name}`} data-testid="device-panel">
      <header class="panel-head">
        <div>
          <div class="muted small">device</div>
          <h2>{name}</h2>
        </div>
        {dev.data && <Badge state={deviceState(dev.data)} />}
        <div class="spacer" />
        <button type="button" class="icon" aria-label="Close the device panel (Esc)" title="Close (Esc)" onClick={onClose}>×</button>
      </header>
      <nav class="tabs small-tabs" aria-label="Device views">
        {PANEL_TABS.map((t) => <a key={t.id} href={href(withQuery(loc, 'panel', t.id === 'overview' ? undefined : t.id))} aria-current={t.id === tab ? 'page' : undefined}>{t.label}</a>)}
      </nav>
      <div class="panel-body">
        <ErrorNote error={dev.error} />
        {!dev.data ? (!dev.error && <Spinner />) : (
          <>
            {tab === 'overview' && <Overview fabric={fabric} d={dev.data} links={links} osVersions={osVersions} onChanged={() => { dev.reload(); onChanged(); }} />}
            {tab === 'config' && <IntendedConfig fabric={fabric} name={name} />}
            {tab === 'drift' && <RunningDiff fabric={fabric} name={name} />}
            {tab === 'history' && <History fabric={fabric} name={name} />}
          </>
        )}
      </div>
    </aside>
  );
}

function Overview({ fabric, d, links, osVersions, onChanged }: { fabric: string; d: DeviceDetail; links: Link[]; osVersions?: Record<string, string>; onChanged(): void }) {
  const me = useSession();
  const mine = useMemo(() => links.filter((l) => l.a.device === d.name || l.b.device === d.name).map((l) => {
    const [here, there] = l.a.device === d.name ? [l.a, l.b] : [l.b, l.a];
    return { port: here.port, peer: `${there.device}:${there.port}`, peerDevice: there.device, subnet: l.subnet, anomaly: l.anomaly };
  }).sort((x, y) => x.port.localeCompare(y.port, 'en', { numeric: true })), [links, d.name]);
  const facts: [string, string | null | undefined][] = [
    ['Serial', d.serial], ['Model', d.model], ['Profile', d.profile], ['Management IP', d.managementIp],
    ['Hostname', d.hostname], ['Managed state', d.managedState], ['Onboarding', d.onboardingState ?? 'planned (not discovered)'],
    ['Pending config', d.needsConfig ? 'yes: run autoconfigure' : 'none recorded'], ['Ports known', String(d.ports.length)],
  ];
  return (
    <>
      <dl class="facts">
        {facts.map(([k, v]) => <div key={k}><dt>{k}</dt><dd data-fact={k} class={k === 'Management IP' || k === 'Serial' ? 'mono' : ''}>{v ?? '–'}</dd></div>)}
      </dl>
      <VersionFacts d={d} osVersions={osVersions} />
      <RolesEditor fabric={fabric} d={d} canEdit={roleAllows(me?.role, 'operator')} onSaved={onChanged} />
      <Actions fabric={fabric} d={d} />
      <MaintenanceControl fabric={fabric} d={d} onChanged={onChanged} />
      <RmaForm fabric={fabric} d={d} />
      <h3>Links and addresses</h3>
      {mine.length === 0 ? <p class="muted small">No links.</p> : (
        <table class="mini">
          <thead><tr><th>Port</th><th>Peer</th><th>/31</th></tr></thead>
          <tbody>
            {mine.map((l) => (
              <tr key={l.port}>
                <td class="mono">{l.port}</td>
                <td class="mono"><a href={href(withQuery({ path: `/fabrics/${enc(fabric)}/devices`, query: new URLSearchParams() }, 'device', l.peerDevice))}>{l.peer}</a></td>
                <td class="mono">{l.anomaly ? <Badge state="anomaly" label={l.anomaly} /> : l.subnet ?? <span class="muted">not addressed</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function RolesEditor({ fabric, d, canEdit, onSaved }: { fabric: string; d: DeviceDetail; canEdit: boolean; onSaved(): void }) {
  const profile = useAsync(() => (d.profile ? api.profile(d.profile) : Promise.resolve(undefined)), [d.profile]);
  const [physical, setPhysical] = useState(d.physicalRole ?? '');
  const [roles, setRoles] = useState<string[]>(d.roles.filter((r) => r !== 'null'));
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const allowed = allowedRoles(profile.data, physical);
  const field = fieldOf(error);

  if (!canEdit) {
    return (
      <dl class="facts"><div><dt>Physical role</dt><dd>{d.physicalRole ?? '–'}</dd></div><div><dt>Routing / bridging</dt><dd>{d.roles.join(', ') || 'none (lean)'}</dd></div></dl>
    );
  }
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(undefined); setSaved(false);
    try {
      await api.setRoles(fabric, d.name, { physicalRole: physical, roles });
      setSaved(true);
      onSaved();
    } catch (err) { setError(err as Error); } finally { setBusy(false); }
  };
  return (
    <form class="roles-form" onSubmit={save} aria-label="Roles">
      <h3>Roles</h3>
      {!d.profile && <p class="muted small">No node profile yet (discovery sets it): roles cannot be checked.</p>}
      <div class={`field ${field === 'physicalRole' ? 'invalid' : ''}`}>
        <label for="physicalRole">Physical role</label>
        <select id="physicalRole" name="physicalRole" value={physical} onChange={(e) => { setPhysical((e.target as HTMLSelectElement).value); setSaved(false); }}
          aria-describedby={field === 'physicalRole' ? 'roles-error' : undefined}>
          {!physical && <option value="">choose…</option>}
          {allowed.physicals.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
        {field === 'physicalRole' && <ErrorNote error={error} id="roles-error" />}
      </div>
      <fieldset class={`field ${field === 'roles' ? 'invalid' : ''}`} aria-describedby={field === 'roles' ? 'roles-error' : undefined}>
        <legend>Routing / bridging roles {profile.data && <span class="muted small">(allowed by {profile.data.name})</span>}</legend>
        <div class="checks">
          {allowed.roles.map((r) => (
            <label key={r} class="check"><input type="checkbox" name="roles" value={r} checked={roles.includes(r)}
              onChange={(e) => { const on = (e.target as HTMLInputElement).checked; setRoles((x) => (on ? [...x, r] : x.filter((y) => y !== r))); setSaved(false); }} />{r}</label>
          ))}
          {allowed.roles.length === 0 && <span class="muted small">This profile allows no routing role as {physical || 'this'}{allowed.lean ? ' (lean only)' : ''}.</span>}
        </div>
        {field === 'roles' && <ErrorNote error={error} id="roles-error" />}
      </fieldset>
      {error && field !== 'roles' && field !== 'physicalRole' && <ErrorNote error={error} />}
      <div class="form-actions">
        <button type="submit" disabled={busy || !physical}>{busy ? 'Saving…' : 'Save roles'}</button>
        {saved && <span class="ok-note" role="status">Saved. Run autoconfigure to push.</span>}
      </div>
    </form>
  );
}

function Actions({ fabric, d }: { fabric: string; d: DeviceDetail }) {
  const me = useSession();
  const [error, setError] = useState<Error>();
  const actions = DEVICE_ACTIONS.filter((a) => roleAllows(me?.role, a.role) && (!a.available || a.available(d)));
  if (actions.length === 0) return null;
  return (
    <div class="actions">
      <h3>Actions</h3>
      <div class="action-row">
        {actions.map((a) => (
          <button key={a.id} type="button" title={a.description} onClick={async () => {
            if (a.confirm && !window.confirm(a.confirm)) return;
            setError(undefined);
            try {
              const r = await a.run(fabric, d);
              if (r.jobId) navigate(`/jobs/${enc(r.jobId)}`);
            } catch (e) { setError(e as Error); }
          }}>{a.label}</button>
        ))}
      </div>
      <ErrorNote error={error} />
    </div>
  );
}

function IntendedConfig({ fabric, name }: { fabric: string; name: string }) {
  const cfg = useAsync(() => api.config(fabric, name), [fabric, name]);
  const [file, setFile] = useState<string>();
  if (cfg.error) return <ErrorNote error={cfg.error} />;
  if (!cfg.data) return <Spinner />;
  const files = Object.keys(cfg.data.files).sort();
  const shown = file && files.includes(file) ? file : files[0];
  return (
    <>
      <div class="toolbar">
        <span class="muted small">platform {cfg.data.platform}</span>
        <div class="spacer" />
        {files.length > 1 && (
          <div class="seg" role="tablist" aria-label="Files">
            {files.map((f) => <button key={f} type="button" role="tab" aria-selected={f === shown} class={f === shown ? 'on' : ''} onClick={() => setFile(f)}>{f}</button>)}
          </div>
        )}
      </div>
      {shown && <ConfigText text={cfg.data.files[shown]} label={`Intended ${shown}`} />}
    </>
  );
}

function RunningDiff({ fabric, name }: { fabric: string; name: string }) {
  const [state, setState] = useState<{ busy?: boolean; error?: Error; diff?: string; drift?: boolean; deviceError?: string; at?: string }>({});
  const run = async () => {
    setState({ busy: true });
    try {
      const items = await api.drift(fabric);
      const it = items.find((i) => i.device === name);
      setState({ diff: it?.diff ?? '', drift: it?.drift, deviceError: it?.error ?? (it ? undefined : 'the drift check did not cover this device'), at: new Date().toISOString() });
    } catch (e) { setState({ error: e as Error }); }
  };
  return (
    <>
      <p class="muted small">Reads the running config over NETCONF (the fabric's drift check) and compares it with the intended one.</p>
      <button type="button" onClick={run} disabled={state.busy}>{state.busy ? 'Reading…' : state.at ? 'Compare again' : 'Compare with running'}</button>
      <ErrorNote error={state.error ?? state.deviceError} />
      {state.at && !state.deviceError && (
        <>
          <p>{state.drift ? <Badge state="drift" label="drift" /> : <Badge state="succeeded" label="in sync" />} <span class="muted small">checked <Ago at={state.at} /></span></p>
          {state.diff && <Diff text={state.diff} label={`Running vs intended for ${name}`} />}
        </>
      )}
    </>
  );
}

function History({ fabric, name }: { fabric: string; name: string }) {
  const me = useSession();
  const hist = useAsync(() => api.history(fabric, name, 20), [fabric, name]);
  const [error, setError] = useState<Error>();
  if (hist.error) return <ErrorNote error={hist.error} />;
  if (!hist.data) return <Spinner />;
  if (hist.data.length === 0) return <p class="muted">No commit yet: the history starts with the first push.</p>;
  const rollback = async (version: number) => {
    if (!window.confirm(`Push version ${version} back to ${name}? (commit confirmed, verify, confirm or roll back)`)) return;
    setError(undefined);
    try {
      const { jobId } = await api.rollback(fabric, name, version);
      navigate(`/jobs/${enc(jobId)}`);
    } catch (e) { setError(e as Error); }
  };
  return (
    <>
      <ErrorNote error={error} />
      <ol class="history">
        {hist.data.map((c, i) => {
          const s = diffStats(c.diff);
          return (
            <li key={`${c.at}-${c.jobId}`}>
              <details open={i === 0}>
                <summary>
                  <span class="strong">v{i}</span> <Ago at={c.at} /> <span class="add">+{s.added}</span> <span class="del">−{s.removed}</span>
                  <a class="muted small" href={href(`/jobs/${enc(c.jobId)}`)}>job {c.jobId.slice(0, 8)}</a>
                  {i > 0 && roleAllows(me?.role, 'operator') && <button type="button" class="small" onClick={(e) => { e.preventDefault(); void rollback(i); }}>Roll back to v{i}</button>}
                </summary>
                {c.diff ? <Diff text={c.diff} label={`Commit v${i}`} /> : <p class="muted small">No diff recorded.</p>}
              </details>
            </li>
          );
        })}
      </ol>
    </>
  );
}
