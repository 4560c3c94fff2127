// NETCONF host keys (trust on first use): one hash per fabric, device name -> fingerprint.
// Pinning or resetting a key changes no intent, so it bumps no version; renameDevice moves a
// key inside its own commit and checks the field it read instead (core.mutateFine's way).
import type { Actor, HostKeyStore } from './types';
import type { StoreCore } from './core';
import { now } from './model';

export class HostKeys {
  constructor(private readonly core: StoreCore) {}

  /** Trust-on-first-use store for the NETCONF client; deviceId = device name in fabric `f`. */
  forFabric(f: string, ctx: Actor = {}): HostKeyStore {
    const k = this.core.keys;
    const key = k.fabric(f, 'hostkeys');
    const events = k.fabric(f, 'events');
    const redis = this.core.redis;
    const ev = (action: string, d: string) => ['at', now(), 'actor', ctx.actor ?? 'netconf', 'action', action, 'object', `device/${d}`];
    const store: HostKeyStore = {
      get: async (d) => (await redis.hget(key, d)) ?? undefined,
      set: async (d, fp) => {
        await redis.multi().hset(key, d, fp).xadd(events, '*', ...ev('hostkey.trusted', d), 'details', JSON.stringify({ fingerprint: fp })).exec();
      },
      reset: async (d) => {
        await redis.multi().hdel(key, d).xadd(events, '*', ...ev('hostkey.reset', d)).exec();
      },
    };
    // The NETCONF client (src/netconf/client.ts) calls it delete().
    store.delete = store.reset;
    return store;
  }
}
