import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, ClusterAddon } from '@cx/api-schemas';
import { describeChange, desiredCluster, planApply, renderPlan, type DesiredCluster } from './apply-plan.js';

/** A cluster as the API answers it. */
const cluster: Cluster = {
  id: 'c1',
  name: 'demo',
  provider: 'sim',
  kubernetesVersion: '1.31.4',
  status: 'Ready',
  statusMessage: null,
  controlPlane: { count: 3, vcpus: 2, memoryMiB: 4096, schedulable: false },
  nodePools: [
    { name: 'workers', count: 2, vcpus: 2, memoryMiB: 4096, labels: { tier: 'web' } },
    { name: 'batch', count: 1, vcpus: 2, memoryMiB: 4096 },
  ],
  activeWorkflowId: null,
  resourceGroupId: null,
  apiEndpoint: null,
  apiVip: null,
  health: {
    unhealthyTimeoutSeconds: 30,
    startupTimeoutSeconds: 1200,
    remediation: 'replace',
    fencing: 'provider',
    maxUnhealthy: '40%',
  },
  healthStatus: null,
  createdBy: 'admin',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

const addon = (
  name: string,
  settings: Record<string, unknown> = {},
  status: ClusterAddon['status'] = 'Installed',
): ClusterAddon => ({
  name,
  version: '1.0.0',
  settings,
  status,
  installedAt: '2026-01-01T00:00:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

/** The file `cx get cluster demo -o yaml` would print, edited by `edit`. */
function exported(edit: (doc: Record<string, any>) => void = () => undefined): DesiredCluster {
  const doc = structuredClone(cluster) as unknown as Record<string, any>;
  edit(doc);
  return desiredCluster(doc, 'demo.yaml');
}

describe('the apply plan', () => {
  it('changes nothing for a cluster exported as it is (read-only fields ignored)', () => {
    const plan = planApply(exported(), cluster);
    assert.deepEqual(plan, { name: 'demo', changes: [], refused: [] });
    assert.equal(renderPlan(plan), 'cluster/demo unchanged\n');
  });

  it('creates a missing cluster from the request, its addons in the request (installed before it is Ready)', () => {
    const desired = exported((d) => (d['addons'] = [{ name: 'dashboard' }]));
    const plan = planApply(desired, undefined);
    assert.deepEqual(
      plan.changes.map((c) => c.kind),
      ['create'],
    );
    const create = plan.changes[0]!;
    assert.ok(create.kind === 'create');
    for (const field of ['id', 'status', 'createdAt', 'healthStatus', 'activeWorkflowId'])
      assert.ok(!(field in create.request), `${field} is not sent`);
    assert.deepEqual(create.request.addons, [{ name: 'dashboard' }]);
    assert.equal(
      renderPlan(plan),
      'cluster/demo: 1 change\n  + cluster demo (create: sim 1.31.4, control plane 3, pools workers=2,batch=1, addons dashboard)\n',
    );
    assert.ok(!('addons' in (planApply(exported(), undefined).changes[0] as { request: object }).request));
  });

  it('converges version, counts, labels, taints, new and removed pools, in that order', () => {
    const desired = exported((d) => {
      d['kubernetesVersion'] = '1.32.0';
      d['controlPlane'].count = 5;
      d['nodePools'] = [
        { ...d['nodePools'][0], count: 4, labels: { tier: 'api' }, taints: [{ key: 'gpu', effect: 'NoSchedule' }] },
        { name: 'edge', count: 2, labels: { role: 'edge' } },
      ];
    });
    const plan = planApply(desired, cluster);
    assert.deepEqual(plan.refused, []);
    assert.deepEqual(
      plan.changes.map((c) => c.kind),
      ['upgrade', 'scale', 'schedule', 'scale', 'add-pool', 'delete-pool'],
    );
    assert.equal(
      renderPlan(plan),
      [
        'cluster/demo: 6 changes',
        '  ~ kubernetesVersion 1.31.4 → 1.32.0 (upgrade)',
        '  ~ pool control-plane count 3 → 5 (scale)',
        '  ~ pool workers labels tier=web, taints <none> → labels tier=api, taints gpu:NoSchedule (update its nodes)',
        '  ~ pool workers count 2 → 4 (scale)',
        '  + pool edge count 2 labels role=edge (add)',
        '  - pool batch count 1 (delete: its machines are drained and deleted)',
        '',
      ].join('\n'),
    );
  });

  it('leaves unmanaged what the file leaves out: labels of a pool, pools, addons', () => {
    const desired = exported((d) => {
      delete d['nodePools'][0].labels;
    });
    assert.deepEqual(planApply(desired, cluster).changes, []);
    const noPools = exported((d) => delete d['nodePools']);
    assert.deepEqual(planApply(noPools, cluster, [addon('dashboard')]).changes, [], 'no addons: key, no addon managed');
  });

  it('installs missing addons, installs again on other settings or after a failure, removes the others', () => {
    const desired = exported((d) => {
      d['addons'] = [
        { name: 'dashboard' },
        { name: 'monitoring', settings: { retention: '7d' } },
        { name: 'ingress-nginx' },
        { name: 'logs', settings: { url: 'http://x', token: 's' } },
      ];
    });
    const current = [
      addon('monitoring', { retention: '1d' }),
      addon('ingress-nginx', {}, 'Failed'),
      addon('cni-flannel'),
      { ...addon('logs', { url: 'http://x' }), secretSettings: ['token'] },
    ];
    const plan = planApply(desired, cluster, current);
    assert.deepEqual(
      plan.changes.map((c) => `${c.kind} ${'name' in c ? c.name : 'addon' in c ? `${c.addon.name} ${c.why}` : ''}`),
      [
        'remove-addon cni-flannel',
        'install-addon dashboard missing',
        'install-addon monitoring settings differ',
        'install-addon ingress-nginx failed',
      ],
      'a secret setting, never answered, is no difference',
    );
  });

  it('refuses what no endpoint converges, and says why', () => {
    const desired = exported((d) => {
      d['provider'] = 'kwok';
      d['kubernetesVersion'] = '1.30.0';
      d['controlPlane'].vcpus = 8;
      d['nodePools'][0].memoryMiB = 8192;
    });
    const plan = planApply(desired, cluster);
    assert.deepEqual(plan.changes, []);
    assert.deepEqual(plan.refused, [
      'provider "sim" → "kwok": a cluster does not change provider; create a new one',
      'kubernetesVersion "1.31.4" → "1.30.0": Kubernetes is not downgraded',
      'controlPlane.vcpus 2 → 8: set when the cluster is created',
      'nodePools.workers.memoryMiB 4096 → 8192: a pool’s machine size is fixed; add a new pool, then delete this one',
    ]);
    assert.match(renderPlan(plan), /^cluster\/demo: 0 changes, 4 refused\n {2}! provider/);
  });

  it("replaces the cluster's health policy with the file's fields over what it has, without a workflow", () => {
    const plan = planApply(
      exported((d) => {
        d['health'] = { remediation: 'none', unhealthyTimeoutSeconds: 30 };
      }),
      cluster,
    );
    assert.deepEqual(plan.refused, []);
    assert.deepEqual(plan.changes, [
      {
        kind: 'health',
        policy: { ...cluster.health, remediation: 'none' },
        changed: ['remediation "replace" → "none"'],
      },
    ]);
    assert.equal(describeChange(plan.changes[0]!), '~ health remediation "replace" → "none" (no workflow)');
    assert.deepEqual(planApply(exported(), cluster).changes, [], 'the policy it has: no change');
  });

  it('refuses a document without a name, or addons that are not a list', () => {
    assert.throws(() => desiredCluster({ provider: 'sim' }, 'x.yaml'), /x\.yaml: a cluster without name:/);
    assert.throws(() => desiredCluster({ name: 'a', addons: 'dashboard' }, 'x.yaml'), /addons: must be a list/);
  });
});
