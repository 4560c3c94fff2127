// What the browser tests do on a page: screenshots (out/test-artifacts/ui/; with
// UI_DOC_IMAGES=1 the ones named in `docs` also to docs/img/ui-NAME.png), waiting for text
// (playwright-core has no expect()), and signing in with a token through the form.
import { copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';

const ROOT = path.join(__dirname, '../..');
export const ARTIFACTS = path.join(ROOT, 'out/test-artifacts/ui');

export function screenshots(docs: readonly string[]) {
  return async (p: Page, name: string): Promise<void> => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name}.png`);
    await p.screenshot({ path: file });
    if (process.env.UI_DOC_IMAGES === '1' && docs.includes(name)) copyFileSync(file, path.join(ROOT, 'docs/img', `ui-${name}.png`));
  };
}

/** Waits for an element of `sel` whose text matches. */
export const seeTextOn = (p: Page, sel: string | Locator, text: string | RegExp, timeout = 20_000) =>
  (typeof sel === 'string' ? p.locator(sel) : sel).filter({ hasText: text }).first().waitFor({ timeout });

export async function signInAt(p: Page, base: string, token: string): Promise<void> {
  await p.goto(`${base}/ui/`);
  await p.fill('input[name="token"]', token);
  await p.click('button[type="submit"]');
  await p.waitForSelector('[data-testid="whoami"]');
}
