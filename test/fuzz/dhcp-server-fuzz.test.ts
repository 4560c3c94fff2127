// The DHCP server in a namespace under a fixed-seed set of hostile packets (FUZZ_CASES=n for
// the long mode; bench/fuzz-net.ts runs 10,000+), then real dhclients.
import { describeIf } from '../helpers/env';
import { fuzzCases, fuzzSeed } from './prng';
import { runDhcpNetnsFuzz } from './dhcp-netns';

describeIf({ root: true, commands: ['ip', 'dhclient', 'redis-server', 'python3'] })('DHCP server under fuzz (namespaces, real dhclient)', () => {
  test('hostile packets: no crash, bounded memory and log, every malformed packet accounted for; real clients still get leases', async () => {
    const cases = fuzzCases(2000);
    const r = await runDhcpNetnsFuzz({ cases, seed: fuzzSeed(7) });
    if (process.env.FUZZ_REPORT) process.stdout.write(`${JSON.stringify(r)}\n`);
    // the fuzz happened: everything was sent and reached the server (or the kernel dropped it, counted)
    expect(r.sender.sent).toBe(cases);
    expect(r.sender.drained).toBe(true);
    expect(r.server.received + r.kernelDrops).toBe(cases + r.sender.markers);
    expect(r.server.malformed).toBeGreaterThan(cases / 3);
    // ... and held
    expect(r.serverAlive).toBe(true);
    expect(r.serverAtStop.errors).toBe(0);
    expect(r.reservedLease).toBe('10.79.0.250');
    expect(r.poolLease).toMatch(/^10\.79\.0\.(\d+)$/);
    expect(r.rssPeakKb - r.rssBeforeKb).toBeLessThan(100 * 1024);
    // the log: a line per source and kind per window plus one summary each, not a line per packet
    expect(r.serverAtStop.malformed).toBe(r.server.malformed);
    expect(r.malformedAccounted).toBe(r.server.malformed);
    expect(r.summaryLines).toBeGreaterThan(0);
    expect(r.logLines).toBeLessThan(400);
    // one live ZTP token per lease at most, however often the fuzz asked
    expect(r.tokens).toBeLessThanOrEqual(r.tokenPointers);
    expect(r.tokenPointers).toBeLessThanOrEqual(192 + 2);
  }, 180_000);
});
