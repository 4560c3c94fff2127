// A small router over the History API: every view has its own URL under /ui/ (bookmark,
// share, reload); the service answers every deep URL with the same page.
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui';
const listeners = new Set<() => void>();

export interface Loc { path: string; query: URLSearchParams }

function current(): Loc {
  const p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  return { path: p === '' ? '/' : p, query: new URLSearchParams(location.search) };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = to.startsWith(BASE) ? to : `${BASE}${to}`;
  if (url === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  for (const l of listeners) l();
}

/** The URL with one query parameter set (undefined: removed). */
export function withQuery(loc: Loc, key: string, value: string | undefined): string {
  const q = new URLSearchParams(loc.query);
  if (value === undefined) q.delete(key); else q.set(key, value);
  const s = q.toString();
  return `${loc.path}${s ? `?${s}` : ''}`;
}

window.addEventListener('popstate', () => { for (const l of listeners) l(); });

export function useLocation(): Loc {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => { listeners.delete(l); };
  }, []);
  return loc;
}

/** Left clicks on same-origin /ui/ links navigate in place; anything else is the browser's. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const to = a.getAttribute('href');
  if (!to || (!to.startsWith(`${BASE}/`) && to !== BASE)) return;
  e.preventDefault();
  navigate(to);
}

export const href = (p: string) => `${BASE}${p}`;
export const enc = encodeURIComponent;
