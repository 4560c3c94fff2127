// FRR render layout. FRR's config is one file with fixed sections (interfaces, bfd, router bgp
// with its address families), but each feature contributes to several of them. A feature
// template therefore marks its output with section lines `#@ <section>`; the layout gathers
// each section across features (in feature order) and frr/_frr.conf.njk lays them out. The
// `ifupdown` section goes to `<device>.interfaces` (ifupdown2 syntax).
import type { DevicePlan } from '../../domain/types';
import { RenderError } from '../../render/errors';
import { stripBlankEdges } from '../layout';
import type { FeatureOutput, TemplateHost } from '../types';

/** Sections of an FRR config, in the order the skeleton writes them. */
export const FRR_SECTIONS = [
  'global', 'interfaces', 'bfd', 'bgp', 'bgp_neighbors', 'af_ipv4', 'af_evpn', 'tail', 'ifupdown',
] as const;
export type FrrSection = (typeof FRR_SECTIONS)[number];

const MARKER = /^#@ ([a-z0-9_]+)[ \t]*$/;

export function frrLayout(plan: DevicePlan, outputs: FeatureOutput[], host: TemplateHost): Record<string, string> {
  const parts: Record<FrrSection, string[]> = Object.fromEntries(FRR_SECTIONS.map((s) => [s, []])) as never;
  for (const { template, text } of outputs) {
    let section: FrrSection | undefined;
    let from = 0;
    const take = (to: number) => {
      const chunk = stripBlankEdges(text.slice(from, to));
      if (chunk === '') return;
      if (section === undefined) throw new RenderError(`template ${template}: text before the first #@ section line`);
      parts[section].push(chunk);
    };
    const marker = new RegExp(MARKER.source, 'gm');
    for (let m = marker.exec(text); m !== null; m = marker.exec(text)) {
      take(m.index);
      if (!(FRR_SECTIONS as readonly string[]).includes(m[1])) {
        throw new RenderError(`template ${template}: unknown section ${m[1]}`);
      }
      section = m[1] as FrrSection;
      from = m.index + m[0].length;
    }
    take(text.length);
  }
  const s = Object.fromEntries(FRR_SECTIONS.map((k) => [k, parts[k].join('\n')])) as Record<FrrSection, string>;
  const files: Record<string, string> = {
    [`${plan.name}.frr.conf`]: host.render('frr/_frr.conf.njk', { p: plan, s }),
  };
  if (s.ifupdown !== '') {
    files[`${plan.name}.interfaces`] = host.render('frr/_interfaces.njk', { p: plan, s });
  }
  return files;
}
