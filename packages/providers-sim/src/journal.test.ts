/** The sim's journal: each effect once, by whichever of several providers on one data directory made it. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { MachineSpec } from '@cx/sddc-contract';
import { SimProvider, type SimEffect } from './index.js';

it('journals a creation, an upgrade and a deletion once each, not the repeats that change nothing', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cx-sim-journal-'));
  const journal = join(dataDir, '.journal');
  // Two providers on one directory, as two sddc replicas.
  const [a, b] = [new SimProvider({ dataDir, journal }), new SimProvider({ dataDir, journal })];
  const spec: MachineSpec = {
    clusterId: 'c1',
    machineId: 'm1',
    name: 'c1-worker-0',
    role: 'worker',
    pool: 'workers',
    kubernetesVersion: '1.31.4',
  };
  await Promise.all([a.ensureMachine(spec), b.ensureMachine(spec)]);
  await a.ensureMachine(spec);
  await b.ensureMachine({ ...spec, kubernetesVersion: '1.32.2' });
  await a.ensureMachine({ ...spec, kubernetesVersion: '1.32.2' });
  await a.deleteMachine('c1', 'm1');
  await b.deleteMachine('c1', 'm1');
  const effects = (await readFile(journal, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as SimEffect);
  assert.deepEqual(
    effects.map((e) => [e.op, e.machineId, e.kubernetesVersion]),
    [
      ['create', 'm1', '1.31.4'],
      ['upgrade', 'm1', '1.32.2'],
      ['delete', 'm1', undefined],
    ],
  );
});
