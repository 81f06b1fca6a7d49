/**
 * The Kubernetes API of tenant clusters as sddc reaches it: a client with the short-lived admin
 * certificate sm signs, whose requests time out, and the one place where the API's failures become
 * cx errors. Operations, the provider node reader and the health monitor all go through it.
 */
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { ProviderError, ProviderUnavailableError } from '@cx/errors';
import type { TenantAdminCredentials } from '@cx/sm-contract';

/** How long one request to a tenant API may take (`sddc.tenantTimeoutSeconds`); set once when sddc starts. */
let requestTimeoutMs = 30_000;

export function setTenantRequestTimeout(ms: number): void {
  requestTimeoutMs = ms;
}

/**
 * A kubeconfig whose every request is abandoned after the tenant request timeout: an API server
 * that accepts connections but never answers (hung, stopped, overloaded) fails the call, which is
 * retried with backoff, instead of holding the operation and its workflow step forever.
 */
class TimedKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setSignal(AbortSignal.timeout(requestTimeoutMs));
  }
}

/** A client of the tenant API with sm's short-lived admin certificate. */
export function client(credentials: TenantAdminCredentials): KubeConfig {
  const config = new TimedKubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: 'tenant',
        server: credentials.apiEndpoint,
        caData: Buffer.from(credentials.caPem).toString('base64'),
        skipTLSVerify: false,
      },
    ],
    users: [
      {
        name: 'cx-admin',
        certData: Buffer.from(credentials.certPem).toString('base64'),
        keyData: Buffer.from(credentials.keyPem).toString('base64'),
      },
    ],
    contexts: [{ name: 'tenant', cluster: 'tenant', user: 'cx-admin' }],
    currentContext: 'tenant',
  });
  return config;
}

/** Runs a tenant API call, turning its failures into cx errors (5xx and network: retryable). */
export async function tenantCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const status = (error as { code?: unknown }).code;
    // The request's timeout signal fired (node-fetch reports it as an AbortError, fetch as a TimeoutError).
    if (['TimeoutError', 'AbortError'].includes((error as Error).name)) {
      throw new ProviderUnavailableError(
        `the tenant Kubernetes API did not answer within ${Math.round(requestTimeoutMs / 1000)} s (sddc.tenantTimeoutSeconds); it may be down, hung or overloaded`,
      );
    }
    if (typeof status !== 'number' || status >= 500 || status === 429) {
      throw new ProviderUnavailableError(
        `the tenant Kubernetes API failed: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    throw new ProviderError(`the tenant Kubernetes API refused: HTTP ${status}`);
  }
}
