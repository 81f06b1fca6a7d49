/**
 * ha-configs in the tenant cluster: a ConfigMap with one keepalived.conf per eligible node and a
 * DaemonSet that runs keepalived on exactly those nodes (host network, NET_ADMIN), each pod
 * reading its own node's file. Applying again after nodes join, leave or change labels rewrites
 * both, so the VIPs stay spread over the nodes that match; the node health monitor asks for that
 * when it sees them change (watchers/ha-sync.ts).
 */
import { createHash } from 'node:crypto';
import { AppsV1Api, CoreV1Api, type V1ConfigMap, type V1DaemonSet, type V1Node } from '@kubernetes/client-node';
import { expand, parseRanges } from '@cx/ipam';
import { renderKeepalivedConfig, vipOrder, type VipNode } from '@cx/k8s';
import type { HaConfigPayload } from '@cx/queue-contracts';
import { refused } from '@cx/provider-kit';
import type { TenantAdminCredentials } from '@cx/sm-contract';
import { client, tenantCall } from '../tenant-api.js';

const NAMESPACE = 'kube-system';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'cx' };

/** What an apply configured: the nodes (sorted), their InternalIP, and the node leading each VIP. */
export interface HaApplied {
  nodes: string[];
  addresses: Record<string, string>;
  leaders: Record<string, string>;
}

/**
 * The nodes an ha-config holds its VIPs on: those whose labels carry every pair of the selector,
 * sorted by name, with the address VRRP uses (their InternalIP, '' when they report none). Pure:
 * the apply and the health monitor's comparison with what was applied must agree on it.
 */
export function selectNodes(nodes: readonly V1Node[], selector: Record<string, string>): VipNode[] {
  return nodes
    .filter((node) => Object.entries(selector).every(([key, value]) => node.metadata?.labels?.[key] === value))
    .map((node) => ({
      name: node.metadata?.name ?? '',
      address: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `selectNodes` over the tenant's nodes (the API server filters by the selector first). */
export async function matchNodes(
  credentials: TenantAdminCredentials,
  selector: Record<string, string>,
): Promise<VipNode[]> {
  const labelSelector = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const nodes = (
    await tenantCall(() =>
      client(credentials)
        .makeApiClient(CoreV1Api)
        .listNode(labelSelector ? { labelSelector } : {}),
    )
  ).items;
  return selectNodes(nodes, selector);
}

export function resourceName(haConfig: string): string {
  return `cx-ha-${haConfig}`;
}

export async function applyHaConfig(
  credentials: TenantAdminCredentials,
  config: HaConfigPayload,
  image: string,
): Promise<HaApplied> {
  const nodes = await matchNodes(credentials, config.selector);
  if (nodes.length === 0) {
    throw refused(
      `no node of the cluster matches the selector ${JSON.stringify(config.selector)} of ha-config ${config.name}; label nodes or change the selector`,
      'NoMatchingNode',
    );
  }
  const missing = nodes.filter((n) => !n.address);
  if (config.unicast && missing.length > 0)
    throw refused(
      `node(s) ${missing.map((n) => n.name).join(', ')} report no InternalIP, which unicast VRRP needs`,
      'NodeWithoutAddress',
    );
  const vips = expand(parseRanges(config.virtualIps), 255);
  const spec = { ...config, virtualIps: vips, nodes };
  const name = resourceName(config.name);
  const data = Object.fromEntries(nodes.map((n) => [n.name, renderKeepalivedConfig(spec, n.name)]));
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: NAMESPACE, labels: { ...MANAGED_BY, 'cx.dev/ha-config': config.name } },
    data,
  };
  const daemonSet: V1DaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: NAMESPACE, labels: { ...MANAGED_BY, 'cx.dev/ha-config': config.name } },
    spec: {
      selector: { matchLabels: { 'cx.dev/ha-config': config.name } },
      template: {
        metadata: {
          labels: { 'cx.dev/ha-config': config.name },
          // A changed configuration rolls the pods, so keepalived reads it again.
          annotations: { 'cx.dev/config-hash': hash(JSON.stringify(data)) },
        },
        spec: {
          hostNetwork: true,
          nodeSelector: config.selector,
          tolerations: [{ operator: 'Exists' }],
          priorityClassName: 'system-node-critical',
          containers: [
            {
              name: 'keepalived',
              image,
              command: ['/bin/sh', '-c', 'exec keepalived --dont-fork --log-console --vrrp -f "/etc/cx-ha/$NODE_NAME"'],
              env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
              // The fast profile runs VRRP at real-time priority and locked in memory.
              securityContext: {
                capabilities: {
                  add: [
                    'NET_ADMIN',
                    'NET_RAW',
                    'NET_BROADCAST',
                    ...(config.profile === 'fast' ? ['SYS_NICE', 'IPC_LOCK'] : []),
                  ],
                },
              },
              volumeMounts: [{ name: 'config', mountPath: '/etc/cx-ha', readOnly: true }],
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
            },
          ],
          volumes: [{ name: 'config', configMap: { name } }],
        },
      },
    },
  };
  const tenant = client(credentials);
  const core = tenant.makeApiClient(CoreV1Api);
  const apps = tenant.makeApiClient(AppsV1Api);
  await tenantCall(() =>
    upsert(
      () => core.createNamespacedConfigMap({ namespace: NAMESPACE, body: configMap }),
      () => core.replaceNamespacedConfigMap({ name, namespace: NAMESPACE, body: configMap }),
    ),
  );
  await tenantCall(() =>
    upsert(
      () => apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSet }),
      () => apps.replaceNamespacedDaemonSet({ name, namespace: NAMESPACE, body: daemonSet }),
    ),
  );
  const sorted = nodes.map((n) => n.name);
  const leaders = Object.fromEntries(vips.map((vip, i) => [vip, sorted[vipOrder(i, sorted.length)[0]!]!]));
  return { nodes: sorted, addresses: Object.fromEntries(nodes.map((n) => [n.name, n.address])), leaders };
}

export async function removeHaConfig(
  credentials: TenantAdminCredentials,
  haConfig: string,
): Promise<{ removed: string }> {
  const name = resourceName(haConfig);
  const tenant = client(credentials);
  const core = tenant.makeApiClient(CoreV1Api);
  const apps = tenant.makeApiClient(AppsV1Api);
  await tenantCall(() => ignoreNotFound(() => apps.deleteNamespacedDaemonSet({ name, namespace: NAMESPACE })));
  await tenantCall(() => ignoreNotFound(() => core.deleteNamespacedConfigMap({ name, namespace: NAMESPACE })));
  return { removed: name };
}

async function upsert(create: () => Promise<unknown>, replace: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
    await replace();
  }
}

async function ignoreNotFound(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if ((error as { code?: number }).code !== 404) throw error;
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
