/**
 * The CLI installed the way the README tells a user on another machine: `npm run cli:pack` makes a
 * tarball, `npm install -g` puts it on the PATH from a directory outside this repository, offline,
 * and the installed `cx` (none of this checkout's node_modules within its reach) signs in and
 * creates a cluster on a running cx.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cliEnv, repoRoot, startCx, tempDir, type CxProcess } from '../support/cx.js';

describe('cx installed from its packed tarball (no server, no checkout)', () => {
  const dir = tempDir('cli-standalone-e2e');
  const prefix = join(dir, 'prefix');
  const installed = join(prefix, 'bin', 'cx');
  const env = cliEnv(dir);
  let cx: CxProcess;

  const run = async (...args: string[]): Promise<string> =>
    (await promisify(execFile)(installed, args, { env, cwd: dir, encoding: 'utf8', timeout: 120_000 })).stdout;

  before(async () => {
    // dist/ is built by `npm test`; pack.mjs bundles it (the README's `npm run cli:pack` builds first).
    const tarball = execFileSync(process.execPath, [join(repoRoot, 'packages/cli/pack.mjs')], {
      encoding: 'utf8',
    }).trim();
    const copy = join(dir, basename(tarball));
    copyFileSync(tarball, copy);
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', copy], {
      cwd: dir,
      env: { ...process.env, npm_config_cache: join(dir, 'npm-cache') },
      stdio: 'pipe',
    });
    cx = await startCx();
  });

  after(async () => {
    await cx?.stop();
  });

  it('is a single file outside the checkout, with no dependency to install', () => {
    assert.ok(existsSync(installed), `npm install -g put no cx in ${prefix}/bin`);
    const target = realpathSync(installed);
    assert.ok(!target.startsWith(repoRoot), `the installed cx runs from ${target}, inside the checkout`);
    assert.equal(existsSync(join(prefix, 'lib', 'node_modules', 'cx-cli', 'node_modules')), false);
  });

  it('signs in, creates a cluster and waits for it, lists it', async () => {
    assert.equal((await run('version')).trim(), '0.1.0');
    await run('login', cx.base, '-u', 'admin');
    await run(
      'create',
      'cluster',
      'packed',
      '--provider',
      'sim',
      '--version',
      '1.31.4',
      '--control-plane',
      '1',
      '--wait',
    );
    assert.equal((await run('get', 'clusters', '-o', 'name')).trim(), 'cluster/packed');
    assert.equal(JSON.parse(await run('get', 'cluster', 'packed', '-o', 'json')).status, 'Ready');
  });
});
