/**
 * The runner's care for an unreliable API, which a healthy real cluster cannot show: what a report
 * says when reads fail, how long an activation with no answer counts as running, and that a poll
 * never reads the side before a command under way took effect. The side is a small in-memory
 * cluster; the real API is exercised in pair-agent.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { DEFAULT_PAIR_TIMING, type PairSpec, type SingletonSpec, singletonKey } from '@cx/pair';
import { KubernetesError, type SideRead } from './cluster.js';
import { AgentRunner, type SideApi, UNSETTLED_WRITE_MS } from './runner.js';

const spec: PairSpec = {
  name: 'edge-7',
  sides: { a: { cluster: 'edge-7a', bmc: { protocol: 'provider', address: 'm-a' } }, b: { cluster: 'edge-7b', bmc: { protocol: 'provider', address: 'm-b' } } },
  singletons: [{ namespace: 'apps', name: 'db', preferredSide: 'a' }, { namespace: 'apps', name: 'queue', preferredSide: 'b' }],
  preferredSide: 'b',
  afterFence: 'power-on',
  ...DEFAULT_PAIR_TIMING,
};

/** Deployments as replica counts; `fail` makes the next calls throw like an unreachable or refusing API. */
class FakeSide implements SideApi {
  replicas = new Map<string, number>([['apps/db', 0], ['apps/queue', 0]]);
  fail: { reads?: Error; scales?: Error } = {};
  readonly calls: string[] = [];
  scaleDelayMs = 0;

  async read(): Promise<SideRead> {
    this.calls.push('read');
    if (this.fail.reads) throw this.fail.reads;
    const wanted = new Set([...this.replicas].filter(([, n]) => n > 0).map(([key]) => key));
    return { active: new Set(wanted), wanted, ready: true, missing: [] };
  }

  async scale(singleton: SingletonSpec, replicas: 0 | 1): Promise<'scaled' | 'missing'> {
    this.calls.push(`scale ${singletonKey(singleton)} ${replicas}`);
    await new Promise((resolve) => setTimeout(resolve, this.scaleDelayMs));
    if (this.fail.scales) throw this.fail.scales;
    this.replicas.set(singletonKey(singleton), replicas);
    return 'scaled';
  }
}

function setUp(): { side: FakeSide; runner: AgentRunner; clock: { now: number } } {
  const side = new FakeSide();
  const clock = { now: 1_000_000 };
  const runner = new AgentRunner({
    spec, side: 'a', boot: 3, cluster: side, peerUrl: 'http://127.0.0.1:9', token: 'a shared secret of the pair', intervalMs: 1_000,
    logger: pino({ level: 'silent' }), clock: () => clock.now,
  });
  return { side, runner, clock };
}

const activate = (seq: number, singleton = 'apps/db') => ({ side: 'a' as const, singleton, replicas: 1 as const, boot: 3, seq, issuedAt: 5 });

describe('the agent runner', () => {
  it('counts everything as running when the API has never been read, and the last read plus later activations after', async () => {
    const { side, runner } = setUp();
    side.fail.reads = new KubernetesError('cannot list the nodes: connection refused', undefined);
    let report = await runner.poll(10);
    assert.deepEqual([report.active, report.ready], [['apps/db', 'apps/queue'], false]);

    side.fail.reads = undefined;
    report = await runner.poll(11);
    assert.deepEqual([report.active, report.ready], [[], true]);
    assert.deepEqual(await runner.command(activate(7)), { applied: true });
    side.fail.reads = new KubernetesError('cannot list the nodes: HTTP 503', 503);
    report = await runner.poll(12);
    assert.deepEqual([report.active, report.ready, report.appliedSeq], [['apps/db'], false, 7], 'activated after the last good read: running, even unread');
  });

  it('counts an activation the API did not answer as running until it cannot land any more; a refused one changes nothing', async () => {
    const { side, runner, clock } = setUp();
    side.fail.scales = new KubernetesError('cannot scale apps/db to 1: no answer within 5000 ms', undefined);
    const result = await runner.command(activate(7));
    assert.deepEqual(result, { applied: true, error: 'cannot scale apps/db to 1: no answer within 5000 ms' });
    // The write never landed (the fake kept 0), but it might still: the side says running.
    assert.deepEqual((await runner.poll(20)).active, ['apps/db']);
    clock.now += UNSETTLED_WRITE_MS - 1;
    assert.deepEqual((await runner.poll(21)).active, ['apps/db']);
    clock.now += 1;
    assert.deepEqual((await runner.poll(22)).active, [], 'past the window a read is believed again');

    side.fail.scales = new KubernetesError('cannot scale apps/queue to 1: HTTP 403: forbidden', 403);
    assert.equal('error' in (await runner.command(activate(8, 'apps/queue'))), true);
    assert.deepEqual((await runner.poll(23)).active, [], 'a refusal is final');
  });

  it('answers a poll that arrives while a command is being carried out only after the command took effect', async () => {
    const { side, runner } = setUp();
    side.scaleDelayMs = 200;
    const command = runner.command(activate(7));
    const poll = runner.poll(30);
    const [result, report] = await Promise.all([command, poll]);
    assert.deepEqual(result, { applied: true });
    assert.deepEqual(side.calls, ['scale apps/db 1', 'read']);
    assert.deepEqual([report.active, report.appliedSeq], [['apps/db'], 7]);
  });

  it('holds a new boot (stops what runs) until it hears anyone, and scales only what still wants replicas', async () => {
    const { side, runner } = setUp();
    side.replicas.set('apps/db', 1);
    await runner.step();
    assert.equal(side.replicas.get('apps/db'), 0);
    assert.equal(runner.status().state, 'held');
    assert.deepEqual(side.calls, ['read', 'scale apps/db 0']);
    await runner.step();
    assert.deepEqual(side.calls.slice(2), ['read'], 'nothing left to scale');
    assert.equal(runner.heardPeer('a', 1), false, 'a heartbeat claiming this side is refused');
    assert.equal(runner.heardPeer('b', 1), true);
    await runner.step();
    assert.equal(runner.status().state, 'connected');
  });
});
