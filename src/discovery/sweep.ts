// Brownfield ping sweep with fping (Debian): bounded rate (-i), retries (-r), per-target timeout
// (-t), targets split into chunks with bounded concurrency, an overall deadline, and no target
// that is not inside both the subnets given and DISCOVERY_ALLOW.
import { spawn } from 'node:child_process';
import { cidrText, formatIp, hostRange, overlaps, parseCidr, type Cidr } from '../domain/ipv4';
import { AllowList, DiscoveryError } from './allow';

export interface SweepOptions {
  subnets: string[];
  allow: AllowList;
  /** The fabric's management subnets: a sweep subnet must sit inside one. Omit to skip. */
  managementSubnets?: string[];
  /** Largest range accepted: the smallest prefix length (default 16: a /15 is refused). */
  maxRangePrefix?: number;
  /** fping -i: ms between packets (the rate bound). Default 1. */
  intervalMs?: number;
  /** fping -r. Default 1. */
  retries?: number;
  /** fping -t: ms to wait for the first reply. Default 500. */
  timeoutMs?: number;
  /** Targets per fping process. Default 256. */
  chunkSize?: number;
  /** fping processes at once. Default 2. */
  concurrency?: number;
  /** Overall deadline in ms; fping processes still running then are killed. Default 120000. */
  deadlineMs?: number;
  /** Run fping inside this network namespace (`ip netns exec`). */
  netns?: string;
  fping?: string;
}

export interface SweepResult {
  alive: string[];
  probed: number;
  durationMs: number;
}

/** Validates the request and returns the sweep's blocks; throws one line naming the culprit. */
export function validateSweep(opts: Pick<SweepOptions, 'subnets' | 'allow' | 'managementSubnets' | 'maxRangePrefix'>): Cidr[] {
  const limit = opts.maxRangePrefix ?? 16;
  if (!Array.isArray(opts.subnets) || opts.subnets.length === 0) throw new DiscoveryError('subnets: at least one subnet is required for a sweep');
  const blocks = opts.subnets.map((s, i) => {
    const r = parseCidr(s);
    if (!r.ok) throw new DiscoveryError(`subnets[${i}] "${s}" ${r.reason}`);
    if (r.cidr.prefix < limit) throw new DiscoveryError(`subnets[${i}] ${s} is larger than the sweep limit /${limit}`);
    return r.cidr;
  });
  for (let i = 0; i < blocks.length; i++) {
    for (let j = i + 1; j < blocks.length; j++) {
      if (overlaps(blocks[i], blocks[j])) throw new DiscoveryError(`subnets[${i}] ${cidrText(blocks[i])} and subnets[${j}] ${cidrText(blocks[j])} overlap`);
    }
  }
  if (opts.managementSubnets) {
    const mgmt = opts.managementSubnets.map((m) => {
      const r = parseCidr(m);
      if (!r.ok) throw new DiscoveryError(`management subnet "${m}" ${r.reason}`);
      return r.cidr;
    });
    blocks.forEach((b, i) => {
      if (!mgmt.some((m) => b.base >= m.base && b.base + b.size <= m.base + m.size)) {
        throw new DiscoveryError(`subnets[${i}] ${cidrText(b)} is not inside a management subnet of the fabric (${opts.managementSubnets!.join(', ') || 'none'})`);
      }
    });
  }
  blocks.forEach((b, i) => {
    if (!opts.allow.allowsCidr(b)) throw new DiscoveryError(`subnets[${i}] ${cidrText(b)} is outside DISCOVERY_ALLOW (${opts.allow.describe()}): refused`);
  });
  return blocks;
}

/** Host addresses of the blocks, each re-checked against the allow list. */
export function sweepTargets(blocks: Cidr[], allow: AllowList): string[] {
  const out: string[] = [];
  for (const b of blocks) {
    const { first, count } = hostRange(b);
    for (let i = 0; i < count; i++) {
      const ip = formatIp(first + i);
      allow.check(ip, 'sweep target');
      out.push(ip);
    }
  }
  return out;
}

function runFping(targets: string[], o: SweepOptions, deadline: number): Promise<string[]> {
  const args = ['-a', '-q', '-i', String(o.intervalMs ?? 1), '-r', String(o.retries ?? 1), '-t', String(o.timeoutMs ?? 500), ...targets];
  const bin = o.fping ?? 'fping';
  const [cmd, argv] = o.netns ? ['ip', ['netns', 'exec', o.netns, bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, deadline - Date.now()));
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', (e) => { clearTimeout(timer); reject(new DiscoveryError(`fping could not start: ${e.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) return reject(new DiscoveryError(`sweep deadline reached: fping killed (${signal})`));
      // fping exits 1 when some targets are unreachable: that is the normal case for a sweep.
      if (code !== 0 && code !== 1) return reject(new DiscoveryError(`fping failed (exit ${code}): ${err.trim().split('\n')[0] ?? ''}`));
      resolve(out.split('\n').map((l) => l.trim()).filter(Boolean));
    });
  });
}

export async function sweep(opts: SweepOptions): Promise<SweepResult> {
  const started = Date.now();
  const blocks = validateSweep(opts);
  const targets = sweepTargets(blocks, opts.allow);
  const size = Math.max(1, opts.chunkSize ?? 256);
  const chunks: string[][] = [];
  for (let i = 0; i < targets.length; i += size) chunks.push(targets.slice(i, i + size));
  const deadline = started + (opts.deadlineMs ?? 120_000);
  const alive = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      const c = chunks[next++];
      for (const ip of await runFping(c, opts, deadline)) {
        // Only what we asked about counts (fping echoes target names).
        if (opts.allow.allows(ip)) alive.add(ip);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, opts.concurrency ?? 2), chunks.length) }, worker));
  const inTargets = new Set(targets);
  const found = [...alive].filter((ip) => inTargets.has(ip));
  found.sort((a, b) => ipNum(a) - ipNum(b));
  return { alive: found, probed: targets.length, durationMs: Date.now() - started };
}

function ipNum(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
