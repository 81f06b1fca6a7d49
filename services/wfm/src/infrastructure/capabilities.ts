/**
 * What wfm knows of a provider is what sddc advertises: its contract's capabilities, never its
 * name (CONTRACT.md, rule M9). A capability an older sddc does not advertise counts as absent.
 */
import type { ProviderCapabilityInfo, ProviderInfo } from '@cx/api-schemas';
import { DependencyUnavailableError } from '@cx/errors';

export type Capability = keyof ProviderCapabilityInfo;

/** Whether `provider` advertises `capability`. */
export function can(provider: ProviderInfo | undefined, capability: Capability): boolean {
  return provider?.capabilities?.[capability] === true;
}

/** The providers that advertise `capability`, for error messages that say where it is offered. */
export function providersWith(providers: readonly ProviderInfo[], capability: Capability): string {
  return (
    providers
      .filter((p) => can(p, capability))
      .map((p) => p.name)
      .join(', ') || 'none running'
  );
}

/**
 * The provider of an existing cluster as sddc advertises it. A provider that no sddc advertises now
 * cannot be judged: the call fails as retryable rather than being refused for good.
 */
export async function advertisedProvider(
  providers: () => Promise<ProviderInfo[]>,
  name: string,
): Promise<{ provider: ProviderInfo; all: ProviderInfo[] }> {
  const all = await providers();
  const provider = all.find((p) => p.name === name);
  if (!provider)
    throw new DependencyUnavailableError(
      `provider ${name} is not advertised by any sddc now; check that sddc runs and serves it (sddc.providers)`,
    );
  return { provider, all };
}
