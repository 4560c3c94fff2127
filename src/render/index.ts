// The template engine: one folder of Nunjucks templates (templates/<platform>/<feature>.njk),
// each read and compiled once, rendered with the project's filters. Pure apart from reading
// the templates. Which templates a device renders and how their outputs become files is the
// platform's business (src/platforms/render.ts and src/platforms/<name>/render.ts).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as nunjucks from 'nunjucks';
import { RenderError } from './errors';

export { RenderError } from './errors';

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

/** One template folder: autoescape off, throwOnUndefined on, trimBlocks + lstripBlocks. */
export class TemplateSet {
  private readonly env: nunjucks.Environment;
  private readonly exists = new Map<string, boolean>();
  private readonly compiled = new Map<string, nunjucks.Template>();

  constructor(readonly dir: string = defaultTemplateDir()) {
    // noCache false: each template is read and compiled once per TemplateSet.
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: false }), {
      autoescape: false,
      throwOnUndefined: true,
      trimBlocks: true,
      lstripBlocks: true,
    });
    this.env.addFilter('x', xmlEscape);
    this.env.addFilter('oneline', oneLine);
    this.env.addFilter('where', (xs: Record<string, unknown>[], k: string, v: unknown) => xs.filter((x) => x[k] === v));
    // the distinct values of one attribute, in first-seen order (nunjucks has no map/unique)
    this.env.addFilter('values', (xs: Record<string, unknown>[], k: string) => [...new Set(xs.map((x) => x[k]))]);
    this.env.addGlobal('routeTarget', routeTarget);
  }

  has(name: string): boolean {
    let ok = this.exists.get(name);
    if (ok === undefined) {
      ok = existsSync(path.join(this.dir, name));
      this.exists.set(name, ok);
    }
    return ok;
  }

  render(name: string, ctx: object): string {
    try {
      // Compiled Template objects are kept here: env.render() looks each one up again.
      let t = this.compiled.get(name);
      if (t === undefined) {
        t = this.env.getTemplate(name, true);
        this.compiled.set(name, t);
      }
      return t.render(ctx);
    } catch (e) {
      throw new RenderError(`template ${name}: ${(e as Error).message.replace(/\s+/g, ' ').trim()}`);
    }
  }
}
