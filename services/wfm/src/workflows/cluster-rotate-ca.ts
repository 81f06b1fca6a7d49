/**
 * Rotate a cluster's CA in two phases, so that nothing breaks mid-way: first a new CA signs and both
 * are trusted (the control plane is rolled onto the bundle, kubeconfigs carry both); then the old
 * CA is dropped and the control plane rolled again, after which whatever the old CA signed (older
 * kubeconfigs) stops working. The service-account key pair and the front-proxy CA rotate along, in
 * the same phases (sm's `beginCaRotation` and `finishCaRotation`): service-account tokens signed
 * before the rotation are refused at the end. The etcd CA stays: rotating it needs etcd's peers re-keyed.
 */
import type { MachineStatus } from '@cx/sddc-contract';
import { done, wait, type StepContext, type StepResult, type WorkflowDefinition } from '../engine.js';
import { markReady } from './cluster-create.js';
import { defineWorkflow, type NoInput } from './define.js';
import { POLL_MS, machineSpec, perMachine } from './machines.js';

export const ROTATE_CA = 'cluster.rotate-ca';

/**
 * Re-ensures every control-plane machine, which makes the provider pick up the cluster's current
 * PKI; `state` says what they have once done ("trust both CAs").
 */
async function rollControlPlane(ctx: StepContext, phase: string, state: string): Promise<StepResult> {
  const { cluster, machines } = ctx;
  const controlPlane = machines.filter((m) => m.role === 'control-plane');
  const fan = await perMachine<MachineStatus>(
    ctx,
    controlPlane,
    (m) => ({ op: 'ensure-machine', provider: cluster.provider, spec: machineSpec(cluster, m) }),
    phase,
  );
  if (fan.failed.length > 0) throw fan.failed[0]!.error;
  if (fan.pending > 0)
    return wait(POLL_MS, `${fan.results.size}/${controlPlane.length} control-plane machines ${state}`);
  return done(
    { controlPlane: controlPlane.map((m) => m.name) },
    [],
    `${controlPlane.length}/${controlPlane.length} control-plane machines ${state}`,
  );
}

export const rotateCaWorkflow: WorkflowDefinition = defineWorkflow<NoInput>({
  name: ROTATE_CA,
  version: 1,
  steps: [
    { name: 'add-new-ca', run: async () => done(null, [{ kind: 'beginCaRotation' }]) },
    { name: 'trust-both-cas', run: (ctx) => rollControlPlane(ctx, 'both', 'trust both CAs') },
    { name: 'drop-old-ca', run: async () => done(null, [{ kind: 'finishCaRotation' }]) },
    { name: 'trust-new-ca-only', run: (ctx) => rollControlPlane(ctx, 'new', 'trust the new CA only') },
    markReady,
  ],
});

export const ROTATE_CERTIFICATES = 'cluster.rotate-certificates';

/**
 * Issue the control plane's serving and client certificates again (kube-apiserver's serving
 * certificate, the controller manager's and scheduler's client certificates), under the same CAs:
 * nothing that trusts the CAs notices, kubeconfigs keep working.
 */
export const rotateCertificatesWorkflow: WorkflowDefinition = defineWorkflow<NoInput>({
  name: ROTATE_CERTIFICATES,
  version: 1,
  steps: [
    { name: 'issue-certificates', run: async () => done(null, [{ kind: 'rotateCertificates' }]) },
    {
      name: 'roll-control-plane',
      run: (ctx) => rollControlPlane(ctx, 'certificates', 'serve and sign in with new certificates'),
    },
    markReady,
  ],
});
