/**
 * Faults a production control plane meets: the process killed in the middle of a workflow, Redis
 * lost while running, and dependencies unreachable at start.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { join } from 'node:path';
import {
  Api,
  ADMIN_PASSWORD,
  DEMO_CLUSTER,
  freePort,
  repoRoot,
  serverPath,
  simMachines,
  startCx,
  tempDir,
  type CxProcess,
} from '../support/cx.js';

describe('kill -9 during a create workflow', () => {
  let cx: CxProcess | undefined;
  after(async () => {
    await cx?.stop();
  });

  it('finishes after a restart with no machine missing or duplicated', async () => {
    const dataDir = tempDir('crash');
    const port = await freePort();
    const env = { CX_SIM_LATENCY_MS: '600' };
    cx = await startCx({ dataDir, port, env });
    let api = await Api.login(cx.base);
    const created = await api.call('POST', '/api/v1/clusters', {
      name: 'crashy',
      ...DEMO_CLUSTER,
      nodePools: [{ name: 'workers', count: 4 }],
    });
    assert.equal(created.status, 202);
    const clusterId: string = created.body.cluster.id;
    const workflowId: string = created.body.workflow.id;

    // Wait until machines are being provisioned, then kill the whole process without warning.
    const deadline = Date.now() + 30_000;
    while (simMachines(dataDir, clusterId).length === 0 && Date.now() < deadline) await sleep(20);
    const machinesAtCrash = simMachines(dataDir, clusterId).length;
    assert.ok(machinesAtCrash > 0, 'the crash happens while machines are provisioned');
    await cx.crash();

    cx = await startCx({ dataDir, port, env });
    api = await Api.login(cx.base);
    const finished = await api.waitForWorkflow(workflowId, ['Succeeded', 'Failed'], 90_000);
    assert.equal(finished.status, 'Succeeded', JSON.stringify(finished));
    const machines = simMachines(dataDir, clusterId);
    const names = machines.map((m) => m.spec.name).sort();
    assert.equal(machines.length, 7, `7 machines, found ${names.join(', ')} (${machinesAtCrash} existed at the crash)`);
    assert.equal(new Set(names).size, 7, 'no machine duplicated');
    const nodes = await api.call('GET', `/api/v1/clusters/${clusterId}/nodes`);
    assert.equal(nodes.body.items.length, 7);
    assert.ok(nodes.body.items.every((n: { status: string }) => n.status === 'Ready'));
    assert.equal((await api.call('GET', `/api/v1/clusters/${clusterId}`)).body.status, 'Ready');
  });
});

describe('Redis lost while running', () => {
  let cx: CxProcess | undefined;
  let redis: ChildProcess | undefined;
  after(async () => {
    await cx?.stop();
    redis?.kill('SIGKILL');
  });

  const startRedis = async (port: number, dir: string): Promise<ChildProcess> => {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG')
        return child;
      await sleep(100);
    }
    throw new Error('redis-server did not start');
  };

  it('answers 503 with Retry-After and resumes every workflow when Redis is back, even with its data lost', async () => {
    const redisPort = await freePort();
    const redisDir = tempDir('redis');
    redis = await startRedis(redisPort, redisDir);
    cx = await startCx({ env: { CX_REDIS_URL: `redis://127.0.0.1:${redisPort}`, CX_SIM_LATENCY_MS: '300' } });
    const api = await Api.login(cx.base);
    const created = await api.call('POST', '/api/v1/clusters', { name: 'outage', ...DEMO_CLUSTER });
    assert.equal(created.status, 202);

    redis.kill('SIGKILL'); // every queued job is gone with it: only SQL remembers the workflow
    await new Promise((done) => redis!.once('exit', done));
    let ready: Response | undefined;
    for (let i = 0; i < 50; i++) {
      ready = await fetch(`${cx.base}/readyz`);
      if (ready.status === 503) break;
      await sleep(100);
    }
    assert.equal(ready?.status, 503, '/readyz reports the outage');
    const refused = await api.call('POST', '/api/v1/clusters', { name: 'during-outage', ...DEMO_CLUSTER });
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'CX_DEPENDENCY_UNAVAILABLE');
    assert.match(refused.body.detail, /CX_REDIS_URL/);
    assert.ok(refused.headers.get('retry-after'), 'Retry-After is set');
    assert.equal(
      (await api.call('GET', '/api/v1/clusters?limit=500')).body.items.filter(
        (c: { name: string }) => c.name === 'during-outage',
      ).length,
      0,
      'the refused request wrote nothing',
    );

    redis = await startRedis(redisPort, redisDir);
    const finished = await api.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 90_000);
    assert.equal(finished.status, 'Succeeded', JSON.stringify(finished));
    assert.equal(simMachines(cx.dataDir, created.body.cluster.id).length, 5);
    assert.equal((await fetch(`${cx.base}/readyz`)).status, 200);
  });
});

describe('database lost while running', () => {
  let cx: CxProcess | undefined;
  const peersDir = tempDir('mariadb-outage');
  let port = 0;
  const mariadb = (command: 'start' | 'stop'): string => {
    const result = spawnSync('bash', [join(repoRoot, 'test/peers/mariadb.sh'), command], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CX_PEERS_DIR: peersDir, CX_MARIADB_PORT: String(port) },
    });
    assert.equal(result.status, 0, `mariadb.sh ${command}: ${result.stderr}`);
    return result.stdout.trim();
  };
  after(async () => {
    await cx?.stop();
    if (port) mariadb('stop');
  });

  it('answers 503 with Retry-After while MariaDB is down and finishes the workflow when it is back', async () => {
    port = await freePort();
    const url = mariadb('start'); // a MariaDB of this test's own, so that stopping it disturbs nothing else
    cx = await startCx({ env: { CX_DATABASE_URL: url, CX_SIM_LATENCY_MS: '300' } });
    const api = await Api.login(cx.base);
    const created = await api.call('POST', '/api/v1/clusters', { name: 'dbdown', ...DEMO_CLUSTER });
    assert.equal(created.status, 202);

    mariadb('stop');
    const listed = await api.call('GET', '/api/v1/clusters');
    assert.equal(listed.status, 503, JSON.stringify(listed.body));
    assert.equal(listed.body.code, 'CX_DEPENDENCY_UNAVAILABLE');
    assert.match(listed.body.detail, /CX_DATABASE_URL/);
    assert.ok(listed.headers.get('retry-after'));
    assert.doesNotMatch(JSON.stringify(listed.body), /cx:cx@/, 'no credentials in the answer');
    assert.equal((await fetch(`${cx.base}/readyz`)).status, 503);
    await sleep(3_000); // workflow steps fail against the missing database meanwhile

    mariadb('start');
    const finished = await api.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
    assert.equal(finished.status, 'Succeeded', JSON.stringify(finished));
    assert.equal(simMachines(cx.dataDir, created.body.cluster.id).length, 5);
    assert.equal((await fetch(`${cx.base}/readyz`)).status, 200);
  });
});

describe('dependencies unreachable at start', () => {
  const runCx = (env: Record<string, string>): { status: number | null; stderr: string } => {
    const dataDir = tempDir('unreachable');
    const result = spawnSync(process.execPath, [serverPath, 'all-in-one'], {
      cwd: dataDir,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        CX_DATA_DIR: dataDir,
        CX_HTTP_PORT: '0',
        CX_ADMIN_PASSWORD: ADMIN_PASSWORD,
        CX_LOG_LEVEL: 'silent',
        ...env,
      },
    });
    return { status: result.status, stderr: result.stderr };
  };

  it('names the unreachable database and the setting to change, and exits non-zero', () => {
    const result = runCx({ CX_DATABASE_URL: 'mysql://cx:cx@127.0.0.1:1/cx' });
    assert.notEqual(result.status, 0);
    assert.match(
      result.stderr,
      /^cx: cannot reach the database at mysql:\/\/cx:<redacted>@127\.0\.0\.1:1\/cx.*CX_DATABASE_URL/m,
    );
    assert.doesNotMatch(result.stderr, /cx:cx@/, 'the password is not printed');
  });

  it('names unreachable Redis and the setting to change, and exits non-zero', () => {
    const result = runCx({ CX_REDIS_URL: 'redis://127.0.0.1:1' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /^cx: cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*CX_REDIS_URL/m);
  });

  it('lists every configuration error at once', () => {
    const result = runCx({ CX_HTTP_PORT: 'http', CX_SIM_FAILURE_RATE: '7', CX_DATABASE_URL: 'postgres://nope' });
    assert.equal(result.status, 2);
    for (const key of ['http.port', 'sim.failureRate', 'database.url'])
      assert.match(result.stderr, new RegExp(key.replace('.', '\\.')));
  });
});
