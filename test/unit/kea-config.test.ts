// The Kea configuration builder (pure), and Kea's own checker (`kea-dhcp4 -t`) on what it builds.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keaConfig, poolRanges, serialClientId, serialOfClientId, subnetId, ztpOptionData, type KeaConfigInput, type KeaHost } from '../../src/discovery/kea/config';

const host = (h: Partial<KeaHost>): KeaHost => ({ fabric: 'f1', serial: 'S1', tokens: {}, ...h });
const input = (hosts: KeaHost[]): KeaConfigInput => ({
  interface: 'mgmt0', serverAddress: '10.0.0.1', ztpBaseUrl: 'http://10.0.0.1:8080', controlSocket: '/tmp/x.sock',
  leaseFile: '/tmp/l.csv', logFile: '/tmp/k.log', leaseCmdsLibrary: '/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so',
  fabrics: [{ fabric: 'f1', subnets: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.254' }], reservations: [], leaseSeconds: 600, until: 0 }],
  hosts, learnLeaseSeconds: 20,
});

describe('kea config', () => {
  test('client identifiers carry the serial as type 0 + text, and back', () => {
    expect(serialClientId('GF00001')).toBe('00474630303030 31'.replace(' ', ''));
    expect(serialOfClientId('0047463030303031')).toBe('GF00001');
    expect(serialOfClientId('01020000000001')).toBeUndefined(); // type 1: a MAC
    expect(serialOfClientId('0000')).toBeUndefined();
  });

  test('pools leave out the gateway and our own address; subnet ids are the network address', () => {
    expect(poolRanges('10.0.0.0/24', { exclude: ['10.0.0.254', '10.0.0.1'] })).toEqual(['10.0.0.2 - 10.0.0.253']);
    expect(poolRanges('10.0.0.0/24', { rangeStart: '10.0.0.10', exclude: ['10.0.0.1', '10.0.0.50'] })).toEqual(['10.0.0.10 - 10.0.0.49', '10.0.0.51 - 10.0.0.254']);
    expect(subnetId('10.0.0.0/24')).toBe(167772160);
  });

  test('ZTP options as the built-in server gives them: frr 67 + 66, Juniper 43 (1, 3, 5) + 150 + 66', () => {
    const frr = ztpOptionData(host({ platform: 'frr', tokens: { frr: 'a'.repeat(32) } }), 'http://10.0.0.1:8080', '10.0.0.1');
    expect(frr).toEqual([{ name: 'tftp-server-name', data: '10.0.0.1' }, { name: 'boot-file-name', data: `http://10.0.0.1:8080/ztp/S1?t=${'a'.repeat(32)}` }]);
    const j = ztpOptionData(host({ platform: 'junos', tokens: { junos: 'b'.repeat(32) } }), 'http://10.0.0.1:8080', '10.0.0.1') as { code?: number; data: string }[];
    const o43 = Buffer.from(j.find((o) => o.code === 43)!.data, 'hex');
    const file = `ztp/S1?t=${'b'.repeat(32)}`;
    expect(o43).toEqual(Buffer.concat([Buffer.from([1, file.length]), Buffer.from(file), Buffer.from([3, 4]), Buffer.from('http'), Buffer.from([5, 4]), Buffer.from('8080')]));
    expect(j.find((o) => o.code === 150)!.data).toBe('0a000001');
    expect(j.some((o) => (o as { name?: string }).name === 'boot-file-name')).toBe(false);
    // unknown platform (a learned client): both forms, each with its own token
    const both = ztpOptionData(host({ tokens: { frr: 'c'.repeat(32), junos: 'd'.repeat(32) } }), 'http://10.0.0.1', '10.0.0.1') as { code?: number; name?: string; data: string }[];
    expect(both.find((o) => o.name === 'boot-file-name')!.data).toContain('c'.repeat(32));
    expect(Buffer.from(both.find((o) => o.code === 43)!.data, 'hex').toString('latin1')).toContain('d'.repeat(32));
    expect(Buffer.from(both.find((o) => o.code === 43)!.data, 'hex').includes(5)).toBe(false); // port 80: no sub-option 5
  });

  test('never two reservations of one address or one client (Kea would refuse the whole config)', () => {
    const c = keaConfig(input([
      host({ serial: 'A', clientId: serialClientId('A'), ip: '10.0.0.7', tokens: { frr: 'x' } }),
      host({ serial: 'B', clientId: serialClientId('B'), ip: '10.0.0.7', tokens: { frr: 'y' } }),
      host({ serial: 'A', clientId: serialClientId('A'), tokens: { frr: 'z' } }),
      host({ serial: 'M', mac: '02:00:00:00:00:09', ip: '10.0.0.9', tokens: { frr: 'w' } }),
      host({ serial: 'X', clientId: serialClientId('X'), ip: '10.9.9.9', tokens: { frr: 'v' } }), // not in this subnet
    ]));
    const subnet = (c.Dhcp4.subnet4 as { reservations: Record<string, string>[] }[])[0];
    expect(subnet.reservations.map((r) => r['client-id'] ?? r['hw-address'])).toEqual(['00:41', '02:00:00:00:00:09']);
  });

  const kea = '/usr/sbin/kea-dhcp4';
  (existsSync(kea) ? test : test.skip)('kea-dhcp4 -t accepts the configuration', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eco-kea-t-'));
    try {
      const i = input([host({ serial: 'A', clientId: serialClientId('A'), platform: 'junos', tokens: { junos: 'e'.repeat(32) } }),
        host({ serial: 'M', mac: '02:00:00:00:00:09', ip: '10.0.0.9', tokens: { frr: 'f'.repeat(32), junos: 'g'.repeat(32) } })]);
      i.interface = 'lo'; // -t checks that the interface exists
      i.controlSocket = join(dir, 'k.sock');
      i.leaseFile = join(dir, 'l.csv');
      i.logFile = join(dir, 'k.log');
      const { findLeaseCmdsLibrary } = require('../../src/discovery/kea/backend') as typeof import('../../src/discovery/kea/backend');
      i.leaseCmdsLibrary = findLeaseCmdsLibrary();
      writeFileSync(join(dir, 'c.json'), JSON.stringify(keaConfig(i)));
      const out = execFileSync(kea, ['-t', join(dir, 'c.json')], { encoding: 'utf8', env: { ...process.env, KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir } });
      expect(out).toContain('DHCPSRV_CFGMGR_NEW_SUBNET4');
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
