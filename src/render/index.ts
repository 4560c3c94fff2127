// Rendering: DevicePlan + templates/<platform>/<feature>.njk -> config files. Pure: the only IO
// is reading the templates once (each Renderer compiles a template on first use and keeps it).
//
// junos: each feature renders the body of one configuration group the service owns
//        (`__fabric_<feature>__`, replace="replace"), applied with <apply-groups>; the
//        skeleton junos/_configuration.njk wraps them into one <configuration>.
// frr:   FRR's config is one file with fixed sections (interfaces, bfd, router bgp with its
//        address families), but each feature contributes to several of them. A feature
//        template therefore marks its output with section lines `#@ <section>`; the renderer
//        gathers each section across features (in feature order) and frr/_frr.conf.njk lays
//        them out. The `ifupdown` section goes to `<device>.interfaces` (ifupdown2 syntax).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as nunjucks from 'nunjucks';
import type { DevicePlan, Feature, Platform } from '../domain/types';

export interface RenderedDevice {
  platform: Platform;
  /** file name -> content */
  files: Record<string, string>;
}

export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

/** Sections of an FRR config, in the order the skeleton writes them. */
export const FRR_SECTIONS = [
  'global', 'interfaces', 'bfd', 'bgp', 'bgp_neighbors', 'af_ipv4', 'af_evpn', 'tail', 'ifupdown',
] as const;
export type FrrSection = (typeof FRR_SECTIONS)[number];

/** Features that exist only once their objects exist (VN, LR, VPG): absent objects, no output. */
const HAS_OBJECTS: Partial<Record<Feature, (p: DevicePlan) => boolean>> = {
  overlay_evpn_gateway: (p) => p.logicalRouters.length > 0 || p.virtualNetworks.length > 0,
  overlay_evpn_erb: (p) => p.logicalRouters.length > 0 || p.virtualNetworks.length > 0,
  overlay_evpn_type5: (p) => p.logicalRouters.length > 0,
  overlay_networking: (p) => p.virtualNetworks.length > 0,
  overlay_lag: (p) => p.vpgs.length > 0,
  overlay_multi_homing: (p) => p.vpgs.length > 0,
  // Security groups have no model yet.
  overlay_security_group: () => false,
};

const OVERLAY_FEATURES = new Set<Feature>([
  'overlay_bgp', 'overlay_evpn', 'overlay_evpn_gateway', 'overlay_evpn_erb', 'overlay_evpn_type5',
  'overlay_networking', 'overlay_lag', 'overlay_multi_homing', 'overlay_security_group',
]);

/**
 * Every Junos configuration group the service owns starts with this prefix. A push merges the
 * rendered groups (replace="replace"); a group the device has but the new config lacks (a
 * feature that went away) is stale, and the push layer deletes it with its apply-groups entry.
 */
export const JUNOS_GROUP_PREFIX = '__fabric_';

/** Junos configuration group owned by the service for a feature. */
export function junosGroupName(feature: Feature): string {
  return `${JUNOS_GROUP_PREFIX}${feature}__`;
}

/** Finds templates/ next to package.json, from src/render or dist/src/render alike. */
export function defaultTemplateDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(path.join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new RenderError(`templates/ not found above ${__dirname}`);
}

const XML_SPECIAL = /[&<>"]/;
function xmlEscape(v: unknown): string {
  const s = String(v);
  if (!XML_SPECIAL.test(s)) return s;
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** One line of free text for a line-based config (FRR descriptions). */
function oneLine(v: unknown): string {
  const s = String(v);
  if (s.indexOf('\n') === -1 && s.indexOf('\r') === -1) return s.trim();
  return s.replace(/[\r\n]+/g, ' ').trim();
}

/** Junos route target for an AS: 4-byte ASNs take the `L` suffix. */
function routeTarget(asn: number, value: number): string {
  return asn > 65535 ? `target:${asn}L:${value}` : `target:${asn}:${value}`;
}

const MARKER = /^#@ ([a-z0-9_]+)[ \t]*$/;

/** Drops leading blank lines and trailing whitespace (no regex: these strings can be large). */
function stripBlankEdges(s: string): string {
  let lineStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) lineStart = i + 1;
    else if (c !== 32 && c !== 9 && c !== 13) return s.slice(lineStart).trimEnd();
  }
  return '';
}

export class Renderer {
  private readonly env: nunjucks.Environment;
  private readonly exists = new Map<string, boolean>();
  private readonly compiled = new Map<string, nunjucks.Template>();

  constructor(readonly templateDir: string = defaultTemplateDir()) {
    // noCache false: each template is read and compiled once per Renderer.
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templateDir, { noCache: false }), {
      autoescape: false,
      throwOnUndefined: true,
      trimBlocks: true,
      lstripBlocks: true,
    });
    this.env.addFilter('x', xmlEscape);
    this.env.addFilter('oneline', oneLine);
    this.env.addFilter('where', (xs: Record<string, unknown>[], k: string, v: unknown) => xs.filter((x) => x[k] === v));
    this.env.addGlobal('routeTarget', routeTarget);
  }

  private hasTemplate(name: string): boolean {
    let ok = this.exists.get(name);
    if (ok === undefined) {
      ok = existsSync(path.join(this.templateDir, name));
      this.exists.set(name, ok);
    }
    return ok;
  }

  private template(name: string): nunjucks.Template {
    let t = this.compiled.get(name);
    if (t === undefined) {
      t = this.env.getTemplate(name, true);
      this.compiled.set(name, t);
    }
    return t;
  }

  private renderTemplate(name: string, ctx: object): string {
    try {
      // Compiled Template objects are kept here: env.render() looks each one up again.
      return this.template(name).render(ctx);
    } catch (e) {
      throw new RenderError(`template ${name}: ${(e as Error).message.replace(/\s+/g, ' ').trim()}`);
    }
  }

  /** The features that render for this plan, in plan order, each with its template name. */
  private featureTemplates(plan: DevicePlan): { feature: Feature; template: string }[] {
    const out: { feature: Feature; template: string }[] = [];
    const seen = new Set<Feature>();
    for (const feature of plan.features) {
      if (seen.has(feature)) continue;
      seen.add(feature);
      if (OVERLAY_FEATURES.has(feature) && !plan.overlay) continue;
      const hasObjects = HAS_OBJECTS[feature];
      if (hasObjects && !hasObjects(plan)) continue;
      const template = `${plan.platform}/${feature}.njk`;
      if (!this.hasTemplate(template)) {
        throw new RenderError(`device ${plan.name}: feature ${feature} has no template ${template}`);
      }
      out.push({ feature, template });
    }
    return out;
  }

  render(plan: DevicePlan): RenderedDevice {
    if (plan.platform === 'junos') return { platform: 'junos', files: this.renderJunos(plan) };
    if (plan.platform === 'frr') return { platform: 'frr', files: this.renderFrr(plan) };
    throw new RenderError(`device ${(plan as DevicePlan).name}: unknown platform ${(plan as DevicePlan).platform}`);
  }

  private renderJunos(plan: DevicePlan): Record<string, string> {
    const ctx = { p: plan };
    const groups: { name: string; body: string }[] = [];
    for (const { feature, template } of this.featureTemplates(plan)) {
      const body = stripBlankEdges(this.renderTemplate(template, ctx));
      if (body !== '') groups.push({ name: junosGroupName(feature), body });
    }
    const xml = this.renderTemplate('junos/_configuration.njk', { p: plan, groups });
    return { [`${plan.name}.xml`]: xml };
  }

  private renderFrr(plan: DevicePlan): Record<string, string> {
    const ctx = { p: plan };
    const parts: Record<FrrSection, string[]> = Object.fromEntries(FRR_SECTIONS.map((s) => [s, []])) as never;
    for (const { template } of this.featureTemplates(plan)) {
      const text = this.renderTemplate(template, ctx);
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
      [`${plan.name}.frr.conf`]: this.renderTemplate('frr/_frr.conf.njk', { p: plan, s }),
    };
    if (s.ifupdown !== '') {
      files[`${plan.name}.interfaces`] = this.renderTemplate('frr/_interfaces.njk', { p: plan, s });
    }
    return files;
  }
}

let shared: Renderer | undefined;

/** Renders one device with the shared renderer over the repository's templates/. */
export function renderDevice(plan: DevicePlan): RenderedDevice {
  shared ??= new Renderer();
  return shared.render(plan);
}

/** Renders many devices; file names are unique because device names are. */
export function renderDevices(plans: DevicePlan[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const p of plans) Object.assign(files, renderDevice(p).files);
  return files;
}
