// Backend choice: netns when this kernel can carry the topology, vm otherwise; --backend forces.
import type { BackendKind, LabBackend } from './backend';
import type { Topology } from './topology';
import { netnsBackend } from './netns';
import { LabPaths, readRecord } from './state';

export function loadVmBackend(): LabBackend {
  let mod: { vmBackend?: LabBackend; backend?: LabBackend; default?: LabBackend };
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    mod = require('./vm') as typeof mod;
  } catch (e) {
    throw new Error(`the vm backend is not available (src/lab/vm/index.ts): ${(e as Error).message.split('\n')[0]}`);
  }
  const b = mod.vmBackend ?? mod.backend ?? mod.default;
  if (!b) throw new Error('the vm backend module exports no vmBackend');
  return b;
}

export function getBackend(kind: BackendKind): LabBackend {
  return kind === 'vm' ? loadVmBackend() : netnsBackend;
}

/** The backend for `up`: forced, or netns when it can carry the topology, else vm. */
export async function pickBackend(topo: Topology, forced?: BackendKind, log?: (l: string) => void): Promise<LabBackend> {
  if (forced === 'netns') {
    const why = await netnsBackend.cannotCarry(topo);
    if (why) throw new Error(`lab ${topo.name}: netns backend refused: ${why}`);
    return netnsBackend;
  }
  if (forced === 'vm') return loadVmBackend();
  const why = await netnsBackend.cannotCarry(topo);
  if (!why) return netnsBackend;
  log?.(`netns cannot carry ${topo.name}: ${why}; using the vm backend`);
  return loadVmBackend();
}

/** The backend a lab was made with (from its record); netns when there is no record (idempotent down). */
export function backendOfLab(name: string, root?: string): LabBackend {
  const rec = readRecord(new LabPaths(name, root));
  return getBackend(rec?.backend ?? 'netns');
}
