// Golden files: render a fabric file through the whole pipeline (parse -> validate -> allocate
// -> compile -> render) and compare every file with test/golden/<case>/<file>. The DevicePlans
// in between are golden too (test/golden/plans/<case>/<device>.json), so a change of intent and
// a change of a template show up as separate diffs. UPDATE_GOLDEN=1 rewrites both on purpose.
import { createTwoFilesPatch } from 'diff';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { renderDevices } from '../../src/platforms';

export const GOLDEN_DIR = __dirname;
export const REPO = path.resolve(__dirname, '../..');

export function renderFabricFile(file: string): Record<string, string> {
  return renderDevices(planFabric(readFileSync(file, 'utf8')).plans);
}

/** The golden-plan directory of a case, as compareGolden names it. */
export const planCase = (name: string): string => `plans/${name}`;

/** Each device's DevicePlan as JSON (2-space, newline-terminated), `<device>.json`. */
export function planFabricFile(file: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const p of planFabric(readFileSync(file, 'utf8')).plans) files[`${p.name}.json`] = `${JSON.stringify(p, null, 2)}\n`;
  return files;
}

/** Problems as text (empty when the golden files match), each with a unified diff. */
export function compareGolden(name: string, files: Record<string, string>): string {
  const dir = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
    return '';
  }
  if (!existsSync(dir)) return `no golden files in ${dir}: run UPDATE_GOLDEN=1 npx jest test/golden`;
  const problems: string[] = [];
  const want = readdirSync(dir).sort();
  const got = Object.keys(files).sort();
  for (const f of want.filter((x) => !got.includes(x))) problems.push(`${name}/${f}: expected but not rendered`);
  for (const f of got.filter((x) => !want.includes(x))) problems.push(`${name}/${f}: rendered but has no golden file`);
  for (const f of got.filter((x) => want.includes(x))) {
    const expected = readFileSync(path.join(dir, f), 'utf8');
    if (expected !== files[f]) {
      problems.push(createTwoFilesPatch(`golden/${name}/${f}`, `rendered/${name}/${f}`, expected, files[f], '', '', { context: 3 }));
    }
  }
  return problems.join('\n');
}
