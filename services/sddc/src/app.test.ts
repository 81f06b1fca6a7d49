/** sddc against real Redis: operations run once per job id, failures carry their code. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '@cx/config';
import { SimProvider } from '@cx/providers-sim';
import { SDDC_OPERATION_QUEUE, SDDC_OPERATION_RETRY, providersKey, type SddcOperation } from '@cx/queue-contracts';
import { createLogger } from '@cx/service-kit';
import { buildSddcApp, type SddcApp } from './app.js';

const redisUrl = process.env['CX_TEST_REDIS_URL'];

for (const failureRate of [0, 1]) {
  describe(`sddc with the sim provider at failure rate ${failureRate}`, () => {
    const prefix = `sddctest${randomBytes(3).toString('hex')}`;
    const simDir = mkdtempSync(join(tmpdir(), 'cx-sddc-'));
    let sddc: SddcApp;
    let queue: Queue<SddcOperation>;
    let events: QueueEvents;
    let redis: Redis;
    let eventsRedis: Redis;

    before(async () => {
      assert.ok(
        redisUrl,
        'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)',
      );
      const config = loadConfig({
        env: {
          CX_REDIS_URL: redisUrl,
          CX_REDIS_PREFIX: prefix,
          CX_SIM_DATA_DIR: simDir,
          CX_SIM_LATENCY_MS: '20',
          CX_SIM_FAILURE_RATE: String(failureRate),
          CX_SDDC_PORT: '0',
          CX_SERVICE_TOKEN: 't'.repeat(32),
        },
      });
      sddc = await buildSddcApp(config, createLogger({ level: 'silent', service: 'sddc' }));
      await sddc.app.listen({ port: 0, host: '127.0.0.1' });
      redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
      queue = new Queue(SDDC_OPERATION_QUEUE, { connection: redis, prefix });
      eventsRedis = new Redis(redisUrl, { maxRetriesPerRequest: null });
      events = new QueueEvents(SDDC_OPERATION_QUEUE, { connection: eventsRedis, prefix });
      await events.waitUntilReady();
    });
    after(async () => {
      await sddc?.app.close();
      await events?.close();
      (await events?.client)?.disconnect();
      await queue?.obliterate({ force: true });
      await queue?.close();
      // BullMQ leaves connections it was given open: they are closed here.
      redis?.disconnect();
      eventsRedis?.disconnect();
    });

    const ensure = (machineId: string): SddcOperation => ({
      op: 'ensure-machine',
      provider: 'sim',
      spec: {
        machineId,
        clusterId: 'c1',
        name: machineId,
        role: 'worker',
        pool: 'workers',
        kubernetesVersion: '1.31.4',
      },
    });

    it('advertises its providers for wfm', async () => {
      const advertised = await redis.hgetall(providersKey(prefix));
      assert.deepEqual(JSON.parse(advertised['sim']!).kubernetesVersions, ['1.32.2', '1.31.4', '1.30.8']);
    });

    if (failureRate === 0) {
      it('runs an operation once however often its job is enqueued', async () => {
        const jobs = await Promise.all(
          [1, 2, 3].map(() =>
            queue.add('ensure-machine', ensure('m1'), { jobId: 'run.1.0.m1', ...SDDC_OPERATION_RETRY }),
          ),
        );
        assert.equal(new Set(jobs.map((j) => j.id)).size, 1);
        const result = (await jobs[0]!.waitUntilFinished(events, 10_000)) as { providerId: string; phase: string };
        assert.equal(result.phase, 'Running');
        const again = await queue.add('ensure-machine', ensure('m1'), { jobId: 'run.1.0.m1' });
        assert.equal(await again.getState(), 'completed', 'a finished job is not run again');
        assert.deepEqual(
          new SimProvider({ dataDir: simDir }).allMachines().map((m) => [m.spec.clusterId, m.spec.machineId]),
          [['c1', 'm1']],
          'one machine at the provider',
        );
      });

      it('lists the nodes of a cluster through its provider', async () => {
        const job = await queue.add('list-nodes', { op: 'list-nodes', provider: 'sim', clusterId: 'c1' });
        const nodes = (await job.waitUntilFinished(events, 10_000)) as Array<{ name: string; role: string }>;
        assert.deepEqual(
          nodes.map((n) => [n.name, n.role]),
          [['m1', 'worker']],
        );
      });

      it('fails an operation for an unknown provider at once, with its code', async () => {
        const job = await queue.add(
          'ensure-machine',
          { ...ensure('m2'), provider: 'nowhere' },
          { ...SDDC_OPERATION_RETRY },
        );
        await assert.rejects(
          job.waitUntilFinished(events, 10_000),
          /^Error: CX_INPUT_INVALID: provider nowhere is not served/,
        );
        assert.equal((await queue.getJob(job.id!))!.attemptsMade, 1, 'a non-retryable failure is not retried');
      });
    } else {
      it('retries a failing provider with backoff, then fails with CX_PROVIDER_UNAVAILABLE', async () => {
        const job = await queue.add('ensure-machine', ensure('m3'), { jobId: 'run.2.0.m3', ...SDDC_OPERATION_RETRY });
        await assert.rejects(job.waitUntilFinished(events, 30_000), /CX_PROVIDER_UNAVAILABLE: sim: injected failure/);
        assert.equal((await queue.getJob(job.id!))!.attemptsMade, SDDC_OPERATION_RETRY.attempts);
      });
    }
  });
}
