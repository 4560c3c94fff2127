// The event stream of a fabric: who changed what, when (append-only; it outlives the fabric as
// the audit trail). The core's commits add their events in the same script; appendEvent is for
// what happens outside a commit (jobs). No version is bumped: an event changes no inventory.
import type { EventRecord, NewEvent } from './types';
import { invalid } from './errors';
import type { StoreCore } from './core';
import { eventFields } from './model';

export class EventStore {
  constructor(private readonly core: StoreCore) {}

  private get k() { return this.core.keys; }

  /** Appends one event (details redacted). Writes done by the store add their own events. */
  async appendEvent(f: string, ev: NewEvent): Promise<string> {
    return (await this.core.redis.xadd(this.k.fabric(f, 'events'), '*', ...eventFields(ev))) as string;
  }

  /**
   * Events oldest first. `since`: an event id (exclusive) or an ISO time (inclusive);
   * `next` is the id to pass as `since` for the following page.
   */
  async listEvents(f: string, opts: { since?: string; limit?: number } = {}): Promise<{ items: EventRecord[]; next?: string }> {
    const limit = Math.max(1, Math.min(opts.limit ?? 100, 10_000));
    let start = '-';
    if (opts.since) {
      if (/^\d+-\d+$/.test(opts.since)) start = `(${opts.since}`;
      else {
        // Only an ISO time (Date.parse also reads "57" as the year 1957: a negative stream id).
        const t = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(opts.since) ? Date.parse(opts.since) : NaN;
        if (Number.isNaN(t) || t < 0) throw invalid(`since: "${opts.since}" is neither an event id nor an ISO time`, 'since');
        start = `${t}-0`;
      }
    }
    const rows = await this.core.redis.xrange(this.k.fabric(f, 'events'), start, '+', 'COUNT', limit);
    const items = rows.map(([id, flat]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]] = flat[i + 1];
      const e: EventRecord = { id, at: o.at, actor: o.actor, action: o.action, object: o.object };
      if (o.details !== undefined) e.details = JSON.parse(o.details);
      return e;
    });
    return items.length === limit ? { items, next: items[items.length - 1].id } : { items };
  }
}
