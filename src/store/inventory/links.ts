// Links of a fabric (the cabling): checked against the devices and their node profiles'
// ports, written in version-checked commits that mark the devices whose peers changed.
import { linkKey } from '../../domain/types';
import type { Allocations } from '../../domain/types';
import type { Actor, LinkInput, LinkRecord, ReplaceLinksResult } from '../types';
import { conflict, invalid, notFound } from '../errors';
import { emptyAllocations } from '../domain';
import type { StoreCore } from '../core';
import { execValues } from '../core';
import { endText, fileOf, linkRecords, mapOf, sameJson, type Snapshot } from '../model';

function peersOf(links: Map<string, LinkInput>): Map<string, string> {
  const m = new Map<string, string>(); // "dev:port" -> "peer:port"
  for (const l of links.values()) { m.set(endText(l.a), endText(l.b)); m.set(endText(l.b), endText(l.a)); }
  return m;
}

export class LinkStore {
  constructor(private readonly core: StoreCore) {}

  private get k() { return this.core.keys; }

  async listLinks(f: string): Promise<LinkRecord[]> {
    const res = await execValues(this.core.redis.pipeline().hexists(this.k.fabrics, f).hgetall(this.k.fabric(f, 'links')).get(this.k.fabric(f, 'alloc')));
    if (!res[0]) throw notFound(`fabric ${f}`);
    const alloc = res[2] ? JSON.parse(res[2] as string) as Allocations : emptyAllocations();
    return linkRecords(mapOf<LinkInput>(res[1] as Record<string, string>), alloc);
  }

  /** Checks new links: ends on existing devices, distinct ends, no port used twice. */
  private checkLinks(s: Snapshot, links: LinkInput[], keep: Map<string, LinkInput>): Map<string, LinkInput> {
    const out = new Map(keep);
    const used = new Map<string, string>();
    for (const [k, l] of keep) { used.set(endText(l.a), k); used.set(endText(l.b), k); }
    links.forEach((l, i) => {
      for (const side of ['a', 'b'] as const) {
        const e = l?.[side];
        if (!e || typeof e.device !== 'string' || typeof e.port !== 'string' || !e.port) {
          throw invalid(`links[${i}].${side}: expected {device, port}`, `links[${i}].${side}`);
        }
        if (!s.devices.has(e.device)) throw invalid(`links[${i}].${side}.device: no device ${e.device} in fabric ${s.fabric!.name}`, `links[${i}].${side}.device`);
      }
      if (l.a.device === l.b.device && l.a.port === l.b.port) throw invalid(`links[${i}]: both ends are ${endText(l.a)}`, `links[${i}]`);
      const k = linkKey(l);
      if (out.has(k)) throw conflict(`links[${i}]: link ${k} already exists`, `links[${i}]`);
      for (const side of ['a', 'b'] as const) {
        const other = used.get(endText(l[side]));
        if (other) throw conflict(`links[${i}].${side}: port ${endText(l[side])} is already cabled (${other})`, `links[${i}].${side}`);
      }
      const rec: LinkInput = { a: { device: l.a.device, port: l.a.port }, b: { device: l.b.device, port: l.b.port } };
      if (l.anomaly) rec.anomaly = l.anomaly;
      out.set(k, rec);
      used.set(endText(l.a), k);
      used.set(endText(l.b), k);
    });
    // Port names against node profiles: validate the planned links among spec-complete devices.
    this.core.validateFile(fileOf({ ...s, links: out }));
    return out;
  }

  /** Adds links; both ends' devices are marked needsConfig. */
  async addLinks(f: string, links: LinkInput[], ctx: Actor = {}): Promise<LinkRecord[]> {
    return this.core.mutate(f, 'addLinks', (s, tx) => {
      this.core.need(s, f);
      const next = this.checkLinks(s, links, s.links);
      const added = [...next.entries()].filter(([k]) => !s.links.has(k));
      tx.hsetMany(this.k.fabric(f, 'links'), added.map(([k, l]) => [k, JSON.stringify(l)]));
      const devs = new Set(added.flatMap(([, l]) => [l.a.device, l.b.device]));
      if (devs.size) tx.op('SADD', this.k.fabric(f, 'needs'), ...devs);
      this.core.event(tx, f, { actor: ctx.actor, action: 'links.added', object: `fabric/${f}`, details: { links: added.map(([k]) => k) } });
      return linkRecords(new Map(added), s.alloc);
    });
  }

  /**
   * Replaces every link of the fabric (discovery's topology). Devices whose peers changed are
   * marked needsConfig; subnets of removed links are freed, kept links keep theirs.
   * `links` may be a function of the stored links (a read-modify-write inside the transaction).
   */
  async replaceLinks(f: string, links: LinkInput[] | ((cur: LinkInput[]) => LinkInput[]), ctx: Actor = {}): Promise<ReplaceLinksResult> {
    return this.core.mutate(f, 'replaceLinks', (s, tx) => {
      this.core.need(s, f);
      const wanted = typeof links === 'function' ? links([...s.links.values()].map((l) => structuredClone(l))) : links;
      const next = this.checkLinks(s, wanted, new Map());
      const removed = [...s.links.keys()].filter((k) => !next.has(k));
      const added = [...next.keys()].filter((k) => !s.links.has(k));
      const changedAnomaly = [...next.keys()].filter((k) => s.links.has(k) && !sameJson(s.links.get(k), next.get(k)));
      const before = peersOf(s.links);
      const after = peersOf(next);
      const changed = new Set<string>();
      for (const end of new Set([...before.keys(), ...after.keys()])) {
        if (before.get(end) !== after.get(end)) changed.add(end.slice(0, end.indexOf(':')));
      }
      const changedDevices = [...changed].filter((d) => s.devices.has(d)).sort();
      const result: ReplaceLinksResult = { added: added.length, removed: removed.length, changedDevices };
      if (!removed.length && !added.length && !changedAnomaly.length) return result;
      tx.hdelMany(this.k.fabric(f, 'links'), removed);
      tx.hsetMany(this.k.fabric(f, 'links'), [...added, ...changedAnomaly].map((k) => [k, JSON.stringify(next.get(k))]));
      if (removed.some((k) => Object.hasOwn(s.alloc.links, k))) {
        const alloc: Allocations = { ...s.alloc, links: { ...s.alloc.links } };
        for (const k of removed) delete alloc.links[k];
        tx.op('SET', this.k.fabric(f, 'alloc'), JSON.stringify(alloc));
      }
      if (changedDevices.length) tx.op('SADD', this.k.fabric(f, 'needs'), ...changedDevices);
      this.core.event(tx, f, { actor: ctx.actor ?? 'discovery', action: 'links.replaced', object: `fabric/${f}`, details: { added, removed, changedDevices } });
      return result;
    });
  }
}
