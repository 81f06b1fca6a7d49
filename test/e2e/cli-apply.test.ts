/**
 * `cx apply` and `cx diff` end to end: the real binary against a running cx on the kwok runtime.
 * A file creates the cluster; the export (`cx get cluster NAME -o yaml`), edited, converges it —
 * version, pool count, labels, a new pool, a removed pool, an addon — and kubectl sees the labels;
 * a second apply changes nothing and says so; --dry-run and diff change nothing; a difference no
 * endpoint converges is refused with nothing changed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { cliEnv, cliPath, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';
import { kubernetesPeer, startKwokCx } from '../support/kwok.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('cx apply and cx diff against a running cx (kwok)', () => {
  const peer = kubernetesPeer();
  const dir = tempDir('cli-apply-e2e');
  const env = cliEnv(dir);
  const file = join(dir, 'clusters', 'web.yaml');
  let cx: CxProcess;

  const cxRun = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [cliPath, ...args],
        { env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  const ok = async (args: string[]): Promise<Run> => {
    const run = await cxRun(args);
    assert.equal(run.code, 0, `cx ${args.join(' ')} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return run;
  };
  const pools = async (): Promise<string> =>
    (
      await ok([
        'get',
        'nodepools',
        '-c',
        'web',
        '-o',
        'jsonpath={range .items[*]}{.name}={.count}{" "}{.labels}{"\\n"}{end}',
      ])
    ).stdout;

  before(async () => {
    assert.ok(peer.versions.length >= 2, 'the Kubernetes peer builds two versions (an upgrade needs them)');
    cx = await startKwokCx(peer, dir);
    await ok(['login', cx.base, '-u', 'admin']);
    mkdirSync(join(dir, 'clusters'));
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('creates a missing cluster from a file; the second apply changes nothing and says so', async () => {
    writeFileSync(
      file,
      stringify({
        name: 'web',
        provider: 'kwok',
        kubernetesVersion: peer.versions[0],
        controlPlane: { count: 1 },
        // Report only: an upgrade takes the tenant API down a while, and a lapsed lease must not start a remediation.
        health: { remediation: 'none' },
        nodePools: [
          { name: 'workers', count: 1, labels: { tier: 'web' } },
          { name: 'old', count: 1 },
        ],
      }),
    );
    const diff = await cxRun(['diff', '-f', file]);
    assert.equal(diff.code, 10, diff.stderr);
    assert.equal(
      diff.stdout,
      `cluster/web: 1 change\n  + cluster web (create: kwok ${peer.versions[0]}, control plane 1, pools workers=1,old=1)\n`,
    );
    assert.match(diff.stderr, /1 of 1 cluster differ from the files/);

    const applied = await ok(['apply', '-f', file, '--wait', '--timeout', '4m']);
    assert.match(applied.stdout, /^cluster\/web: 1 change\n/);
    assert.match(
      applied.stdout,
      /\[1\/1\] cluster\/web \+ cluster web \(create: .*\): workflow [\w-]+\napplied 1 change\n$/,
    );
    assert.match((await ok(['get', 'cluster', 'web'])).stdout, /^web\s+kwok\s+\S+\s+Ready\s+1\s+2\s/m);

    const again = await ok(['apply', '-f', join(dir, 'clusters')]);
    assert.equal(again.stdout, 'cluster/web unchanged\nnothing to change\n', 'a directory works as the file does');
    assert.equal((await cxRun(['diff', '-f', file])).code, 0);
  });

  it('converges an edited export: version, count, labels, a new pool, a removed pool, an addon', async () => {
    const exported = parse((await ok(['get', 'cluster', 'web', '-o', 'yaml'])).stdout) as Record<string, any>;
    exported['kubernetesVersion'] = peer.versions[1];
    exported['nodePools'] = [
      {
        ...exported['nodePools'].find((p: { name: string }) => p.name === 'workers'),
        count: 2,
        labels: { tier: 'api' },
      },
      { name: 'edge', count: 1 },
    ];
    exported['addons'] = [{ name: 'dashboard' }];
    writeFileSync(file, stringify(exported));

    const plan = [
      'cluster/web: 6 changes',
      `  ~ kubernetesVersion ${peer.versions[0]} → ${peer.versions[1]} (upgrade)`,
      '  ~ pool workers labels tier=web, taints <none> → labels tier=api, taints <none> (update its nodes)',
      '  ~ pool workers count 1 → 2 (scale)',
      '  + pool edge count 1 (add)',
      '  - pool old count 1 (delete: its machines are drained and deleted)',
      '  + addon dashboard (install)',
      '',
    ].join('\n');
    const diff = await cxRun(['diff', '-f', file]);
    assert.equal(diff.code, 10);
    assert.equal(diff.stdout, plan);
    const dry = await ok(['apply', '-f', file, '--dry-run']);
    assert.equal(dry.stdout, `${plan}dry run: 6 changes not applied\n`);
    assert.equal(await pools(), 'control-plane=1 \nworkers=1 {"tier":"web"}\nold=1 \n', 'a dry run changes nothing');

    const applied = await ok(['apply', '-f', file, '--wait', '--timeout', '8m']);
    assert.ok(applied.stdout.startsWith(plan), 'the plan is printed first');
    assert.match(
      applied.stdout,
      /\[6\/6\] cluster\/web \+ addon dashboard \(install\): workflow [\w-]+\napplied 6 changes\n$/,
    );
    assert.match(applied.stderr, /cluster\.upgrade Succeeded/, 'each workflow was followed');

    assert.equal(await pools(), 'control-plane=1 \nworkers=2 {"tier":"api"}\nedge=1 \n');
    const cluster = JSON.parse((await ok(['get', 'cluster', 'web', '-o', 'json'])).stdout) as Record<string, string>;
    assert.equal(cluster['kubernetesVersion'], peer.versions[1]);
    assert.match((await ok(['get', 'addons', '-c', 'web'])).stdout, /^dashboard\s+\S+\s+Installed/m);
    // The tenant's nodes carry the new label (kubectl through cx's exec plugin).
    const kubeconfig = join(dir, 'web.kubeconfig');
    writeFileSync(kubeconfig, (await ok(['kubeconfig', 'web'])).stdout);
    const labelled = await promisify(execFile)(
      peer.kubectl,
      ['--kubeconfig', kubeconfig, 'get', 'nodes', '-l', 'tier=api', '-o', 'name', '--request-timeout=20s'],
      { env, encoding: 'utf8' },
    );
    assert.equal(labelled.stdout.trim().split('\n').length, 2);

    assert.equal((await ok(['apply', '-f', file])).stdout, 'cluster/web unchanged\nnothing to change\n');
  });

  it('refuses a difference no endpoint converges, and changes nothing', async () => {
    const exported = parse((await ok(['get', 'cluster', 'web', '-o', 'yaml'])).stdout) as Record<string, any>;
    exported['provider'] = 'sim';
    exported['nodePools'][0].count = 3;
    writeFileSync(file, stringify(exported));
    const refused = await cxRun(['apply', '-f', file, '--wait']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stdout,
      /^ {2}! provider "kwok" → "sim": a cluster does not change provider; create a new one$/m,
    );
    assert.match(refused.stderr, /nothing applied: 1 difference no API call converges/);
    assert.match(await pools(), /^workers=2 /m, 'the count change was not applied either');

    const unreadable = await cxRun(['apply', '-f', join(dir, 'nope.yaml')]);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.stderr, /cannot read .*nope\.yaml/);
    writeFileSync(join(dir, 'bad.yaml'), 'name: [unclosed');
    assert.equal((await cxRun(['diff', '-f', join(dir, 'bad.yaml')])).code, 2);
    await ok(['delete', 'cluster', 'web', '--wait']);
  });
});
