// One fabric: its header (counts, the running job, autoconfigure), tabs with their own URLs
// (topology, devices, services, jobs, events, onboarding) and the device panel (?device=).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, roleAllows } from '../api';
import { enc, href, navigate, useLocation, withQuery } from '../router';
import { useSession } from '../session';
import { Ago, Badge, Card, ErrorNote, Spinner, useAsync } from '../components/ui';
import { DataTable, type Column } from '../components/table';
import { deviceState, GROUP_ABOVE, NODE_STATES } from '../topology/model';
import { warmLayout } from '../topology/layout';
import { markOnce, TopologyPicture, type FabricData } from './fabric-common';
import { DevicePanel } from './device-panel';
import { useJobStream } from './jobs';
import { ServicesTab } from './services';
import { OnboardTab } from './onboard';
import { FabricEvents, FabricJobs } from './fabric-history';
import { UpgradeTab } from './upgrade';
import { FINAL, type Device, type ServerSpec } from '../types';

export type FabricTab = 'topology' | 'devices' | 'services' | 'jobs' | 'events' | 'onboard' | 'upgrade';
export const FABRIC_TABS: { id: FabricTab; label: string; role?: 'operator' }[] = [
  { id: 'topology', label: 'Topology' }, { id: 'devices', label: 'Devices' }, { id: 'services', label: 'Services' },
  { id: 'jobs', label: 'Jobs' }, { id: 'events', label: 'Events' }, { id: 'onboard', label: 'Onboarding', role: 'operator' },
  { id: 'upgrade', label: 'Upgrade', role: 'operator' },
];

export function FabricPage({ fabric, tab, device }: { fabric: string; tab: FabricTab; device?: string }) {
  const me = useSession();
  const loc = useLocation();
  const selected = device ?? loc.query.get('device') ?? undefined;
  // Devices first (the table needs nothing else), links and servers beside them (the picture).
  const data = useAsync(async (signal) => {
    const [f, devices] = await Promise.all([api.fabric(fabric), api.devices(fabric, signal)]);
    return { fabric: f, devices };
  }, [fabric]);
  const wires = useAsync(async (signal) => {
    const [links, servers] = await Promise.all([api.links(fabric, signal), api.services<ServerSpec>(fabric, 'servers').catch(() => [] as ServerSpec[])]);
    return { links, servers };
  }, [fabric]);
  const reload = () => { data.reload(); wires.reload(); };
  // ELK (1.6 MB, in a worker) lays out fabrics whose leaves are not grouped: start it while the
  // links load. A grouped fabric (hundreds of leaves) never needs it.
  const leaves = data.data?.devices.filter((x) => x.physicalRole === 'leaf').length;
  useEffect(() => { if (leaves !== undefined && leaves <= GROUP_ABOVE) warmLayout(); }, [leaves]);
  const [actionError, setActionError] = useState<Error>();
  const [starting, setStarting] = useState(false);

  const dryRun = async () => {
    setStarting(true);
    setActionError(undefined);
    try {
      const { jobId } = await api.autoconfigure(fabric, { dryRun: true });
      navigate(`/jobs/${enc(jobId)}`);
    } catch (e) {
      setActionError(e as Error);
    } finally {
      setStarting(false);
    }
  };

  if (data.error && !data.data) {
    return <div class="page"><h1>{fabric}</h1><ErrorNote error={data.error} /><p><a href={href('/')}>All fabrics</a></p></div>;
  }
  if (!data.data) return <div class="page"><Spinner label={`Loading ${fabric}`} /></div>;
  const d: FabricData = { ...data.data, links: wires.data?.links ?? [], servers: wires.data?.servers ?? [], wired: !!wires.data, reload };
  const f = d.fabric;
  const base = `/fabrics/${enc(fabric)}`;
  const open = (name: string) => navigate(withQuery({ path: tab === 'topology' ? base : `${base}/${tab}`, query: loc.query }, 'device', name));
  const close = () => navigate(withQuery({ path: device ? `${base}/devices` : loc.path, query: loc.query }, 'device', undefined));

  return (
    <div class="page fabric-page">
      <div class="page-head">
        <div>
          <div class="crumbs"><a href={href('/')}>Fabrics</a> <span aria-hidden="true">/</span></div>
          <h1>{f.name}</h1>
          <div class="meta">
            <span>{d.devices.length.toLocaleString()} devices</span><span>{(f.links ?? d.links.length).toLocaleString()} links</span>
            {d.wired && <span>{d.servers.length} servers</span>}<span>overlay AS {f.namespaces.overlayAsn ?? '–'}</span>
            <span>updated <Ago at={f.updatedAt} /></span>
            {f.lockedBy && <RunningJob key={f.lockedBy} id={f.lockedBy} onDone={reload} />}
          </div>
        </div>
        <div class="spacer" />
        <button type="button" class="ghost" onClick={reload} disabled={data.loading}>Refresh</button>
        {roleAllows(me?.role, 'operator') && tab !== 'upgrade' && (
          <button type="button" class="ghost" onClick={() => navigate(`${base}/upgrade`)} title="Rolling OS upgrade: the plan as batches first, then apply">Upgrade…</button>
        )}
        {roleAllows(me?.role, 'operator') && (
          <button type="button" class="primary" onClick={dryRun} disabled={starting} title="Dry run first: see every device's diff, then apply">
            {starting ? 'Starting…' : 'Autoconfigure…'}
          </button>
        )}
      </div>
      {actionError && (
        <div class="row-note">
          <ErrorNote error={actionError} />
          {actionError instanceof ApiError && actionError.jobId && <a href={href(`/jobs/${enc(actionError.jobId)}`)}>Open the running job</a>}
        </div>
      )}
      <nav class="tabs" aria-label="Fabric views">
        {FABRIC_TABS.filter((t) => !t.role || roleAllows(me?.role, t.role)).map((t) => (
          <a key={t.id} href={href(t.id === 'topology' ? base : `${base}/${t.id}`)} aria-current={t.id === tab ? 'page' : undefined}>{t.label}</a>
        ))}
      </nav>
      <div class={`fabric-body ${selected ? 'with-panel' : ''}`}>
        <div class="fabric-main">
          {tab === 'topology' && <TopologyTab data={d} selected={selected} onOpen={open} />}
          {tab === 'devices' && <DevicesTab data={d} selected={selected} onOpen={open} />}
          {tab === 'services' && <ServicesTab data={d} />}
          {tab === 'jobs' && <FabricJobs fabric={fabric} />}
          {tab === 'events' && <FabricEvents fabric={fabric} />}
          {tab === 'onboard' && <OnboardTab data={d} onOpen={open} />}
          {tab === 'upgrade' && roleAllows(me?.role, 'operator') && <UpgradeTab data={d} />}
        </div>
        {selected && <DevicePanel key={selected} fabric={fabric} name={selected} links={d.links} osVersions={f.settings?.osVersions} onClose={close} onChanged={reload} />}
      </div>
    </div>
  );
}

/** The job holding the fabric, live (its stream); the page reloads the fabric when it ends. */
function RunningJob({ id, onDone }: { id: string; onDone(): void }) {
  const { job } = useJobStream(id);
  const final = !!job && FINAL.includes(job.state);
  useEffect(() => { if (final) onDone(); }, [final]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <a href={href(`/jobs/${enc(id)}`)} class="running-job" title="The job holding this fabric">
      <Badge state={job?.state ?? 'running'} label={job ? `${job.type} ${job.state === 'running' ? `${job.progress}%` : job.state}` : 'job running'} />
    </a>
  );
}

function Legend() {
  return (
    <div class="legend" aria-label="Legend">
      {NODE_STATES.map((s) => <span key={s} class={`lg s-${s}`}><i />{s}</span>)}
      <span class="lg-sep" />
      <span class="lg e-addressed"><b />addressed</span>
      <span class="lg e-planned"><b />not addressed</span>
      <span class="lg e-anomaly"><b />cabling anomaly</span>
    </div>
  );
}

function TopologyTab({ data, selected, onOpen }: { data: FabricData; selected?: string; onOpen(d: string): void }) {
  const [query, setQuery] = useState('');
  const [drift, setDrift] = useState<{ set: Set<string>; at: string; errors: number }>();
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<Error>();
  const check = async () => {
    setChecking(true);
    setError(undefined);
    try {
      const items = await api.drift(data.fabric.name);
      setDrift({ set: new Set(items.filter((i) => i.drift).map((i) => i.device)), at: new Date().toISOString(), errors: items.filter((i) => i.error).length });
    } catch (e) { setError(e as Error); } finally { setChecking(false); }
  };
  return (
    <Card class="topo-card">
      <div class="toolbar">
        <input type="search" placeholder="Find a device…" aria-label="Find a device in the topology" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key !== 'Enter') return;
            const q = query.trim().toLowerCase();
            const hit = data.devices.find((x) => x.name.toLowerCase() === q) ?? data.devices.find((x) => x.name.toLowerCase().includes(q));
            if (hit) onOpen(hit.name);
          }} />
        <button type="button" class="ghost" onClick={check} disabled={checking} title="Read every device's running config over NETCONF and compare it with the intended one">
          {checking ? 'Checking drift…' : 'Check drift'}
        </button>
        {drift && <span class="muted small">{drift.set.size} drifted{drift.errors ? `, ${drift.errors} unreachable` : ''} · <Ago at={drift.at} /></span>}
        <div class="spacer" />
        <Legend />
      </div>
      <ErrorNote error={error} />
      {data.devices.length === 0
        ? <div class="empty">No devices yet: add them to the fabric file, or run onboarding.</div>
        : <TopologyPicture data={data} selected={selected} onOpen={onOpen} query={query} drifted={drift?.set} />}
    </Card>
  );
}

const STATE_FILTERS = ['all', ...NODE_STATES] as const;

function DevicesTab({ data, selected, onOpen }: { data: FabricData; selected?: string; onOpen(d: string): void }) {
  const [state, setState] = useState<(typeof STATE_FILTERS)[number]>('all');
  const [role, setRole] = useState('all');
  useEffect(() => { markOnce('ui:devices-rendered'); }, []);
  const roles = useMemo(() => ['all', ...new Set(data.devices.map((d) => d.physicalRole ?? 'none'))], [data.devices]);
  const columns: Column<Device>[] = useMemo(() => [
    { key: 'name', label: 'Name', value: (d) => d.name, class: 'strong' },
    { key: 'state', label: 'State', value: (d) => deviceState(d), render: (d) => <Badge state={deviceState(d)} /> },
    { key: 'role', label: 'Role', value: (d) => d.physicalRole },
    { key: 'roles', label: 'Routing / bridging', value: (d) => d.roles.join(', ') },
    { key: 'ip', label: 'Management IP', value: (d) => d.managementIp, class: 'mono' },
    { key: 'serial', label: 'Serial', value: (d) => d.serial, class: 'mono' },
    { key: 'profile', label: 'Profile', value: (d) => d.profile },
    { key: 'os', label: 'OS', value: (d) => d.osVersion },
    { key: 'onboarding', label: 'Onboarding', value: (d) => d.onboardingState ?? 'planned' },
    { key: 'managed', label: 'Managed', value: (d) => d.managedState },
  ], []);
  const pre = useMemo(() => (state === 'all' && role === 'all' ? undefined
    : (d: Device) => (state === 'all' || deviceState(d) === state) && (role === 'all' || (d.physicalRole ?? 'none') === role)), [state, role]);
  return (
    <Card>
      <DataTable<Device> label="Devices" testId="devices" rows={data.devices} columns={columns} rowKey={(d) => d.name} onOpen={(d) => onOpen(d.name)} selected={selected} prefilter={pre}
        maxHeight={640}
        toolbar={<>
          <label class="inline">State <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value as typeof state)}>{STATE_FILTERS.map((s) => <option key={s}>{s}</option>)}</select></label>
          <label class="inline">Role <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>{roles.map((s) => <option key={s}>{s}</option>)}</select></label>
        </>} />
    </Card>
  );
}
