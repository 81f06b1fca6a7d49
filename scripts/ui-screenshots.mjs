#!/usr/bin/env node
/**
 * Refreshes the screenshots docs/ui.md shows from those the browser tests keep in
 * test-results/screenshots/ (run them first: `npm test -- test/dist/e2e/web`). The images to copy
 * are the ones docs/ui.md links to (`ui/<name>-<width>.png`), so the page is the one list; each is
 * quantized with pngquant (Debian's `pngquant`) to stay small in git.
 *
 *   node scripts/ui-screenshots.mjs
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const page = join(root, 'docs', 'ui.md');
const from = join(root, 'test-results', 'screenshots');
const to = join(root, 'docs', 'ui');
/** Above this an image is too heavy for the repository: crop the shot or pick another. */
const MAX_BYTES = 200 * 1024;

const names = [...new Set([...readFileSync(page, 'utf8').matchAll(/\(ui\/([a-z0-9-]+\.png)\)/g)].map((m) => m[1]))];
const missing = names.filter((name) => !existsSync(join(from, name)));
if (missing.length) {
  console.error(
    `test-results/screenshots/ lacks ${missing.join(', ')}: run the web console's tests first (npm test -- test/dist/e2e/web)`,
  );
  process.exit(1);
}
try {
  execFileSync('pngquant', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('pngquant is not installed: apt-get install pngquant');
  process.exit(1);
}

mkdirSync(to, { recursive: true });
let total = 0;
const heavy = [];
for (const name of names) {
  const target = join(to, name);
  execFileSync('pngquant', [
    '--quality=50-85',
    '--speed=1',
    '--strip',
    '--force',
    '--output',
    target,
    join(from, name),
  ]);
  const bytes = statSync(target).size;
  total += bytes;
  if (bytes > MAX_BYTES) heavy.push(`${name} (${Math.round(bytes / 1024)} KB)`);
}
console.log(`${names.length} screenshots into docs/ui/, ${Math.round(total / 1024)} KB in all`);
if (heavy.length) {
  console.error(`over ${MAX_BYTES / 1024} KB: ${heavy.join(', ')}`);
  process.exit(1);
}
