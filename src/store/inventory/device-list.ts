// The device list of a fabric with a per-process cache (the API's hottest read).
//
// Every commit that touches a fabric's devices hash bumps `dver` in the same atomic script and
// notes the devices it wrote in the change log `dchg`, so one tiny GET tells whether the cached
// list is current (also across processes), and after changes only the devices written since
// are read again. A full HVALS only when the log was trimmed past the cached version or the
// hash was replaced ('*').
import type { DeviceRecord } from '../types';
import { notFound } from '../errors';
import type { StoreCore } from '../core';
import { execValues } from '../core';
import { frozen } from '../model';

interface DeviceListEntry {
  ver: string | null;
  raw: string[];
  records: DeviceRecord[];
  /** name -> position in raw/records (sorted by name) */
  index: Map<string, number>;
  json?: string;
}

export class DeviceList {
  private readonly cache = new Map<string, DeviceListEntry>();

  constructor(private readonly core: StoreCore) {}

  private get k() { return this.core.keys; }

  private async entry(f: string): Promise<DeviceListEntry> {
    const cached = this.cache.get(f);
    if (cached && cached.ver !== null) {
      const res = await execValues(this.core.redis.pipeline()
        .get(this.k.fabric(f, 'dver'))
        .get(this.k.fabric(f, 'dfloor'))
        .zrangebyscore(this.k.fabric(f, 'dchg'), `(${cached.ver}`, '+inf'));
      const ver = res[0] as string | null;
      if (ver === cached.ver) return cached;
      const floor = Number((res[1] as string | null) ?? 0);
      const changed = res[2] as string[];
      // Partial reload: only the devices written since our version (unless the log was trimmed
      // past it or the whole hash was replaced).
      if (ver !== null && changed.length > 0 && !changed.includes('*') && floor <= Number(cached.ver)) {
        return this.patch(f, cached, ver, changed);
      }
    }
    const res = await execValues(this.core.redis.pipeline().get(this.k.fabric(f, 'dver')).hexists(this.k.fabrics, f).hvals(this.k.fabric(f, 'devices')));
    if (!res[1]) { this.cache.delete(f); throw notFound(`fabric ${f}`); }
    const ver = res[0] as string | null;
    const prev = new Map<string, DeviceRecord>();
    if (cached) cached.raw.forEach((r, i) => prev.set(r, cached.records[i]));
    const pairs = (res[2] as string[]).map((r): [string, DeviceRecord] => [r, prev.get(r) ?? frozen(JSON.parse(r) as DeviceRecord)]);
    return this.build(f, ver, pairs);
  }

  private async patch(f: string, cached: DeviceListEntry, ver: string, changed: string[]): Promise<DeviceListEntry> {
    const res = await execValues(this.core.redis.pipeline().hexists(this.k.fabrics, f).hmget(this.k.fabric(f, 'devices'), ...changed));
    if (!res[0]) { this.cache.delete(f); throw notFound(`fabric ${f}`); }
    const vals = res[1] as (string | null)[];
    // Only existing devices changed (the common case: state and fact updates): replace in place,
    // the order by name stays.
    if (vals.every((raw, i) => raw !== null && cached.index.has(changed[i]))) {
      const raw = cached.raw.slice();
      const records = cached.records.slice();
      vals.forEach((r, i) => {
        const at = cached.index.get(changed[i])!;
        raw[at] = r!;
        records[at] = frozen(JSON.parse(r!) as DeviceRecord);
      });
      return this.keep(f, { ver, raw, records, index: cached.index });
    }
    const byName = new Map<string, [string, DeviceRecord]>();
    cached.records.forEach((d, i) => byName.set(d.name, [cached.raw[i], d]));
    vals.forEach((raw, i) => {
      if (raw === null) byName.delete(changed[i]);
      else byName.set(changed[i], [raw, frozen(JSON.parse(raw) as DeviceRecord)]);
    });
    // Values read after `ver` may be newer than it: harmless, the next call re-reads them.
    return this.build(f, ver, [...byName.values()]);
  }

  private build(f: string, ver: string | null, pairs: [string, DeviceRecord][]): DeviceListEntry {
    pairs.sort(([, a], [, b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const index = new Map<string, number>();
    pairs.forEach(([, d], i) => index.set(d.name, i));
    return this.keep(f, { ver, raw: pairs.map(([r]) => r), records: pairs.map(([, d]) => d), index });
  }

  private keep(f: string, entry: DeviceListEntry): DeviceListEntry {
    if (entry.ver !== null) {
      this.cache.delete(f);
      this.cache.set(f, entry);
      // Bounded: keep the most recently loaded fabrics only.
      while (this.cache.size > 32) this.cache.delete(this.cache.keys().next().value as string);
    }
    return entry;
  }

  /**
   * All devices of a fabric, sorted by name. One small round trip when nothing changed since the
   * last call (records are frozen and shared: copy before changing one).
   */
  async listDevices(f: string): Promise<DeviceRecord[]> {
    return [...(await this.entry(f)).records];
  }

  /** The stored JSON of every device, sorted by name (for an API that sends them without re-encoding). */
  async listDevicesRaw(f: string): Promise<string[]> {
    return [...(await this.entry(f)).raw];
  }

  /** The whole device list as one JSON array text (built once per change). */
  async listDevicesJson(f: string): Promise<string> {
    const e = await this.entry(f);
    e.json ??= `[${e.raw.join(',')}]`;
    return e.json;
  }
}
