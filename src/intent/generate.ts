// Generated Clos fabrics for benchmarks, the simulator and tests: N spines in pods, each
// leaf uplinked to every spine of its pod; spines 1..rrs are route reflectors, the other
// spines lean, leaves CRB-Access. Deterministic: same options, same file.
import { dump } from 'js-yaml';
import { DeviceSpec, FabricFile, LinkSpec } from '../domain/types';

export type ClosPlatform = 'frr' | 'junos';

export interface ClosOptions {
  spines: number;
  leaves: number;
  /** Spines 1..rrs get Route-Reflector (default 4, at most `spines`). */
  rrs?: number;
  /** Pods: spines are split evenly; leaves spread evenly (default 1). */
  pods?: number;
  /** frr: frr-switch everywhere; junos: QFX10008 spines, QFX5110 (or QFX5120) leaves. */
  platform?: ClosPlatform;
  /** Override the profile names. */
  spineProfile?: string;
  leafProfile?: string;
  name?: string;
}

function prefixFor(count: number, min: number): number {
  // smallest block (largest prefix) holding `count` addresses, never wider than /min
  let p = 32;
  while (p > min && 2 ** (32 - p) < count) p--;
  return p;
}

function junosSpinePort(k: number, leavesPerPod: number): string {
  // QFX10008 with 36-port cards: et-S/0/P up to 288 ports, else 4x10G breakouts xe-S/0/P:C.
  if (leavesPerPod <= 288) return `et-${Math.floor(k / 36)}/0/${k % 36}`;
  return `xe-${Math.floor(k / 144)}/0/${Math.floor((k % 144) / 4)}:${k % 4}`;
}

export function generateClos(o: ClosOptions): FabricFile {
  const pods = o.pods ?? 1;
  const rrs = Math.min(o.rrs ?? 4, o.spines);
  const platform = o.platform ?? 'frr';
  if (!Number.isInteger(o.spines) || o.spines < 1) throw new Error('generateClos: spines must be >= 1');
  if (!Number.isInteger(o.leaves) || o.leaves < 0) throw new Error('generateClos: leaves must be >= 0');
  if (!Number.isInteger(pods) || pods < 1 || o.spines % pods !== 0) {
    throw new Error(`generateClos: ${o.spines} spines do not split into ${pods} pods`);
  }
  const spp = o.spines / pods;
  const maxLeavesPerPod = Math.ceil(o.leaves / pods);
  let spineProfile = o.spineProfile;
  let leafProfile = o.leafProfile;
  if (platform === 'frr') {
    spineProfile ??= 'frr-switch';
    leafProfile ??= 'frr-switch';
  } else {
    if (spp > 8) throw new Error(`generateClos: junos leaves have at most 8 uplinks, pods have ${spp} spines`);
    if (maxLeavesPerPod > 1152) throw new Error('generateClos: a QFX10008 spine has at most 1152 ports');
    spineProfile ??= 'juniper-qfx10008';
    leafProfile ??= spp <= 4 ? 'juniper-qfx5110-48s-4c' : 'juniper-qfx5120-48y';
  }
  const pad = (n: number) => String(n).padStart(5, '0');
  const devices: DeviceSpec[] = [];
  for (let s = 1; s <= o.spines; s++) {
    devices.push({
      name: `spine${s}`, serial: `SP${pad(s)}`, profile: spineProfile, physicalRole: 'spine',
      roles: s <= rrs ? ['Route-Reflector'] : [],
    });
  }
  const links: LinkSpec[] = [];
  const podFill = new Array<number>(pods).fill(0);
  for (let l = 1; l <= o.leaves; l++) {
    devices.push({ name: `leaf${l}`, serial: `LF${pad(l)}`, profile: leafProfile, physicalRole: 'leaf', roles: ['CRB-Access'] });
    const pod = Math.floor(((l - 1) * pods) / o.leaves);
    const k = podFill[pod]++; // this leaf's index within its pod = its port on each pod spine
    for (let j = 0; j < spp; j++) {
      const spine = pod * spp + j + 1;
      const spinePort = platform === 'frr' ? `swp${k + 1}` : junosSpinePort(k, maxLeavesPerPod);
      const leafPort = platform === 'frr' ? `swp${j + 49}` : `et-0/0/${48 + j}`;
      links.push({ a: { device: `spine${spine}`, port: spinePort }, b: { device: `leaf${l}`, port: leafPort } });
    }
  }
  const n = devices.length;
  const loPrefix = prefixFor(n + 2, 9);
  const fabPrefix = prefixFor(links.length * 2, 9);
  return {
    fabric: {
      name: o.name ?? `clos-${o.spines}x${o.leaves}`,
      credentials: { username: 'admin', password: 'bench-only' },
      snmp: { community: 'fabric-ro' },
      namespaces: {
        management: [{ cidr: '172.16.0.0/12', gateway: '172.16.0.1' }],
        loopback: [`10.128.0.0/${loPrefix}`],
        fabric: [`10.0.0.0/${fabPrefix}`],
        asn: [{ min: 4200000000, max: 4200000000 + Math.max(n, 1) + 999 }],
        overlayAsn: 64512,
      },
    },
    devices,
    links,
  };
}

/** The fabric file as YAML text: one flow line per device and per link (`[a:port, b:port]`). */
export function fabricToYaml(file: FabricFile): string {
  const lines = [dump({ fabric: file.fabric }, { flowLevel: 3, lineWidth: -1 }).trimEnd(), 'devices:'];
  for (const d of file.devices) lines.push(`  - ${dump(d, { flowLevel: 0, lineWidth: -1 }).trimEnd()}`);
  lines.push('links:');
  for (const l of file.links) lines.push(`  - [${l.a.device}:${l.a.port}, ${l.b.device}:${l.b.port}]`);
  return `${lines.join('\n')}\n`;
}
