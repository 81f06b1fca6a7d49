/** Cluster templates against real SQL (SQLite and MariaDB): presets, sealed addon secrets, optimistic concurrency, use by a cluster create. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import type { ClusterCreateRequest } from '@cx/api-schemas';
import { migrateLatest } from '@cx/migrations';
import { ClusterAddons } from '../addons/addons.js';
import { Resources } from '../resources/resources.js';
import { SecretBox } from '../secrets/secret-box.js';
import type { StartRequest, TemplateUse } from '@cx/sm-contract';
import { Clusters } from '../clusters/clusters.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { ClusterTemplates } from './templates.js';
import { TenantCredentials } from '../clusters/tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';

const start = (input: Record<string, unknown> = {}): StartRequest => ({
  actor: 'user-1',
  workflow: {
    workflow: 'cluster.create',
    version: 3,
    steps: ['plan', 'apply-addons', 'mark-ready'],
    input,
    clusterStatus: 'Provisioning',
  },
});
const request = (name: string): ClusterCreateRequest => ({
  name,
  provider: 'kwok',
  kubernetesVersion: '1.31.4',
  controlPlane: { count: 1 },
  nodePools: [],
});
const logForwarding = {
  name: 'log-forwarding',
  settings: { type: 'splunk-hec', url: 'https://hec.example:8088' },
  secrets: { token: 'hec-secret-token' },
};

for (const target of testDatabases) {
  describe(`cluster templates on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let clusters: Clusters;
    let runs: WorkflowRuns;
    let templates: ClusterTemplates;
    let addons: ClusterAddons;
    const count = async (table: string): Promise<number> =>
      Number(((await db(table).count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      const box = new SecretBox('t'.repeat(32));
      const tenants = new TenantCredentials(db, box);
      runs = new WorkflowRuns(db, tenants);
      clusters = new Clusters(db, runs, new Resources(db, box), tenants);
      templates = new ClusterTemplates(db, box);
      addons = new ClusterAddons(db, box);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('stores presets and addons, seals secret settings apart, answers by id or name, reveals secrets to wfm only', async () => {
      const created = await templates.create(
        {
          name: 'small-kwok',
          description: 'one control plane',
          provider: 'kwok',
          controlPlane: { count: 1 },
          nodePools: [{ name: 'workers', count: 2 }],
          addons: [{ name: 'metrics-server', settings: { replicas: 2 }, secrets: {} }, logForwarding],
        },
        'admin',
      );
      assert.equal(created.version, 1);
      assert.equal(created.createdBy, 'admin');
      assert.equal(created.kubernetesVersion, undefined, 'a preset not given is absent');
      assert.deepEqual(created.addons, [
        { name: 'metrics-server', settings: { replicas: 2 }, secretSettings: [] },
        {
          name: 'log-forwarding',
          settings: { type: 'splunk-hec', url: 'https://hec.example:8088' },
          secretSettings: ['token'],
        },
      ]);
      assert.deepEqual(await templates.get('small-kwok'), created);
      assert.deepEqual(await templates.get(created.id), created);
      const row = (await db('cluster_templates').where({ id: created.id }).first()) as Record<string, unknown>;
      assert.doesNotMatch(JSON.stringify(row), /hec-secret-token/, 'the token is sealed at rest');
      assert.deepEqual((await templates.reveal('small-kwok')).addons[1]?.settings, {
        type: 'splunk-hec',
        url: 'https://hec.example:8088',
        token: 'hec-secret-token',
      });
      assert.deepEqual(
        (await templates.list(50, undefined)).items.map((t) => t.name),
        ['small-kwok'],
      );
      await assert.rejects(templates.create({ name: 'small-kwok', addons: [] }, 'admin'), { code: 'CX_NAME_TAKEN' });
      await assert.rejects(templates.get('nope'), { code: 'CX_NOT_FOUND' });
    });

    it('changes against the current version only; a stale version changes nothing', async () => {
      const before = await templates.get('small-kwok');
      const patched = await templates.patch('small-kwok', {
        version: 1,
        kubernetesVersion: '1.31.4',
        nodePools: [{ name: 'big', count: 5 }],
        unset: ['description'],
      });
      assert.equal(patched.version, 2);
      assert.equal(patched.kubernetesVersion, '1.31.4');
      assert.deepEqual(patched.nodePools, [{ name: 'big', count: 5 }], 'pools replace as a whole');
      assert.equal(patched.description, null);
      assert.deepEqual(patched.addons, before.addons, 'addons not given stay, secrets included');
      assert.equal((await templates.reveal(patched.id)).addons[1]?.settings['token'], 'hec-secret-token');

      await assert.rejects(
        templates.patch('small-kwok', { version: 1, provider: 'vsphere' }),
        (error: { code: string; details: { version: number } }) => {
          assert.equal(error.code, 'CX_VERSION_CONFLICT');
          assert.equal(error.details.version, 2, 'names the current version');
          return true;
        },
      );
      await assert.rejects(templates.patch('small-kwok', { version: 2, provider: 'vsphere', unset: ['provider'] }), {
        code: 'CX_INPUT_INVALID',
      });
      assert.deepEqual(await templates.get('small-kwok'), patched, 'refused changes changed nothing');

      const renamed = await templates.patch(patched.id, {
        version: 2,
        name: 'kwok-small',
        addons: [{ name: 'metrics-server', settings: {}, secrets: {} }],
      });
      assert.equal(renamed.name, 'kwok-small');
      assert.deepEqual(
        renamed.addons,
        [{ name: 'metrics-server', settings: {}, secretSettings: [] }],
        'addons replace as a whole, secrets with them',
      );
      assert.equal((await templates.reveal(renamed.id)).addons.length, 1);
      await templates.create({ name: 'other' }, 'admin');
      await assert.rejects(templates.patch('other', { version: 1, name: 'kwok-small' }), { code: 'CX_NAME_TAKEN' });
    });

    it('records the template and its addons with the cluster create, in its transaction', async () => {
      const template = await templates.get('kwok-small');
      const use: TemplateUse = { id: template.id, version: template.version };
      const accepted = await clusters.create(
        request('from-template'),
        start({ addons: ['metrics-server'] }),
        undefined,
        async (trx, clusterId) => {
          await templates.useFor(trx, clusterId, use);
          await addons.install(
            trx,
            clusterId,
            'metrics-server',
            { version: 'v0.7.2', settings: { replicas: 1 }, secrets: {} },
            'user-1',
          );
        },
      );
      assert.deepEqual(accepted.body.cluster.template, {
        id: template.id,
        name: 'kwok-small',
        version: template.version,
      });
      assert.deepEqual((await clusters.get(accepted.body.cluster.id)).template, {
        id: template.id,
        name: 'kwok-small',
        version: template.version,
      });
      const [addon] = await addons.list(accepted.body.cluster.id);
      assert.equal(addon?.name, 'metrics-server');
      assert.equal(addon?.status, 'Installing');
      assert.equal(addon?.workflowId, accepted.body.workflow.id, 'installed by the create workflow');
      assert.equal(
        (await clusters.get((await clusters.create(request('plain'), start())).body.cluster.id)).template,
        null,
      );
    });

    it('refuses a template changed or deleted since the request was completed, storing nothing', async () => {
      const template = await templates.get('kwok-small');
      const clusterCount = await count('clusters');
      const runCount = await count('workflow_runs');
      const stale: TemplateUse = { id: template.id, version: template.version - 1 };
      await assert.rejects(
        clusters.create(request('stale'), start(), undefined, async (trx, clusterId) =>
          templates.useFor(trx, clusterId, stale),
        ),
        { code: 'CX_VERSION_CONFLICT' },
      );
      await templates.delete('kwok-small');
      await assert.rejects(templates.get('kwok-small'), { code: 'CX_NOT_FOUND' });
      const gone: TemplateUse = { ...stale, version: template.version };
      await assert.rejects(
        clusters.create(request('gone'), start(), undefined, async (trx, clusterId) =>
          templates.useFor(trx, clusterId, gone),
        ),
        { code: 'CX_NOT_FOUND' },
      );
      assert.equal(await count('clusters'), clusterCount);
      assert.equal(await count('workflow_runs'), runCount);
      const kept = (await clusters.list(50, undefined)).items.find((c) => c.name === 'from-template');
      assert.equal(kept?.template?.name, 'kwok-small', 'a cluster keeps its record of a deleted template');
    });
  });
}
