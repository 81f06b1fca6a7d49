/**
 * cx's own availability (issue 6, DESIGN.md section 5): two replicas of each service on one MariaDB
 * and one Redis, as the Helm chart runs them. Killing one replica of every service in the middle of
 * several create workflows leaves the API answering (a client retries on the other wfm, as it
 * would behind a load balancer) and every workflow finishing, with no machine missing or doubled.
 * sm is reached through a small TCP balancer standing in for a Kubernetes Service: it skips a
 * replica that refuses connections.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from 'mysql2/promise';
import { ADMIN_PASSWORD, Api, DEMO_CLUSTER, freePort, serverPath, simMachines, tail, tempDir } from '../support/cx.js';

interface Replica {
  name: string;
  base: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<unknown>;
}

/** Round-robin TCP balancer over `ports` that tries the next backend when one refuses. */
async function balancer(ports: number[]): Promise<{ port: number; server: Server }> {
  let next = 0;
  const server = createServer((client: Socket) => {
    client.pause();
    const attempt = (tries: number): void => {
      const port = ports[next++ % ports.length]!;
      const upstream = connect(port, '127.0.0.1');
      upstream.once('connect', () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      upstream.once('error', () => {
        upstream.destroy();
        if (tries + 1 < ports.length) attempt(tries + 1);
        else client.destroy();
      });
      client.once('error', () => upstream.destroy());
      client.once('close', () => upstream.destroy());
    };
    attempt(0);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, server };
}

describe('two replicas of each service', () => {
  const mysqlUrl = process.env['CX_TEST_MYSQL_URL'];
  const redisUrl = process.env['CX_TEST_REDIS_URL'];
  const work = tempDir('replicas');
  const simDir = join(work, 'sim');
  const database = `cx_replicas_${randomBytes(4).toString('hex')}`;
  const replicas: Replica[] = [];
  let smBalancer: Server | undefined;
  let env: Record<string, string> = {};

  async function start(service: 'sm' | 'sddc' | 'wfm', index: number, port?: number): Promise<Replica> {
    port ??= await freePort();
    const portVariable = service === 'wfm' ? 'CX_HTTP_PORT' : service === 'sm' ? 'CX_SM_PORT' : 'CX_SDDC_PORT';
    const logPath = join(work, `${service}-${index}.log`);
    const log = createWriteStream(logPath);
    const child = spawn(process.execPath, [serverPath, service], {
      cwd: work,
      env: { ...process.env, ...env, [portVariable]: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${service}-${index} exited with ${child.exitCode}:\n${tail(logPath)}`);
      if (
        (await fetch(`${base}/readyz`)
          .then((r) => r.status)
          .catch(() => 0)) === 200
      )
        break;
      if (Date.now() > deadline) throw new Error(`${service}-${index} not ready within 60 s:\n${tail(logPath)}`);
      await sleep(200);
    }
    const replica = { name: `${service}-${index}`, base, child, logPath, exited };
    replicas.push(replica);
    return replica;
  }

  before(async () => {
    assert.ok(
      mysqlUrl && redisUrl,
      'CX_TEST_MYSQL_URL / CX_TEST_REDIS_URL are not set: run the tests with `npm test` (test/peers/mariadb.sh, redis.sh)',
    );
    const admin = await createConnection(mysqlUrl);
    await admin.query(`create database ${database}`);
    await admin.end();
    const smPorts = [await freePort(), await freePort()];
    const lb = await balancer(smPorts);
    smBalancer = lb.server;
    env = {
      CX_DATABASE_URL: mysqlUrl.replace(/\/[^/]*$/, `/${database}`),
      CX_REDIS_URL: redisUrl,
      CX_REDIS_PREFIX: `replicas${randomBytes(3).toString('hex')}`,
      CX_SECRET_KEY: randomBytes(24).toString('hex'),
      CX_SERVICE_TOKEN: randomBytes(24).toString('hex'),
      CX_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CX_SM_URL: `http://127.0.0.1:${lb.port}`,
      CX_DATA_DIR: work,
      CX_SIM_DATA_DIR: simDir,
      CX_SIM_LATENCY_MS: '400',
      CX_SDDC_PROVIDERS: 'sim',
      CX_WORKFLOWS_RECONCILE_INTERVAL_MS: '1000',
      CX_WORKFLOWS_LOCK_DURATION_MS: '3000',
      CX_LOG_LEVEL: 'info',
    };
    // sm first (it migrates the schema and creates the admin), each on the port the balancer expects.
    for (const [i, port] of smPorts.entries()) await start('sm', i, port);
    for (const service of ['sddc', 'wfm'] as const) for (const i of [0, 1]) await start(service, i);
  });

  after(async () => {
    for (const replica of replicas) if (replica.child.exitCode === null) replica.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => Promise.race([r.exited, sleep(10_000)])));
    smBalancer?.close();
    if (mysqlUrl) {
      const admin = await createConnection(mysqlUrl);
      await admin.query(`drop database if exists ${database}`).catch(() => undefined);
      await admin.end();
    }
  });

  it('answers and finishes every workflow when one replica of each service is killed mid-flight', async () => {
    const wfms = replicas.filter((r) => r.name.startsWith('wfm')).map((r) => r.base);
    const login = await Api.login(wfms[0]!);
    // A client of a replicated API: each call goes to the first wfm, then the other on a connection failure.
    const clients = wfms.map((base) => Object.assign(new Api(base), { token: login.token }));
    let retried = 0;
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
      for (const client of clients) {
        try {
          return await client.call(method, path, body);
        } catch {
          retried += 1;
        }
      }
      throw new Error(`no wfm replica answered ${method} ${path}`);
    };

    const created = await Promise.all(
      ['ha-a', 'ha-b', 'ha-c', 'ha-d'].map((name) =>
        call('POST', '/api/v1/clusters', { name, ...DEMO_CLUSTER, nodePools: [{ name: 'workers', count: 3 }] }),
      ),
    );
    for (const answer of created) assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const runs = created.map((a) => ({
      clusterId: a.body.cluster.id as string,
      workflowId: a.body.workflow.id as string,
    }));

    // Once machines are being made, kill one replica of every service without warning.
    const deadline = Date.now() + 30_000;
    while (runs.every((r) => simMachines(work, r.clusterId).length === 0) && Date.now() < deadline) await sleep(20);
    const victims = ['wfm-0', 'sddc-0', 'sm-0'].map((name) => replicas.find((r) => r.name === name)!);
    for (const victim of victims) victim.child.kill('SIGKILL');
    await Promise.all(victims.map((v) => v.exited));

    // The API keeps answering while the survivors take over, and every workflow finishes.
    let answered = 0;
    const finished = new Map<string, string>();
    const until = Date.now() + 120_000;
    while (finished.size < runs.length && Date.now() < until) {
      for (const run of runs) {
        if (finished.has(run.workflowId)) continue;
        const answer = await call('GET', `/api/v1/workflows/${run.workflowId}`);
        assert.equal(answer.status, 200, `the API failed while a replica was down: ${JSON.stringify(answer.body)}`);
        answered += 1;
        if (['Succeeded', 'Failed', 'Cancelled'].includes(answer.body.status))
          finished.set(run.workflowId, answer.body.status);
      }
      await sleep(250);
    }
    assert.ok(retried > 0, 'the killed wfm was never tried: the test proved nothing about failover');
    assert.ok(answered > 0);
    assert.deepEqual(
      [...finished.values()],
      runs.map(() => 'Succeeded'),
      `not every workflow finished: ${JSON.stringify([...finished])}\n${tail(replicas.find((r) => r.name === 'wfm-1')!.logPath)}`,
    );
    for (const run of runs) {
      const machines = simMachines(work, run.clusterId)
        .map((m) => m.spec.name)
        .sort();
      assert.equal(machines.length, 6, `cluster ${run.clusterId}: ${machines.join(', ')}`);
      assert.equal(new Set(machines).size, 6, 'a machine was made twice');
      assert.equal((await call('GET', `/api/v1/clusters/${run.clusterId}`)).body.status, 'Ready');
    }
  });
});
