// The topology picture: SVG (device names are text in it: selectable, searchable, readable by
// tests), pan by dragging the background, zoom with the wheel or + / −, fit with 0. Devices open
// with a click, Enter or Space; leaf groups list their leaves, each one clickable.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Layout, TEdge, TNode, TopologyModel } from './model';

interface View { k: number; x: number; y: number }

export interface TopologyProps {
  model: TopologyModel;
  layout: Layout;
  label: string;
  selected?: string;
  query: string;
  onOpen(device: string): void;
  /** called once the picture is in the DOM (the benchmark's mark) */
  onRendered?(): void;
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

function edgePath(a: TNode, pa: { x: number; y: number }, b: TNode, pb: { x: number; y: number }): string {
  const ax = pa.x + a.width / 2;
  const bx = pb.x + b.width / 2;
  if (Math.abs(pa.y - pb.y) < 4) {
    // same row (peer links): an arc above
    const y = pa.y;
    return `M${ax},${y} C${ax},${y - 40} ${bx},${y - 40} ${bx},${y}`;
  }
  const [u, pu, l, pl] = pa.y < pb.y ? [a, pa, b, pb] : [b, pb, a, pa];
  const x1 = pu.x + u.width / 2;
  const y1 = pu.y + u.height;
  const x2 = pl.x + l.width / 2;
  const y2 = pl.y;
  const my = (y1 + y2) / 2;
  return `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`;
}

/** A group's state dots as one path per state (not a circle element per leaf). */
function memberDots(n: TNode): [string, string][] {
  const by = new Map<string, string[]>();
  n.members!.forEach((m, i) => {
    const cx = 10 + (i % n.cols!) * n.cell!.w + 7;
    const cy = 50 + Math.floor(i / n.cols!) * n.cell!.h + (n.cell!.h - 3) / 2;
    if (!by.has(m.state)) by.set(m.state, []);
    by.get(m.state)!.push(`M${cx - 3},${cy}a3,3 0 1,0 6,0a3,3 0 1,0 -6,0`);
  });
  return [...by.entries()].map(([s, parts]) => [s, parts.join('')]);
}

export function Topology(p: TopologyProps) {
  const svg = useRef<SVGSVGElement>(null);
  const [view, setView] = useState<View>({ k: 1, x: 0, y: 0 });
  const drag = useRef<{ id: number; sx: number; sy: number; vx: number; vy: number } | undefined>(undefined);
  const nodes = useMemo(() => new Map(p.model.nodes.map((n) => [n.id, n])), [p.model]);
  const q = p.query.trim().toLowerCase();

  const fit = () => {
    const el = svg.current;
    if (!el) return;
    const w = el.clientWidth || 1000;
    const h = el.clientHeight || 600;
    const k = clamp(Math.min(w / Math.max(1, p.layout.width), h / Math.max(1, p.layout.height)), 0.05, 1.4);
    setView({ k, x: (w - p.layout.width * k) / 2, y: Math.max(0, (h - p.layout.height * k) / 2) });
  };
  // Fitted until the user pans or zooms; a resize (the device panel opening) fits it again.
  const moved = useRef(false);
  useLayoutEffect(() => { moved.current = false; fit(); }, [p.layout]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    const el = svg.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => { if (!moved.current) fit(); });
    ro.observe(el);
    return () => ro.disconnect();
  }, [p.layout]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => { p.onRendered?.(); }, [p.layout]); // eslint-disable-line react-hooks/exhaustive-deps

  /** Where a device is drawn (its node, or its cell in a group), in layout coordinates. */
  const locate = (name: string): { x: number; y: number } | undefined => {
    const n = nodes.get(name);
    const pos = n && p.layout.pos.get(n.id);
    if (n && pos) return { x: pos.x + n.width / 2, y: pos.y + n.height / 2 };
    for (const g of p.model.nodes) {
      const i = g.members?.findIndex((m) => m.name === name) ?? -1;
      const gp = p.layout.pos.get(g.id);
      if (i >= 0 && gp && g.cell && g.cols) return { x: gp.x + 10 + (i % g.cols) * g.cell.w + g.cell.w / 2, y: gp.y + 50 + Math.floor(i / g.cols) * g.cell.h };
    }
    return undefined;
  };
  const centreOn = (name: string) => {
    const at = locate(name);
    const el = svg.current;
    if (!at || !el) return;
    const k = Math.max(view.k, 1);
    moved.current = true;
    setView({ k, x: el.clientWidth / 2 - at.x * k, y: el.clientHeight / 2 - at.y * k });
  };
  useEffect(() => {
    // search: centre on the first device that matches
    if (!q) return;
    const names = [...p.model.nodes.flatMap((n) => (n.kind === 'device' ? [n.label] : n.members?.map((m) => m.name) ?? []))];
    const hit = names.find((n) => n.toLowerCase() === q) ?? names.find((n) => n.toLowerCase().includes(q));
    if (hit) centreOn(hit);
  }, [q]); // eslint-disable-line react-hooks/exhaustive-deps

  const zoomAt = (factor: number, px?: number, py?: number) => {
    const el = svg.current;
    const cx = px ?? (el?.clientWidth ?? 0) / 2;
    const cy = py ?? (el?.clientHeight ?? 0) / 2;
    moved.current = true;
    setView((v) => {
      const k = clamp(v.k * factor, 0.05, 6);
      return { k, x: cx - ((cx - v.x) * k) / v.k, y: cy - ((cy - v.y) * k) / v.k };
    });
  };
  useEffect(() => {
    const el = svg.current;
    if (!el) return;
    // not passive: the wheel zooms the picture instead of scrolling the page
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  const onKey = (e: KeyboardEvent) => {
    if (e.target !== svg.current) return;
    const step = 60;
    const pan: Record<string, [number, number]> = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (e.key === '+' || e.key === '=') zoomAt(1.25);
    else if (e.key === '-' || e.key === '_') zoomAt(0.8);
    else if (e.key === '0') { moved.current = false; fit(); }
    else if (Object.hasOwn(pan, e.key)) {
      const [dx, dy] = pan[e.key];
      moved.current = true;
      setView((v) => ({ ...v, x: v.x + dx, y: v.y + dy }));
    } else return;
    e.preventDefault();
  };

  const open = (e: Event) => {
    const t = (e.target as Element).closest('[data-device]');
    const name = t?.getAttribute('data-device');
    if (name) p.onOpen(name);
  };
  const keyOpen = (e: KeyboardEvent) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    const t = (e.target as Element).closest('[data-device]');
    if (!t) return;
    e.preventDefault();
    p.onOpen(t.getAttribute('data-device')!);
  };

  const edge = (e: TEdge) => {
    const a = nodes.get(e.a);
    const b = nodes.get(e.b);
    const pa = p.layout.pos.get(e.a);
    const pb = p.layout.pos.get(e.b);
    if (!a || !b || !pa || !pb) return null;
    const w = e.count > 1 ? 1.4 + Math.min(3, Math.log2(e.count) / 2) : 1.4;
    return (
      <path key={e.id} class={`edge e-${e.state}`} d={edgePath(a, pa, b, pb)} stroke-width={w}>
        <title>{e.count > 1 ? `${e.count} links (${e.state})\n` : ''}{e.title}</title>
      </path>
    );
  };

  const node = (n: TNode) => {
    const pos = p.layout.pos.get(n.id);
    if (!pos) return null;
    if (n.kind === 'group') {
      return (
        <g key={n.id} class={`group s-${n.state}`} transform={`translate(${pos.x},${pos.y})`} role="group" aria-label={`${n.label}: ${n.sublabel}`}>
          <rect class="group-box" width={n.width} height={n.height} rx={10} />
          <text class="group-title" x={12} y={22}>{n.label}</text>
          <text class="group-sub" x={12} y={38}>{n.sublabel}</text>
          {memberDots(n).map(([state, d]) => <path key={state} class={`dot s-${state}`} d={d} />)}
          {n.members!.map((m, i) => {
            const x = 10 + (i % n.cols!) * n.cell!.w;
            const y = 50 + Math.floor(i / n.cols!) * n.cell!.h;
            const match = q && m.name.toLowerCase().includes(q);
            const mark = `${p.selected === m.name ? 'selected' : ''} ${match ? 'match' : ''}`;
            // one text per leaf (a thousand leaves draw fast); a box only where one is highlighted
            return [
              (p.selected === m.name || match) && <rect key={`b:${m.name}`} class={`member-box ${mark}`} x={x} y={y} width={n.cell!.w - 4} height={n.cell!.h - 3} rx={3} />,
              <text key={`t:${m.name}`} class={`member-name ${mark}`} data-device={m.name} x={x + 14} y={y + n.cell!.h - 7}>{m.name}</text>,
            ];
          })}
        </g>
      );
    }
    const device = n.kind === 'device' ? n.label : undefined;
    const match = q && n.label.toLowerCase().includes(q);
    return (
      <g key={n.id} class={`node k-${n.kind} s-${n.state} ${p.selected === device ? 'selected' : ''} ${match ? 'match' : ''}`}
        transform={`translate(${pos.x},${pos.y})`} data-device={device} tabIndex={device ? 0 : undefined} role={device ? 'button' : undefined}
        aria-label={device ? `${n.label}, ${n.sublabel}, ${n.state}` : undefined}>
        <title>{`${n.label} · ${n.sublabel} · ${n.state}`}</title>
        <rect class="node-box" width={n.width} height={n.height} rx={8} />
        <rect class="node-stripe" width={4} height={n.height - 12} x={6} y={6} rx={2} />
        <text class="node-name" x={18} y={17}>{n.label}</text>
        <text class="node-sub" x={18} y={32}>{n.sublabel}</text>
      </g>
    );
  };

  return (
    <div class="topology">
      <div class="zoom-tools" role="toolbar" aria-label="Zoom">
        <button type="button" class="icon" title="Zoom in (+)" aria-label="Zoom in" onClick={() => zoomAt(1.25)}>+</button>
        <button type="button" class="icon" title="Zoom out (−)" aria-label="Zoom out" onClick={() => zoomAt(0.8)}>−</button>
        <button type="button" class="icon" title="Fit (0)" aria-label="Fit to view" onClick={() => { moved.current = false; fit(); }}>⤢</button>
      </div>
      <svg ref={svg} class="topo-svg" tabIndex={0} style={{ height: `${Math.round(Math.min(760, Math.max(340, p.layout.height + 90)))}px` }} role="group" aria-label={p.label} data-testid="topology" onKeyDown={(e) => { onKey(e); keyOpen(e); }}
        onClick={open}
        onPointerDown={(e) => {
          if ((e.target as Element).closest('[data-device]') || e.button !== 0) return;
          drag.current = { id: e.pointerId, sx: e.clientX, sy: e.clientY, vx: view.x, vy: view.y };
          (e.currentTarget as Element).setPointerCapture(e.pointerId);
        }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (!d || d.id !== e.pointerId) return;
          moved.current = true;
          setView((v) => ({ ...v, x: d.vx + e.clientX - d.sx, y: d.vy + e.clientY - d.sy }));
        }}
        onPointerUp={() => { drag.current = undefined; }}>
        <g transform={`translate(${view.x},${view.y}) scale(${view.k})`}>
          <g class="edges">{p.model.edges.map(edge)}</g>
          <g class="nodes">{p.model.nodes.map(node)}</g>
        </g>
      </svg>
    </div>
  );
}
