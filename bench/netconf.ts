/**
 * NETCONF benchmark: N concurrent sessions (default 200), each doing hello + get-config +
 * edit-config + commit, against the server core serving N devices on 127.0.1.1..127.0.1.N
 * (one device per loopback address) in a separate process, so client and server memory are
 * measured apart.
 *
 *   npx tsc -p . && node --expose-gc dist/bench/netconf.js [--sessions 200] [--rounds 3]
 *
 * Traffic stays on 127.0.0.0/8.
 */
import { fork, ChildProcess } from 'node:child_process';
import { NetconfServer, NetconfDevice, NetconfListener, generateHostKey, staticUsers } from '../src/lab/netconf-server';
import { NetconfClient } from '../src/netconf/client';

interface Mem {
  rss: number;
  heapUsed: number;
}

function mem(): Mem {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

const CONFIG = (i: number) =>
  `<system xmlns="urn:example:system"><hostname>leaf${i}</hostname></system>` +
  `<interfaces xmlns="urn:example:if">${Array.from({ length: 8 }, (_, k) => `<interface><name>swp${k + 1}</name><mtu>9216</mtu></interface>`).join('')}</interfaces>`;

// ---------------------------------------------------------------- server process
async function serverMain(n: number): Promise<void> {
  const server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'admin', password: 'admin123' }]) });
  const listeners: NetconfListener[] = [];
  for (let i = 1; i <= n; i++) {
    const dev = new NetconfDevice({ id: `leaf${i}`, running: CONFIG(i), hooks: { apply: () => undefined } });
    listeners.push(await server.listen(dev, { host: `127.0.1.${i}`, port: 0 }));
  }
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'mem') {
      const cpu = process.cpuUsage();
      process.send!({ mem: mem(), cpuMs: (cpu.user + cpu.system) / 1000, sessions: listeners.reduce((s, l) => s + l.device.sessions.size, 0) });
    }
    if (m.cmd === 'stop') void server.close().then(() => process.exit(0));
  });
  process.send!({ ready: listeners.map((l) => ({ host: l.host, port: l.port })) });
}

function ask<T>(child: ChildProcess, cmd: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
    child.send({ cmd });
  });
}

// ---------------------------------------------------------------- client side
async function oneSession(target: { host: string; port: number }, i: number): Promise<NetconfClient> {
  const c = await NetconfClient.connect({ host: target.host, port: target.port, deviceId: `leaf${i}`, username: 'admin', password: 'admin123', connectTimeoutMs: 120_000, rpcTimeoutMs: 120_000 });
  await c.getConfig('running');
  await c.editConfig({ target: 'candidate', config: `<system xmlns="urn:example:system"><hostname>leaf${i}-b</hostname></system>` });
  await c.commit();
  return c;
}

async function clientMain(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, def: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const n = arg('--sessions', 200);
  const rounds = arg('--rounds', 3);
  if (n < 1 || n > 250) throw new Error('--sessions must be 1..250 (one loopback address per device: 127.0.1.1..127.0.1.250)');
  const child = fork(__filename, ['--server', String(n)], { execArgv: ['--expose-gc'] });
  try {
    const ready = await new Promise<{ host: string; port: number }[]>((resolve, reject) => {
      child.once('message', (m: { ready: { host: string; port: number }[] }) => resolve(m.ready));
      child.once('exit', (code) => reject(new Error(`server process exited ${code}`)));
    });
    const sb = await ask<{ mem: Mem; cpuMs: number }>(child, 'mem');
    const serverBase = sb.mem;
    let serverCpu = sb.cpuMs;
    const clientBase = mem();
    const results: {
      round: number;
      wallMs: number;
      perSec: number;
      clientRss: number;
      clientHeap: number;
      serverRss: number;
      serverHeap: number;
      clientCpuMs: number;
      serverCpuMs: number;
      errors: number;
    }[] = [];
    for (let r = 1; r <= rounds; r++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const settled = await Promise.allSettled(ready.map((t, i) => oneSession(t, i + 1)));
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const c1 = process.cpuUsage(c0);
      const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const errors = settled.length - clients.length;
      for (const s of settled) if (s.status === 'rejected') console.error(String(s.reason));
      // all sessions still open: measure memory on both sides
      const cm = mem();
      const sm = await ask<{ mem: Mem; cpuMs: number; sessions: number }>(child, 'mem');
      if (sm.sessions !== clients.length) console.error(`server sees ${sm.sessions} sessions, client holds ${clients.length}`);
      results.push({
        round: r,
        wallMs,
        perSec: (clients.length / wallMs) * 1000,
        clientRss: (cm.rss - clientBase.rss) / n,
        clientHeap: (cm.heapUsed - clientBase.heapUsed) / n,
        serverRss: (sm.mem.rss - serverBase.rss) / n,
        serverHeap: (sm.mem.heapUsed - serverBase.heapUsed) / n,
        clientCpuMs: (c1.user + c1.system) / 1000 / n,
        serverCpuMs: (sm.cpuMs - serverCpu) / n,
        errors,
      });
      serverCpu = sm.cpuMs;
      await Promise.all(clients.map((c) => c.close()));
      serverCpu = (await ask<{ cpuMs: number }>(child, 'mem')).cpuMs; // closing is not part of the next round
    }
    const kib = (b: number) => (b / 1024).toFixed(0);
    console.log(`NETCONF bench: ${n} concurrent sessions x (hello + get-config + edit-config + commit), ${rounds} rounds, node ${process.version}`);
    console.log(`load average at start: ${require('node:os').loadavg().map((x: number) => x.toFixed(1)).join(' ')}`);
    console.log('| round | wall | sessions/s | client CPU/session | server CPU/session | client RSS/session | client heap/session | server RSS/session | server heap/session | errors |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const x of results) {
      console.log(
        `| ${x.round} | ${(x.wallMs / 1000).toFixed(2)} s | ${x.perSec.toFixed(0)} | ${x.clientCpuMs.toFixed(1)} ms | ${x.serverCpuMs.toFixed(1)} ms | ${kib(x.clientRss)} KiB | ${kib(x.clientHeap)} KiB | ${kib(x.serverRss)} KiB | ${kib(x.serverHeap)} KiB | ${x.errors} |`,
      );
    }
    if (results.some((x) => x.errors > 0)) process.exitCode = 1;
  } finally {
    child.send({ cmd: 'stop' });
    await new Promise((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r(undefined);
      }, 5000);
      child.once('exit', () => {
        clearTimeout(t);
        r(undefined);
      });
    });
  }
}

if (process.argv[2] === '--server') {
  void serverMain(Number(process.argv[3]));
} else {
  clientMain().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
