// Our SNMP client (v2c and v3 authPriv SHA/AES) against real lldpd + snmpd (AgentX) in two
// namespaces of our own, cabled deva:swp1 -- devb:swp2. The reads run inside each namespace
// (a child process on its loopback), so nothing leaves the namespaces.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeIf } from '../helpers/env';
import { buildTopology } from '../../src/discovery/topology';

const ROOT = resolve(__dirname, '../..');
const tag = `ds${randomBytes(2).toString('hex')}`;
const NS = { a: `${tag}-deva`, b: `${tag}-devb` };
const V3 = { user: 'fabric', authKey: 'authpass123', privKey: 'privpass123' };

const sh = (cmd: string, args: string[], opts: { input?: string } = {}): string => execFileSync(cmd, args, { encoding: 'utf8', ...opts });

describeIf({ root: true, commands: ['ip', 'lldpd', 'lldpcli', 'snmpd'] })('SNMP LLDP-MIB from real lldpd + snmpd', () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  let hook: string;

  /** Reads system + LLDP of the snmpd on the namespace's loopback with our client. */
  function readIn(ns: string, settings: unknown, timeoutMs = 2000): any {
    const script = `
const { readDevice } = require(${JSON.stringify(join(ROOT, 'src/discovery/snmp.ts'))});
readDevice('127.0.0.1', { settings: ${JSON.stringify(settings)}, timeoutMs: ${timeoutMs}, retries: 0 })
  .then((r) => { console.log(JSON.stringify(r)); process.exit(0); }, (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(0); });`;
    return JSON.parse(sh('ip', ['netns', 'exec', ns, process.execPath, '-r', hook, '-e', script]).trim().split('\n').pop()!);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `${tag}-`));
    chmodSync(dir, 0o755);
    hook = join(dir, 'ts-hook.js');
    writeFileSync(hook, `const ts = require(${JSON.stringify(require.resolve('typescript'))}); const fs = require('fs');
require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: f }).outputText, f);\n`);
    for (const ns of Object.values(NS)) { sh('ip', ['netns', 'add', ns]); sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']); }
    sh('ip', ['-n', NS.a, 'link', 'add', 'swp1', 'type', 'veth', 'peer', 'name', 'swp2', 'netns', NS.b]);
    sh('ip', ['-n', NS.a, 'link', 'set', 'swp1', 'up']);
    sh('ip', ['-n', NS.b, 'link', 'set', 'swp2', 'up']);
    for (const [k, ns] of Object.entries(NS)) {
      const name = k === 'a' ? 'deva' : 'devb';
      const d = join(dir, name);
      mkdirSync(join(d, 'persist'), { recursive: true });
      const agentx = join(d, 'agentx.sock');
      writeFileSync(join(d, 'snmpd.conf'), [
        'agentAddress udp:127.0.0.1:161',
        'master agentx',
        `agentXSocket ${agentx}`,
        `sysName ${name}`,
        'rocommunity fabric-ro 127.0.0.1',
        `createUser ${V3.user} SHA "${V3.authKey}" AES "${V3.privKey}"`,
        `rouser ${V3.user} priv`,
        '',
      ].join('\n'));
      procs.push(spawn('ip', ['netns', 'exec', ns, 'snmpd', '-f', '-C', '-c', join(d, 'snmpd.conf'), '-Lf', join(d, 'snmpd.log'), '-p', join(d, 'snmpd.pid')], {
        stdio: 'ignore', env: { ...process.env, SNMP_PERSISTENT_DIR: join(d, 'persist'), MIBS: '' },
      }));
      await new Promise((r) => setTimeout(r, 500)); // snmpd creates the AgentX socket
      const ctl = join(d, 'lldpd.sock');
      procs.push(spawn('ip', ['netns', 'exec', ns, 'lldpd', '-d', '-u', ctl, '-x', '-X', agentx, '-I', 'swp*'], { stdio: 'ignore' }));
      for (let i = 0; i < 50; i++) {
        try { execFileSync('ip', ['netns', 'exec', ns, 'lldpcli', '-u', ctl, 'show', 'configuration'], { stdio: 'ignore' }); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
      }
      sh('ip', ['netns', 'exec', ns, 'lldpcli', '-u', ctl], { input: `configure system hostname ${name}\nconfigure lldp portidsubtype ifname\nconfigure lldp tx-interval 1\n` });
    }
  }, 60_000);

  afterAll(() => {
    for (const p of procs) { try { if (p.pid) process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ } }
    // lldpd forks a privilege-separated child: whatever still runs in our namespaces goes by pid.
    for (const ns of Object.values(NS)) {
      try {
        for (const pid of sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean)) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
      } catch { /* no namespace */ }
      try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('v2c: sysName, sysObjectID, LLDP neighbor with the local port named by lldpLocPortTable', async () => {
    let a: any;
    for (let i = 0; i < 40; i++) {
      a = readIn(NS.a, { community: 'fabric-ro' });
      if (a.neighbors?.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(a.error).toBeUndefined();
    expect(a.sysName).toBe('deva');
    expect(a.sysObjectID).toBe('1.3.6.1.4.1.8072.3.2.10');
    expect(a.chassisId).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(a.neighbors).toHaveLength(1);
    expect(a.neighbors[0]).toMatchObject({ localPort: 'swp1', remoteSysName: 'devb', remotePortId: 'swp2', remotePortIdSubtype: 5 });
  }, 40_000);

  test('v3 authPriv (SHA/AES) from the other end; both ends agree on one link', async () => {
    let b: any;
    for (let i = 0; i < 40; i++) {
      b = readIn(NS.b, { v3: V3 });
      if (b.neighbors?.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(b.error).toBeUndefined();
    expect(b.sysName).toBe('devb');
    expect(b.neighbors[0]).toMatchObject({ localPort: 'swp2', remoteSysName: 'deva', remotePortId: 'swp1' });
    const a = readIn(NS.a, { community: 'fabric-ro' });
    const topo = buildTopology([
      { name: 'deva', chassisIds: [a.chassisId], neighbors: a.neighbors },
      { name: 'devb', chassisIds: [b.chassisId], neighbors: b.neighbors },
    ]);
    expect(topo.anomalies).toEqual([]);
    expect(topo.links).toEqual([{ a: { device: 'deva', port: 'swp1' }, b: { device: 'devb', port: 'swp2' }, addressed: true }]);
  }, 40_000);

  test('a wrong v3 key or community: a clear per-device error, no hang', () => {
    const r = readIn(NS.a, { community: 'nope' }, 300);
    expect(r.error).toBe('snmp 127.0.0.1: timeout after 300 ms x 1 (no answer: wrong address, community or v3 user?)');
    const v = readIn(NS.a, { v3: { ...V3, authKey: 'wrongpass123' } }, 300);
    expect(v.error).toMatch(/^snmp 127\.0\.0\.1: /);
    expect(v.error).not.toContain('wrongpass123');
  });
});
