import assert from 'node:assert/strict';
import { runProviderConformance } from '@cx/sddc-contract/testing';
import { OpenStackProviderFactory } from './index.js';

const raw = process.env['CX_TEST_OPENSTACK'];
assert.ok(raw, 'CX_TEST_OPENSTACK is not set: start the peer with `test/peers/keystone.sh start` and export its JSON line as CX_TEST_OPENSTACK');
const peer = JSON.parse(raw) as { authUrl: string; username: string; password: string; projectName: string; image: string; network: string; flavor: string };
const factory = new OpenStackProviderFactory();
const credential = (endpoint: string) => ({
  id: 'conformance', version: 1, endpoint, username: peer.username, password: peer.password, insecure: false,
  settings: { projectName: peer.projectName, image: peer.image, network: peer.network },
});

runProviderConformance({
  name: 'openstack',
  create: async () => factory.connect(credential(peer.authUrl)),
  // Port 9 (discard) on loopback: nothing listens there.
  unreachable: async () => factory.connect(credential('http://127.0.0.1:9/v3')),
  context: () => ({
    bootstrap: () => Promise.reject(new Error('the OpenStack provider does not need the cluster PKI')),
    userData: async () => '#cloud-config\nhostname: conformance\n',
  }),
  settleTimeoutMs: 60_000,
});
