/**
 * Checks wfm makes against real infrastructure before sm stores anything: a credential must log in
 * and its settings must resolve, a host's BMC must answer to its login. The check runs in sddc (the
 * only service that talks to infrastructure); the secret crosses Redis sealed (`sealForTransit`).
 */
import type { ClusterCreateRequest, CredentialCreateRequest, HostCreateRequest, ProviderInfo } from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import { sealForTransit } from '@cx/queue-contracts';
import type { NodeStatus, ProviderCredential } from '@cx/sddc-contract';
import { can } from './capabilities.js';
import type { WorkflowEngine } from '../engine.js';
import type { SmClient } from '@cx/sm-contract';

/** Long enough for a login and a few inventory lookups on a slow endpoint behind its own timeouts. */
const CHECK_TIMEOUT_MS = 60_000;

export class InfrastructureChecks {
  constructor(
    private readonly engine: WorkflowEngine,
    private readonly sm: SmClient,
    private readonly serviceToken: string,
    private readonly providers: () => Promise<ProviderInfo[]>,
  ) {}

  /** Resolves when the credential works against its endpoint; throws the problem to answer otherwise. */
  async checkCredential(request: CredentialCreateRequest): Promise<void> {
    const providers = await this.providers();
    const provider = providers.find((p) => p.name === request.provider);
    const credentialed = providers.filter((p) => p.takesCredential).map((p) => p.name);
    if (!provider?.takesCredential) {
      throw new InputError(
        `provider ${request.provider} ${provider ? 'takes no credential' : 'is not served by any running sddc'}`,
        [{ field: 'body.provider', message: `must be one of: ${credentialed.join(', ') || 'none is running'}` }],
      );
    }
    const credential: ProviderCredential = {
      id: 'unsaved',
      version: 0,
      endpoint: request.endpoint,
      username: request.username,
      password: request.password,
      caCert: request.caCert ?? null,
      insecure: request.insecure,
      settings: request.settings ?? {},
    };
    await this.engine.runOperationNow(
      { op: 'validate-credential', provider: request.provider, sealed: sealForTransit(credential, this.serviceToken) },
      CHECK_TIMEOUT_MS,
    );
  }

  /** Resolves when the host's BMC answers to its login (and has the system named). */
  async checkBmc(request: HostCreateRequest): Promise<void> {
    const hosts = (await this.providers()).find((p) => can(p, 'bareMetalHosts'));
    if (!hosts) {
      throw new InputError(
        'no running sddc serves a provider of bare-metal hosts (sddc.providers: baremetal), so the BMC cannot be checked',
        [{ field: 'body.bmc', message: 'cannot be checked now' }],
      );
    }
    await this.engine.runOperationNow(
      { op: 'validate-bmc', provider: hosts.name, sealed: sealForTransit(request.bmc, this.serviceToken) },
      CHECK_TIMEOUT_MS,
    );
  }

  /**
   * Resolves when the cluster's provider, acting with the cluster's credential, can create machines
   * from `image` (a vSphere template that exists in the inventory, a Glance image the project sees).
   */
  async checkImage(cluster: { id: string; provider: string }, image: string): Promise<void> {
    await this.engine.runOperationNow(
      { op: 'check-image', provider: cluster.provider, clusterId: cluster.id, image },
      CHECK_TIMEOUT_MS,
    );
  }

  /** The cluster's nodes as its Kubernetes API reports them now (not cx's records). */
  async liveNodes(cluster: { id: string; provider: string }, timeoutMs = CHECK_TIMEOUT_MS): Promise<NodeStatus[]> {
    return this.engine.runOperationNow<NodeStatus[]>(
      { op: 'list-nodes', provider: cluster.provider, clusterId: cluster.id },
      timeoutMs,
    );
  }

  /**
   * A cluster on a credentialed provider belongs to a resource group whose credential is for that
   * provider: sddc acts with that credential.
   */
  async checkPlacement(body: ClusterCreateRequest, provider: ProviderInfo): Promise<void> {
    if (!provider.takesCredential) return;
    const field = 'body.resourceGroup';
    if (!body.resourceGroup) {
      throw new InputError(
        `provider ${provider.name} acts with the credential of the cluster's resource group: give resourceGroup`,
        [{ field, message: `must name a resource group whose credential is for ${provider.name}` }],
      );
    }
    const group = await this.sm.resourceGroup(body.resourceGroup);
    if (!group) return; // sm answers that the group does not exist
    const credential = group.credentialId ? await this.sm.credential(group.credentialId) : null;
    if (credential?.provider !== provider.name) {
      throw new InputError(
        `resource group ${group.name} has ${credential ? `a credential for ${credential.provider}` : 'no credential'}; provider ${provider.name} needs one for ${provider.name}`,
        [{ field, message: `must name a resource group whose credential is for ${provider.name}` }],
      );
    }
  }
}
