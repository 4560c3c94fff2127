// Version normalisation (src/jobs/upgrade/version.ts) and settings.osVersions in the fabric file.
import { normalizeVersion, sameVersion, targetVersion } from '../../src/jobs/upgrade/version';
import { resolveSettings } from '../../src/domain/parse';
import { FabricError } from '../../src/domain/errors';

describe('normalizeVersion', () => {
  test.each([
    ['8.5.0', '8.5.0'], [' 8.5.0\n', '8.5.0'], ['v8.5.0', '8.5.0'], ['FRRouting 8.5.0 (leaf1)', '8.5.0'],
    ['JUNOS 21.4R3-S5.4', '21.4r3-s5.4'], ['21.4R3-S5.4', '21.4r3-s5.4'], ['', ''],
  ])('%j -> %j', (raw, want) => expect(normalizeVersion(raw)).toBe(want));

  test('deliberately strict: no padding, no truncation, empty never matches', () => {
    expect(sameVersion('8.5', '8.5.0')).toBe(false);
    expect(sameVersion('21.4R3-S5', '21.4R3-S5.4')).toBe(false);
    expect(sameVersion('', '')).toBe(false);
    expect(sameVersion(null, '8.5.0')).toBe(false);
    expect(sameVersion('JUNOS 21.4r3-s5.4', '21.4R3-S5.4')).toBe(true);
  });

  test('targetVersion looks profiles up as own keys only', () => {
    expect(targetVersion({ 'frr-switch': '9.1' }, 'frr-switch')).toBe('9.1');
    expect(targetVersion({ 'frr-switch': '9.1' }, 'constructor')).toBeUndefined();
    expect(targetVersion(undefined, 'frr-switch')).toBeUndefined();
  });
});

describe('settings.osVersions', () => {
  test('accepted and kept; absent stays absent', () => {
    expect(resolveSettings({ osVersions: { 'frr-switch': '9.1.0', 'qfx5120': '21.4R3-S5.4' } }).osVersions).toEqual({ 'frr-switch': '9.1.0', 'qfx5120': '21.4R3-S5.4' });
    expect(resolveSettings({}).osVersions).toBeUndefined();
  });
  test.each([
    [{ 'frr-switch': '9.1\nset system' }, /fabric\.settings\.osVersions\.frr-switch/],
    [{ 'frr-switch': 9 }, /osVersions\.frr-switch: expected a non-empty string, got number 9/],
    [{ '_bad': '9.1' }, /not a node profile name/],
    [['9.1'], /fabric\.settings\.osVersions/],
  ])('refused: %j', (v, re) => {
    let err: unknown;
    try { resolveSettings({ osVersions: v }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FabricError);
    expect(String((err as Error).message) + ((err as FabricError).path ?? '')).toMatch(re);
  });
});
