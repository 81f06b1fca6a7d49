import { InputError } from '@cx/errors';
import { asCredentialError, reasonOf } from '@cx/provider-kit';
import { IpmiBmc } from './ipmi.js';
import { RedfishBmc } from './redfish.js';
import type { Bmc, BmcAccess, BmcOptions } from './types.js';

/** The client of a host's BMC for its protocol. */
export function connectBmc(access: BmcAccess, options: BmcOptions = {}): Bmc {
  return access.protocol === 'redfish' ? new RedfishBmc(access, options) : new IpmiBmc(access, options);
}

/** Failures that say the request is wrong, with the field to fix. */
const INPUT_REASONS: Record<string, string> = {
  SystemNotFound: 'body.bmc.systemId',
  InvalidAddress: 'body.bmc.address',
  InvalidUsername: 'body.bmc.username',
  InvalidPassword: 'body.bmc.password',
};

/**
 * Checks a BMC before an admin's host registration is stored: logs in and finds the system.
 * Throws `CX_CREDENTIAL_UNREACHABLE`, `CX_CREDENTIAL_UNTRUSTED` (certificate not signed by
 * `caCert`), `CX_CREDENTIAL_REJECTED` (login refused), or an `InputError` naming
 * the field to fix (`body.bmc.systemId`, `.address`, `.username`, `.password`); resolves when
 * the BMC works.
 */
export async function validateBmc(access: BmcAccess, options: BmcOptions = {}): Promise<void> {
  let bmc: ReturnType<typeof connectBmc> | undefined;
  try {
    // One attempt and short deadlines: an admin is waiting for the answer.
    bmc = connectBmc(access, { timeoutMs: 10_000, attempts: 1, ...options });
    await bmc.check();
  } catch (error) {
    const field = INPUT_REASONS[reasonOf(error) ?? ''];
    if (field) {
      const message = error instanceof Error ? error.message : String(error);
      throw new InputError(message, [{ field, message }], { cause: error });
    }
    throw asCredentialError(error, `BMC ${access.address}`);
  } finally {
    await bmc?.close();
  }
}
