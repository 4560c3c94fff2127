// Pieces for DHCP tests against real clients in network namespaces of our own: a Redis on a
// unix socket (reachable from every namespace), the service's DHCP server as a process inside
// a namespace (from the TypeScript sources), isc-dhcp-client (dhclient) with its own files,
// and a packet capture (an AF_PACKET socket from python3's standard library: tcpdump is not
// installed here) that records the DHCP payloads on an interface exactly as on the wire.
// Everything started is stopped by pid; namespaces are removed by name.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { repoRoot } from '../fuzz/paths';

/** the repository (also when this runs compiled from dist/, as the benchmarks do) */
export const ROOT = repoRoot();

export const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
export const ipn = (ns: string, ...args: string[]): string => sh('ip', ['-n', ns, ...args]);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && (v as unknown) !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export function killPid(p: ChildProcess | undefined, sig: NodeJS.Signals = 'SIGKILL'): void {
  try { if (p?.pid) process.kill(p.pid, sig); } catch { /* gone */ }
}

/** A redis-server on a unix socket in `dir` (0700 socket, no persistence). */
export async function startSocketRedis(dir: string): Promise<{ sock: string; redis: Redis; stop(): void }> {
  const sock = join(dir, 'redis.sock');
  const proc = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await waitFor('redis socket', () => existsSync(sock) || undefined);
  const redis = new Redis({ path: sock });
  return { sock, redis, stop: () => { redis.disconnect(); killPid(proc); } };
}

/** A require hook that transpiles .ts on load, so a child process runs the sources as tests do. */
export function tsHook(dir: string): string {
  const hook = join(dir, 'ts-hook.js');
  writeFileSync(hook, `const ts = require(${JSON.stringify(require.resolve('typescript'))}); const fs = require('fs');
require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: f }).outputText, f);\n`);
  return hook;
}

export interface ServerProcess {
  proc: ChildProcess;
  /** everything the server printed so far */
  log(): string;
  /** resident memory of the server process, kB (from /proc) */
  rssKb(): number;
  alive(): boolean;
}

/** src/discovery/dhcp/main.ts inside `ns`; resolves once it prints "dhcp ready". */
export async function startServerProcess(o: { ns: string; dir: string; sock: string; iface: string; ztpBaseUrl: string; env?: Record<string, string> }): Promise<ServerProcess> {
  const hook = tsHook(o.dir);
  const proc = spawn('ip', ['netns', 'exec', o.ns, process.execPath, '-r', hook, '-e', `require(${JSON.stringify(join(ROOT, 'src/discovery/dhcp/main.ts'))})`], {
    env: { ...process.env, DHCP_INTERFACE: o.iface, REDIS_URL: o.sock, ZTP_BASE_URL: o.ztpBaseUrl, DHCP_REGISTRY_CACHE_MS: '0', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let exited = false;
  proc.once('exit', () => { exited = true; });
  proc.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  await waitFor('dhcp server ready', () => log.includes('dhcp ready') || undefined, 20000).catch((e: Error) => { throw new Error(`${e.message}: ${log}`); });
  // `ip netns exec` execs node: the child's pid is the server's.
  return {
    proc,
    log: () => log,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? NaN),
    alive: () => !exited && existsSync(`/proc/${proc.pid}`),
  };
}

export interface Dhclient {
  proc: ChildProcess;
  /** the environment of each script call (reason, new_*, old_*) */
  events: () => Record<string, string>[];
  /** -cf/-sf/-lf/-pf, for a second dhclient run on the same files (e.g. -r) */
  files: string[];
}

/** A dhclient in `ns` on `iface`, identity by vendor class; its script appends its env to a file. */
export function dhclient(dir: string, name: string, ns: string, iface: string, vendorClass: string, extra: string[] = []): Dhclient {
  const serial = vendorClass.split('-').pop()!;
  const conf = join(dir, `${name}.conf`);
  const out = join(dir, `${name}.events`);
  const script = join(dir, `${name}.sh`);
  writeFileSync(conf, [
    `send vendor-class-identifier "${vendorClass}";`,
    `send dhcp-client-identifier = concat(00, "${serial}");`,
    `send host-name "${serial}";`,
    'request subnet-mask, routers, bootfile-name, tftp-server-name, vendor-encapsulated-options, dhcp-lease-time;',
    'timeout 8; retry 2; initial-interval 1; backoff-cutoff 1;',
    '',
  ].join('\n'));
  writeFileSync(script, `#!/bin/sh
{ echo "---"; env | grep -E '^(reason|new_|old_|interface)' | sort; } >> ${out}
case "$reason" in
  PREINIT) ip link set dev "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT) [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ] && ip addr flush dev "$interface"; ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    [ -n "$new_routers" ] && ip route replace default via "\${new_routers%% *}" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE) ip addr flush dev "$interface" scope global ;;
esac
exit 0
`);
  chmodSync(script, 0o755);
  const files = ['-cf', conf, '-sf', script, '-lf', join(dir, `${name}.leases`), '-pf', join(dir, `${name}.pid`)];
  const proc = spawn('ip', ['netns', 'exec', ns, 'dhclient', '-4', '-d', '-v', ...files, ...extra, iface], { stdio: ['ignore', 'ignore', 'pipe'] });
  const events = (): Record<string, string>[] => {
    if (!existsSync(out)) return [];
    return readFileSync(out, 'utf8').split('---\n').filter(Boolean).map((blk) => Object.fromEntries(blk.trim().split('\n').map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i), l.slice(i + 1)];
    })));
  };
  return { proc, events, files };
}

export interface CapturedPacket {
  /** 'out' = sent by this namespace, 'in' = received */
  dir: 'in' | 'out';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** the UDP payload (the BOOTP message) */
  payload: Buffer;
}

// AF_PACKET capture of UDP 67/68 on one interface; one JSON line per packet.
const CAPTURE_PY = `
import socket, struct, sys, json, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
print('ready', flush=True)
while True:
    try:
        data, addr = s.recvfrom(65535)
    except OSError:  # ENETDOWN once when the interface comes up after the bind
        time.sleep(0.02)
        continue
    if len(data) < 42 or data[12:14] != b'\\x08\\x00': continue
    ihl = (data[14] & 15) * 4
    if data[23] != 17: continue
    u = 14 + ihl
    sport, dport, ulen = struct.unpack('!HHH', data[u:u + 6])
    if not ({sport, dport} & {67, 68}): continue
    print(json.dumps({'dir': 'out' if addr[2] == 4 else 'in', 'src': socket.inet_ntoa(data[26:30]), 'dst': socket.inet_ntoa(data[30:34]),
                      'sport': sport, 'dport': dport, 'hex': data[u + 8:u + ulen].hex()}), flush=True)
`;

/** Starts a capture on `iface` in `ns`; `stop()` ends it and returns what it saw. */
export async function capture(ns: string, iface: string): Promise<{ packets(): CapturedPacket[]; stop(): CapturedPacket[] }> {
  const proc = spawn('ip', ['netns', 'exec', ns, 'python3', '-u', '-c', CAPTURE_PY, iface], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  await waitFor(`capture on ${ns}/${iface}`, () => out.startsWith('ready\n') || undefined, 10000).catch((e: Error) => { killPid(proc); throw new Error(`${e.message}: ${err}`); });
  const packets = (): CapturedPacket[] => out.split('\n').slice(1).filter((l) => l.startsWith('{')).map((l) => {
    const j = JSON.parse(l) as Omit<CapturedPacket, 'payload'> & { hex: string };
    return { dir: j.dir, src: j.src, dst: j.dst, sport: j.sport, dport: j.dport, payload: Buffer.from(j.hex, 'hex') };
  });
  return { packets, stop: () => { killPid(proc); return packets(); } };
}
