/**
 * Which provider serves an operation. Providers without credentials (sim, kwok, baremetal, whose
 * BMC secrets live with each host) are built once; credentialed ones (vsphere, openstack) are
 * connected per credential — the one of the cluster's resource group, fetched from sm when needed
 * and never carried by a job — and kept while that credential's version stays the same.
 */
import { InputError } from '@cx/errors';
import type {
  NodeReader,
  Provider,
  ProviderCapabilities,
  ProviderCredential,
  ProviderFactory,
  ProviderRegistry,
} from '@cx/sddc-contract';
import type { SmClient } from '@cx/sm-contract';
import { readsThroughTenantApi, tenantNodeReader } from './tenant-node-reader.js';

/** How long sddc reuses a cluster's credential before asking sm again (a changed password is seen within it). */
const CREDENTIAL_TTL_MS = 30_000;

export interface ProviderSummary {
  name: string;
  kubernetesVersions: readonly string[];
  contractVersion: string;
  takesCredential: boolean;
  capabilities: ProviderCapabilities;
}

export class ProviderDirectory {
  private readonly credentials = new Map<string, { credential: Promise<ProviderCredential>; fetchedAt: number }>();
  private readonly connected = new Map<string, { version: number; provider: Provider }>();

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly factories: ReadonlyMap<string, ProviderFactory>,
    private readonly sm: SmClient,
  ) {}

  /** Whether this replica serves the provider `name`. */
  serves(name: string): boolean {
    return this.registry.get(name) !== undefined || this.factories.has(name);
  }

  /** Serves a provider built later (kwok, once its binaries are built); the next advertisement tells wfm. */
  add(provider: Provider & NodeReader): void {
    this.registry.register(provider, provider);
  }

  /** What this replica serves, as advertised to wfm. */
  list(): ProviderSummary[] {
    return [...this.registry.list(), ...this.factories.values()].map((p) => ({
      name: p.name,
      kubernetesVersions: p.kubernetesVersions,
      contractVersion: p.contractVersion,
      takesCredential: this.factories.has(p.name),
      capabilities: p.capabilities,
    }));
  }

  factory(name: string): ProviderFactory | undefined {
    return this.factories.get(name);
  }

  /**
   * The reader of a provider that reports node status itself, without a Kubernetes API (sim): what
   * the health monitor watches a cluster with no API endpoint through. Undefined for a provider
   * whose nodes are read through the tenant API: for a cluster without one it would answer "no
   * nodes", which is not what it saw.
   */
  machineNodes(name: string): NodeReader | undefined {
    const nodes = this.registry.nodes(name);
    return nodes && !readsThroughTenantApi(nodes) ? nodes : undefined;
  }

  /** The provider (and the reader of Kubernetes nodes) for one cluster's operation. */
  async resolve(name: string, clusterId: string): Promise<{ provider: Provider; nodes: NodeReader }> {
    const provider = this.registry.get(name);
    const nodes = this.registry.nodes(name);
    if (provider && nodes) return { provider, nodes };
    const factory = this.factories.get(name);
    if (!factory) throw new InputError(`provider ${name} is not served by this sddc (sddc.providers)`);
    const connected = await this.connect(factory, clusterId);
    return { provider: connected, nodes: tenantNodeReader(connected, this.sm) };
  }

  private async connect(factory: ProviderFactory, clusterId: string): Promise<Provider> {
    let cached = this.credentials.get(clusterId);
    if (!cached || Date.now() - cached.fetchedAt > CREDENTIAL_TTL_MS) {
      cached = { credential: this.sm.infrastructureCredential(clusterId), fetchedAt: Date.now() };
      this.credentials.set(clusterId, cached);
      cached.credential.catch(() => this.credentials.delete(clusterId));
    }
    const credential = await cached.credential;
    const current = this.connected.get(credential.id);
    if (current && current.version === credential.version) return current.provider;
    const provider = factory.connect(credential);
    this.connected.set(credential.id, { version: credential.version, provider });
    // The credential changed (new password, endpoint or settings): the old connection goes.
    if (current) void current.provider.close?.().catch(() => undefined);
    return provider;
  }

  async close(): Promise<void> {
    await Promise.all([
      this.registry.close(),
      ...[...this.connected.values()].map(({ provider }) => provider.close?.()),
    ]);
    this.connected.clear();
  }
}
