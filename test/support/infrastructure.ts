/** The infrastructure peers `npm test` started (test/peers/), as request bodies for cx's API. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

function peer<T>(variable: string, script: string): T {
  const raw = process.env[variable];
  assert.ok(raw, `${variable} is not set: run the tests with \`npm test\`, which starts it (test/peers/${script})`);
  return JSON.parse(raw) as T;
}

export interface VcsimPeer {
  url: string; username: string; password: string; caFile: string;
  datacenter: string; computeCluster: string; resourcePool: string; datastore: string; network: string; folder: string; template: string; hosts: number;
  /** govc, the vSphere CLI built with vcsim: checks the simulator independently of cx. */
  govc: string;
}

export function vcsimPeer(): VcsimPeer {
  return peer<VcsimPeer>('CX_TEST_VCSIM', 'vcsim.sh');
}

/** A `POST /api/v1/credentials` body for the vcsim peer; `overrides` break it on purpose. */
export function vsphereCredential(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const vc = vcsimPeer();
  return {
    name, provider: 'vsphere', endpoint: vc.url, username: vc.username, password: vc.password, caCert: readFileSync(vc.caFile, 'utf8'),
    settings: { datacenter: vc.datacenter, computeCluster: vc.computeCluster, datastore: vc.datastore, network: vc.network, folder: vc.folder, template: vc.template, ipTimeoutSeconds: 0 },
    ...overrides,
  };
}

export interface RedfishPeer { url: string; username: string; password: string; caFile: string; systems: Array<{ id: string; name: string; mac: string }> }
export interface IpmiPeer { bmcs: Array<{ address: string; username: string; password: string }> }

export function redfishPeer(): RedfishPeer {
  return peer<RedfishPeer>('CX_TEST_REDFISH', 'redfish.sh');
}

export function ipmiPeer(): IpmiPeer {
  return peer<IpmiPeer>('CX_TEST_IPMI', 'ipmi.sh');
}

/** A `POST /api/v1/hosts` body for system `index` of the Redfish peer. */
export function redfishHost(name: string, index: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const bmc = redfishPeer();
  const system = bmc.systems[index];
  assert.ok(system, `the Redfish peer has no system ${index}`);
  return {
    name, bmc: { protocol: 'redfish', address: bmc.url, username: bmc.username, password: bmc.password, caCert: readFileSync(bmc.caFile, 'utf8'), systemId: system.id },
    bootMac: system.mac, addresses: [`192.0.2.${101 + index}`], capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 200 }, ...overrides,
  };
}

/** A `POST /api/v1/hosts` body for BMC `index` of the IPMI peer. */
export function ipmiHost(name: string, index: number): Record<string, unknown> {
  const bmc = ipmiPeer().bmcs[index];
  assert.ok(bmc, `the IPMI peer has no BMC ${index}`);
  return { name, bmc: { protocol: 'ipmi', ...bmc }, addresses: [`192.0.2.${201 + index}`], capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 200 } };
}

export interface OpenStackPeer {
  authUrl: string; username: string; password: string; projectName: string; userDomainName: string; projectDomainName: string;
  applicationCredentialId: string; applicationCredentialSecret: string; region: string;
  computeUrl: string; networkUrl: string; imageUrl: string; computeIsTestDouble: boolean; network: string; image: string; flavor: string;
}

export function openstackPeer(): OpenStackPeer {
  return peer<OpenStackPeer>('CX_TEST_OPENSTACK', 'keystone.sh');
}

/** A `POST /api/v1/credentials` body for the Keystone peer (password auth, project scope). */
export function openstackCredential(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const os = openstackPeer();
  return {
    name, provider: 'openstack', endpoint: os.authUrl, username: os.username, password: os.password,
    settings: { projectName: os.projectName, userDomainName: os.userDomainName, projectDomainName: os.projectDomainName, region: os.region, image: os.image, network: os.network, flavor: os.flavor },
    ...overrides,
  };
}

/** The servers Nova lists for the peer's project, read with a token asked from Keystone directly (not through cx). */
export async function openstackServers(): Promise<Array<{ id: string; name: string; status: string; metadata: Record<string, string> }>> {
  const os = openstackPeer();
  const auth = await fetch(`${os.authUrl}/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: os.username, domain: { name: os.userDomainName }, password: os.password } } }, scope: { project: { name: os.projectName, domain: { name: os.projectDomainName } } } } }),
  });
  assert.equal(auth.status, 201, `Keystone refused the test's own login: ${auth.status}`);
  const token = auth.headers.get('x-subject-token')!;
  const servers = await fetch(`${os.computeUrl}/servers/detail`, { headers: { 'x-auth-token': token, 'openstack-api-version': 'compute 2.67' } });
  assert.equal(servers.status, 200);
  return ((await servers.json()) as { servers: Array<{ id: string; name: string; status: string; metadata: Record<string, string> }> }).servers;
}
