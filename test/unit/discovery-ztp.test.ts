import { sha512crypt } from '../../src/discovery/crypt';
import { bootstrapOverlayEcmp, renderBootstrap } from '../../src/discovery/ztp';
import { parseVendorClass, identify, platformFor } from '../../src/discovery/dhcp/identity';
import { decode, encode, OPT, subOptions, parseSubOptions, type DhcpPacket } from '../../src/discovery/dhcp/packet';
import { validateSweep, sweepTargets } from '../../src/discovery/sweep';
import { AllowList } from '../../src/discovery/allow';

describe('sha512crypt', () => {
  test('matches the SHA-crypt reference vectors', () => {
    expect(sha512crypt('Hello world!', 'saltstring')).toBe('$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
    expect(sha512crypt('Hello world!', 'saltstringsaltstring', 10000)).toBe('$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.');
    // computed with `openssl passwd -6 -salt abcdefgh12345678 'p@ss w0rd"é'`
    expect(sha512crypt('p@ss w0rd"é', 'abcdefgh12345678')).toBe('$6$abcdefgh12345678$E56FlaQXIn/k0x3IH2QPOnK1FLbiTUQRPPZ/K8Df3JxQbebGhC1hl7U2SH1ceaAZ0Q5DMToimH4Y3x4oNqDFT.');
  });
});

describe('bootstrap templates', () => {
  const credentials = { username: 'admin', password: 's3cr"et\\x' };
  test('frr: the JSON document of docs/device-agent.md, host name = serial until named', () => {
    const r = renderBootstrap({ platform: 'frr', serial: 'SIM0001', credentials, snmp: { community: 'fabric-ro' } });
    expect(r.contentType).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual({ hostname: 'SIM0001', credentials, netconf: { port: 830 }, snmp: { community: 'fabric-ro' }, lldp: true });
    const named = renderBootstrap({ platform: 'frr', serial: 'SIM0001', name: 'leaf1', credentials, snmp: { v3: { user: 'u', authKey: 'authkey12', privKey: 'privkey12' } } });
    expect(JSON.parse(named.body)).toEqual({ hostname: 'leaf1', credentials, netconf: { port: 830 }, snmp: { v3: { user: 'u', authKey: 'authkey12', privKey: 'privkey12' } }, lldp: true });
  });

  test('junos: hashed password only, NETCONF on 830, SNMP v2c + v3, LLDP; nothing else', () => {
    const r = renderBootstrap({ platform: 'junos', serial: 'VF123', credentials, snmp: { community: 'ro"x' }, salt: 'abcdefgh' });
    expect(r.body).not.toContain('s3cr');
    const hash = sha512crypt(credentials.password, 'abcdefgh');
    expect(r.body).toContain(`encrypted-password "${hash}";`);
    expect(r.body).toContain('host-name "VF123";');
    expect(r.body).toContain('port 830;');
    expect(r.body).toContain('community "ro\\"x" {');
    expect(r.body).toMatch(/protocols \{\s+lldp \{\s+interface all;/);
    // top-level statements: system, snmp, protocols only
    expect(r.body.split('\n').filter((l) => /^[a-z]/.test(l)).map((l) => l.split(' ')[0])).toEqual(['system', 'snmp', 'protocols']);
    // braces balance
    expect((r.body.match(/\{/g) ?? []).length).toBe((r.body.match(/\}/g) ?? []).length);
  });
});

describe('overlay-ecmp in the Junos bootstrap (issue 14 item 1)', () => {
  const credentials = { username: 'admin', password: 'x' };
  test.each([
    // listed devices: profile and roles decide
    [{ profile: 'juniper-qfx5120-48y', physicalRole: 'leaf' as const, roles: ['ERB-UCAST-Gateway'] }, true],
    [{ profile: 'juniper-qfx5110-48s-4c', physicalRole: 'spine' as const, roles: ['Route-Reflector', 'CRB-Gateway'] }, true],
    [{ profile: 'juniper-qfx5110-48s-4c', physicalRole: 'spine' as const, roles: ['DC-Gateway'] }, true],
    [{ profile: 'juniper-qfx5110-48s-4c', physicalRole: 'leaf' as const, roles: ['CRB-Access'] }, false],
    [{ profile: 'juniper-qfx5120-48y', physicalRole: 'leaf' as const, roles: [] }, false],
    // other models never (the fact is off)
    [{ profile: 'juniper-qfx10002-36q', physicalRole: 'spine' as const, roles: ['CRB-Gateway'] }, false],
    [{ profile: 'juniper-mx204', physicalRole: 'gateway' as const, roles: ['DC-Gateway'] }, false],
    // roles not known yet: any type-5 role the model could take
    [{ model: 'qfx5120-48y-8c' }, true],
    [{ model: 'QFX5110-48S-4C' }, true],
    [{ model: 'qfx5100-48s-6q' }, false],
    [{ model: 'mx204' }, false],
    [{}, false],
  ])('%j -> %s', (dev, want) => {
    expect(bootstrapOverlayEcmp(dev)).toBe(want);
  });

  test('rendered as forwarding-options vxlan-routing overlay-ecmp, only when asked', () => {
    const on = renderBootstrap({ platform: 'junos', serial: 'WS1', credentials, overlayEcmp: true, salt: 'abcdefgh' }).body;
    expect(on).toMatch(/^forwarding-options \{\n {4}vxlan-routing \{\n {8}overlay-ecmp;\n {4}\}\n\}$/m);
    expect((on.match(/\{/g) ?? []).length).toBe((on.match(/\}/g) ?? []).length);
    const off = renderBootstrap({ platform: 'junos', serial: 'WS1', credentials, salt: 'abcdefgh' }).body;
    expect(off).not.toContain('overlay-ecmp');
  });
});

describe('DHCP identity and packets', () => {
  test('vendor class <Vendor>-<model>-<serial>, model with dashes', () => {
    expect(parseVendorClass('Juniper-qfx5110-48s-4c-WS3718350100')).toEqual({ vendor: 'Juniper', model: 'qfx5110-48s-4c', serial: 'WS3718350100' });
    expect(parseVendorClass('FRR-frr-switch-SIM0001')).toEqual({ vendor: 'FRR', model: 'frr-switch', serial: 'SIM0001' });
    expect(parseVendorClass('MSFT 5.0')).toBeUndefined();
  });

  const base = (): DhcpPacket => ({
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 0x1234abcd, secs: 0, flags: 0x8000, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
    giaddr: '10.1.0.1', chaddr: '02:00:00:00:00:0a', sname: '', file: '', options: new Map(),
  });

  test('encode/decode round trip keeps unknown options (82, 150) and binary client IDs', () => {
    const p = base();
    p.options.set(OPT.messageType, Buffer.from([1]));
    p.options.set(OPT.clientId, Buffer.from([0, ...Buffer.from('SER9')]));
    p.options.set(OPT.relayAgentInfo, subOptions([[1, Buffer.from('ge-0/0/1')], [2, Buffer.from([1, 2, 3])]]));
    p.options.set(OPT.tftpServerAddress, Buffer.from([10, 0, 0, 2]));
    p.options.set(OPT.vendorClass, Buffer.from('Juniper-mx204-XYZ'));
    const buf = encode(p);
    expect(buf.length).toBeGreaterThanOrEqual(300);
    const d = decode(buf);
    expect(d).toMatchObject({ xid: 0x1234abcd, flags: 0x8000, giaddr: '10.1.0.1', chaddr: '02:00:00:00:00:0a' });
    expect([...d.options.keys()]).toEqual([53, 61, 150, 60, 82]); // 53 first, 82 last
    expect(d.options.get(OPT.relayAgentInfo)).toEqual(p.options.get(OPT.relayAgentInfo));
    expect(parseSubOptions(d.options.get(OPT.relayAgentInfo)!).get(1)!.toString()).toBe('ge-0/0/1');
    const id = identify(d);
    expect(id).toMatchObject({ serial: 'XYZ', vendor: 'Juniper', model: 'mx204', clientId: '0053455239' });
    expect(platformFor(id)).toBe('junos');
  });

  test('serial from option 61 (type 0) or 12 when option 60 has none', () => {
    const p = base();
    p.options.set(OPT.clientId, Buffer.from([0, ...Buffer.from('ABC1')]));
    expect(identify(p).serial).toBe('ABC1');
    const q = base();
    q.options.set(OPT.hostName, Buffer.from('HOST7'));
    expect(identify(q).serial).toBe('HOST7');
  });

  test('a truncated option is an error, not a guess', () => {
    const p = base();
    p.options.set(OPT.messageType, Buffer.from([1]));
    const buf = encode(p);
    const cut = Buffer.concat([buf.subarray(0, 240), Buffer.from([61, 10, 0, 1])]);
    expect(() => decode(cut)).toThrow('DHCP option 61 truncated');
  });
});

describe('sweep request validation', () => {
  const allow = new AllowList(['127.20.0.0/16', '10.0.0.0/24']);
  test('accepts subnets inside the management subnets and DISCOVERY_ALLOW', () => {
    const b = validateSweep({ subnets: ['127.20.0.0/30', '127.20.1.0/31'], allow, managementSubnets: ['127.20.0.0/22'] });
    expect(sweepTargets(b, allow)).toEqual(['127.20.0.1', '127.20.0.2', '127.20.1.0', '127.20.1.1']);
  });
  test.each([
    [['10.0.0.0/8'], ['10.0.0.0/8'], 'subnets[0] 10.0.0.0/8 is larger than the sweep limit /16'],
    [['127.20.0.0/24', '127.20.0.128/25'], ['127.20.0.0/16'], 'subnets[0] 127.20.0.0/24 and subnets[1] 127.20.0.128/25 overlap'],
    [['127.21.0.0/24'], ['127.20.0.0/22'], 'subnets[0] 127.21.0.0/24 is not inside a management subnet of the fabric (127.20.0.0/22)'],
    [['10.0.1.0/24'], ['10.0.0.0/16'], 'subnets[0] 10.0.1.0/24 is outside DISCOVERY_ALLOW (127.20.0.0/16, 10.0.0.0/24): refused'],
    [['10.0.0.1/24'], ['10.0.0.0/16'], 'subnets[0] "10.0.0.1/24" has host bits set (did you mean 10.0.0.0/24?)'],
    [[], ['10.0.0.0/16'], 'subnets: at least one subnet is required for a sweep'],
  ])('refuses %j (management %j)', (subnets, mgmt, msg) => {
    expect(() => validateSweep({ subnets, allow, managementSubnets: mgmt })).toThrow(msg);
  });
  test('the limit is configurable', () => {
    expect(() => validateSweep({ subnets: ['127.20.0.0/23'], allow, maxRangePrefix: 24 })).toThrow('larger than the sweep limit /24');
  });
  test('AllowList refuses single targets outside it', () => {
    expect(() => allow.check('192.168.1.1', 'SNMP target')).toThrow('SNMP target 192.168.1.1 is outside DISCOVERY_ALLOW (127.20.0.0/16, 10.0.0.0/24): refused');
    expect(AllowList.fromEnv(['10.9.0.0/24'], {}).describe()).toBe('10.9.0.0/24');
    expect(AllowList.fromEnv([], { DISCOVERY_ALLOW: '127.0.0.0/8, 10.0.0.0/24' }).describe()).toBe('127.0.0.0/8, 10.0.0.0/24');
  });
});
