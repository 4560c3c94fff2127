// History of a fabric's devices: each device's committed configs, and the intended-config
// cache. Single-key writes: neither changes the inventory, so neither bumps a version.
import type { ConfigCommit, DeviceRecord, IntendedConfig } from './types';
import { notFound } from './errors';
import type { StoreCore } from './core';
import { defineScript } from './core';
import { now } from './model';

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
  private async deviceId(f: string, d: string, o: { removed?: boolean } = {}): Promise<string> {
    // A device removed with its history kept is read under its name until one with that name returns.
    const v = await this.core.redis.hget(this.k.fabric(f, 'devices'), d) ?? (o.removed ? await this.core.redis.hget(this.k.fabric(f, 'removed'), d) : null);
    if (!v) throw notFound(`device ${d} in fabric ${f}`);
    return (JSON.parse(v) as DeviceRecord).id;
  }

  /** Records a committed config (newest first, the last 100 kept). */
  async addConfigCommit(f: string, d: string, c: Omit<ConfigCommit, 'at'> & { at?: string }): Promise<void> {
    const id = await this.deviceId(f, d);
    const rec: ConfigCommit = { at: c.at ?? now(), jobId: c.jobId, text: c.text };
    if (c.diff !== undefined) rec.diff = c.diff;
    if (c.platform !== undefined) rec.platform = c.platform;
    await this.core.redis.multi().lpush(this.k.cfg(f, id), JSON.stringify(rec)).ltrim(this.k.cfg(f, id), 0, CONFIG_HISTORY - 1).exec();
  }

  async listConfigCommits(f: string, d: string, opts: { limit?: number } = {}): Promise<ConfigCommit[]> {
    const id = await this.deviceId(f, d, { removed: true });
    const rows = await this.core.redis.lrange(this.k.cfg(f, id), 0, Math.max(1, opts.limit ?? 10) - 1);
    return rows.map((r) => JSON.parse(r) as ConfigCommit);
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
