// The pure parts of the RMA job (src/jobs/rma/cabling.ts): the replacement's serial, the LLDP
// re-check against the stored links, the FRR agent's LLDP tree; and autoconfigure's skip of a
// device in rma.
import { badSerial, checkCabling, parseFrrLldp } from '../../src/jobs/rma/cabling';

const LINKS = [
  { a: { device: 'spine1', port: 'swp1' }, b: { device: 'leaf1', port: 'swp51' } },
  { a: { device: 'spine2', port: 'swp1' }, b: { device: 'leaf1', port: 'swp52' } },
  { a: { device: 'spine1', port: 'swp2' }, b: { device: 'leaf2', port: 'swp51' } },
];

describe('badSerial', () => {
  test.each([
    [''], ['-abc'], ['a b'], ['x'.repeat(65)], ['a\nb'], [42], [undefined],
  ])('%j is refused with the rule', (s) => expect(badSerial(s, 'OLD1')).toMatch(/^serial: 1-64 of/));
  test('the old serial, or one another device holds, is refused naming why', () => {
    expect(badSerial('OLD1', 'OLD1')).toMatch(/is the serial of the box being replaced/);
    expect(badSerial('NEW1', 'OLD1', 'leaf7')).toBe('serial: NEW1 already belongs to device leaf7');
    expect(badSerial('NEW1', 'OLD1')).toBeUndefined();
    expect(badSerial('NEW1', null)).toBeUndefined();
  });
});

describe('checkCabling', () => {
  const good = [
    { localPort: 'swp51', remoteSystem: 'spine1', remotePort: 'swp1' },
    { localPort: 'swp52', remoteSystem: 'spine2', remotePort: 'swp1' },
    { localPort: 'swp10', remoteSystem: 'bms1', remotePort: 'eth1' }, // not a stored fabric link: ignored
  ];
  test('every stored link seen on its ports: no anomaly (links of other devices ignored)', () => {
    expect(checkCabling('leaf1', LINKS, good)).toEqual([]);
  });
  test('two cables swapped: both ports named with what they reach now', () => {
    const swapped = [
      { localPort: 'swp51', remoteSystem: 'spine2', remotePort: 'swp1' },
      { localPort: 'swp52', remoteSystem: 'spine1', remotePort: 'swp1' },
    ];
    const a = checkCabling('leaf1', LINKS, swapped);
    expect(a.map((x) => x.message)).toEqual([
      'leaf1:swp51 should reach spine1:swp1 but is cabled to spine2:swp1',
      'leaf1:swp52 should reach spine2:swp1 but is cabled to spine1:swp1',
    ]);
    expect(a.every((x) => x.seen)).toBe(true);
  });
  test('the right peer on the wrong peer port is an anomaly too', () => {
    const a = checkCabling('leaf1', LINKS, [good[0], { localPort: 'swp52', remoteSystem: 'spine2', remotePort: 'swp9' }]);
    expect(a.map((x) => x.port)).toEqual(['leaf1:swp52']);
    expect(a[0].seen).toBe('spine2:swp9');
  });
  test('a port that hears nothing is named (not "seen": the job waits for LLDP before it fails)', () => {
    const a = checkCabling('leaf1', LINKS, [good[0]]);
    expect(a).toEqual([{ port: 'leaf1:swp52', expected: 'spine2:swp1', message: 'leaf1:swp52 should reach spine2:swp1: LLDP hears nothing on it' }]);
  });
  test('a peer announcing its serial or host name is matched through the aliases', () => {
    const bySerial = [{ localPort: 'swp51', remoteSystem: 'SIM0001', remotePort: 'swp1' }, good[1]];
    expect(checkCabling('leaf1', LINKS, bySerial)).toHaveLength(1);
    expect(checkCabling('leaf1', LINKS, bySerial, new Map([['SIM0001', 'spine1']]))).toEqual([]);
  });
  test('the device on the b end or the a end of a link is the same', () => {
    expect(checkCabling('spine1', LINKS, [{ localPort: 'swp1', remoteSystem: 'leaf1', remotePort: 'swp51' }, { localPort: 'swp2', remoteSystem: 'leaf2', remotePort: 'swp51' }])).toEqual([]);
  });
});

describe('parseFrrLldp', () => {
  test('reads the agent frr-state lldp tree; entries without a local port are dropped', () => {
    const xml = '<frr-state xmlns="urn:fabric:frr"><bgp/><lldp>'
      + '<neighbor><local-port>swp51</local-port><remote-system-name>spine1</remote-system-name><remote-port>swp1</remote-port></neighbor>'
      + '<neighbor><local-port>swp52</local-port></neighbor><neighbor><remote-port>x</remote-port></neighbor>'
      + '</lldp><phase>configured</phase></frr-state>';
    expect(parseFrrLldp(xml)).toEqual([{ localPort: 'swp51', remoteSystem: 'spine1', remotePort: 'swp1' }, { localPort: 'swp52' }]);
    expect(parseFrrLldp('<data/>')).toEqual([]);
  });
});
