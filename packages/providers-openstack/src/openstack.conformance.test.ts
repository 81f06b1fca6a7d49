import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runProviderConformance } from '@cx/sddc-contract/testing';
import { OpenStackProviderFactory } from './index.js';
import { PeerReader, keystonePeer } from './keystone-peer.js';

const peer = keystonePeer();
const factory = new OpenStackProviderFactory();
const credential = (endpoint: string) => ({
  id: 'conformance',
  version: 1,
  endpoint,
  username: peer.username,
  password: peer.password,
  insecure: false,
  settings: { projectName: peer.projectName, image: peer.image, network: peer.network },
});
/** The clusters the suite created machines in (it names them itself), to check the peer afterwards. */
const clusters = new Set<string>();

runProviderConformance({
  name: 'openstack',
  create: async () => factory.connect(credential(peer.authUrl)),
  // Port 9 (discard) on loopback: nothing listens there.
  unreachable: async () => factory.connect(credential('http://127.0.0.1:9/v3')),
  context: (clusterId) => {
    clusters.add(clusterId);
    return {
      bootstrap: () => Promise.reject(new Error('the OpenStack provider does not need the cluster PKI')),
      userData: async () => '#cloud-config\nhostname: conformance\n',
    };
  },
  settleTimeoutMs: 60_000,
});

// Runs after the suite, whose `after` deleted every machine it made.
it('leaves no server, port, security group, server group or floating IP of the conformance clusters on the peer', async () => {
  assert.ok(clusters.size > 0, 'the suite ensured no machine');
  const reader = new PeerReader(peer);
  for (const clusterId of clusters) await reader.assertNothingLeft(clusterId);
});
