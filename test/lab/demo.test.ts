// `npm run demo` end to end (netns backend, reduced scenario): the compiled demo driver builds
// the 2x4 twin in factory default, runs the service in `demo-ctl`, onboards by greenfield ZTP,
// autoconfigures, creates VNs/servers/VPGs over REST, proves reachability and isolation with
// pings and tears everything down. Needs `tsc` output in dist/ (npm test builds first).
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeIf } from '../helpers/env';

jest.setTimeout(900_000);

const REPO = resolve(__dirname, '../..');
const MAIN = join(REPO, 'dist/src/demo/main.js');
const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'lldpd', 'snmpd', 'dhclient', 'redis-server', 'setpriv'] });

const demoNamespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('demo-'));

d('npm run demo (netns)', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -p tsconfig.json)`);
    dir = mkdtempSync(join(tmpdir(), 'demo-test-'));
    chmodSync(dir, 0o755);
  });
  afterAll(() => {
    // Whatever happened, nothing of the lab may stay (the demo's own teardown is under test).
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('refuses plainly without root', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^demo: needs root /);
    expect(r.stdout).toBe('');
  });

  test('runs every stage, proves reachability and isolation, tears everything down', () => {
    expect(demoNamespaces()).toEqual([]); // another demo running would collide: say so first
    const r = spawnSync(process.execPath, [MAIN, '--backend', 'netns', '--dir', join(dir, 'run')], { encoding: 'utf8', timeout: 840_000 });
    const out = r.stdout;
    if (r.status !== 0) throw new Error(`demo exited ${r.status}:\n${out.slice(-5000)}\n${r.stderr.slice(-2000)}`);
    expect(out).toContain('netns backend: the reduced scenario');
    expect(out).toMatch(/6 devices onboarded, 8 links found/);
    expect(out).toMatch(/bms1 -> bms3 \(10\.10\.0\.13\): replies/);
    expect(out).toMatch(/bms3 -> bms1 \(10\.10\.0\.11\): replies/);
    expect(out).toMatch(/bms1 -> bms2 \(10\.10\.0\.99 on its db port\): no reply/);
    expect(out).toMatch(/DELETE virtual-networks\/web while bound: 409/);
    expect(out).toMatch(/power-on to verified fabric: \d+\.\d s/);
    const summary = out.slice(out.indexOf('\nsummary\n')).split('\n').filter((l) => /^ {2}(ok|FAIL)/.test(l));
    expect(summary).toHaveLength(9);
    expect(summary.filter((l) => l.startsWith('  FAIL'))).toEqual([]);
    // Every device reported "no change" on the second full run.
    const again = out.slice(out.indexOf('== autoconfigure again'), out.indexOf('== prove it'));
    expect(again.match(/succeeded no change/g)).toHaveLength(6);
    // Teardown: no namespace, no service or redis of this run left.
    expect(demoNamespaces()).toEqual([]);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes(join(dir, 'run')))).toEqual([]);
    expect(existsSync(join(dir, 'run', 'api.sock'))).toBe(false);
  });
});
