/**
 * Queue names, payloads and deterministic job ids shared by wfm (producer of sddc operations,
 * consumer of workflow steps) and sddc (consumer of operations). A job id is derived from the
 * business identity of the work, so that a retried or duplicated enqueue never does it twice.
 * BullMQ refuses custom ids containing ':', hence the dots.
 */

import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { MachineSpec, PowerAction } from '@cx/sddc-contract';

export const WORKFLOW_STEP_QUEUE = 'workflow-steps';
export const SDDC_OPERATION_QUEUE = 'sddc-operations';
/** Unhealthy nodes sddc's health monitor found; wfm starts a remediation workflow for each. */
export const REMEDIATION_QUEUE = 'node-remediations';

/** One step of one workflow run; `generation` grows each time the run is retried. */
export interface WorkflowStepJob {
  runId: string;
  stepIndex: number;
  generation: number;
}

export function workflowStepJobId(job: WorkflowStepJob): string {
  return `${job.runId}.${job.stepIndex}.${job.generation}`;
}

/** A pool's labels and taints (as in MachineSpec). */
export interface PoolScheduling {
  labels: Record<string, string>;
  taints: NonNullable<MachineSpec['taints']>;
}

/** Every kind of sddc operation: one operation, or one for each of a step's machines in a single job. */
export type SddcOperation = OneOperation | PerMachineOperation;

/**
 * One operation for each of a workflow step's machines, run by a single job (wfm's `perMachine`):
 * a fan-out over N machines costs one job and one wake-up of its step, not N. Its answer is the
 * items' answers in order. Every item is idempotent (ensure, delete, cordon, drain, scheduling),
 * so a retry of the job runs them all again. It fails with the first failure of an item, its
 * `machineId` among the details, unrecoverably when an item's failure is not retryable.
 */
export interface PerMachineOperation {
  op: 'per-machine';
  provider: string;
  items: Array<{ machineId: string; operation: OneOperation }>;
}

export type OneOperation =
  | { op: 'ensure-machine'; provider: string; spec: MachineSpec }
  | { op: 'delete-machine'; provider: string; clusterId: string; machineId: string }
  | { op: 'list-machines'; provider: string; clusterId: string }
  | { op: 'list-nodes'; provider: string; clusterId: string }
  /** Whether the cluster's provider (with its credential) can create machines from an OS image. */
  | { op: 'check-image'; provider: string; clusterId: string; image: string }
  | { op: 'set-power'; provider: string; clusterId: string; machineId: string; action: PowerAction }
  /** The machine's power state as the provider (or its BMC) reports it now. */
  | { op: 'power-state'; provider: string; clusterId: string; machineId: string }
  /**
   * With `outOfService`: puts the taint `node.kubernetes.io/out-of-service=nodeshutdown:NoExecute`
   * on a fenced node and deletes the pods bound to it at once, so that their controllers start them
   * elsewhere and volumes detach. Without: removes the taint. Only ever after a verified power-off.
   */
  | { op: 'mark-out-of-service'; provider: string; clusterId: string; nodeName: string; outOfService: boolean }
  /** Binds cx's roles to Kubernetes roles inside the tenant cluster (RBAC), through its API. */
  | { op: 'configure-access'; provider: string; clusterId: string }
  /** Marks a node unschedulable (or schedulable again with `unschedulable: false`). */
  | { op: 'cordon-node'; provider: string; clusterId: string; nodeName: string; unschedulable: boolean }
  /** Puts a pool's labels and taints on a node, taking off those the pool had before (`previous`) and no longer has. */
  | {
      op: 'set-node-scheduling';
      provider: string;
      clusterId: string;
      nodeName: string;
      scheduling: PoolScheduling;
      previous: PoolScheduling;
    }
  /** One pass of a PDB-aware drain: evictions, then what is left and which budgets refused. */
  | { op: 'drain-node'; provider: string; clusterId: string; nodeName: string }
  /**
   * Checks a credential (a `ProviderCredential`, sealed with `sealForTransit`) against its endpoint
   * before sm stores it. Run on demand, not by a workflow; the job is removed once finished.
   */
  | { op: 'validate-credential'; provider: string; sealed: string }
  /** Checks a bare-metal host's BMC access (sealed `BmcAccess`) before sm registers the host. */
  | { op: 'validate-bmc'; provider: string; sealed: string }
  /** The tenant nodes whose labels match every pair of `selector`, with their addresses. */
  | { op: 'match-nodes'; provider: string; clusterId: string; selector: Record<string, string> }
  /** Renders an ha-config's keepalived configuration per eligible node and applies it (ConfigMap + DaemonSet) in the tenant cluster. */
  | { op: 'apply-ha-config'; provider: string; clusterId: string; haConfig: HaConfigPayload }
  /** Removes what `apply-ha-config` put in the tenant cluster; removing nothing is a success. */
  | { op: 'remove-ha-config'; provider: string; clusterId: string; name: string }
  /**
   * Renders an addon of the catalog (@cx/k8s) and applies it in the tenant cluster with server-side
   * apply (field manager `cx`), pruning objects of the addon it no longer renders.
   */
  | { op: 'apply-addon'; provider: string; clusterId: string; addon: AddonPayload }
  /**
   * Deletes every object labelled with the addon (of the kinds it renders); deleting nothing is a
   * success. With `phase: 'first'`, only those of the kinds the addon removes first (`removeFirst`),
   * and answers which of them are still there, each with what holds it (deleting again is harmless).
   */
  | { op: 'remove-addon'; provider: string; clusterId: string; addon: AddonPayload; phase?: 'first' }
  /** The addon's Deployments and DaemonSets with their readiness, and (with `objects`) which of its objects remain. */
  | { op: 'addon-status'; provider: string; clusterId: string; addon: AddonPayload; objects: boolean }
  /** A short-lived token (TokenRequest) of the dashboard addon's service account for a cx role. */
  | { op: 'dashboard-token'; provider: string; clusterId: string; role: 'viewer' | 'operator' | 'admin' }
  /**
   * Takes a snapshot of the cluster's etcd (provider rule O6) of at most `maxBytes` and uploads it
   * to sm as snapshot `snapshotId` of the run `workflowId`; answers only its size, revision and
   * SHA-256 (the bytes never travel through Redis).
   */
  | {
      op: 'etcd-snapshot';
      provider: string;
      clusterId: string;
      snapshotId: string;
      workflowId: string;
      maxBytes: number;
    }
  /** Reads snapshot `snapshotId` from sm, checks its SHA-256, and restores the cluster's etcd from it (rule O6). */
  | { op: 'etcd-restore'; provider: string; clusterId: string; snapshotId: string };

/** What an `etcd-snapshot` operation answers (and its workflow step shows). */
export interface EtcdSnapshotResult {
  snapshotId: string;
  sizeBytes: number;
  revision: number;
  sha256: string;
}

/**
 * An addon as sddc renders it. Its settings may hold secrets (a log-forwarding token), so they cross
 * Redis sealed with `sealForTransit`; the cluster fields are those the catalog's renderers read.
 */
export interface AddonPayload {
  name: string;
  version: string;
  sealedSettings: string;
  cluster: { id: string; name: string; provider: string; kubernetesVersion: string };
}

/** An ha-config as sddc applies it (the public shape's fields that matter in the tenant cluster). */
export interface HaConfigPayload {
  name: string;
  /** Ranges in the seeds' syntax; sddc expands them. */
  virtualIps: string;
  selector: Record<string, string>;
  watchPort: number;
  interface: string;
  unicast: boolean;
  vrrpIdOffset: number;
  preempt: boolean;
  /** keepalived timing profile (`KEEPALIVED_PROFILES` of @cx/k8s). */
  profile: 'default' | 'fast';
}

/**
 * Redis counter wfm's cached cluster reads are validated against; whoever changes a cluster in sm
 * without going through wfm (sddc's health monitor) bumps it too.
 */
export function clusterReadVersionKey(prefix: string): string {
  return `${prefix}:cluster-read-version`;
}

/** Key of the hash where each sddc replica advertises the providers it serves (read by wfm). */
export function providersKey(prefix: string): string {
  return `${prefix}:providers`;
}

/** A node the health monitor found unhealthy beyond its policy's timeout. */
export interface RemediationRequest {
  clusterId: string;
  machineId: string;
  machineName: string;
  /** What the monitor saw, e.g. "node NotReady for 42 s (Kubelet stopped posting node status)". */
  reason: string;
  /** When the node became unhealthy (ISO time): one remediation per machine per episode. */
  since: string;
}

/** One job per machine and unhealthy episode, so that every scan of the monitor finds the same one. */
export function remediationJobId(request: RemediationRequest): string {
  return `remediate.${request.clusterId}.${request.machineId}.${Date.parse(request.since)}`;
}

/** ha-configs whose matching nodes differ from those they were last applied to; wfm applies each again. */
export const HA_CONFIG_SYNC_QUEUE = 'ha-config-syncs';

/** An ha-config to apply again, as sddc's health monitor found it. */
export interface HaConfigSyncRequest {
  clusterId: string;
  haConfigId: string;
  haConfigName: string;
  /** The workflow of the apply the nodes were compared with; null when no apply was recorded. */
  appliedBy: string | null;
  /** The nodes that match the ha-config's selector now, sorted by name, with their InternalIP. */
  nodes: Array<{ name: string; address: string }>;
  /** What changed, e.g. "ha-edge-3 joined; ha-edge-1 left". */
  reason: string;
}

/**
 * One job per ha-config, last apply and set of matching nodes: every scan of the monitor that sees
 * the same change finds the same job, while a change after the next apply is a new one.
 */
export function haConfigSyncJobId(request: HaConfigSyncRequest): string {
  const nodes = createHash('sha256')
    .update(JSON.stringify(request.nodes.map((n) => [n.name, n.address])))
    .digest('hex')
    .slice(0, 16);
  return `ha-config-sync.${request.haConfigId}.${request.appliedBy ?? 'never'}.${nodes}`;
}

/**
 * Retries of an ha-config re-apply whose cluster is busy with another workflow (or not Ready):
 * 1 s, 2 s, 4 s … then every 30 s, about 20 minutes in all. A job that runs out is removed, so that
 * the monitor's next look at the cluster can ask again.
 */
export const HA_CONFIG_SYNC_RETRY = { attempts: 45, backoff: { type: 'ha-config-sync' } } as const;

/** The delay before retry `attemptsMade` of an ha-config re-apply (the `ha-config-sync` backoff). */
export function haConfigSyncBackoffMs(attemptsMade: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, attemptsMade - 1));
}

/**
 * Id of an sddc operation started by a workflow step: one per (run, step, generation, subject),
 * where the subject is the machine (or the cluster for cluster-wide operations).
 */
export function sddcOperationJobId(step: WorkflowStepJob, subject: string): string {
  return `${workflowStepJobId(step)}.${subject}`;
}

/** Attempts and backoff of sddc operations failing with a retryable error. */
export const SDDC_OPERATION_RETRY = { attempts: 4, backoff: { type: 'exponential', delay: 500 } } as const;

/** How long finished jobs are kept so that a late duplicate enqueue still finds them. */
export const FINISHED_JOB_RETENTION = { age: 24 * 3600, count: 50_000 } as const;

/**
 * Seals a secret that must cross Redis inside a job payload (a credential being validated): AES-256-GCM
 * under a key derived from the service token every cx service holds, so that Redis, its dumps and
 * its monitors never see it in clear. The jobs carrying it are removed as soon as they finish.
 */
export function sealForTransit(value: unknown, serviceToken: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', transitKey(serviceToken), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join('.');
}

/** Opens what `sealForTransit` sealed; throws when it was sealed with another token or altered. */
export function openFromTransit<T>(sealed: string, serviceToken: string): T {
  const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !body) throw new Error('a sealed payload must have three parts');
  const decipher = createDecipheriv('aes-256-gcm', transitKey(serviceToken), iv);
  decipher.setAuthTag(tag);
  return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as T;
}

function transitKey(serviceToken: string): Buffer {
  return Buffer.from(hkdfSync('sha256', serviceToken, 'cx-transit', 'job payload secrets', 32));
}

/** A failed operation as sddc reports it and wfm reads it back. */
export interface OperationFailure {
  code: string;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

/**
 * How sddc reports a failed operation in the job's failedReason (BullMQ keeps only a message):
 * `CX_CODE: message`, then a line `cx-error: {"retryable":…,"details":…}` so that a provider's
 * `reason`, invalid `fields` and retryability survive the trip. `parseFailedReason` reads it back.
 */
export function formatFailedReason(failure: OperationFailure): string {
  const meta = {
    retryable: failure.retryable,
    ...(failure.details && Object.keys(failure.details).length > 0 ? { details: failure.details } : {}),
  };
  return `${failure.code}: ${failure.message}\n${META_MARK}${JSON.stringify(meta)}`;
}

const META_MARK = 'cx-error: ';

/** Reads `formatFailedReason`'s text; undefined when it has no cx code (a crash outside sddc's handler). */
export function parseFailedReason(
  reason: string,
): (Omit<OperationFailure, 'retryable'> & { retryable?: boolean }) | undefined {
  const match = /^(CX_[A-Z_]+): ([\s\S]*)$/.exec(reason);
  if (!match) return undefined;
  const code = match[1]!;
  const rest = match[2] ?? '';
  const at = rest.lastIndexOf(`\n${META_MARK}`);
  if (at < 0) return { code, message: rest };
  try {
    const meta = JSON.parse(rest.slice(at + META_MARK.length + 1)) as {
      retryable?: boolean;
      details?: Record<string, unknown>;
    };
    return {
      code,
      message: rest.slice(0, at),
      ...(typeof meta.retryable === 'boolean' ? { retryable: meta.retryable } : {}),
      ...(meta.details ? { details: meta.details } : {}),
    };
  } catch {
    return { code, message: rest };
  }
}
