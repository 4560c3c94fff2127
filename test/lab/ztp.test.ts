// Greenfield path of a twin device: factory default (only dhclient on eth0, no NETCONF, no SNMP),
// then the device's own dhclient script, given a lease carrying a bootstrap URL, sets the lease
// address and wakes the agent, which fetches the bootstrap over HTTP from a server in the
// controller namespace and applies it (host name, credentials, NETCONF, SNMP v2c + v3, LLDP).
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeIf } from '../helpers/env';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { LabPaths, recordedPids } from '../../src/lab/state';
import { NetconfClient } from '../../src/netconf/client';
import { labName, tmpRoot, relay, snmpwalk, inNs, sh, namespaces, waitUntil, within, leftovers, type Relay } from './helpers';

jest.setTimeout(180_000);

const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'snmpd', 'snmpwalk', 'dhclient'] });

const LAB = labName();
const ROOT = tmpRoot();

const topo = validateTopology({
  name: LAB,
  devices: [
    { name: 'leaf1', profile: 'frr-switch', serial: 'ZTP0001' },
    { name: 'leaf2', profile: 'frr-switch', serial: 'ZTP0002' },
    { name: 'leaf3', profile: 'frr-switch', serial: 'ZTP0003' },
    { name: 'leaf4', profile: 'frr-switch', serial: 'ZTP0004' },
  ],
  links: [['leaf1:swp1', 'leaf2:swp1']],
  management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
});

const BOOTSTRAP = {
  hostname: 'leaf1',
  credentials: { username: 'ops', password: 'ztp-s3cret' },
  netconf: { port: 830 },
  snmp: { community: 'ztp-ro', v3: { user: 'ztpuser', authKey: 'authpass123', privKey: 'privpass123' } },
  lldp: true,
};

// An HTTP server in the controller namespace, logging each request line to stdout.
const HTTP = `
const http = require('node:http');
const body = process.argv[1];
http.createServer((req, res) => {
  process.stdout.write(req.method + ' ' + req.url + '\\n');
  if (req.url === '/ztp/ZTP0001') { res.writeHead(200, {'content-type': 'application/json'}); res.end(body); }
  else if (req.url === '/ztp/ZTP0002') { res.writeHead(200, {'content-type': 'application/json'}); res.end(body.replace('"leaf1"', '"leaf2"')); }
  else if (req.url === '/ztp/ZTP0003') { res.writeHead(200, {'content-type': 'application/json'}); res.end(body.replace('"leaf1"', '"leaf3"')); }
  // ZTP0004: the first fetch finds its one-time token used up (as when a reply was lost)
  else if (req.url === '/ztp/ZTP0004' && !globalThis.used4) { globalThis.used4 = true; res.writeHead(404); res.end(); }
  else if (req.url === '/ztp/ZTP0004') { res.writeHead(200, {'content-type': 'application/json'}); res.end(body.replace('"leaf1"', '"leaf4"')); }
  else if (req.url === '/ztp/BAD') { res.writeHead(200); res.end('{"credentials": {"username": "x", "password": "y"}, "snmp": {"community": "c"}, "telnet": true}'); }
  else { res.writeHead(404); res.end(); }
}).listen(8099, '10.0.0.1', () => process.stdout.write('ready\\n'));
`;

// A minimal DHCP responder in the controller namespace (the service's real server is tested in
// test/integration): answers DISCOVER/REQUEST with an address and option 67 = the bootstrap URL
// of the client's serial (from option 61), and prints what each client sent as a JSON line.
const DHCPD = `
const dgram = require('node:dgram');
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
const leases = new Map(); let next = 70;
function opts(b) { const o = new Map(); let i = 240; while (i < b.length) { const c = b[i]; if (c === 255) break; if (c === 0) { i++; continue; } o.set(c, b.subarray(i + 2, i + 2 + b[i + 1])); i += 2 + b[i + 1]; } return o; }
s.on('message', (b) => {
  if (b[0] !== 1 || b.readUInt32BE(236) !== 0x63825363) return;
  const o = opts(b); const type = o.get(53) && o.get(53)[0];
  if (type !== 1 && type !== 3) return;
  const mac = b.subarray(28, 34).toString('hex');
  const cid = o.get(61) ? o.get(61) : Buffer.alloc(0);
  const serial = cid.length > 1 && cid[0] === 0 ? cid.subarray(1).toString() : mac;
  process.stdout.write(JSON.stringify({ type, vendorClass: o.get(60) && o.get(60).toString(), clientIdHex: cid.toString('hex'), hostName: o.get(12) && o.get(12).toString(), serial }) + '\\n');
  if (!leases.has(mac)) leases.set(mac, '10.0.0.' + (next++));
  const ip = leases.get(mac).split('.').map(Number);
  const r = Buffer.alloc(240); b.copy(r, 0, 0, 240);
  r[0] = 2; r.fill(0, 12, 16); Buffer.from(ip).copy(r, 16); r.fill(0, 20, 24); r.writeUInt16BE(0x8000, 10);
  const url = Buffer.from('http://10.0.0.1:8099/ztp/' + serial);
  // ZTP0003 gets the Juniper form: option 43 sub-options 1 (file), 3 (http), 5 (port) + option 150
  const sub = (c, v) => [c, Buffer.from(v).length, ...Buffer.from(v)];
  const o43 = [...sub(1, 'ztp/' + serial), ...sub(3, 'http'), ...sub(5, '8099')];
  const ztp = serial === 'ZTP0003' ? [43, o43.length, ...o43, 150, 4, 10, 0, 0, 1] : [67, url.length, ...url];
  const o2 = [53, 1, type === 1 ? 2 : 5, 54, 4, 10, 0, 0, 1, 51, 4, 0, 0, 2, 88, 1, 4, 255, 255, 255, 0, ...ztp, 255];
  const out = Buffer.concat([r, Buffer.from(o2)]);
  s.send(out, 68, '255.255.255.255');
});
s.bind(67, '0.0.0.0', () => { s.setBroadcast(true); process.stdout.write('ready\\n'); });
`;

d('twin ZTP (factory default -> bootstrap over HTTP)', () => {
  let http: ChildProcess;
  let dhcpd: ChildProcess | undefined;
  const requests: string[] = [];
  const relays: Relay[] = [];
  let client: NetconfClient | undefined;

  beforeAll(async () => {
    await netnsBackend.up(topo, { root: ROOT, timeoutSeconds: 60 });
    http = spawn('ip', ['netns', 'exec', `${LAB}-ctl`, process.execPath, '-e', HTTP, JSON.stringify(BOOTSTRAP)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      http.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          if (l === 'ready') resolve();
          else requests.push(l);
        }
      });
      http.once('exit', (c) => reject(new Error(`http server exited ${c}`)));
    });
  });

  afterAll(async () => {
    const dh = dhcpd;
    if (dh && dh.exitCode === null) { dh.kill('SIGTERM'); await within(new Promise((r) => dh.once('exit', r)), 3000); }
    if (client) await within(client.close().catch(() => undefined), 3000);
    for (const r of relays) await within(r.close().catch(() => undefined), 3000);
    if (http && http.exitCode === null) { http.kill('SIGTERM'); await within(new Promise((r) => http.once('exit', r)), 3000); }
    const pids = recordedPids(new LabPaths(LAB, ROOT).pidFile).map((e) => e.pid);
    await netnsBackend.down(LAB, { root: ROOT });
    expect(await leftovers(LAB, ROOT, pids)).toEqual([]);
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
    rmSync(ROOT, { recursive: true, force: true });
  });

  function runScript(node: string, env: Record<string, string>): ReturnType<typeof sh> {
    const runDir = new LabPaths(LAB, ROOT).nodeRun(node);
    // dhclient runs its script with only its own variables: env -i reproduces that
    const vars = Object.entries({ ...env, LAB_RUN: runDir }).map(([k, v]) => `${k}=${v}`);
    return inNs(`${LAB}-${node}`, ['env', '-i', ...vars, join(runDir, 'dhclient-script')]);
  }

  test('factory default: only dhclient on eth0, no address, nothing listening', async () => {
    const st = await netnsBackend.status(LAB, { root: ROOT });
    expect(st.nodes.map((n) => [n.name, n.state, n.managementIp])).toEqual([['leaf1', 'factory-default', undefined], ['leaf2', 'factory-default', undefined], ['leaf3', 'factory-default', undefined], ['leaf4', 'factory-default', undefined]]);
    for (const n of st.nodes) expect(n.processes!.map((p) => p.what).sort()).toEqual(['agent', 'bfdd', 'bgpd', 'dhclient', 'zebra']);
    const listening = (await inNs(`${LAB}-leaf1`, ['ss', '-Hltun'])).stdout;
    expect(listening).not.toMatch(/:830\b|:161\b/);
    const conf = (await sh(['cat', join(new LabPaths(LAB, ROOT).nodeRun('leaf1'), 'dhclient.conf')])).stdout;
    expect(conf).toContain('send vendor-class-identifier "FRR-frr-switch-ZTP0001";');
  });

  test('a lease without a bootstrap URL: address kept, still factory default', async () => {
    const r = await runScript('leaf2', { reason: 'BOUND', interface: 'eth0', new_ip_address: '10.0.0.61', new_subnet_mask: '255.255.255.0', new_dhcp_server_identifier: '10.0.0.1' });
    expect(r.code).toBe(0);
    expect((await inNs(`${LAB}-leaf2`, ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout).toContain('10.0.0.61/24');
    await new Promise((res) => setTimeout(res, 1000));
    expect((await netnsBackend.status(LAB, { root: ROOT })).nodes[1].state).toBe('factory-default');
  });

  test('a bootstrap with an unknown key is refused; the device stays factory default', async () => {
    await runScript('leaf2', { reason: 'RENEW', interface: 'eth0', new_ip_address: '10.0.0.61', new_subnet_mask: '255.255.255.0', new_dhcp_server_identifier: '10.0.0.1', new_bootfile_name: 'http://10.0.0.1:8099/ztp/BAD' });
    await waitUntil('BAD fetched', async () => requests.includes('GET /ztp/BAD'), 15_000, 100);
    const stFile = join(new LabPaths(LAB, ROOT).nodeRun('leaf2'), 'status.json');
    const st = await waitUntil('ztp error reported', async () => {
      const s = JSON.parse((await sh(['cat', stFile])).stdout) as { ztpError?: string; phase: string };
      return s.ztpError ? s : undefined;
    }, 10_000, 100);
    expect(st.ztpError).toBe('bootstrap: unknown key "telnet"');
    expect(st.phase).toBe('factory-default');
  });

  test('a lease with option 67 URL: address set, bootstrap fetched and applied (NETCONF, SNMP v2c/v3, LLDP, host name)', async () => {
    const r = await runScript('leaf1', {
      reason: 'BOUND', interface: 'eth0', new_ip_address: '10.0.0.50', new_subnet_mask: '255.255.255.0',
      new_dhcp_server_identifier: '10.0.0.1', new_bootfile_name: 'http://10.0.0.1:8099/ztp/ZTP0001',
    });
    expect(r.code).toBe(0);
    expect((await inNs(`${LAB}-leaf1`, ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout).toContain('10.0.0.50/24');
    await waitUntil('bootstrapped', async () => (await netnsBackend.status(LAB, { root: ROOT })).nodes[0].state === 'bootstrapped', 30_000, 200);
    expect(requests.filter((q) => q === 'GET /ztp/ZTP0001')).toHaveLength(1);
    const st = await netnsBackend.status(LAB, { root: ROOT });
    expect(st.nodes[0].managementIp).toBe('10.0.0.50');
    // ZTP is over: dhclient stopped, the address stays
    expect(st.nodes[0].processes!.map((p) => p.what).sort()).toEqual(['agent', 'bfdd', 'bgpd', 'lldpd', 'snmpd', 'zebra']);
    // SNMP with the bootstrap's community and v3 user, from the controller namespace
    const sys = await waitUntil('snmp', async () => snmpwalk(LAB, '10.0.0.50', '1.3.6.1.2.1.1', ['-v2c', '-c', 'ztp-ro']), 10_000, 500);
    expect(sys.get('.1.3.6.1.2.1.1.5.0')).toBe('leaf1');
    expect(sys.get('.1.3.6.1.2.1.1.1.0')).toBe('FRR-switch frr-switch serial ZTP0001 version 8.4.4');
    const v3 = await snmpwalk(LAB, '10.0.0.50', '1.3.6.1.2.1.1.5', ['-v3', '-l', 'authPriv', '-u', 'ztpuser', '-a', 'SHA', '-A', 'authpass123', '-x', 'AES', '-X', 'privpass123']);
    expect([...v3.values()]).toEqual(['leaf1']);
    await expect(snmpwalk(LAB, '10.0.0.50', '1.3.6.1.2.1.1.5', ['-v2c', '-c', 'fabric-ro'])).rejects.toThrow(/Timeout/);
    // NETCONF with the bootstrap's credentials only
    const rl = await relay(LAB, '10.0.0.50', 830);
    relays.push(rl);
    await expect(NetconfClient.connect({ host: '127.0.0.1', port: rl.port, username: 'ops', password: 'wrong', connectTimeoutMs: 10_000 })).rejects.toThrow();
    try {
      client = await NetconfClient.connect({ host: '127.0.0.1', port: rl.port, username: 'ops', password: 'ztp-s3cret', connectTimeoutMs: 10_000 });
    } catch (e) {
      throw new Error(`${(e as Error).message}; agent log: ${(await sh(['tail', '-20', join(new LabPaths(LAB, ROOT).nodeRun('leaf1'), 'agent.log')])).stdout}`);
    }
    const facts = await client.rpc('<get-facts xmlns="urn:fabric:device"/>');
    expect(facts.xml).toContain('<hostname>leaf1</hostname><vendor>FRR</vendor><model>frr-switch</model><serial-number>ZTP0001</serial-number>');
    expect(facts.xml).toContain('<management-address>10.0.0.50</management-address>');
    // a renewal of the same lease does not bootstrap twice
    await runScript('leaf1', { reason: 'RENEW', interface: 'eth0', new_ip_address: '10.0.0.50', old_ip_address: '10.0.0.50', new_subnet_mask: '255.255.255.0', new_dhcp_server_identifier: '10.0.0.1', new_bootfile_name: 'http://10.0.0.1:8099/ztp/ZTP0001' });
    await new Promise((res) => setTimeout(res, 1000));
    expect(requests.filter((q) => q === 'GET /ztp/ZTP0001')).toHaveLength(1);
  });

  test('real dhclient end to end: DISCOVER carries vendor class, client id and host name from the serial; option 67 (or Juniper option 43 + 150) bootstraps the device', async () => {
    const seen: { type: number; vendorClass?: string; clientIdHex: string; hostName?: string; serial: string }[] = [];
    dhcpd = spawn('ip', ['netns', 'exec', `${LAB}-ctl`, process.execPath, '-e', DHCPD], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      dhcpd!.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          if (l === 'ready') resolve();
          else seen.push(JSON.parse(l));
        }
      });
      dhcpd!.once('exit', (c) => reject(new Error(`dhcp responder exited ${c}`)));
    });
    await waitUntil('leaf2 bootstrapped over real DHCP', async () => {
      const n = (await netnsBackend.status(LAB, { root: ROOT })).nodes[1];
      return n.state === 'bootstrapped' && n.managementIp?.startsWith('10.0.0.7') ? n : undefined;
    }, 60_000, 250);
    // leaf3 got the Juniper-style option 43 + 150 instead of 67
    await waitUntil('leaf3 bootstrapped over real DHCP (option 43)', async () => {
      const n = (await netnsBackend.status(LAB, { root: ROOT })).nodes[2];
      return n.state === 'bootstrapped' && n.managementIp?.startsWith('10.0.0.7') ? n : undefined;
    }, 60_000, 250);
    // leaf4's first bootstrap fetch failed (404): it asked DHCP again and bootstrapped with the next lease
    await waitUntil('leaf4 bootstrapped after asking DHCP again', async () => {
      const n = (await netnsBackend.status(LAB, { root: ROOT })).nodes[3];
      return n.state === 'bootstrapped' && n.managementIp?.startsWith('10.0.0.7') ? n : undefined;
    }, 90_000, 250);
    expect(requests.filter((q) => q === 'GET /ztp/ZTP0004')).toHaveLength(2);
    const agentLog = (await sh(['cat', join(new LabPaths(LAB, ROOT).nodeRun('leaf4'), 'agent.log')])).stdout;
    expect(agentLog).toMatch(/ztp: bootstrap http:\/\/10\.0\.0\.1:8099\/ztp\/ZTP0004: HTTP 404/);
    expect(agentLog).toMatch(/ztp: asking DHCP again \(restart 1 of 20\)/);
    // the DHCP exchange after the restart (a REQUEST of the address it had, or a new DISCOVER)
    expect(seen.filter((x) => x.serial === 'ZTP0004' && x.type === 3).length).toBeGreaterThanOrEqual(2);
    // only leaf2, leaf3 and leaf4 asked: leaf1 stopped its DHCP client when its ZTP ended
    const discover = seen.find((x) => x.type === 1 && x.serial === 'ZTP0002')!;
    expect(discover).toEqual({ type: 1, vendorClass: 'FRR-frr-switch-ZTP0002', clientIdHex: '00' + Buffer.from('ZTP0002').toString('hex'), hostName: 'ZTP0002', serial: 'ZTP0002' });
    expect(new Set(seen.map((x) => x.serial))).toEqual(new Set(['ZTP0002', 'ZTP0003', 'ZTP0004']));
    expect(requests).toContain('GET /ztp/ZTP0002');
    expect(requests).toContain('GET /ztp/ZTP0003');
    const ip = (await netnsBackend.status(LAB, { root: ROOT })).nodes[1].managementIp!;
    const sys = await snmpwalk(LAB, ip, '1.3.6.1.2.1.1.5', ['-v2c', '-c', 'ztp-ro']);
    expect([...sys.values()]).toEqual(['leaf2']);
  });
});
