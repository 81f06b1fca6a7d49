/**
 * What `cx … --wait` shows while it waits, with the real binary against a running cx (sim): under a
 * pseudo-terminal (`script` from util-linux) a live line per step, rewritten in place, coloured
 * unless NO_COLOR is set; in a pipe, plain lines, one per step change. Tables are coloured on a
 * terminal only, and never under NO_COLOR.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, cliPath, startCx, tempDir, type CxProcess } from '../support/cx.js';

interface Run {
  code: number;
  output: string;
  stderr: string;
}

const ESC = '\u001b';
const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

describe('cx --wait progress on a terminal and in a pipe (sim)', () => {
  const dir = tempDir('cli-progress-e2e');
  const env: NodeJS.ProcessEnv = { ...process.env, CX_CREDENTIALS_FILE: join(dir, 'credentials.json'), TERM: 'xterm' };
  for (const name of ['NO_COLOR', 'FORCE_COLOR', 'CX_CONTEXT']) delete env[name];
  let cx: CxProcess;

  /** Runs `cx ARGS…` in a pipe (`tty` false) or under a pseudo-terminal, where stdout and stderr are the terminal. */
  const cxRun = (
    args: string[],
    options: { tty: boolean; env?: Record<string, string>; columns?: number },
  ): Promise<Run> => {
    const command = [process.execPath, cliPath, ...args];
    const line = command.map(shellQuote).join(' ');
    const [file, argv] = options.tty
      ? ['script', ['-qec', options.columns ? `stty cols ${options.columns}; ${line}` : line, '/dev/null']]
      : [command[0]!, command.slice(1)];
    return new Promise((resolve) => {
      execFile(file, argv, { env: { ...env, ...options.env }, timeout: 180_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: stdout, stderr }),
      );
    });
  };
  const ok = async (
    args: string[],
    options: { tty: boolean; env?: Record<string, string>; columns?: number },
  ): Promise<Run> => {
    const run = await cxRun(args, options);
    assert.equal(run.code, 0, `cx ${args.join(' ')} exited ${run.code}\n${run.output}\n${run.stderr}`);
    return run;
  };

  before(async () => {
    cx = await startCx();
    await ok(['login', cx.base, '-u', 'admin'], { tty: false, env: { CX_PASSWORD: ADMIN_PASSWORD } });
  });
  after(async () => {
    await cx?.stop();
  });

  it('on a terminal: one live line per step, rewritten in place, in colour', async () => {
    const created = await ok(
      [
        'create',
        'cluster',
        'tty',
        '--provider',
        'sim',
        '--version',
        '1.31.4',
        '--control-plane',
        '1',
        '--pool',
        'workers=2',
        '--wait',
      ],
      { tty: true },
    );
    const text = created.output;
    assert.match(text, /^cluster\/tty created \(workflow [\w-]+\)\r\n/, 'stdout on the terminal too');
    // Each step's line starts by clearing the line; the last one ends green.
    const lines = text.split('\r\n');
    const progress = lines.filter((l) => l.includes(`\r${ESC}[K`));
    const steps = progress.map((line) => {
      const shown = line
        .split(`\r${ESC}[K`)
        .slice(1)
        .map((segment) => /(\d)\/5 ([\w-]+)/.exec(segment)?.[0]);
      assert.equal(new Set(shown).size, 1, `a line is rewritten within its step only: ${JSON.stringify(line)}`);
      return shown[0]!;
    });
    assert.deepEqual(
      steps.map((s) => Number(s[0])),
      [...new Set(steps.map((s) => Number(s[0])))].sort(),
      `one line per step, in order: ${JSON.stringify(steps)}`,
    );
    assert.ok(progress.length >= 2, `several steps were shown:\n${JSON.stringify(text)}`);
    assert.ok(
      progress.at(-1)!.endsWith(`cluster.create ${ESC}[32mSucceeded${ESC}[39m  5/5 mark-ready`),
      JSON.stringify(progress.at(-1)),
    );
    assert.match(text, /cluster\/tty Ready\r\n$/);

    const table = (await ok(['get', 'clusters'], { tty: true })).output;
    assert.match(table, new RegExp(`^${ESC}\\[1mNAME`), 'bold headers on a terminal');
    assert.ok(table.includes(`${ESC}[32mReady${ESC}[39m`), 'a Ready status in green');
  });

  it('on a terminal under NO_COLOR (or --no-color): the live line, no colour', async () => {
    const scaled = await ok(['scale', 'cluster/tty', '--pool', 'workers=3', '--wait'], {
      tty: true,
      env: { NO_COLOR: '1' },
    });
    assert.ok(scaled.output.includes(`\r${ESC}[K`), 'still rewritten in place');
    assert.ok(!scaled.output.includes(`${ESC}[3`), JSON.stringify(scaled.output));
    assert.match(scaled.output, /cluster\.scale Succeeded {2}\d+\/\d+ [\w-]+\r\n/);
    const table = (await ok(['--no-color', 'get', 'clusters'], { tty: true })).output;
    assert.ok(!table.includes(ESC), JSON.stringify(table));
  });

  it('on a narrow terminal: the live line is cut to its width, so that rewriting it in place works', async () => {
    const scaled = await ok(['scale', 'cluster/tty', '--pool', 'workers=2', '--wait'], {
      tty: true,
      columns: 30,
      env: { NO_COLOR: '1' },
    });
    const shown = scaled.output
      .split(`\r${ESC}[K`)
      .slice(1)
      .map((segment) => segment.replace(/\r\n[\s\S]*$/, ''));
    assert.ok(shown.length > 0, JSON.stringify(scaled.output));
    for (const segment of shown) assert.ok(segment.length <= 29, `${JSON.stringify(segment)} fits in 29 columns`);
    assert.ok(
      shown.some((segment) => segment.endsWith('…')),
      'the long ones were cut',
    );
  });

  it('in a pipe: plain lines, one per step change', async () => {
    const scaled = await ok(['scale', 'cluster/tty', '--pool', 'workers=1', '--wait'], { tty: false });
    assert.ok(!scaled.stderr.includes(ESC) && !scaled.stderr.includes('\r'), JSON.stringify(scaled.stderr));
    const lines = scaled.stderr.trimEnd().split('\n');
    assert.match(lines.at(-1)!, /^cluster\.scale Succeeded {2}(\d+)\/\1 [\w-]+$/);
    const keys = lines.map((l) => /^cluster\.scale (\w+) {2}(\d+)\//.exec(l)?.slice(1).join(' '));
    assert.ok(keys.every(Boolean), JSON.stringify(lines));
    assert.equal(new Set(keys).size, keys.length, `no step printed twice:\n${scaled.stderr}`);
    assert.equal(
      scaled.output,
      'cluster/tty scaling workers to 1 (workflow ' +
        /workflow ([\w-]+)/.exec(scaled.output)![1] +
        ')\ncluster/tty workers=1 Ready\n',
    );
    await ok(['delete', 'cluster', 'tty', '--wait'], { tty: false });
  });
});
