// The topology picture as data, from the stored devices, links and servers. Pure (unit-tested
// in test/ui): rows by role (gateways, superspines, spines, leaves, servers, unassigned),
// each node's state, each link's state, and, when a fabric has hundreds of leaves, the leaves
// grouped per pod (the leaves uplinked to the same spines), drawn as one box listing them.
import type { Device, Link, ServerSpec } from '../types';

export type NodeState = 'planned' | 'onboarding' | 'managed' | 'maintenance' | 'upgrading' | 'rma' | 'failed' | 'drift';
export const NODE_STATES: readonly NodeState[] = ['managed', 'onboarding', 'planned', 'maintenance', 'upgrading', 'rma', 'failed', 'drift'];
export type EdgeState = 'addressed' | 'planned' | 'anomaly';

export interface Member { name: string; state: NodeState }

export interface TNode {
  id: string;
  kind: 'device' | 'group' | 'server';
  label: string;
  sublabel: string;
  row: number;
  state: NodeState;
  width: number;
  height: number;
  /** grouped fabrics: the pod a leaf group, or a spine serving only that pod's leaves, belongs to */
  pod?: number;
  /** group: its leaves, in name order, laid out in `cols` columns of `cell` pixels */
  members?: Member[];
  cols?: number;
  cell?: { w: number; h: number };
}

export interface TEdge { id: string; a: string; b: string; state: EdgeState; count: number; title: string }

export interface TopologyModel { nodes: TNode[]; edges: TEdge[]; grouped: boolean; hiddenServers: number }

const ROW_OF: Record<string, number> = { gateway: 0, superspine: 1, spine: 2, leaf: 3 };

export const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** A device's colour in the picture, from its stored states (drift from the last drift check). */
export function deviceState(d: Device, drifted?: ReadonlySet<string>): NodeState {
  if (d.managedState === 'rma') return 'rma';
  if (d.managedState === 'maintenance') return 'maintenance';
  if (d.managedState === 'upgrading') return 'upgrading';
  if (d.managedState === 'error') return 'failed';
  if (drifted?.has(d.name)) return 'drift';
  if (d.managedState === 'active' || d.onboardingState === 'underlay_configured') return 'managed';
  if (d.onboardingState === null && d.managedState === 'dhcp') return 'planned';
  return 'onboarding';
}

export function linkState(l: Link): EdgeState {
  if (l.anomaly) return 'anomaly';
  return l.subnet ? 'addressed' : 'planned';
}

const textWidth = (s: string, px = 7.4) => Math.ceil(s.length * px);

/** More leaves than this and they are drawn grouped per pod. */
export const GROUP_ABOVE = 64;

export interface ModelOptions {
  /** more leaves than this: group them per pod (default 64) */
  groupAbove?: number;
  /** leaves per group box at most (default 128) */
  groupSize?: number;
  /** more devices and servers than this: servers are left out of the picture (default 300) */
  maxNodesWithServers?: number;
  drifted?: ReadonlySet<string>;
}

const worst = (states: EdgeState[]): EdgeState =>
  states.includes('anomaly') ? 'anomaly' : states.includes('planned') ? 'planned' : 'addressed';

export function buildModel(devices: Device[], links: Link[], servers: ServerSpec[] = [], o: ModelOptions = {}): TopologyModel {
  const groupAbove = o.groupAbove ?? GROUP_ABOVE;
  const groupSize = o.groupSize ?? 128;
  const byName = new Map(devices.map((d) => [d.name, d]));
  const rowOf = (d: Device) => (d.physicalRole && Object.hasOwn(ROW_OF, d.physicalRole) ? ROW_OF[d.physicalRole] : 5);
  const leaves = devices.filter((d) => d.physicalRole === 'leaf').sort((a, b) => collator.compare(a.name, b.name));
  const grouped = leaves.length > groupAbove;

  // Node id of each device: itself, or its leaf group.
  const nodeOf = new Map<string, string>();
  const nodes: TNode[] = [];
  const deviceNode = (d: Device): TNode => {
    const sub = d.physicalRole ?? 'no role';
    return {
      id: d.name, kind: 'device', label: d.name, sublabel: sub, row: rowOf(d), state: deviceState(d, o.drifted),
      width: Math.max(92, textWidth(d.name) + 34, textWidth(sub, 6.2) + 34), height: 40,
    };
  };

  if (grouped) {
    // Pods: the leaves whose uplinks go to the same set of non-leaf devices.
    const up = new Map<string, Set<string>>();
    for (const l of links) {
      for (const [x, y] of [[l.a.device, l.b.device], [l.b.device, l.a.device]]) {
        const dx = byName.get(x);
        const dy = byName.get(y);
        if (dx?.physicalRole === 'leaf' && dy && dy.physicalRole !== 'leaf') {
          if (!up.has(x)) up.set(x, new Set());
          up.get(x)!.add(y);
        }
      }
    }
    const pods = new Map<string, Device[]>();
    for (const lf of leaves) {
      const sig = [...(up.get(lf.name) ?? [])].sort(collator.compare).join(',');
      if (!pods.has(sig)) pods.set(sig, []);
      pods.get(sig)!.push(lf);
    }
    let n = 0;
    for (const [sig, members] of pods) {
      const uplinks = sig ? sig.split(',') : [];
      const podNo = ++n;
      for (let i = 0; i < members.length; i += groupSize) {
        const chunk = members.slice(i, i + groupSize);
        const part = members.length > groupSize ? `.${i / groupSize + 1}` : '';
        const id = `group:${podNo}${part}`;
        const maxLen = Math.max(...chunk.map((m) => m.name.length));
        const cell = { w: Math.max(52, Math.ceil(maxLen * 6.6) + 22), h: 19 };
        // about square: columns of cell.w, rows of cell.h
        const cols = Math.min(chunk.length, Math.max(2, Math.min(16, Math.ceil(Math.sqrt((chunk.length * cell.h) / cell.w) * 1.2))));
        const rows = Math.ceil(chunk.length / cols);
        const span = uplinks.length ? `${uplinks[0]}${uplinks.length > 1 ? `–${uplinks[uplinks.length - 1]}` : ''}` : 'no uplinks';
        const memberStates = chunk.map((m) => ({ name: m.name, state: deviceState(m, o.drifted) }));
        const counts = new Map<NodeState, number>();
        for (const m of memberStates) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
        const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'planned';
        nodes.push({
          id, kind: 'group', label: uplinks.length ? `pod ${podNo}${part}` : `unconnected${part}`,
          sublabel: `${chunk.length} leaves · ${span}`, row: 3, state: top, members: memberStates, cols, cell, pod: uplinks.length ? podNo : undefined,
          width: Math.max(220, cols * cell.w + 20), height: 50 + rows * cell.h + 10,
        });
        for (const m of chunk) nodeOf.set(m.name, id);
      }
    }
  }
  // A spine all of whose leaves are in one pod is drawn with that pod.
  const podOfSpine = new Map<string, Set<number>>();
  if (grouped) {
    const podOfNode = new Map(nodes.map((n) => [n.id, n.pod]));
    for (const l of links) {
      for (const [x, y] of [[l.a.device, l.b.device], [l.b.device, l.a.device]]) {
        const g = nodeOf.get(y);
        const pod = g ? podOfNode.get(g) : undefined;
        if (nodeOf.has(x) || pod === undefined) continue;
        if (!podOfSpine.has(x)) podOfSpine.set(x, new Set());
        podOfSpine.get(x)!.add(pod);
      }
    }
  }
  for (const d of [...devices].sort((a, b) => collator.compare(a.name, b.name))) {
    if (nodeOf.has(d.name)) continue;
    const n = deviceNode(d);
    const pods = podOfSpine.get(d.name);
    if (pods?.size === 1 && n.row === ROW_OF.spine) n.pod = [...pods][0];
    nodes.push(n);
    nodeOf.set(d.name, d.name);
  }

  // Links, one edge per pair of nodes (a group's uplinks to one spine are one edge with a count).
  const pairs = new Map<string, { a: string; b: string; states: EdgeState[]; ports: string[] }>();
  for (const l of links) {
    const a = nodeOf.get(l.a.device);
    const b = nodeOf.get(l.b.device);
    if (!a || !b) continue;
    const [x, y] = collator.compare(a, b) <= 0 ? [a, b] : [b, a];
    const key = `${x}\u0000${y}`;
    if (!pairs.has(key)) pairs.set(key, { a: x, b: y, states: [], ports: [] });
    const p = pairs.get(key)!;
    p.states.push(linkState(l));
    if (p.ports.length < 4) p.ports.push(`${l.a.device}:${l.a.port} – ${l.b.device}:${l.b.port}${l.subnet ? ` ${l.subnet}` : ''}${l.anomaly ? ` (${l.anomaly})` : ''}`);
  }
  const edges: TEdge[] = [];
  for (const p of pairs.values()) {
    const count = p.states.length;
    const more = count > p.ports.length ? `\n… ${count - p.ports.length} more` : '';
    edges.push({ id: `${p.a}--${p.b}`, a: p.a, b: p.b, state: worst(p.states), count, title: `${p.ports.join('\n')}${more}` });
  }

  // Servers: a row of their own, linked to the leaves (or leaf groups) their NICs plug into.
  let hiddenServers = 0;
  if (devices.length + servers.length <= (o.maxNodesWithServers ?? 300)) {
    for (const s of [...servers].sort((a, b) => collator.compare(a.name, b.name))) {
      const id = `server:${s.name}`;
      nodes.push({ id, kind: 'server', label: s.name, sublabel: `server · ${s.nics.length} NIC${s.nics.length === 1 ? '' : 's'}`, row: 4, state: 'managed', width: Math.max(92, textWidth(s.name) + 34), height: 40 });
      const seen = new Set<string>();
      for (const nic of s.nics) {
        const to = nodeOf.get(nic.device);
        if (!to || seen.has(to)) continue;
        seen.add(to);
        edges.push({ id: `${id}--${to}`, a: to, b: id, state: 'addressed', count: 1, title: `${s.name} – ${nic.device}:${nic.port}` });
      }
    }
  } else hiddenServers = servers.length;

  return { nodes, edges, grouped, hiddenServers };
}

export interface Placed { x: number; y: number }
export interface Layout { pos: Map<string, Placed>; width: number; height: number }

/**
 * A layout without ELK (and when its worker cannot run): rows top to bottom, each row ordered
 * by the mean position of its neighbours in the rows above (barycenters), centred.
 */
export function rowLayout(m: TopologyModel, gap = { x: 24, y: 90 }, margin = 24): Layout {
  const rows = new Map<number, TNode[]>();
  for (const n of m.nodes) {
    if (!rows.has(n.row)) rows.set(n.row, []);
    rows.get(n.row)!.push(n);
  }
  const adj = new Map<string, string[]>();
  for (const e of m.edges) {
    for (const [x, y] of [[e.a, e.b], [e.b, e.a]]) {
      if (!adj.has(x)) adj.set(x, []);
      adj.get(x)!.push(y);
    }
  }
  const pos = new Map<string, Placed>();
  const centre = new Map<string, number>();
  const order = [...rows.keys()].sort((a, b) => a - b);
  const widths = order.map((r) => rows.get(r)!.reduce((s, n) => s + n.width, 0) + gap.x * (rows.get(r)!.length - 1));
  const width = Math.max(...widths, 0) + 2 * margin;
  let y = margin;
  order.forEach((r, ri) => {
    const row = rows.get(r)!;
    const bary = new Map<string, number>();
    for (const n of row) {
      const xs = (adj.get(n.id) ?? []).map((o) => centre.get(o)).filter((c): c is number => c !== undefined);
      bary.set(n.id, xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : Number.POSITIVE_INFINITY);
    }
    row.sort((a, b) => (bary.get(a.id)! - bary.get(b.id)!) || collator.compare(a.id, b.id));
    let x = (width - widths[ri]) / 2;
    let h = 0;
    for (const n of row) {
      pos.set(n.id, { x, y });
      centre.set(n.id, x + n.width / 2);
      x += n.width + gap.x;
      h = Math.max(h, n.height);
    }
    y += h + gap.y;
  });
  return { pos, width, height: y - gap.y + margin };
}

/**
 * The layout of a grouped fabric: each pod (its spines above its leaf group boxes) is one
 * cluster, the clusters in a grid whose shape suits a `aspect` wide view; gateways,
 * superspines and spines shared by pods in rows above, servers and devices without a role below.
 */
export function podLayout(m: TopologyModel, aspect = 1.8, gap = { x: 22, y: 56, cluster: 70 }, margin = 24): Layout {
  const pods = new Map<number, { spines: TNode[]; groups: TNode[] }>();
  const above: TNode[][] = [[], [], []];
  const below: TNode[][] = [[], []];
  for (const n of m.nodes) {
    if (n.pod !== undefined) {
      if (!pods.has(n.pod)) pods.set(n.pod, { spines: [], groups: [] });
      pods.get(n.pod)![n.kind === 'group' ? 'groups' : 'spines'].push(n);
    } else if (n.row <= 2) above[n.row].push(n);
    else below[n.row === 4 ? 0 : 1].push(n);
  }
  const rowW = (ns: TNode[]) => ns.reduce((s, n) => s + n.width, 0) + gap.x * Math.max(0, ns.length - 1);
  const rowH = (ns: TNode[]) => Math.max(0, ...ns.map((n) => n.height));
  const clusters = [...pods.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => ({
    ...c, w: Math.max(rowW(c.spines), rowW(c.groups)), h: (c.spines.length ? rowH(c.spines) + gap.y : 0) + rowH(c.groups),
  }));
  // the number of columns whose grid is closest to the view's shape
  let cols = 1;
  let best = Number.POSITIVE_INFINITY;
  for (let c = 1; c <= Math.max(1, clusters.length); c++) {
    const rows = Math.ceil(clusters.length / c);
    const colW = Math.max(0, ...clusters.map((k) => k.w));
    const rowHt = Math.max(0, ...clusters.map((k) => k.h));
    const ratio = (c * colW + (c - 1) * gap.cluster) / Math.max(1, rows * rowHt + (rows - 1) * gap.cluster);
    const score = Math.abs(Math.log(ratio / aspect));
    if (score < best) { best = score; cols = c; }
  }
  const colW = Math.max(0, ...clusters.map((k) => k.w));
  const rowHt = Math.max(0, ...clusters.map((k) => k.h));
  const gridW = cols * colW + (cols - 1) * gap.cluster;
  const width = Math.max(gridW, ...above.map(rowW), ...below.map(rowW)) + 2 * margin;
  const pos = new Map<string, Placed>();
  const placeRow = (ns: TNode[], x0: number, w: number, y: number) => {
    let x = x0 + (w - rowW(ns)) / 2;
    for (const n of ns) { pos.set(n.id, { x, y }); x += n.width + gap.x; }
  };
  let y = margin;
  for (const r of above) {
    if (!r.length) continue;
    placeRow(r, margin, width - 2 * margin, y);
    y += rowH(r) + gap.y;
  }
  const gx = (width - gridW) / 2;
  clusters.forEach((c, i) => {
    const x = gx + (i % cols) * (colW + gap.cluster);
    const cy = y + Math.floor(i / cols) * (rowHt + gap.cluster);
    if (c.spines.length) placeRow(c.spines, x, colW, cy);
    placeRow(c.groups, x, colW, cy + (c.spines.length ? rowH(c.spines) + gap.y : 0));
  });
  if (clusters.length) y += Math.ceil(clusters.length / cols) * (rowHt + gap.cluster) - gap.cluster + gap.y;
  for (const r of below) {
    if (!r.length) continue;
    placeRow(r, margin, width - 2 * margin, y);
    y += rowH(r) + gap.y;
  }
  return { pos, width, height: y - gap.y + margin };
}
