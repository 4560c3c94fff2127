// The fabric's plans from the store: the pure pipeline (validate -> allocate -> compile ->
// render, src/domain, src/intent, src/platforms) fed with the stored inventory and allocations.
// Autoconfigure, rollback, drift and the config route all plan through here.
import type { Allocations, DevicePlan, FabricFile } from '../domain/types';
import { validateFabric } from '../domain/validate';
import { allocate } from '../intent/allocate';
import { compileFabric } from '../intent/compile';
import { renderDevice } from '../platforms';
import type { Store } from '../store';

/**
 * Devices by name and links by their sorted ends. The store hands them over in Redis' hash order,
 * which changes whenever Redis restarts (its hash seed is random); compiled plans follow the
 * order (iBGP neighbour lists, the route reflectors' cluster-id), so without this every device's
 * intended config changed after a Redis restart (found by test/chaos/redis-kill.test.ts).
 */
export function canonicalOrder(file: FabricFile): FabricFile {
  const end = (e: { device: string; port: string }) => `${e.device}:${e.port}`;
  const key = (l: FabricFile['links'][number]) => [end(l.a), end(l.b)].sort().join('--');
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    ...file,
    devices: [...file.devices].sort((a, b) => byText(a.name, b.name)),
    links: [...file.links].sort((a, b) => byText(key(a), key(b))),
  };
}

/** The plans of a fabric from the store's inventory; allocates in memory when `persist` is false. */
export async function planFromStore(store: Store, fabric: string, persist: boolean): Promise<{ file: FabricFile; allocations: Allocations; plans: DevicePlan[]; version: number }> {
  if (persist) await store.allocateFabric(fabric, { actor: 'autoconfigure' });
  const { file: stored, allocations: existing, version } = await store.getFabricFile(fabric);
  const file = canonicalOrder(stored);
  validateFabric(file);
  // Pure and deterministic: with persist the record already covers every device (a no-op here).
  const allocations = allocate(file, existing);
  return { file, allocations, plans: compileFabric(file, allocations), version };
}

/** Intended config of one device (what GET /fabrics/{f}/devices/{d}/config shows). */
export async function intendedConfig(store: Store, fabric: string, device: string): Promise<{ platform: string; files: Record<string, string> } | null> {
  const cached = await store.getIntendedConfig(fabric, device);
  if (cached) return cached;
  const { plans } = await planFromStore(store, fabric, false);
  const plan = plans.find((p) => p.name === device);
  if (!plan) return null;
  const r = renderDevice(plan);
  return { platform: plan.platform, files: r.files };
}
