/**
 * What the agent reads from and does to its side's Kubernetes API. The witness takes an
 * "inactive" in a report as the proof that a singleton runs nowhere on this side, so the reading is
 * conservative: a singleton is active while anything could still run or start one of its pods.
 */
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  Observable,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
  type V1Deployment,
  type V1LabelSelector,
  type V1Node,
  type V1Pod,
  type V1ReplicaSet,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { type SingletonSpec, singletonKey } from '@cx/pair';
import { type GateConfig, gatePatch, gateProblem } from './gate-template.js';

/** One read of the side, taken in full (any failed call fails the whole read). */
export interface SideRead {
  /** Keys of the singletons that are active on the side. */
  active: Set<string>;
  /** Whether the side's node is Ready (its kubelet runs). */
  ready: boolean;
  /** Why the side is not ready, when it is not. */
  notReadyReason?: string;
  /** Keys of the singletons whose Deployment wants replicas (`spec.replicas` > 0): what a stop has to scale down. */
  wanted: Set<string>;
  /** Keys of the singletons whose Deployment does not exist (counted inactive). */
  missing: string[];
  /** Singletons whose Deployment exists without the start gate (or with another one), and why. */
  ungated: Map<string, string>;
}

/** What {@link SideCluster.ensureGate} found or did. */
export type GateOutcome =
  | { outcome: 'in-place' }
  | { outcome: 'missing' }
  /** `replaced` says what was wrong; `wanted`: the Deployment wants replicas, so a running pod is replaced. */
  | { outcome: 'patched'; replaced: string; wanted: boolean };

/** The field manager of the agent's writes to a Deployment (its pod template's gate). */
export const FIELD_MANAGER = 'cx-pair-agent';

/** A Kubernetes call that failed; `status` is the HTTP status when the API answered. */
export class KubernetesError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'KubernetesError';
  }
}

/**
 * A read of the side (all its calls together) not done within this is abandoned and counts as
 * failed: the witness waits at most 2 s for a poll, and a report saying "not ready, everything may
 * run" is worth more to it than no answer.
 */
export const READ_TIMEOUT_MS = 1_500;

/**
 * A scale not answered within this is abandoned. Longer than a read: an abandoned activation may
 * still land, so it counts as running for a long while (see UNSETTLED_WRITE_MS); waiting for the
 * answer is cheaper.
 */
export const WRITE_TIMEOUT_MS = 5_000;

/** Reads and patches of a Deployment that changes under the gate's patch, before giving up for now. */
const GATE_ATTEMPTS = 3;

export interface SideClusterOptions {
  kubeconfig: KubeConfig;
  singletons: readonly SingletonSpec[];
  /** The start gate every singleton's pod template must carry. */
  gate: GateConfig;
  /** The node of the side; absent: the cluster's only node. */
  nodeName?: string;
  readTimeoutMs?: number;
  writeTimeoutMs?: number;
}

export class SideCluster {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly readTimeoutMs: number;
  private readonly writeTimeoutMs: number;

  constructor(private readonly options: SideClusterOptions) {
    this.core = options.kubeconfig.makeApiClient(CoreV1Api);
    this.apps = options.kubeconfig.makeApiClient(AppsV1Api);
    this.readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS;
    this.writeTimeoutMs = options.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
  }

  /** Reads the node and every singleton; throws {@link KubernetesError} when any of it cannot be read in time. */
  async read(): Promise<SideRead> {
    const deadline = Object.assign(AbortSignal.timeout(this.readTimeoutMs), { afterMs: this.readTimeoutMs });
    const [node, singletons] = await Promise.all([
      this.readiness(deadline),
      Promise.all(
        this.options.singletons.map(async (singleton) => ({
          key: singletonKey(singleton),
          ...(await this.singletonState(singleton, deadline)),
        })),
      ),
    ]);
    return {
      active: new Set(singletons.filter((s) => s.state !== 'inactive' && s.state !== 'missing').map((s) => s.key)),
      wanted: new Set(singletons.filter((s) => s.state === 'wanted').map((s) => s.key)),
      ready: node.ready,
      ...(node.reason !== undefined ? { notReadyReason: node.reason } : {}),
      missing: singletons.filter((s) => s.state === 'missing').map((s) => s.key),
      ungated: new Map(
        singletons.flatMap((s) => (s.gateProblem !== undefined ? [[s.key, s.gateProblem] as const] : [])),
      ),
    };
  }

  /**
   * Puts the start gate into the singleton's pod template when it is not there as configured
   * (a JSON Patch, field manager `cx-pair-agent`, applied only to the Deployment as read here).
   * Changing the template rolls the Deployment's pods once. Throws {@link KubernetesError} when
   * the Deployment cannot be read or patched (403: the agent may not patch deployments).
   */
  async ensureGate(singleton: SingletonSpec): Promise<GateOutcome> {
    const { namespace, name } = singleton;
    const key = singletonKey(singleton);
    const deadline = Object.assign(AbortSignal.timeout(this.writeTimeoutMs), { afterMs: this.writeTimeoutMs });
    for (let attempt = 1; ; attempt += 1) {
      let deployment: V1Deployment;
      try {
        deployment = await this.call(`read Deployment ${key}`, deadline, (options) =>
          this.apps.readNamespacedDeployment({ namespace, name }, options),
        );
      } catch (error) {
        if (error instanceof KubernetesError && error.status === 404) return { outcome: 'missing' };
        throw error;
      }
      const problem = gateProblem(deployment, singleton, this.options.gate);
      if (problem === undefined) return { outcome: 'in-place' };
      try {
        await this.call(`add the start gate to Deployment ${key}`, deadline, (options) =>
          this.apps.patchNamespacedDeployment(
            { namespace, name, body: gatePatch(deployment, singleton, this.options.gate), fieldManager: FIELD_MANAGER },
            setHeaderOptions('Content-Type', PatchStrategy.JsonPatch, options),
          ),
        );
      } catch (error) {
        if (error instanceof KubernetesError && error.status === 404) return { outcome: 'missing' };
        // 422: the patch's test of the resourceVersion failed (the Deployment changed since it was read): read it again.
        if (
          error instanceof KubernetesError &&
          (error.status === 422 || error.status === 409) &&
          attempt < GATE_ATTEMPTS
        )
          continue;
        throw error;
      }
      return { outcome: 'patched', replaced: problem, wanted: (deployment.spec?.replicas ?? 1) > 0 };
    }
  }

  /**
   * Scales the singleton's Deployment through its scale subresource. A Deployment that does not
   * exist is already stopped (`'missing'`); it cannot be started, which is an error.
   */
  async scale(singleton: SingletonSpec, replicas: 0 | 1): Promise<'scaled' | 'missing'> {
    const { namespace, name } = singleton;
    try {
      await this.call(
        `scale ${singletonKey(singleton)} to ${replicas}`,
        Object.assign(AbortSignal.timeout(this.writeTimeoutMs), { afterMs: this.writeTimeoutMs }),
        (options) =>
          this.apps.patchNamespacedDeploymentScale(
            { namespace, name, body: { spec: { replicas } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options),
          ),
      );
      return 'scaled';
    } catch (error) {
      if (error instanceof KubernetesError && error.status === 404) {
        if (replicas === 0) return 'missing';
        throw new KubernetesError(
          `cannot start ${singletonKey(singleton)}: its Deployment does not exist on this side`,
          404,
          { cause: error },
        );
      }
      throw error;
    }
  }

  private async readiness(deadline: Deadline): Promise<{ ready: boolean; reason?: string }> {
    let node: V1Node;
    if (this.options.nodeName !== undefined) {
      const name = this.options.nodeName;
      node = await this.call(`read node ${name}`, deadline, (options) => this.core.readNode({ name }, options));
    } else {
      const nodes = (await this.call('list the nodes', deadline, (options) => this.core.listNode({}, options))).items;
      if (nodes.length !== 1) {
        return {
          ready: false,
          reason: `the cluster has ${nodes.length} nodes, not one: set nodeName to the side's node`,
        };
      }
      node = nodes[0]!;
    }
    const condition = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (condition?.status === 'True') return { ready: true };
    return {
      ready: false,
      reason: `node ${node.metadata?.name ?? '?'} is not Ready (${condition ? `${condition.status}: ${condition.reason ?? ''} ${condition.message ?? ''}`.trim() : 'no Ready condition'})`,
    };
  }

  /**
   * Active while replicas are wanted (`'wanted'`, whether or not its pods wait in the start gate:
   * a pod blocked in an init container is still a pod, and it starts the moment a token appears), while a ReplicaSet of it may still make a pod (replicas
   * wanted or counted, or a change its controller has not seen yet: a Deployment just scaled to 0
   * can have a ReplicaSet about to create one), or while any pod of it is not Succeeded or Failed
   * (a terminating pod counts: it may still run).
   */
  private async singletonState(
    singleton: SingletonSpec,
    deadline: Deadline,
  ): Promise<{ state: 'wanted' | 'active' | 'inactive' | 'missing'; gateProblem?: string }> {
    const { namespace, name } = singleton;
    let deployment: V1Deployment;
    try {
      deployment = await this.call(`read Deployment ${singletonKey(singleton)}`, deadline, (options) =>
        this.apps.readNamespacedDeployment({ namespace, name }, options),
      );
    } catch (error) {
      if (error instanceof KubernetesError && error.status === 404) return { state: 'missing' };
      throw error;
    }
    const problem = gateProblem(deployment, singleton, this.options.gate);
    const gate = problem !== undefined ? { gateProblem: problem } : {};
    // The API server defaults replicas to 1; a Deployment without it is read as running.
    if ((deployment.spec?.replicas ?? 1) > 0) return { state: 'wanted', ...gate };
    const labelSelector = selectorString(deployment.spec?.selector);
    const [replicaSets, pods] = await Promise.all([
      this.call(`list the ReplicaSets of ${singletonKey(singleton)}`, deadline, (options) =>
        this.apps.listNamespacedReplicaSet({ namespace, labelSelector }, options),
      ),
      this.call(`list the pods of ${singletonKey(singleton)}`, deadline, (options) =>
        this.core.listNamespacedPod({ namespace, labelSelector }, options),
      ),
    ]);
    if (replicaSets.items.some(mayMakePods) || pods.items.some(mayRun)) return { state: 'active', ...gate };
    return { state: 'inactive', ...gate };
  }

  /** One API call, abandoned (aborted) at `deadline`; failures become {@link KubernetesError}. */
  private async call<T>(
    what: string,
    deadline: Deadline,
    work: (options: ReturnType<typeof abortOn>) => Promise<T>,
  ): Promise<T> {
    try {
      return await work(abortOn(deadline));
    } catch (error) {
      throw asKubernetesError(what, error, deadline.aborted ? deadline.afterMs : undefined);
    }
  }
}

/** An abort signal that says after how long it fires. */
type Deadline = AbortSignal & { afterMs: number };

function mayMakePods(replicaSet: V1ReplicaSet): boolean {
  const generation = replicaSet.metadata?.generation ?? 0;
  return (
    (replicaSet.spec?.replicas ?? 1) > 0 ||
    (replicaSet.status?.replicas ?? 0) > 0 ||
    (replicaSet.status?.observedGeneration ?? 0) < generation
  );
}

function mayRun(pod: V1Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/**
 * A label selector as the list calls take it (`app=db,tier in (a,b)`). An empty one would select
 * every pod of the namespace, which is still conservative (apps/v1 refuses it anyway).
 */
export function selectorString(selector: V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector?.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    switch (expression.operator) {
      case 'In':
        parts.push(`${expression.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${expression.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(expression.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${expression.key}`);
        break;
      default:
        throw new KubernetesError(`unknown label selector operator ${JSON.stringify(expression.operator)}`, undefined);
    }
  }
  return parts.join(',');
}

/** Request options that abort the call when `signal` does. */
function abortOn(signal: AbortSignal): {
  middleware: Array<{
    pre: (context: RequestContext) => Observable<RequestContext>;
    post: (context: ResponseContext) => Observable<ResponseContext>;
  }>;
  middlewareMergeStrategy: 'append';
} {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (context) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

function asKubernetesError(what: string, error: unknown, timedOutAfterMs: number | undefined): KubernetesError {
  const e = error as { code?: unknown; body?: unknown; message?: unknown };
  if (typeof e.code === 'number') {
    return new KubernetesError(`cannot ${what}: HTTP ${e.code}${statusMessage(e.body)}`, e.code, { cause: error });
  }
  if (timedOutAfterMs !== undefined) {
    return new KubernetesError(`cannot ${what}: no answer within ${timedOutAfterMs} ms`, undefined, { cause: error });
  }
  return new KubernetesError(`cannot ${what}: ${String(e.message ?? error).split('\n')[0]}`, undefined, {
    cause: error,
  });
}

/** The `message` of a Kubernetes Status body, when the body is one. */
function statusMessage(body: unknown): string {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body ? `: ${body.slice(0, 200)}` : '';
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? `: ${message}` : '';
}
