/**
 * SmClient against a scripted sm: the one HTTP stack wfm and sddc share maps problems, an
 * unreachable or unready sm, and carries etcd snapshot bytes both ways.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConflictError, type CxError } from '@cx/errors';
import { SmClient } from './client.js';
import type { StepTransitionCall } from './runs.js';

type Handler = (request: IncomingMessage, body: Buffer, response: ServerResponse) => void;

describe('SmClient', () => {
  let handler: Handler = (_request, _body, response) => response.end();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handler(request, Buffer.concat(chunks), response));
  });
  let sm: SmClient;
  let changes = 0;

  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    sm = new SmClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'token');
    sm.onClusterChange(async () => {
      changes += 1;
    });
  });
  after(async () => {
    await sm.close();
    server.close();
  });

  it('sends the service token and JSON, and answers the typed result; a change notifies its listeners, failed or not', async () => {
    let seen: { url?: string; authorization?: string; body?: unknown } = {};
    handler = (request, body, response) => {
      seen = { url: request.url, authorization: request.headers.authorization, body: JSON.parse(body.toString()) };
      response
        .setHeader('content-type', 'application/json')
        .end(JSON.stringify({ answers: [{ result: { next: 2 } }] }));
    };
    const counted = changes;
    assert.deepEqual(await sm.completeStep('r1', 1, 3, { ok: true }, [{ kind: 'deleteCluster' }]), { next: 2 });
    assert.deepEqual(seen, {
      url: '/internal/v1/workflow-runs/transitions',
      authorization: 'Bearer token',
      body: {
        calls: [
          {
            call: 'complete',
            runId: 'r1',
            idx: 1,
            generation: 3,
            output: { ok: true },
            effects: [{ kind: 'deleteCluster' }],
          },
        ],
      },
    });
    assert.equal(changes, counted + 1);
    handler = (_request, _body, response) => {
      response.statusCode = 409;
      response.end(JSON.stringify({ code: 'CX_CONFLICT', detail: 'stale' }));
    };
    await assert.rejects(sm.completeStep('r1', 1, 3, null, []));
    assert.equal(changes, counted + 2);
  });

  it('sends the step transitions made at one time in one request, and gives each call its own answer', async () => {
    const requests: Array<{ calls: Array<{ call: string; runId: string }> }> = [];
    handler = (_request, body, response) => {
      const request = JSON.parse(body.toString()) as (typeof requests)[number];
      requests.push(request);
      const answers = request.calls.map(({ call, runId }) =>
        runId === 'stale'
          ? { problem: { status: 409, code: 'CX_WORKFLOW_STATE', detail: `workflow ${runId} is Succeeded` } }
          : {
              result: call === 'start' ? { run: { id: runId } } : call === 'progress' ? null : { next: 1, start: null },
            },
      );
      response.setHeader('content-type', 'application/json').end(JSON.stringify({ answers }));
    };
    const [started, progressed, advanced, stale] = await Promise.allSettled([
      sm.startStep('r1', 0, 1, 1, 'job-1'),
      sm.stepProgress('r2', 2, 1, '1/3 machines'),
      sm.advanceStep('r3', 0, 1, null, [], 'job-3'),
      sm.startStep('stale', 4, 1, 1, 'job-4'),
    ]);
    assert.deepEqual(started, { status: 'fulfilled', value: { run: { id: 'r1' } } });
    assert.deepEqual(progressed, { status: 'fulfilled', value: undefined });
    assert.deepEqual(advanced, { status: 'fulfilled', value: { next: 1, start: null } });
    assert.equal(stale.status, 'rejected');
    assert.equal((stale as PromiseRejectedResult).reason.code, 'CX_WORKFLOW_STATE');
    assert.deepEqual(
      requests.map((request) => request.calls.map(({ call, runId }) => `${call} ${runId}`)),
      [['start r1', 'progress r2', 'advance r3', 'start stale']],
    );

    // More calls than one request carries go in several, every call answered once.
    requests.length = 0;
    const many = await Promise.all(
      Array.from({ length: 250 }, (_, index) => sm.startStep(`m${index}`, 0, 1, 1, `job-${index}`)),
    );
    assert.deepEqual(
      many.map((start) => start.run.id),
      Array.from({ length: 250 }, (_, index) => `m${index}`),
    );
    assert.deepEqual(
      requests.map((request) => request.calls.length),
      [100, 100, 50],
    );
  });

  it('hands an sm in the same process the step transitions made at one time as one batch of calls', async () => {
    const batches: StepTransitionCall[][] = [];
    const stale = new ConflictError('step 4 of workflow stale is stale', 'CX_WORKFLOW_STATE');
    const local = new SmClient('http://127.0.0.1:1', 'token', {
      transitions: async (calls) => {
        batches.push(calls);
        return calls.map((call) =>
          call.runId === 'stale'
            ? { error: stale }
            : { result: call.call === 'progress' ? null : { run: { id: call.runId } } },
        );
      },
    });
    let localChanges = 0;
    local.onClusterChange(async () => void localChanges++);
    const [started, progressed, failed, refused] = await Promise.allSettled([
      local.startStep('r1', 0, 1, 1, 'job-1'),
      local.stepProgress('r2', 2, 1, '1/3 machines'),
      local.failStep('r3', 1, 1, { code: 'CX_PROVIDER', message: 'gone', retryable: false }),
      local.startStep('stale', 4, 1, 1, 'job-4'),
    ]);
    assert.deepEqual(started, { status: 'fulfilled', value: { run: { id: 'r1' } } });
    assert.deepEqual(progressed, { status: 'fulfilled', value: undefined });
    assert.deepEqual(failed, { status: 'fulfilled', value: undefined });
    // The refusal is sm's own error, not one rebuilt from a problem.
    assert.deepEqual(refused, { status: 'rejected', reason: stale });
    assert.deepEqual(batches, [
      [
        { call: 'start', runId: 'r1', idx: 0, generation: 1, attempt: 1, jobId: 'job-1' },
        { call: 'progress', runId: 'r2', idx: 2, generation: 1, message: '1/3 machines' },
        {
          call: 'fail',
          runId: 'r3',
          idx: 1,
          generation: 1,
          error: { code: 'CX_PROVIDER', message: 'gone', retryable: false },
        },
        { call: 'start', runId: 'stale', idx: 4, generation: 1, attempt: 1, jobId: 'job-4' },
      ],
    ]);
    assert.equal(localChanges, 1, 'the failure may have changed a cluster');
    await local.close();
  });

  it('turns a problem back into the cx error of its code, and a 503 CX_INTERNAL into a retryable not-ready', async () => {
    handler = (_request, _body, response) => {
      response.statusCode = 404;
      response.end(JSON.stringify({ code: 'CX_NOT_FOUND', detail: 'cluster c9 does not exist' }));
    };
    await assert.rejects(
      sm.getRun('x'),
      (error: CxError) => error.code === 'CX_NOT_FOUND' && error.message === 'cluster c9 does not exist',
    );
    assert.equal(await sm.resourceGroup('gone'), null);
    handler = (_request, _body, response) => {
      response.statusCode = 503;
      response.end(JSON.stringify({ code: 'CX_INTERNAL', detail: 'migrating' }));
    };
    await assert.rejects(
      sm.bootstrap('c1'),
      (error: CxError) => error.code === 'CX_DEPENDENCY_UNAVAILABLE' && /not ready: migrating/.test(error.message),
    );
  });

  it('names the setting to check when sm cannot be reached', async () => {
    const nowhere = new SmClient('http://127.0.0.1:1', 'token');
    await assert.rejects(
      nowhere.pairTargets(),
      (error: CxError) => error.code === 'CX_DEPENDENCY_UNAVAILABLE' && /CX_SM_URL/.test(error.message),
    );
    await assert.rejects(
      nowhere.etcdSnapshotData('c1', 's1'),
      (error: CxError) => error.code === 'CX_DEPENDENCY_UNAVAILABLE',
    );
    await nowhere.close();
  });

  it('holds an sm in the same process to the time limit of one over HTTP', { timeout: 10_000 }, async (t) => {
    const calls: string[] = [];
    const hung = new SmClient('http://127.0.0.1:1', 'token', {
      // An sm whose database does not answer: the call never ends.
      dispatch: (call) => {
        calls.push(`${call.method} ${call.path}`);
        return new Promise(() => undefined);
      },
    });
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const pending = hung.pairTargets();
    await new Promise(setImmediate);
    assert.deepEqual(calls, ['GET /internal/v1/pair-targets']);
    let settled = false;
    void pending.catch(() => undefined).finally(() => (settled = true));
    t.mock.timers.tick(14_999);
    await new Promise(setImmediate);
    assert.equal(settled, false, 'it is still waiting before 15 s');
    t.mock.timers.tick(1);
    await assert.rejects(
      pending,
      (error: CxError) =>
        error.code === 'CX_DEPENDENCY_UNAVAILABLE' &&
        error.retryable &&
        /in this process, did not answer GET \/pair-targets \(no answer within 15 s\)/.test(error.message),
    );
    t.mock.timers.reset();
    await hung.close();
  });

  it(
    "calls sm's module for the calls every public request makes, held to the same time limit, and inject for the rest",
    { timeout: 10_000 },
    async (t) => {
      const injected: string[] = [];
      const direct: string[] = [];
      const inProcess = new SmClient('http://127.0.0.1:1', 'token', {
        dispatch: async (call) => {
          injected.push(`${call.method} ${call.path}`);
          return { status: 200, headers: {}, body: Buffer.from('{"items":[]}') };
        },
        calls: {
          checkAccess: async (userId) => void direct.push(`check ${userId}`),
          resolveName: async (kind, ref) => (direct.push(`name ${kind} ${ref}`), ref),
          audit: () => new Promise(() => undefined), // a database that does not answer
          createCluster: async (body) => {
            direct.push(`create ${body.request.name}`);
            return {
              body: { cluster: { id: 'c2' }, workflow: { id: 'w2', status: 'Pending' } } as never,
              replayed: true,
            };
          },
          startClusterWorkflow: async (clusterId) => {
            direct.push(`start ${clusterId}`);
            throw new ConflictError('another workflow runs on the cluster');
          },
          setHealthStatus: async (clusterId, status) => void direct.push(`health ${clusterId} ${status.state}`),
        },
      });
      await inProcess.checkAccess('u1', { role: 'viewer', object: { kind: 'global' } });
      assert.equal(await inProcess.resolveName('cluster', 'demo'), 'demo');
      let notified = 0;
      inProcess.onClusterChange(async () => void (notified += 1));
      await assert.rejects(
        inProcess.startClusterWorkflow('c1', {} as never),
        (error: CxError) => error.code === 'CX_CONFLICT' && /another workflow/.test(error.message),
        "sm's own error passes as it is",
      );
      assert.equal(notified, 1, 'a start notifies the cluster-change listeners, failed or not');
      assert.equal((await inProcess.createCluster({ name: 'demo' } as never, {} as never)).replayed, true);
      assert.equal(notified, 2, 'so does a create');
      await inProcess.setHealthStatus('c1', { state: 'Healthy', message: '', unhealthy: [], checkedAt: '' });
      assert.deepEqual(await inProcess.pairTargets(), []);
      assert.deepEqual(direct, ['check u1', 'name cluster demo', 'start c1', 'create demo', 'health c1 Healthy']);
      assert.deepEqual(injected, ['GET /internal/v1/pair-targets'], 'only the other calls go through inject');

      t.mock.timers.enable({ apis: ['setTimeout'] });
      const pending = inProcess.audit({ actor: 'admin', action: 'DELETE /api/v1/clusters/:id', outcome: 'success' });
      await new Promise(setImmediate);
      t.mock.timers.tick(15_000);
      await assert.rejects(
        pending,
        (error: CxError) =>
          error.code === 'CX_DEPENDENCY_UNAVAILABLE' &&
          /in this process, did not answer audit record \(no answer within 15 s\)/.test(error.message),
      );
      t.mock.timers.reset();
      await inProcess.close();
    },
  );

  it('sends an idempotent call again when its connection is cut (a replica dying), never a POST', async () => {
    const seen: string[] = [];
    handler = (request, _body, response) => {
      seen.push(request.method!);
      // The first request of each method dies with its connection, as on an sm replica killed mid-call.
      if (seen.filter((method) => method === request.method).length === 1) return request.socket.destroy();
      response.setHeader('content-type', 'application/json').end(JSON.stringify({ items: [] }));
    };
    assert.deepEqual(await sm.pairTargets(), []);
    assert.deepEqual(seen, ['GET', 'GET']);
    await assert.rejects(
      sm.completeStep('r1', 1, 3, null, []),
      (error: CxError) => error.code === 'CX_DEPENDENCY_UNAVAILABLE',
    );
    assert.deepEqual(seen, ['GET', 'GET', 'POST'], 'a POST cut mid-call must not be sent twice');
  });

  it('carries etcd snapshot bytes as they are, both ways, with the recorded SHA-256', async () => {
    const data = Buffer.from([0, 1, 2, 254, 255, 10, 13]);
    let stored: Buffer = Buffer.alloc(0);
    let contentType: string | undefined;
    handler = (request, body, response) => {
      if (request.method === 'PUT') {
        stored = body;
        contentType = request.headers['content-type'];
        response.statusCode = 201;
        response
          .setHeader('content-type', 'application/json')
          .end(JSON.stringify({ id: 's1', sizeBytes: body.length }));
      } else {
        response.setHeader('content-type', 'application/octet-stream').setHeader('x-cx-sha256', 'abc').end(stored);
      }
    };
    const info = await sm.uploadEtcdSnapshot(
      'c1',
      's1',
      { workflowId: 'w1', revision: 7, sha256: 'abc', etcdVersion: '3.6.16' },
      data,
    );
    assert.deepEqual(info, { id: 's1', sizeBytes: data.length });
    assert.equal(contentType, 'application/octet-stream');
    assert.deepEqual(await sm.etcdSnapshotData('c1', 's1'), { data, sha256: 'abc' });
  });
});
