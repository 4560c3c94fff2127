// DHCP leases and the "active onboarding" registry, kept in Redis under `fz:dhcp:`.
// Leases expire in Redis itself (PX), so a lease nobody renews disappears even when the
// server is down; an index set per fabric lists them (stale members pruned on read).
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import type { ClientIdentity } from './identity';
import { scanKeys } from '../../store/schema';

export type LeaseState = 'offered' | 'bound';

/** A lease carries who asked (the client's identity, as parsed from its request). */
export interface Lease extends ClientIdentity {
  fabric: string;
  ip: string;
  /** management subnet CIDR the address comes from */
  subnet: string;
  /** relay (giaddr) the client came through, when relayed */
  relay?: string;
  /** option 82 as the relay sent it, hex */
  agentInfo?: string;
  state: LeaseState;
  /** epoch ms */
  expiresAt: number;
  boundAt?: number;
}

/** What the onboarding job registers for the DHCP server: which fabric it serves, how. */
export interface DhcpSubnet {
  cidr: string;
  gateway: string;
  /** first address handed out (default: the first host that is not the gateway) */
  rangeStart?: string;
  rangeEnd?: string;
}
export interface DhcpReservation { ip: string; mac?: string; serial?: string }
export interface ActiveFabric {
  fabric: string;
  subnets: DhcpSubnet[];
  reservations: DhcpReservation[];
  leaseSeconds: number;
  jobId?: string;
  /** epoch ms after which the registration lapses (a crashed job does not keep DHCP open) */
  until: number;
}

export interface ZtpToken { token: string; fabric: string; serial: string; ip: string; mac: string; platform?: string; vendor?: string; model?: string }

export interface LeaseStore {
  get(fabric: string, ip: string): Promise<Lease | undefined>;
  list(fabric: string): Promise<Lease[]>;
  put(lease: Lease): Promise<void>;
  remove(fabric: string, ip: string): Promise<void>;
  /** Marks an address unusable (DECLINE) for `ms`. */
  decline(fabric: string, ip: string, ms: number): Promise<void>;
  declined(fabric: string): Promise<Set<string>>;
  // registry
  activate(a: ActiveFabric): Promise<void>;
  deactivate(fabric: string): Promise<void>;
  active(): Promise<ActiveFabric[]>;
  // one-time ZTP tokens
  /** Stores a token as given (other backends, tests, a token put back after a failure). */
  putToken(t: ZtpToken, ms: number): Promise<void>;
  /**
   * One live token per lease: the lease's token when it is unused and was issued for the same
   * client, its lifetime extended; else a new one, revoking the previous. So an OFFER, its ACK
   * and any repeat of them carry the same URL, and a client repeating DISCOVER/REQUEST cannot
   * pile up tokens. remove() of the lease revokes it.
   */
  issueToken(t: Omit<ZtpToken, 'token'>, ms: number): Promise<string>;
  /**
   * Returns and deletes the token (served once). With `serial`, a token issued for another
   * serial is neither returned nor consumed (it stays valid for its own device).
   */
  takeToken(token: string, serial?: string): Promise<ZtpToken | undefined>;
}

/** GETDEL only when the token's serial matches (atomic: a wrong guess cannot burn it). */
const TAKE_IF_SERIAL = `local v = redis.call('GET', KEYS[1])
if not v then return false end
if cjson.decode(v).serial ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
return v`;

export class RedisLeaseStore implements LeaseStore {
  constructor(private readonly redis: Redis, private readonly prefix = 'fz:dhcp:') {}

  private leaseKey(f: string, ip: string): string { return `${this.prefix}lease:${f}:${ip}`; }
  private indexKey(f: string): string { return `${this.prefix}leases:${f}`; }
  /** the one live ZTP token of a lease (its value is the token) */
  private leaseTokenKey(f: string, ip: string): string { return `${this.prefix}lease-token:${f}:${ip}`; }
  private tokenKey(token: string): string { return `${this.prefix}token:${token}`; }

  async get(fabric: string, ip: string): Promise<Lease | undefined> {
    const v = await this.redis.get(this.leaseKey(fabric, ip));
    return v ? (JSON.parse(v) as Lease) : undefined;
  }

  async list(fabric: string): Promise<Lease[]> {
    const ips = await this.redis.smembers(this.indexKey(fabric));
    if (!ips.length) return [];
    const vals = await this.redis.mget(ips.map((ip) => this.leaseKey(fabric, ip)));
    const stale = ips.filter((_, i) => !vals[i]);
    if (stale.length) await this.redis.srem(this.indexKey(fabric), ...stale);
    return vals.filter((v): v is string => !!v).map((v) => JSON.parse(v) as Lease);
  }

  async put(l: Lease): Promise<void> {
    const ms = Math.max(1, l.expiresAt - Date.now());
    await this.redis.multi()
      .set(this.leaseKey(l.fabric, l.ip), JSON.stringify(l), 'PX', ms)
      .sadd(this.indexKey(l.fabric), l.ip)
      .exec();
  }

  async remove(fabric: string, ip: string): Promise<void> {
    const r = await this.redis.multi().del(this.leaseKey(fabric, ip)).srem(this.indexKey(fabric), ip).getdel(this.leaseTokenKey(fabric, ip)).exec();
    const token = r?.[2]?.[1];
    if (typeof token === 'string') await this.redis.del(this.tokenKey(token)); // a released lease's bootstrap is gone too
  }

  async decline(fabric: string, ip: string, ms: number): Promise<void> {
    await this.redis.set(`${this.prefix}declined:${fabric}:${ip}`, '1', 'PX', Math.max(1, ms));
  }

  async declined(fabric: string): Promise<Set<string>> {
    const out = new Set<string>();
    const match = `${this.prefix}declined:${fabric}:*`;
    // scanKeys: on a cluster it scans every primary and strips the connection's key prefix.
    for await (const keys of scanKeys(this.redis, match, 500)) for (const k of keys) out.add(k.slice(match.length - 1));
    return out;
  }

  async activate(a: ActiveFabric): Promise<void> {
    await this.redis.hset(`${this.prefix}active`, a.fabric, JSON.stringify(a));
  }

  async deactivate(fabric: string): Promise<void> {
    await this.redis.hdel(`${this.prefix}active`, fabric);
  }

  async active(): Promise<ActiveFabric[]> {
    const all = await this.redis.hgetall(`${this.prefix}active`);
    const now = Date.now();
    return Object.values(all).map((v) => JSON.parse(v) as ActiveFabric).filter((a) => a.until > now);
  }

  async putToken(t: ZtpToken, ms: number): Promise<void> {
    await this.redis.set(this.tokenKey(t.token), JSON.stringify(t), 'PX', Math.max(1, ms));
  }

  async issueToken(t: Omit<ZtpToken, 'token'>, ms: number): Promise<string> {
    const px = Math.max(1, ms);
    const ptr = this.leaseTokenKey(t.fabric, t.ip);
    const live = await this.redis.get(ptr);
    if (live) {
      const v = await this.redis.get(this.tokenKey(live));
      const same = v ? (JSON.parse(v) as ZtpToken) : undefined;
      if (same && same.serial === t.serial && same.mac === t.mac && same.platform === t.platform) {
        await this.redis.multi().pexpire(this.tokenKey(live), px).pexpire(ptr, px).exec();
        return live;
      }
    }
    const token = randomBytes(16).toString('hex');
    const r = await this.redis.multi()
      .set(this.tokenKey(token), JSON.stringify({ ...t, token }), 'PX', px)
      .set(ptr, token, 'PX', px, 'GET')
      .exec();
    const old = r?.[1]?.[1];
    if (typeof old === 'string' && old !== token) await this.redis.del(this.tokenKey(old));
    return token;
  }

  async takeToken(token: string, serial?: string): Promise<ZtpToken | undefined> {
    if (!/^[0-9a-f]{32}$/.test(token)) return undefined;
    const v = serial === undefined
      ? await this.redis.getdel(this.tokenKey(token))
      : ((await this.redis.eval(TAKE_IF_SERIAL, 1, this.tokenKey(token), serial)) as string | null);
    return v ? (JSON.parse(v) as ZtpToken) : undefined;
  }
}
