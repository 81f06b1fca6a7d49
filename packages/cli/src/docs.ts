/**
 * docs/cli.md, written from the command definitions themselves (program.ts) by walking commander's
 * commands, so that the reference cannot drift from what `cx` accepts: `npm run docs:cli` writes
 * it, and a unit test fails when it is stale.
 */
import type { Command, Option } from 'commander';
import { examplesOf } from './command-kit.js';
import { EXIT_CODE_TABLE } from './exit-codes.js';
import { buildProgram } from './program.js';

const escape = (text: string): string => text.replace(/\|/g, '\\|');

function optionRow(option: Option): string {
  const notes = [
    option.defaultValue !== undefined && !(Array.isArray(option.defaultValue) && option.defaultValue.length === 0)
      ? `default: \`${String(option.defaultValue)}\``
      : '',
    option.envVar ? `env: \`${option.envVar}\`` : '',
    option.mandatory ? 'required' : '',
  ].filter(Boolean);
  return `| \`${escape(option.flags)}\` | ${escape(option.description)}${notes.length ? ` (${notes.join('; ')})` : ''} |`;
}

/** `cx get` for the command `get` under the program. */
function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function section(command: Command): string {
  const title = fullName(command);
  const lines = [`### \`${title}\``, '', command.description(), ''];
  const aliases = command.aliases();
  if (aliases.length) lines.push(`Alias: ${aliases.map((a) => `\`${a}\``).join(', ')}`, '');
  const subcommands = command.commands.filter((c) => c.name() !== 'help');
  if (subcommands.length === 0 || command.registeredArguments.length > 0) {
    lines.push('```', `${title} ${command.usage()}`, '```', '');
    if (command.registeredArguments.length > 0) {
      lines.push('| argument | meaning |', '|---|---|');
      for (const argument of command.registeredArguments)
        lines.push(`| \`${argument.name()}${argument.variadic ? '...' : ''}\` | ${escape(argument.description)} |`);
      lines.push('');
    }
  }
  const options = command.options.filter((o) => !o.hidden);
  if (options.length > 0) {
    lines.push('| option | meaning |', '|---|---|', ...options.map(optionRow), '');
  }
  if (subcommands.length > 0)
    lines.push(`Commands: ${subcommands.map((c) => `[\`${fullName(c)}\`](#${anchor(fullName(c))})`).join(', ')}.`, '');
  const examples = examplesOf(command);
  if (examples.length > 0) lines.push('Examples:', '', '```sh', ...examples, '```', '');
  return lines.join('\n');
}

/** GitHub's heading anchor of `` `cx get` ``. */
function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

function walk(command: Command): Command[] {
  return command.commands.filter((c) => c.name() !== 'help').flatMap((c) => [c, ...walk(c)]);
}

export function renderCliDoc(program: Command = buildProgram()): string {
  const commands = walk(program);
  const globals = program.options.filter((o) => !o.hidden);
  return [
    '# `cx` — command reference',
    '',
    '<!-- Generated from the command definitions (packages/cli/src/program.ts and commands/) by `npm run docs:cli`; a unit test fails when this file is stale. Do not edit by hand. -->',
    '',
    `${program.description()}. \`cx\` is a client of the public API (\`/api/v1\`) only. Install it with`,
    '`npm install -g ./packages/cli` from a checkout where `npm run build` has run, or run it there as `npx cx …`.',
    '',
    'Sign in once per server (`cx login SERVER --username NAME`); each server and user is kept as a *context*',
    'in `~/.config/cx/credentials.json` (mode 0600; `CX_CREDENTIALS_FILE` moves it), and commands run in the',
    'current one (`cx config use-context`, or `--context` / `CX_CONTEXT` for one command). A session file of',
    'an earlier `cx` (`session.json`) is taken over as a context.',
    '',
    'Tables are coloured only on a terminal, never when `NO_COLOR` is set or with `--no-color`. Every',
    "resource is addressed by name or id. `-o jsonpath=TEMPLATE` takes kubectl's template syntax",
    '(`{.field}`, `{range .items[*]}…{end}`, `{"\\n"}`); each expression is JSONPath evaluated by',
    'jsonpath-plus, several results joined by spaces.',
    '',
    '## Exit codes',
    '',
    '| code | meaning |',
    '|---|---|',
    ...EXIT_CODE_TABLE.map(([code, meaning]) => `| ${code} | ${escape(meaning)} |`),
    '',
    "An error prints the server's explanation (the problem's `detail`), its stable code (`docs/errors.md`),",
    'the invalid fields of a refused request, and what to do when there is something to say.',
    '',
    '## Global options',
    '',
    '| option | meaning |',
    '|---|---|',
    ...globals.map(optionRow),
    '',
    '## Commands',
    '',
    ...commands.map((c) => `- [\`${fullName(c)}\`](#${anchor(fullName(c))}) — ${c.description()}`),
    '',
    ...commands.map(section),
  ].join('\n');
}
