import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderCliDoc } from './docs.js';
import { buildProgram } from './program.js';

it('docs/cli.md is up to date with the command definitions (npm run docs:cli)', () => {
  const path = fileURLToPath(new URL('../../../docs/cli.md', import.meta.url));
  assert.equal(readFileSync(path, 'utf8'), renderCliDoc());
});

it('every command has a description and at least one example', () => {
  const missing: string[] = [];
  const doc = renderCliDoc();
  const walk = (command: ReturnType<typeof buildProgram>, prefix: string): void => {
    for (const sub of command.commands) {
      const name = `${prefix} ${sub.name()}`;
      if (!sub.description()) missing.push(`${name}: description`);
      // Groups (config, create, delete, workflow) list their subcommands; the leaves carry examples.
      if (sub.commands.length === 0 && !doc.includes(`### \`${name}\``)) missing.push(`${name}: section`);
      if (sub.commands.length === 0 && !new RegExp(`### \`${name}\`[\\s\\S]*?Examples:`).test(doc))
        missing.push(`${name}: example`);
      walk(sub, name);
    }
  };
  walk(buildProgram(), 'cx');
  assert.deepEqual(missing, []);
});
