/**
 * The runner's care for an unreliable API, which a healthy real cluster cannot show: what a report
 * says when reads fail, how long an activation with no answer counts as running, that a poll
 * never reads the side before a command under way took effect, and the order of the start gate's
 * tokens against the scaling. The side is a small in-memory cluster, the gate directory a real
 * one; the real API is exercised in pair-agent.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { DEFAULT_PAIR_TIMING, type PairSpec, type SingletonSpec, singletonKey } from '@cx/pair';
import { type GateOutcome, KubernetesError, type SideRead } from './cluster.js';
import { GateTokens } from './gate-tokens.js';
import { AgentRunner, GATE_RETRY_MS, type SideApi, UNSETTLED_WRITE_MS } from './runner.js';

const root = mkdtempSync(join(tmpdir(), 'cx-pair-agent-runner-'));

const spec: PairSpec = {
  name: 'edge-7',
  sides: {
    a: { cluster: 'edge-7a', bmc: { protocol: 'provider', address: 'm-a' } },
    b: { cluster: 'edge-7b', bmc: { protocol: 'provider', address: 'm-b' } },
  },
  singletons: [
    { namespace: 'apps', name: 'db', preferredSide: 'a' },
    { namespace: 'apps', name: 'queue', preferredSide: 'b' },
  ],
  preferredSide: 'b',
  afterFence: 'power-on',
  ...DEFAULT_PAIR_TIMING,
};

/**
 * Deployments as replica counts, with or without the gate; `fail` makes the next calls throw like
 * an unreachable or refusing API. `tokensSeen` records the gate tokens present at each call.
 */
class FakeSide implements SideApi {
  replicas = new Map<string, number>([
    ['apps/db', 0],
    ['apps/queue', 0],
  ]);
  readonly gated = new Set<string>();
  fail: { reads?: Error; scales?: Error; gates?: Error } = {};
  readonly calls: string[] = [];
  readonly tokensSeen: string[] = [];
  scaleDelayMs = 0;

  constructor(private readonly gateDir: string) {}

  async read(): Promise<SideRead> {
    this.record('read');
    if (this.fail.reads) throw this.fail.reads;
    const wanted = new Set([...this.replicas].filter(([, n]) => n > 0).map(([key]) => key));
    const ungated = new Map(
      [...this.replicas.keys()]
        .filter((key) => !this.gated.has(key))
        .map((key) => [key, 'no init container cx-pair-gate']),
    );
    return { active: new Set(wanted), wanted, ready: true, missing: [], ungated };
  }

  async scale(singleton: SingletonSpec, replicas: 0 | 1): Promise<'scaled' | 'missing'> {
    this.record(`scale ${singletonKey(singleton)} ${replicas}`);
    await new Promise((resolve) => setTimeout(resolve, this.scaleDelayMs));
    if (this.fail.scales) throw this.fail.scales;
    this.replicas.set(singletonKey(singleton), replicas);
    return 'scaled';
  }

  async ensureGate(singleton: SingletonSpec): Promise<GateOutcome> {
    const key = singletonKey(singleton);
    this.record(`gate ${key}`);
    if (this.fail.gates) throw this.fail.gates;
    if (this.gated.has(key)) return { outcome: 'in-place' };
    this.gated.add(key);
    return {
      outcome: 'patched',
      replaced: 'no init container cx-pair-gate',
      wanted: (this.replicas.get(key) ?? 0) > 0,
    };
  }

  private record(call: string): void {
    this.calls.push(call);
    this.tokensSeen.push(`${call} [${readdirSync(this.gateDir).sort().join(' ')}]`);
  }
}

function setUp(): { side: FakeSide; runner: AgentRunner; clock: { now: number }; gateDir: string } {
  const gateDir = mkdtempSync(join(root, 'gate-'));
  const side = new FakeSide(gateDir);
  const clock = { now: 1_000_000 };
  const runner = new AgentRunner({
    spec,
    side: 'a',
    boot: 3,
    cluster: side,
    gate: new GateTokens(gateDir),
    peerUrl: 'http://127.0.0.1:9',
    token: 'a shared secret of the pair',
    intervalMs: 1_000,
    logger: pino({ level: 'silent' }),
    clock: () => clock.now,
  });
  return { side, runner, clock, gateDir };
}

const activate = (seq: number, singleton = 'apps/db') => ({
  side: 'a' as const,
  singleton,
  replicas: 1 as const,
  boot: 3,
  seq,
  issuedAt: 5,
});

describe('the agent runner', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

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
    assert.deepEqual(
      [report.active, report.ready, report.appliedSeq],
      [['apps/db'], false, 7],
      'activated after the last good read: running, even unread',
    );
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

  it('removes every gate token at the start of a boot before anything else, then holds and puts the gates in place', async () => {
    const { side, runner, gateDir } = setUp();
    // Tokens of the boot before (the agent restarted without a reboot), and an interrupted write.
    writeFileSync(join(gateDir, 'apps_db'), '{}');
    writeFileSync(join(gateDir, 'apps_queue'), '{}');
    writeFileSync(join(gateDir, '.apps_db.123.tmp'), '');
    writeFileSync(join(gateDir, 'README'), 'not a token: left alone');
    side.replicas.set('apps/db', 1);
    await runner.begin();
    assert.deepEqual(
      side.tokensSeen,
      ['read [README]', 'scale apps/db 0 [README]', 'gate apps/db [README]', 'gate apps/queue [README]'],
      'no token left at the first read',
    );
    assert.equal(side.replicas.get('apps/db'), 0);
    const status = runner.status();
    assert.equal(status.state, 'held');
    assert.deepEqual(status.gates, [
      { singleton: 'apps/db', inPlace: true, token: false },
      { singleton: 'apps/queue', inPlace: true, token: false },
    ]);
  });

  it('writes the token before scaling up on an activation, and removes it before scaling down on a deactivation', async () => {
    const { side, runner } = setUp();
    await runner.begin();
    side.tokensSeen.length = 0;
    assert.deepEqual(await runner.command(activate(7)), { applied: true });
    assert.deepEqual(
      runner.status().gates.map((g) => [g.singleton, g.token]),
      [
        ['apps/db', true],
        ['apps/queue', false],
      ],
    );
    assert.deepEqual(await runner.command({ ...activate(8), replicas: 0 }), { applied: true });
    assert.deepEqual(side.tokensSeen, ['scale apps/db 1 [apps_db]', 'scale apps/db 0 []']);
    assert.equal(runner.status().gates[0]!.token, false);
    // A refused command touches no token.
    assert.equal((await runner.command(activate(8))).applied, false);
    assert.deepEqual(
      runner.status().gates.map((g) => g.token),
      [false, false],
    );
  });

  it('removes every token before it stops its singletons on its own (isolation)', async () => {
    const { side, runner, clock } = setUp();
    await runner.begin();
    await runner.command(activate(7));
    await runner.command(activate(8, 'apps/queue'));
    await runner.step();
    assert.equal(runner.status().state, 'connected');
    assert.deepEqual(
      runner.status().gates.map((g) => g.token),
      [true, true],
      'kept while connected and wanted',
    );
    side.tokensSeen.length = 0;
    clock.now += spec.isolationTimeoutMs;
    await runner.step();
    assert.equal(runner.status().state, 'isolated');
    assert.deepEqual(side.tokensSeen, ['read [apps_db apps_queue]', 'scale apps/db 0 []', 'scale apps/queue 0 []']);
  });

  it('removes the token of an activation the API refused, and of a singleton scaled to 0 behind its back; keeps one whose write may still land', async () => {
    const { side, runner } = setUp();
    await runner.begin();
    side.fail.scales = new KubernetesError('cannot start apps/db: its Deployment does not exist on this side', 404);
    assert.equal('error' in (await runner.command(activate(7))), true);
    assert.equal(runner.status().gates[0]!.token, false, 'a refusal changed nothing: no pod may pass');

    side.fail.scales = new KubernetesError('cannot scale apps/queue to 1: no answer within 5000 ms', undefined);
    await runner.command(activate(8, 'apps/queue'));
    side.fail.scales = undefined;
    await runner.command(activate(9));
    side.replicas.set('apps/db', 0);
    await runner.step();
    assert.deepEqual(
      runner.status().gates.map((g) => [g.singleton, g.token]),
      [
        ['apps/db', false],
        ['apps/queue', true],
      ],
    );
  });

  it('does not start a singleton whose token it cannot write', async () => {
    const { side, runner, gateDir } = setUp();
    await runner.begin();
    rmSync(gateDir, { recursive: true });
    const result = await runner.command(activate(7));
    assert.equal(result.applied, true);
    assert.match(
      (result as { error: string }).error,
      /cannot write the gate token .*apps_db.*; apps\/db is not started/,
    );
    assert.equal(side.calls.includes('scale apps/db 1'), false);
  });

  it('reports a Deployment it cannot put the gate into, and tries again later', async () => {
    const { side, runner, clock } = setUp();
    side.fail.gates = new KubernetesError(
      'cannot add the start gate to Deployment apps/db: HTTP 403: deployments.apps "db" is forbidden',
      403,
    );
    await runner.begin();
    const [db] = runner.status().gates;
    assert.equal(db!.inPlace, false);
    assert.match(
      db!.problem!,
      /no init container cx-pair-gate, and the agent cannot add it: .*HTTP 403.*needs patch on deployments in namespace apps/,
    );
    side.fail.gates = undefined;
    await runner.step();
    await runner.ensureGates();
    assert.equal(side.calls.filter((c) => c.startsWith('gate')).length, 2, 'not before the retry delay');
    clock.now += GATE_RETRY_MS;
    await runner.ensureGates();
    assert.deepEqual(
      runner.status().gates.map((g) => g.inPlace),
      [true, true],
    );
  });
});
