/**
 * Two-node pairs (seed 002) through the public API, on two single-node clusters of the kwok runtime
 * (a real kube-apiserver, controller manager and scheduler each), with two real `cx-pair-agent`
 * processes and cx's witness in sddc. The link between the agents runs through a TCP relay the test
 * can cut, so that a partition is a real one. A side "dies" the way a crashed node does: its agent
 * is killed with SIGKILL; the witness must fence it through the provider (power off, read off)
 * before it starts the side's singleton on the survivor, and nothing may ever run on both sides.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  Api,
  repoRoot,
  startCx,
  stopKwokControlPlanes,
  tempDir,
  until as waitUntil,
  type CxProcess,
} from '../support/cx.js';

const run = promisify(execFile);
const agentMain = join(repoRoot, 'packages/pair-agent/dist/main.js');

/** A TCP relay from a loopback port to another; `cut()` drops every connection and refuses new ones until `heal()`. */
class Relay {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private open = true;
  port = 0;
  private constructor(private readonly target: number) {
    this.server = createServer((client) => this.accept(client));
  }
  static async start(target: number): Promise<Relay> {
    const relay = new Relay(target);
    relay.server.listen(0, '127.0.0.1');
    await once(relay.server, 'listening');
    relay.port = (relay.server.address() as { port: number }).port;
    return relay;
  }
  private accept(client: Socket): void {
    if (!this.open) {
      client.destroy();
      return;
    }
    const upstream = connect(this.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  }
  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }
  heal(): void {
    this.open = true;
  }
  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => {
      this.server.close(r);
    });
  }
}

/**
 * A free port below the kernel's ephemeral range: the relay keeps connecting to a dead agent's
 * port, and a connection to a port in that range can connect to itself and take the port.
 */
async function lowFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const probe = createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((r) => {
        probe.close(r);
      });
      return port;
    }
  }
  throw new Error('no free port below 32000 after 50 tries');
}

describe('two-node pair: witness, fencing, failover, wait-for-all, partition', () => {
  const raw = process.env['CX_TEST_KUBERNETES'];
  const work = tempDir('pairs-e2e');
  let cx: CxProcess;
  let admin: Api;
  let kubectl = 'kubectl';
  let version = '';
  const clusters: Record<'a' | 'b', { id: string; kubeconfig: string }> = {
    a: { id: '', kubeconfig: '' },
    b: { id: '', kubeconfig: '' },
  };
  const agents: Partial<Record<'a' | 'b', ChildProcess>> = {};
  const relays: Partial<Record<'a' | 'b', Relay>> = {};
  const agentPorts = { a: 0, b: 0 };
  let pairId = '';

  const k = async (side: 'a' | 'b', ...args: string[]): Promise<string> =>
    (await run(kubectl, ['--kubeconfig', clusters[side].kubeconfig, ...args], { encoding: 'utf8' })).stdout;
  const replicas = async (side: 'a' | 'b'): Promise<number> =>
    Number(await k(side, 'get', 'deployment', 'db', '-n', 'apps', '-o', 'jsonpath={.spec.replicas}'));
  const pair = async (): Promise<any> => (await admin.call('GET', `/api/v1/pairs/${pairId}`)).body;
  const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
    waitUntil(what, probe, timeoutMs, { context: async () => (await pair()).status });
  /** The side's machine as its BMC sees it (the kwok provider keeps it on the node). */
  const poweredOn = async (side: 'a' | 'b'): Promise<boolean> =>
    (await k(side, 'get', 'nodes', '-o', 'jsonpath={.items[0].metadata.annotations.cx\\.dev/power}')).trim() !== 'off';
  /**
   * Never both: checked on every look at the two sides. A side runs db when db is scaled up there
   * and its machine is on; a powered-off side runs nothing (here its API server still answers,
   * which a real single-node cluster's would not).
   */
  async function neverBoth(): Promise<[number, number]> {
    const running = async (side: 'a' | 'b'): Promise<number> => ((await poweredOn(side)) ? replicas(side) : 0);
    const both: [number, number] = [await running('a'), await running('b')];
    assert.ok(both[0] + both[1] <= 1, `db runs on both sides: a=${both[0]} b=${both[1]}`);
    return both;
  }

  async function startAgent(side: 'a' | 'b'): Promise<number> {
    const config = (await admin.call('GET', `/api/v1/pairs/${pairId}/agents/${side}`)).body;
    assert.equal(config.side, side);
    const other = side === 'a' ? 'b' : 'a';
    // Here the agent runs beside cx, not on the node: loopback, the tenant kubeconfig, and the peer through the relay.
    const file = join(work, `agent-${side}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        ...config,
        listen: `127.0.0.1:${agentPorts[side]}`,
        peerUrl: `http://127.0.0.1:${relays[other]!.port}`,
        kubeconfig: clusters[side].kubeconfig,
        stateDir: join(work, `state-${side}`),
        gateDir: join(work, `gate-${side}`),
        intervalMs: 500,
      }),
      { mode: 0o600 },
    );
    const child = spawn(process.execPath, [agentMain, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.resume();
    agents[side] = child;
    const line = await Promise.race([
      once(createInterface({ input: child.stdout! }), 'line').then(([l]) => l as string),
      once(child, 'exit').then(([code]) => {
        throw new Error(`agent ${side} exited with ${String(code)}`);
      }),
    ]);
    return (JSON.parse(line) as { boot: number }).boot;
  }

  before(async () => {
    assert.ok(raw, 'CX_TEST_KUBERNETES is not set: run the tests with `npm test` (test/peers/kubernetes.sh)');
    kubectl = (JSON.parse(raw) as { kubectl?: string }).kubectl ?? 'kubectl';
    const binariesFile = join(work, 'binaries.json');
    writeFileSync(binariesFile, raw);
    cx = await startCx({ env: { CX_KWOK_BINARIES_FILE: binariesFile, CX_HA_PAIR_INTERVAL_MS: '500' } });
    admin = await Api.login(cx.base);
    version = Object.keys((JSON.parse(raw) as { kubeApiserver: Record<string, string> }).kubeApiserver)
      .sort()
      .at(-1)!;
    const created = await Promise.all(
      (['a', 'b'] as const).map(async (side) => {
        const answer = await admin.call('POST', '/api/v1/clusters', {
          name: `edge-${side}`,
          provider: 'kwok',
          kubernetesVersion: version,
          controlPlane: { count: 1 },
        });
        assert.equal(answer.status, 202, JSON.stringify(answer.body));
        return [side, answer.body] as const;
      }),
    );
    for (const [side, body] of created) {
      assert.equal(
        (await admin.waitForWorkflow(body.workflow.id, ['Succeeded', 'Failed'], 240_000)).status,
        'Succeeded',
      );
      clusters[side].id = body.cluster.id;
      clusters[side].kubeconfig = join(work, `${side}.kubeconfig`);
      writeFileSync(
        clusters[side].kubeconfig,
        (await admin.call('GET', `/api/v1/clusters/${body.cluster.id}/kubeconfig`)).body as string,
        { mode: 0o600 },
      );
      // The singleton exists on both sides, scaled up on both: the agents must stop one before anything runs.
      const manifest = join(work, `db-${side}.json`);
      writeFileSync(
        manifest,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: [
            { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } },
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'db', namespace: 'apps' },
              spec: {
                replicas: 1,
                selector: { matchLabels: { app: 'db' } },
                template: {
                  metadata: { labels: { app: 'db' } },
                  spec: {
                    containers: [{ name: 'db', image: 'registry.example/db:1' }],
                    tolerations: [{ operator: 'Exists' }],
                  },
                },
              },
            },
          ],
        }),
      );
      await k(side, 'apply', '-f', manifest);
    }
    agentPorts.a = await lowFreePort();
    agentPorts.b = await lowFreePort();
    relays.a = await Relay.start(agentPorts.a);
    relays.b = await Relay.start(agentPorts.b);
  });
  after(async () => {
    for (const child of Object.values(agents)) child?.kill('SIGKILL');
    for (const relay of Object.values(relays)) await relay?.close();
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  const timing = {
    peerLossTimeoutMs: 3_000,
    fencingDelayMs: 2_000,
    fenceTimeoutMs: 20_000,
    fenceRetryMs: 5_000,
    powerPollIntervalMs: 500,
    isolationTimeoutMs: 8_000,
    commandRetryMs: 3_000,
  };
  const request = (): Record<string, unknown> => ({
    name: 'edge',
    preferredSide: 'a',
    afterFence: 'stay-off',
    timing,
    sides: {
      a: { clusterId: clusters.a.id, agentUrl: `http://127.0.0.1:${agentPorts.a}` },
      b: { clusterId: clusters.b.id, agentUrl: `http://127.0.0.1:${agentPorts.b}` },
    },
    singletons: [{ namespace: 'apps', name: 'db', preferredSide: 'a' }],
  });

  it('refuses a bad pair with a clear error and stores nothing', async () => {
    const sim = await admin.call('POST', '/api/v1/clusters', {
      name: 'three',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 3 },
    });
    assert.equal(sim.status, 202);
    assert.equal(
      (await admin.waitForWorkflow(sim.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
      [
        'same cluster twice',
        { ...request(), sides: { a: { clusterId: clusters.a.id }, b: { clusterId: clusters.a.id } } },
        400,
        /body\.sides\.b\.clusterId/,
      ],
      [
        'a three-node cluster',
        { ...request(), sides: { a: { clusterId: clusters.a.id }, b: { clusterId: sim.body.cluster.id } } },
        400,
        /single-node/,
      ],
      [
        'an unknown cluster',
        { ...request(), sides: { a: { clusterId: clusters.a.id }, b: { clusterId: 'nope' } } },
        404,
        /nope/,
      ],
      ['no singleton', { ...request(), singletons: [] }, 400, /singletons/],
      [
        'a power poll slower than the fence timeout',
        { ...request(), timing: { ...timing, powerPollIntervalMs: 30_000 } },
        400,
        /powerPollIntervalMs/,
      ],
    ];
    for (const [what, body, status, detail] of cases) {
      const answer = await admin.call('POST', '/api/v1/pairs', body);
      assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.headers.get('content-type')?.split(';')[0], 'application/problem+json', what);
      assert.match(JSON.stringify(answer.body), detail, what);
    }
    // A user without grants on the clusters cannot see them, so cannot pair them.
    assert.equal(
      (await admin.call('POST', '/api/v1/users', { username: 'pairless', password: 'pairless-pw-1' })).status,
      201,
    );
    const user = await Api.login(cx.base, 'pairless', 'pairless-pw-1');
    assert.equal((await user.call('POST', '/api/v1/pairs', request())).status, 404);
    assert.deepEqual((await admin.call('GET', '/api/v1/pairs')).body.items, []);
  });

  it('declares the pair; the agents hold, then the witness runs the singleton on its preferred side only', async () => {
    const created = await admin.call('POST', '/api/v1/pairs', request());
    assert.equal(created.status, 201, JSON.stringify(created.body));
    pairId = created.body.id;
    assert.equal(created.body.sides.a.clusterId, clusters.a.id);
    assert.equal(created.body.timing.fenceTimeoutMs, 20_000);
    assert.equal((await admin.call('POST', '/api/v1/pairs', request())).status, 409, 'a cluster belongs to one pair');
    // The config holds the pair's token; nothing else shows it.
    assert.ok(
      !JSON.stringify(created.body).includes((await admin.call('GET', `/api/v1/pairs/${pairId}/agents/a`)).body.token),
    );
    assert.equal(await startAgent('a'), 1);
    // Wait-for-all at declaration: b's agent is not running yet, which is no reason to fence b.
    await until(
      'waiting for the agent of b',
      async () => ((await pair()).status?.conditions?.[0]?.message?.includes('side b') ? true : undefined),
      20_000,
    );
    await sleep(timing.peerLossTimeoutMs + timing.fencingDelayMs + 2_000);
    const waiting = (await pair()).status;
    assert.equal(waiting.phase, 'Blocked');
    assert.equal(waiting.conditions[0].reason, 'WaitingForAgents');
    assert.equal(await poweredOn('b'), true, 'b was not fenced');
    assert.equal(await startAgent('b'), 1);
    await until(
      'phase Healthy with db on a',
      async () => {
        const status = (await pair()).status;
        const both = await neverBoth();
        return status?.phase === 'Healthy' && both[0] === 1 && both[1] === 0 ? true : undefined;
      },
      60_000,
    );
    const status = (await pair()).status;
    assert.deepEqual(
      status.singletons.map((s: any) => [s.singleton, s.owner, s.state]),
      [['apps/db', 'a', 'Running']],
    );
    // The start gate: both sides' db carries it, and only the side running db holds its token.
    for (const side of ['a', 'b'] as const)
      assert.equal(
        (
          await k(
            side,
            'get',
            'deployment',
            'db',
            '-n',
            'apps',
            '-o',
            'jsonpath={.spec.template.spec.initContainers[0].name}',
          )
        ).trim(),
        'cx-pair-gate',
      );
    assert.ok(existsSync(join(work, 'gate-a', 'apps_db')), 'a holds the token of db');
    assert.ok(!existsSync(join(work, 'gate-b', 'apps_db')), 'b does not');
    assert.equal(status.sides.a.seesPeer, true);
    assert.equal(status.sides.b.seesPeer, true);
  });

  it('refuses to delete or resize a cluster that is a side of the pair', async () => {
    const deleted = await admin.call('DELETE', `/api/v1/clusters/${clusters.b.id}`);
    assert.equal(deleted.status, 409);
    assert.match(deleted.body.detail, /pair edge/);
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusters.b.id}`)).body.status, 'Ready');
  });

  it('in a partition (both sides alive, the link between them cut), nothing moves and nothing is fenced', async () => {
    relays.a!.cut();
    relays.b!.cut();
    await until(
      'phase Partitioned',
      async () => ((await pair()).status?.phase === 'Partitioned' ? true : undefined),
      30_000,
    );
    // Longer than loss + delay: a failure would have been fenced by now.
    for (let i = 0; i < 12; i++) {
      assert.deepEqual(await neverBoth(), [1, 0]);
      await sleep(500);
    }
    const status = (await pair()).status;
    assert.equal(status.events.filter((e: any) => e.action === 'fence').length, 0, JSON.stringify(status.events));
    relays.a!.heal();
    relays.b!.heal();
    await until(
      'phase Healthy again',
      async () => ((await pair()).status?.phase === 'Healthy' ? true : undefined),
      30_000,
    );
    assert.deepEqual(await neverBoth(), [1, 0]);
  });

  it('when side a dies, fences it (power off, read off) before starting db on b; a boots holding, and takes db back', async () => {
    agents.a!.kill('SIGKILL');
    // The status (with its events) is written a round after the agent carried the command out.
    const startedOnB = (events: any[]): boolean =>
      events.some((e) => e.side === 'b' && e.action === 'activate' && e.outcome === 'applied');
    await until(
      'db running on b',
      async () => ((await neverBoth())[1] === 1 && startedOnB((await pair()).status.events) ? true : undefined),
      60_000,
    );
    const { events } = (await pair()).status;
    const fenced = events.findIndex(
      (e: any) => e.side === 'a' && e.action === 'confirm-power-off' && e.outcome === 'off',
    );
    const started = events.findIndex((e: any) => e.side === 'b' && e.action === 'activate' && e.outcome === 'applied');
    assert.ok(
      fenced >= 0 &&
        events.findIndex((e: any) => e.side === 'a' && e.action === 'fence' && e.outcome === 'accepted') < fenced,
      JSON.stringify(events),
    );
    assert.ok(started > fenced, `db started on b before a was seen off: ${JSON.stringify(events)}`);
    assert.equal(await poweredOn('a'), false, 'afterFence stay-off: a stays off');
    const audit = (await admin.call('GET', '/api/v1/audit?actor=cx:pair-witness&action=pair.*')).body.items as Array<{
      action: string;
      outcome: string;
      targetId: string;
    }>;
    assert.ok(
      audit.some((e) => e.action === 'pair.fence' && e.outcome === 'success' && e.targetId === pairId),
      `the fence is audited: ${JSON.stringify(audit)}`,
    );
    assert.ok(
      audit.some((e) => e.action === 'pair.activate' && e.outcome === 'success'),
      'the move is audited',
    );
    // The admin boots a. The agent starts before the node runs pods (the model's start-up hold): it stops db on a.
    assert.equal(await startAgent('a'), 2);
    await until(
      'db stopped on a by its new agent',
      async () => ((await replicas('a')) === 0 ? true : undefined),
      30_000,
    );
    const node = (await k('a', 'get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}')).trim();
    // Power on, as the kwok provider's power-on does it: kwok keeps the node again.
    await k('a', 'label', 'node', node, 'kwok.x-k8s.io/node=fake');
    await k('a', 'annotate', '--overwrite', 'node', node, 'kwok.x-k8s.io/node=fake', 'cx.dev/power=on');
    await until(
      'db back on a, its preferred side',
      async () => {
        const status = (await pair()).status;
        const both = await neverBoth();
        return status?.phase === 'Healthy' && both[0] === 1 && both[1] === 0 && status.sides.a.boot === 2
          ? true
          : undefined;
      },
      90_000,
    );
  });

  it('deletes the pair; its clusters can then be deleted', async () => {
    assert.equal((await admin.call('DELETE', `/api/v1/pairs/${pairId}`)).status, 204);
    assert.equal((await admin.call('GET', `/api/v1/pairs/${pairId}`)).status, 404);
    const deleted = await admin.call('DELETE', `/api/v1/clusters/${clusters.b.id}`);
    assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
    assert.equal(
      (await admin.waitForWorkflow(deleted.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
  });
});
