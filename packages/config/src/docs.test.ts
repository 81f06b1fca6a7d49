import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { renderConfigurationDoc } from './docs.js';

it('docs/configuration.md is up to date with the schema (npm run docs)', () => {
  const path = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
  assert.equal(readFileSync(path, 'utf8'), renderConfigurationDoc());
});
