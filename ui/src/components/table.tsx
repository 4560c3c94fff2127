// A table that sorts (click or Enter on a header), filters (one box, every column), and renders
// only the rows in view (1,056 devices scroll like 10). Rows open with a click, Enter or Space;
// the arrow keys move between rows, also into rows not rendered yet.
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { collator } from '../topology/model';

export interface Column<T> {
  key: string;
  label: string;
  /** what sorts and filters (and shows, without render) */
  value(row: T): string | number | null | undefined;
  render?(row: T): ComponentChildren;
  align?: 'right';
  class?: string;
}

export interface TableProps<T> {
  label: string;
  rows: T[];
  columns: Column<T>[];
  rowKey(row: T): string;
  onOpen?(row: T): void;
  selected?: string;
  initialSort?: { key: string; dir: 1 | -1 };
  /** shown left of the filter box (extra filters, buttons) */
  toolbar?: ComponentChildren;
  /** applied before the text filter */
  prefilter?(row: T): boolean;
  empty?: ComponentChildren;
  maxHeight?: number;
  /** test id of the table element */
  testId?: string;
}

const ROW_H = 36;
const OVERSCAN = 8;

export function DataTable<T>(p: TableProps<T>) {
  const [sort, setSort] = useState(p.initialSort ?? { key: p.columns[0].key, dir: 1 as 1 | -1 });
  const [filter, setFilter] = useState('');
  const [top, setTop] = useState(0);
  const [viewH, setViewH] = useState(p.maxHeight ?? 560);
  const wrap = useRef<HTMLDivElement>(null);
  const pendingFocus = useRef<number | undefined>(undefined);

  const shown = useMemo(() => {
    const col = p.columns.find((c) => c.key === sort.key) ?? p.columns[0];
    const f = filter.trim().toLowerCase();
    let rows = p.prefilter ? p.rows.filter(p.prefilter) : p.rows.slice();
    if (f) {
      const terms = f.split(/\s+/);
      rows = rows.filter((r) => {
        const text = p.columns.map((c) => String(c.value(r) ?? '')).join(' ').toLowerCase();
        return terms.every((t) => text.includes(t));
      });
    }
    rows.sort((a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      if (x == null || x === '') return y == null || y === '' ? 0 : 1;
      if (y == null || y === '') return -1;
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y));
      return c * sort.dir;
    });
    return rows;
  }, [p.rows, p.columns, p.prefilter, sort, filter]);

  useEffect(() => {
    const el = wrap.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight || viewH));
    ro.observe(el);
    return () => ro.disconnect();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  // A row chosen by the URL (?device=) is scrolled into view once, when the table first shows.
  const scrolled = useRef(false);
  useLayoutEffect(() => {
    const el = wrap.current;
    if (scrolled.current || !el || !p.selected || shown.length === 0) return;
    scrolled.current = true;
    const i = shown.findIndex((r) => p.rowKey(r) === p.selected);
    if (i < 0 || (i + 1) * ROW_H < el.clientHeight - ROW_H) return;
    el.scrollTop = Math.max(0, i * ROW_H - el.clientHeight / 2);
    setTop(el.scrollTop);
  }, [shown]); // eslint-disable-line react-hooks/exhaustive-deps

  const start = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
  const end = Math.min(shown.length, Math.ceil((top + viewH) / ROW_H) + OVERSCAN);
  const visible = shown.slice(start, end);

  useLayoutEffect(() => {
    const i = pendingFocus.current;
    if (i === undefined) return;
    const el = wrap.current?.querySelector<HTMLElement>(`tr[data-index="${i}"]`);
    if (el) { el.focus(); pendingFocus.current = undefined; }
  });

  const move = (i: number) => {
    const n = Math.max(0, Math.min(shown.length - 1, i));
    const el = wrap.current;
    if (!el) return;
    const y = n * ROW_H;
    // header row height: keep the focused row below the sticky header
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + ROW_H * 2 > el.scrollTop + el.clientHeight) el.scrollTop = y + ROW_H * 2 - el.clientHeight;
    const row = el.querySelector<HTMLElement>(`tr[data-index="${n}"]`);
    if (row) { row.focus(); return; }
    // not rendered yet: focus it once the scroll has rendered it
    pendingFocus.current = n;
    setTop(el.scrollTop);
  };

  const onKey = (e: KeyboardEvent, row: T, i: number) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); p.onOpen?.(row); }
    else if (e.key === 'ArrowDown') { e.preventDefault(); move(i + 1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); move(i - 1); }
    else if (e.key === 'Home') { e.preventDefault(); move(0); }
    else if (e.key === 'End') { e.preventDefault(); move(shown.length - 1); }
    else if (e.key === 'PageDown') { e.preventDefault(); move(i + Math.floor(viewH / ROW_H)); }
    else if (e.key === 'PageUp') { e.preventDefault(); move(i - Math.floor(viewH / ROW_H)); }
  };

  const total = p.prefilter ? p.rows.filter(p.prefilter).length : p.rows.length;
  return (
    <div class="datatable">
      <div class="table-tools">
        {p.toolbar}
        <div class="spacer" />
        <span class="count" aria-live="polite">{shown.length === total ? `${total.toLocaleString()} ${total === 1 ? 'row' : 'rows'}` : `${shown.length.toLocaleString()} of ${total.toLocaleString()}`}</span>
        <input type="search" class="filter" placeholder="Filter…" aria-label={`Filter ${p.label}`} value={filter}
          onInput={(e) => { setFilter((e.target as HTMLInputElement).value); if (wrap.current) wrap.current.scrollTop = 0; setTop(0); }} />
      </div>
      <div class="table-wrap" ref={wrap} style={{ maxHeight: `${p.maxHeight ?? 560}px` }} onScroll={(e) => setTop((e.target as HTMLElement).scrollTop)}>
        <table aria-label={p.label} aria-rowcount={shown.length + 1} data-testid={p.testId}>
          <thead>
            <tr>
              {p.columns.map((c) => {
                const active = c.key === sort.key;
                return (
                  <th key={c.key} class={c.align === 'right' ? 'num' : undefined} aria-sort={active ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
                    <button type="button" class="sort" onClick={() => setSort({ key: c.key, dir: active ? (-sort.dir as 1 | -1) : 1 })}>
                      {c.label}<span class="arrow" aria-hidden="true">{active ? (sort.dir === 1 ? '▲' : '▼') : ''}</span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {start > 0 && <tr class="spacer-row" aria-hidden="true" style={{ height: `${start * ROW_H}px` }} />}
            {visible.map((r, j) => {
              const i = start + j;
              const k = p.rowKey(r);
              return (
                <tr key={k} data-index={i} data-key={k} aria-rowindex={i + 2} class={`${p.onOpen ? 'clickable' : ''} ${p.selected === k ? 'selected' : ''}`}
                  tabIndex={p.onOpen ? 0 : undefined} onClick={p.onOpen ? () => p.onOpen!(r) : undefined} onKeyDown={p.onOpen ? (e) => onKey(e, r, i) : undefined}>
                  {p.columns.map((c) => <td key={c.key} class={`${c.align === 'right' ? 'num' : ''} ${c.class ?? ''}`}>{c.render ? c.render(r) : String(c.value(r) ?? '')}</td>)}
                </tr>
              );
            })}
            {end < shown.length && <tr class="spacer-row" aria-hidden="true" style={{ height: `${(shown.length - end) * ROW_H}px` }} />}
          </tbody>
        </table>
        {shown.length === 0 && <div class="empty">{filter ? 'Nothing matches the filter.' : p.empty ?? 'Nothing here yet.'}</div>}
      </div>
    </div>
  );
}
