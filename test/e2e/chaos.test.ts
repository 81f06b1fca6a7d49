/**
 * The chaos harness in its short form (bench/chaos.mjs, docs/reliability.md): two replicas each of
 * sm, sddc and wfm on a private MariaDB and Redis, 10 workflows while 5 replicas are killed -9 and
 * restarted, Redis and MariaDB killed and restarted once each, and every process killed at once and
 * restarted. Nothing may be lost, orphaned, duplicated, done twice or left inconsistent.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/cx.js';

describe('chaos harness, short form', () => {
  it('loses nothing and does nothing twice through kills and restarts of every part', async () => {
    // The harness has its own hard deadline and kills every process it started when it exits.
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'bench/chaos.mjs'),
        '--seed',
        'npm-test',
        '--workflows',
        '10',
        '--kills',
        '5',
        '--deadline-s',
        '420',
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const line = stdout.trim().split('\n').at(-1) ?? '';
    const figures = JSON.parse(line || '{}') as Record<string, unknown>;
    assert.equal(figures['error'], undefined, `the harness failed:\n${stderr.slice(-4000)}`);
    const counts = ['lost', 'orphaned', 'duplicated', 'doubleEffects', 'mismatched'];
    assert.deepEqual(
      Object.fromEntries(counts.map((k) => [k, figures[k]])),
      Object.fromEntries(counts.map((k) => [k, 0])),
      `${line}\n${stderr.slice(-4000)}`,
    );
    // The chaos did happen, while workflows ran, and every workflow was accepted and succeeded.
    assert.equal(figures['kills'], 5);
    assert.deepEqual([figures['redisRestarts'], figures['mariadbRestarts'], figures['fullRestarts']], [1, 1, 1]);
    assert.ok((figures['eventsDuringWork'] as number) > 0, line);
    assert.equal(figures['accepted'], 10, line);
    assert.equal(figures['succeeded'], 10, line);
    assert.equal(code, 0, line);
  });
});
