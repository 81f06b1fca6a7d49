// Writes docs/cli.md from the `cx` command definitions (packages/cli), so that the reference cannot
// drift from what the CLI accepts. `npm run docs:cli` after changing a command (after the build);
// a unit test fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCliDoc } from '../packages/cli/dist/docs.js';
import { root } from './lib.mjs';

writeFileSync(join(root, 'docs', 'cli.md'), renderCliDoc());
console.log('docs/cli.md written');
