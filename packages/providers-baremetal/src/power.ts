import { pollUntil } from '@cx/provider-kit';
import type { PowerState } from '@cx/sddc-contract';

/** Default deadline for a power-off to be read back as off (BMCs apply power changes late). */
export const DEFAULT_POWER_TIMEOUT_MS = 60_000;

/**
 * Waits until the BMC reads the host as off: a fenced host must really be off before its
 * workloads are started elsewhere, so an unconfirmed power-off is an error (`PowerOffNotConfirmed`).
 */
/**
 * Waits until the BMC reads the host as on. A BMC may apply a power-on late: until it reads on, a
 * power-off would find the host already off and do nothing, and the late power-on would then leave
 * a released host running (`PowerOnNotConfirmed`).
 */
export async function confirmPowerOn(read: () => Promise<PowerState>, what: string, timeoutMs: number): Promise<void> {
  await pollUntil(read, (state) => state === 'on', { timeoutMs, what, reason: 'PowerOnNotConfirmed' });
}

export async function confirmPowerOff(
  read: () => Promise<PowerState>,
  label: string,
  timeoutMs: number,
): Promise<void> {
  await pollUntil(read, (state) => state === 'off', {
    timeoutMs,
    intervalMs: 500,
    what: `${label}: the power-off (read back as off)`,
    reason: 'PowerOffNotConfirmed',
  });
}
