// Node positions for the topology picture: ELK's layered layout (Sugiyama) in a web worker,
// one partition per row so spines stay above leaves whatever the links say; the rows layout
// of model.ts when the worker cannot run or takes too long; a grid of pods (model.ts) when
// the leaves are grouped.
import ELK from 'elkjs/lib/elk-api.js';
import type { ElkNode } from 'elkjs/lib/elk-api.js';
import { podLayout, rowLayout, type Layout, type TopologyModel } from './model';

declare const __ELK_WORKER__: string;

let elk: InstanceType<typeof ELK> | undefined;

/** Starts the worker early (it parses 1.6 MB of ELK), so the first picture does not wait for it. */
export function warmLayout(): void {
  try { elk ??= new ELK({ workerUrl: __ELK_WORKER__ }); } catch { elk = undefined; }
}

const TIMEOUT_MS = 5000;

export async function layoutModel(m: TopologyModel, aspect = 1.8): Promise<Layout & { engine: 'elk' | 'rows' | 'pods' }> {
  if (m.nodes.length === 0) return { pos: new Map(), width: 200, height: 120, engine: 'rows' };
  // Hundreds of leaves in pod boxes: a grid of pods reads better than one very wide row.
  if (m.grouped) return { ...podLayout(m, aspect), engine: 'pods' };
  warmLayout();
  if (!elk) return { ...rowLayout(m), engine: 'rows' };
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.partitioning.activate': 'true',
      'elk.separateConnectedComponents': 'false',
      'elk.spacing.nodeNode': '22',
      'elk.layered.spacing.nodeNodeBetweenLayers': '80',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.padding': '[top=24,left=24,bottom=24,right=24]',
    },
    children: m.nodes.map((n) => ({ id: n.id, width: n.width, height: n.height, layoutOptions: { 'elk.partitioning.partition': String(n.row) } })),
    edges: m.edges.map((e) => ({ id: e.id, sources: [e.a], targets: [e.b] })),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const res = await Promise.race([
      elk.layout(graph),
      new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error('layout timed out')), TIMEOUT_MS); }),
    ]);
    const pos = new Map<string, { x: number; y: number }>();
    for (const c of res.children ?? []) pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
    return { pos, width: res.width ?? 0, height: res.height ?? 0, engine: 'elk' };
  } catch {
    // A worker that failed once stays failed: use the rows layout from now on.
    elk?.terminateWorker();
    elk = undefined;
    return { ...rowLayout(m), engine: 'rows' };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
