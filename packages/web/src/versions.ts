/** Kubernetes versions as the console offers them. */
import type { Cluster, ProviderInfo } from '@cx/api-schemas';

/**
 * The versions the cluster's provider offers that it may go to: newer, and at most one minor
 * version up (wfm refuses the others, saying why).
 */
export function upgradeTargets(
  cluster: Pick<Cluster, 'provider' | 'kubernetesVersion'>,
  providers: ProviderInfo[],
): string[] {
  const parse = (version: string): [number, number, number] =>
    version.split('.').map(Number) as [number, number, number];
  const compare = (a: string, b: string): number => {
    const [x, y] = [parse(a), parse(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  };
  const [major, minor] = parse(cluster.kubernetesVersion);
  return (providers.find((p) => p.name === cluster.provider)?.kubernetesVersions ?? [])
    .filter((v) => {
      const [toMajor, toMinor] = parse(v);
      return toMajor === major && toMinor <= minor + 1 && compare(v, cluster.kubernetesVersion) > 0;
    })
    .sort(compare);
}
