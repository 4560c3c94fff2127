// API fuzz, long mode (issue 12): the same generator as test/integration/api-fuzz.test.ts, more
// requests and several seeds, against a real Redis and the real app.
//   npx tsc -p . && node dist/bench/fuzz-api.js [requests=10000] [seed=1]
import { cpus, loadavg } from 'node:os';
import { example, startApi } from '../test/helpers/api-harness';
import { fuzzApi, operations } from '../test/helpers/openapi-fuzz';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10_000);
  const seed = Number(process.argv[3] ?? 1);
  const h = await startApi();
  try {
    const f = example('dc1-frr-services');
    f.fabric.name = 'fz1';
    const created = await h.call('POST', '/api/v1/fabrics', { body: f });
    if (created.status !== 201) throw new Error(`fabric not created: ${created.status} ${created.text}`);
    const doc = (await h.call('GET', '/api/v1/openapi.json', { role: 'none' })).json;
    const known = { f: ['fz1'], d: ['leaf1', 'spine1'], n: ['web', 'db', 'bms1', 'tenant1'], name: ['frr-switch'], id: ['0'], link: [encodeURIComponent('leaf1:swp51--spine1:swp1')] };
    const t0 = Date.now();
    const report = await fuzzApi({ base: h.base, token: h.tokens.admin, redis: h.redis, doc, fabric: 'fz1', known, seed, runs });
    const s = (Date.now() - t0) / 1000;
    process.stdout.write(`${JSON.stringify({ operations: operations(doc).length, requests: report.requests, seed, seconds: s, perSecond: Math.round(report.requests / s), byStatus: report.byStatus, slowestMs: report.slowest, problems: report.problems.length, cpus: cpus().length, load: loadavg()[0] })}\n`);
    for (const p of report.problems.slice(0, 20)) process.stdout.write(`problem: ${p}\n`);
    process.exitCode = report.problems.length ? 1 : 0;
  } finally {
    await h.stop();
  }
}

main().catch((e) => { process.stderr.write(`fuzz-api: ${(e as Error).message}\n`); process.exit(1); });
