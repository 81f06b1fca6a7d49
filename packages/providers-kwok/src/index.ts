/**
 * The `kwok` provider: each tenant cluster gets a real control plane on loopback (etcd,
 * kube-apiserver started with the CA cx generated for the cluster, kube-controller-manager,
 * kube-scheduler), and each machine is a Node that kwok keeps alive and Ready. Powering a machine
 * off takes it away from kwok and marks it NotReady, as a dead kubelet would look; Kubernetes' own
 * node lifecycle controller takes it from there. Everything cx knows about the machines is read
 * back from the tenant API.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { InputError, NotFoundError, ProviderError, ProviderUnavailableError } from '@cx/errors';
import { nodeLiveState, takesWorkloads } from '@cx/k8s';
import {
  CONTRACT_VERSION,
  type EnsureContext,
  type EtcdSnapshot,
  type MachineSpec,
  type MachineStatus,
  type NodeReader,
  type NodeStatus,
  type PowerAction,
  type PowerState,
  type Provider,
  type ProviderCapabilities,
} from '@cx/sddc-contract';
import { ControlPlane, KWOK_NODE, runnableVersions, type KwokBinaries } from './runtime.js';

export { type KwokBinaries } from './runtime.js';

export interface KwokProviderOptions {
  /** Where each cluster's control plane keeps its data, pids and logs. */
  dataDir: string;
  binaries: KwokBinaries;
}

const LABEL = {
  cluster: 'cx.dev/cluster',
  machine: 'cx.dev/machine',
  pool: 'cx.dev/pool',
  controlPlane: 'node-role.kubernetes.io/control-plane',
} as const;
const POWER_ANNOTATION = 'cx.dev/power';
/**
 * The emulated BMC of a machine: a node annotated `cx.dev/bmc: unreachable` has a BMC that does
 * not answer, so its power can be neither set nor read — what a fence meets when the BMC's
 * network is down. It lets tests (and demos) show that cx then moves nothing.
 */
export const BMC_ANNOTATION = 'cx.dev/bmc';
/**
 * Taints the node lifecycle controller keeps on a node until it has seen it Ready (the API server
 * puts the first on at registration).
 */
const UNHEALTHY_TAINTS: readonly string[] = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

export class KwokProvider implements Provider, NodeReader {
  readonly name = 'kwok';
  readonly contractVersion = CONTRACT_VERSION;
  readonly kubernetesVersions: readonly string[];
  readonly capabilities: ProviderCapabilities = {
    power: true,
    loadBalancer: false,
    virtualIp: false,
    etcdSnapshot: true,
    kubernetesApi: true,
    certificateRotation: true,
    osImages: true,
    controlPlaneVip: false,
    controlPlaneReplacement: true,
    bareMetalHosts: false,
  };
  /** The last control-plane bring-up of each cluster in this process; the next one waits for it. */
  private readonly bringingUp = new Map<string, Promise<void>>();
  private readonly clients = new Map<string, { writtenAt: number; api: CoreV1Api }>();

  constructor(private readonly options: KwokProviderOptions) {
    this.kubernetesVersions = runnableVersions(options.binaries).reverse();
    // A manifest from before the runtime ran the controllers: say how to get one that does.
    if (this.kubernetesVersions.length === 0)
      throw new ProviderError(
        'the kwok binaries manifest has no Kubernetes version with kube-apiserver, kube-controller-manager and kube-scheduler built; rebuild it with `npm run peers -- kubernetes`',
      );
  }

  async ensureMachine(spec: MachineSpec, context?: EnsureContext): Promise<MachineStatus> {
    const plane = this.plane(spec.clusterId);
    if (!this.kubernetesVersions.includes(spec.kubernetesVersion))
      throw new ProviderError(
        `kwok cannot run Kubernetes ${spec.kubernetesVersion} (it runs ${this.kubernetesVersions.join(', ')})`,
      );
    if (!context)
      throw new ProviderError(
        "the kwok provider needs the cluster's bootstrap material (EnsureContext) to bring up its control plane",
      );
    // A control-plane machine carries the version the control plane must run (an upgrade moves it).
    await this.bringUp(plane, context, spec.role === 'control-plane' ? spec.kubernetesVersion : undefined);
    const api = this.api(plane);
    let node = await readNode(api, spec.name);
    if (node && node.metadata?.labels?.[LABEL.machine] !== spec.machineId) {
      throw new ProviderError(
        `node ${spec.name} of cluster ${spec.clusterId} belongs to another machine (${node.metadata?.labels?.[LABEL.machine] ?? 'none'})`,
      );
    }
    if (!node) {
      try {
        node = await call(() => api.createNode({ body: nodeFor(spec) }));
      } catch (error) {
        if (statusOf(error) !== 409) throw error;
        node = await readNode(api, spec.name); // a concurrent ensure of the same machine won
      }
    }
    // A node made when kwok selected by the annotation only: without the label kwok would drop it.
    if (node && powerOf(node) === 'on' && node.metadata?.labels?.[KWOK_NODE.key] !== KWOK_NODE.value) {
      await this.updateNode(api, spec.name, (n) => {
        n.metadata!.labels![KWOK_NODE.key] = KWOK_NODE.value;
      });
    }
    await this.setKubeletVersion(api, spec.name, spec.kubernetesVersion, spec.image);
    return this.status(plane, (await readNode(api, spec.name))!);
  }

  async getMachine(clusterId: string, machineId: string): Promise<MachineStatus | null> {
    const plane = this.plane(clusterId);
    if (!plane.exists()) return null;
    const node = await this.nodeOf(plane, machineId);
    return node ? this.status(plane, node) : null;
  }

  async deleteMachine(clusterId: string, machineId: string): Promise<void> {
    const plane = this.plane(clusterId);
    // One at a time per cluster: the last delete tears the control plane down, and no other
    // operation of the cluster may revive it meanwhile.
    await this.serialised(plane, async () => {
      if (!plane.exists()) return;
      const api = this.api(plane);
      const node = (
        await this.listNodesBy(plane, `${LABEL.cluster}=${plane.clusterId},${LABEL.machine}=${machineId}`, true)
      )[0];
      if (node) {
        try {
          await call(() => api.deleteNode({ name: node.metadata!.name! }));
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      }
      // The last machine takes the control plane with it.
      if ((await this.listNodesBy(plane, `${LABEL.cluster}=${plane.clusterId}`, true)).length === 0)
        await plane.destroy();
    });
  }

  async listMachines(clusterId: string): Promise<MachineStatus[]> {
    const plane = this.plane(clusterId);
    if (!plane.exists()) return [];
    return (await this.nodes(plane)).map((node) => this.status(plane, node));
  }

  async setPower(clusterId: string, machineId: string, action: PowerAction): Promise<void> {
    const plane = this.plane(clusterId);
    const node = plane.exists() ? await this.nodeOf(plane, machineId) : undefined;
    if (!node) throw new NotFoundError(`machine ${machineId} of cluster ${clusterId} does not exist`);
    assertBmcAnswers(node);
    const api = this.api(plane);
    const name = node.metadata!.name!;
    if (action === 'off' || action === 'reset') {
      await this.updateNode(api, name, (n) => {
        delete n.metadata!.labels![KWOK_NODE.key];
        delete n.metadata!.annotations![KWOK_NODE.key];
        n.metadata!.annotations![POWER_ANNOTATION] = 'off';
      });
      // No kubelet answers any more: what the node controller would conclude after its grace period.
      await this.updateStatus(api, name, (n) => {
        for (const condition of n.status?.conditions ?? []) {
          if (condition.type === 'Ready')
            Object.assign(condition, {
              status: 'Unknown',
              reason: 'NodeStatusUnknown',
              message: 'Kubelet stopped posting node status (machine powered off).',
              lastTransitionTime: new Date(),
            });
        }
      });
    }
    if (action === 'on' || action === 'reset') {
      await this.updateNode(api, name, (n) => {
        n.metadata!.labels![KWOK_NODE.key] = KWOK_NODE.value;
        n.metadata!.annotations![KWOK_NODE.key] = KWOK_NODE.value;
        n.metadata!.annotations![POWER_ANNOTATION] = 'on';
      });
    }
  }

  async getPowerState(clusterId: string, machineId: string): Promise<PowerState> {
    const plane = this.plane(clusterId);
    const node = plane.exists() ? await this.nodeOf(plane, machineId) : undefined;
    if (!node) throw new NotFoundError(`machine ${machineId} of cluster ${clusterId} does not exist`);
    assertBmcAnswers(node);
    return powerOf(node);
  }

  async listNodes(clusterId: string): Promise<NodeStatus[]> {
    const plane = this.plane(clusterId);
    if (!plane.exists()) return [];
    const nodes = await this.nodes(plane);
    return nodes.map((node) => ({
      name: node.metadata!.name!,
      machineId: node.metadata!.labels![LABEL.machine]!,
      role: node.metadata!.labels![LABEL.controlPlane] !== undefined ? 'control-plane' : 'worker',
      status: ready(node) ? 'Ready' : 'NotReady',
      kubernetesVersion: (node.status?.nodeInfo?.kubeletVersion ?? '').replace(/^v/, ''),
      schedulable: takesWorkloads(node),
      live: nodeLiveState(node),
    }));
  }

  /** Rule O6: through etcd's API; a control plane with a dead process is brought back first, as for any other operation. */
  /**
   * kwok machines boot nothing, so any well-formed image name will do (rule O7): a machine created
   * with `spec.image` reports it as its node's `status.nodeInfo.osImage`, as a kubelet does.
   */
  async checkImage(image: string): Promise<void> {
    if (!OS_IMAGE_NAME.test(image)) {
      throw new InputError(
        `${JSON.stringify(image)} is not an image name kwok takes (letters, digits and . _ : / @ -, up to 255 characters)`,
        [{ field: 'body.image', message: 'is not a well-formed image name' }],
      );
    }
  }

  async etcdSnapshot(clusterId: string, options: { maxBytes?: number } = {}): Promise<EtcdSnapshot> {
    const plane = this.existing(clusterId);
    let snapshot: EtcdSnapshot | undefined;
    // In the cluster's turn: never in the middle of a restore or a bring-up.
    await this.serialised(plane, async () => {
      if (!plane.running()) await plane.ensure();
      snapshot = await plane.snapshotEtcd(options.maxBytes);
    });
    return snapshot!;
  }

  /** Rule O6: `etcdutl snapshot restore`, in the cluster's turn, so that nothing brings the old etcd back meanwhile. */
  async etcdRestore(clusterId: string, data: Buffer): Promise<void> {
    const plane = this.existing(clusterId);
    await this.serialised(plane, () => plane.restoreEtcd(data));
  }

  private existing(clusterId: string): ControlPlane {
    const plane = this.plane(clusterId);
    if (!plane.exists()) throw new NotFoundError(`cluster ${clusterId} has no control plane on the kwok runtime`);
    return plane;
  }

  /** Ensures the control plane; one at a time per cluster in this process (its machines are ensured in parallel). */
  private async bringUp(plane: ControlPlane, context: EnsureContext, version: string | undefined): Promise<void> {
    await this.serialised(plane, async () => {
      const bootstrap = await context.bootstrap();
      await plane.ensure(bootstrap, version ?? (plane.exists() ? undefined : bootstrap.kubernetesVersion));
    });
  }

  private async serialised(plane: ControlPlane, work: () => Promise<void>): Promise<void> {
    const previous = this.bringingUp.get(plane.clusterId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.bringingUp.set(plane.clusterId, next);
    try {
      await next;
    } finally {
      if (this.bringingUp.get(plane.clusterId) === next) this.bringingUp.delete(plane.clusterId);
    }
  }

  private plane(clusterId: string): ControlPlane {
    if (!/^[A-Za-z0-9._-]+$/.test(clusterId))
      throw new ProviderError(`cluster id ${clusterId} is not usable as a directory name`);
    return new ControlPlane(this.options.dataDir, clusterId, this.options.binaries);
  }

  /** A client per cluster, kept until its kubeconfig is rewritten (new PKI after a CA rotation, a new cluster). */
  private api(plane: ControlPlane): CoreV1Api {
    const writtenAt = statSync(plane.kubeconfigPath).mtimeMs;
    const cached = this.clients.get(plane.clusterId);
    if (cached?.writtenAt === writtenAt) return cached.api;
    const config = new KubeConfig();
    config.loadFromFile(plane.kubeconfigPath);
    const api = config.makeApiClient(CoreV1Api);
    this.clients.set(plane.clusterId, { writtenAt, api });
    return api;
  }

  private async nodes(plane: ControlPlane): Promise<V1Node[]> {
    return this.listNodesBy(plane, `${LABEL.cluster}=${plane.clusterId}`);
  }

  private async nodeOf(plane: ControlPlane, machineId: string): Promise<V1Node | undefined> {
    return (await this.listNodesBy(plane, `${LABEL.cluster}=${plane.clusterId},${LABEL.machine}=${machineId}`))[0];
  }

  /**
   * Lists nodes; a control plane with a dead process, or an unreachable tenant API, gets its
   * processes restarted once (as a crashed VM would be rebooted). `inCluster`: the caller already
   * holds the cluster's turn (see `serialised`).
   */
  private async listNodesBy(plane: ControlPlane, labelSelector: string, inCluster = false): Promise<V1Node[]> {
    const api = this.api(plane);
    if (plane.exists() && !plane.running()) {
      if (inCluster) await plane.ensure();
      else
        await this.serialised(plane, async () => {
          if (plane.exists() && !plane.running()) await plane.ensure();
        });
    }
    try {
      return (await call(() => api.listNode({ labelSelector }))).items;
    } catch (error) {
      if (!(error instanceof ProviderUnavailableError) || !plane.exists()) throw error;
      if (inCluster) await plane.ensure();
      else
        await this.serialised(plane, async () => {
          if (plane.exists()) await plane.ensure();
        });
      return (await call(() => api.listNode({ labelSelector }))).items;
    }
  }

  private status(plane: ControlPlane, node: V1Node): MachineStatus {
    const labels = node.metadata!.labels!;
    const powerState = powerOf(node);
    const controlPlane = labels[LABEL.controlPlane] !== undefined;
    return {
      machineId: labels[LABEL.machine]!,
      clusterId: plane.clusterId,
      name: node.metadata!.name!,
      providerId: `kwok://${plane.clusterId}/${node.metadata!.name!}`,
      phase: powerState === 'on' ? 'Running' : 'Stopped',
      powerState,
      addresses: (node.status?.addresses ?? [])
        .filter((a) => a.type === 'InternalIP')
        .map((a) => a.address)
        .concat(node.status?.addresses?.length ? [] : ['127.0.0.1']),
      tags: { cluster: plane.clusterId, machine: labels[LABEL.machine]! },
      ...(controlPlane ? { apiEndpoint: plane.apiEndpoint } : {}),
    };
  }

  /**
   * kwok keeps what the node reports as its kubelet version; cx sets it to the version the machine
   * runs. kwok's first status of a new node (its Ready condition, its own version) is written from
   * the node as kwok read it, and can land after cx's and put kwok's version back: the version is
   * read again until kwok's first status is there (a bounded number of times, then left as it is).
   */
  private async setKubeletVersion(api: CoreV1Api, name: string, version: string, image = 'kwok'): Promise<void> {
    for (let attempt = 0; attempt < KUBELET_VERSION_CHECKS; attempt++) {
      const node = await readNode(api, name);
      const set = node?.status?.nodeInfo?.kubeletVersion === `v${version}` && !!node.status.nodeInfo.osImage;
      const initialised = node?.status?.conditions?.some((c) => c.type === 'Ready') ?? false;
      if (set && initialised) return;
      if (set) await sleep(100);
      else await this.writeKubeletVersion(api, name, version, image);
    }
  }

  private async writeKubeletVersion(api: CoreV1Api, name: string, version: string, image: string): Promise<void> {
    await this.updateStatus(api, name, (n) => {
      n.status ??= {};
      // The image is the one the machine was created from: a node that reports one keeps it (machines are
      // not rebuilt in place); kwok's own initialisation leaves it empty.
      n.status.nodeInfo = {
        architecture: 'amd64',
        bootID: '',
        containerRuntimeVersion: 'kwok',
        kernelVersion: 'kwok',
        kubeProxyVersion: `v${version}`,
        machineID: '',
        operatingSystem: 'linux',
        systemUUID: '',
        ...n.status.nodeInfo,
        osImage: n.status.nodeInfo?.osImage || image,
        kubeletVersion: `v${version}`,
      };
    });
  }

  /** Read, change, replace; a conflicting concurrent write makes it read again (optimistic concurrency). */
  private async updateNode(api: CoreV1Api, name: string, change: (node: V1Node) => void): Promise<void> {
    await retryOnConflict(async () => {
      const node = (await readNode(api, name))!;
      node.metadata!.labels ??= {};
      node.metadata!.annotations ??= {};
      change(node);
      await call(() => api.replaceNode({ name, body: node }));
    });
  }

  private async updateStatus(api: CoreV1Api, name: string, change: (node: V1Node) => void): Promise<void> {
    await retryOnConflict(async () => {
      const node = (await readNode(api, name))!;
      change(node);
      await call(() => api.replaceNodeStatus({ name, body: node }));
    });
  }
}

/** How many times a new node's kubelet version is read (100 ms apart) until kwok's first status is there. */
const KUBELET_VERSION_CHECKS = 50;

function nodeFor(spec: MachineSpec): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        [LABEL.cluster]: spec.clusterId,
        [LABEL.machine]: spec.machineId,
        [LABEL.pool]: spec.pool,
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        type: 'kwok',
        ...(spec.role === 'control-plane' ? { [LABEL.controlPlane]: '' } : {}),
        ...spec.labels,
        [KWOK_NODE.key]: KWOK_NODE.value,
      },
      annotations: { [KWOK_NODE.key]: KWOK_NODE.value, [POWER_ANNOTATION]: 'on' },
    },
    spec: {
      taints: (spec.taints ?? []).map((t) => ({
        key: t.key,
        effect: t.effect,
        ...(t.value !== undefined ? { value: t.value } : {}),
      })),
    },
    // What a kubelet reports when it registers; the address is simulated (see simulatedAddress).
    status: {
      addresses: [
        { type: 'InternalIP', address: simulatedAddress(spec.machineId) },
        { type: 'Hostname', address: spec.name },
      ],
    },
  };
}

/** What `checkImage` takes as an OS image name. */
const OS_IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,254}$/;

/**
 * A stable address for a simulated machine, in 198.18.0.0/15 (RFC 2544, never routed), derived
 * from its id: unique enough among the machines of one cluster for VRRP peers and node lists.
 */
export function simulatedAddress(machineId: string): string {
  const digest = createHash('sha256').update(machineId).digest();
  return `198.${18 + (digest[0]! & 1)}.${digest[1]!}.${1 + (digest[2]! % 254)}`;
}

/**
 * Ready as a scheduler sees it: the kubelet (kwok) reports Ready and the node lifecycle controller
 * has agreed, lifting the taints it keeps on a node that is not (or was not yet seen) Ready.
 */
function ready(node: V1Node): boolean {
  return (
    node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' &&
    !(node.spec?.taints ?? []).some((t) => UNHEALTHY_TAINTS.includes(t.key))
  );
}

function powerOf(node: V1Node): PowerState {
  return node.metadata?.annotations?.[POWER_ANNOTATION] === 'off' ? 'off' : 'on';
}

async function readNode(api: CoreV1Api, name: string): Promise<V1Node | undefined> {
  try {
    return await call(() => api.readNode({ name }));
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

async function retryOnConflict(work: () => Promise<void>, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (statusOf(error) !== 409 || attempt >= attempts) throw error;
    }
  }
}

/** Tenant API failures as contract errors: unreachable → retryable, refused → not. HTTP statuses stay readable. */
async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const status = statusOf(error);
    if (status === undefined || status >= 500 || status === 429) {
      throw Object.assign(
        new ProviderUnavailableError(`the tenant Kubernetes API failed: ${(error as Error).message.split('\n')[0]}`),
        { httpStatus: status },
      );
    }
    throw Object.assign(
      new ProviderError(
        `the tenant Kubernetes API refused: HTTP ${status}: ${(error as { body?: string }).body?.slice(0, 300) ?? ''}`,
      ),
      { httpStatus: status },
    );
  }
}

function statusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; httpStatus?: unknown };
  if (typeof e.httpStatus === 'number') return e.httpStatus;
  return typeof e.code === 'number' ? e.code : undefined;
}

function assertBmcAnswers(node: V1Node): void {
  if (node.metadata?.annotations?.[BMC_ANNOTATION] === 'unreachable') {
    throw new ProviderUnavailableError(
      `the BMC of machine ${node.metadata.name ?? ''} does not answer (kwok's emulated BMC, annotation ${BMC_ANNOTATION}=unreachable)`,
    );
  }
}
