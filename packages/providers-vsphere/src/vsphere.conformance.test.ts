import { after } from 'node:test';
import { runProviderConformance } from '@cx/sddc-contract/testing';
import { VsphereProviderFactory } from './index.js';
import { GuestToolsStandIn, credential, vcsimPeer } from './vcsim-peer.js';

const peer = vcsimPeer();
const factory = new VsphereProviderFactory();
// vcsim has no guest OS: this reports the IPs that VMware Tools would.
const guest = new GuestToolsStandIn(peer);
guest.start();
after(() => guest.stop());

runProviderConformance({
  name: 'vsphere',
  create: async () => factory.connect(credential(peer)),
  // A closed loopback port: nothing listens there.
  unreachable: async () =>
    new VsphereProviderFactory({ requestTimeoutMs: 2_000 }).connect(
      credential(peer, { endpoint: 'https://127.0.0.1:9/sdk' }),
    ),
  context: () => ({
    bootstrap: () => Promise.reject(new Error('the vSphere provider does not bootstrap clusters itself')),
    userData: () => Promise.resolve('#cloud-config\nruncmd: [echo conformance]\n'),
  }),
  settleTimeoutMs: 30_000,
});
