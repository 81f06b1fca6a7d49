import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { completionScript } from './completion.js';
import { buildProgram } from './program.js';

const dir = mkdtempSync(join(tmpdir(), 'cx-completion-'));
const script = join(dir, 'cx.bash');
writeFileSync(script, completionScript('bash', buildProgram()));
// A stand-in for cx that knows two clusters, demo's nodes and web's addon: the script asks `cx get KIND [-c CLUSTER] -o name` of the cx typed.
const fakeCx = join(dir, 'fake-cx');
writeFileSync(
  fakeCx,
  [
    '#!/bin/sh',
    'case "$*" in',
    '  "get clusters -o name") printf "cluster/demo\\ncluster/web\\n" ;;',
    '  "get nodes -c demo -o name") printf "node/demo-cp-0\\nnode/demo-workers-0\\n" ;;',
    '  "get addons -c web -o name") printf "addon/dashboard\\n" ;;',
    'esac',
    '',
  ].join('\n'),
);
chmodSync(fakeCx, 0o755);

/** What bash completes for the words typed (the last one is being completed), with the real script. */
function complete(...words: string[]): string[] {
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _cx; printf '%s\\n' "\${COMPREPLY[@]}"`,
      script,
      ...words,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('cx completion bash (run by bash)', () => {
  it('completes commands, nested commands and aliases', () => {
    assert.deepEqual(complete('cx', 'dr'), ['drain']);
    assert.deepEqual(complete('cx', 'etcd', ''), ['snapshot', 'list', 'ls', 'restore', 'delete']);
    assert.deepEqual(complete('cx', 'rotate', ''), ['certificates', 'ca']);
    assert.deepEqual(complete('cx', 'wf', 'ro'), ['rollback'], 'through the alias wf');
  });

  it("completes a command's flags and the global ones, and -o formats", () => {
    assert.deepEqual(complete('cx', 'ha-config', 'create', '--vi'), ['--virtual-ips']);
    assert.ok(complete('cx', 'drain', '--').includes('--drain-timeout'));
    assert.ok(complete('cx', 'drain', '--').includes('--context'), 'global flags too');
    assert.ok(!complete('cx', 'cordon', '--').includes('--drain-timeout'), "only the command's own");
    assert.deepEqual(complete('cx', 'get', 'clusters', '-o', 'y'), ['yaml']);
  });

  it('completes resource kinds after get, and cluster names from the server', () => {
    assert.deepEqual(complete('cx', 'get', 'etcd'), ['etcd-snapshots']);
    assert.deepEqual(complete(fakeCx, 'get', 'nodes', '-c', ''), ['demo', 'web']);
    assert.deepEqual(complete(fakeCx, 'get', 'clusters', 'w'), ['web']);
    assert.deepEqual(complete(fakeCx, 'cordon', '--cluster', 'd'), ['demo']);
    assert.deepEqual(complete(fakeCx, 'get', 'nodes', '-c', 'demo', ''), ['demo-cp-0', 'demo-workers-0']);
    assert.deepEqual(
      complete(fakeCx, 'drain', '--cluster=demo', 'demo-w'),
      ['demo-workers-0'],
      'nodes of the -c cluster',
    );
    assert.deepEqual(complete(fakeCx, 'addon', 'remove', '-c', 'web', ''), ['dashboard']);
    assert.deepEqual(complete(fakeCx, 'scale', ''), ['demo', 'web']);
    assert.deepEqual(complete(fakeCx, 'kubeconfig', ''), ['credential', 'demo', 'web'], 'subcommands and names');
    // The value after a flag is not taken for a command: `-c get` is a cluster named get.
    assert.deepEqual(complete('cx', 'addon', '-c', 'get', 'ins'), ['install']);
  });
});

describe('cx completion zsh and fish', () => {
  it('gives zsh the same function through its bash-completion layer', () => {
    const zsh = completionScript('zsh', buildProgram());
    assert.match(zsh, /^#compdef cx\n/);
    assert.match(zsh, /bashcompinit/);
    assert.ok(zsh.endsWith(completionScript('bash', buildProgram())));
  });

  it('gives fish a complete line per command, flag and kind', () => {
    const fish = completionScript('fish', buildProgram());
    assert.match(fish, /^complete -c cx -n '__cx_at '\\''cx etcd'\\''' -a 'snapshot' -d /m);
    assert.match(
      fish,
      /^complete -c cx -n '__cx_at '\\''cx drain'\\''' -s c -l cluster -r -a '\(__cx_clusters\)' -d /m,
    );
    assert.match(fish, /-a 'clusters nodes nodepools workflows/);
  });
});
