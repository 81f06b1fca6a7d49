/**
 * The bare-metal provider: physical hosts from an inventory, driven through their BMCs over
 * Redfish or IPMI (docs/providers/baremetal.md).
 */
export { BareMetalProvider, providerId, type BareMetalProviderOptions } from './provider.js';
export { connectBmc, validateBmc } from './bmc.js';
export { RedfishBmc } from './redfish.js';
export { IpmiBmc, ipmiHostPort } from './ipmi.js';
export { MemoryHostInventory } from './memory-inventory.js';
export { buildSeedImage, seedMetaData, type SeedFiles } from './seed.js';
export { SeedServer, macPath, type PublishedSeed, type SeedServerOptions } from './seed-server.js';
export { confirmPowerOff, DEFAULT_POWER_TIMEOUT_MS } from './power.js';
export type {
  BareMetalHost,
  Bmc,
  BmcAccess,
  BmcOptions,
  BootDevice,
  HostClaim,
  HostInventory,
  MediaSlot,
} from './types.js';

/** The provider's registered name. */
export const PROVIDER_NAME = 'baremetal';
