// Rendering a device: DevicePlan -> its platform's templates (templates/<platform>/<feature>.njk,
// src/render's engine) -> its platform's layout -> config files. Pure: the only IO is reading the
// templates once (each Renderer keeps its compiled templates). Which features render is one rule
// shared with validation (src/domain/features.ts); how their outputs become files is the
// platform's layout (src/platforms/<name>/render.ts: Junos groups in one <configuration>, FRR
// sections gathered into frr.conf and an interfaces file).
import { featuresInUse, planObjects } from '../domain/features';
import type { DevicePlan, Feature, Platform } from '../domain/types';
import { defaultTemplateDir, RenderError, TemplateSet } from '../render';
import { findPlatform } from './registry';

export interface RenderedDevice {
  platform: Platform;
  /** file name -> content */
  files: Record<string, string>;
}

export class Renderer {
  /** one template set per folder (a platform may bring its own) */
  private readonly sets = new Map<string, TemplateSet>();

  constructor(readonly templateDir: string = defaultTemplateDir()) {}

  private templates(dir: string): TemplateSet {
    let t = this.sets.get(dir);
    if (!t) { t = new TemplateSet(dir); this.sets.set(dir, t); }
    return t;
  }

  /** The features that render for this plan, in plan order, each with its template name. */
  private featureTemplates(plan: DevicePlan, t: TemplateSet): { feature: Feature; template: string }[] {
    return featuresInUse(plan.features, planObjects(plan)).map((feature) => {
      const template = `${plan.platform}/${feature}.njk`;
      if (!t.has(template)) throw new RenderError(`device ${plan.name}: feature ${feature} has no template ${template}`);
      return { feature, template };
    });
  }

  render(plan: DevicePlan): RenderedDevice {
    const platform = findPlatform(plan.platform);
    if (!platform) throw new RenderError(`device ${plan.name}: unknown platform ${plan.platform}`);
    const t = this.templates(platform.templateDir ?? this.templateDir);
    const ctx = { p: plan };
    const outputs = this.featureTemplates(plan, t).map((f) => ({ ...f, text: t.render(f.template, ctx) }));
    return { platform: plan.platform, files: platform.layout(plan, outputs, t) };
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
