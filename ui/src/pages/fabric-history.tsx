// A fabric's recent jobs and its event history (who changed what, when).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { enc, navigate } from '../router';
import { Ago, Badge, Card, ErrorNote, Progress, Spinner, duration, useAsync } from '../components/ui';
import { DataTable, type Column } from '../components/table';
import { FINAL, type FabricEvent, type JobSummary } from '../types';

export const JOB_COLUMNS: Column<JobSummary>[] = [
  { key: 'created', label: 'Started', value: (j) => j.createdAt, render: (j) => <Ago at={j.createdAt} /> },
  { key: 'type', label: 'Type', value: (j) => j.type, class: 'strong' },
  { key: 'fabric', label: 'Fabric', value: (j) => j.fabric },
  { key: 'state', label: 'State', value: (j) => j.state, render: (j) => <Badge state={j.state} /> },
  { key: 'progress', label: 'Progress', align: 'right', value: (j) => j.progress, render: (j) => <div class="cell-progress"><Progress value={j.progress} state={j.state} label={`job ${j.id}`} /><span>{j.progress}%</span></div> },
  { key: 'duration', label: 'Took', align: 'right', value: (j) => (j.finishedAt ? Date.parse(j.finishedAt) - Date.parse(j.createdAt) : null), render: (j) => duration(j.createdAt, j.finishedAt) },
  { key: 'error', label: 'Error', value: (j) => j.error, class: 'wrap-cell' },
  { key: 'id', label: 'Id', value: (j) => j.id, class: 'mono muted' },
];

/** Refreshes every 3 s while a job is queued or running (no faster: the job page streams). */
export function useRecentJobs(load: () => Promise<JobSummary[]>, deps: unknown[]) {
  const jobs = useAsync(load, deps);
  const live = jobs.data?.some((j) => !FINAL.includes(j.state));
  useEffect(() => {
    if (!live) return;
    const t = setTimeout(jobs.reload, 3000);
    return () => clearTimeout(t);
  }, [live, jobs.data]); // eslint-disable-line react-hooks/exhaustive-deps
  return jobs;
}

export function FabricJobs({ fabric }: { fabric: string }) {
  const jobs = useRecentJobs(() => api.fabricJobs(fabric, 50), [fabric]);
  return (
    <Card>
      <ErrorNote error={jobs.error} />
      {!jobs.data ? <Spinner /> : (
        <DataTable<JobSummary> label="Jobs" testId="fabric-jobs" rows={jobs.data} rowKey={(j) => j.id} onOpen={(j) => navigate(`/jobs/${enc(j.id)}`)}
          columns={JOB_COLUMNS.filter((c) => c.key !== 'fabric')} initialSort={{ key: 'created', dir: -1 }} empty="No jobs yet." />
      )}
    </Card>
  );
}

const EVENT_COLUMNS: Column<FabricEvent>[] = [
  { key: 'at', label: 'When', value: (e) => e.at, render: (e) => <Ago at={e.at} /> },
  { key: 'action', label: 'Action', value: (e) => e.action, class: 'strong' },
  { key: 'object', label: 'Object', value: (e) => e.object, class: 'mono' },
  { key: 'actor', label: 'Actor', value: (e) => e.actor, class: 'mono muted' },
  { key: 'details', label: 'Details', value: (e) => (e.details === undefined ? '' : JSON.stringify(e.details)), class: 'mono small details-cell' },
];

export function FabricEvents({ fabric }: { fabric: string }) {
  const [days, setDays] = useState(7);
  const events = useAsync(async () => {
    // oldest first from `since`; follow `next` up to 5,000 events
    const since = new Date(Date.now() - days * 86_400_000).toISOString();
    let r = await api.events(fabric, { since, limit: 1000 });
    const items = [...r.items];
    for (let i = 0; i < 4 && r.next; i++) {
      r = await api.events(fabric, { since: r.next, limit: 1000 });
      items.push(...r.items);
    }
    return items;
  }, [fabric, days]);
  return (
    <Card>
      <ErrorNote error={events.error} />
      {!events.data ? <Spinner /> : (
        <DataTable<FabricEvent> label="Events" testId="events" rows={events.data} rowKey={(e) => e.id} columns={EVENT_COLUMNS} initialSort={{ key: 'at', dir: -1 }}
          toolbar={<label class="inline">Last <select value={days} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
            {[1, 7, 30, 365].map((d) => <option key={d} value={d}>{d === 1 ? '24 hours' : `${d} days`}</option>)}
          </select></label>} />
      )}
    </Card>
  );
}
