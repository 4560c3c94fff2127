// The NETCONF client against a hostile device (an SSH server of our own on 127.0.0.1): a
// fixed-seed set (FUZZ_CASES=n for more; bench/fuzz-net.ts runs 10,000+).
import { fuzzCases, fuzzSeed } from './prng';
import { LIMITS, NETCONF_MUTATIONS, runNetconfFuzz } from './netconf-fuzz';

test('hostile hellos and replies: each case ends in time with a result or a typed error naming the device; no unhandled rejection, no socket left, bounded memory', async () => {
  const cases = fuzzCases(72);
  const r = await runNetconfFuzz({ cases, seed: fuzzSeed(5) });
  if (process.env.FUZZ_REPORT) process.stdout.write(`${JSON.stringify(r)}\n`);
  expect(Object.values(r.outcomes).reduce((a, b) => a + b, 0)).toBe(cases);
  expect(Object.keys(r.perMutation).sort()).toEqual([...NETCONF_MUTATIONS].sort());
  expect(r.bad).toEqual([]);
  expect(r.timedOutInstead).toBeLessThan(cases / 10);
  expect(r.unhandledRejections).toBe(0);
  expect(r.socketsLeft).toBeLessThanOrEqual(0);
  expect(r.maxCaseMs).toBeLessThan(LIMITS.connectTimeoutMs + 2 * LIMITS.rpcTimeoutMs + 5000);
  // the endless cases: the device got out at most the limit plus what SSH had in flight
  expect(r.maxEndlessWrittenMb).toBeLessThan(LIMITS.maxMessageSize / 1048576 + 8);
  expect(r.heapGrowthMb).toBeLessThan(64);
  // the fuzz reached both ends: some cases succeed (harmless mutations), most fail typed
  expect(r.outcomes.ok ?? 0).toBeGreaterThan(0);
  expect(Object.keys(r.outcomes).length).toBeGreaterThan(5);
}, 180_000);
