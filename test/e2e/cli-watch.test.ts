/**
 * `cx get clusters --watch`, the real binary against a running cx (sim): the table's header once,
 * then a row each time a cluster appears or changes, and a line when it goes away.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cliEnv, cliPath, startCx, tempDir, until, type CxProcess } from '../support/cx.js';

describe('cx get --watch (sim)', () => {
  const dir = tempDir('cli-watch-e2e');
  const env = cliEnv(dir);
  let cx: CxProcess;
  const cx$ = async (...args: string[]): Promise<string> =>
    (await promisify(execFile)(process.execPath, [cliPath, ...args], { env, encoding: 'utf8', timeout: 120_000 }))
      .stdout;

  before(async () => {
    cx = await startCx();
    await cx$('login', cx.base, '-u', 'admin');
  });
  after(async () => {
    await cx?.stop();
  });

  it('prints the header once, the cluster when it appears and changes (Ready at least), and its deletion', async () => {
    // Bounded: the watch stops on its own after --timeout.
    const watch = spawn(
      process.execPath,
      [cliPath, 'get', 'clusters', '--watch', '--interval', '1', '--timeout', '40'],
      { env },
    );
    let out = '';
    watch.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => watch.once('exit', resolve));
    // Each change once the watch has seen the state before it (bounded waits on its output).
    const printed = (what: string, pattern: RegExp): Promise<unknown> =>
      until(what, async () => (pattern.test(out) ? true : undefined), 15_000);
    await printed('the watch to print its header', /^NAME\s/m);
    await cx$(
      'create',
      'cluster',
      'watched',
      '--provider',
      'sim',
      '--version',
      '1.31.4',
      '--control-plane',
      '1',
      '--wait',
    );
    await printed('the watch to show the cluster Ready', /^watched\s.*\bReady\b/m);
    await cx$('delete', 'cluster', 'watched', '--wait');
    assert.equal(await exited, 0, out);
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+PROVIDER\s+VERSION\s+STATUS/, 'the header comes first');
    assert.equal(lines.filter((l) => /^NAME\s/.test(l)).length, 1, 'and only once');
    const rows = lines.filter((l) => l.startsWith('watched '));
    // How many states it is seen in depends on the polls (sim is quick): at least Ready.
    assert.ok(rows.length >= 1, `the cluster was printed:\n${out}`);
    assert.ok(
      rows.some((r) => /\bReady\b/.test(r)),
      `a row shows it Ready:\n${out}`,
    );
    const withoutAge = rows.map((r) => r.replace(/\s+\S+$/, ''));
    assert.equal(new Set(withoutAge).size, withoutAge.length, `an unchanged cluster is not printed again:\n${out}`);
    assert.equal(lines.at(-1), 'cluster/watched deleted');
  });
});
