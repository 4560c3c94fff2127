// DHCP_BACKEND=kea against real clients: Debian's kea-dhcp4, driven by KeaDhcpBackend in a
// network namespace of our own (it listens on that namespace's bridge only), isc-dhcp-client in
// two client namespaces, leases and tokens in a real Redis (unix socket). Checks the answers the
// built-in server gives (docs/discovery.md): ZTP options per platform with a one-time token, the
// lease in the store, a renewed token after use, reservation by MAC, an unreserved client learned
// and given its options at its next request, Kea's leases released with the onboarding's.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeIf } from '../helpers/env';
import { startDiscoveryFixture, onboardingFabric, src, type DiscoveryFixture } from '../helpers/discovery-fixture';
import { RedisLeaseStore, releaseUnonboarded, type ActiveFabric } from '../../src/discovery/dhcp';
import { keaCommand } from '../../src/discovery/kea/control';
import { waitFor as labWaitFor } from '../../src/lab/sh';
import { liveDhcpServers } from '../../src/discovery/presence';

const tag = `eco${randomBytes(2).toString('hex')}`;
const NS = { srv: `${tag}-srv`, cli: `${tag}-cli`, cli2: `${tag}-cli2`, cli3: `${tag}-cli3` };
const FABRIC = 'keat';
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const ipn = (ns: string, ...args: string[]): string => sh('ip', ['-n', ns, ...args]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The lab's poller; null (a failed RegExp match) counts as not yet. */
const waitFor = <T>(what: string, fn: () => T | null | undefined | Promise<T | null | undefined>, ms = 20000): Promise<T> =>
  labWaitFor(what, async () => (await fn()) ?? undefined, ms);

const fabricSpec = (): Parameters<typeof startDiscoveryFixture>[0]['fabric'] => {
  const f = onboardingFabric({
    name: FABRIC, password: 'Kea-s3cret!', community: 'kea-ro', management: { cidr: '10.79.0.0/24', gateway: '10.79.0.1' },
    devices: [{ name: 'leaf1', serial: 'KEA0001' }, { name: 'leaf2', serial: 'KEAJ002' }],
  });
  ((f as { devices: { profile: string }[] }).devices)[1].profile = 'juniper-qfx5110-48s-4c';
  return f;
};
const active = (): ActiveFabric => ({
  fabric: FABRIC,
  subnets: [{ cidr: '10.79.0.0/24', gateway: '10.79.0.1', rangeStart: '10.79.0.10' }, { cidr: '10.80.0.0/24', gateway: '10.80.0.1' }],
  reservations: [{ mac: '02:00:00:79:00:07', ip: '10.79.0.107' }],
  leaseSeconds: 600,
  until: Date.now() + 10 * 60_000,
});

describeIf({ root: true, commands: ['ip', 'dhclient', 'redis-server', '/usr/sbin/kea-dhcp4'] })('Kea backend with real dhclient', () => {
  let fx: DiscoveryFixture;
  let leases: RedisLeaseStore;
  let backend: ChildProcess | undefined;
  let log = '';
  let keaPid = 0;
  const clients: ChildProcess[] = [];
  let sock = '';

  function dhclient(name: string, ns: string, serial: string, vendorClass: string): { events: () => Record<string, string>[]; files: string[] } {
    const conf = join(fx.dir, `${name}.conf`);
    const out = join(fx.dir, `${name}.events`);
    const script = join(fx.dir, `${name}.sh`);
    writeFileSync(conf, [
      'option ztp-tftp-servers code 150 = array of ip-address;',
      `send vendor-class-identifier "${vendorClass}";`,
      `send dhcp-client-identifier = concat(00, "${serial}");`,
      'request subnet-mask, routers, bootfile-name, tftp-server-name, vendor-encapsulated-options, ztp-tftp-servers, dhcp-lease-time, dhcp-server-identifier;',
      'timeout 20; retry 2; initial-interval 1; backoff-cutoff 2;', '',
    ].join('\n'));
    writeFileSync(script, `#!/bin/sh
{ echo "---"; env | grep -E '^(reason|new_|old_)' | sort; } >> ${out}
case "$reason" in
  PREINIT) ip link set dev "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
esac
exit 0
`);
    chmodSync(script, 0o755);
    const files = ['-cf', conf, '-sf', script, '-lf', join(fx.dir, `${name}.leases`), '-pf', join(fx.dir, `${name}.pid`)];
    clients.push(spawn('ip', ['netns', 'exec', ns, 'dhclient', '-4', '-d', ...files, 'c0'], { stdio: 'ignore' }));
    const events = (): Record<string, string>[] => (existsSync(out) ? readFileSync(out, 'utf8').split('---\n').filter(Boolean).map((b) => Object.fromEntries(b.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))) : []);
    return { events, files };
  }
  const release = (ns: string, c: { files: string[] }): void => { execFileSync('ip', ['netns', 'exec', ns, 'dhclient', '-4', '-r', ...c.files, 'c0'], { stdio: 'ignore', timeout: 20000 }); };
  const keaLog = (): string => readFileSync(join(fx.dir, 'kea', 'kea-dhcp4.log'), 'utf8').split('\n').filter((l) => !l.includes('COMMAND_RECEIVED')).slice(-40).join('\n');
  const tokenOf = (url: string | undefined): string | undefined => /[?&]t=([0-9a-f]{32})$/.exec(url ?? '')?.[1];
  const opt43 = (hex: string): Map<number, string> => {
    const b = Buffer.from(hex.split(':').map((h) => parseInt(h, 16)));
    const m = new Map<number, string>();
    for (let i = 0; i + 2 <= b.length; i += 2 + b[i + 1]) m.set(b[i], b.subarray(i + 2, i + 2 + b[i + 1]).toString('latin1'));
    return m;
  };

  beforeAll(async () => {
    fx = await startDiscoveryFixture({ prefix: `${tag}-`, fabric: fabricSpec() });
    leases = new RedisLeaseStore(fx.redis);
    for (const ns of Object.values(NS)) { sh('ip', ['netns', 'add', ns]); ipn(ns, 'link', 'set', 'lo', 'up'); }
    ipn(NS.srv, 'link', 'add', 'br0', 'type', 'bridge');
    ipn(NS.srv, 'addr', 'add', '10.79.0.2/24', 'dev', 'br0');
    for (const [i, ns] of [NS.cli, NS.cli2].entries()) {
      ipn(NS.srv, 'link', 'add', `s${i}`, 'type', 'veth', 'peer', 'name', 'c0', 'netns', ns);
      ipn(NS.srv, 'link', 'set', `s${i}`, 'master', 'br0');
      ipn(NS.srv, 'link', 'set', `s${i}`, 'up');
    }
    ipn(NS.cli, 'link', 'set', 'c0', 'address', '02:00:00:79:00:01');
    ipn(NS.cli2, 'link', 'set', 'c0', 'address', '02:00:00:79:00:07');
    ipn(NS.srv, 'link', 'set', 'br0', 'up');
    // A second link in the server's namespace that Kea must not serve.
    ipn(NS.srv, 'link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'c0', 'netns', NS.cli3);
    ipn(NS.srv, 'addr', 'add', '10.80.0.2/24', 'dev', 'other0');
    ipn(NS.srv, 'link', 'set', 'other0', 'up');
    await leases.activate(active());
    const script = `
const Redis = require('ioredis');
const { Store } = require(${src('src/store/index.ts')});
const { KeaDhcpBackend, storeDevices } = require(${src('src/discovery/kea/index.ts')});
const { RedisLeaseStore } = require(${src('src/discovery/dhcp/leases.ts')});
(async () => {
  const redis = new Redis({ path: ${JSON.stringify(fx.sock)} });
  const store = new Store(redis, { secretKey: Buffer.from(${JSON.stringify(fx.key.toString('hex'))}, 'hex') });
  const kea = new KeaDhcpBackend({ leases: new RedisLeaseStore(redis), redis, interface: 'br0', serverAddress: '10.79.0.2',
    ztpBaseUrl: 'http://10.79.0.2:18080', dir: ${JSON.stringify(join(fx.dir, 'kea'))}, devices: storeDevices(store),
    tickMs: 250, learnLeaseSeconds: 8, log: (m) => console.log('LOG ' + m) });
  await kea.start();
  console.log('READY ' + kea.pid() + ' ' + kea.socket);
  process.on('SIGTERM', async () => { await kea.stop(); console.log('STOPPED'); redis.disconnect(); process.exit(0); });
})().catch((e) => { console.error('CHILD FAILED ' + (e && e.stack || e)); process.exit(1); });`;
    backend = spawn('ip', ['netns', 'exec', NS.srv, process.execPath, '-r', fx.hook, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    backend.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    backend.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    const ready = await waitFor('backend ready', () => /READY (\d+) (\S+)/.exec(log) ?? (log.includes('CHILD FAILED') ? (() => { throw new Error(log); })() : undefined), 30000)
      .catch((e: Error) => { throw new Error(`${e.message}: ${log}`); });
    keaPid = Number(ready[1]);
    sock = ready[2];
  }, 60000);

  afterAll(async () => {
    for (const c of clients) { try { if (c.pid) process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
    if (backend?.pid && backend.exitCode === null) {
      backend.kill('SIGTERM');
      await waitFor('backend stopped', () => backend!.exitCode !== null || undefined, 10000).catch(() => backend!.kill('SIGKILL'));
    }
    if (keaPid) { try { process.kill(keaPid, 'SIGKILL'); } catch { /* gone, as it should be */ } }
    for (const ns of Object.values(NS)) { try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ } }
    fx?.stop();
  }, 30000);

  test('kea-dhcp4 runs in the test namespace, listening on br0 only', async () => {
    expect(sh('ip', ['netns', 'identify', String(keaPid)]).trim()).toBe(NS.srv);
    expect(readFileSync(`/proc/${keaPid}/cmdline`, 'latin1')).toContain('kea-dhcp4');
    // This kernel lists neither Kea's UDP nor its packet sockets (ss, /proc/net/*): so the proof is
    // behavioural. other0 carries a management subnet of the fabric too; a client there gets nothing.
    const c = dhclient('c0', NS.cli3, 'KEAO000', 'FRR-frr-switch-KEAO000');
    await sleep(8000);
    expect(c.events().filter((e) => e.reason === 'BOUND')).toEqual([]);
    const keaLog = readFileSync(join(fx.dir, 'kea', 'kea-dhcp4.log'), 'utf8');
    expect(keaLog).toContain('listening on interface br0');
    expect(keaLog).not.toContain('other0');
    const cfg = JSON.parse(readFileSync(join(fx.dir, 'kea', 'kea-dhcp4.json'), 'utf8'));
    expect(cfg.Dhcp4['interfaces-config'].interfaces).toEqual(['br0']);
  });

  test('the backend announces itself as a live DHCP server (onboarding checks this)', async () => {
    const live = await liveDhcpServers(fx.redis);
    expect(live.map((x) => `${x.interface} ${x.address} ${x.backend}`)).toEqual(['br0 10.79.0.2 kea']);
  });

  test('a listed frr device: its lease, option 67 with a one-time token and 66, the lease in the store; a used token is renewed', async () => {
    const c = dhclient('c1', NS.cli, 'KEA0001', 'FRR-frr-switch-KEA0001');
    const bound = await waitFor('BOUND', () => c.events().find((e) => e.reason === 'BOUND'), 30000).catch((e: Error) => { throw new Error(`${e.message}: ${log} ${keaLog()}`); });
    expect(bound.new_ip_address).toBe('10.79.0.10');
    expect(bound.new_routers).toBe('10.79.0.1');
    expect(bound.new_dhcp_server_identifier).toBe('10.79.0.2');
    expect(bound.new_dhcp_lease_time).toBe('600');
    expect(bound.new_tftp_server_name).toBe('10.79.0.2');
    expect(bound.new_vendor_encapsulated_options).toBeUndefined();
    const m = /^http:\/\/10\.79\.0\.2:18080\/ztp\/KEA0001\?t=([0-9a-f]{32})$/.exec(bound.new_bootfile_name);
    expect(m).not.toBeNull();
    const l = await waitFor('lease in the store', async () => (await leases.get(FABRIC, '10.79.0.10')) ?? undefined);
    expect(l).toMatchObject({ serial: 'KEA0001', mac: '02:00:00:79:00:01', state: 'bound', subnet: '10.79.0.0/24', clientId: '004b454130303031' });
    // served once, as by the ZTP route
    expect(await leases.takeToken(m![1])).toMatchObject({ fabric: FABRIC, serial: 'KEA0001', platform: 'frr' });
    expect(await leases.takeToken(m![1])).toBeUndefined();
    // a device whose fetch failed asks DHCP again: it must get a new, live token
    release(NS.cli, c);
    await waitFor('lease gone from the store', async () => ((await leases.get(FABRIC, '10.79.0.10')) ? undefined : true));
    const c2 = dhclient('c1b', NS.cli, 'KEA0001', 'FRR-frr-switch-KEA0001');
    const again = await waitFor('BOUND again', () => c2.events().find((e) => e.reason === 'BOUND'), 30000);
    const t2 = tokenOf(again.new_bootfile_name);
    expect(t2).toBeDefined();
    expect(t2).not.toBe(m![1]);
    expect(await leases.takeToken(t2!)).toMatchObject({ serial: 'KEA0001' });
    release(NS.cli, c2);
  }, 90000);

  test('a listed Junos device gets option 43 (file, http, port) and 150, no option 67', async () => {
    const c = dhclient('c2', NS.cli, 'KEAJ002', 'Juniper-qfx5110-48s-4c-KEAJ002');
    const bound = await waitFor('BOUND', () => c.events().find((e) => e.reason === 'BOUND'), 30000);
    expect(bound.new_bootfile_name).toBeUndefined();
    const sub = opt43(bound.new_vendor_encapsulated_options);
    expect(sub.get(1)).toMatch(/^ztp\/KEAJ002\?t=[0-9a-f]{32}$/);
    expect(sub.get(3)).toBe('http');
    expect(sub.get(5)).toBe('18080');
    expect(bound.new_ztp_tftp_servers).toBe('10.79.0.2');
    expect(await leases.takeToken(tokenOf(sub.get(1))!)).toMatchObject({ serial: 'KEAJ002', platform: 'junos' });
    release(NS.cli, c);
  }, 60000);

  test('reservation by MAC: the reserved address', async () => {
    const c = dhclient('c3', NS.cli2, 'KEAM003', 'FRR-frr-switch-KEAM003');
    const bound = await waitFor('BOUND', () => c.events().find((e) => e.reason === 'BOUND'), 30000);
    expect(bound.new_ip_address).toBe('10.79.0.107');
    // not listed by serial: the MAC-keyed reservation's URL names the MAC
    expect(bound.new_bootfile_name).toMatch(/\/ztp\/020000790007\?t=[0-9a-f]{32}$/);
    release(NS.cli2, c);
  }, 60000);

  test('an unreserved client: a short lease without ZTP options, then learned: its options at the next request', async () => {
    const c = dhclient('c4', NS.cli, 'KEAX004', 'FRR-frr-switch-KEAX004');
    const bound = await waitFor('BOUND', () => c.events().find((e) => e.reason === 'BOUND'), 30000)
      .catch((e: Error) => { throw new Error(`${e.message}: ${readFileSync(join(fx.dir, 'kea', 'kea-dhcp4.log'), 'utf8').slice(-3000)}`); });
    expect(bound.new_dhcp_lease_time).toBe('8');
    expect(bound.new_bootfile_name).toBeUndefined();
    const l = await waitFor('lease in the store', async () => (await leases.list(FABRIC)).find((x) => x.serial === 'KEAX004'));
    expect(l.ip).toBe(bound.new_ip_address);
    // renewal at T1 (4 s): now reserved at its address, with both option forms (platform unknown)
    const renewed = await waitFor('RENEW with options', () => c.events().find((e) => e.reason === 'RENEW' && e.new_bootfile_name), 30000);
    expect(renewed.new_ip_address).toBe(bound.new_ip_address);
    expect(renewed.new_dhcp_lease_time).toBe('600');
    expect(tokenOf(renewed.new_bootfile_name)).toBeDefined();
    expect(await leases.takeToken(tokenOf(renewed.new_bootfile_name)!)).toMatchObject({ serial: 'KEAX004', platform: 'frr' });
    expect(opt43(renewed.new_vendor_encapsulated_options).get(1)).toMatch(/^ztp\/KEAX004\?t=/);
  }, 60000);

  test('when onboarding ends, leases the job released are deleted in Kea too', async () => {
    const before = await keaCommand<{ leases: { 'ip-address': string }[] }>(sock, 'lease4-get-all');
    expect(before.arguments!.leases.map((x) => x['ip-address'])).toContain((await leases.list(FABRIC)).find((x) => x.serial === 'KEAX004')!.ip);
    // the onboarding job's order (src/discovery/onboard.ts)
    await leases.deactivate(FABRIC);
    await releaseUnonboarded(leases, FABRIC, []);
    await waitFor('kea leases gone', async () => {
      const a = await keaCommand<{ leases: unknown[] }>(sock, 'lease4-get-all');
      return (a.arguments?.leases ?? []).length === 0 || undefined;
    }, 10000);
    await waitFor('config without the subnet', () => JSON.parse(readFileSync(join(fx.dir, 'kea', 'kea-dhcp4.json'), 'utf8')).Dhcp4.subnet4.length === 0 || undefined, 5000);
    expect(log).toContain('kea: released');
  }, 30000);

  test('stop ends kea-dhcp4', async () => {
    backend!.kill('SIGTERM');
    await waitFor('STOPPED', () => log.includes('STOPPED') || undefined, 10000);
    expect(() => process.kill(keaPid, 0)).toThrow();
    expect(await liveDhcpServers(fx.redis)).toEqual([]);
    expect(log).not.toContain('Kea-s3cret!');
  }, 20000);
});
