/**
 * Golden tables: what `cx get clusters|nodes|nodepools|workflows` print for a known state — a sim
 * cluster created and scaled by cx — character for character. Only what changes from run to run is
 * normalised: ids become a label of the same width (so that alignment is still checked) and ages
 * become `<age>`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cliEnv, cliPath, startCx, tempDir, type CxProcess } from '../support/cx.js';

describe('cx get tables for a known state (sim)', () => {
  const dir = tempDir('cli-tables-e2e');
  const env = cliEnv(dir);
  let cx: CxProcess;
  /** id → the label that stands for it. */
  const ids = new Map<string, string>();

  const cx$ = async (...args: string[]): Promise<string> =>
    (await promisify(execFile)(process.execPath, [cliPath, ...args], { env, encoding: 'utf8', timeout: 120_000 }))
      .stdout;
  /** Ids replaced by their label padded to the id's width; ages (`12s`, `3m`) by `<age>`. */
  const normalise = (table: string): string => {
    let out = table;
    for (const [id, label] of ids) out = out.split(id).join(`<${label}>`.padEnd(id.length, '.'));
    return out.replace(/(?<=\s)\d+[smhd]$/gm, '<age>');
  };

  before(async () => {
    cx = await startCx();
    await cx$('login', cx.base, '-u', 'admin');
    const created = await cx$(
      'create',
      'cluster',
      'gold',
      '--provider',
      'sim',
      '--version',
      '1.31.4',
      '--control-plane',
      '1',
      '--pool',
      'workers=2:tier=web',
      '--pool',
      'batch=1',
      '--wait',
      '-o',
      'json',
    );
    const accepted = JSON.parse(created) as { cluster: { id: string }; workflow: { id: string } };
    ids.set(accepted.cluster.id, 'cluster-id');
    ids.set(accepted.workflow.id, 'create');
    const scaled = JSON.parse(await cx$('scale', 'cluster/gold', '--pool', 'batch=2', '--wait', '-o', 'json')) as {
      workflow: { id: string };
    };
    ids.set(scaled.workflow.id, 'scale');
  });
  after(async () => {
    await cx?.stop();
  });

  it('cx get clusters', async () => {
    assert.equal(normalise(await cx$('get', 'clusters')), GOLDEN_CLUSTERS);
  });

  it('cx get nodes -c gold', async () => {
    assert.equal(normalise(await cx$('get', 'nodes', '-c', 'gold')), GOLDEN_NODES);
  });

  it('cx get nodepools -c gold -o wide', async () => {
    assert.equal(normalise(await cx$('get', 'nodepools', '-c', 'gold', '-o', 'wide')), GOLDEN_POOLS);
  });

  it('cx get workflows ID ID', async () => {
    const [create, scale] = [...ids].filter(([, label]) => label !== 'cluster-id').map(([id]) => id);
    assert.equal(normalise(await cx$('get', 'workflows', create!, scale!)), GOLDEN_WORKFLOWS);
  });
});

// Read by eye once, then kept: a change here is a change users see.
const GOLDEN_CLUSTERS = [
  'NAME   PROVIDER   VERSION   STATUS   CONTROL-PLANE   WORKERS   AGE',
  'gold   sim        1.31.4    Ready    1               4         <age>',
  '',
].join('\n');
const GOLDEN_NODES = [
  'NAME             ROLE            POOL            STATUS   VERSION',
  'gold-batch-0     worker          batch           Ready    1.31.4',
  'gold-batch-1     worker          batch           Ready    1.31.4',
  'gold-cp-0        control-plane   control-plane   Ready    1.31.4',
  'gold-workers-0   worker          workers         Ready    1.31.4',
  'gold-workers-1   worker          workers         Ready    1.31.4',
  '',
].join('\n');
const GOLDEN_POOLS = [
  'NAME            ROLE            COUNT   VCPUS   MEMORY-MIB   LABELS     TAINTS',
  'control-plane   control-plane   1       2       4096         <none>     <none>',
  'workers         worker          2       2       4096         tier=web   <none>',
  'batch           worker          2       2       4096         <none>     <none>',
  '',
].join('\n');
const GOLDEN_WORKFLOWS = [
  'ID                                     WORKFLOW         STATUS      STEP             CLUSTER                                AGE',
  '<create>............................   cluster.create   Succeeded   5/5 mark-ready   <cluster-id>........................   <age>',
  '<scale>.............................   cluster.scale    Succeeded   5/5 mark-ready   <cluster-id>........................   <age>',
  '',
].join('\n');
