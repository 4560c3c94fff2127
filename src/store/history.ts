// History of a fabric's devices: each device's committed configs, and the intended-config
// cache. Single-key writes: neither changes the inventory, so neither bumps a version.
import type { ConfigCommit, DeviceRecord, IntendedConfig } from './types';
import { notFound } from './errors';
import type { StoreCore } from './core';
import { defineScript } from './core';
import { now, parseRemoved, removedIds } from './model';

// KEYS[1] intent version, KEYS[2] intended hash. ARGV[1] expected version, ARGV[2] field, ARGV[3] JSON.
const INTENDED_SET_LUA = `
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

/** Config commits kept per device (newest first). */
const CONFIG_HISTORY = 100;

export class HistoryStore {
  private readonly intendedSet;

  constructor(private readonly core: StoreCore) {
    this.intendedSet = defineScript(core.redis, 'fzIntendedSet', INTENDED_SET_LUA);
  }

  private get k() { return this.core.keys; }

  // ----------------------------------------------------------------------------- config history

  /** Config history is keyed by the device's stable id, so a rename does not move it. */
  private async deviceId(f: string, d: string): Promise<string> {
    const v = await this.core.redis.hget(this.k.fabric(f, 'devices'), d);
    if (!v) throw notFound(`device ${d} in fabric ${f}`);
    return (JSON.parse(v) as DeviceRecord).id;
  }

  /**
   * The ids whose history is read under a name, with whether each is a removed box: the device
   * of that name (if any), then devices removed under it with their history kept (the
   * remove-device job), newest first.
   */
  private async historyIds(f: string, d: string): Promise<{ id: string; removed: boolean }[]> {
    const [cur, rem] = await this.core.redis.pipeline().hget(this.k.fabric(f, 'devices'), d).hget(this.k.fabric(f, 'removed'), d).exec() ?? [];
    const curId = cur?.[1] ? (JSON.parse(cur[1] as string) as DeviceRecord).id : null;
    const ids = [
      ...(curId ? [{ id: curId, removed: false }] : []),
      ...removedIds(parseRemoved((rem?.[1] as string | null) ?? null)).filter((id) => id !== curId).map((id) => ({ id, removed: true })),
    ];
    if (!ids.length) throw notFound(`device ${d} in fabric ${f}`);
    return ids;
  }

  /** Records a committed config (newest first, the last 100 kept). */
  async addConfigCommit(f: string, d: string, c: Omit<ConfigCommit, 'at'> & { at?: string }): Promise<void> {
    const id = await this.deviceId(f, d);
    const rec: ConfigCommit = { at: c.at ?? now(), jobId: c.jobId, text: c.text };
    if (c.diff !== undefined) rec.diff = c.diff;
    if (c.platform !== undefined) rec.platform = c.platform;
    await this.core.redis.multi().lpush(this.k.cfg(f, id), JSON.stringify(rec)).ltrim(this.k.cfg(f, id), 0, CONFIG_HISTORY - 1).exec();
  }

  /**
   * A device's own commits (jobs diff against and roll back to these only), or with `withRemoved`
   * (the history route) also those of boxes removed under its name, marked `removed`: a leaf
   * re-added under a removed one's name shows its own commits first, then the old box's.
   */
  async listConfigCommits(f: string, d: string, opts: { limit?: number; withRemoved?: boolean } = {}): Promise<ConfigCommit[]> {
    const limit = Math.max(1, opts.limit ?? 10);
    const all = await this.historyIds(f, d);
    const ids = opts.withRemoved ? all : all.slice(0, 1);
    const p = this.core.redis.pipeline();
    for (const { id } of ids) p.lrange(this.k.cfg(f, id), 0, limit - 1);
    const lists = (await p.exec() ?? []).map(([err, rows], i) => {
      if (err) throw err;
      return (rows as string[]).map((r) => ({ ...JSON.parse(r) as ConfigCommit, ...(opts.withRemoved && ids[i].removed ? { removed: true } : {}) }));
    });
    // Concatenated, not sorted: a name is free only after its box is removed, so each list is
    // older than the one before, and the own commits keep the indices rollback's `version` uses.
    return lists.flat().slice(0, limit);
  }

  // ----------------------------------------------------------------------------- drift state

  /** The drift check's latest answer per device (a cache: not in backups, cleared with the fabric). */
  async recordDrift(f: string, answers: [device: string, drifted: boolean][]): Promise<void> {
    const key = this.k.fabric(f, 'drift');
    const add = answers.filter(([, d]) => d).map(([n]) => n);
    const clear = answers.filter(([, d]) => !d).map(([n]) => n);
    if (!add.length && !clear.length) return;
    const m = this.core.redis.multi();
    if (add.length) m.sadd(key, ...add);
    if (clear.length) m.srem(key, ...clear);
    await m.exec();
  }

  async listDrifted(f: string): Promise<Set<string>> {
    return new Set(await this.core.redis.smembers(this.k.fabric(f, 'drift')));
  }

  // ----------------------------------------------------------------------------- intended-config cache

  /** Cached intended config, valid only for the inventory version it was computed from. */
  async getIntendedConfig(f: string, d: string): Promise<IntendedConfig | null> {
    const v = await this.core.redis.hget(this.k.fabric(f, 'intended'), d);
    return v ? JSON.parse(v) as IntendedConfig : null;
  }

  /** Caches an intended config computed from inventory `version`; dropped when the inventory moved on. */
  async setIntendedConfig(f: string, d: string, cfg: IntendedConfig, version: number): Promise<boolean> {
    return (await this.intendedSet(2, this.k.fabric(f, 'iver'), this.k.fabric(f, 'intended'), String(version), d, JSON.stringify(cfg))) === 1;
  }
}
