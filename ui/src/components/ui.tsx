// Small building blocks every page uses: async data, state badges, progress bars, errors.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';

export interface Async<T> { data?: T; error?: Error; loading: boolean; reload(): void }

/** Runs `fn` when `deps` change; `reload()` runs it again. Results of a stale run are dropped. */
export function useAsync<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    fnRef.current(ac.signal).then(
      (data) => { if (!ac.signal.aborted) setState({ data, loading: false }); },
      (error: Error) => { if (!ac.signal.aborted) setState((s) => ({ data: s.data, error, loading: false })); },
    );
    return () => ac.abort();
  }, [...deps, n]); // eslint-disable-line react-hooks/exhaustive-deps
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

const STATE_CLASS: Record<string, string> = {
  succeeded: 'ok', managed: 'ok', active: 'ok', addressed: 'ok',
  running: 'run', onboarding: 'run', activating: 'run', queued: 'wait', planned: 'wait', dhcp: 'wait', skipped: 'wait',
  failed: 'bad', error: 'bad', anomaly: 'bad', cancelled: 'warn', maintenance: 'warn', upgrading: 'upg', drift: 'drift', rma: 'rma',
};
export const stateClass = (s: string) => STATE_CLASS[s] ?? 'wait';

export function Badge({ state, label }: { state: string; label?: string }) {
  return <span class={`badge ${stateClass(state)}`}>{label ?? state}</span>;
}

export function Progress({ value, state, label }: { value: number; state?: string; label?: string }) {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div class={`progress ${state ? stateClass(state) : ''}`} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v} aria-label={label ?? 'progress'}>
      <div class="bar" style={{ width: `${v}%` }} />
    </div>
  );
}

/** An API refusal as the API said it: the message, and the field path when it names one. */
export function ErrorNote({ error, id }: { error?: Error | string; id?: string }) {
  if (!error) return null;
  const msg = typeof error === 'string' ? error : error.message;
  const status = error instanceof ApiError && error.status ? `${error.status} ` : '';
  return <div class="error-note" role="alert" id={id}><strong>{status}{error instanceof ApiError ? error.code : 'error'}</strong> {msg}</div>;
}

export function Spinner({ label = 'loading' }: { label?: string }) {
  return <div class="spinner" role="status" aria-live="polite"><span class="dot" />{label}…</div>;
}

export function Card({ title, actions, children, class: cls }: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${cls ?? ''}`}>
      {(title || actions) && <header class="card-head">{title && <h2>{title}</h2>}<div class="spacer" />{actions}</header>}
      {children}
    </section>
  );
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
/** "3 min ago", with the exact time as the tooltip. */
export function Ago({ at }: { at?: string }) {
  if (!at) return <span class="muted">–</span>;
  const t = Date.parse(at);
  const s = Math.round((t - Date.now()) / 1000);
  const abs = Math.abs(s);
  const text = abs < 45 ? rtf.format(s, 'second') : abs < 2700 ? rtf.format(Math.round(s / 60), 'minute') : abs < 64800 ? rtf.format(Math.round(s / 3600), 'hour') : rtf.format(Math.round(s / 86400), 'day');
  return <time dateTime={at} title={new Date(t).toLocaleString()}>{text}</time>;
}

export function duration(from?: string, to?: string): string {
  if (!from) return '–';
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
