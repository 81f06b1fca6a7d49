/**
 * What every command of `cx` shares: its examples (shown by `--help` and in docs/cli.md), the
 * `-o` and `--wait` options, the context it runs in, and printing.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { clusterAcceptedSchema, Workflow } from '@cx/api-schemas';
import type { Static } from 'typebox';
import type { Client } from './client.js';
import type { Context } from './contexts.js';
import { CliError, EXIT, UsageError } from './exit-codes.js';
import { followWorkflow, parseDuration, summary } from './follow.js';
import {
  OUTPUT_FORMATS,
  parseOutput,
  renderJson,
  renderJsonpath,
  renderTable,
  renderYaml,
  useColour,
  type OutputFormat,
} from './output.js';
import { parseTarget, type ResourceKind } from './resources.js';
import { connect } from './session.js';

const EXAMPLES = new WeakMap<Command, string[]>();

/** Gives a command its examples: shown after `--help`, and in docs/cli.md. */
export function examples(command: Command, lines: string[]): Command {
  EXAMPLES.set(command, lines);
  return command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}

export function examplesOf(command: Command): string[] {
  return EXAMPLES.get(command) ?? [];
}

export const outputOption = (formats = OUTPUT_FORMATS): Option =>
  new Option('-o, --output <format>', `output format: ${formats}`);

export const waitOptions = (command: Command): Command =>
  command
    .option('--wait', 'follow the workflow until it ends, showing its steps (exit 8 if it fails)')
    .option('--timeout <duration>', 'with --wait: how long to wait (e.g. 90s, 10m, 1h)', '30m');

/** A non-negative integer option. */
export function integer(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return value;
  };
}

/** Values of a repeatable option. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The global `--context` (or `CX_CONTEXT`) of the program a command belongs to. */
export function session(command: Command): { context: Context; client: Client } {
  const globals = command.optsWithGlobals<{ context?: string }>();
  return connect(globals.context);
}

export function write(text: string): void {
  process.stdout.write(text);
}

export function colourOn(command: Command): boolean {
  const globals = command.optsWithGlobals<{ color?: boolean }>();
  return globals.color !== false && useColour(process.stdout);
}

/** Prints one item or a list of a kind in the chosen format (`single`: one item, not a list). */
export function printItems<T>(
  command: Command,
  kind: ResourceKind<T>,
  items: T[],
  format: OutputFormat,
  single: boolean,
): void {
  const data = single ? items[0] : { items };
  switch (format.kind) {
    case 'json':
      return write(renderJson(data));
    case 'yaml':
      return write(renderYaml(data));
    case 'name':
      return write(items.map((item) => `${kind.singular}/${kind.name(item)}\n`).join(''));
    case 'jsonpath':
      return write(renderJsonpath(format.template, data));
    default:
      if (items.length === 0) {
        process.stderr.write(`No ${kind.plural} found.\n`);
        return;
      }
      return write(renderTable(items, kind.columns, { wide: format.kind === 'wide', colour: colourOn(command) }));
  }
}

/** Prints a value that is not a table (an accepted request, a workflow) as json, yaml, name or jsonpath. */
export function printValue(value: unknown, format: OutputFormat, name: string): boolean {
  switch (format.kind) {
    case 'json':
      write(renderJson(value));
      return true;
    case 'yaml':
      write(renderYaml(value));
      return true;
    case 'name':
      write(`${name}\n`);
      return true;
    case 'jsonpath':
      write(renderJsonpath(format.template, value));
      return true;
    default:
      return false;
  }
}

export { parseOutput };

/** What a write that starts a workflow answers (202): the cluster, the workflow, and per route one more field. */
export type ClusterAccepted = Static<typeof clusterAcceptedSchema>;

/** The flags of every write that starts a workflow. */
export type WaitFlags = { output?: string; wait?: boolean; timeout?: string };

/** How `-o` reads on a write: the accepted answer, or its name. */
export const WRITE_FORMATS = 'json|yaml|name (the accepted answer: cluster and workflow)';

/** One object of a kind named as `KIND/NAME`, `KIND NAME` or just `NAME`. */
export function oneTarget(args: string[], kind: string): string {
  const target = args.length === 1 && !args[0]!.includes('/') ? [kind, args[0]!] : args;
  const { names } = parseTarget(target, kind);
  if (names.length !== 1) throw new UsageError(`name one ${kind}`, `e.g. ${kind}/NAME`);
  return names[0]!;
}

/**
 * Prints what a write started (`NAME VERB (workflow ID)`, or the answer in the `-o` format), then
 * with `--wait` follows the workflow and prints `after(run)`, or the workflow's end.
 */
export async function reportAccepted(
  command: Command,
  client: Client,
  accepted: Pick<ClusterAccepted, 'workflow'>,
  what: { name: string; verb: string },
  options: WaitFlags,
  after?: (run: Workflow) => Promise<string> | string,
): Promise<void> {
  const format = parseOutput(options.output);
  const { name, verb } = what;
  if (!printValue(accepted, format, name))
    write(
      `${name} ${verb} (workflow ${accepted.workflow.id})${options.wait ? '' : '; follow it with cx workflow watch ' + accepted.workflow.id}\n`,
    );
  if (!options.wait) return;
  const run = await waitFor(command, client, accepted.workflow.id, options);
  if (format.kind === 'table' || format.kind === 'wide')
    write(after ? await after(run) : `${name} ${run.workflow} ${run.status}\n`);
}

/**
 * `--wait`: follows the workflow a write started, progress on stderr; a run that did not succeed
 * is exit 8 with its steps and error.
 */
export async function waitFor(
  command: Command,
  client: Client,
  workflowId: string,
  options: { timeout?: string },
): Promise<Workflow> {
  const run = await followWorkflow(client, workflowId, {
    timeoutMs: parseDuration(options.timeout ?? '30m'),
    progress: process.stderr,
    colour: command.optsWithGlobals<{ color?: boolean }>().color !== false && useColour(process.stderr),
  });
  if (run.status !== 'Succeeded') {
    const error = run.error ? `: ${run.error.message}${run.error.code ? ` (${run.error.code})` : ''}` : '';
    throw new CliError(
      `workflow ${run.id} (${run.workflow}) ${run.status}${error}\n${summary(run)}`,
      EXIT.workflowFailed,
      undefined,
      run.status === 'Failed'
        ? `fix the cause, then resume it from the failed step: cx workflow retry ${run.id}${
            // An OS upgrade can also go back (POST /workflows/{id}/rollback takes only these).
            run.workflow === 'cluster.os-upgrade'
              ? `; or go back to the previous image: cx workflow rollback ${run.id}`
              : ''
          }`
        : undefined,
    );
  }
  return run;
}
