// Brownfield adoption against the store: checks what the devices run (src/discovery/adopt.ts)
// against each other, the namespaces and what is already allocated, and records it as the
// fabric's allocations in one transaction (importAllocations), so the pools never hand it out.
import type { LinkSpec } from '../domain/types';
import { linkKey } from '../domain/types';
import { JobFailedError } from '../jobs/errors';
import type { LinkRecord, Store } from '../store';
import type { RunningUnderlay } from '../platforms/types';
import { adoptUnderlay } from './adopt';

export interface AdoptSummary { loopbacks: number; asns: number; links: number; outsidePools: string[]; notes: string[] }

export async function adoptAndRecord<L extends LinkSpec>(store: Store, fabric: string, o: {
  devices: { name: string; underlay: RunningUnderlay }[];
  /** devices whose running underlay could not be read: named in the notes */
  unread?: string[];
  /** every link the topology found; `existing` are stored already, `fresh` are about to be */
  found: LinkSpec[];
  existing: LinkRecord[];
  fresh: L[];
  adoptOutsidePools: boolean;
  /**
   * false: autoconfigure leaves the running underlay alone and adds the overlay and services.
   * Omitted: what the fabric says already (onboarding again changes nothing), else false.
   */
  manageUnderlay?: boolean;
  log: (m: string) => Promise<void>;
}): Promise<{ fresh: L[]; summary: AdoptSummary; record: () => Promise<void> }> {
  const { file, allocations: cur } = await store.getFabricFile(fabric);
  // A stored link is judged by its stored ends (LLDP may name them the other way round)
  const stored = new Map(o.existing.map((l) => [linkKey(l), l]));
  const links = o.found.map((l) => stored.get(linkKey(l)) ?? l);
  const r = adoptUnderlay({ devices: o.devices, links, namespaces: file.fabric.namespaces });
  const conflicts = [...r.conflicts];
  // Already allocated (an earlier run, a planned device) and running something else: the
  // record would renumber either the network or the fabric's intent. Refused, both named.
  for (const [d, ip] of Object.entries(r.allocations.loopbacks)) {
    if (Object.hasOwn(cur.loopbacks, d) && cur.loopbacks[d] !== ip) conflicts.push(`${d} runs loopback ${ip}, the fabric has ${cur.loopbacks[d]} allocated to it`);
    const holder = Object.entries(cur.loopbacks).find(([h, v]) => v === ip && h !== d);
    if (holder) conflicts.push(`${d} runs loopback ${ip}, allocated to ${holder[0]} in the fabric`);
  }
  for (const [d, asn] of Object.entries(r.allocations.asns)) {
    if (Object.hasOwn(cur.asns, d) && cur.asns[d] !== asn) conflicts.push(`${d} runs ASN ${asn}, the fabric has ${cur.asns[d]} allocated to it`);
    const holder = Object.entries(cur.asns).find(([h, v]) => v === asn && h !== d);
    if (holder) conflicts.push(`${d} runs ASN ${asn}, allocated to ${holder[0]} in the fabric`);
  }
  for (const [k, cidr] of Object.entries(r.allocations.links)) {
    if (Object.hasOwn(cur.links, k) && cur.links[k] !== cidr) conflicts.push(`link ${k} runs ${cidr}, the fabric has ${cur.links[k]} allocated to it`);
  }
  // A stored link gives its `a` end the lower address; one stored the other way round cannot keep what runs.
  for (const k of r.swap) if (stored.has(k)) conflicts.push(`link ${k}: its b end runs the lower address of ${r.allocations.links[k]}, stored the other way round`);
  const summary: AdoptSummary = {
    loopbacks: Object.keys(r.allocations.loopbacks).length, asns: Object.keys(r.allocations.asns).length, links: Object.keys(r.allocations.links).length,
    outsidePools: r.outside, notes: [...(o.unread ?? []), ...r.notes],
  };
  for (const n of r.notes) await o.log(`adopt: ${n}`);
  for (const n of r.outside) await o.log(`adopt: ${n}`);
  if (conflicts.length) {
    for (const c of conflicts) await o.log(`adopt: conflict: ${c}`);
    throw new JobFailedError(`brownfield adoption refused: ${conflicts.join('; ')}`, { conflicts, outsidePools: r.outside });
  }
  if (r.outside.length && !o.adoptOutsidePools) {
    throw new JobFailedError(`brownfield adoption refused: ${r.outside.length} running value(s) outside the fabric's namespaces: ${r.outside.join('; ')} (widen the namespaces, or onboard again with adoptOutsidePools: true)`, { outsidePools: r.outside });
  }
  const swap = new Set(r.swap);
  const fresh = o.fresh.map((l) => (swap.has(linkKey(l)) ? { ...l, a: l.b, b: l.a } : l));
  const record = async (): Promise<void> => {
    // Something adopted: the fabric keeps the running ASNs (settings.brownfield, same write).
    // Devices that run nothing (a preconfigured box without config) leave the fabric as it was.
    const any = summary.loopbacks + summary.asns + summary.links > 0;
    const manageUnderlay = o.manageUnderlay ?? file.fabric.settings?.brownfield?.manageUnderlay ?? false;
    await store.importAllocations(fabric, r.allocations, { actor: 'onboard' }, { widenPools: o.adoptOutsidePools, ...(any ? { brownfield: { manageUnderlay } } : {}) });
    await o.log(`adopt: recorded ${summary.loopbacks} loopback(s), ${summary.asns} ASN(s), ${summary.links} link subnet(s) as running${r.outside.length ? ` (${r.outside.length} outside the namespaces, pools widened)` : ''}`);
  };
  return { fresh, summary, record };
}
