// Which netdev kinds the running kernel can create: try each in a scratch namespace (or, inside a
// device, with a throw-away name) and delete it again. Results are cached per process.
import { randomBytes } from 'node:crypto';
import type { KernelFeature } from './topology';
import { inNs, run } from './sh';

export type Feature = KernelFeature | 'dummy';

const PROBES: Record<Feature, (n: string) => string[][]> = {
  bridge: (n) => [['ip', 'link', 'add', n, 'type', 'bridge']],
  vxlan: (n) => [['ip', 'link', 'add', n, 'type', 'vxlan', 'id', '42', 'dstport', '4789']],
  bond: (n) => [['ip', 'link', 'add', n, 'type', 'bond']],
  vrf: (n) => [['ip', 'link', 'add', n, 'type', 'vrf', 'table', '4242']],
  dummy: (n) => [['ip', 'link', 'add', n, 'type', 'dummy']],
  'vlan-filtering': (n) => [['ip', 'link', 'add', n, 'type', 'bridge', 'vlan_filtering', '1']],
  vlan: (n) => [
    ['ip', 'link', 'add', `${n}a`, 'type', 'veth', 'peer', 'name', `${n}b`],
    ['ip', 'link', 'add', 'link', `${n}a`, 'name', n, 'type', 'vlan', 'id', '42'],
  ],
};

const cache = new Map<Feature, boolean>();

/**
 * Probes the kernel (each feature once per process; `only`: just those, which is what a device
 * agent's validate asks, since every probe is a process start, seconds each under emulation).
 * It creates (and always deletes) a scratch namespace `kprobe-<random>`; inside a device pass
 * `inside: true` to probe in the current namespace.
 */
export async function kernelFeatures(opts: { inside?: boolean; only?: readonly string[] } = {}): Promise<Map<Feature, boolean>> {
  const wanted = (Object.keys(PROBES) as Feature[]).filter((f) => !opts.only || opts.only.includes(f));
  const todo = wanted.filter((f) => !cache.has(f));
  if (todo.length) {
    const tag = randomBytes(3).toString('hex');
    const ns = opts.inside ? undefined : `kprobe-${tag}`;
    if (ns) {
      const r = await run(['ip', 'netns', 'add', ns]);
      if (r.code !== 0) throw new Error(`cannot create a network namespace (${r.stderr.trim()}); the twin needs root`);
    }
    try {
      for (const f of todo) {
        const name = `kp${tag}`;
        let ok = true;
        for (const argv of PROBES[f](name)) {
          const r = await run(inNs(ns, argv), { timeoutMs: 5000 });
          if (r.code !== 0) { ok = false; break; }
        }
        cache.set(f, ok);
        await run(inNs(ns, ['ip', 'link', 'del', name]));
        if (f === 'vlan') await run(inNs(ns, ['ip', 'link', 'del', `${name}a`]));
      }
    } finally {
      if (ns) await run(['ip', 'netns', 'del', ns]);
    }
  }
  return new Map(wanted.map((f) => [f, cache.get(f)!]));
}

export function missingFeatures(have: Map<Feature, boolean>, need: string[]): string[] {
  return need.filter((f) => have.get(f as Feature) === false);
}

const HUMAN: Record<string, string> = {
  bond: 'bonding', vlan: '802.1Q VLANs', vrf: 'VRF', 'vlan-filtering': 'bridge VLAN filtering',
  dummy: 'dummy interfaces', vxlan: 'VXLAN', bridge: 'bridges',
};

export function describeMissing(missing: string[]): string {
  return missing.map((m) => HUMAN[m] ?? m).join(', ');
}
