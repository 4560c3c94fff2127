// Outside routers of a twin (topology `routers:`, issue 16): FRR nodes that are not part of the
// fabric (no agent, no management port, never discovered or pushed to), each running the
// frr.conf its topology entry names, cabled like devices. The netns backend makes their
// namespaces and cables with the devices'; this starts their daemons (recorded by pid, so
// `down` stops them) and loads the config. Used to stand an outside network behind a DC gateway.
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { TopoRouter } from './topology';
import { recordPidTo } from './state';
import { must, run, spawnDaemon, waitFor } from './sh';

export const ROUTER_DAEMONS = ['zebra', 'bgpd', 'staticd'] as const;

function frrIds(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('frr:'));
  if (!line) return undefined;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** The config file of a router: absolute, or relative to `baseDir` (the topology file's folder, else the cwd). */
export function routerConfigPath(r: TopoRouter, baseDir?: string): string {
  return isAbsolute(r.config) ? r.config : resolve(baseDir ?? process.cwd(), r.config);
}

/**
 * Starts FRR in the router's namespace `ns` (pathspace = ns) and loads its config with vtysh;
 * throws naming the router when the file is missing or FRR refuses it.
 */
export async function startRouter(r: TopoRouter, ns: string, opts: { runDir: string; pidFile: string; baseDir?: string }): Promise<void> {
  const conf = routerConfigPath(r, opts.baseDir);
  if (!existsSync(conf)) throw new Error(`router ${r.name}: config ${conf} does not exist`);
  await must(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  const runDir = `/var/run/frr/${ns}`;
  const etcDir = `/etc/frr/${ns}`;
  const ids = frrIds();
  for (const d of [runDir, etcDir]) {
    mkdirSync(d, { recursive: true });
    if (ids) chownSync(d, ids.uid, ids.gid);
  }
  for (const d of ROUTER_DAEMONS) rmSync(join(runDir, `${d}.pid`), { force: true });
  writeFileSync(join(etcDir, 'vtysh.conf'), '');
  mkdirSync(opts.runDir, { recursive: true });
  for (const d of ROUTER_DAEMONS) {
    const pid = spawnDaemon(['ip', 'netns', 'exec', ns, `/usr/lib/frr/${d}`, '-N', ns, '--log', 'stdout'], join(opts.runDir, `${d}.log`));
    recordPidTo(opts.pidFile, pid, r.name, d);
  }
  const vtysh = ['vtysh', '-N', ns];
  await waitFor(`router ${r.name}: FRR vty sockets`, () => ROUTER_DAEMONS.every((d) => existsSync(join(runDir, `${d}.vty`))), 30_000, 50);
  await waitFor(`router ${r.name}: vtysh`, async () => (await run([...vtysh, '-c', 'show version'], { timeoutMs: 5000 })).code === 0, 30_000, 100);
  const loaded = await run([...vtysh, '-f', conf], { timeoutMs: 30_000 });
  if (loaded.code !== 0) throw new Error(`router ${r.name}: FRR refused ${conf}: ${(loaded.stderr || loaded.stdout).trim().split('\n').slice(-3).join(' | ')}`);
}
