// Writes docs/configuration.md from the configuration schema (packages/config), so that the
// documentation cannot drift from what cx validates. `npm run docs` after changing the schema;
// a test fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigurationDoc } from '../packages/config/dist/docs.js';
import { root } from './lib.mjs';

writeFileSync(join(root, 'docs', 'configuration.md'), renderConfigurationDoc());
console.log('docs/configuration.md written');
