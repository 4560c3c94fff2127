import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CliContext, main } from '../../src/cli/main';

const ROOT = join(__dirname, '..', '..');
const EXAMPLE_FRR = join(ROOT, 'examples', 'dc1-frr.yaml');
const EXAMPLE_JUNOS = join(ROOT, 'examples', 'dc1-junos.yaml');

function capture(): CliContext & { stdout: string; stderr: string } {
  const c = {
    stdout: '', stderr: '', env: {},
    out: (t: string) => { c.stdout += t; },
    err: (t: string) => { c.stderr += t; },
  };
  return c;
}

let tmp: string;
beforeEach(() => { tmp = mkdtempSync(join(tmpdir(), 'fabric-cli-')); });
afterEach(() => { rmSync(tmp, { recursive: true, force: true }); });

describe('fabric render (in process)', () => {
  test('frr example: exit 0, one .frr.conf per device, nothing on stderr', async () => {
    const c = capture();
    const out = join(tmp, 'out');
    expect(await main(['render', EXAMPLE_FRR, '--out', out], c)).toBe(0);
    expect(c.stderr).toBe('');
    expect(readdirSync(out).sort()).toEqual(['leaf1', 'leaf2', 'leaf3', 'leaf4', 'spine1', 'spine2'].flatMap((d) => [`${d}.frr.conf`, `${d}.interfaces`]));
    const leaf1 = readFileSync(join(out, 'leaf1.frr.conf'), 'utf8');
    expect(leaf1).toContain('hostname leaf1');
    expect(leaf1).toContain('ip address 10.254.0.1/31');
  });

  test('junos example: one <configuration> XML per device', async () => {
    const c = capture();
    const out = join(tmp, 'junos');
    expect(await main(['render', EXAMPLE_JUNOS, '-o', out], c)).toBe(0);
    const names = readdirSync(out).sort();
    expect(names).toEqual(['leaf1.xml', 'leaf2.xml', 'leaf3.xml', 'leaf4.xml', 'spine1.xml', 'spine2.xml']);
    const xml = readFileSync(join(out, 'spine1.xml'), 'utf8');
    expect(xml.match(/<configuration[\s>]/g)).toHaveLength(1);
    expect(xml).toContain('10.255.0.1');
  });

  test('an invalid file exits 1 with exactly one line naming the problem, and writes nothing', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE_FRR, 'utf8').replace('[spine1:swp2, leaf2:swp51]', '[spine1:swp1, leaf2:swp51]'));
    const c = capture();
    const out = join(tmp, 'never');
    expect(await main(['render', bad, '--out', out], c)).toBe(1);
    expect(c.stderr).toBe('fabric: links[1] (spine1:swp1 -- leaf2:swp51).a: port spine1:swp1 is already used by links[0]\n');
    expect(c.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  test('an exhausted pool exits 1 and writes nothing into an existing directory', async () => {
    const bad = join(tmp, 'small.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE_FRR, 'utf8').replace('loopback: [10.255.0.0/24]', 'loopback: [10.255.0.0/30]'));
    const out = join(tmp, 'existing');
    mkdirSync(out);
    const c = capture();
    expect(await main(['render', bad, '--out', out], c)).toBe(1);
    expect(c.stderr).toBe('fabric: fabric.namespaces.loopback: pool exhausted: 10.255.0.0/30 holds 2 loopback addresses, 6 devices need one each\n');
    expect(readdirSync(out)).toEqual([]);
  });

  test('a missing file and a missing --out are one-line errors', async () => {
    let c = capture();
    expect(await main(['render', join(tmp, 'nope.yaml'), '--out', tmp], c)).toBe(1);
    expect(c.stderr).toBe(`fabric: cannot read ${join(tmp, 'nope.yaml')}: no such file\n`);
    c = capture();
    expect(await main(['render', EXAMPLE_FRR], c)).toBe(1);
    expect(c.stderr).toBe("fabric: required option '-o, --out <dir>' not specified\n");
  });

  test('validate prints every problem, one line each', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE_FRR, 'utf8')
      .replace('overlayAsn: 64512', 'overlayAsn: 64650')
      .replace('{name: leaf4, serial: SIM0104, profile: frr-switch', '{name: leaf4, serial: SIM0104, profile: nope'));
    const c = capture();
    expect(await main(['validate', bad], c)).toBe(1);
    expect(c.stderr.split('\n').filter(Boolean)).toEqual([
      'fabric: fabric.namespaces.overlayAsn: 64650 lies inside ASN range fabric.namespaces.asn[0] 64601..64700 (it must be outside every range)',
      expect.stringMatching(/^fabric: devices\[5\] \(leaf4\)\.profile: unknown profile "nope"/),
    ]);
    // The schema's problems (found at parse) are every one too, not the first.
    const bad2 = join(tmp, 'bad2.yaml');
    writeFileSync(bad2, readFileSync(EXAMPLE_FRR, 'utf8').replace('overlayAsn: 64512', 'overlayAsn: 0').replace('physicalRole: leaf', 'physicalRole: core'));
    const c2 = capture();
    expect(await main(['validate', bad2], c2)).toBe(1);
    expect(c2.stderr.split('\n').filter(Boolean)).toEqual([
      'fabric: fabric.namespaces.overlayAsn: 0 is outside 1..4294967294',
      expect.stringMatching(/^fabric: devices\[\d\]\.physicalRole: unknown physical role "core"/),
    ]);
    const ok = capture();
    expect(await main(['validate', EXAMPLE_FRR], ok)).toBe(0);
    expect(ok.stdout).toBe('ok: 6 devices, 8 links\n');
  });

  test('plan prints allocations and plans as JSON', async () => {
    const c = capture();
    expect(await main(['plan', EXAMPLE_FRR], c)).toBe(0);
    const doc = JSON.parse(c.stdout);
    expect(doc.allocations.loopbacks.spine1).toBe('10.255.0.1');
    expect(doc.plans).toHaveLength(6);
  });
});

describe('bin/fabric.js (compiled, as a user runs it)', () => {
  const bin = join(ROOT, 'bin', 'fabric.js');
  const run = promisify(execFile);

  test('exit 0 and files on success; exit 1, one stderr line and no files on a bad file', async () => {
    // `npm test` compiles before jest; dist must exist for the real command to run.
    expect(existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))).toBe(true);
    const out = join(tmp, 'bin-out');
    const ok = await run(process.execPath, [bin, 'render', EXAMPLE_JUNOS, '--out', out]);
    expect(ok.stderr).toBe('');
    expect(readdirSync(out)).toHaveLength(6);

    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE_JUNOS, 'utf8').replace('roles: [CRB-Access]}', 'roles: [CRB-Gateway]}'));
    const badOut = join(tmp, 'bin-bad');
    const err = await run(process.execPath, [bin, 'render', bad, '--out', badOut]).then(() => undefined, (e) => e);
    expect(err).toBeDefined();
    expect(err.code).toBe(1);
    expect(err.stderr).toBe('fabric: devices[2] (leaf1).roles[0]: role "CRB-Gateway" not allowed for juniper-qfx5110-48s-4c as leaf (allowed: CRB-Access, ERB-UCAST-Gateway, null)\n');
    expect(existsSync(badOut)).toBe(false);
  });
});

describe('fabric render --allocations', () => {
  test('keeps earlier allocations when a device is added at the top of the file', async () => {
    const rec = join(tmp, 'alloc.json');
    expect(await main(['render', EXAMPLE_FRR, '-o', join(tmp, 'a'), '--allocations', rec], capture())).toBe(0);
    const first = JSON.parse(readFileSync(rec, 'utf8'));
    expect(first.loopbacks.spine1).toBe('10.255.0.1');
    const grown = join(tmp, 'grown.yaml');
    writeFileSync(grown, readFileSync(EXAMPLE_FRR, 'utf8').replace('devices:\n',
      'devices:\n  - {name: leaf0, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}\n'));
    expect(await main(['render', grown, '-o', join(tmp, 'b'), '--allocations', rec], capture())).toBe(0);
    const second = JSON.parse(readFileSync(rec, 'utf8'));
    for (const [d, ip] of Object.entries(first.loopbacks)) expect(second.loopbacks[d]).toBe(ip);
    expect(second.loopbacks.leaf0).toBe('10.255.0.7');
    expect(readFileSync(join(tmp, 'b', 'spine1.frr.conf'), 'utf8')).toContain('10.255.0.1/32');
  });
});

describe('fabric generate', () => {
  test('prints a valid Clos fabric file that renders', async () => {
    const c = capture();
    expect(await main(['generate', '--spines', '4', '--leaves', '8', '--pods', '2', '--rrs', '2', '--platform', 'junos'], c)).toBe(0);
    expect(c.stdout).toContain('  - [spine3:et-0/0/0, leaf5:et-0/0/48]');
    const f = join(tmp, 'gen.yaml');
    writeFileSync(f, c.stdout);
    const v = capture();
    expect(await main(['validate', f], v)).toBe(0);
    expect(v.stdout).toBe('ok: 12 devices, 16 links\n');
  });

  test('bad numbers and shapes are one-line errors', async () => {
    let c = capture();
    expect(await main(['generate', '--spines', 'x', '--leaves', '8'], c)).toBe(1);
    expect(c.stderr.trim().split('\n')).toHaveLength(1);
    expect(c.stderr).toMatch(/^fabric: .*"x" is not a whole number/);
    c = capture();
    expect(await main(['generate', '--spines', '3', '--leaves', '8', '--pods', '2'], c)).toBe(1);
    expect(c.stderr).toBe('fabric: generateClos: 3 spines do not split into 2 pods\n');
  });
});
