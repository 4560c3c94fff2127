// The fabrics, with their device and link counts and the job that holds each one.
import { api } from '../api';
import { enc, href, navigate } from '../router';
import { Ago, Badge, Card, ErrorNote, Spinner, useAsync } from '../components/ui';
import { DataTable } from '../components/table';
import type { Fabric } from '../types';

export function FabricsPage() {
  const list = useAsync(async () => {
    const fabrics = await api.fabrics();
    // GET /fabrics/{f} carries the counts and the lock holder
    return Promise.all(fabrics.map((f) => api.fabric(f.name).catch(() => f)));
  }, []);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Fabrics</h1>
        <div class="spacer" />
        <button type="button" class="ghost" onClick={list.reload}>Refresh</button>
      </div>
      <ErrorNote error={list.error} />
      {!list.data && list.loading && <Spinner />}
      {list.data && (
        <Card>
          <DataTable<Fabric> label="Fabrics" testId="fabrics" rows={list.data} rowKey={(f) => f.name}
            onOpen={(f) => navigate(`/fabrics/${enc(f.name)}`)}
            empty={<>No fabric yet. Create one with <code>npx fabric fabrics create FILE</code> or <code>POST /api/v1/fabrics</code>.</>}
            columns={[
              { key: 'name', label: 'Name', value: (f) => f.name, render: (f) => <a href={href(`/fabrics/${enc(f.name)}`)} class="strong">{f.name}</a> },
              { key: 'devices', label: 'Devices', align: 'right', value: (f) => f.devices ?? null },
              { key: 'links', label: 'Links', align: 'right', value: (f) => f.links ?? null },
              { key: 'mgmt', label: 'Management', value: (f) => f.namespaces.management.map((m) => m.cidr).join(', '), class: 'mono' },
              { key: 'asn', label: 'Overlay AS', align: 'right', value: (f) => f.namespaces.overlayAsn ?? null },
              { key: 'state', label: 'State', value: (f) => (f.lockedBy ? 'job running' : 'idle'), render: (f) => (f.lockedBy ? <a href={href(`/jobs/${enc(f.lockedBy)}`)}><Badge state="running" label="job running" /></a> : <Badge state="succeeded" label="idle" />) },
              { key: 'updated', label: 'Updated', value: (f) => f.updatedAt, render: (f) => <Ago at={f.updatedAt} /> },
            ]} />
        </Card>
      )}
    </div>
  );
}
