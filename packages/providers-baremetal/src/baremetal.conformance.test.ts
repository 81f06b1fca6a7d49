import { describe } from 'node:test';
import { runProviderConformance } from '@cx/sddc-contract/testing';
import { MemoryHostInventory } from './memory-inventory.js';
import { BareMetalProvider } from './provider.js';
import { SeedServer } from './seed-server.js';
import { closedPort, host, ipmiAccess, ipmiPeer, redfishAccess, redfishPeer } from './test-peers.js';

const redfish = redfishPeer();
const ipmi = ipmiPeer();
// The last system and BMC belong to bmc.test.ts, which runs at the same time.
const redfishHosts = redfish.systems
  .slice(0, -1)
  .map((system, n) => host(`rf-${system.name}`, redfishAccess(redfish, system.id), n, system.mac));
const ipmiHosts = ipmi.bmcs.slice(0, -1).map((bmc, n) => host(`ipmi-${n}`, ipmiAccess(bmc), n));
// As sddc runs it: every machine gets a NoCloud seed with its user data (rule O5).
const context = () => ({
  bootstrap: () => Promise.reject(new Error('the seed needs only the user data')),
  userData: async () => '#cloud-config\n',
});

describe('Redfish hosts (sushy-tools)', () => {
  runProviderConformance({
    name: 'baremetal',
    create: async () =>
      new BareMetalProvider({
        inventory: new MemoryHostInventory(redfishHosts),
        seeds: new SeedServer(),
        powerTimeoutMs: 40_000,
      }),
    context,
    unreachable: async () => {
      const access = {
        ...redfishAccess(redfish, redfish.systems[0]!.id),
        address: `https://127.0.0.1:${await closedPort()}`,
      };
      return new BareMetalProvider({ inventory: new MemoryHostInventory([host('rf-closed', access, 0)]) });
    },
    // sushy's fake driver applies a power change 1 to 11 s after the request.
    settleTimeoutMs: 45_000,
  });
});

describe('IPMI hosts (ipmi_sim)', () => {
  runProviderConformance({
    name: 'baremetal',
    create: async () =>
      new BareMetalProvider({
        inventory: new MemoryHostInventory(ipmiHosts),
        seeds: new SeedServer(),
        powerTimeoutMs: 20_000,
      }),
    context,
    unreachable: async () => {
      const access = { ...ipmiAccess(ipmi.bmcs[0]!), address: `127.0.0.1:${await closedPort()}` };
      return new BareMetalProvider({ inventory: new MemoryHostInventory([host('ipmi-closed', access, 0)]) });
    },
    settleTimeoutMs: 30_000,
  });
});
