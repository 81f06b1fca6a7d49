/**
 * Test support (not exported by the package): reads the OpenStack peer (test/peers/keystone.sh)
 * from `CX_TEST_OPENSTACK`, and reads Nova and Neutron on it directly, with a token the test asks
 * the real Keystone for itself, so that what a test checks does not go through the provider.
 */
import assert from 'node:assert/strict';

/** The JSON line test/peers/keystone.sh prints. */
export interface KeystonePeer {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  applicationCredentialId: string;
  applicationCredentialSecret: string;
  computeUrl: string;
  networkUrl: string;
  image: string;
  network: string;
  /** The external network of the double, whose floating IPs control-plane machines can get. */
  floatingNetwork: string;
  flavor: string;
}

export function keystonePeer(): KeystonePeer {
  const raw = process.env['CX_TEST_OPENSTACK'];
  assert.ok(
    raw,
    'CX_TEST_OPENSTACK is not set: start the peer with `test/peers/keystone.sh start` and export its JSON line as CX_TEST_OPENSTACK',
  );
  const peer = JSON.parse(raw) as KeystonePeer;
  assert.ok(
    peer.floatingNetwork,
    'the peer announces no floatingNetwork: restart it with this version of test/peers/keystone.sh',
  );
  return peer;
}

export interface NeutronPort {
  id: string;
  name: string;
  device_id: string;
  tags: string[];
  security_groups: string[];
  fixed_ips: Array<{ ip_address: string }>;
}
export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  port_id: string | null;
  fixed_ip_address: string | null;
  tags: string[];
}
export interface ServerGroup {
  id: string;
  name: string;
  policy: string;
  members: string[];
}

/** What the peer holds of one cluster, each found by cx's tag or by cx's naming of it. */
export interface ClusterObjects {
  servers: Array<{ id: string; name: string; metadata: Record<string, string> }>;
  ports: NeutronPort[];
  securityGroups: Array<{ id: string; name: string }>;
  serverGroups: ServerGroup[];
  floatingIps: FloatingIp[];
}

/** Nova and Neutron of the peer, read with the test's own Keystone token. */
export class PeerReader {
  private token: string | undefined;

  constructor(readonly peer: KeystonePeer = keystonePeer()) {}

  private async login(): Promise<string> {
    const { peer } = this;
    const answer = await fetch(`${peer.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(20_000),
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: peer.username, domain: { name: peer.userDomainName }, password: peer.password } },
          },
          scope: { project: { name: peer.projectName, domain: { name: peer.projectDomainName } } },
        },
      }),
    });
    assert.equal(answer.status, 201, `Keystone refused the test's own login: ${answer.status}`);
    return answer.headers.get('x-subject-token')!;
  }

  /** `GET` on Nova (`compute`, microversion 2.67) or Neutron (`network`, `v2.0/…`); asserts 200. */
  async get<T>(service: 'compute' | 'network', path: string): Promise<T> {
    this.token ??= await this.login();
    const base = service === 'compute' ? this.peer.computeUrl : this.peer.networkUrl;
    const answer = await fetch(`${base}/${path}`, {
      headers: { 'x-auth-token': this.token, 'openstack-api-version': 'compute 2.67' },
      signal: AbortSignal.timeout(20_000),
    });
    const text = await answer.text();
    assert.equal(answer.status, 200, `GET ${service} ${path}: ${text}`);
    return JSON.parse(text) as T;
  }

  /** `DELETE` on Nova or Neutron, as someone other than cx would (a test's "by hand"); asserts 204. */
  async delete(service: 'compute' | 'network', path: string): Promise<void> {
    this.token ??= await this.login();
    const base = service === 'compute' ? this.peer.computeUrl : this.peer.networkUrl;
    const answer = await fetch(`${base}/${path}`, {
      method: 'DELETE',
      headers: { 'x-auth-token': this.token, 'openstack-api-version': 'compute 2.67' },
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(answer.status, 204, `DELETE ${service} ${path}: ${await answer.text()}`);
  }

  async floatingIps(): Promise<FloatingIp[]> {
    return (await this.get<{ floatingips: FloatingIp[] }>('network', 'v2.0/floatingips')).floatingips;
  }

  /**
   * Everything of the cluster on the peer: servers with metadata `cx-cluster`, ports tagged with
   * it or named like its machine and VIP ports (so that an untagged one counts too), its security
   * group and server group by name or tag, and floating IPs tagged with it or on one of its ports.
   */
  async clusterObjects(clusterId: string): Promise<ClusterObjects> {
    const tag = `cx-cluster=${clusterId}`;
    const escaped = clusterId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const named = new RegExp(`^cx-${escaped}-(vip|m\\d+)$`); // the tests' machine ids are <clusterId>-m<n>
    const [{ servers }, { ports }, { security_groups: groups }, { server_groups: serverGroups }, floatingIps] =
      await Promise.all([
        this.get<{ servers: ClusterObjects['servers'] }>('compute', 'servers/detail'),
        this.get<{ ports: NeutronPort[] }>('network', 'v2.0/ports'),
        this.get<{ security_groups: Array<{ id: string; name: string; tags: string[] }> }>(
          'network',
          'v2.0/security-groups',
        ),
        this.get<{ server_groups: ServerGroup[] }>('compute', 'os-server-groups'),
        this.floatingIps(),
      ]);
    const mine = ports.filter((p) => p.tags.includes(tag) || named.test(p.name));
    return {
      servers: servers.filter((s) => s.metadata['cx-cluster'] === clusterId),
      ports: mine,
      securityGroups: groups.filter((g) => g.name === `cx-${clusterId}` || g.tags.includes(tag)),
      serverGroups: serverGroups.filter((g) => g.name === `cx-${clusterId}-control-plane`),
      floatingIps: floatingIps.filter((f) => f.tags.includes(tag) || mine.some((p) => p.id === f.port_id)),
    };
  }

  /** Asserts that the peer holds nothing of the cluster, naming what is left. */
  async assertNothingLeft(clusterId: string): Promise<void> {
    const left = await this.clusterObjects(clusterId);
    assert.deepEqual(
      {
        servers: left.servers.map((s) => s.name),
        ports: left.ports.map((p) => p.name),
        securityGroups: left.securityGroups.map((g) => g.name),
        serverGroups: left.serverGroups.map((g) => g.name),
        floatingIps: left.floatingIps.map((f) => f.floating_ip_address),
      },
      { servers: [], ports: [], securityGroups: [], serverGroups: [], floatingIps: [] },
      `objects of cluster ${clusterId} are left on the peer`,
    );
  }
}
