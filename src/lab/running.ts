// `lab up FILE --preconfigured --running DIR`: devices that boot with an FRR config someone else
// wrote (DIR/<device>.frr.conf, optional DIR/<device>.interfaces) as their committed config, so
// a test can stand a brownfield fabric the service has never configured.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LabUpOptions } from './backend';
import type { Topology } from './topology';

export type RunningConfigs = NonNullable<LabUpOptions['running']>;

/** Reads DIR; a file naming no device of the topology, or a directory without any, is an error. */
export function readRunningDir(dir: string, topo: Topology): RunningConfigs {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--running ${dir}: not a directory`);
  const devices = new Set(topo.devices.map((d) => d.name));
  const out: RunningConfigs = {};
  for (const f of readdirSync(dir).sort()) {
    const m = /^(.+)\.(frr\.conf|interfaces)$/.exec(f);
    if (!m) continue;
    if (!devices.has(m[1])) throw new Error(`--running ${dir}: ${f} names no device of lab ${topo.name} (devices: ${[...devices].join(', ')})`);
    const text = readFileSync(join(dir, f), 'utf8');
    const cur = Object.hasOwn(out, m[1]) ? out[m[1]] : (out[m[1]] = { frrConf: '' });
    if (m[2] === 'frr.conf') cur.frrConf = text; else cur.interfaces = text;
  }
  if (!Object.keys(out).length) throw new Error(`--running ${dir}: no <device>.frr.conf in it`);
  return out;
}

/** Why `opts.running` cannot be used with this topology, or undefined. */
export function checkRunning(topo: Topology, opts: LabUpOptions): string | undefined {
  if (!opts.running) return undefined;
  if (!opts.preconfigured) return '--running needs --preconfigured (a device in factory default runs no config)';
  const devices = new Set(topo.devices.map((d) => d.name));
  const unknown = Object.keys(opts.running).filter((d) => !devices.has(d));
  if (unknown.length) return `--running: no device ${unknown.join(', ')} in the topology`;
  for (const [d, c] of Object.entries(opts.running)) {
    // the config reaches vtysh as a file: a NUL or other control character is a broken file
    if (/[\u0000-\u0008\u000b-\u001f]/.test(c.frrConf + (c.interfaces ?? ''))) return `--running: ${d}'s config holds control characters`;
  }
  return undefined;
}
