/** What a cluster request must satisfy beyond its schema: checked before sm stores anything. */
import type { AccessObject, Cluster, ClusterCreateRequest, ProviderInfo } from '@cx/api-schemas';
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
  const offered = providers.find((p) => p.name === cluster.provider)?.kubernetesVersions ?? [];
  if (!offered.includes(target))
    throw new InputError(`provider ${cluster.provider} cannot install Kubernetes ${target}`, [
      { field, message: `must be one of: ${offered.join(', ') || 'none (is the provider running?)'}` },
    ]);
  const [fromMajor, fromMinor, fromPatch] = cluster.kubernetesVersion.split('.').map(Number) as [
    number,
    number,
    number,
  ];
  const [toMajor, toMinor, toPatch] = target.split('.').map(Number) as [number, number, number];
  if (toMajor !== fromMajor || toMinor < fromMinor || (toMinor === fromMinor && toPatch <= fromPatch)) {
    throw new InputError(`cluster ${cluster.name} runs ${cluster.kubernetesVersion}; ${target} is not an upgrade`, [
      { field, message: `must be newer than ${cluster.kubernetesVersion}` },
    ]);
  }
  if (toMinor > fromMinor + 1) {
    throw new InputError(
      `Kubernetes upgrades one minor version at a time: from ${cluster.kubernetesVersion} go to ${fromMajor}.${fromMinor + 1}.x first`,
      [{ field, message: `must be ${fromMajor}.${fromMinor}.x or ${fromMajor}.${fromMinor + 1}.x` }],
    );
  }
}
