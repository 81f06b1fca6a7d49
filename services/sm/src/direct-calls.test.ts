/**
 * sm's direct calls (the all-in-one's wfm and sddc skip inject for them) answer as the routes they
 * stand for: the same refusals of bad input, naming the same fields, and the same errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CxError } from '@cx/errors';
import type { StartRequest } from '@cx/sm-contract';
import type { SmApp } from './app.js';
import { smAppOnSqlite } from './db/test-databases.js';

describe("sm's direct calls, against its routes", () => {
  let sm: SmApp;
  const token = 'direct-calls-token-'.padEnd(32, 'x');
  let adminId: string;
  const route = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
    const answer = await sm.app.inject({
      method,
      url: `/internal/v1${url}`,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: answer.statusCode, body: answer.body ? (answer.json() as Record<string, unknown>) : undefined };
  };
  const refusal = async (call: Promise<unknown>): Promise<{ code: string; fields: unknown }> => {
    const error = (await call.then(
      () => assert.fail('the call was not refused'),
      (e: unknown) => e,
    )) as CxError;
    return { code: error.code, fields: error.details?.['fields'] };
  };

  before(async () => {
    sm = await smAppOnSqlite(token, { CX_ADMIN_PASSWORD: 'Direct-calls-admin-1' });
    adminId = ((await sm.db('users').where({ username: 'admin' }).first('id')) as { id: string }).id;
  });
  after(async () => {
    await sm?.app.close();
  });

  it('decides access as POST /access/check does, and refuses the same bad input', async () => {
    const requirement = { role: 'operator', object: { kind: 'cluster', id: 'nope' } } as const;
    await sm.calls.checkAccess(adminId, requirement);
    assert.equal((await route('POST', '/access/check', { userId: adminId, requirement })).status, 204);
    const unknownUser = await refusal(sm.calls.checkAccess('no-such-user', requirement));
    const overHttp = await route('POST', '/access/check', { userId: 'no-such-user', requirement });
    assert.equal(unknownUser.code, overHttp.body?.['code']);
    const bad = { role: 'operator' } as never;
    const direct = await refusal(sm.calls.checkAccess(adminId, bad));
    const http = await route('POST', '/access/check', { userId: adminId, requirement: bad });
    assert.equal(direct.code, 'CX_INPUT_INVALID');
    assert.deepEqual(direct.fields, http.body?.['fields']);
    assert.deepEqual(direct.fields, [{ field: 'body.requirement.object', message: 'is required' }]);
  });

  it('resolves names as GET /names/:kind/:ref does, and refuses a ref too long for it', async () => {
    assert.equal(await sm.calls.resolveName('user', 'admin'), adminId);
    assert.deepEqual((await route('GET', '/names/user/admin')).body, { id: adminId });
    assert.equal(await sm.calls.resolveName('cluster', 'nothing-here'), null);
    const long = 'x'.repeat(256);
    const direct = await refusal(sm.calls.resolveName('user', long));
    const http = await route('GET', `/names/user/${long}`);
    assert.equal(direct.code, 'CX_INPUT_INVALID');
    assert.deepEqual(direct.fields, http.body?.['fields']);
  });

  it('records audit entries as POST /audit does, and refuses one without its outcome', async () => {
    await sm.calls.audit({ actor: 'admin', action: 'POST /api/v1/things', outcome: 'success', targetId: 'direct-1' });
    const rows = (await sm.db('audit_log').where({ target_id: 'direct-1' })) as Array<{ actor: string }>;
    assert.deepEqual(
      rows.map((r) => r.actor),
      ['admin'],
    );
    const bad = { actor: 'admin', action: 'POST /api/v1/things' } as never;
    const direct = await refusal(sm.calls.audit(bad));
    const http = await route('POST', '/audit', bad);
    assert.deepEqual(direct, { code: 'CX_INPUT_INVALID', fields: http.body?.['fields'] });
  });

  it('starts a workflow on a cluster as POST /clusters/:id/workflows does: a missing cluster is the same 404', async () => {
    const start: StartRequest = {
      actor: adminId,
      requestHash: 'h'.repeat(64),
      workflow: { workflow: 'cluster.delete', version: 1, steps: ['delete'], input: {}, clusterStatus: 'Deleting' },
    };
    const direct = await refusal(sm.calls.startClusterWorkflow('no-such-cluster', start));
    const http = await route('POST', '/clusters/no-such-cluster/workflows', start);
    assert.equal(http.status, 404);
    assert.deepEqual(direct, { code: http.body?.['code'], fields: undefined });
    const tooLong = await refusal(sm.calls.startClusterWorkflow('c'.repeat(65), start));
    assert.equal(tooLong.code, 'CX_INPUT_INVALID');
    const noSteps = await refusal(
      sm.calls.startClusterWorkflow('no-such-cluster', { ...start, workflow: undefined } as never),
    );
    const httpNoSteps = await route('POST', '/clusters/no-such-cluster/workflows', { ...start, workflow: undefined });
    assert.deepEqual(noSteps, { code: 'CX_INPUT_INVALID', fields: httpNoSteps.body?.['fields'] });
  });

  it('creates a cluster as POST /clusters does, with the same answer, refusals and fields', async () => {
    const body = (name: string, controlPlane: Record<string, unknown> = { count: 1 }) => ({
      request: {
        name,
        provider: 'sim',
        kubernetesVersion: '1.31.4',
        controlPlane,
        nodePools: [{ name: 'w', count: 1 }],
      },
      start: {
        actor: adminId,
        requestHash: name.padEnd(64, 'h'),
        workflow: {
          workflow: 'cluster.create',
          version: 1,
          steps: ['plan-machines'],
          input: {},
          clusterStatus: 'Provisioning',
        },
      },
    });
    const direct = await sm.calls.createCluster(body('direct-1') as never);
    const http = await route('POST', '/clusters', body('http-1'));
    assert.equal(http.status, 202);
    assert.equal(direct.replayed, false);
    const shape = (answer: Record<string, unknown>) => {
      const { cluster, workflow } = answer as { cluster: Record<string, unknown>; workflow: Record<string, unknown> };
      return { keys: Object.keys(cluster).sort(), status: cluster['status'], workflow: workflow['status'] };
    };
    assert.deepEqual(shape(direct.body), shape(http.body!));
    assert.equal((direct.body as { cluster: { name: string } }).cluster.name, 'direct-1');
    // A name taken, a VIP pool that does not exist, a name Kubernetes refuses: the same error either way.
    for (const bad of [
      body('direct-1'),
      body('vip-1', { count: 1, vipPool: 'no-such-pool' }),
      body('Not a DNS name!'),
    ]) {
      const refused = await refusal(sm.calls.createCluster(bad as never));
      const overHttp = await route('POST', '/clusters', bad);
      assert.deepEqual(refused, { code: overHttp.body?.['code'], fields: overHttp.body?.['fields'] });
    }
  });

  it("records a cluster's health as PUT /clusters/:id/health-status does, with the same refusals", async () => {
    const { id } = (await sm.db('clusters').where({ name: 'direct-1' }).first('id')) as { id: string };
    const unhealthy = [
      { machineId: 'm1', name: 'direct-1-cp-0', reason: 'NotReady for 40 s', since: '2026-12-07T09:00:00Z' },
    ];
    const status = {
      state: 'Unhealthy' as const,
      message: '1 node unhealthy',
      unhealthy,
      checkedAt: '2026-12-07T09:01:00Z',
    };
    await sm.calls.setHealthStatus(id, status);
    const row = (await sm.db('clusters').where({ id }).first('health_status')) as { health_status: string };
    assert.deepEqual(JSON.parse(row.health_status), status);
    const missing = await refusal(sm.calls.setHealthStatus('no-such-cluster', status));
    const httpMissing = await route('PUT', '/clusters/no-such-cluster/health-status', status);
    assert.equal(httpMissing.status, 404);
    assert.deepEqual(missing, { code: httpMissing.body?.['code'], fields: undefined });
    const bad = { ...status, state: 'Fine', unhealthy: [{ name: 'direct-1-cp-0' }] } as never;
    const direct = await refusal(sm.calls.setHealthStatus(id, bad));
    const http = await route('PUT', `/clusters/${id}/health-status`, bad);
    assert.deepEqual(direct, { code: 'CX_INPUT_INVALID', fields: http.body?.['fields'] });
    assert.deepEqual((direct.fields as Array<{ field: string }>).map((f) => f.field).sort(), [
      'body.state',
      'body.unhealthy.0.machineId',
      'body.unhealthy.0.reason',
      'body.unhealthy.0.since',
    ]);
    assert.deepEqual(
      JSON.parse(
        ((await sm.db('clusters').where({ id }).first('health_status')) as { health_status: string }).health_status,
      ),
      status,
      'a refused report changes nothing',
    );
  });
});
