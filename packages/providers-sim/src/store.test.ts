/** The sim's store: shared by processes as infrastructure is, and taking over an earlier version's machine files. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { SimProvider, type SimEffect, type SimMachine } from './index.js';

const run = promisify(execFile);

it('lets one of several processes create a machine, and every process answers the same machine', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cx-sim-processes-'));
  const journal = join(dataDir, '.journal');
  // Three processes ensure the same 40 machines at once, as sddc replicas retrying one operation.
  const script = `
    const { SimProvider } = await import(${JSON.stringify(new URL('./index.js', import.meta.url).href)});
    const sim = new SimProvider({ dataDir: ${JSON.stringify(dataDir)}, journal: ${JSON.stringify(journal)} });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => sim.ensureMachine({
      clusterId: 'c' + (i % 4), machineId: 'm' + i, name: 'n' + i, role: 'worker', pool: 'w', kubernetesVersion: '1.31.4',
    })));
    console.log(JSON.stringify(answers.map((a) => a.providerId)));`;
  const outputs = await Promise.all(
    [0, 1, 2].map(async () => (await run(process.execPath, ['--input-type=module', '-e', script])).stdout),
  );
  const [first, ...others] = outputs.map((o) => JSON.parse(o) as string[]);
  for (const other of others) assert.deepEqual(other, first, 'every process answers the winner’s machine');
  const sim = new SimProvider({ dataDir });
  assert.deepEqual(
    sim
      .allMachines()
      .map((m) => m.providerId)
      .sort(),
    [...first!].sort(),
  );
  assert.equal((await sim.listMachines('c1')).length, 10);
  const creates = (await readFile(journal, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as SimEffect)
    .filter((e) => e.op === 'create');
  assert.equal(creates.length, 40, 'each machine created once, by one process');
});

it('takes over the machines an earlier version kept as files, and their directories', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cx-sim-files-'));
  const machine: SimMachine = {
    spec: {
      clusterId: 'old',
      machineId: 'old-m0',
      name: 'old-cp-0',
      role: 'control-plane',
      pool: 'cp',
      kubernetesVersion: '1.30.8',
    },
    providerId: 'sim-earlier',
    address: '198.18.0.1',
    powerState: 'off',
    createdAt: 1,
    bootedAt: 1,
  };
  mkdirSync(join(dataDir, 'old'));
  writeFileSync(join(dataDir, 'old', 'old-m0.json'), JSON.stringify(machine));
  writeFileSync(join(dataDir, 'old', 'old-m1.json.123.tmp'), '{"half'); // a crash's leftover
  const sim = new SimProvider({ dataDir });
  const [found] = await sim.listMachines('old');
  assert.equal(found?.providerId, 'sim-earlier');
  assert.equal(await sim.getPowerState('old', 'old-m0'), 'off');
  assert.equal(existsSync(join(dataDir, 'old')), false);
  assert.deepEqual(readdirSync(dataDir).sort(), ['machines.mdb', 'machines.mdb-lock']);
});
