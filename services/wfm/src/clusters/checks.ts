/** What a cluster request must satisfy beyond its schema: checked before sm stores anything. */
import type { AccessObject, Cluster, ClusterCreateRequest, ClusterUpgrade, ProviderInfo } from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import { can, providersWith } from '../infrastructure/capabilities.js';

/** The object a new cluster's access is checked on: its resource group, or global without one. */
export function resourceGroupOf(body: unknown): AccessObject {
  const group = (body as { resourceGroup?: unknown } | undefined)?.resourceGroup;
  return typeof group === 'string' && group !== '' ? { kind: 'resource-group', id: group } : { kind: 'global' };
}

/** Checks what the schema cannot: the provider, its versions, unique pool names. */
export async function checkClusterRequest(
  body: ClusterCreateRequest,
  providers: ProviderInfo[],
): Promise<ProviderInfo> {
  const provider = providers.find((p) => p.name === body.provider);
  if (!provider) {
    const known = providers.map((p) => p.name).join(', ') || 'none is running';
    throw new InputError(`provider ${body.provider} is not available (available: ${known})`, [
      { field: 'body.provider', message: `must be one of: ${known}` },
    ]);
  }
  if (!provider.kubernetesVersions.includes(body.kubernetesVersion)) {
    throw new InputError(`provider ${body.provider} cannot install Kubernetes ${body.kubernetesVersion}`, [
      { field: 'body.kubernetesVersion', message: `must be one of: ${provider.kubernetesVersions.join(', ')}` },
    ]);
  }
  const seen = new Set<string>(['control-plane']);
  for (const [i, pool] of (body.nodePools ?? []).entries()) {
    if (seen.has(pool.name))
      throw new InputError(`node pool name ${pool.name} is used twice or is reserved`, [
        { field: `body.nodePools.${i}.name`, message: 'must be unique and not control-plane' },
      ]);
    seen.add(pool.name);
  }
  if (
    body.controlPlane.vipUnicast === true &&
    (body.controlPlane.vipPool === undefined || body.controlPlane.vipManager === 'kube-vip')
  ) {
    throw new InputError(
      'unicast VRRP is for the keepalived that keeps a control-plane VIP: it needs controlPlane.vipPool, and kube-vip (ARP with leader election) has no VRRP',
      [{ field: 'body.controlPlane.vipUnicast', message: 'needs controlPlane.vipPool and vipManager keepalived' }],
    );
  }
  if (body.controlPlane.vipManager === 'kube-vip' && body.controlPlane.vipPool === undefined) {
    throw new InputError(
      'kube-vip keeps a control-plane VIP, and this cluster has none; name the IP pool it comes from in controlPlane.vipPool',
      [{ field: 'body.controlPlane.vipManager', message: 'needs controlPlane.vipPool' }],
    );
  }
  if (body.controlPlane.vipPool !== undefined && !can(provider, 'controlPlaneVip')) {
    throw new InputError(
      `provider ${body.provider} serves the API on the endpoint its runtime gives; a control-plane VIP is for real machines`,
      [
        {
          field: 'body.controlPlane.vipPool',
          message: `only for providers with a control-plane VIP: ${providersWith(providers, 'controlPlaneVip')}`,
        },
      ],
    );
  }
  if (body.hostCleanup && !can(provider, 'bareMetalHosts')) {
    throw new InputError(
      `hostCleanup is what happens to a bare-metal host when its machine is deleted; provider ${body.provider} has no hosts`,
      [
        {
          field: 'body.hostCleanup',
          message: `only for providers of bare-metal hosts: ${providersWith(providers, 'bareMetalHosts')}`,
        },
      ],
    );
  }
  // Fencing straight through a BMC needs a host that has one: only bare-metal machines do.
  const bmcFencing: Array<[string, string | undefined]> = [
    ['body.health.fencing', body.health?.fencing],
    ...(body.nodePools ?? []).map((p, i): [string, string | undefined] => [
      `body.nodePools.${i}.health.fencing`,
      p.health?.fencing,
    ]),
  ];
  for (const [field, fencing] of bmcFencing) {
    if (fencing && fencing !== 'provider') checkBmcFencing(fencing, provider, field);
  }
  return provider;
}

/** Fencing straight through a BMC (`redfish`, `ipmi`) needs machines that are bare-metal hosts. */
export function checkBmcFencing(fencing: string, provider: ProviderInfo | undefined, field: string): void {
  if (can(provider, 'bareMetalHosts')) return;
  throw new InputError(
    `fencing ${fencing} powers off a host through its BMC, which only providers of bare-metal hosts have; use fencing provider`,
    [{ field, message: 'must be provider unless the provider has bare-metal hosts (capabilities.bareMetalHosts)' }],
  );
}

/** The version skew policy: never down, never the same, at most one minor up (patches of the same minor are fine). */
export function checkUpgrade(cluster: Cluster, target: string, providers: ProviderInfo[]): void {
  const field = 'body.kubernetesVersion';
  const offered = offeredVersions(cluster, providers);
  if (!offered.includes(target))
    throw new InputError(`provider ${cluster.provider} cannot install Kubernetes ${target}`, [
      { field, message: `must be one of: ${offered.join(', ') || 'none (is the provider running?)'}` },
    ]);
  if (compareVersions(target, cluster.kubernetesVersion) <= 0) {
    throw new InputError(`cluster ${cluster.name} runs ${cluster.kubernetesVersion}; ${target} is not an upgrade`, [
      { field, message: `must be newer than ${cluster.kubernetesVersion}` },
    ]);
  }
  const refusal = skewRefusal(cluster.kubernetesVersion, target);
  if (refusal) throw new InputError(refusal.message, [{ field, message: refusal.field }]);
}

/**
 * Every version the cluster's provider offers above the one the cluster runs, oldest first, with
 * whether an upgrade to it would be accepted now (the skew policy of checkUpgrade, and no other
 * workflow running on the cluster) and, if not, why.
 */
export function upgradesOf(cluster: Cluster, providers: ProviderInfo[]): ClusterUpgrade[] {
  return offeredVersions(cluster, providers)
    .filter((version) => compareVersions(version, cluster.kubernetesVersion) > 0)
    .sort(compareVersions)
    .map((version): ClusterUpgrade => {
      const refusal = skewRefusal(cluster.kubernetesVersion, version);
      if (refusal)
        return { kubernetesVersion: version, allowed: false, reason: refusal.reason, message: refusal.message };
      if (cluster.activeWorkflowId)
        return {
          kubernetesVersion: version,
          allowed: false,
          reason: 'ClusterBusy',
          message: `cluster ${cluster.name} has workflow ${cluster.activeWorkflowId} in progress; wait for it to finish or cancel it`,
        };
      return { kubernetesVersion: version, allowed: true, reason: null, message: null };
    });
}

function offeredVersions(cluster: Cluster, providers: ProviderInfo[]): string[] {
  return [...new Set(providers.find((p) => p.name === cluster.provider)?.kubernetesVersions ?? [])];
}

/** Why going from `from` to the newer `to` breaks the skew policy, or null when it does not. */
function skewRefusal(
  from: string,
  to: string,
): { reason: 'SkipsMinor' | 'OtherMajor'; message: string; field: string } | null {
  const [fromMajor, fromMinor] = parseVersion(from);
  const [toMajor, toMinor] = parseVersion(to);
  if (toMajor !== fromMajor)
    return {
      reason: 'OtherMajor',
      message: `cx upgrades within Kubernetes ${fromMajor}.x; ${to} is another major version`,
      field: `must be ${fromMajor}.${fromMinor}.x or ${fromMajor}.${fromMinor + 1}.x`,
    };
  if (toMinor > fromMinor + 1)
    return {
      reason: 'SkipsMinor',
      message: `Kubernetes upgrades one minor version at a time: from ${from} go to ${fromMajor}.${fromMinor + 1}.x first`,
      field: `must be ${fromMajor}.${fromMinor}.x or ${fromMajor}.${fromMinor + 1}.x`,
    };
  return null;
}

function parseVersion(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  return [major, minor, patch];
}

/** Orders Kubernetes versions (major.minor.patch) numerically. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}
