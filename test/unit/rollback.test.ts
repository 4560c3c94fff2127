// Config-history rollback (src/jobs/rollback.ts): a history entry's text back to the files push.ts
// recorded it from (frr: one file as is; frr.conf + interfaces as `# name` sections).
import { filesFromCommit } from '../../src/jobs/rollback';

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
  test('a Junos entry is refused with a clear error', () => {
    expect(() => filesFromCommit('leaf1', { text: '<groups/>', platform: 'junos' })).toThrow('rollback: history entries of platform junos cannot be pushed back (frr only)');
  });
});
