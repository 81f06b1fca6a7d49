/**
 * Following a workflow run until it ends (`--wait`, `cx workflow watch`): over the run's
 * server-sent events (`/workflows/{id}/events`), reconnecting when the stream drops, with bounded
 * polling when the stream cannot be had. Everything stops at the deadline (`--timeout`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Workflow } from '@cx/api-schemas';
import type { Client } from './client.js';
import { ApiError } from './client.js';
import { CliError, EXIT } from './exit-codes.js';
import { colourStatus } from './output.js';
import { stepText } from './resources.js';

export const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);
const POLL_MS = 1000;
const RECONNECT_MS = 1000;

/** `30s`, `10m`, `1h`, `1h30m` or plain seconds, in milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(trimmed);
  if (!match || trimmed === '') throw new CliError(`${text} is not a duration (e.g. 90s, 10m, 1h)`, EXIT.usage);
  const [, h = '0', m = '0', s = '0'] = match;
  return (Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000;
}

/** One line saying where a run is: `Running  2/5 provision-machines: 3/5 machines provisioned`. */
export function progressLine(run: Workflow, colour = false): string {
  const status = colour ? colourStatus(run.status) : run.status;
  const index = Math.min(run.currentStep, Math.max(0, run.steps.length - 1));
  const step = run.steps[index];
  const message = step?.message && !TERMINAL.has(run.status) ? `: ${step.message}` : '';
  return `${run.workflow} ${status}  ${stepText(run)}${message}`;
}

/** What a finished run printed last: each step and how it ended, and the error. */
export function summary(run: Workflow): string {
  const lines = run.steps.map((s, i) => {
    const took =
      s.startedAt && s.finishedAt
        ? ` (${Math.round((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 100) / 10}s)`
        : '';
    const error = s.error ? `: ${s.error.message} (${s.error.code})` : '';
    return `  ${i + 1}. ${s.name} ${s.status}${took}${error}`;
  });
  return lines.join('\n');
}

/**
 * How `--wait` shows a run. On a terminal: one live line per step, rewritten in place as the step's
 * message changes (`3/5 nodes Ready`), and left as it ended when the next step starts. In a pipe
 * (a log): one plain line per step change, nothing rewritten.
 */
export function progressWriter(
  out: NodeJS.WritableStream,
  options: { tty: boolean; colour?: boolean; columns?: number },
): { update(run: Workflow): void; end(): void } {
  let lastLine = '';
  let lastStep = -1;
  let lastKey = '';
  return {
    update(run) {
      const line = progressLine(run, options.colour);
      if (options.tty) {
        if (line === lastLine) return;
        if (lastLine && run.currentStep !== lastStep) out.write('\n');
        // A line longer than the terminal would wrap, and \r would then rewrite its last row only.
        out.write(`\r\u001b[K${options.columns ? fit(line, options.columns - 1) : line}`);
      } else {
        const key = `${run.status} ${run.currentStep}`;
        if (key === lastKey) return;
        lastKey = key;
        out.write(`${line}\n`);
      }
      lastLine = line;
      lastStep = run.currentStep;
    },
    end() {
      if (options.tty && lastLine) out.write('\n');
      lastLine = '';
    },
  };
}

// SGR colour codes, the only escapes a progress line holds (the linter's no-control-regex would refuse them as literals).
const SGR = `${String.fromCharCode(27)}\\[[0-9;]*m`;
const ESCAPE = new RegExp(SGR, 'y');
const visibleLength = (text: string): number => text.replace(new RegExp(SGR, 'g'), '').length;

/** A line cut to `width` visible characters, ending in `…` when cut; colour escapes take no column. */
export function fit(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let visible = 0;
  for (let i = 0; i < line.length && visible < width - 1;) {
    ESCAPE.lastIndex = i;
    const escape = ESCAPE.exec(line);
    if (escape) {
      out += escape[0];
      i += escape[0].length;
    } else {
      out += line[i++];
      visible++;
    }
  }
  // A cut inside a coloured word would leave the colour on.
  return `${out}…${line.includes('\u001b[') ? '\u001b[0m' : ''}`;
}

export interface FollowOptions {
  timeoutMs: number;
  /** Progress goes here (stderr), as progressWriter shows it. */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
  colour?: boolean;
  /** Called with every new state of the run (`workflow watch -o json` prints each). */
  onUpdate?: (run: Workflow) => void;
}

/** Follows a run to its end and answers its last state; throws exit 9 at the deadline. */
export async function followWorkflow(client: Client, id: string, options: FollowOptions): Promise<Workflow> {
  const deadline = Date.now() + options.timeoutMs;
  const view = options.progress
    ? progressWriter(options.progress, {
        tty: options.progress.isTTY === true,
        colour: options.colour ?? false,
        columns: (options.progress as { columns?: number }).columns,
      })
    : undefined;
  let last: Workflow | undefined;
  const update = (run: Workflow): void => {
    last = run;
    options.onUpdate?.(run);
    view?.update(run);
  };
  const finish = (run: Workflow): Workflow => {
    view?.end();
    return run;
  };

  let streamWorks = true;
  while (Date.now() < deadline) {
    if (streamWorks) {
      try {
        const ended = await streamOnce(client, id, deadline, update);
        if (ended) return finish(ended);
      } catch (error) {
        if (error instanceof ApiError) throw error; // 404, 403: asking again would not help
        if (error instanceof StreamUnavailable) streamWorks = false;
      }
      if (last && TERMINAL.has(last.status)) return finish(last);
      await sleep(Math.min(RECONNECT_MS, Math.max(0, deadline - Date.now())));
    } else {
      const run = await client.get<Workflow>(`/workflows/${encodeURIComponent(id)}`);
      update(run);
      if (TERMINAL.has(run.status)) return finish(run);
      await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
  }
  view?.end();
  throw new CliError(
    `workflow ${id} had not ended after ${Math.round(options.timeoutMs / 1000)}s${last ? ` (${progressLine(last)})` : ''}`,
    EXIT.timeout,
    undefined,
    `it goes on on the server: cx workflow watch ${id}`,
  );
}

class StreamUnavailable extends Error {}

/** Reads the event stream until it ends or the deadline; answers the run if it ended. */
async function streamOnce(
  client: Client,
  id: string,
  deadline: number,
  update: (run: Workflow) => void,
): Promise<Workflow | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()));
  try {
    const response = await fetch(client.url(`/workflows/${encodeURIComponent(id)}/events`), {
      headers: client.headers({ accept: 'text/event-stream' }),
      signal: controller.signal,
    });
    if (response.status >= 400) {
      const text = await response.text();
      let problem = {};
      try {
        problem = JSON.parse(text) as object;
      } catch {
        throw new StreamUnavailable(`events answered ${response.status}`);
      }
      if (response.status === 404 || response.status === 401 || response.status === 403)
        throw new ApiError(response.status, problem);
      throw new StreamUnavailable(`events answered ${response.status}`);
    }
    if (!response.headers.get('content-type')?.startsWith('text/event-stream') || !response.body)
      throw new StreamUnavailable('no event stream');
    const decoder = new TextDecoder();
    let buffer = '';
    let latest: Workflow | undefined;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(frame)?.[1];
        const data = frame
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (event === 'workflow' && data) {
          latest = JSON.parse(data) as Workflow;
          update(latest);
          if (TERMINAL.has(latest.status)) return latest;
        }
      }
    }
    return latest && TERMINAL.has(latest.status) ? latest : undefined;
  } catch (error) {
    if (controller.signal.aborted) return undefined;
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
