// Benchmark (not a test): create a 3 control-plane + 3 worker cluster on the kwok runtime through
// cx's public API, from POST /clusters to the workflow's Succeeded, against a baseline measured in
// the same run: the same provider work done directly with the kwok provider (bring the control
// plane up, ensure the six machines, wait until the six nodes are Ready), without cx. The share
// inside cx is (cx − baseline) ÷ cx: queueing, workflow steps, SQL, HTTP, polling.
// Needs a build (npx tsc -b) and the Kubernetes peers (npm run peers -- kubernetes).
// Usage: node bench/kwok-create.mjs [--rounds 3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { root } from '../scripts/lib.mjs';
import { PASSWORD, startCx } from './lib.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const ROUNDS = Number(values.rounds);
const TARGET_SHARE = 0.1;

const manifest = execFileSync('bash', ['test/peers/kubernetes.sh', 'build'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();
const binaries = JSON.parse(manifest);
const version = binaries.kubernetesVersions[0];
const { KwokProvider } = await import(join(root, 'packages/providers-kwok/dist/index.js'));
const { createClusterPki } = await import(join(root, 'packages/k8s/dist/index.js'));

async function call(base, token, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function waitWorkflow(base, token, id) {
  for (;;) {
    const run = (await call(base, token, 'GET', `/api/v1/workflows/${id}`)).body;
    if (run.status === 'Succeeded') return;
    if (run.status === 'Failed' || run.status === 'Cancelled')
      throw new Error(`workflow ${id} ${run.status}: ${JSON.stringify(run.error)}`);
    await sleep(20);
  }
}

/** One cluster through cx: POST → Succeeded, then deleted (not timed). */
async function throughCx(base, token, round) {
  const started = performance.now();
  const created = await call(base, token, 'POST', '/api/v1/clusters', {
    name: `bench-${round}`,
    provider: 'kwok',
    kubernetesVersion: version,
    controlPlane: { count: 3 },
    nodePools: [{ name: 'workers', count: 3 }],
  });
  if (created.status !== 202) throw new Error(`create answered ${created.status}: ${JSON.stringify(created.body)}`);
  await waitWorkflow(base, token, created.body.workflow.id);
  const ms = performance.now() - started;
  const run = (await call(base, token, 'GET', `/api/v1/workflows/${created.body.workflow.id}`)).body;
  lastSteps = run.steps.map(
    (s) => `${s.name} ${Date.parse(s.finishedAt) - Date.parse(s.startedAt)} ms (${s.attempts} attempt(s))`,
  );
  lastSteps.unshift(
    `queued before the first step: ${Date.parse(run.steps[0].startedAt) - Date.parse(run.createdAt)} ms`,
  );
  const deleted = await call(base, token, 'DELETE', `/api/v1/clusters/${created.body.cluster.id}`);
  await waitWorkflow(base, token, deleted.body.workflow.id);
  return ms;
}

/** The same provider work without cx: control plane, six machines, six Ready nodes. */
async function direct(round) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cx-bench-kwok-direct-'));
  const provider = new KwokProvider({ dataDir, binaries });
  const clusterId = `direct-${round}-${Date.now()}`;
  const pki = await createClusterPki(clusterId);
  const context = {
    bootstrap: async () => ({
      clusterName: clusterId,
      kubernetesVersion: version,
      pki,
      trustedCaPems: [pki.ca.certPem],
    }),
  };
  const started = performance.now();
  const machines = [0, 1, 2]
    .map((i) => ({
      machineId: `${clusterId}-cp-${i}`,
      clusterId,
      name: `${clusterId}-cp-${i}`,
      role: 'control-plane',
      pool: 'control-plane',
      kubernetesVersion: version,
    }))
    .concat(
      [0, 1, 2].map((i) => ({
        machineId: `${clusterId}-w-${i}`,
        clusterId,
        name: `${clusterId}-w-${i}`,
        role: 'worker',
        pool: 'workers',
        kubernetesVersion: version,
      })),
    );
  await Promise.all(machines.map((m) => provider.ensureMachine(m, context)));
  for (;;) {
    const nodes = await provider.listNodes(clusterId);
    if (nodes.length === 6 && nodes.every((n) => n.status === 'Ready')) break;
    await sleep(20);
  }
  const ms = performance.now() - started;
  for (const m of machines) await provider.deleteMachine(clusterId, m.machineId);
  rmSync(dataDir, { recursive: true, force: true });
  return ms;
}

let lastSteps = [];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const binariesDir = mkdtempSync(join(tmpdir(), 'cx-bench-kwok-'));
const binariesFile = join(binariesDir, 'binaries.json');
writeFileSync(binariesFile, manifest);
const cx = await startCx({ env: { CX_KWOK_BINARIES_FILE: binariesFile } });
try {
  const token = (
    await call(cx.base, undefined, 'POST', '/api/v1/auth/login', { username: 'admin', password: PASSWORD })
  ).body.token;
  await throughCx(cx.base, token, 'warmup');
  await direct('warmup');
  const viaCx = [];
  const baseline = [];
  for (let round = 0; round < ROUNDS; round++) {
    baseline.push(await direct(round));
    viaCx.push(await throughCx(cx.base, token, round));
  }
  const cxMs = median(viaCx);
  const rawMs = median(baseline);
  const share = (cxMs - rawMs) / cxMs;
  console.log(
    `\nkwok: create 3 control-plane + 3 worker cluster, Kubernetes ${version}, ${ROUNDS} rounds (${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version})\n`,
  );
  console.log('| path | median ms | rounds ms |');
  console.log('|---|---|---|');
  console.log(
    `| through cx (POST → workflow Succeeded) | ${cxMs.toFixed(0)} | ${viaCx.map((x) => x.toFixed(0)).join(', ')} |`,
  );
  console.log(
    `| baseline: kwok provider directly | ${rawMs.toFixed(0)} | ${baseline.map((x) => x.toFixed(0)).join(', ')} |`,
  );
  console.log(`\nsteps of the last run through cx: ${lastSteps.join('; ')}`);
  console.log(
    `\nshare inside cx: ${(share * 100).toFixed(1)} % (target ≤ ${TARGET_SHARE * 100} %): ${share <= TARGET_SHARE ? 'met' : 'NOT met'}`,
  );
} finally {
  await cx.stop();
  rmSync(binariesDir, { recursive: true, force: true });
}
