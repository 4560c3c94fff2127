// `fabric render` runs the rule check before it writes: a rendered config that breaks a rule
// is refused with one line per broken rule, exit 1, and no file written. The shipped templates
// break none (test/golden/rules-golden.test.ts), so the Junos module's reading of its config
// is made to report graceful restart beside BFD, as a hand-edited template would render it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { junos } from '../../src/platforms/junos';

const EXAMPLE_JUNOS = join(__dirname, '..', '..', 'examples', 'dc1-junos.yaml');

let tmp: string;
beforeEach(() => { tmp = mkdtempSync(join(tmpdir(), 'ru-cli-')); });
afterEach(() => { rmSync(tmp, { recursive: true, force: true }); jest.restoreAllMocks(); });

test('a broken rule: exit 1, one line per finding, nothing written', async () => {
  const real = junos.configFacts!;
  jest.spyOn(junos, 'configFacts').mockImplementation((plan, files) => ({
    ...real(plan, files), gracefulRestartWithBfd: plan.name === 'leaf1' || plan.name === 'spine2',
  }));
  let stdout = '';
  let stderr = '';
  const out = join(tmp, 'never');
  const code = await main(['render', EXAMPLE_JUNOS, '--out', out], { env: {}, out: (t) => { stdout += t; }, err: (t) => { stderr += t; } });
  expect(code).toBe(1);
  expect(stderr).toBe([
    'rule no-gr-with-bfd: device spine2: BGP graceful restart is configured together with BFD',
    'rule no-gr-with-bfd: device leaf1: BGP graceful restart is configured together with BFD',
  ].join('\n') + '\n'); // plan order: spines first
  expect(stdout).toBe('');
  expect(existsSync(out)).toBe(false);
});

test('a clean render still writes', async () => {
  const out = join(tmp, 'ok');
  expect(await main(['render', EXAMPLE_JUNOS, '--out', out], { env: {}, out: () => undefined, err: () => undefined })).toBe(0);
  expect(existsSync(join(out, 'leaf1.xml'))).toBe(true);
});
