/** The infrastructure peers `npm test` started (test/peers/), as request bodies for cx's API. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

function peer<T>(variable: string, script: string): T {
  const raw = process.env[variable];
  assert.ok(raw, `${variable} is not set: run the tests with \`npm test\`, which starts it (test/peers/${script})`);
  return JSON.parse(raw) as T;
}

export interface VcsimPeer {
  url: string;
  username: string;
  password: string;
  caFile: string;
  datacenter: string;
  computeCluster: string;
  resourcePool: string;
  datastore: string;
  network: string;
  folder: string;
  template: string;
  hosts: number;
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
    name,
    provider: 'vsphere',
    endpoint: vc.url,
    username: vc.username,
    password: vc.password,
    caCert: readFileSync(vc.caFile, 'utf8'),
    settings: {
      datacenter: vc.datacenter,
      computeCluster: vc.computeCluster,
      datastore: vc.datastore,
      network: vc.network,
      folder: vc.folder,
      template: vc.template,
      ipTimeoutSeconds: 0,
    },
    ...overrides,
  };
}

export interface RedfishPeer {
  url: string;
  username: string;
  password: string;
  caFile: string;
  systems: Array<{ id: string; name: string; mac: string }>;
}
export interface IpmiPeer {
  bmcs: Array<{ address: string; username: string; password: string }>;
}

export function redfishPeer(): RedfishPeer {
  return peer<RedfishPeer>('CX_TEST_REDFISH', 'redfish.sh');
}

export function ipmiPeer(): IpmiPeer {
  return peer<IpmiPeer>('CX_TEST_IPMI', 'ipmi.sh');
}

/** A `POST /api/v1/hosts` body for system `index` of the Redfish peer. */
export function redfishHost(
  name: string,
  index: number,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const bmc = redfishPeer();
  const system = bmc.systems[index];
  assert.ok(system, `the Redfish peer has no system ${index}`);
  return {
    name,
    bmc: {
      protocol: 'redfish',
      address: bmc.url,
      username: bmc.username,
      password: bmc.password,
      caCert: readFileSync(bmc.caFile, 'utf8'),
      systemId: system.id,
    },
    bootMac: system.mac,
    addresses: [`192.0.2.${101 + index}`],
    capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 200 },
    ...overrides,
  };
}

/** A `POST /api/v1/hosts` body for BMC `index` of the IPMI peer. */
export function ipmiHost(name: string, index: number): Record<string, unknown> {
  const bmc = ipmiPeer().bmcs[index];
  assert.ok(bmc, `the IPMI peer has no BMC ${index}`);
  return {
    name,
    bmc: { protocol: 'ipmi', ...bmc },
    addresses: [`192.0.2.${201 + index}`],
    capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 200 },
  };
}

export interface OpenStackPeer {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  applicationCredentialId: string;
  applicationCredentialSecret: string;
  region: string;
  computeUrl: string;
  networkUrl: string;
  imageUrl: string;
  computeIsTestDouble: boolean;
  network: string;
  image: string;
  flavor: string;
  /** The external network floating IPs come from (test/peers/keystone.sh announces it). */
  floatingNetwork: string;
}

export function openstackPeer(): OpenStackPeer {
  return peer<OpenStackPeer>('CX_TEST_OPENSTACK', 'keystone.sh');
}

/**
 * A `POST /api/v1/credentials` body for the Keystone peer (password auth, project scope), with
 * `floatingNetwork`: control-plane machines get a floating IP.
 */
export function openstackCredential(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const os = openstackPeer();
  assert.ok(
    os.floatingNetwork,
    'the Keystone peer announces no floatingNetwork: restart it with this version of test/peers/keystone.sh',
  );
  return {
    name,
    provider: 'openstack',
    endpoint: os.authUrl,
    username: os.username,
    password: os.password,
    settings: {
      projectName: os.projectName,
      userDomainName: os.userDomainName,
      projectDomainName: os.projectDomainName,
      region: os.region,
      image: os.image,
      network: os.network,
      flavor: os.flavor,
      floatingNetwork: os.floatingNetwork,
    },
    ...overrides,
  };
}

/** `GET` on the peer's Nova (`compute`) or Neutron (`network`), with a token asked from Keystone directly (not through cx). */
export async function openstackGet<T>(service: 'compute' | 'network', path: string): Promise<T> {
  const os = openstackPeer();
  const auth = await fetch(`${os.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(20_000),
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: os.username, domain: { name: os.userDomainName }, password: os.password } },
        },
        scope: { project: { name: os.projectName, domain: { name: os.projectDomainName } } },
      },
    }),
  });
  assert.equal(auth.status, 201, `Keystone refused the test's own login: ${auth.status}`);
  const token = auth.headers.get('x-subject-token')!;
  const answer = await fetch(`${service === 'compute' ? os.computeUrl : os.networkUrl}/${path}`, {
    headers: { 'x-auth-token': token, 'openstack-api-version': 'compute 2.67' },
    signal: AbortSignal.timeout(20_000),
  });
  const text = await answer.text();
  assert.equal(answer.status, 200, `GET ${service} ${path}: ${text}`);
  return JSON.parse(text) as T;
}

/** The servers Nova lists for the peer's project. */
export async function openstackServers(): Promise<
  Array<{ id: string; name: string; status: string; metadata: Record<string, string> }>
> {
  return (
    await openstackGet<{
      servers: Array<{ id: string; name: string; status: string; metadata: Record<string, string> }>;
    }>('compute', 'servers/detail')
  ).servers;
}

/** What the peer holds of a cluster, by cx's tag `cx-cluster=<id>` or by cx's names (`cx-<id>`, `cx-<id>-control-plane`, `cx-<id>-vip`). */
export interface OpenStackClusterObjects {
  servers: Array<{ id: string; name: string }>;
  ports: Array<{ id: string; name: string; device_id: string; security_groups: string[] }>;
  securityGroups: Array<{ id: string; name: string }>;
  serverGroups: Array<{ id: string; name: string; members: string[] }>;
  floatingIps: Array<{ id: string; floating_ip_address: string; port_id: string | null }>;
}

export async function openstackClusterObjects(clusterId: string): Promise<OpenStackClusterObjects> {
  const tag = `cx-cluster=${clusterId}`;
  type Tagged = { tags: string[] };
  const [servers, { ports }, { security_groups: groups }, { server_groups: serverGroups }, { floatingips }] =
    await Promise.all([
      openstackServers(),
      openstackGet<{ ports: Array<OpenStackClusterObjects['ports'][number] & Tagged> }>('network', 'v2.0/ports'),
      openstackGet<{ security_groups: Array<OpenStackClusterObjects['securityGroups'][number] & Tagged> }>(
        'network',
        'v2.0/security-groups',
      ),
      openstackGet<{ server_groups: OpenStackClusterObjects['serverGroups'] }>('compute', 'os-server-groups'),
      openstackGet<{ floatingips: Array<OpenStackClusterObjects['floatingIps'][number] & Tagged> }>(
        'network',
        'v2.0/floatingips',
      ),
    ]);
  const mine = ports.filter((p) => p.tags.includes(tag) || p.name === `cx-${clusterId}-vip`);
  return {
    servers: servers.filter((s) => s.metadata['cx-cluster'] === clusterId).map(({ id, name }) => ({ id, name })),
    ports: mine,
    securityGroups: groups.filter((g) => g.name === `cx-${clusterId}` || g.tags.includes(tag)),
    serverGroups: serverGroups.filter((g) => g.name === `cx-${clusterId}-control-plane`),
    floatingIps: floatingips.filter((f) => f.tags.includes(tag) || mine.some((p) => p.id === f.port_id)),
  };
}
