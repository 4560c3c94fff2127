// The fping sweep on the simulator's addresses, inside a namespace of our own where only those
// addresses exist: exactly the sim's devices are found, nothing outside the subnets is probed.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describeIf } from '../helpers/env';
import { prepareSimNamespace, removeSimNamespace, simTopology } from '../../src/lab/sim';
import { sweep } from '../../src/discovery/sweep';
import { AllowList } from '../../src/discovery/allow';

const ns = `ds${randomBytes(3).toString('hex')}-sw`;

describeIf({ root: true, commands: ['ip', 'fping'] })('fping sweep on sim addresses', () => {
  // 4 spines + 120 leaves in a /24, plus two strays in the neighbouring /24 (outside the sweep)
  const devs = simTopology({ spines: 4, leaves: 120, cidr: '127.40.0.0/24' });
  beforeAll(() => prepareSimNamespace(ns, [...devs.map((d) => d.address), '127.40.1.7', '127.40.1.9']));
  afterAll(() => {
    removeSimNamespace(ns);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(ns);
  });

  test('finds exactly the 124 devices of the /24, not the strays next door', async () => {
    const r = await sweep({ subnets: ['127.40.0.0/24'], allow: new AllowList(['127.40.0.0/16']), managementSubnets: ['127.40.0.0/16'], netns: ns, intervalMs: 1, retries: 1, timeoutMs: 300, chunkSize: 64, concurrency: 2 });
    expect(r.probed).toBe(254);
    expect(r.alive).toEqual(devs.map((d) => d.address));
    expect(r.alive).toHaveLength(124);
  });

  test('two subnets: each address found once; the strays only when their subnet is given', async () => {
    const r = await sweep({ subnets: ['127.40.0.0/25', '127.40.1.0/28'], allow: new AllowList(['127.40.0.0/16']), netns: ns, intervalMs: 1, retries: 0, timeoutMs: 300 });
    expect(r.probed).toBe(126 + 14);
    expect(r.alive).toEqual([...devs.map((d) => d.address).filter((a) => Number(a.split('.')[3]) < 127), '127.40.1.7', '127.40.1.9']);
  });

  test('a sweep outside DISCOVERY_ALLOW never starts fping', async () => {
    await expect(sweep({ subnets: ['127.40.0.0/24'], allow: new AllowList(['127.41.0.0/16']), netns: ns, fping: '/nonexistent/fping' }))
      .rejects.toThrow('subnets[0] 127.40.0.0/24 is outside DISCOVERY_ALLOW (127.41.0.0/16): refused');
  });
});
