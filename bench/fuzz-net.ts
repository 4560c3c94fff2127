// The network-facing parsers under fuzz, long mode: the same harnesses as test/fuzz (which
// runs fixed-seed sets of them in `npm test`), with 10,000 cases per target by default.
//   npx tsc -p . && node --expose-gc dist/bench/fuzz-net.js [--cases 10000] [--seed 1] [--only codec,dhcp,ztp,netconf]
// Targets: codec (the BOOTP codec in-process), dhcp (the server in namespaces `nt*`, then real
// dhclients; needs root), ztp (the ZTP route of the whole API over raw TCP on 127.0.0.1), netconf
// (the client against a hostile SSH server on 127.0.0.1). Prints one JSON line per target, then
// a summary table; exits 1 when a target breaks one of its rules (the same rules as the tests).
import { runDhcpCodecFuzz } from '../test/fuzz/dhcp-codec-fuzz';
import { runDhcpNetnsFuzz } from '../test/fuzz/dhcp-netns';
import { runZtpFuzz } from '../test/fuzz/ztp-http-fuzz';
import { LIMITS, runNetconfFuzz } from '../test/fuzz/netconf-fuzz';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};

interface Row { target: string; cases: number; seconds: number; held: boolean; notes: string }

async function main(): Promise<number> {
  const cases = Number(arg('cases', '10000'));
  const seed = Number(arg('seed', '1'));
  const only = new Set(arg('only', 'codec,dhcp,ztp,netconf').split(','));
  const rows: Row[] = [];
  const emit = (target: string, r: object): void => { process.stdout.write(`${JSON.stringify({ target, ...r })}\n`); };

  if (only.has('codec')) {
    const r = runDhcpCodecFuzz({ cases, seed });
    emit('codec', r);
    rows.push({ target: 'DHCP codec (in-process)', cases, seconds: r.ms / 1000, held: true, notes: `${r.kinds.ok ?? 0} decoded (${r.stable} re-encoded stably), ${cases - (r.kinds.ok ?? 0)} refused with DhcpDecodeError` });
  }
  if (only.has('dhcp')) {
    if (process.getuid?.() !== 0) {
      rows.push({ target: 'DHCP server (namespaces)', cases: 0, seconds: 0, held: false, notes: 'skipped: needs root' });
    } else {
      const t0 = Date.now();
      const r = await runDhcpNetnsFuzz({ cases, seed });
      emit('dhcp', r);
      const held = r.serverAlive && r.server.errors === 0 && r.malformedAccounted === r.server.malformed && r.sender.drained && !!r.reservedLease && !!r.poolLease;
      rows.push({
        target: 'DHCP server (namespaces, dhclient)', cases, seconds: (Date.now() - t0) / 1000, held,
        notes: `${r.server.malformed} malformed, ${r.server.dropped} dropped by the queue bound, ${r.kernelDrops} by the kernel; ${r.logLines} log lines (${r.summaryLines} summaries); RSS ${Math.round(r.rssBeforeKb / 1024)} -> peak ${Math.round(r.rssPeakKb / 1024)} MB; leases after: ${r.reservedLease}, ${r.poolLease}`,
      });
    }
  }
  if (only.has('ztp')) {
    const r = await runZtpFuzz({ cases, seed });
    emit('ztp', { ...r, tokenUrlLines: r.tokenUrlLines.length });
    const held = r.fiveXX.length === 0 && r.timeouts === 0 && r.tokenLeaks.length === 0 && r.deviceOk === r.deviceFetches && r.healthyAfter && !r.secretInLogs;
    const st = Object.entries(r.statuses).sort().map(([k, n]) => `${k}: ${n}`).join(', ');
    rows.push({ target: 'ZTP HTTP (buildApp, raw TCP)', cases, seconds: r.ms / 1000, held, notes: `${st}; device ${r.deviceOk}/${r.deviceFetches}; ${r.ztpLines} ztp log lines, ${r.accessLines} access lines (${r.tokenUrlLines.length} with a token-shaped URL)` });
  }
  if (only.has('netconf')) {
    const r = await runNetconfFuzz({ cases, seed });
    emit('netconf', r);
    const held = r.bad.length === 0 && r.unhandledRejections === 0 && r.socketsLeft <= 0;
    const top = Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${k}: ${n}`).join(', ');
    rows.push({ target: 'NETCONF client (hostile SSH server)', cases, seconds: r.ms / 1000, held, notes: `${top}; slowest case ${r.maxCaseMs} ms (limits ${JSON.stringify(LIMITS)}); heap +${r.heapGrowthMb.toFixed(1)} MB, peak RSS ${Math.round(r.peakRssMb)} MB; endless: device got out ${r.maxEndlessWrittenMb.toFixed(1)} MB` });
  }

  process.stdout.write(`\n| target | cases | s | held | notes |\n|---|---|---|---|---|\n`);
  for (const x of rows) process.stdout.write(`| ${x.target} | ${x.cases} | ${x.seconds.toFixed(1)} | ${x.held ? 'yes' : 'NO'} | ${x.notes} |\n`);
  return rows.every((x) => x.held || x.cases === 0) ? 0 : 1;
}

main().then((code) => process.exit(code), (e: Error) => { process.stderr.write(`fuzz-net: ${e.stack}\n`); process.exit(1); });
