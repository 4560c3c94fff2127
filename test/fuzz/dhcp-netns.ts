// The DHCP server under fuzz, in namespaces of our own (prefix `nt`): the server (its own
// process, leases in a Redis on a unix socket) on a bridge with three ports: the fuzzer's
// namespace (dhcp-sender.ts) and two namespaces for real dhclients. After the hostile packets
// the harness checks that a reserved and a pool client still get their leases, the server is
// alive, its memory and its log stayed bounded, and every malformed packet is accounted for
// (logged, or counted in a "N more ... suppressed" line). Used by dhcp-server-fuzz.test.ts
// (fixed seed, fast) and bench/fuzz-net.ts (10,000+ cases).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dhclient, ipn, killPid, ROOT, sh, startServerProcess, startSocketRedis, tsHook, waitFor, type Dhclient, type ServerProcess } from '../helpers/dhcp-lab';
import { RedisLeaseStore } from '../../src/discovery/dhcp';

export interface DhcpFuzzResult {
  cases: number;
  seed: number;
  sender: { sent: number; markers: number; drained: boolean; sendMs: number; drainedMs: number; perMutation: Record<string, number> };
  /** the server's own counters once the fuzz was handled, and at its stop (real clients too) */
  server: DhcpStats;
  serverAtStop: DhcpStats;
  /** datagrams the kernel dropped before the server read them (receive buffer full) */
  kernelDrops: number;
  /** lines the server wrote while the fuzz ran, and how many of them were "suppressed" summaries */
  logLines: number;
  summaryLines: number;
  /** malformed packets logged one by one + those counted in summaries (must equal server.malformed) */
  malformedAccounted: number;
  samples: string[];
  rssBeforeKb: number;
  rssPeakKb: number;
  /** after the fuzz: a reserved client's and a pool client's leases */
  reservedLease: string;
  poolLease: string;
  poolLeaseMs: number;
  serverAlive: boolean;
  tokens: number;
  tokenPointers: number;
}

type DhcpStats = { received: number; answered: number; ignored: number; errors: number; malformed: number; dropped: number };

const SUMMARY_RE = /^\S+ dhcp: (\d+) more "([^"]+)" lines from (.+) suppressed in the last \d+ s$/;

export async function runDhcpNetnsFuzz(o: { cases: number; seed: number }): Promise<DhcpFuzzResult> {
  const tag = `nt${Math.random().toString(36).slice(2, 6)}`;
  const NS = { srv: `${tag}-srv`, fz: `${tag}-fz`, cli: `${tag}-cli`, cli2: `${tag}-cli2` };
  const dir = mkdtempSync(join(tmpdir(), `${tag}-`));
  chmodSync(dir, 0o755);
  const started: { kill(): void }[] = [];
  let server: ServerProcess | undefined;
  const clients: Dhclient[] = [];
  try {
    const r = await startSocketRedis(dir);
    started.push({ kill: r.stop });
    const store = new RedisLeaseStore(r.redis);
    for (const ns of Object.values(NS)) { sh('ip', ['netns', 'add', ns]); ipn(ns, 'link', 'set', 'lo', 'up'); }
    ipn(NS.srv, 'link', 'add', 'br0', 'type', 'bridge');
    ipn(NS.srv, 'addr', 'add', '10.79.0.2/24', 'dev', 'br0');
    const ports: [string, string, string][] = [['s0', NS.fz, '02:00:00:79:00:99'], ['s1', NS.cli, '02:00:00:79:00:01'], ['s2', NS.cli2, '02:00:00:79:00:02']];
    for (const [port, ns, mac] of ports) {
      ipn(NS.srv, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'c0', 'netns', ns);
      ipn(NS.srv, 'link', 'set', port, 'master', 'br0');
      ipn(NS.srv, 'link', 'set', port, 'up');
      ipn(ns, 'link', 'set', 'c0', 'address', mac);
    }
    ipn(NS.srv, 'link', 'set', 'br0', 'up');
    ipn(NS.fz, 'addr', 'add', '10.79.0.200/24', 'dev', 'c0');
    ipn(NS.fz, 'link', 'set', 'c0', 'up');
    ipn(NS.fz, 'route', 'add', '255.255.255.255/32', 'dev', 'c0');
    await store.activate({
      fabric: 'fz', leaseSeconds: 60, until: Date.now() + 3_600_000,
      subnets: [{ cidr: '10.79.0.0/24', gateway: '10.79.0.1', rangeStart: '10.79.0.10', rangeEnd: '10.79.0.199' }],
      reservations: [{ serial: 'FZRES1', ip: '10.79.0.250' }, { mac: '02:00:00:79:ff:ff', ip: '10.79.0.251' }],
    });
    // offers hold their address 3 s (30 s in service): the pool client need not wait long
    server = await startServerProcess({ ns: NS.srv, dir, sock: r.sock, iface: 'br0', ztpBaseUrl: 'http://10.79.0.2:8080', env: { DHCP_OFFER_MS: '3000' } });
    const srv = server;
    const rcvbufErrors = (): number => {
      const lines = sh('ip', ['netns', 'exec', NS.srv, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp:'));
      const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
      return Number(values[names.indexOf('RcvbufErrors')]);
    };
    const dropsBefore = rcvbufErrors();
    const rssBeforeKb = srv.rssKb();
    const logStart = srv.log().length;

    // the fuzz
    const hook = tsHook(dir);
    const sender = spawn('ip', ['netns', 'exec', NS.fz, process.execPath, '-r', hook, '-e', `require(${JSON.stringify(join(ROOT, 'test/fuzz/dhcp-sender.ts'))})`], {
      env: { ...process.env, FUZZ_SENDER: '1', FUZZ_TARGET: '10.79.0.2', FUZZ_CASES: String(o.cases), FUZZ_SEED: String(o.seed) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push({ kill: () => killPid(sender) });
    let out = '';
    let err = '';
    sender.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    sender.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number | null>((res) => sender.once('exit', res));
    if (code !== 0) throw new Error(`fuzz sender failed (${code}): ${err}`);
    const senderResult = JSON.parse(out.trim().split('\n').pop()!) as DhcpFuzzResult['sender'];
    const fuzzLog = srv.log().slice(logStart);
    const kernelDrops = rcvbufErrors() - dropsBefore;
    // the server's counters now, before any real client adds packets
    const mark = srv.log().length;
    killPid(srv.proc, 'SIGUSR2');
    const afterFuzz = JSON.parse((await waitFor('server stats', () => /dhcp stats (\{.*\})/.exec(srv.log().slice(mark)) ?? undefined, 10_000))[1]) as DhcpFuzzResult['server'];

    // a real device with a reservation, then one from the pool (once the fuzz's offers expire)
    const c1 = dhclient(dir, 'res', NS.cli, 'c0', 'FRR-frr-switch-FZRES1');
    clients.push(c1);
    const b1 = await waitFor('reserved client BOUND', () => c1.events().find((e) => e.reason === 'BOUND'), 30_000);
    const t0 = Date.now();
    const c2 = dhclient(dir, 'pool', NS.cli2, 'c0', 'FRR-frr-switch-FZPOOL1');
    clients.push(c2);
    const b2 = await waitFor('pool client BOUND', () => c2.events().find((e) => e.reason === 'BOUND'), 40_000);
    const poolLeaseMs = Date.now() - t0;
    const serverAlive = srv.alive();
    const rssPeakKb = Number(/VmHWM:\s+(\d+)/.exec(sh('cat', [`/proc/${srv.proc.pid}/status`]))?.[1] ?? NaN);
    const tokens = (await r.redis.keys('fz:dhcp:token:*')).length;
    const tokenPointers = (await r.redis.keys('fz:dhcp:lease-token:*')).length;

    // stop: the server flushes its pending summaries and prints its counters
    const logBeforeStop = srv.log().length;
    killPid(srv.proc, 'SIGTERM');
    await waitFor('server stopped', () => /dhcp stopped (\{.*\})/.exec(srv.log()) ?? undefined, 10_000);
    const atStop = JSON.parse(/dhcp stopped (\{.*\})/.exec(srv.log())![1]) as DhcpFuzzResult['server'];
    // the fuzz's lines and the summaries flushed at the stop (the real clients add no malformed ones)
    const lines = [...fuzzLog.split('\n'), ...srv.log().slice(logBeforeStop).split('\n')].filter(Boolean);
    let malformedAccounted = 0;
    let summaryLines = 0;
    for (const l of lines) {
      if (/ dhcp: malformed packet from /.test(l)) malformedAccounted++;
      const m = SUMMARY_RE.exec(l);
      if (m) {
        summaryLines++;
        if (m[2].startsWith('malformed: ')) malformedAccounted += Number(m[1]);
      }
    }
    return {
      cases: o.cases, seed: o.seed, sender: senderResult, server: afterFuzz, serverAtStop: atStop, kernelDrops,
      logLines: fuzzLog.split('\n').filter(Boolean).length, summaryLines, malformedAccounted,
      samples: lines.filter((l) => SUMMARY_RE.test(l)).slice(0, 3).concat(lines.filter((l) => / malformed packet /.test(l)).slice(0, 2)),
      rssBeforeKb, rssPeakKb, reservedLease: b1.new_ip_address, poolLease: b2.new_ip_address, poolLeaseMs, serverAlive, tokens, tokenPointers,
    };
  } finally {
    for (const c of clients) killPid(c.proc);
    killPid(server?.proc);
    for (const s of started.reverse()) s.kill();
    for (const ns of Object.values(NS)) { try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ } }
    rmSync(dir, { recursive: true, force: true });
  }
}
