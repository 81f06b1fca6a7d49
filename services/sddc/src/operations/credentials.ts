/**
 * Secrets checked before sm stores them: an infrastructure credential against its provider
 * (vsphere, openstack) and a bare-metal host's BMC access against the BMC. Both travel sealed
 * with the service token and are opened only here.
 */
import { InputError } from '@cx/errors';
import { validateBmc, type BmcAccess } from '@cx/providers-baremetal';
import { openFromTransit, type SddcOperation } from '@cx/queue-contracts';
import type { ProviderCredential } from '@cx/sddc-contract';
import type { ProviderDirectory } from '../providers/provider-directory.js';

type ValidateCredentialOperation = Extract<SddcOperation, { op: 'validate-credential' }>;
type ValidateBmcOperation = Extract<SddcOperation, { op: 'validate-bmc' }>;

export async function validateCredential(
  providers: ProviderDirectory,
  operation: ValidateCredentialOperation,
  serviceToken: string,
): Promise<{ valid: boolean }> {
  const factory = providers.factory(operation.provider);
  if (!factory)
    throw new InputError(
      `provider ${operation.provider} takes no credential, or is not served by this sddc (sddc.providers)`,
      [{ field: 'body.provider', message: 'is not a provider that takes a credential' }],
    );
  await factory.validateCredential(openFromTransit<ProviderCredential>(operation.sealed, serviceToken));
  return { valid: true };
}

export async function validateBmcAccess(
  operation: ValidateBmcOperation,
  serviceToken: string,
): Promise<{ valid: boolean }> {
  await validateBmc(openFromTransit<BmcAccess>(operation.sealed, serviceToken));
  return { valid: true };
}
