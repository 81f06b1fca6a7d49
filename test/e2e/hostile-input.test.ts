/**
 * Hostile and sloppy input against a running cx: every malformed request is answered 4xx with a
 * problem+json body, and changes nothing. Access checks only read validated input; bodies keep
 * their JSON types (no coercion); references to what does not exist are refused before any write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Api, DEMO_CLUSTER, startCx, type Answer, type CxProcess } from '../support/cx.js';

describe('hostile input', () => {
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';

  /** A refused request: 4xx (never 5xx), problem+json, with the code given. */
  const refused = (answer: Answer, status: number, code: string, what: string): void => {
    const body = JSON.stringify(answer.body);
    assert.equal(answer.status, status, `${what}: ${answer.status} ${body}`);
    assert.equal(answer.headers.get('content-type')?.split(';')[0], 'application/problem+json', what);
    assert.equal(answer.body.code, code, `${what}: ${body}`);
  };

  before(async () => {
    cx = await startCx();
    admin = await Api.login(cx.base);
    const created = await admin.call('POST', '/api/v1/clusters', {
      ...DEMO_CLUSTER,
      name: 'hostile',
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 1 }],
      health: { maxUnhealthy: 2 },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    clusterId = created.body.cluster.id;
    await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded']);
  });
  after(async () => {
    await cx?.stop();
  });

  it('validates before the access check reads the query or body', async () => {
    const before = (await admin.call('GET', `/api/v1/ha-configs?clusterId=${clusterId}`)).body.items.length;
    refused(await admin.call('GET', '/api/v1/ha-configs'), 400, 'CX_INPUT_INVALID', 'ha-configs without clusterId');
    refused(await admin.call('POST', '/api/v1/ha-configs'), 400, 'CX_INPUT_INVALID', 'ha-config without a body');
    refused(await admin.call('POST', '/api/v1/ha-configs', 'null'), 400, 'CX_INPUT_INVALID', 'ha-config null');
    refused(
      await admin.call('POST', '/api/v1/ha-configs', { clusterId: 42, virtualIps: '10.1.1.5' }),
      400,
      'CX_INPUT_INVALID',
      'ha-config with a numeric clusterId',
    );
    refused(
      await admin.call('POST', '/api/v1/pairs', { sides: { a: { clusterId: 1 }, b: { clusterId: [] } } }),
      400,
      'CX_INPUT_INVALID',
      'pair with non-string cluster ids',
    );
    refused(await admin.call('POST', '/api/v1/grants', 'null'), 400, 'CX_INPUT_INVALID', 'grant null');
    refused(await admin.call('POST', '/api/v1/clusters', '[]'), 400, 'CX_INPUT_INVALID', 'cluster as an array');
    assert.equal((await admin.call('GET', `/api/v1/ha-configs?clusterId=${clusterId}`)).body.items.length, before);
  });

  it('keeps the JSON types of a body: an integer stays an integer, null is not false', async () => {
    const cluster = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
    assert.equal(cluster.health.maxUnhealthy, 2, 'the storm guard keeps its integer, so remediation can run');
    refused(
      await admin.call('POST', '/api/v1/clusters', { ...DEMO_CLUSTER, name: 'strings', health: { maxUnhealthy: '2' } }),
      400,
      'CX_INPUT_INVALID',
      'maxUnhealthy as a string without %',
    );
    refused(
      await admin.call('POST', '/api/v1/clusters', {
        ...DEMO_CLUSTER,
        name: 'strings',
        controlPlane: { count: '1' },
      }),
      400,
      'CX_INPUT_INVALID',
      'a count sent as a string',
    );

    const user = await admin.call('POST', '/api/v1/users', { username: 'disabled-dora', password: 'dora-password-1' });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    assert.equal((await admin.call('PATCH', `/api/v1/users/${user.body.id}`, { disabled: true })).status, 200);
    refused(
      await admin.call('PATCH', `/api/v1/users/${user.body.id}`, { disabled: null }),
      400,
      'CX_INPUT_INVALID',
      'disabled: null',
    );
    assert.equal((await admin.call('GET', `/api/v1/users/${user.body.id}`)).body.disabled, true, 'still disabled');
    await assert.rejects(Api.login(cx.base, 'disabled-dora', 'dora-password-1'), /login failed: 40[13]/);
  });

  it('refuses a reference to what does not exist, changing nothing', async () => {
    const group = await admin.call('POST', '/api/v1/resource-groups', { name: 'hostile-group' });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    for (const credentialId of ['', 'no-such-credential']) {
      const answer = await admin.call('PATCH', `/api/v1/resource-groups/${group.body.id}`, { credentialId });
      assert.ok(
        answer.status >= 400 && answer.status < 500,
        `credentialId ${JSON.stringify(credentialId)}: ${answer.status}`,
      );
      assert.match(JSON.stringify(answer.body), /credential/);
    }
    const after = (await admin.call('GET', `/api/v1/resource-groups/${group.body.id}`)).body;
    assert.equal(after.credentialId, null);
    assert.equal(after.updatedAt, group.body.updatedAt, 'the group was not written');
  });

  it('audits what a change asked for and the workflow that did it; anonymous refusals do not flood the log', async () => {
    const scaled = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, { count: 2 });
    assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
    await admin.waitForWorkflow(scaled.body.workflow.id, ['Succeeded']);
    const records = await admin.call(
      'GET',
      `/api/v1/audit?action=${encodeURIComponent('PATCH /api/v1/clusters/:id/nodepools/:pool')}`,
    );
    const record = records.body.items[0];
    assert.deepEqual(record.details.request, { count: 2 });
    assert.equal(record.details.params.pool, 'workers');
    assert.equal(record.details.workflowId, scaled.body.workflow.id);
    const run = (await admin.call('GET', `/api/v1/workflows/${record.details.workflowId}`)).body;
    assert.equal(run.status, 'Succeeded', 'the workflow it names is the one that did the change');

    const credential = await admin.call('POST', '/api/v1/credentials', {
      name: 'x',
      provider: 'nope',
      password: 'hunter2-secret',
    });
    assert.ok(credential.status >= 400);
    const all = JSON.stringify((await admin.call('GET', '/api/v1/audit?limit=500')).body);
    assert.ok(!all.includes('hunter2-secret'), 'no password in the audit log');

    const before = (await admin.call('GET', '/api/v1/audit?actor=anonymous&limit=500')).body.items.length;
    const anonymous = new Api(cx.base);
    for (let i = 0; i < 100; i++)
      assert.equal((await anonymous.call('POST', '/api/v1/clusters', { name: `flood-${i}` })).status, 401);
    const anonymousRecords = (await admin.call('GET', '/api/v1/audit?actor=anonymous&limit=500')).body.items;
    // No anonymous write came from here before in this run: the first refusal is recorded, the rest of the minute counted.
    assert.equal(
      anonymousRecords.length - before,
      1,
      `100 anonymous refusals wrote ${anonymousRecords.length - before} records`,
    );
    assert.equal(anonymousRecords[0].action, 'POST /api/v1/clusters');
    assert.equal(anonymousRecords[0].outcome, 'failure');
  });
});
