/**
 * cluster.os-upgrade against a simulated provider and tenant API (the peers of the e2e tests boot
 * no OS, so no node is ever Ready there): the plan names the replacements after the highest index
 * of each pool and leaves the control plane alone; the replacement step creates each new machine
 * from the new image and waits for its node before the old one is cordoned, drained and deleted,
 * never more than maxSurge ahead, and a step restarted from scratch (a crash, Redis's poll counter
 * lost) picks up where the infrastructure is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '@cx/api-schemas';
import type { SddcOperation } from '@cx/queue-contracts';
import type { OperationState, StepContext, StepResult } from '../engine.js';
import type { Machine, StepEffect } from '@cx/sm-contract';
import { osUpgradeClusterWorkflow, rollbackOsUpgradeWorkflow } from './cluster-os-upgrade.js';
import { nextBatch, planReplacements, type Replacement } from './replacement.js';

const cluster = {
  id: 'c1',
  name: 'c',
  provider: 'vsphere',
  kubernetesVersion: '1.31.2',
  status: 'Updating',
  apiEndpoint: 'https://10.0.0.1:6443',
  controlPlane: { count: 1 },
  nodePools: [
    { name: 'a', count: 2 },
    { name: 'b', count: 1 },
  ],
  osImage: '/DC0/vm/new',
} as unknown as Cluster;

const row = (id: string, name: string, pool: string, role: Machine['role'] = 'worker'): Machine =>
  ({
    id,
    clusterId: 'c1',
    pool,
    name,
    role,
    kubernetesVersion: '1.31.2',
    phase: 'Running',
    providerId: id,
    addresses: [],
    nodeStatus: 'Ready',
    createdAt: '2026-01-01T00:00:00.000Z',
    version: 1,
  }) as Machine;

const old = [
  row('cp', 'c-cp-0', 'control-plane', 'control-plane'),
  row('a0', 'c-a-0', 'a'),
  row('a2', 'c-a-2', 'a'),
  row('b0', 'c-b-0', 'b'),
];

describe('cluster.os-upgrade plan', () => {
  it('pairs every worker with a new machine named after the highest index of its pool, and leaves the control plane', () => {
    assert.deepEqual(planReplacements(cluster, old), [
      { replace: 'a0', name: 'c-a-0', by: 'c-a-3', pool: 'a' },
      { replace: 'a2', name: 'c-a-2', by: 'c-a-4', pool: 'a' },
      { replace: 'b0', name: 'c-b-0', by: 'c-b-1', pool: 'b' },
    ]);
  });

  it('records the image and the new machines in the step that plans them', async () => {
    const ctx = {
      cluster,
      machines: old,
      run: { input: { image: '/DC0/vm/new', maxSurge: 1 }, steps: [] },
    } as unknown as StepContext;
    const result = await osUpgradeClusterWorkflow.steps[0]!.run(ctx);
    assert.equal(result.kind, 'done');
    const effects = (result as { effects: StepEffect[] }).effects;
    assert.deepEqual(effects[0], { kind: 'setClusterImage', osImage: '/DC0/vm/new' });
    assert.deepEqual(effects[1], {
      kind: 'upsertMachines',
      machines: ['c-a-3', 'c-a-4', 'c-b-1'].map((name) => ({
        name,
        pool: name.split('-')[1],
        role: 'worker',
        kubernetesVersion: '1.31.2',
      })),
    });
  });

  it('works on the first maxSurge pairs whose old machine still exists', () => {
    const plan = planReplacements(cluster, old);
    assert.deepEqual(
      nextBatch(plan, new Set(['a0', 'a2', 'b0']), 2).map((p) => p.replace),
      ['a0', 'a2'],
    );
    assert.deepEqual(
      nextBatch(plan, new Set(['a2', 'b0']), 2).map((p) => p.replace),
      ['a2', 'b0'],
    );
    assert.deepEqual(
      nextBatch(plan, new Set(['b0']), 5).map((p) => p.replace),
      ['b0'],
    );
    assert.deepEqual(nextBatch(plan, new Set(), 1), []);
  });
});

/** The infrastructure and the tenant API as the step sees them through sddc operations, which run once per subject. */
class World {
  present = new Set(['cp', 'a0', 'a2', 'b0']);
  /** The list-nodes poll at which each machine's node turns Ready (old ones are Ready). */
  readyAt = new Map<string, number>([
    ['cp', 0],
    ['a0', 0],
    ['a2', 0],
    ['b0', 0],
  ]);
  images = new Map<string, string | undefined>();
  events: string[] = [];
  mostWorkers = 3;
  /** Machines whose node a listing has reported Ready. */
  readySeen = new Set<string>();
  private readonly finished = new Map<string, unknown>();
  private listings = 0;

  constructor(
    readonly machines: Machine[],
    readonly replacements: Replacement[],
  ) {}

  private run(op: SddcOperation): unknown {
    const name = (id: string): string => this.machines.find((m) => m.id === id)!.name;
    switch (op.op) {
      case 'per-machine':
        return op.items.map((item) => this.run(item.operation));
      case 'list-machines':
        return [...this.present].map((machineId) => ({ machineId }));
      case 'list-nodes': {
        this.listings += 1;
        const nodes = [...this.present].map((machineId) => ({
          machineId,
          name: name(machineId),
          status: this.listings >= (this.readyAt.get(machineId) ?? Infinity) ? 'Ready' : 'NotReady',
        }));
        for (const node of nodes) if (node.status === 'Ready') this.readySeen.add(node.machineId);
        return nodes;
      }
      case 'ensure-machine': {
        const { machineId, image } = op.spec;
        // Idempotent, as a provider's ensure is: a machine that exists is answered as it is.
        if (!this.present.has(machineId)) {
          this.present.add(machineId);
          this.images.set(machineId, image);
          this.readyAt.set(machineId, this.listings + 2); // boots for a while
          this.mostWorkers = Math.max(this.mostWorkers, this.present.size - 1);
          this.events.push(`create ${op.spec.name}`);
        }
        return { machineId, phase: 'Running', providerId: `vm-${machineId}`, addresses: ['10.0.0.9'] };
      }
      case 'cordon-node': {
        const by = this.replacements.find((p) => p.name === op.nodeName)?.by;
        assert.ok(
          this.readySeen.has(this.machines.find((m) => m.name === by)!.id),
          `${op.nodeName} was cordoned before ${by} was seen Ready`,
        );
        this.events.push(`cordon ${op.nodeName}`);
        return {};
      }
      case 'drain-node':
        this.events.push(`drain ${op.nodeName}`);
        return { node: op.nodeName, remaining: 0, blockedBy: [], pods: [] };
      case 'delete-machine':
        this.present.delete(op.machineId);
        this.events.push(`delete ${name(op.machineId)}`);
        return { deleted: true };
      default:
        throw new Error(`unexpected ${op.op}`);
    }
  }

  operation(subject: string, op: SddcOperation): OperationState<unknown> {
    if (!this.finished.has(subject)) this.finished.set(subject, this.run(op));
    return { state: 'done', result: this.finished.get(subject), finishedAt: Date.now() };
  }
}

/** Runs the replace-workers step until it is done, restarting it from poll 0 after `crashAfter` invocations. */
async function replaceAll(
  world: World,
  plan: Replacement[],
  maxSurge: number,
  crashAfter = Infinity,
): Promise<StepResult> {
  let poll = 0;
  for (let i = 0; i < 500; i += 1) {
    if (i === crashAfter) poll = 0;
    const ctx = {
      cluster,
      machines: world.machines,
      poll,
      deadlines: { nodesReadyMs: 60_000 },
      run: {
        input: { image: '/DC0/vm/new', maxSurge },
        currentStep: 1,
        steps: [
          { name: 'plan-replacement', output: { replacements: plan } },
          { name: 'replace-workers', startedAt: new Date().toISOString() },
        ],
      },
      operation: async (subject: string, op: SddcOperation) => world.operation(`${subject}@${op.op}`, op),
    } as unknown as StepContext;
    const result = await osUpgradeClusterWorkflow.steps[1]!.run(ctx);
    if (result.kind === 'done') return result;
    if (result.nextPoll) poll += 1;
  }
  throw new Error('replace-workers never finished');
}

describe('cluster.os-upgrade replace-workers', () => {
  const plan = planReplacements(cluster, old);
  const rows = [...old, row('a3', 'c-a-3', 'a'), row('a4', 'c-a-4', 'a'), row('b1', 'c-b-1', 'b')];

  it('creates each new machine from the new image, waits for its node, then cordons, drains and deletes the old one, one at a time', async () => {
    const world = new World(rows, plan);
    const result = await replaceAll(world, plan, 1);
    assert.deepEqual(world.events, [
      'create c-a-3',
      'cordon c-a-0',
      'drain c-a-0',
      'delete c-a-0',
      'create c-a-4',
      'cordon c-a-2',
      'drain c-a-2',
      'delete c-a-2',
      'create c-b-1',
      'cordon c-b-0',
      'drain c-b-0',
      'delete c-b-0',
    ]);
    assert.equal(world.mostWorkers, 4, "one machine beyond the pools' size at a time");
    assert.deepEqual(
      [...world.present].sort(),
      ['a3', 'a4', 'b1', 'cp'],
      'the control plane stays; every old worker is gone',
    );
    assert.deepEqual(
      ['a3', 'a4', 'b1'].map((id) => world.images.get(id)),
      ['/DC0/vm/new', '/DC0/vm/new', '/DC0/vm/new'],
    );
    const effects = (result as { effects: StepEffect[] }).effects;
    assert.deepEqual(effects[1], { kind: 'deleteMachines', ids: ['a0', 'a2', 'b0'] });
    assert.deepEqual(
      (effects[0] as { machines: Array<{ id: string; nodeStatus: string; providerId: string }> }).machines.map((m) => [
        m.id,
        m.nodeStatus,
        m.providerId,
      ]),
      [
        ['a3', 'Ready', 'vm-a3'],
        ['a4', 'Ready', 'vm-a4'],
        ['b1', 'Ready', 'vm-b1'],
      ],
    );
  });

  it('never deletes an old machine before its replacement is Ready, and surges maxSurge at a time', async () => {
    const world = new World(rows, plan);
    await replaceAll(world, plan, 2);
    assert.deepEqual(world.events.slice(0, 4), ['create c-a-3', 'create c-a-4', 'cordon c-a-0', 'cordon c-a-2']);
    assert.equal(world.mostWorkers, 5);
    assert.deepEqual([...world.present].sort(), ['a3', 'a4', 'b1', 'cp']);
  });

  it('resumes where the infrastructure is when the step restarts from scratch', async () => {
    for (const crashAfter of [1, 3, 6, 9]) {
      const world = new World(rows, plan);
      const result = await replaceAll(world, plan, 1, crashAfter);
      assert.equal(result.kind, 'done');
      assert.deepEqual([...world.present].sort(), ['a3', 'a4', 'b1', 'cp'], `restarted after ${crashAfter}`);
      assert.equal(world.events.filter((e) => e.startsWith('create')).length, 3, 'no machine created twice');
      assert.equal(world.mostWorkers, 4);
    }
  });
});

describe('cluster.os-upgrade-rollback undo-replacements', () => {
  const plan = planReplacements(cluster, old);
  const rows = [...old, row('a3', 'c-a-3', 'a'), row('a4', 'c-a-4', 'a'), row('b1', 'c-b-1', 'b')];

  /**
   * Where a failed upgrade left things: c-a-0 replaced by c-a-3 (the old machine gone), c-a-2 cordoned
   * and its replacement c-a-4 joined (a drain was blocked), c-b-1 never created.
   */
  function leftBehind(): { run: (op: SddcOperation) => unknown; events: string[]; present: Set<string> } {
    const present = new Set(['cp', 'a2', 'b0', 'a3', 'a4']);
    const cordoned = new Set(['a2']);
    const events: string[] = [];
    const id = (name: string): string => rows.find((m) => m.name === name)!.id;
    return {
      present,
      events,
      run(op) {
        switch (op.op) {
          case 'per-machine':
            return op.items.map((item) => this.run(item.operation));
          case 'list-machines':
            return [...present].map((machineId) => ({
              machineId,
              phase: 'Running',
              providerId: `vm-${machineId}`,
              addresses: ['10.0.0.9'],
            }));
          case 'list-nodes':
            return [...present].map((machineId) => ({
              machineId,
              name: rows.find((m) => m.id === machineId)!.name,
              status: 'Ready',
              schedulable: !cordoned.has(machineId),
            }));
          case 'cordon-node':
            if (op.unschedulable) cordoned.add(id(op.nodeName));
            else cordoned.delete(id(op.nodeName));
            events.push(`${op.unschedulable ? 'cordon' : 'uncordon'} ${op.nodeName}`);
            return {};
          case 'drain-node':
            events.push(`drain ${op.nodeName}`);
            return { node: op.nodeName, remaining: 0, blockedBy: [], pods: [] };
          case 'delete-machine':
            present.delete(op.machineId);
            events.push(`delete ${rows.find((m) => m.id === op.machineId)!.name}`);
            return { deleted: true };
          default:
            throw new Error(`unexpected ${op.op}`);
        }
      },
    };
  }

  async function undo(world: ReturnType<typeof leftBehind>, crashAfter = Infinity): Promise<StepResult> {
    const finished = new Map<string, unknown>();
    let poll = 0;
    for (let i = 0; i < 100; i += 1) {
      if (i === crashAfter) poll = 0;
      const ctx = {
        cluster,
        machines: rows,
        poll,
        deadlines: { nodesReadyMs: 60_000 },
        run: {
          input: { rollsBack: 'r1', image: '/DC0/vm/new', from: null, replacements: plan },
          currentStep: 0,
          steps: [{ name: 'undo-replacements', startedAt: new Date().toISOString() }],
        },
        operation: async (subject: string, op: SddcOperation) => {
          const key = `${subject}@${op.op}`;
          if (!finished.has(key)) finished.set(key, world.run(op));
          return { state: 'done', result: finished.get(key), finishedAt: Date.now() };
        },
      } as unknown as StepContext;
      const result = await rollbackOsUpgradeWorkflow.steps[0]!.run(ctx);
      if (result.kind === 'done') return result;
      if (result.nextPoll) poll += 1;
    }
    throw new Error('undo-replacements never finished');
  }

  it('keeps what was replaced, and for the rest uncordons the old node, drains and deletes the new machine', async () => {
    const world = leftBehind();
    const result = await undo(world);
    assert.deepEqual(world.events, ['uncordon c-a-2', 'cordon c-a-4', 'drain c-a-4', 'delete c-a-4']);
    assert.deepEqual(
      [...world.present].sort(),
      ['a2', 'a3', 'b0', 'cp'],
      'c-a-3 stays, c-a-2 and c-b-0 are back as they were',
    );
    const effects = (result as { effects: StepEffect[] }).effects;
    assert.deepEqual(effects, [
      {
        kind: 'updateMachines',
        machines: [{ id: 'a3', phase: 'Running', providerId: 'vm-a3', addresses: ['10.0.0.9'] }],
      },
      { kind: 'deleteMachines', ids: ['a4', 'b1', 'a0'] },
    ]);
  });

  it('repeats nothing that finished when the step restarts from scratch', async () => {
    for (const crashAfter of [1, 2, 3]) {
      const world = leftBehind();
      await undo(world, crashAfter);
      assert.deepEqual([...world.present].sort(), ['a2', 'a3', 'b0', 'cp'], `restarted after ${crashAfter}`);
      assert.equal(
        world.events.filter((e) => e.startsWith('delete')).length,
        1,
        `restarted after ${crashAfter}: ${world.events.join(', ')}`,
      );
    }
  });
});
