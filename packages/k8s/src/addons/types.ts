/**
 * The shape every cluster addon of the catalog shares. An addon is a pure function from its
 * settings and the cluster to Kubernetes objects: sddc applies them with server-side apply and
 * removes them by the labels the catalog stamps on every one, so that nothing an addon created
 * outlives its removal.
 */

/** A Kubernetes object as it is applied (apiVersion, kind, metadata and whatever its kind holds). */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** What an addon may depend on of the cluster it goes into. */
export interface AddonCluster {
  id: string;
  name: string;
  /** The provider (`vsphere`, `openstack`, `kwok`…): the storage class depends on it. */
  provider: string;
  kubernetesVersion: string;
}

/** A setting whose value is a secret: stored sealed, never answered by the API, kept in the tenant cluster as a Secret. */
export interface SecretSetting {
  name: string;
}

export interface AddonDefinition {
  /** DNS-1123 label; the `cx.dev/addon` label value of everything the addon creates. */
  name: string;
  /** The upstream release whose images the addon runs, pinned: installs are reproducible. */
  version: string;
  description: string;
  /** JSON schema of the settings (ajv); absent when the addon takes none. */
  settingsSchema?: Record<string, unknown>;
  /** Settings that are secrets (kept out of API answers and of cx's plain columns). */
  secretSettings?: readonly string[];
  /** Settings that name endpoints outside the cluster, checked against the egress policy (SSRF). */
  endpointSettings?: readonly string[];
  /**
   * `network`: the pod network (CNI). Kubelets stay NotReady without one, so a cluster created with
   * it gets it applied as soon as its API answers, before the create workflow waits for Ready nodes;
   * a cluster has at most one. Absent: an ordinary addon, installed on a cluster whose nodes are Ready.
   */
  stage?: 'network';
  /** Providers the addon refuses (a storage class cx cannot offer there); with the reason. */
  unsupported?: (cluster: AddonCluster) => string | undefined;
  /**
   * Kinds whose objects removal deletes first, and waits for until they are gone, before it deletes
   * the rest: an operator's custom resource, whose finalizer the operator clears once it has removed
   * what it deployed from it (so the operator must still run meanwhile). Absent: all in one go.
   */
  removeFirst?: readonly string[];
  /** The objects, in apply order (namespaces and CRDs-like prerequisites first). */
  render(settings: Record<string, unknown>, cluster: AddonCluster): KubernetesObject[];
}

/** Labels on everything cx creates for an addon; removal selects by them. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const ADDON_LABEL = 'cx.dev/addon';

export function addonLabels(addon: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: 'cx', [ADDON_LABEL]: addon };
}
