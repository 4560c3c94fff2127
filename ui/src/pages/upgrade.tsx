// The rolling OS upgrade of a fabric (operators): pick an image, optionally the devices, and
// how many at once; the dry run shows the planner's ordered batches with their reasons and the
// skipped devices; "Apply" starts the job, whose page follows it live per batch and per device.
import { useMemo, useState } from 'preact/hooks';
import { api, type UpgradeRequest } from '../api';
import { fieldOf } from '../components/forms';
import { Batches } from '../components/batches';
import { Card, ErrorNote, Spinner, useAsync } from '../components/ui';
import { parseDeviceList } from '../day2';
import { enc, navigate } from '../router';
import type { FabricData } from './fabric-common';
import type { UpgradePlan } from '../types';

export function UpgradeTab({ data }: { data: FabricData }) {
  const fabric = data.fabric.name;
  const images = useAsync(() => api.images(), []);
  const known = useMemo(() => new Set(data.devices.map((d) => d.name)), [data.devices]);
  const [image, setImage] = useState('');
  const [devices, setDevices] = useState('');
  const [maxParallel, setMaxParallel] = useState('1');
  const [plan, setPlan] = useState<{ req: UpgradeRequest; plan: UpgradePlan }>();
  const [error, setError] = useState<Error | { field: string; message: string }>();
  const [busy, setBusy] = useState(false);

  const chosen = image || images.data?.[0]?.name || '';
  const request = (): UpgradeRequest | { field: string; message: string } => {
    if (!chosen) return { field: 'image', message: 'image: choose an image' };
    const list = parseDeviceList(devices, known);
    if (list.error) return { field: 'devices', message: `devices: ${list.error}` };
    const n = Number(maxParallel);
    if (!Number.isInteger(n) || n < 1 || n > 1000) return { field: 'maxParallel', message: 'maxParallel: a whole number from 1 to 1000' };
    return { image: chosen, ...(list.devices.length ? { devices: list.devices } : {}), maxParallel: n };
  };
  const same = (a: UpgradeRequest, b: UpgradeRequest) => JSON.stringify(a) === JSON.stringify(b);
  const current = request();
  const planned = plan && !('field' in current) && same(plan.req, current) ? plan : undefined;

  const dryRun = async (e: Event) => {
    e.preventDefault();
    const req = request();
    if ('field' in req) { setError(req); return; }
    setBusy(true); setError(undefined); setPlan(undefined);
    try { setPlan({ req, plan: await api.upgradePlan(fabric, req) }); } catch (err) { setError(err as Error); } finally { setBusy(false); }
  };
  const apply = async () => {
    if (!planned) return;
    const n = planned.plan.batches.reduce((s, b) => s + b.devices.length, 0);
    if (!window.confirm(`Upgrade ${n} device${n === 1 ? '' : 's'} of ${fabric} to ${planned.req.image} in ${planned.plan.batches.length} batches?`)) return;
    setBusy(true); setError(undefined);
    try { navigate(`/jobs/${enc((await api.upgrade(fabric, planned.req)).jobId)}`); } catch (err) { setError(err as Error); } finally { setBusy(false); }
  };

  const field = error && 'field' in error ? error.field : fieldOf(error);
  const note = (f: string) => (field === f && error ? <ErrorNote error={'field' in error ? error.message : error} id={`upgrade-${f}-error`} /> : null);
  const total = planned ? planned.plan.batches.reduce((s, b) => s + b.devices.length, 0) : 0;
  return (
    <div class="upgrade">
      <Card title="Rolling OS upgrade">
        <p class="muted small">Leaves first, then gateways, spines, superspines; never more than half of a redundant tier, nor both leaves of a multihomed server, at once.
          Each device is drained (BGP graceful shutdown), installed, rebooted, checked and undrained; a failure stops the plan at its batch.</p>
        {images.error && <ErrorNote error={images.error} />}
        {!images.data ? (!images.error && <Spinner label="Loading images" />) : images.data.length === 0 ? (
          <p class="muted" data-testid="no-images">No OS image yet: an admin imports one (<code>POST /images</code>).</p>
        ) : (
          <form class="upgrade-form" onSubmit={dryRun} aria-label="Upgrade plan" data-testid="upgrade-form" noValidate>
            <div class={`field ${field === 'image' ? 'invalid' : ''}`}>
              <label for="upgrade-image">Image</label>
              <select id="upgrade-image" name="image" value={chosen} onChange={(e) => setImage((e.target as HTMLSelectElement).value)}>
                {images.data.map((i) => <option key={i.name} value={i.name}>{i.name} ({i.platform} {i.version})</option>)}
              </select>
              {note('image')}
            </div>
            <div class={`field ${field === 'devices' ? 'invalid' : ''}`}>
              <label for="upgrade-devices">Devices <span class="muted small">(optional: every device)</span></label>
              <input id="upgrade-devices" name="devices" value={devices} placeholder="leaf1, leaf2" autoComplete="off" spellcheck={false}
                onInput={(e) => { setDevices((e.target as HTMLInputElement).value); setError(undefined); }} />
              {note('devices')}
            </div>
            <div class={`field narrow ${field === 'maxParallel' ? 'invalid' : ''}`}>
              <label for="upgrade-maxParallel">At most at once</label>
              <input id="upgrade-maxParallel" name="maxParallel" type="number" min={1} max={1000} value={maxParallel}
                onInput={(e) => { setMaxParallel((e.target as HTMLInputElement).value); setError(undefined); }} />
              {note('maxParallel')}
            </div>
            <div class="form-actions">
              <button type="submit" disabled={busy}>{busy && !plan ? 'Planning…' : 'Plan (dry run)'}</button>
            </div>
            {error && !['image', 'devices', 'maxParallel'].includes(field ?? '') && <ErrorNote error={'field' in error ? error.message : error} />}
          </form>
        )}
      </Card>
      {planned && (
        <Card title={<>Plan <span class="muted" data-testid="upgrade-summary">{total} device{total === 1 ? '' : 's'} in {planned.plan.batches.length} batch{planned.plan.batches.length === 1 ? '' : 'es'}, {planned.plan.skipped.length} skipped</span></>}
          actions={total > 0 && <button type="button" class="primary" onClick={apply} disabled={busy}>{busy ? 'Starting…' : `Apply: upgrade ${total} device${total === 1 ? '' : 's'}`}</button>}>
          <Batches batches={planned.plan.batches} skipped={planned.plan.skipped} />
        </Card>
      )}
    </div>
  );
}
