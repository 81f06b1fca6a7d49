/**
 * The real browser of the web console's tests: Debian's Chromium (test/peers/chromium.sh, whose
 * line is CX_TEST_CHROMIUM) driven by playwright-core, with axe for accessibility, a watch on the
 * console, and the console's sign-in done by keyboard.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type ConsoleMessage, type Locator, type Page } from 'playwright-core';
import { repoRoot } from './cx.js';

export const WIDE = { width: 1280, height: 900 };
export const NARROW = { width: 390, height: 844 };
/** How long the UI may take to show what the API did (a bound for waits, never a measured assertion). */
export const UI_WAIT_MS = 30_000;
export const WORKFLOW_WAIT_MS = 120_000;

/** The Chromium peer's line, or undefined when the tests run without it (they then skip). */
export function chromiumPeer(): string | undefined {
  return process.env['CX_TEST_CHROMIUM'];
}

export async function launchChromium(peer: string): Promise<Browser> {
  const { bin } = JSON.parse(peer) as { bin: string };
  return chromium.launch({ executablePath: bin, args: ['--no-sandbox'] });
}

/** Signs in to the console with the keyboard alone: Tab to each field, type, Enter. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in to cx' }).waitFor();
  // The page moves focus to its heading once shown (after the heading paints): typing before that
  // would land nowhere.
  await page.waitForFunction("document.activeElement?.tagName === 'H1'");
  await page.keyboard.press('Tab');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
}

/**
 * Console errors and uncaught page errors; `expect` names the failed loads a step causes on
 * purpose. With `origin`, only what comes from that site counts (not another site's pages the
 * browser passes through, such as an identity provider's).
 */
export class ConsoleWatch {
  readonly errors: string[] = [];
  private expected: RegExp[] = [];
  constructor(page: Page, origin?: string) {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error') return;
      const where = message.location().url;
      if (origin && where && new URL(where).origin !== origin) return;
      const text = `${message.text()} (${where})`;
      if (!this.expected.some((pattern) => pattern.test(text))) this.errors.push(text);
    });
    page.on('pageerror', (error) => {
      if (!origin || new URL(page.url()).origin === origin) this.errors.push(`uncaught: ${error.message}`);
    });
  }
  expect(pattern: RegExp): void {
    this.expected.push(pattern);
  }
  assertNone(): void {
    assert.deepEqual(this.errors, [], 'the browser console shows no errors');
  }
}

/** Axe's serious and critical violations of WCAG 2.x A/AA on the page as it is now. */
export async function axe(page: Page, where: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa']).analyze();
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `axe finds no serious or critical violation on ${where}`,
  );
}

/** The page does not scroll sideways (tables scroll in their own box). */
export async function assertNoSideScroll(page: Page, where: string): Promise<void> {
  // Evaluated in the page (a string: this project's types have no DOM).
  const { scroll, width } = (await page.evaluate(
    '({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })',
  )) as { scroll: number; width: number };
  assert.ok(scroll <= width, `${where} fits ${width} px (content is ${scroll} px wide)`);
}

/** Where screenshots are kept as test artifacts (ignored by git, uploaded by CI with test-results/). */
export const SCREENSHOT_DIR = join(repoRoot, 'test-results', 'screenshots');

/**
 * Keeps the whole page as it is now, or only `part` of it, as
 * `test-results/screenshots/<name>-<width>.png` (docs/ui.md shows some: scripts/ui-screenshots.mjs).
 */
export async function screenshot(page: Page, name: string, part?: Locator): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}-${page.viewportSize()?.width ?? 0}.png`);
  await (part ? part.screenshot({ path }) : page.screenshot({ path, fullPage: true }));
}
