// A template or layout that cannot produce a device's config. Its own module, so platform
// layouts (src/platforms/<name>/render.ts) throw it without importing the renderer.
export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}
