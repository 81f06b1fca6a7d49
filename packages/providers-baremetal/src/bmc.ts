import { InputError } from '@cx/errors';
import { asCredentialError, reasonOf } from '@cx/provider-kit';
import { IpmiBmc } from './ipmi.js';
import { RedfishBmc } from './redfish.js';
import type { Bmc, BmcAccess, BmcOptions } from './types.js';

/** The client of a host's BMC for its protocol. */
export function connectBmc(access: BmcAccess, options: BmcOptions = {}): Bmc {
  return access.protocol === 'redfish' ? new RedfishBmc(access, options) : new IpmiBmc(access, options);
}

/**
 * Checks a BMC before an admin's host registration is stored: logs in and finds the system.
 * Throws `CX_CREDENTIAL_UNREACHABLE`, `CX_CREDENTIAL_UNTRUSTED` (certificate not signed by
 * `caCert`), `CX_CREDENTIAL_REJECTED` (login refused), or an `InputError` naming
 * `body.bmc.systemId` when the system is not there; resolves when the BMC works.
 */
export async function validateBmc(access: BmcAccess, options: BmcOptions = {}): Promise<void> {
  // One attempt and short deadlines: an admin is waiting for the answer.
  const bmc = connectBmc(access, { timeoutMs: 10_000, attempts: 1, ...options });
  try {
    await bmc.check();
  } catch (error) {
    if (reasonOf(error) === 'SystemNotFound') {
      const message = error instanceof Error ? error.message : String(error);
      throw new InputError(message, [{ field: 'body.bmc.systemId', message }], { cause: error });
    }
    if (reasonOf(error) === 'InvalidAddress') {
      const message = error instanceof Error ? error.message : String(error);
      throw new InputError(message, [{ field: 'body.bmc.address', message }], { cause: error });
    }
    throw asCredentialError(error, `BMC ${access.address}`);
  } finally {
    await bmc.close();
  }
}
