// Overlay services: virtual networks, logical routers, servers and VPGs, each a table with a
// create form and delete buttons (admin). The API checks the whole fabric with the change and
// pushes it to the devices it touches; its refusals (a port in two VPGs, a bound network) are
// shown as it words them, beside the form or the row they belong to.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, roleAllows } from '../api';
import { enc, href, navigate, useLocation, withQuery } from '../router';
import { useSession } from '../session';
import { Card, ErrorNote, Spinner, useAsync } from '../components/ui';
import { DataTable, type Column } from '../components/table';
import { ConfirmButton, fieldOf } from '../components/forms';
import type { FabricData } from './fabric-common';
import type { LogicalRouterSpec, ServerSpec, ServiceChange, ServiceKind, VirtualNetworkSpec, VpgSpec } from '../types';

interface Field { name: string; label: string; type?: 'text' | 'number' | 'textarea' | 'select' | 'checks'; options?: string[]; placeholder?: string; help?: string; optional?: boolean }
type Services = { vns: VirtualNetworkSpec[]; lrs: LogicalRouterSpec[]; servers: ServerSpec[]; vpgs: VpgSpec[] };

const items = (s: string) => s.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean);
const end = (s: string) => { const i = s.indexOf(':'); return i < 0 ? { device: s, port: '' } : { device: s.slice(0, i).trim(), port: s.slice(i + 1).trim() }; };
const num = (s: string) => (s.trim() === '' ? undefined : Number(s));

interface Kind<T> {
  kind: ServiceKind;
  title: string;
  what: string;
  rows(s: Services): T[];
  columns: Column<T>[];
  fields(s: Services): Field[];
  /** the form's values as the API body (the API validates; this only shapes) */
  body(v: Record<string, string | string[]>): unknown;
}

const KINDS: Kind<any>[] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
  {
    kind: 'virtual-networks', title: 'Virtual networks', what: 'network', rows: (s) => s.vns,
    columns: [
      { key: 'name', label: 'Name', value: (v: VirtualNetworkSpec) => v.name, class: 'strong' },
      { key: 'vni', label: 'VNI', align: 'right', value: (v: VirtualNetworkSpec) => v.vni },
      { key: 'subnet', label: 'Subnet', value: (v: VirtualNetworkSpec) => v.subnet, class: 'mono' },
      { key: 'gateway', label: 'Gateway', value: (v: VirtualNetworkSpec) => v.gateway, class: 'mono' },
    ],
    fields: () => [
      { name: 'name', label: 'Name', placeholder: 'web' },
      { name: 'vni', label: 'VNI', type: 'number', placeholder: '10100' },
      { name: 'subnet', label: 'Subnet', placeholder: '10.1.0.0/24', optional: true },
      { name: 'gateway', label: 'Gateway', placeholder: '10.1.0.1', optional: true },
    ],
    body: (v) => ({ name: v.name, vni: num(v.vni as string), ...(v.subnet ? { subnet: v.subnet } : {}), ...(v.gateway ? { gateway: v.gateway } : {}) }),
  },
  {
    kind: 'logical-routers', title: 'Logical routers', what: 'logical router', rows: (s) => s.lrs,
    columns: [
      { key: 'name', label: 'Name', value: (v: LogicalRouterSpec) => v.name, class: 'strong' },
      { key: 'mode', label: 'Mode', value: (v: LogicalRouterSpec) => v.mode },
      { key: 'vni', label: 'L3 VNI', align: 'right', value: (v: LogicalRouterSpec) => v.vni },
      { key: 'networks', label: 'Networks', value: (v: LogicalRouterSpec) => v.networks.join(', ') },
    ],
    fields: (s) => [
      { name: 'name', label: 'Name', placeholder: 'tenant1', help: 'names the VRF: a letter, then up to 14 letters, digits, _ or -' },
      { name: 'mode', label: 'Mode', type: 'select', options: ['erb', 'crb'] },
      { name: 'vni', label: 'L3 VNI', type: 'number', placeholder: '50001' },
      { name: 'networks', label: 'Networks', type: 'checks', options: s.vns.map((v) => v.name) },
    ],
    body: (v) => ({ name: v.name, mode: v.mode || 'erb', vni: num(v.vni as string), networks: (v.networks as string[]) ?? [] }),
  },
  {
    kind: 'servers', title: 'Servers', what: 'server', rows: (s) => s.servers,
    columns: [
      { key: 'name', label: 'Name', value: (v: ServerSpec) => v.name, class: 'strong' },
      { key: 'nics', label: 'NICs', value: (v: ServerSpec) => v.nics.map((n) => `${n.device}:${n.port}${n.mac ? ` (${n.mac})` : ''}`).join(', '), class: 'mono' },
    ],
    fields: () => [
      { name: 'name', label: 'Name', placeholder: 'db1' },
      { name: 'nics', label: 'NICs', type: 'textarea', placeholder: 'leaf1:swp10\nleaf2:swp10 aa:bb:cc:00:00:01', help: 'one device:port per line, optionally a MAC after it' },
    ],
    body: (v) => ({ name: v.name, nics: items(v.nics as string).map((l) => { const [e, mac] = l.split(/\s+/); return { ...end(e), ...(mac ? { mac } : {}) }; }) }),
  },
  {
    kind: 'vpgs', title: 'VPGs', what: 'VPG', rows: (s) => s.vpgs,
    columns: [
      { key: 'name', label: 'Name', value: (v: VpgSpec) => v.name, class: 'strong' },
      { key: 'server', label: 'Server', value: (v: VpgSpec) => v.server },
      { key: 'ports', label: 'Ports', value: (v: VpgSpec) => v.ports.map((p) => `${p.device}:${p.port}`).join(', '), class: 'mono' },
      { key: 'bindings', label: 'Networks', value: (v: VpgSpec) => v.bindings.map((b) => `${b.network}${'vlan' in b ? `:${b.vlan}` : ' (untagged)'}`).join(', ') },
    ],
    fields: (s) => [
      { name: 'name', label: 'Name', placeholder: 'db1-bond' },
      { name: 'server', label: 'Server', type: 'select', options: ['', ...s.servers.map((x) => x.name)], optional: true },
      { name: 'ports', label: 'Ports', type: 'textarea', placeholder: 'leaf1:swp10\nleaf2:swp10', help: 'leaf access ports, device:port, one per line; two leaves make an ESI-LAG' },
      { name: 'bindings', label: 'Networks', type: 'textarea', placeholder: 'web:100\napp:untagged', help: 'network:VLAN or network:untagged, one per line' },
    ],
    body: (v) => ({
      name: v.name, ...(v.server ? { server: v.server } : {}),
      ports: items(v.ports as string).map(end),
      bindings: items(v.bindings as string).map((b) => { const { device: network, port } = end(b); return port === 'untagged' ? { network, untagged: true } : { network, vlan: num(port) }; }),
    }),
  },
];

function ChangeNote({ r, verb }: { r: ServiceChange; verb: string }) {
  return (
    <div class="ok-note" role="status">
      {verb}{r.devices.length ? `; pushing to ${r.devices.length} device${r.devices.length === 1 ? '' : 's'} (${r.devices.slice(0, 6).join(', ')}${r.devices.length > 6 ? ', …' : ''})` : '; no device changes'}
      {r.jobId && <> · <a href={href(`/jobs/${enc(r.jobId)}`)}>job {r.jobId.slice(0, 8)}</a></>}
    </div>
  );
}

function FieldInput({ f, error, values, set }: { f: Field; error?: Error; values: Record<string, string | string[]>; set(n: string, v: string | string[]): void }) {
  const id = `svc-${f.name}`;
  const bad = fieldOf(error) === f.name;
  const aria = { 'aria-invalid': bad ? ('true' as const) : undefined, 'aria-describedby': bad ? `${id}-error` : f.help ? `${id}-help` : undefined };
  const v = values[f.name] ?? (f.type === 'checks' ? [] : '');
  let input: ComponentChildren;
  if (f.type === 'textarea') input = <textarea id={id} name={f.name} rows={3} placeholder={f.placeholder} value={v as string} onInput={(e) => set(f.name, (e.target as HTMLTextAreaElement).value)} {...aria} />;
  else if (f.type === 'select') input = <select id={id} name={f.name} value={v as string} onChange={(e) => set(f.name, (e.target as HTMLSelectElement).value)} {...aria}>{f.options!.map((o) => <option key={o} value={o}>{o || '(none)'}</option>)}</select>;
  else if (f.type === 'checks') {
    input = (
      <div class="checks" id={id} {...aria}>
        {f.options!.length === 0 && <span class="muted small">No networks yet.</span>}
        {f.options!.map((o) => (
          <label key={o} class="check"><input type="checkbox" name={f.name} value={o} checked={(v as string[]).includes(o)}
            onChange={(e) => set(f.name, (e.target as HTMLInputElement).checked ? [...(v as string[]), o] : (v as string[]).filter((x) => x !== o))} />{o}</label>
        ))}
      </div>
    );
  } else {
    const onInput = (e: Event) => set(f.name, (e.target as HTMLInputElement).value);
    input = f.type === 'number'
      ? <input id={id} name={f.name} type="number" placeholder={f.placeholder} value={v as string} onInput={onInput} {...aria} />
      : <input id={id} name={f.name} type="text" placeholder={f.placeholder} value={v as string} onInput={onInput} {...aria} />;
  }
  return (
    <div class={`field ${bad ? 'invalid' : ''}`}>
      <label for={id}>{f.label}{f.optional && <span class="muted small"> (optional)</span>}</label>
      {input}
      {f.help && !bad && <p class="help" id={`${id}-help`}>{f.help}</p>}
      {bad && <ErrorNote error={error} id={`${id}-error`} />}
    </div>
  );
}

function Section({ k, fabric, services, admin, onChanged }: { k: Kind<{ name: string }>; fabric: string; services: Services; admin: boolean; onChanged(): void }) {
  const [values, setValues] = useState<Record<string, string | string[]>>({});
  const [formError, setFormError] = useState<Error>();
  const [rowError, setRowError] = useState<{ name: string; error: Error }>();
  const [done, setDone] = useState<{ r: ServiceChange; verb: string }>();
  const [busy, setBusy] = useState(false);
  const fields = k.fields(services);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setFormError(undefined); setDone(undefined); setRowError(undefined);
    try {
      const r = await api.createService(fabric, k.kind, k.body(values));
      setDone({ r, verb: `Created ${k.what} ${String(values.name ?? '')}` });
      setValues({});
      onChanged();
    } catch (err) { setFormError(err as Error); } finally { setBusy(false); }
  };
  const remove = async (name: string) => {
    setRowError(undefined); setDone(undefined);
    try {
      const r = await api.deleteService(fabric, k.kind, name);
      setDone({ r, verb: `Deleted ${k.what} ${name}` });
      onChanged();
    } catch (err) { setRowError({ name, error: err as Error }); }
  };
  const columns: Column<{ name: string }>[] = admin
    ? [...k.columns, { key: 'delete', label: '', value: () => '', render: (row) => <ConfirmButton label="Delete" onConfirm={() => void remove(row.name)} /> }]
    : k.columns;
  const formField = fieldOf(formError);
  return (
    <div class="service-grid">
      <Card title={k.title}>
        {rowError && <div class="row-note"><ErrorNote error={rowError.error} /></div>}
        {done && <ChangeNote r={done.r} verb={done.verb} />}
        <DataTable label={k.title} testId={`svc-${k.kind}`} rows={k.rows(services)} columns={columns} rowKey={(r) => r.name} maxHeight={480} empty={`No ${k.what}s yet.`} />
      </Card>
      {admin && (
        <Card title={`New ${k.what}`}>
          <form class="form" onSubmit={create} aria-label={`New ${k.what}`} noValidate data-testid={`form-${k.kind}`}>
            {fields.map((f) => <FieldInput key={f.name} f={f} error={formError} values={values} set={(n, v) => setValues((x) => ({ ...x, [n]: v }))} />)}
            {formError && !fields.some((f) => f.name === formField) && <ErrorNote error={formError} />}
            <div class="form-actions"><button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : `Create ${k.what}`}</button></div>
          </form>
        </Card>
      )}
    </div>
  );
}

export function ServicesTab({ data }: { data: FabricData }) {
  const me = useSession();
  const loc = useLocation();
  const f = data.fabric.name;
  const current = KINDS.find((k) => k.kind === loc.query.get('kind')) ?? KINDS[0];
  const svc = useAsync(async () => {
    const [vns, lrs, servers, vpgs] = await Promise.all([
      api.services<VirtualNetworkSpec>(f, 'virtual-networks'), api.services<LogicalRouterSpec>(f, 'logical-routers'),
      api.services<ServerSpec>(f, 'servers'), api.services<VpgSpec>(f, 'vpgs'),
    ]);
    return { vns, lrs, servers, vpgs };
  }, [f]);
  if (svc.error && !svc.data) return <ErrorNote error={svc.error} />;
  if (!svc.data) return <Spinner />;
  const s = svc.data;
  const count = (k: Kind<unknown>) => k.rows(s).length;
  return (
    <div class="services">
      <nav class="seg big" aria-label="Service kinds">
        {KINDS.map((k) => (
          <a key={k.kind} class={k === current ? 'on' : ''} aria-current={k === current ? 'page' : undefined}
            href={href(withQuery(loc, 'kind', k === KINDS[0] ? undefined : k.kind))}
            onClick={(e) => { e.preventDefault(); navigate(withQuery(loc, 'kind', k === KINDS[0] ? undefined : k.kind)); }}>
            {k.title} <span class="pill">{count(k)}</span>
          </a>
        ))}
      </nav>
      {svc.error && <ErrorNote error={svc.error instanceof ApiError ? svc.error : String(svc.error)} />}
      <Section key={current.kind} k={current} fabric={f} services={s} admin={roleAllows(me?.role, 'admin')} onChanged={() => { svc.reload(); data.reload(); }} />
    </div>
  );
}
