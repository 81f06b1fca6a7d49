/**
 * The agent program against real Kubernetes: two single-node clusters (each a real etcd,
 * kube-apiserver, kube-controller-manager and kube-scheduler, with a kwok node, made by
 * @cx/providers-kwok), one `cx-pair-agent` process per side on loopback, and the test playing the
 * witness over the agents' HTTP API. What a witness and an operator would notice: the hold of a
 * new boot, the peers seeing each other, commands refused or carried out before the answer,
 * reports that count a stopping pod, the peer lost after `peerLossTimeoutMs`, an isolated side
 * stopping its singletons, a restart being a new boot, the token, and the start gate (the init
 * container in every singleton Deployment, its token written on an activation and removed on a
 * deactivation, an isolation and a new boot; a Deployment the agent may not patch reported).
 * kwok plays the kubelet without running containers, init containers included: its pods become
 * Running whether or not their token exists, so what the gate does to a pod cannot be shown here,
 * only that the gate and its tokens are what that pod would see.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  type V1Deployment,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { type ClusterPki, createClusterPki, issueCertificate, renderKubeconfig } from '@cx/k8s';
import type { PairSpec, ScaleCommand, Side, SideReport } from '@cx/pair';
import { KwokProvider, type KwokBinaries } from '@cx/providers-kwok';
import { SideCluster } from './cluster.js';
import { GATE_RETRY_MS, AgentRunner, type AgentStatus } from './runner.js';
import { GateTokens } from './gate-tokens.js';
import { gatePatch } from './gate-template.js';

const raw = process.env['CX_TEST_KUBERNETES'];
assert.ok(
  raw,
  'CX_TEST_KUBERNETES is not set: run the tests with `npm test`, which builds the Kubernetes peers (test/peers/kubernetes.sh)',
);
const binaries = JSON.parse(raw) as KwokBinaries;
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const TOKEN = 'the shared token of the test pair';
const INTERVAL_MS = 200;
const DB = 'apps/db';
const GATE_IMAGE = 'busybox:1.37.0';

/** Polls `probe` every 100 ms until it answers something other than undefined; fails after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}; agent logs in ${workDir}`,
      );
    await sleep(100);
  }
}

/**
 * A free port below the kernel's ephemeral range (32768–60999): the agents heartbeat a dead peer's
 * port, and a loopback connection to a port of that range can be given that very port as its source
 * (a TCP self-connect), which would hold it when the peer starts again.
 */
async function freePort(taken: readonly number[] = []): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
        .once('error', () => resolve(false))
        .listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** One running `cx-pair-agent`. */
class Agent {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly boot: number,
    readonly exited: Promise<number | null>,
  ) {}

  /** Starts the program and waits for its one line of JSON on stdout. */
  static async start(configFile: string, logFile: string): Promise<Agent> {
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, [MAIN, '--config', configFile], { stdio: ['ignore', 'pipe', log] });
    closeSync(log);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout! });
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      exited.then((code) => {
        throw new Error(`the agent exited (${code}) before it listened; log: ${logFile}`);
      }),
      sleep(60_000).then(() => {
        throw new Error(`the agent did not listen within 60 s; log: ${logFile}`);
      }),
    ]);
    const ready = JSON.parse(first) as { listening: string; side: Side; boot: number };
    return new Agent(child, ready.listening, ready.boot, exited);
  }

  async call<T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    token: string | null = TOKEN,
  ): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** A poll as the witness sends it, with the witness's clock. */
  async poll(witnessTime = Date.now()): Promise<SideReport> {
    const answer = await this.call<{ report: SideReport }>('POST', '/v1/poll', { witnessTime });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.report;
  }

  async command(
    command: ScaleCommand,
  ): Promise<{ status: number; body: { applied: boolean; reason?: string; error?: string } }> {
    return this.call('POST', '/v1/commands', command);
  }

  async status(): Promise<AgentStatus> {
    const answer = await this.call<AgentStatus>('GET', '/v1/status');
    assert.equal(answer.status, 200);
    return answer.body;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

interface SideUnderTest {
  side: Side;
  clusterId: string;
  machineId: string;
  apps: AppsV1Api;
  core: CoreV1Api;
  configFile: string;
  stateDir: string;
  gateDir: string;
  logFile: string;
  pki: ClusterPki;
  server: string;
  agent?: Agent;
}

let workDir = '';

describe('cx-pair-agent on two real single-node clusters', () => {
  const suffix = randomUUID().slice(0, 6);
  const provider = new KwokProvider({ dataDir: tmpdir(), binaries });
  const version = provider.kubernetesVersions[0]!;
  const sides = {} as Record<Side, SideUnderTest>;
  const spec: PairSpec = {
    name: 'pair-test',
    sides: {
      a: { cluster: `pa-${suffix}`, bmc: { protocol: 'provider', address: `pa-${suffix}-0` } },
      b: { cluster: `pb-${suffix}`, bmc: { protocol: 'provider', address: `pb-${suffix}-0` } },
    },
    // apps/cache exists on no side: a Deployment that is not there.
    singletons: [
      { namespace: 'apps', name: 'db', preferredSide: 'a' },
      { namespace: 'apps', name: 'cache', preferredSide: 'b' },
    ],
    preferredSide: 'b',
    afterFence: 'power-on',
    peerLossTimeoutMs: 1_500,
    fencingDelayMs: 1_000,
    fenceTimeoutMs: 10_000,
    fenceRetryMs: 5_000,
    powerPollIntervalMs: 1_000,
    isolationTimeoutMs: 3_000,
    commandRetryMs: 2_000,
  };
  let kwok: KwokProvider;
  const replicasOf = async (s: SideUnderTest): Promise<number | undefined> =>
    (await s.apps.readNamespacedDeployment({ namespace: 'apps', name: 'db' })).spec?.replicas;
  const dbOf = async (s: SideUnderTest): Promise<V1Deployment> =>
    s.apps.readNamespacedDeployment({ namespace: 'apps', name: 'db' });
  const tokenOf = (s: SideUnderTest): string => join(s.gateDir, 'apps_db');
  /** The gate as the agent puts it into db's pod template: first init container, the side's gate directory from the node. */
  const assertGated = (s: SideUnderTest, deployment: V1Deployment): void => {
    const pod = deployment.spec!.template.spec!;
    const gate = pod.initContainers?.[0];
    assert.equal(gate?.name, 'cx-pair-gate', `side ${s.side}: ${JSON.stringify(pod.initContainers)}`);
    assert.equal(gate.image, GATE_IMAGE);
    assert.match(gate.command!.join(' '), /until \[ -f \/gate\/apps_db \]; do sleep 1; done/);
    assert.deepEqual(
      gate.volumeMounts?.map((m) => [m.name, m.mountPath, m.readOnly]),
      [['cx-pair-gate', '/gate', true]],
    );
    const volume = pod.volumes?.find((v) => v.name === 'cx-pair-gate');
    assert.deepEqual([volume?.hostPath?.path, volume?.hostPath?.type], [s.gateDir, 'DirectoryOrCreate']);
    assert.ok(
      deployment.metadata?.managedFields?.some((f) => f.manager === 'cx-pair-agent'),
      'written with the field manager cx-pair-agent',
    );
  };
  const podsOf = async (s: SideUnderTest): Promise<number> =>
    (await s.core.listNamespacedPod({ namespace: 'apps', labelSelector: 'app=db' })).items.length;
  const agentOf = (side: Side): Agent => {
    const agent = sides[side].agent;
    assert.ok(agent, `agent ${side} runs`);
    return agent;
  };

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'cx-pair-agent-'));
    kwok = new KwokProvider({ dataDir: join(workDir, 'kwok'), binaries });
    const portA = await freePort();
    const ports = { a: portA, b: await freePort([portA]) };
    await Promise.all(
      (['a', 'b'] as const).map(async (side) => {
        const clusterId = spec.sides[side].cluster;
        const machineId = `${clusterId}-0`;
        const pki = await createClusterPki(clusterId);
        const bootstrap = { clusterName: clusterId, kubernetesVersion: version, pki, trustedCaPems: [pki.ca.certPem] };
        // One untainted node: the side's single node, where its singletons' pods run.
        const machine = await kwok.ensureMachine(
          {
            machineId,
            clusterId,
            name: machineId,
            role: 'control-plane',
            pool: 'control-plane',
            kubernetesVersion: version,
          },
          { bootstrap: async () => bootstrap },
        );
        const admin = await issueCertificate(pki.ca, {
          commonName: `pair-agent-${side}`,
          organizations: ['system:masters'],
          usage: 'client',
          validitySeconds: 3_600,
        });
        const kubeconfigFile = join(workDir, `${side}.kubeconfig`);
        writeFileSync(
          kubeconfigFile,
          renderKubeconfig({
            clusterName: clusterId,
            server: machine.apiEndpoint!,
            caPem: pki.ca.certPem,
            user: `pair-agent-${side}`,
            clientCertPem: admin.certPem,
            clientKeyPem: admin.keyPem,
          }),
        );
        const config = new KubeConfig();
        config.loadFromFile(kubeconfigFile);
        const apps = config.makeApiClient(AppsV1Api);
        const core = config.makeApiClient(CoreV1Api);
        await until(
          `the node of side ${side} Ready`,
          async () => ((await kwok.listNodes(clusterId)).every((n) => n.status === 'Ready') ? true : undefined),
          60_000,
        );
        await core.createNamespace({ body: { metadata: { name: 'apps' } } });
        // db runs on a (1 replica, as etcd keeps it across a reboot) and is stopped on b.
        await apps.createNamespacedDeployment({
          namespace: 'apps',
          body: {
            metadata: { name: 'db' },
            spec: {
              replicas: side === 'a' ? 1 : 0,
              selector: { matchLabels: { app: 'db' } },
              template: {
                metadata: { labels: { app: 'db' } },
                spec: {
                  containers: [{ name: 'db', image: 'registry.example/db:1' }],
                  terminationGracePeriodSeconds: 1,
                },
              },
            },
          },
        });
        const stateDir = join(workDir, `state-${side}`);
        const gateDir = join(workDir, `gate-${side}`);
        const configFile = join(workDir, `agent-${side}.json`);
        const other = side === 'a' ? 'b' : 'a';
        writeFileSync(
          configFile,
          JSON.stringify({
            spec,
            side,
            listen: `127.0.0.1:${ports[side]}`,
            peerUrl: `http://127.0.0.1:${ports[other]}`,
            token: TOKEN,
            stateDir,
            gateDir,
            kubeconfig: kubeconfigFile,
            intervalMs: INTERVAL_MS,
            logLevel: 'debug',
          }),
        );
        sides[side] = {
          side,
          clusterId,
          machineId,
          apps,
          core,
          configFile,
          stateDir,
          gateDir,
          logFile: join(workDir, `agent-${side}.log`),
          pki,
          server: machine.apiEndpoint!,
        };
      }),
    );
    await until(
      'the db pod Running on side a',
      async () => {
        const pods = (await sides.a.core.listNamespacedPod({ namespace: 'apps', labelSelector: 'app=db' })).items;
        return pods.some((p) => p.status?.phase === 'Running') ? true : undefined;
      },
      60_000,
    );
  });

  after(async () => {
    for (const s of Object.values(sides)) await s.agent?.stop('SIGKILL');
    if (kwok)
      for (const s of Object.values(sides)) await kwok.deleteMachine(s.clusterId, s.machineId).catch(() => undefined);
    if (workDir && !process.env['CX_KEEP_TEST_DIR']) await rm(workDir, { recursive: true, force: true });
  });

  it('holds a new boot: alone, agent a stops its running singleton before it answers anyone', async () => {
    const a = (sides.a.agent = await Agent.start(sides.a.configFile, sides.a.logFile));
    assert.equal(a.boot, 1);
    assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await replicasOf(sides.a), 0, 'scaled to 0 before the agent listened');
    const status = await a.status();
    assert.deepEqual([status.side, status.boot, status.state], ['a', 1, 'held']);
    assert.match(status.message, /wait-for-all/);
    assert.equal((await a.call('GET', '/healthz', undefined, null)).status, 200);
    assert.equal(existsSync(sides.a.gateDir), true, 'the gate directory is made at start');
  });

  it('heartbeats: once agent b runs, each side sees the other and reports it', async () => {
    const b = (sides.b.agent = await Agent.start(sides.b.configFile, sides.b.logFile));
    assert.equal(b.boot, 1);
    const a = agentOf('a');
    const witnessTime = Date.now();
    const reportA = await until(
      'a sees b',
      async () => {
        const r = await a.poll(witnessTime);
        return r.seesPeer ? r : undefined;
      },
      10_000,
    );
    assert.deepEqual(
      { ...reportA, seq: 0 },
      { side: 'a', boot: 1, seq: 0, witnessTime, seesPeer: true, ready: true, appliedSeq: 0, active: reportA.active },
    );
    const reportB = await until(
      'b sees a',
      async () => {
        const r = await b.poll();
        return r.seesPeer ? r : undefined;
      },
      10_000,
    );
    assert.deepEqual([reportB.side, reportB.boot, reportB.ready, reportB.active], ['b', 1, true, []]);
    // The held pod of a goes (kwok plays the kubelet); until then a reports it.
    await until('a reports db inactive once its pod is gone', async () =>
      (await a.poll()).active.length === 0 ? true : undefined,
    );
    assert.equal(await podsOf(sides.a), 0);
    // a leaves `held` on its next round after it sees b: waited for, not raced (it was, on a loaded machine).
    await until('a connected', async () => ((await a.status()).state === 'connected' ? true : undefined), 5_000);
  });

  it('puts the start gate into every singleton Deployment on both sides, and puts it back when it is changed', async () => {
    for (const s of [sides.a, sides.b]) {
      const deployment = await until(
        `the gate in db on side ${s.side}`,
        async () => {
          const d = await dbOf(s);
          return d.spec?.template.spec?.initContainers?.length ? d : undefined;
        },
        10_000,
      );
      assertGated(s, deployment);
      const gates = (await agentOf(s.side).status()).gates;
      assert.deepEqual(
        gates.find((g) => g.singleton === DB),
        { singleton: DB, inPlace: true, token: false },
      );
      const cache = gates.find((g) => g.singleton === 'apps/cache')!;
      assert.deepEqual([cache.inPlace, cache.token], [false, false]);
      assert.match(cache.problem!, /the Deployment does not exist on side/);
      assert.match(
        readFileSync(s.logFile, 'utf8'),
        /added the start gate to the Deployment of apps\/db \(no init container cx-pair-gate\): its pods roll once/,
      );
    }
    // Someone changes the gate on b: the agent puts its own back (the pods roll once more).
    const changed = await sides.b.apps.patchNamespacedDeployment(
      {
        namespace: 'apps',
        name: 'db',
        body: [{ op: 'replace', path: '/spec/template/spec/initContainers/0/image', value: 'busybox:1.36.1' }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    assert.equal(changed.spec?.template.spec?.initContainers?.[0]?.image, 'busybox:1.36.1');
    const restored = await until(
      'the gate of b restored',
      async () => {
        const d = await dbOf(sides.b);
        return d.spec?.template.spec?.initContainers?.[0]?.image === GATE_IMAGE ? d : undefined;
      },
      10_000,
    );
    assertGated(sides.b, restored);
    assert.equal(restored.spec?.template.spec?.initContainers?.length, 1, 'replaced, not added');
    // Logged once the agent has the API's answer, which may come after the read above.
    await until(
      'the second roll logged',
      async () =>
        /added the start gate to the Deployment of apps\/db \(init container cx-pair-gate runs busybox:1\.36\.1, not busybox:1\.37\.0\)/.test(
          readFileSync(sides.b.logFile, 'utf8'),
        )
          ? true
          : undefined,
      5_000,
    );
    // The agent's patch applies only to the Deployment it read: computed on an older version, the API refuses it (and the agent reads again).
    await assert.rejects(
      sides.b.apps.patchNamespacedDeployment(
        {
          namespace: 'apps',
          name: 'db',
          body: gatePatch(changed, { namespace: 'apps', name: 'db' }, { dir: sides.b.gateDir, image: GATE_IMAGE }),
          fieldManager: 'cx-pair-agent',
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
      (error: { code?: number }) => error.code === 422,
    );
    assert.equal(
      (await dbOf(sides.b)).metadata?.generation,
      restored.metadata?.generation,
      'the template is unchanged',
    );
  });

  it("refuses calls without the pair's token, and malformed bodies", async () => {
    const b = agentOf('b');
    const command: ScaleCommand = { side: 'b', singleton: DB, replicas: 1, boot: 1, seq: 1, issuedAt: Date.now() };
    for (const token of [null, 'the wrong token of the test pair', `${TOKEN}x`, '']) {
      const answer = await b.call<{ code: string }>('POST', '/v1/commands', command, token);
      assert.equal(answer.status, 401, `token ${JSON.stringify(token)}`);
      assert.equal(answer.body.code, 'CX_UNAUTHENTICATED');
    }
    assert.equal((await b.call('GET', '/v1/status', undefined, 'nope')).status, 401);
    assert.equal((await b.call('POST', '/v1/poll', { witnessTime: 1 }, 'nope')).status, 401);
    assert.equal((await b.call('POST', '/v1/heartbeat', { side: 'a', boot: 1 }, 'nope')).status, 401);
    assert.equal(await replicasOf(sides.b), 0, 'nothing was scaled');
    assert.equal((await b.poll()).appliedSeq, 0, 'and no command counted');

    for (const [path, body] of [
      ['/v1/poll', { witnessTime: 'soon' }],
      ['/v1/poll', {}],
      ['/v1/poll', '{"witnessTime": '],
      ['/v1/commands', { ...command, replicas: 2 }],
      ['/v1/commands', { ...command, seq: '7' }],
      ['/v1/commands', { side: 'b' }],
      ['/v1/heartbeat', { side: 'c', boot: 1 }],
      ['/v1/heartbeat', { side: 'b', boot: 1 }],
    ] as const) {
      const answer = await b.call<{ code: string }>('POST', path, body);
      assert.equal(answer.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, 'CX_INPUT_INVALID');
    }
    assert.equal((await b.poll()).appliedSeq, 0);
  });

  it('refuses a command for another boot or an old one, and answers an accepted one only once it is carried out', async () => {
    const b = agentOf('b');
    const base = { side: 'b' as const, singleton: DB, boot: 1, issuedAt: Date.now() };
    let answer = await b.command({ ...base, replicas: 1, boot: 7, seq: 10 });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.applied, false);
    assert.match(answer.body.reason!, /boot 7, this is boot 1/);
    answer = await b.command({ ...base, side: 'a', replicas: 1, seq: 10 });
    assert.deepEqual([answer.status, answer.body.applied], [200, false], 'a command for the other side');
    assert.equal(await replicasOf(sides.b), 0);

    assert.equal(existsSync(tokenOf(sides.b)), false, 'no token for a refused command');
    answer = await b.command({ ...base, replicas: 1, seq: 10 });
    assert.deepEqual([answer.status, answer.body], [200, { applied: true }]);
    assert.equal(await replicasOf(sides.b), 1, 'scaled before the answer');
    const token = JSON.parse(readFileSync(tokenOf(sides.b), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      [token['pair'], token['side'], token['boot'], token['seq']],
      ['pair-test', 'b', 1, 10],
      'the token of the activation',
    );
    assert.equal((await b.status()).gates.find((g) => g.singleton === DB)?.token, true);
    const report = await b.poll();
    assert.deepEqual(report.active, [DB]);
    assert.ok(report.appliedSeq >= 10, `appliedSeq ${report.appliedSeq}`);

    for (const seq of [10, 9]) {
      answer = await b.command({ ...base, replicas: 0, seq });
      assert.equal(answer.body.applied, false);
      assert.match(answer.body.reason!, /stale command/);
    }
    assert.equal(await replicasOf(sides.b), 1, 'a stale stop changed nothing');

    // The Deployment of apps/cache does not exist: taken by the agent, not carried out.
    answer = await b.command({ ...base, singleton: 'apps/cache', replicas: 1, seq: 11 });
    assert.equal(answer.status, 502);
    assert.equal(answer.body.applied, true);
    assert.match(answer.body.error!, /apps\/cache.*does not exist/);
    const after = await b.poll();
    assert.deepEqual([after.appliedSeq, after.active], [11, [DB]], 'a missing Deployment is inactive');

    assert.equal(existsSync(tokenOf(sides.b)), true, 'a stale stop leaves the token');
    answer = await b.command({ ...base, replicas: 0, seq: 12 });
    assert.deepEqual(answer.body, { applied: true });
    assert.equal(await replicasOf(sides.b), 0);
    assert.equal(existsSync(tokenOf(sides.b)), false, 'the token goes with the deactivation');
    await until('b reports db inactive once its pod is gone', async () =>
      (await b.poll()).active.length === 0 ? true : undefined,
    );
  });

  it('counts a pod that is not finished as running, a terminating one too', async () => {
    const b = agentOf('b');
    // Never scheduled (no such node) and kept by a finalizer once deleted: a pod of db no kubelet touches.
    await sides.b.core.createNamespacedPod({
      namespace: 'apps',
      body: {
        metadata: { name: 'db-stray', labels: { app: 'db' }, finalizers: ['cx.dev/test-hold'] },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': 'nowhere' },
          containers: [{ name: 'db', image: 'registry.example/db:1' }],
        },
      },
    });
    assert.deepEqual((await b.poll()).active, [DB], 'a Pending pod');
    await sides.b.core.deleteNamespacedPod({ namespace: 'apps', name: 'db-stray' });
    const pod = await sides.b.core.readNamespacedPod({ namespace: 'apps', name: 'db-stray' });
    assert.ok(pod.metadata?.deletionTimestamp, 'terminating');
    assert.deepEqual((await b.poll()).active, [DB], 'a terminating pod');
    await sides.b.core.patchNamespacedPod(
      { namespace: 'apps', name: 'db-stray', body: [{ op: 'remove', path: '/metadata/finalizers' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    await until('the stray pod gone', async () => ((await podsOf(sides.b)) === 0 ? true : undefined));
    assert.deepEqual((await b.poll()).active, []);
  });

  it('stops seeing a dead peer after peerLossTimeoutMs, and keeps what the witness started while the witness is heard', async () => {
    const a = agentOf('a');
    const answer = await a.command({ side: 'a', singleton: DB, replicas: 1, boot: 1, seq: 20, issuedAt: Date.now() });
    assert.deepEqual(answer.body, { applied: true });
    assert.equal(existsSync(tokenOf(sides.a)), true);
    assert.equal((await a.poll()).seesPeer, true);
    const killedAt = Date.now();
    await agentOf('b').stop('SIGKILL');
    sides.b.agent = undefined;
    await until('a no longer sees b', async () => ((await a.poll()).seesPeer ? undefined : true), 10_000);
    const lostAfter = Date.now() - killedAt;
    // The last heartbeat may have come up to one interval before the kill.
    assert.ok(lostAfter >= spec.peerLossTimeoutMs - 2 * INTERVAL_MS, `lost after ${lostAfter} ms`);
    assert.ok(lostAfter <= spec.peerLossTimeoutMs + 2_000, `lost after ${lostAfter} ms`);
    const status = await a.status();
    assert.equal(status.state, 'connected', 'the witness is heard');
    assert.equal(await replicasOf(sides.a), 1, 'nothing stopped');
  });

  it('stops its singletons once it has heard neither its peer nor the witness for isolationTimeoutMs', async () => {
    const a = agentOf('a');
    await a.poll();
    const lastPoll = Date.now();
    await until('a isolated', async () => ((await a.status()).state === 'isolated' ? true : undefined), 15_000);
    const isolatedAfter = Date.now() - lastPoll;
    assert.ok(isolatedAfter >= spec.isolationTimeoutMs - INTERVAL_MS, `isolated after ${isolatedAfter} ms`);
    await until('db scaled to 0 on a', async () => ((await replicasOf(sides.a)) === 0 ? true : undefined), 5_000);
    assert.equal(existsSync(tokenOf(sides.a)), false, 'the token went before the stop');
    assert.match((await a.status()).message, /cannot prove it is the survivor/);
  });

  it('starts again as a new boot, which removes the tokens of the old one first and refuses its commands', async () => {
    // The agent restarted without a reboot: its gate directory still holds a token of boot 1.
    writeFileSync(tokenOf(sides.b), JSON.stringify({ pair: 'pair-test', side: 'b', boot: 1, seq: 10 }));
    const b = (sides.b.agent = await Agent.start(sides.b.configFile, sides.b.logFile));
    assert.equal(b.boot, 2);
    assert.equal(existsSync(tokenOf(sides.b)), false, 'gone before the agent listens');
    const boot2 = readFileSync(sides.b.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string });
    const started = boot2.findIndex((line) => /starts \(boot 2\)/.test(line.msg));
    assert.match(
      boot2[started + 1]?.msg ?? '',
      /removed the gate tokens of an earlier boot from .*: apps_db/,
      'the first thing boot 2 does',
    );
    assert.equal(readFileSync(join(sides.b.stateDir, 'boot'), 'utf8').trim(), '2');
    const answer = await b.command({ side: 'b', singleton: DB, replicas: 1, boot: 1, seq: 30, issuedAt: Date.now() });
    assert.equal(answer.body.applied, false);
    assert.match(answer.body.reason!, /boot 1, this is boot 2/);
    const a = agentOf('a');
    await until('a sees b again', async () => ((await a.poll()).seesPeer ? true : undefined), 10_000);
    // The status is the loop's last decision: the next turn takes a out of isolation.
    await until('a connected again', async () => ((await a.status()).state === 'connected' ? true : undefined), 5_000);
    assert.equal((await b.poll()).boot, 2);
  });

  it('reports the side not ready while its node is not Ready', async () => {
    const a = agentOf('a');
    assert.equal((await a.poll()).ready, true);
    await kwok.setPower(sides.a.clusterId, sides.a.machineId, 'off');
    await until('a not ready', async () => ((await a.poll()).ready ? undefined : true), 10_000);
    await kwok.setPower(sides.a.clusterId, sides.a.machineId, 'on');
    await until('a ready again', async () => ((await a.poll()).ready ? true : undefined), 60_000);
  });

  it('reports a singleton Deployment it may not patch, and gates it once the documented permissions are granted', async () => {
    const s = sides.b;
    const rbac = new KubeConfig();
    rbac.loadFromFile(join(workDir, 'b.kubeconfig'));
    const roles = rbac.makeApiClient(RbacAuthorizationV1Api);
    await s.core.createNamespace({ body: { metadata: { name: 'locked' } } });
    await s.apps.createNamespacedDeployment({
      namespace: 'locked',
      body: {
        metadata: { name: 'app' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'app' } },
          template: {
            metadata: { labels: { app: 'app' } },
            spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
          },
        },
      },
    });
    // The documented permissions, but patch on deployments.
    const rules = (patch: boolean) => [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: patch ? ['get', 'patch'] : ['get'] },
      { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ];
    await roles.createClusterRole({ body: { metadata: { name: 'cx-pair-agent' }, rules: rules(false) } });
    await roles.createClusterRoleBinding({
      body: {
        metadata: { name: 'cx-pair-agent' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cx-pair-agent' },
        subjects: [{ kind: 'User', name: 'cx-pair-agent-limited', apiGroup: 'rbac.authorization.k8s.io' }],
      },
    });
    const cert = await issueCertificate(s.pki.ca, {
      commonName: 'cx-pair-agent-limited',
      organizations: [],
      usage: 'client',
      validitySeconds: 3_600,
    });
    const limitedFile = join(workDir, 'limited.kubeconfig');
    writeFileSync(
      limitedFile,
      renderKubeconfig({
        clusterName: s.clusterId,
        server: s.server,
        caPem: s.pki.ca.certPem,
        user: 'cx-pair-agent-limited',
        clientCertPem: cert.certPem,
        clientKeyPem: cert.keyPem,
      }),
    );
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(limitedFile);

    const lockedSpec: PairSpec = { ...spec, singletons: [{ namespace: 'locked', name: 'app', preferredSide: 'b' }] };
    const gateDir = join(workDir, 'gate-limited');
    const clock = { offset: 0 };
    const runner = new AgentRunner({
      spec: lockedSpec,
      side: 'b',
      boot: 1,
      cluster: new SideCluster({
        kubeconfig,
        singletons: lockedSpec.singletons,
        gate: { dir: gateDir, image: GATE_IMAGE },
      }),
      gate: new GateTokens(gateDir),
      peerUrl: 'http://127.0.0.1:9',
      token: TOKEN,
      intervalMs: INTERVAL_MS,
      logger: pino({ level: 'silent' }),
      clock: () => Date.now() + clock.offset,
    });
    await runner.begin();
    let status = runner.status();
    assert.equal(status.ready, true, 'everything else it needs it may do');
    assert.equal(status.gates[0]!.inPlace, false);
    assert.match(
      status.gates[0]!.problem!,
      /no init container cx-pair-gate, and the agent cannot add it: .*HTTP 403.*cannot patch resource "deployments".*needs patch on deployments in namespace locked/,
    );

    await roles.replaceClusterRole({
      name: 'cx-pair-agent',
      body: { metadata: { name: 'cx-pair-agent' }, rules: rules(true) },
    });
    clock.offset += GATE_RETRY_MS;
    await until(
      'the gate of locked/app in place',
      async () => {
        await runner.step();
        await runner.ensureGates();
        return runner.status().gates[0]!.inPlace ? true : undefined;
      },
      15_000,
    );
    status = runner.status();
    assert.deepEqual(status.gates, [{ singleton: 'locked/app', inPlace: true, token: false }]);
    const app = await s.apps.readNamespacedDeployment({ namespace: 'locked', name: 'app' });
    assert.equal(app.spec?.template.spec?.initContainers?.[0]?.name, 'cx-pair-gate');
    await runner.stop();
  });

  it('stops cleanly on SIGTERM', async () => {
    for (const side of ['a', 'b'] as const) {
      assert.equal(await agentOf(side).stop('SIGTERM'), 0);
      sides[side].agent = undefined;
    }
    assert.match(readFileSync(sides.a.logFile, 'utf8'), /SIGTERM: stopping/);
  });
});
