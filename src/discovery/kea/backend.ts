// DHCP_BACKEND=kea: Debian's kea-dhcp4 answers DHCP instead of the built-in server, with the
// same onboarding behaviour. This process owns kea-dhcp4 (a child, on DHCP_INTERFACE only) and,
// once a second (`tickMs`), reconciles:
//   registry (fz:dhcp:active) + the fabric's device list  ->  Kea subnets and host reservations,
//     each reservation's ZTP URL carrying a one-time token (minted in Redis, renewed once used:
//     a device whose fetch failed asks DHCP again and must get a fresh one, as from the built-in
//     server);
//   Kea's leases (lease4-get-all over the control socket, lease_cmds hook)  ->  the lease store
//     the onboarding job reads (fz:dhcp:lease:*), and a reservation for every client that took
//     a lease without one (it comes back within `learnLeaseSeconds` and gets its ZTP options);
//   a fabric whose onboarding ended  ->  the leases the job released are deleted in Kea too.
// Kea's config is rewritten and reloaded (config-reload) only when it changes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { ActiveFabric, Lease, LeaseStore } from '../dhcp/leases';
import { keaConfig, serialClientId, serialOfClientId, subnetId, ztpPlatformsOf, type KeaHost, type ZtpPlatform } from './config';
import { keaCommand, type KeaLease } from './control';
import { announceDhcpServer } from '../presence';

export interface KeaDevice { serial: string; platform?: ZtpPlatform }

export interface KeaBackendOptions {
  leases: LeaseStore;
  /** the store's Redis: a token's liveness is read where RedisLeaseStore keeps it */
  redis: Redis;
  interface: string;
  serverAddress: string;
  ztpBaseUrl: string;
  /** state directory: config, lease file, log, pid and lock files (created 0700) */
  dir: string;
  /** the fabric's listed devices with a serial (each gets a reservation with its ZTP options) */
  devices: (fabric: string) => Promise<KeaDevice[]>;
  tickMs?: number;
  learnLeaseSeconds?: number;
  keaBinary?: string;
  leaseCmdsLibrary?: string;
  log?: (msg: string) => void;
}

const TOKEN_PREFIX = 'fz:dhcp:token:'; // RedisLeaseStore's token keys

/** Where Debian installs the lease_cmds hook (per architecture). */
export function findLeaseCmdsLibrary(): string {
  const roots = ['/usr/lib', '/usr/lib64', '/usr/local/lib'];
  for (const r of roots) {
    const direct = join(r, 'kea/hooks/libdhcp_lease_cmds.so');
    if (existsSync(direct)) return direct;
    let subs: string[] = [];
    try { subs = readdirSync(r); } catch { continue; }
    for (const s of subs) {
      const p = join(r, s, 'kea/hooks/libdhcp_lease_cmds.so');
      if (existsSync(p)) return p;
    }
  }
  throw new Error('kea: libdhcp_lease_cmds.so not found (apt-get install kea-dhcp4-server)');
}

/** A unix socket path must fit sun_path (108 bytes): a long state dir gets one under tmp. */
function socketPath(dir: string): string {
  const p = join(dir, 'kea4.sock');
  return p.length < 100 ? p : join(tmpdir(), `fz-kea-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}.sock`);
}

/** How long an ended fabric's leases are still reconciled (the job's release follows its deactivation). */
const ENDED_GRACE_MS = 30_000;

export class KeaDhcpBackend {
  private child?: ChildProcess;
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private ticking = false;
  private applied = '';
  private restarts = 0;
  private output = '';
  /** host key -> tokens: reused until one is used or lapses */
  private tokens = new Map<string, Record<string, string>>();
  /** fabric -> host key -> a client that took a lease without a reservation */
  private learned = new Map<string, Map<string, KeaHost & { learnedMac: string }>>();
  private lastActive = new Map<string, ActiveFabric>();
  /** fabrics whose onboarding ended -> (fabric, until): reconciled for a while, the job's release may come after */
  private ended = new Map<string, { f: ActiveFabric; until: number }>();
  private presence?: { stop(): Promise<void> };
  readonly socket: string;
  readonly configFile: string;
  private readonly o: Required<Omit<KeaBackendOptions, 'leaseCmdsLibrary'>> & { leaseCmdsLibrary: string };

  constructor(opts: KeaBackendOptions) {
    this.o = {
      tickMs: 1000, learnLeaseSeconds: 20, keaBinary: existsSync('/usr/sbin/kea-dhcp4') ? '/usr/sbin/kea-dhcp4' : 'kea-dhcp4',
      log: () => undefined, ...opts, leaseCmdsLibrary: opts.leaseCmdsLibrary ?? findLeaseCmdsLibrary(),
    };
    this.socket = socketPath(opts.dir);
    this.configFile = join(opts.dir, 'kea-dhcp4.json');
  }

  /** Starts kea-dhcp4 (no subnet yet) and the reconcile loop; resolves once Kea answers on its socket. */
  async start(): Promise<void> {
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
    this.writeConfig(await this.desiredConfig([]));
    await this.spawnKea();
    this.timer = setInterval(() => void this.tick(), this.o.tickMs);
    this.timer.unref();
    // onboarding jobs open DHCP only when a server announces itself (src/discovery/presence.ts)
    this.presence = announceDhcpServer(this.o.redis, { interface: this.o.interface, address: this.o.serverAddress, backend: 'kea' });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.presence?.stop();
    for (let i = 0; i < 50 && this.ticking; i++) await new Promise((r) => setTimeout(r, 100));
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    rmSync(this.socket, { force: true });
  }

  /** kea-dhcp4's pid (tests check it is gone after stop). */
  pid(): number | undefined { return this.child?.pid; }

  private async spawnKea(): Promise<void> {
    this.output = '';
    rmSync(this.socket, { force: true });
    const c = spawn(this.o.keaBinary, ['-c', this.configFile], {
      // pid and logger lock files in our directory, not /run/kea (not root, several instances)
      env: { ...process.env, KEA_PIDFILE_DIR: this.o.dir, KEA_LOCKFILE_DIR: this.o.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = c;
    const keep = (d: Buffer): void => { this.output = (this.output + d.toString()).slice(-4000); };
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    let spawnError: Error | undefined;
    c.on('error', (e) => { spawnError = e; });
    c.on('exit', (code, sig) => {
      if (!this.stopping) this.o.log(`kea: kea-dhcp4 exited (${sig ?? code}): ${this.output.trim().split('\n').slice(-3).join(' | ')}`);
    });
    const until = Date.now() + 15_000;
    for (;;) {
      if (spawnError) throw new Error(`kea: cannot run ${this.o.keaBinary}: ${spawnError.message} (apt-get install kea-dhcp4-server)`);
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`kea: kea-dhcp4 did not start: ${this.output.trim().split('\n').slice(-5).join(' | ')}`);
      try { await keaCommand(this.socket, 'version-get', undefined, 1000); break; } catch (e) {
        if (Date.now() > until) { c.kill('SIGKILL'); throw new Error(`kea: no answer on ${this.socket} within 15 s: ${(e as Error).message}`); }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.o.log(`kea: kea-dhcp4 (pid ${c.pid}) serving ${this.o.interface} as ${this.o.serverAddress}`);
  }

  private writeConfig(text: string): void {
    writeFileSync(this.configFile, text, { mode: 0o600 }); // tokens inside
  }

  private async desiredConfig(fabrics: ActiveFabric[]): Promise<string> {
    const hosts = fabrics.length ? await this.hostsFor(fabrics) : [];
    return JSON.stringify(keaConfig({
      interface: this.o.interface, serverAddress: this.o.serverAddress, ztpBaseUrl: this.o.ztpBaseUrl,
      controlSocket: this.socket, leaseFile: join(this.o.dir, 'kea-leases4.csv'), logFile: join(this.o.dir, 'kea-dhcp4.log'),
      leaseCmdsLibrary: this.o.leaseCmdsLibrary, fabrics, hosts, learnLeaseSeconds: this.o.learnLeaseSeconds,
    }), null, 1);
  }

  /** One reconcile pass; never two at once, errors logged (the next pass tries again). */
  async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      if (this.child && (this.child.exitCode !== null || this.child.signalCode !== null)) {
        if (this.restarts >= 5) return;
        this.restarts++;
        await this.spawnKea();
        this.applied = '';
      }
      const active = await this.o.leases.active();
      await this.releaseEnded(active);
      await this.syncLeases(active);
      const text = await this.desiredConfig(active);
      if (text !== this.applied) {
        this.writeConfig(text);
        await keaCommand(this.socket, 'config-reload', undefined, 10_000);
        this.applied = text;
      }
    } catch (e) {
      this.o.log(`kea: ${(e as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  /** Reservations of the active fabrics, tokens renewed where used or lapsed. */
  private async hostsFor(fabrics: ActiveFabric[]): Promise<KeaHost[]> {
    const hosts = new Map<string, KeaHost>();
    for (const f of fabrics) {
      const listed = await this.o.devices(f.fabric);
      const platformOf = new Map(listed.map((d) => [d.serial, d.platform]));
      const put = (key: string, h: Omit<KeaHost, 'tokens' | 'fabric'>): void => {
        const k = `${f.fabric}|${key}`;
        const prev = hosts.get(k);
        hosts.set(k, { ...prev, ...h, ip: h.ip ?? prev?.ip, fabric: f.fabric, tokens: {} });
      };
      for (const d of listed) put(`cid:${serialClientId(d.serial)}`, { serial: d.serial, clientId: serialClientId(d.serial), platform: d.platform });
      for (const r of f.reservations) {
        if (r.serial) put(`cid:${serialClientId(r.serial)}`, { serial: r.serial, clientId: serialClientId(r.serial), ip: r.ip, platform: platformOf.get(r.serial) });
        else if (r.mac) put(`hw:${r.mac.toLowerCase()}`, { serial: r.mac.toLowerCase().replace(/:/g, ''), mac: r.mac, ip: r.ip });
      }
      // a learned client that a reservation already covers (its MAC, or its address) is not reserved twice
      const taken = new Set([...hosts.values()].filter((h) => h.fabric === f.fabric).flatMap((h) => [h.ip, h.mac?.toLowerCase()]));
      for (const [key, h] of this.learned.get(f.fabric) ?? []) {
        if (!hosts.has(`${f.fabric}|${key}`) && !taken.has(h.ip) && !taken.has(h.learnedMac)) put(key, h);
      }
    }
    // tokens: one per option form the host needs; a used (taken) or lapsed one renews the host's set
    const list = [...hosts.entries()];
    const need = (h: KeaHost): ZtpPlatform[] => ztpPlatformsOf(h);
    const have = list.map(([k]) => this.tokens.get(k));
    const check = list.flatMap(([, h], i) => need(h).map((p) => (have[i] && Object.hasOwn(have[i]!, p) ? have[i]![p] : '')));
    const alive = check.length ? await this.o.redis.mget(...check.map((t) => `${TOKEN_PREFIX}${t || 'none'}`)) : [];
    let j = 0;
    const until = new Map(fabrics.map((f) => [f.fabric, f.until]));
    for (const [i, [k, h]] of list.entries()) {
      const forms = need(h);
      const ok = alive.slice(j, j + forms.length).every((v) => v !== null);
      j += forms.length;
      if (ok) { h.tokens = have[i]!; continue; }
      const ttl = Math.max(60_000, (until.get(h.fabric) ?? Date.now()) - Date.now());
      const old = this.tokens.get(k);
      const lapsed = Object.values(old ?? {}).filter((t) => !!t).map((t) => `${TOKEN_PREFIX}${t}`);
      if (lapsed.length) await this.o.redis.del(...lapsed);
      const fresh: Record<string, string> = {};
      for (const p of forms) {
        const token = randomBytes(16).toString('hex');
        fresh[p] = token;
        await this.o.leases.putToken({ token, fabric: h.fabric, serial: h.serial, ip: h.ip ?? '', mac: h.mac ?? '', platform: p }, ttl);
      }
      this.tokens.set(k, fresh);
      h.tokens = fresh;
    }
    for (const k of [...this.tokens.keys()]) if (!hosts.has(k)) this.tokens.delete(k);
    return list.map(([, h]) => h);
  }

  /** Kea's leases of the active fabrics -> the lease store; clients without a reservation learned. */
  private async syncLeases(active: ActiveFabric[]): Promise<void> {
    const bySubnet = new Map<number, { fabric: string; cidr: string }>();
    for (const f of active) for (const s of f.subnets) if (!bySubnet.has(subnetId(s.cidr))) bySubnet.set(subnetId(s.cidr), { fabric: f.fabric, cidr: s.cidr });
    for (const f of [...this.learned.keys()]) if (!active.some((a) => a.fabric === f)) this.learned.delete(f);
    if (!bySubnet.size) return;
    const a = await keaCommand<{ leases: KeaLease[] }>(this.socket, 'lease4-get-all', { subnets: [...bySubnet.keys()] });
    const now = Date.now();
    const current = new Map<string, Lease>();
    for (const k of a.arguments?.leases ?? []) {
      const where = bySubnet.get(k['subnet-id']);
      const expiresAt = (k.cltt + k['valid-lft']) * 1000;
      if (!where || k.state !== 0 || expiresAt <= now) continue;
      const clientId = k['client-id']?.replace(/:/g, '').toLowerCase();
      const mac = (k['hw-address'] ?? '').toLowerCase();
      const serial = serialOfClientId(clientId) ?? (k.hostname || undefined);
      const l: Lease = { fabric: where.fabric, ip: k['ip-address'], subnet: where.cidr, mac, state: 'bound', expiresAt, boundAt: k.cltt * 1000 };
      if (clientId) l.clientId = clientId;
      if (serial) l.serial = serial;
      current.set(`${where.fabric}|${l.ip}`, l);
      this.learn(l, clientId);
    }
    for (const f of active) {
      for (const old of await this.o.leases.list(f.fabric)) {
        const now2 = current.get(`${f.fabric}|${old.ip}`);
        if (!now2) await this.o.leases.remove(f.fabric, old.ip); // released or expired in Kea
        else if (now2.expiresAt === old.expiresAt && now2.mac === old.mac) current.delete(`${f.fabric}|${old.ip}`);
        else if (old.boundAt) now2.boundAt = old.boundAt;
      }
    }
    for (const l of current.values()) await this.o.leases.put(l);
  }

  /** A client with a lease is reserved (its address, its identity): its next request gets ZTP options. */
  private learn(l: Lease, clientId: string | undefined): void {
    const key = clientId ? `cid:${clientId}` : `hw:${l.mac}`;
    let m = this.learned.get(l.fabric);
    if (!m) this.learned.set(l.fabric, (m = new Map()));
    const prev = m.get(key);
    if (prev && prev.ip === l.ip) return;
    m.set(key, {
      fabric: l.fabric, serial: l.serial ?? l.mac.replace(/:/g, ''), ip: l.ip, tokens: {}, learnedMac: l.mac,
      ...(clientId ? { clientId } : { mac: l.mac }),
    });
  }

  /** A fabric no longer onboarding: the leases its job released (gone from the store) go from Kea too. */
  private async releaseEnded(active: ActiveFabric[]): Promise<void> {
    const now = new Map(active.map((f) => [f.fabric, f]));
    const t = Date.now();
    // An ended fabric is checked on every tick for ENDED_GRACE_MS: the job deactivates, then
    // releases (src/discovery/onboard.ts), so the first look may still see the leases it keeps.
    for (const [name, f] of this.lastActive) if (!now.has(name)) this.ended.set(name, { f, until: t + ENDED_GRACE_MS });
    for (const [name, e] of [...this.ended]) {
      if (now.has(name) || e.until < t) { this.ended.delete(name); continue; }
      const f = e.f;
      const keep = new Set((await this.o.leases.list(name)).map((l) => l.ip));
      const ids = new Set(f.subnets.map((s) => subnetId(s.cidr)));
      // every lease, filtered here: on a later tick the fabric's subnets are no longer configured
      const a = await keaCommand<{ leases: KeaLease[] }>(this.socket, 'lease4-get-all');
      for (const k of a.arguments?.leases ?? []) {
        if (!ids.has(k['subnet-id']) || keep.has(k['ip-address'])) continue;
        await keaCommand(this.socket, 'lease4-del', { 'ip-address': k['ip-address'] });
        this.o.log(`kea: released ${k['ip-address']} (fabric ${name} onboarding ended)`);
      }
    }
    this.lastActive = now;
  }
}
