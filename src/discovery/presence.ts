// Which DHCP servers are alive: each running server (built-in, in the API process or standalone,
// or a Kea backend) refreshes an entry here. A greenfield onboarding checks it before it says
// "DHCP open", so a job never waits for leases that no server can hand out.
import { hostname } from 'node:os';
import type Redis from 'ioredis';

const KEY = 'dhcp:servers';

export interface DhcpServerInfo { id: string; interface: string; address: string; backend: string; until: number }

/** Announces a running DHCP server every `everyMs` until stop() (entries live 3 periods). */
export function announceDhcpServer(redis: Redis, info: { interface: string; address: string; backend: string }, everyMs = 5000): { stop(): Promise<void> } {
  const id = `${hostname()}:${process.pid}:${info.interface}`;
  const beat = () => redis.hset(KEY, id, JSON.stringify({ id, ...info, until: Date.now() + 3 * everyMs })).catch(() => undefined);
  void beat();
  const t = setInterval(() => void beat(), everyMs);
  t.unref();
  return {
    stop: async () => {
      clearInterval(t);
      await redis.hdel(KEY, id).catch(() => undefined);
    },
  };
}

/** DHCP servers whose last announcement has not expired (expired ones are pruned). */
export async function liveDhcpServers(redis: Redis): Promise<DhcpServerInfo[]> {
  const all = await redis.hgetall(KEY);
  const now = Date.now();
  const live: DhcpServerInfo[] = [];
  for (const [id, raw] of Object.entries(all)) {
    let v: DhcpServerInfo | undefined;
    try { v = JSON.parse(raw) as DhcpServerInfo; } catch { v = undefined; }
    if (v && v.until > now) live.push(v);
    else await redis.hdel(KEY, id);
  }
  return live.sort((a, b) => a.id.localeCompare(b.id));
}
