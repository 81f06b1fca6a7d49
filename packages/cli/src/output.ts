/**
 * How `cx` prints what it read: `-o table` (default), `wide`, `json`, `yaml`, `name` and
 * `jsonpath=TEMPLATE` (kubectl's template syntax, each expression evaluated by jsonpath-plus).
 * Tables are aligned on plain text, then coloured — only on a TTY and never under `NO_COLOR`.
 */
import { JSONPath } from 'jsonpath-plus';
import { stringify } from 'yaml';
import { UsageError } from './exit-codes.js';

export type OutputFormat =
  | { kind: 'table' }
  | { kind: 'wide' }
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'name' }
  | { kind: 'jsonpath'; template: string };

export const OUTPUT_FORMATS = 'table|wide|json|yaml|name|jsonpath=TEMPLATE';

export function parseOutput(value: string | undefined): OutputFormat {
  const text = value ?? 'table';
  if (text === 'table' || text === 'wide' || text === 'json' || text === 'yaml' || text === 'name')
    return { kind: text };
  const jsonpath = /^jsonpath=(.*)$/s.exec(text);
  if (jsonpath) {
    if (!jsonpath[1]) throw new UsageError('-o jsonpath= needs a template', "e.g. -o jsonpath='{.items[*].name}'");
    return { kind: 'jsonpath', template: jsonpath[1] };
  }
  throw new UsageError(`unknown output format ${text}`, `give one of ${OUTPUT_FORMATS}`);
}

/** One column of a table: its header and how a row's cell is read. */
export interface Column<T> {
  header: string;
  value(item: T): string | number | boolean | null | undefined;
  /** Only with `-o wide`. */
  wide?: boolean;
  /** Coloured by what the value says (Ready green, Failed red, …). */
  status?: boolean;
}

/** Whether to colour: a TTY, no `NO_COLOR` (any value), not `TERM=dumb`; `FORCE_COLOR` forces it. */
export function useColour(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

const GREEN = new Set(['Ready', 'Succeeded', 'Healthy', 'InSync', 'success', 'available', 'true']);
const YELLOW = new Set(['Provisioning', 'Updating', 'Deleting', 'Pending', 'Running', 'Remediating', 'Reapplying']);
const RED = new Set(['Failed', 'NotReady', 'Cancelled', 'Unhealthy', 'Storm', 'failure', 'NoMatchingNode']);

/** Wraps a status word in an ANSI colour by what it says. */
export function colourStatus(text: string): string {
  const code = GREEN.has(text) ? 32 : YELLOW.has(text) ? 33 : RED.has(text) ? 31 : undefined;
  return code === undefined ? text : `\u001b[${code}m${text}\u001b[39m`;
}

const bold = (text: string): string => `\u001b[1m${text}\u001b[22m`;

export function cell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || value === '') return '<none>';
  return String(value).replace(/[\r\n\t]+/g, ' ');
}

/** An aligned table, kubectl style: upper-case headers, columns three spaces apart, no trailing spaces. */
export function renderTable<T>(
  items: T[],
  columns: Column<T>[],
  options: { wide?: boolean; colour?: boolean } = {},
): string {
  const shown = columns.filter((c) => options.wide || !c.wide);
  const rows = items.map((item) => shown.map((c) => cell(c.value(item))));
  const widths = shown.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], decorate: (text: string, index: number) => string): string =>
    cells
      .map((text, i) => {
        const padded = i === cells.length - 1 ? text : text.padEnd(widths[i]!);
        // Pad first, colour after: escape codes take no column.
        return decorate(padded, i);
      })
      .join('   ')
      .trimEnd();
  const header = line(
    shown.map((c) => c.header),
    (text) => (options.colour ? bold(text) : text),
  );
  const body = rows.map((cells) =>
    line(cells, (text, i) => {
      if (!options.colour || !shown[i]!.status) return text;
      const word = text.trimEnd();
      return colourStatus(word) + text.slice(word.length);
    }),
  );
  return [header, ...body].join('\n') + '\n';
}

export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function renderYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/**
 * kubectl's jsonpath template: text with `{expression}` parts, `{range EXPR}…{end}` loops and
 * `{"literal"}` strings (`{"\n"}`). Each expression is JSONPath (`.items[*].name`, filters
 * `?(@.status=="Ready")`) evaluated by jsonpath-plus against the current object; several results
 * are joined by spaces, as kubectl does.
 */
export function renderJsonpath(template: string, data: unknown): string {
  const tokens = tokenize(template);
  const [out, rest] = evaluate(tokens, 0, data, data);
  if (rest < tokens.length) throw new UsageError('jsonpath template: {end} without {range}');
  return out;
}

type Token = { text: string } | { expr: string } | { range: string } | { end: true };

function tokenize(template: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      tokens.push({ text: template.slice(i) });
      break;
    }
    if (open > i) tokens.push({ text: template.slice(i, open) });
    // The expression ends at the matching brace, outside quoted strings.
    let depth = 0;
    let quote: string | undefined;
    let close = -1;
    for (let j = open; j < template.length; j++) {
      const ch = template[j]!;
      if (quote) {
        if (ch === '\\') j++;
        else if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        close = j;
        break;
      }
    }
    if (close < 0) throw new UsageError(`jsonpath template: unclosed { at ${open}`);
    const inner = template.slice(open + 1, close).trim();
    const range = /^range\s+(.+)$/s.exec(inner);
    if (range) tokens.push({ range: range[1]!.trim() });
    else if (inner === 'end') tokens.push({ end: true });
    else if (/^"(?:[^"\\]|\\.)*"$/s.test(inner)) tokens.push({ text: JSON.parse(inner) as string });
    else tokens.push({ expr: inner });
    i = close + 1;
  }
  return tokens;
}

function query(expression: string, current: unknown, root: unknown): unknown[] {
  const trimmed = expression.trim();
  const fromRoot = trimmed.startsWith('$');
  const path = fromRoot ? trimmed : trimmed === '.' || trimmed === '@' ? '$' : `$${trimmed.replace(/^@/, '')}`;
  try {
    return JSONPath({ path, json: (fromRoot ? root : current) as object, wrap: true }) as unknown[];
  } catch (error) {
    throw new UsageError(`jsonpath expression {${expression}}: ${(error as Error).message}`);
  }
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function evaluate(tokens: Token[], start: number, current: unknown, root: unknown): [string, number] {
  let out = '';
  let i = start;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if ('end' in token) return [out, i];
    if ('text' in token) out += token.text;
    else if ('expr' in token) out += query(token.expr, current, root).map(show).join(' ');
    else {
      const items = query(token.range, current, root);
      let end = i + 1;
      const bodies = items.map((item) => {
        const [text, stop] = evaluate(tokens, i + 1, item, root);
        end = stop;
        return text;
      });
      if (items.length === 0) end = skipRange(tokens, i + 1);
      if (!tokens[end] || !('end' in tokens[end]!)) throw new UsageError('jsonpath template: {range} without {end}');
      out += bodies.join('');
      i = end;
    }
    i++;
  }
  return [out, i];
}

function skipRange(tokens: Token[], from: number): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i]!;
    if ('range' in token) depth++;
    else if ('end' in token) {
      if (depth === 0) return i;
      depth--;
    }
  }
  return tokens.length;
}
