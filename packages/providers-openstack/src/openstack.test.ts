import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type MachineSpec, type ProviderCredential } from '@cx/sddc-contract';
import { KeystoneSession, OpenStackProviderFactory, type OpenStackProvider } from './index.js';
import { PeerReader, keystonePeer } from './keystone-peer.js';

const peer = keystonePeer();
const factory = new OpenStackProviderFactory();

function credential(
  overrides: Partial<ProviderCredential> = {},
  settings: Record<string, unknown> = {},
): ProviderCredential {
  return {
    id: 'test',
    version: 1,
    endpoint: peer.authUrl,
    username: peer.username,
    password: peer.password,
    insecure: false,
    ...overrides,
    settings: {
      projectName: peer.projectName,
      image: peer.image,
      network: peer.network,
      flavor: peer.flavor,
      ...settings,
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    const e = error as { code?: string; message: string; details?: { fields?: Array<{ field: string }> } };
    assert.equal(e.code, code, e.message);
    if (field)
      assert.deepEqual(
        e.details?.fields?.map((f) => f.field),
        [field],
      );
    assert.ok(
      !e.message.includes(peer.password) && !e.message.includes('wrong-password'),
      'a password is in the message',
    );
    return true;
  });
}

describe('OpenStack credential validation against the real Keystone', () => {
  let tlsServer: ReturnType<typeof createServer> | undefined;
  let tlsPort = 0;
  before(async () => {
    // A TLS endpoint with a self-signed certificate nobody gave cx as caCert.
    const dir = mkdtempSync(join(tmpdir(), 'cx-openstack-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    tlsServer = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_req, res) => res.end('{}'),
    );
    await new Promise<void>((resolve) => tlsServer!.listen(0, '127.0.0.1', resolve));
    tlsPort = (tlsServer.address() as AddressInfo).port;
  });
  after(() => {
    tlsServer?.close();
  });

  it('accepts a password login scoped to the project', async () => {
    await factory.validateCredential(credential());
  });

  it('accepts an application credential', async () => {
    await factory.validateCredential(
      credential(
        { username: peer.applicationCredentialId, password: peer.applicationCredentialSecret },
        { authType: 'application-credential' },
      ),
    );
  });

  it('rejects a wrong password with CX_CREDENTIAL_REJECTED', async () => {
    await rejectsWith(factory.validateCredential(credential({ password: 'wrong-password' })), 'CX_CREDENTIAL_REJECTED');
  });

  it('rejects a wrong application credential secret with CX_CREDENTIAL_REJECTED', async () => {
    await rejectsWith(
      factory.validateCredential(
        credential(
          { username: peer.applicationCredentialId, password: 'wrong-password' },
          { authType: 'application-credential' },
        ),
      ),
      'CX_CREDENTIAL_REJECTED',
    );
  });

  it('reports a closed port as CX_CREDENTIAL_UNREACHABLE', async () => {
    await rejectsWith(
      factory.validateCredential(credential({ endpoint: 'http://127.0.0.1:9/v3' })),
      'CX_CREDENTIAL_UNREACHABLE',
    );
  });

  it('reports an untrusted certificate as CX_CREDENTIAL_UNTRUSTED', async () => {
    await rejectsWith(
      factory.validateCredential(credential({ endpoint: `https://127.0.0.1:${tlsPort}/v3` })),
      'CX_CREDENTIAL_UNTRUSTED',
    );
  });

  for (const key of ['image', 'network', 'flavor', 'floatingNetwork']) {
    it(`names body.settings.${key} when the ${key} does not exist`, async () => {
      await rejectsWith(
        factory.validateCredential(credential({}, { [key]: `no-such-${key}` })),
        'CX_INPUT_INVALID',
        `body.settings.${key}`,
      );
    });
  }

  it('names body.settings.image when it is missing', async () => {
    await rejectsWith(
      factory.validateCredential(credential({}, { image: undefined })),
      'CX_INPUT_INVALID',
      'body.settings.image',
    );
  });

  it('accepts an external network as settings.floatingNetwork, and names it when it is not external or not a name', async () => {
    await factory.validateCredential(credential({}, { floatingNetwork: peer.floatingNetwork }));
    await rejectsWith(
      factory.validateCredential(credential({}, { floatingNetwork: peer.network })),
      'CX_INPUT_INVALID',
      'body.settings.floatingNetwork',
    );
    for (const wrong of ['', 42]) {
      await rejectsWith(
        (async () => factory.connect(credential({}, { floatingNetwork: wrong })))(),
        'CX_INPUT_INVALID',
        'body.settings.floatingNetwork',
      );
    }
  });
});

describe('OpenStack machines (Keystone real, Nova/Neutron test double)', () => {
  const clusterId = `os-${randomUUID().slice(0, 8)}`;
  const reader = new PeerReader(peer);
  let provider: OpenStackProvider;
  const spec = (n: number, role: 'control-plane' | 'worker' = 'worker') => ({
    machineId: `${clusterId}-m${n}`,
    clusterId,
    name: `${clusterId}-m${n}`,
    role,
    pool: role,
    kubernetesVersion: '1.37.2',
  });
  const get = async <T>(service: 'compute' | 'network', path: string): Promise<T> => {
    const response = await provider.call(service, 'GET', path);
    assert.equal(response.status, 200, response.text);
    return JSON.parse(response.text) as T;
  };

  before(() => {
    provider = factory.connect(credential());
  });
  after(async () => {
    for (const m of await provider.listMachines(clusterId)) await provider.deleteMachine(clusterId, m.machineId);
    await provider.close();
  });

  it('creates servers with cx metadata and hands user_data to Nova unchanged', async () => {
    const userData = '#cloud-config\nruncmd: [kubeadm join --token abc.def]\n';
    const status = await provider.ensureMachine(spec(1), {
      bootstrap: () => Promise.reject(new Error('unused')),
      userData: async () => userData,
    });
    const { server } = await get<{
      server: { metadata: Record<string, string>; 'OS-EXT-SRV-ATTR:user_data': string; name: string };
    }>('compute', `servers/${status.providerId}`);
    assert.equal(server.metadata['cx-cluster'], clusterId);
    assert.equal(server.metadata['cx-machine'], spec(1).machineId);
    assert.equal(server.name, spec(1).name);
    assert.equal(Buffer.from(server['OS-EXT-SRV-ATTR:user_data'], 'base64').toString('utf8'), userData);
    const port = await provider.machinePort(spec(1).machineId);
    assert.ok(port && port.addresses.length === 1, 'the machine has no port with one fixed address');
    const { port: neutronPort } = await get<{ port: { tags: string[]; security_groups: string[]; device_id: string } }>(
      'network',
      `v2.0/ports/${port!.portId}`,
    );
    assert.deepEqual(neutronPort.tags.sort(), [`cx-cluster=${clusterId}`, `cx-machine=${spec(1).machineId}`]);
    assert.equal(neutronPort.device_id, status.providerId);
    const { security_group_rules: rules } = await get<{
      security_group_rules: Array<{ port_range_min: number; port_range_max: number }>;
    }>('network', `v2.0/security-group-rules?security_group_id=${neutronPort.security_groups[0]}`);
    assert.ok(
      rules.some((r) => r.port_range_min === 6443 && r.port_range_max === 6443),
      'no rule for the Kubernetes API port',
    );
    assert.ok(
      rules.some((r) => r.port_range_min === 30000 && r.port_range_max === 32767),
      'no rule for the node ports',
    );
  });

  it('puts control-plane servers in one anti-affinity server group', async () => {
    const [a, b] = await Promise.all([
      provider.ensureMachine(spec(2, 'control-plane')),
      provider.ensureMachine(spec(3, 'control-plane')),
    ]);
    const group = await provider.serverGroup(clusterId);
    assert.ok(group, 'no control-plane server group');
    assert.equal(group.policy, 'anti-affinity');
    assert.deepEqual([...group.members].sort(), [a.providerId, b.providerId].sort());
    const { server_groups: groups } = await get<{ server_groups: Array<{ name: string }> }>(
      'compute',
      'os-server-groups',
    );
    assert.equal(
      groups.filter((g) => g.name === `cx-${clusterId}-control-plane`).length,
      1,
      'the server group was created twice',
    );
  });

  it('reports a server Nova put in ERROR as Failed, with its fault message', async () => {
    // The double schedules on 3 hosts: a 4th member of the anti-affinity group cannot be placed.
    await provider.ensureMachine(spec(4, 'control-plane'));
    const failed = await provider.ensureMachine(spec(5, 'control-plane'));
    assert.equal(failed.phase, 'Failed');
    assert.equal((await provider.getMachine(clusterId, spec(5).machineId))?.phase, 'Failed');
    await assert.rejects(provider.ensureMachine(spec(5, 'control-plane')), (error: unknown) => {
      const e = error as { code?: string; message: string; details?: { reason?: string } };
      assert.equal(e.code, 'CX_PROVIDER_ERROR');
      assert.equal(e.details?.reason, 'ServerFailed');
      assert.match(e.message, /No valid host was found/);
      return true;
    });
    await provider.deleteMachine(clusterId, spec(5).machineId);
    assert.equal(await provider.getMachine(clusterId, spec(5).machineId), null);
  });

  it('does not list a server without cx metadata', async () => {
    const { imageId } = await provider.resolve();
    const created = await provider.call('compute', 'POST', 'servers', {
      server: { name: `${clusterId}-foreign`, flavorRef: 'f-small', imageRef: imageId, networks: 'none' },
    });
    assert.equal(created.status, 202, created.text);
    const id = (JSON.parse(created.text) as { server: { id: string } }).server.id;
    try {
      const listed = await provider.listMachines(clusterId);
      assert.ok(listed.length >= 1);
      assert.ok(!listed.some((m) => m.providerId === id), 'a server without cx metadata was listed');
    } finally {
      await provider.call('compute', 'DELETE', `servers/${id}`);
    }
  });

  it('reserves a VIP once and allows it on a machine port', async () => {
    const vip = await provider.reserveVip(clusterId);
    assert.deepEqual(await provider.reserveVip(clusterId), vip);
    const port = await provider.machinePort(spec(1).machineId);
    await provider.allowVip(port!.portId, vip.address);
    await provider.allowVip(port!.portId, vip.address);
    const { port: read } = await get<{ port: { allowed_address_pairs: Array<{ ip_address: string }> } }>(
      'network',
      `v2.0/ports/${port!.portId}`,
    );
    assert.deepEqual(
      read.allowed_address_pairs.map((p) => p.ip_address),
      [vip.address],
    );
    const deleted = await provider.call('network', 'DELETE', `v2.0/ports/${vip.portId}`);
    assert.equal(deleted.status, 204);
  });

  it('keeps the security group and server group of the cluster while it has machines', async () => {
    const port = await provider.machinePort(spec(1).machineId);
    await provider.deleteMachine(clusterId, spec(1).machineId);
    const left = await reader.clusterObjects(clusterId);
    assert.ok(
      !left.servers.some((s) => s.metadata['cx-machine'] === spec(1).machineId),
      "the deleted machine's server is still there",
    );
    assert.ok(!left.ports.some((p) => p.id === port!.portId), "the deleted machine's port is still there");
    assert.deepEqual(
      left.securityGroups.map((g) => g.name),
      [`cx-${clusterId}`],
    );
    assert.deepEqual(
      left.serverGroups.map((g) => g.name),
      [`cx-${clusterId}-control-plane`],
    );
    assert.deepEqual(left.floatingIps, [], 'without settings.floatingNetwork no floating IP is allocated');
  });

  it('logs in again after Keystone revoked its token', async () => {
    const before = await provider.session.token();
    const revoke = await fetch(`${peer.authUrl}/auth/tokens`, {
      method: 'DELETE',
      headers: { 'X-Auth-Token': before, 'X-Subject-Token': before },
    });
    assert.equal(revoke.status, 204);
    const check = await fetch(`${peer.authUrl}/auth/tokens`, {
      headers: { 'X-Auth-Token': before, 'X-Subject-Token': before },
    });
    assert.notEqual(check.status, 200, 'Keystone still accepts the revoked token');
    assert.ok((await provider.listMachines(clusterId)).length >= 1);
    assert.notEqual(await provider.session.token(), before);
  });

  it('renews a token that is close to its expires_at', async () => {
    const auth = {
      authUrl: peer.authUrl,
      authType: 'password' as const,
      username: peer.username,
      password: peer.password,
      userDomainName: 'Default',
      projectName: peer.projectName,
      projectDomainName: 'Default',
      interface: 'public' as const,
      insecure: false,
    };
    const lasting = new KeystoneSession(auth);
    // The peer's tokens live an hour: renewing 2 hours ahead means every token is already due.
    const due = new KeystoneSession({ ...auth, renewBeforeMs: 2 * 3600_000 });
    try {
      assert.equal(await lasting.token(), await lasting.token());
      const first = await due.token();
      await new Promise((resolve) => setTimeout(resolve, 1100)); // fernet tokens of the same second are identical
      assert.notEqual(await due.token(), first);
    } finally {
      await Promise.all([lasting.close(), due.close()]);
    }
  });

  it('removes the security group, the server group and the VIP port with the last machine; nothing of the cluster is left', async () => {
    const vip = await provider.reserveVip(clusterId);
    const before = await reader.clusterObjects(clusterId);
    assert.ok(before.servers.length >= 3, `the cluster has ${before.servers.length} servers`);
    assert.ok(
      before.ports.some((p) => p.id === vip.portId),
      'the VIP port is not there',
    );
    assert.equal(before.securityGroups.length, 1);
    assert.equal(before.serverGroups.length, 1);
    // Deleted all at once, as the cluster-delete workflow does: whichever is last cleans up.
    await Promise.all(
      (await provider.listMachines(clusterId)).map((m) => provider.deleteMachine(clusterId, m.machineId)),
    );
    await reader.assertNothingLeft(clusterId);
    const { security_group_rules: rules } = await reader.get<{ security_group_rules: unknown[] }>(
      'network',
      `v2.0/security-group-rules?security_group_id=${before.securityGroups[0]!.id}`,
    );
    assert.deepEqual(rules, [], 'the rules of the deleted security group are left');
    // A repeat (a job run again after a crash) finds nothing to do, and succeeds.
    await provider.deleteMachine(clusterId, spec(2).machineId);
    await reader.assertNothingLeft(clusterId);
  });
});

describe('OpenStack clean-up of a cluster racing an ensure of the same cluster', () => {
  const reader = new PeerReader(peer);
  const providers: OpenStackProvider[] = [];
  const clusters: string[] = [];
  const cluster = (): string => {
    const id = `race-${randomUUID().slice(0, 8)}`;
    clusters.push(id);
    return id;
  };
  const cp = (clusterId: string, n: number): MachineSpec => ({
    machineId: `${clusterId}-m${n}`,
    clusterId,
    name: `${clusterId}-m${n}`,
    role: 'control-plane',
    pool: 'control-plane',
    kubernetesVersion: '1.37.2',
  });
  const connect = (): OpenStackProvider => {
    const p = factory.connect(credential());
    providers.push(p);
    return p;
  };
  /** The machine's server is on the peer, its port in the cluster's security group, and it is a member of the cluster's server group. */
  const assertWhole = async (clusterId: string, machineId: string): Promise<void> => {
    const objects = await reader.clusterObjects(clusterId);
    const server = objects.servers.find((s) => s.metadata['cx-machine'] === machineId);
    assert.ok(server, `machine ${machineId} has no server`);
    const port = objects.ports.find((p) => p.device_id === server.id);
    assert.ok(port, `machine ${machineId} has no port bound to its server`);
    assert.deepEqual(
      objects.securityGroups.map((g) => g.id),
      port.security_groups,
      'the port is not in the one security group of the cluster',
    );
    assert.deepEqual(
      objects.serverGroups.map((g) => g.members),
      [[server.id]],
      'the server is not in the one server group of the cluster',
    );
  };

  after(async () => {
    const [cleaner] = providers;
    if (cleaner)
      for (const clusterId of clusters)
        for (const m of await cleaner.listMachines(clusterId)) await cleaner.deleteMachine(clusterId, m.machineId);
    await Promise.all(providers.map((p) => p.close()));
  });

  it('an sddc replica that remembered the deleted security group and server group creates them again', async () => {
    const clusterId = cluster();
    const [a, b] = [connect(), connect()];
    await a.ensureMachine(cp(clusterId, 1));
    await b.deleteMachine(clusterId, cp(clusterId, 1).machineId);
    await reader.assertNothingLeft(clusterId);
    // `a` still holds the ids of the deleted security group and server group.
    await a.ensureMachine(cp(clusterId, 2));
    await assertWhole(clusterId, cp(clusterId, 2).machineId);
    await a.deleteMachine(clusterId, cp(clusterId, 2).machineId);
    await reader.assertNothingLeft(clusterId);
  });

  for (const first of ['delete', 'ensure'] as const) {
    it(`an ensure racing the delete of the last machine (${first} started first) gets a whole machine`, async () => {
      const clusterId = cluster();
      const p = connect();
      await p.ensureMachine(cp(clusterId, 1));
      const remove = (): Promise<void> => p.deleteMachine(clusterId, cp(clusterId, 1).machineId);
      const ensure = (): Promise<unknown> => p.ensureMachine(cp(clusterId, 2));
      await Promise.all(first === 'delete' ? [remove(), ensure()] : [ensure(), remove()]);
      await assertWhole(clusterId, cp(clusterId, 2).machineId);
      assert.ok(
        !(await reader.clusterObjects(clusterId)).servers.some(
          (s) => s.metadata['cx-machine'] === cp(clusterId, 1).machineId,
        ),
      );
      await p.deleteMachine(clusterId, cp(clusterId, 2).machineId);
      await reader.assertNothingLeft(clusterId);
    });
  }
});

describe('OpenStack floating IPs (settings.floatingNetwork)', () => {
  const clusterId = `fip-${randomUUID().slice(0, 8)}`;
  const reader = new PeerReader(peer);
  let provider: OpenStackProvider;
  let externalId = '';
  const spec = (n: number, role: 'control-plane' | 'worker'): MachineSpec => ({
    machineId: `${clusterId}-m${n}`,
    clusterId,
    name: `${clusterId}-m${n}`,
    role,
    pool: role,
    kubernetesVersion: '1.37.2',
  });
  const fipsOf = async (): Promise<Awaited<ReturnType<PeerReader['floatingIps']>>> =>
    (await reader.clusterObjects(clusterId)).floatingIps;

  before(async () => {
    provider = factory.connect(credential({}, { floatingNetwork: peer.floatingNetwork }));
    const { networks } = await reader.get<{ networks: Array<{ id: string }> }>(
      'network',
      `v2.0/networks?name=${peer.floatingNetwork}`,
    );
    externalId = networks[0]!.id;
  });
  after(async () => {
    for (const m of await provider.listMachines(clusterId)) await provider.deleteMachine(clusterId, m.machineId);
    await provider.close();
  });

  it('gives a control-plane machine a floating IP on its port, tagged, and reports it after its fixed address', async () => {
    const status = await provider.ensureMachine(spec(1, 'control-plane'));
    const port = await provider.machinePort(spec(1, 'control-plane').machineId);
    const fips = await fipsOf();
    assert.equal(fips.length, 1, JSON.stringify(fips));
    const [fip] = fips as [(typeof fips)[number]];
    assert.equal(fip.floating_network_id, externalId);
    assert.equal(fip.port_id, port!.portId);
    assert.equal(fip.fixed_ip_address, port!.addresses[0]);
    assert.deepEqual([...fip.tags].sort(), [
      `cx-cluster=${clusterId}`,
      `cx-machine=${spec(1, 'control-plane').machineId}`,
    ]);
    assert.deepEqual(status.addresses, [port!.addresses[0], fip.floating_ip_address]);
    assert.deepEqual((await provider.getMachine(clusterId, status.machineId))?.addresses, status.addresses);
    assert.deepEqual(
      (await provider.listMachines(clusterId)).find((m) => m.machineId === status.machineId)?.addresses,
      status.addresses,
    );
    const again = await provider.ensureMachine(spec(1, 'control-plane'));
    assert.deepEqual(again.addresses, status.addresses);
    assert.equal((await fipsOf()).length, 1, 'a repeated ensure allocated a second floating IP');
  });

  it('gives a worker none', async () => {
    const status = await provider.ensureMachine(spec(2, 'worker'));
    assert.equal(status.addresses.length, 1);
    assert.ok(!(await fipsOf()).some((f) => f.tags.includes(`cx-machine=${spec(2, 'worker').machineId}`)));
  });

  it('allocates the floating IP again when an ensure finds the server without it (a repeat after a crash)', async () => {
    const [fip] = await fipsOf();
    await reader.delete('network', `v2.0/floatingips/${fip!.id}`);
    const status = await provider.ensureMachine(spec(1, 'control-plane'));
    const fips = await fipsOf();
    assert.equal(fips.length, 1);
    assert.notEqual(fips[0]!.id, fip!.id);
    assert.equal(status.addresses[1], fips[0]!.floating_ip_address);
  });

  it('releases the floating IP with its machine, and leaves nothing of the cluster with the last one', async () => {
    const ids = (await fipsOf()).map((f) => f.id);
    assert.equal(ids.length, 1);
    await provider.deleteMachine(clusterId, spec(1, 'control-plane').machineId);
    assert.ok(
      !(await reader.floatingIps()).some((f) => ids.includes(f.id)),
      'the floating IP of the deleted machine is still allocated',
    );
    assert.equal(
      (await reader.clusterObjects(clusterId)).securityGroups.length,
      1,
      'the worker still needs the security group',
    );
    await provider.deleteMachine(clusterId, spec(2, 'worker').machineId);
    await reader.assertNothingLeft(clusterId);
  });
});
