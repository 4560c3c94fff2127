// Config-history rollback (src/jobs/rollback.ts): a history entry's text back to the files push.ts
// recorded it from (frr: one file as is; frr.conf + interfaces as `# name` sections; junos: the
// service's groups and apply-groups, made loadable again).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

const parseYaml = (text: string): any => load(text);
import { filesFromCommit } from '../../src/jobs/rollback';
import { comparableIntended } from '../../src/jobs/push';
import { parseFabricFile } from '../../src/domain/parse';
import { allocate } from '../../src/intent/allocate';
import { compileFabric } from '../../src/intent/compile';
import { renderDevice } from '../../src/platforms';

const file = parseFabricFile(parseYaml(readFileSync(join(__dirname, '..', '..', 'examples', 'dc1-junos.yaml'), 'utf8')));
const plans = compileFabric(file, allocate(file));

// How push.ts records a commit's text (pushDeviceConfig): the same expression, on these files.
const record = (files: Record<string, string>) =>
  Object.entries(files).map(([n, t]) => (Object.keys(files).length > 1 ? `# ${n}\n${t}` : t)).join('\n');

describe('filesFromCommit', () => {
  test('frr.conf alone comes back as recorded', () => {
    const files = { 'leaf1.frr.conf': 'hostname leaf1\nrouter bgp 64603\n' };
    expect(filesFromCommit('leaf1', { text: record(files), platform: 'frr' })).toEqual(files);
  });
  test('frr.conf + interfaces come back byte for byte', () => {
    const files = { 'leaf1.frr.conf': 'hostname leaf1\n# a comment\nrouter bgp 64603\n', 'leaf1.interfaces': 'auto swp51\niface swp51\n' };
    expect(filesFromCommit('leaf1', { text: record(files), platform: 'frr' })).toEqual(files);
  });
  test('junos: the recorded groups and apply-groups come back loadable, comparing equal to what was rendered', () => {
    for (const p of plans) {
      const files = renderDevice(p).files;
      const intended = comparableIntended(p.name, 'junos', files);
      const back = filesFromCommit(p.name, { text: record(intended), platform: 'junos' });
      expect(Object.keys(back)).toEqual([`${p.name}.xml`]);
      expect(comparableIntended(p.name, 'junos', back)).toEqual(intended);
      // every group replaces the device's copy; apply-groups in the rendered order
      const xml = back[`${p.name}.xml`];
      expect(xml.match(/<groups replace="replace">/g)).toHaveLength(files[`${p.name}.xml`].match(/<groups replace="replace">/g)!.length);
      expect(xml.match(/<apply-groups>[^<]+/g)).toEqual(files[`${p.name}.xml`].match(/<apply-groups>[^<]+/g));
    }
  });
  test('junos: an entry without apply-groups is refused with a clear error; an unknown platform too', () => {
    expect(() => filesFromCommit('leaf1', { text: '<groups>\n  <name>__fabric_basic__</name>\n</groups>\n', platform: 'junos' }))
      .toThrow('rollback: this Junos history entry has no apply-groups (recorded by an older version): it cannot be pushed back as it was');
    expect(() => filesFromCommit('leaf1', { text: 'x', platform: 'eos' })).toThrow('rollback: history entries of platform eos cannot be pushed back (frr and junos only)');
  });
});
