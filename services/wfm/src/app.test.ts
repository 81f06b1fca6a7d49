/**
 * wfm's public routes through `inject`, against a real sm (on a SQLite file) and real Redis: the
 * answers a client of the API relies on, without starting sddc or listening on a port.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import type { ProviderInfo } from '@cx/api-schemas';
import { loadConfig } from '@cx/config';
import { providersKey } from '@cx/queue-contracts';
import { CONTRACT_VERSION } from '@cx/sddc-contract';
import { createLogger } from '@cx/service-kit';
import { buildSmApp, type SmApp } from '@cx/sm';
import { buildWfmApp, type WfmApp } from './app.js';

const redisUrl = process.env['CX_TEST_REDIS_URL'];
const ADMIN_PASSWORD = 'app-test-Admin-pw-1';
const DEMO = {
  name: 'demo',
  provider: 'sim',
  kubernetesVersion: '1.31.4',
  controlPlane: { count: 3 },
  nodePools: [{ name: 'workers', count: 2 }],
};

describe("wfm's public routes through inject", () => {
  const prefix = `wfmapptest${randomBytes(3).toString('hex')}`;
  let sm: SmApp;
  let wfm: WfmApp;
  let redis: Redis;
  let token = '';

  const call = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    options: { body?: unknown; headers?: Record<string, string>; anonymous?: boolean } = {},
  ): Promise<LightMyRequestResponse> =>
    wfm.app.inject({
      method,
      url,
      headers: { ...(options.anonymous ? {} : { authorization: `Bearer ${token}` }), ...options.headers },
      ...(options.body === undefined ? {} : { payload: options.body as Record<string, unknown> }),
    });

  /** Asserts an RFC 9457 answer with its status and code; answers its body. */
  const problem = (
    answer: LightMyRequestResponse,
    status: number,
    code: string,
  ): { detail: string; code: string; fields?: Array<{ field: string }> } => {
    assert.equal(answer.statusCode, status, answer.body);
    assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
    const body = answer.json() as {
      type: string;
      title: string;
      status: number;
      detail: string;
      code: string;
      fields?: Array<{ field: string }>;
    };
    assert.equal(body.status, status);
    assert.equal(body.code, code);
    assert.ok(body.title);
    return body;
  };

  const clusterNames = async (): Promise<string[]> => {
    const listed = await call('GET', '/api/v1/clusters');
    assert.equal(listed.statusCode, 200, listed.body);
    return (listed.json() as { items: Array<{ name: string }> }).items.map((c) => c.name);
  };

  before(async () => {
    assert.ok(
      redisUrl,
      'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)',
    );
    const dir = mkdtempSync(join(tmpdir(), 'cx-wfm-app-'));
    const env = {
      CX_DATA_DIR: dir,
      CX_DATABASE_URL: `sqlite:${join(dir, 'cx.db')}`,
      CX_SECRET_KEY: 's'.repeat(32),
      CX_SERVICE_TOKEN: 't'.repeat(32),
      CX_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CX_REDIS_URL: redisUrl,
      CX_REDIS_PREFIX: prefix,
    };
    sm = await buildSmApp(loadConfig({ env }), createLogger({ level: 'silent', service: 'sm' }));
    const smUrl = await sm.app.listen({ port: 0, host: '127.0.0.1' });
    wfm = await buildWfmApp(
      loadConfig({ env: { ...env, CX_SM_URL: smUrl } }),
      createLogger({ level: 'silent', service: 'wfm' }),
    );
    // The sim provider as an sddc replica advertises it (no sddc runs here: workflows only get enqueued).
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const sim: ProviderInfo & { seenAt: number } = {
      name: 'sim',
      kubernetesVersions: ['1.31.4'],
      contractVersion: CONTRACT_VERSION,
      takesCredential: false,
      seenAt: Date.now(),
    };
    await redis.hset(providersKey(prefix), { sim: JSON.stringify(sim) });
    await wfm.app.ready();
    const login = await call('POST', '/api/v1/auth/login', {
      body: { username: 'admin', password: ADMIN_PASSWORD },
      anonymous: true,
    });
    assert.equal(login.statusCode, 200, login.body);
    token = (login.json() as { token: string }).token;
  });

  after(async () => {
    await wfm?.app.close();
    await sm?.app.close();
    if (redis) {
      for (const key of await redis.keys(`${prefix}:*`)) await redis.del(key);
      redis.disconnect();
    }
  });

  it('serves its OpenAPI document to anyone', async () => {
    const answer = await call('GET', '/api/v1/openapi.json', { anonymous: true });
    assert.equal(answer.statusCode, 200);
    const document = answer.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(document.openapi, '3.1.0');
    assert.ok(document.paths['/api/v1/clusters']?.['post'], 'POST /api/v1/clusters is documented');
    assert.ok(document.paths['/api/v1/workflows/{id}']?.['get'], 'GET /api/v1/workflows/{id} is documented');
    assert.ok(
      !Object.keys(document.paths).some((path) => !path.startsWith('/api/v1')),
      'only the public API is documented',
    );
  });

  it('sends security headers: data is never rendered or framed, the docs page runs only its own scripts', async () => {
    const data = await call('GET', '/api/v1/openapi.json', { anonymous: true });
    assert.equal(data.headers['x-content-type-options'], 'nosniff');
    assert.equal(data.headers['referrer-policy'], 'no-referrer');
    assert.equal(data.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
    const page = await call('GET', '/api/v1/docs/', { anonymous: true });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|upgrade-insecure-requests/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
  });

  it('answers as its OpenAPI document says: problem+json errors, 405 with Allow, long path segments', async () => {
    const document = (await call('GET', '/api/v1/openapi.json', { anonymous: true })).json() as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string }>; responses: Record<string, any> }>>;
    };
    for (const [path, operations] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(operations))
        for (const [status, response] of Object.entries(operation.responses))
          if (Number(status) >= 400 && response.content)
            assert.deepEqual(
              Object.keys(response.content),
              ['application/problem+json'],
              `${method} ${path} ${status}`,
            );
    assert.deepEqual(document.paths['/api/v1/auth/oidc/callback']!['get']!.parameters!.map((p) => p.name).sort(), [
      'code',
      'error',
      'error_description',
      'iss',
      'session_state',
      'state',
    ]);

    const wrongMethod = await call('PUT', '/api/v1/clusters');
    problem(wrongMethod, 405, 'CX_METHOD_NOT_ALLOWED');
    assert.deepEqual(String(wrongMethod.headers['allow']).split(', ').sort(), ['GET', 'HEAD', 'POST']);
    problem(await call('GET', '/api/v1/no-such-thing'), 404, 'CX_NOT_FOUND');
    // A 128-character user name is a path segment like any other; a 2,000-character one is refused as a problem.
    problem(await call('DELETE', `/api/v1/groups/no-such-group/members/${'u'.repeat(128)}`), 404, 'CX_NOT_FOUND');
    problem(await call('GET', `/api/v1/users/${'u'.repeat(2000)}`), 400, 'CX_INPUT_INVALID');
  });

  it('answers 401 without a token, and to a wrong password', async () => {
    const body = problem(await call('GET', '/api/v1/clusters', { anonymous: true }), 401, 'CX_UNAUTHENTICATED');
    assert.match(body.detail, /Authorization: Bearer/);
    problem(
      await call('GET', '/api/v1/clusters', { headers: { authorization: 'Bearer not-a-token' } }),
      401,
      'CX_UNAUTHENTICATED',
    );
    problem(
      await call('POST', '/api/v1/auth/login', {
        body: { username: 'admin', password: 'wrong-password' },
        anonymous: true,
      }),
      401,
      'CX_LOGIN_FAILED',
    );
  });

  it('lists no clusters before any is created', async () => {
    assert.deepEqual(await clusterNames(), []);
  });

  it('refuses an invalid cluster with 400 naming the field, and creates nothing', async () => {
    const missing = problem(
      await call('POST', '/api/v1/clusters', { body: { ...DEMO, kubernetesVersion: undefined } }),
      400,
      'CX_INPUT_INVALID',
    );
    assert.match(missing.detail, /kubernetesVersion/);
    const badName = problem(
      await call('POST', '/api/v1/clusters', { body: { ...DEMO, name: 'Not_A_DNS_Label' } }),
      400,
      'CX_INPUT_INVALID',
    );
    assert.match(badName.detail, /name/);
    const unknownProvider = problem(
      await call('POST', '/api/v1/clusters', { body: { ...DEMO, provider: 'nowhere' } }),
      400,
      'CX_INPUT_INVALID',
    );
    assert.deepEqual(
      unknownProvider.fields?.map((f) => f.field),
      ['body.provider'],
    );
    const reservedPool = problem(
      await call('POST', '/api/v1/clusters', { body: { ...DEMO, nodePools: [{ name: 'control-plane', count: 1 }] } }),
      400,
      'CX_INPUT_INVALID',
    );
    assert.deepEqual(
      reservedPool.fields?.map((f) => f.field),
      ['body.nodePools.0.name'],
    );
    assert.deepEqual(await clusterNames(), [], 'nothing was created');
  });

  it('accepts a valid cluster with 202 and its workflow; the same Idempotency-Key replays the first answer', async () => {
    const headers = { 'idempotency-key': randomUUID() };
    const first = await call('POST', '/api/v1/clusters', { body: DEMO, headers });
    assert.equal(first.statusCode, 202, first.body);
    const accepted = first.json() as {
      cluster: { id: string; name: string; status: string };
      workflow: { id: string };
    };
    assert.equal(accepted.cluster.name, 'demo');
    assert.equal(accepted.cluster.status, 'Provisioning');
    assert.ok(accepted.workflow.id);
    assert.equal(first.headers['location'], `/api/v1/workflows/${accepted.workflow.id}`);

    const again = await call('POST', '/api/v1/clusters', { body: DEMO, headers });
    assert.equal(again.statusCode, 202, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.json(), accepted, 'the first answer, word for word');
    problem(
      await call('POST', '/api/v1/clusters', { body: { ...DEMO, name: 'other' }, headers }),
      422,
      'CX_IDEMPOTENCY_MISMATCH',
    );
    assert.deepEqual(await clusterNames(), ['demo'], 'one cluster for one key');

    const workflow = await call('GET', `/api/v1/workflows/${accepted.workflow.id}`);
    assert.equal(workflow.statusCode, 200, workflow.body);
    const run = workflow.json() as { workflow: string; status: string; steps: unknown[] };
    assert.equal(run.workflow, 'cluster.create');
    assert.ok(['Pending', 'Running'].includes(run.status), run.status);
    assert.ok(run.steps.length > 0);
    const cluster = await call('GET', `/api/v1/clusters/${accepted.cluster.id}`);
    assert.equal(cluster.statusCode, 200, cluster.body);
    assert.equal((cluster.json() as { name: string }).name, 'demo');
    problem(await call('POST', '/api/v1/clusters', { body: DEMO }), 409, 'CX_NAME_TAKEN');
  });

  it('answers 404 for a cluster or workflow that does not exist', async () => {
    problem(await call('GET', `/api/v1/clusters/${randomUUID()}`), 404, 'CX_NOT_FOUND');
    problem(await call('GET', '/api/v1/clusters/nowhere'), 404, 'CX_NOT_FOUND');
    problem(await call('GET', `/api/v1/workflows/${randomUUID()}`), 404, 'CX_NOT_FOUND');
  });
});
