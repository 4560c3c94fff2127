// The maintenance drain on the golden overlay-services fabrics, whose leaf3/leaf4 share a
// dual-homed server (an ESI-LAG): the drained files are golden (test/golden/maintenance-*;
// `UPDATE_GOLDEN=1 npx jest test/golden/maintenance-golden.test.ts` rewrites them on purpose),
// and the drained Junos XML validates against Juniper's YANG (../shared/tools/junos-yang-check).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { drainFiles } from '../../src/jobs/maintenance/drain';
import { compareGolden, renderFabricFile, REPO } from './golden';

const rendered = (c: string) => renderFabricFile(path.join(REPO, `test/golden/fabrics/${c}.yaml`));
const pick = (files: Record<string, string>, dev: string) => Object.fromEntries(Object.entries(files).filter(([n]) => n.startsWith(`${dev}.`)));

describe('golden drained configs (BGP graceful shutdown + ESI-LAG members out of service)', () => {
  test.each([['services-frr', 'frr'], ['services-junos', 'junos']])('%s: the ESI leaf drained', (c, platform) => {
    const files = rendered(c);
    const out: Record<string, string> = {};
    for (const dev of ['leaf3', 'spine1']) Object.assign(out, drainFiles(platform, pick(files, dev)));
    expect(compareGolden(`maintenance-${platform}`, out)).toBe('');
  });

  const TOOL = path.resolve(REPO, '../shared/tools/junos-yang-check');
  (existsSync(TOOL) ? test : test.skip)('the drained Junos leaf validates against Juniper YANG 23.4R1 (qfx)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dy-junos-yang-'));
    try {
      const f = drainFiles('junos', pick(rendered('services-junos'), 'leaf3'));
      writeFileSync(path.join(dir, 'leaf3.xml'), f['leaf3.xml']);
      const r = spawnSync(TOOL, ['--family', 'qfx', dir], { encoding: 'utf8', timeout: 300_000 });
      expect(`${r.status} ${r.stdout}${r.stderr}`.trim()).toMatch(/^0\b/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  }, 300_000);
});
