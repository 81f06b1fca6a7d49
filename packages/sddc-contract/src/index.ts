/**
 * The contract between sddc and its infrastructure providers. CONTRACT.md states the rules; the
 * conformance suite (`@cx/sddc-contract/testing`) checks them against any provider.
 */

import type { NodeLiveState, ProviderCapabilityInfo } from '@cx/api-schemas';

/** Bumped on any change of a Mandatory rule; providers declare the version they pass. */
export const CONTRACT_VERSION = '1.10.0';

export type MachineRole = 'control-plane' | 'worker';
export type MachinePhase = 'Provisioning' | 'Running' | 'Stopped' | 'Failed';
export type PowerState = 'on' | 'off';
export type PowerAction = 'on' | 'off' | 'reset';

export interface MachineSpec {
  /** cx's id of the machine: the provider's idempotency key and tag. */
  machineId: string;
  clusterId: string;
  /** Host name of the machine, also the Kubernetes node name. */
  name: string;
  role: MachineRole;
  pool: string;
  kubernetesVersion: string;
  /** Labels and taints the node carries (its pool's; a control plane that runs no workloads adds its taint). */
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
  /** Sizing from the pool's machine class; a provider uses its own defaults (documented) for what is absent. */
  resources?: { vcpus?: number; memoryMiB?: number; diskGiB?: number };
  /**
   * The OS image a new machine boots from, instead of the one in the provider's settings (vsphere:
   * a template's inventory path; openstack: an image name or id), after an OS upgrade of the
   * cluster. Used when the machine is created; an existing machine is not rebuilt for it (since 1.6.0, rule O7).
   */
  image?: string;
}

export interface MachineStatus {
  machineId: string;
  clusterId: string;
  name: string;
  /** The provider's own id of the machine (VM moref, server uuid, BMC system id…). */
  providerId: string;
  phase: MachinePhase;
  powerState: PowerState;
  addresses: string[];
  /** The cluster and machine tags every infrastructure object carries. */
  tags: { cluster: string; machine: string };
  /** URL of the cluster's Kubernetes API, on control-plane machines of providers that run it (rule O3). */
  apiEndpoint?: string;
}

/**
 * What a provider needs to bring up a cluster's control plane the kubeadm way: the cluster's PKI
 * (PEM), fetched from sm when needed rather than carried in job payloads.
 */
export interface ClusterBootstrap {
  clusterName: string;
  kubernetesVersion: string;
  pki: {
    ca: { certPem: string; keyPem: string };
    frontProxyCa: { certPem: string; keyPem: string };
    etcdCa: { certPem: string; keyPem: string };
    serviceAccount: { publicKeyPem: string; privateKeyPem: string };
  };
  /** CAs whose client certificates the API accepts: the cluster CA, and during a CA rotation the previous one. */
  trustedCaPems: string[];
  /**
   * Public keys that verify service-account tokens (kube-apiserver's `--service-account-key-file`):
   * `pki.serviceAccount`'s, and during a CA rotation the previous one's; `pki.serviceAccount`'s
   * private key alone signs (since 1.7.0; absent: `pki.serviceAccount.publicKeyPem` only).
   */
  trustedServiceAccountPublicKeyPems?: string[];
  /**
   * CAs of the API's request-header client bundle (`--requestheader-client-ca-file`):
   * `pki.frontProxyCa`, and during a CA rotation the previous one; the front-proxy client
   * certificate is issued from `pki.frontProxyCa` (since 1.7.0; absent: `pki.frontProxyCa` only).
   */
  trustedFrontProxyCaPems?: string[];
  /**
   * Bumped each time cx rotates the cluster's serving and client certificates (not the CAs): a
   * provider that issues them re-issues them when it changes (since 1.5.0; absent: 0).
   */
  certificateGeneration?: number;
  /** The control plane's size and, when the cluster has one, its VIP (since 1.3.0) and what keeps it (since 1.4.0; absent: keepalived). */
  controlPlane?: {
    count: number;
    vip?: string;
    vipInterface?: string;
    vipManager?: 'keepalived' | 'kube-vip';
    vipUnicast?: boolean;
  };
}

/** Given to ensureMachine by sddc. */
export interface EnsureContext {
  /** The cluster's bootstrap material (sealed in sm; fetched on demand). */
  bootstrap(): Promise<ClusterBootstrap>;
  /**
   * Cloud-init user data that makes this machine join its cluster the kubeadm way (init on the
   * first control-plane machine, join elsewhere). Carries secrets: hand it only to the machine
   * (guestinfo, Nova user_data, virtual media) and never log it. Absent in contexts that boot nothing.
   */
  userData?(): Promise<string>;
}

/**
 * A provider credential as sddc receives it from sm for one operation (never through a job
 * payload): the endpoint, the login, and the provider's own settings (`settingsSchema`).
 */
export interface ProviderCredential {
  /** cx's id of the credential; with `version`, the key under which sddc caches a connected provider. */
  id: string;
  version: number;
  endpoint: string;
  username: string;
  password: string;
  /** PEM of the CA that signed the endpoint's certificate. */
  caCert?: string | null;
  /** Skip certificate verification (labs only). */
  insecure: boolean;
  settings: Record<string, unknown>;
}

/**
 * Builds the provider of infrastructure that needs a credential (vSphere, OpenStack): one
 * `Provider` per credential, so that every resource group reaches its own endpoint as its own user.
 */
export interface ProviderFactory {
  readonly name: string;
  readonly contractVersion: string;
  readonly kubernetesVersions: readonly string[];
  readonly capabilities: ProviderCapabilities;
  /** JSON Schema (draft 2020-12, ajv) of `ProviderCredential.settings`, documented in docs/providers/<name>.md. */
  readonly settingsSchema: Record<string, unknown>;
  /**
   * Checks a credential against its endpoint before cx stores it: logs in, and looks up what the
   * settings name (template, network…). Throws `CredentialError` (unreachable, untrusted
   * certificate, refused login) or `InputError` naming `settings.<key>` for a setting that does not
   * resolve; resolves when the credential works.
   */
  validateCredential(credential: ProviderCredential): Promise<void>;
  /** A provider bound to the credential; sddc caches it per credential id and version and closes replaced ones. */
  connect(credential: ProviderCredential): Provider;
}

export interface NodeStatus {
  name: string;
  machineId: string;
  role: MachineRole;
  status: 'Ready' | 'NotReady';
  kubernetesVersion: string;
  /**
   * Takes new workloads: not cordoned (`spec.unschedulable`) and without kubeadm's control-plane
   * `NoSchedule` taint. Other taints do not count: they pick workloads, they do not refuse all
   * (since 1.7.0; absent: unknown).
   */
  schedulable?: boolean;
  /** The node as its Kubernetes API reports it (cordon, labels, taints, conditions); absent from readers without one (sim). */
  live?: NodeLiveState;
}

/**
 * What cx may rely on a provider for: cx's core reads these, never a provider's name. Declared once,
 * as the wire schema sddc advertises them in (`@cx/api-schemas`); a provider declares every one.
 * `power` (fencing), `etcdSnapshot` (O6), `kubernetesApi` (O8), `certificateRotation` (O9),
 * `osImages` (O7, O10), `controlPlaneVip` (O11), `controlPlaneReplacement` (O12), `bareMetalHosts` (O13).
 */
export type ProviderCapabilities = Required<ProviderCapabilityInfo>;

/** A consistent copy of a cluster's etcd keyspace (rule O6). */
export interface EtcdSnapshot {
  /** The snapshot file as `etcdctl snapshot save` writes it (bbolt database with its trailing hash); `etcdutl snapshot restore` reads it. */
  data: Buffer;
  /** The etcd revision the snapshot holds at least: every change up to it is in. */
  revision: number;
  /** Version of the etcd server that took it (a restore needs the same major version). */
  etcdVersion: string;
}

export interface Provider {
  readonly name: string;
  readonly contractVersion: string;
  /** Kubernetes versions this provider can install, newest first. */
  readonly kubernetesVersions: readonly string[];
  readonly capabilities: ProviderCapabilities;
  /** Creates the machine if absent; idempotent by `spec.machineId`. */
  ensureMachine(spec: MachineSpec, context?: EnsureContext): Promise<MachineStatus>;
  /** The machine, or null when the provider has none with this id. */
  getMachine(clusterId: string, machineId: string): Promise<MachineStatus | null>;
  /** Deletes the machine; a machine that does not exist is a success. */
  deleteMachine(clusterId: string, machineId: string): Promise<void>;
  /** Every machine tagged with the cluster (garbage collection). */
  listMachines(clusterId: string): Promise<MachineStatus[]>;
  setPower(clusterId: string, machineId: string, action: PowerAction): Promise<void>;
  getPowerState(clusterId: string, machineId: string): Promise<PowerState>;
  /**
   * A snapshot of the cluster's etcd, taken through etcd's own API while the cluster runs (rule O6;
   * only when `capabilities.etcdSnapshot`). Fails with `CX_LIMIT_EXCEEDED` when it would be larger
   * than `options.maxBytes`, before all of it is read.
   */
  etcdSnapshot?(clusterId: string, options?: { maxBytes?: number }): Promise<EtcdSnapshot>;
  /**
   * Rewinds the cluster's etcd to `data` (a snapshot `etcdSnapshot` took of this cluster) the etcd
   * way: the control plane stops, the data directory is rebuilt from the snapshot, and everything
   * starts again; resolves once the Kubernetes API answers. The previous data is kept until the
   * restored etcd answers, and put back if it does not (rule O6).
   */
  etcdRestore?(clusterId: string, data: Buffer): Promise<void>;
  /**
   * Resolves when `image` names an OS image this provider can create machines from (see
   * `MachineSpec.image`); throws `InputError` naming the field `body.image` otherwise. Absent:
   * the provider has no OS images to choose from.
   */
  checkImage?(image: string): Promise<void>;
  /**
   * Told, after each listing of a cluster's nodes, which of its machines have Ready nodes: a
   * provider that handed a machine secrets to boot with (rule O5: a seed served over HTTP, virtual
   * media) withdraws them now. Called again and again for the same machines; must be cheap then,
   * and must not fail for what it no longer holds (since 1.10.0).
   */
  nodesJoined?(clusterId: string, machineIds: string[]): Promise<void>;
  /** Releases connections; the provider is not used afterwards. */
  close?(): Promise<void>;
}

/** Reads the Kubernetes nodes of a tenant cluster (the kubelet's view, not the provider's). */
export interface NodeReader {
  listNodes(clusterId: string): Promise<NodeStatus[]>;
}

/** The providers one sddc replica serves, by name. */
export class ProviderRegistry {
  private readonly providers = new Map<string, { provider: Provider; nodes: NodeReader }>();

  register(provider: Provider, nodes: NodeReader): void {
    if (this.providers.has(provider.name)) throw new Error(`provider ${provider.name} is registered twice`);
    if (provider.contractVersion.split('.')[0] !== CONTRACT_VERSION.split('.')[0]) {
      throw new Error(
        `provider ${provider.name} implements contract ${provider.contractVersion}, sddc needs ${CONTRACT_VERSION}`,
      );
    }
    this.providers.set(provider.name, { provider, nodes });
  }

  get(name: string): Provider | undefined {
    return this.providers.get(name)?.provider;
  }

  nodes(name: string): NodeReader | undefined {
    return this.providers.get(name)?.nodes;
  }

  list(): Provider[] {
    return [...this.providers.values()].map((entry) => entry.provider);
  }

  async close(): Promise<void> {
    await Promise.all(this.list().map((provider) => provider.close?.()));
  }
}
