// The pure parts of the RMA job (src/jobs/rma/cabling.ts): the replacement's serial, the LLDP
// re-check against the stored links, the FRR agent's LLDP tree; and autoconfigure's skip of a
// device in rma.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { badSerial, checkCabling, lldpReaderFor, parseFrrLldp, parseJunosLldp } from '../../src/jobs/rma/cabling';

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

describe('parseJunosLldp (get-lldp-neighbors-information)', () => {
  const fx = (f: string) => readFileSync(join(__dirname, '..', 'fixtures', 'junos-lldp', f), 'utf8');
  test('QFX: local port in lldp-local-port-id, remote port id of subtype "Interface name"', () => {
    expect(parseJunosLldp(fx('qfx-interface-name.xml'))).toEqual([
      { localPort: 'xe-0/0/48', remoteSystem: 'spine1', remotePort: 'xe-0/0/1' },
      { localPort: 'xe-0/0/49', remoteSystem: 'spine2', remotePort: 'xe-0/0/1' },
    ]);
  });
  test('ELS: lldp-local-interface wins over the ifIndex port id, unit dropped; a MAC or ifIndex port id gives way to the description', () => {
    expect(parseJunosLldp(fx('els-local-interface.xml'))).toEqual([
      { localPort: 'xe-0/0/48', remoteSystem: 'spine1', remotePort: 'swp1' },
      { localPort: 'xe-0/0/49', remoteSystem: 'spine2', remotePort: 'xe-0/0/7' },
      // no subtype, a MAC as port id, no system name: the description, and no system
      { localPort: 'xe-0/0/50', remotePort: 'ens256' },
    ]);
  });
  test('inside an rpc-reply, empty, or without a local port', () => {
    expect(parseJunosLldp(`<rpc-reply>${fx('qfx-interface-name.xml')}</rpc-reply>`)).toHaveLength(2);
    expect(parseJunosLldp('<lldp-neighbors-information/>')).toEqual([]);
    expect(parseJunosLldp('<lldp-neighbor-information><lldp-remote-system-name>x</lldp-remote-system-name></lldp-neighbor-information>')).toEqual([]);
  });
  test('feeds checkCabling: a Junos leaf cabled as stored passes, a swapped uplink is named', () => {
    const links = [
      { a: { device: 'spine1', port: 'xe-0/0/1' }, b: { device: 'leaf1', port: 'xe-0/0/48' } },
      { a: { device: 'spine2', port: 'xe-0/0/1' }, b: { device: 'leaf1', port: 'xe-0/0/49' } },
    ];
    const seen = parseJunosLldp(fx('qfx-interface-name.xml'));
    expect(checkCabling('leaf1', links, seen)).toEqual([]);
    const swapped = seen.map((n) => ({ ...n, localPort: n.localPort === 'xe-0/0/48' ? 'xe-0/0/49' : 'xe-0/0/48' }));
    expect(checkCabling('leaf1', links, swapped).map((a) => a.message)).toEqual([
      'leaf1:xe-0/0/48 should reach spine1:xe-0/0/1 but is cabled to spine2:xe-0/0/1',
      'leaf1:xe-0/0/49 should reach spine2:xe-0/0/1 but is cabled to spine1:xe-0/0/1',
    ]);
  });
  test('the reader per platform: junos answers the RPC, frr reads its state tree (no RPC reader)', () => {
    expect(lldpReaderFor('junos')?.rpc).toBe('<get-lldp-neighbors-information/>');
    expect(lldpReaderFor('frr')).toBeUndefined();
  });
});
