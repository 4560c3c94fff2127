// Rendering: DevicePlan + templates/<platform>/<feature>.njk -> config files. Pure: the only IO
// is reading the templates once (each Renderer compiles a template on first use and keeps it).
// Which features render is one rule shared with validation (src/domain/features.ts); how their
// outputs become files is the platform's layout (src/platforms/<name>/render.ts: Junos groups
// in one <configuration>, FRR sections gathered into frr.conf and an interfaces file).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as nunjucks from 'nunjucks';
import { featuresInUse, planObjects } from '../domain/features';
import type { DevicePlan, Feature, Platform } from '../domain/types';
import { findPlatform } from '../platforms';
import { RenderError } from './errors';

export { RenderError } from './errors';
export { FRR_SECTIONS, type FrrSection } from '../platforms/frr';
export { JUNOS_GROUP_PREFIX, junosGroupName } from '../platforms/junos';

export interface RenderedDevice {
  platform: Platform;
  /** file name -> content */
  files: Record<string, string>;
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

export class Renderer {
  /** one nunjucks environment per template folder (a platform may bring its own) */
  private readonly envs = new Map<string, nunjucks.Environment>();
  private readonly exists = new Map<string, boolean>();
  private readonly compiled = new Map<string, nunjucks.Template>();

  constructor(readonly templateDir: string = defaultTemplateDir()) {}

  private env(dir: string): nunjucks.Environment {
    let env = this.envs.get(dir);
    if (env) return env;
    // noCache false: each template is read and compiled once per Renderer.
    env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: false }), {
      autoescape: false,
      throwOnUndefined: true,
      trimBlocks: true,
      lstripBlocks: true,
    });
    env.addFilter('x', xmlEscape);
    env.addFilter('oneline', oneLine);
    env.addFilter('where', (xs: Record<string, unknown>[], k: string, v: unknown) => xs.filter((x) => x[k] === v));
    env.addGlobal('routeTarget', routeTarget);
    this.envs.set(dir, env);
    return env;
  }

  private hasTemplate(dir: string, name: string): boolean {
    const file = path.join(dir, name);
    let ok = this.exists.get(file);
    if (ok === undefined) {
      ok = existsSync(file);
      this.exists.set(file, ok);
    }
    return ok;
  }

  private renderTemplate(dir: string, name: string, ctx: object): string {
    const key = path.join(dir, name);
    try {
      // Compiled Template objects are kept here: env.render() looks each one up again.
      let t = this.compiled.get(key);
      if (t === undefined) {
        t = this.env(dir).getTemplate(name, true);
        this.compiled.set(key, t);
      }
      return t.render(ctx);
    } catch (e) {
      throw new RenderError(`template ${name}: ${(e as Error).message.replace(/\s+/g, ' ').trim()}`);
    }
  }

  /** The features that render for this plan, in plan order, each with its template name. */
  private featureTemplates(plan: DevicePlan, dir: string): { feature: Feature; template: string }[] {
    return featuresInUse(plan.features, planObjects(plan)).map((feature) => {
      const template = `${plan.platform}/${feature}.njk`;
      if (!this.hasTemplate(dir, template)) {
        throw new RenderError(`device ${plan.name}: feature ${feature} has no template ${template}`);
      }
      return { feature, template };
    });
  }

  render(plan: DevicePlan): RenderedDevice {
    const platform = findPlatform(plan.platform);
    if (!platform) throw new RenderError(`device ${plan.name}: unknown platform ${plan.platform}`);
    const dir = platform.templateDir ?? this.templateDir;
    const ctx = { p: plan };
    const outputs = this.featureTemplates(plan, dir).map((t) => ({ ...t, text: this.renderTemplate(dir, t.template, ctx) }));
    return { platform: plan.platform, files: platform.layout(plan, outputs, { render: (name, c) => this.renderTemplate(dir, name, c) }) };
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
