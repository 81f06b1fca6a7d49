import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ProviderCredential } from '@cx/sddc-contract';
import { KeystoneSession, OpenStackProviderFactory, type OpenStackProvider } from './index.js';

const raw = process.env['CX_TEST_OPENSTACK'];
assert.ok(raw, 'CX_TEST_OPENSTACK is not set: start the peer with `test/peers/keystone.sh start` and export its JSON line as CX_TEST_OPENSTACK');
const peer = JSON.parse(raw) as {
  authUrl: string; username: string; password: string; projectName: string; applicationCredentialId: string; applicationCredentialSecret: string;
  image: string; network: string; flavor: string;
};
const factory = new OpenStackProviderFactory();

function credential(overrides: Partial<ProviderCredential> = {}, settings: Record<string, unknown> = {}): ProviderCredential {
  return {
    id: 'test', version: 1, endpoint: peer.authUrl, username: peer.username, password: peer.password, insecure: false, ...overrides,
    settings: { projectName: peer.projectName, image: peer.image, network: peer.network, flavor: peer.flavor, ...settings },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    const e = error as { code?: string; message: string; details?: { fields?: Array<{ field: string }> } };
    assert.equal(e.code, code, e.message);
    if (field) assert.deepEqual(e.details?.fields?.map((f) => f.field), [field]);
    assert.ok(!e.message.includes(peer.password) && !e.message.includes('wrong-password'), 'a password is in the message');
    return true;
  });
}

describe('OpenStack credential validation against the real Keystone', () => {
  let tlsServer: ReturnType<typeof createServer> | undefined;
  let tlsPort = 0;
  before(async () => {
    // A TLS endpoint with a self-signed certificate nobody gave cx as caCert.
    const dir = mkdtempSync(join(tmpdir(), 'cx-openstack-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    tlsServer = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => tlsServer!.listen(0, '127.0.0.1', resolve));
    tlsPort = (tlsServer.address() as AddressInfo).port;
  });
  after(() => { tlsServer?.close(); });

  it('accepts a password login scoped to the project', async () => {
    await factory.validateCredential(credential());
  });

  it('accepts an application credential', async () => {
    await factory.validateCredential(credential({ username: peer.applicationCredentialId, password: peer.applicationCredentialSecret }, { authType: 'application-credential' }));
  });

  it('rejects a wrong password with CX_CREDENTIAL_REJECTED', async () => {
    await rejectsWith(factory.validateCredential(credential({ password: 'wrong-password' })), 'CX_CREDENTIAL_REJECTED');
  });

  it('rejects a wrong application credential secret with CX_CREDENTIAL_REJECTED', async () => {
    await rejectsWith(factory.validateCredential(credential({ username: peer.applicationCredentialId, password: 'wrong-password' }, { authType: 'application-credential' })), 'CX_CREDENTIAL_REJECTED');
  });

  it('reports a closed port as CX_CREDENTIAL_UNREACHABLE', async () => {
    await rejectsWith(factory.validateCredential(credential({ endpoint: 'http://127.0.0.1:9/v3' })), 'CX_CREDENTIAL_UNREACHABLE');
  });

  it('reports an untrusted certificate as CX_CREDENTIAL_UNTRUSTED', async () => {
    await rejectsWith(factory.validateCredential(credential({ endpoint: `https://127.0.0.1:${tlsPort}/v3` })), 'CX_CREDENTIAL_UNTRUSTED');
  });

  for (const key of ['image', 'network', 'flavor']) {
    it(`names body.settings.${key} when the ${key} does not exist`, async () => {
      await rejectsWith(factory.validateCredential(credential({}, { [key]: `no-such-${key}` })), 'CX_INPUT_INVALID', `body.settings.${key}`);
    });
  }

  it('names body.settings.image when it is missing', async () => {
    await rejectsWith(factory.validateCredential(credential({}, { image: undefined })), 'CX_INPUT_INVALID', 'body.settings.image');
  });
});

describe('OpenStack machines (Keystone real, Nova/Neutron test double)', () => {
  const clusterId = `os-${randomUUID().slice(0, 8)}`;
  let provider: OpenStackProvider;
  const spec = (n: number, role: 'control-plane' | 'worker' = 'worker') => ({
    machineId: `${clusterId}-m${n}`, clusterId, name: `${clusterId}-m${n}`, role, pool: role, kubernetesVersion: '1.37.2',
  });
  const get = async <T>(service: 'compute' | 'network', path: string): Promise<T> => {
    const response = await provider.call(service, 'GET', path);
    assert.equal(response.status, 200, response.text);
    return JSON.parse(response.text) as T;
  };

  before(() => { provider = factory.connect(credential()); });
  after(async () => {
    for (const m of await provider.listMachines(clusterId)) await provider.deleteMachine(clusterId, m.machineId);
    await provider.close();
  });

  it('creates servers with cx metadata and hands user_data to Nova unchanged', async () => {
    const userData = '#cloud-config\nruncmd: [kubeadm join --token abc.def]\n';
    const status = await provider.ensureMachine(spec(1), { bootstrap: () => Promise.reject(new Error('unused')), userData: async () => userData });
    const { server } = await get<{ server: { metadata: Record<string, string>; 'OS-EXT-SRV-ATTR:user_data': string; name: string } }>('compute', `servers/${status.providerId}`);
    assert.equal(server.metadata['cx-cluster'], clusterId);
    assert.equal(server.metadata['cx-machine'], spec(1).machineId);
    assert.equal(server.name, spec(1).name);
    assert.equal(Buffer.from(server['OS-EXT-SRV-ATTR:user_data'], 'base64').toString('utf8'), userData);
    const port = await provider.machinePort(spec(1).machineId);
    assert.ok(port && port.addresses.length === 1, 'the machine has no port with one fixed address');
    const { port: neutronPort } = await get<{ port: { tags: string[]; security_groups: string[]; device_id: string } }>('network', `v2.0/ports/${port!.portId}`);
    assert.deepEqual(neutronPort.tags.sort(), [`cx-cluster=${clusterId}`, `cx-machine=${spec(1).machineId}`]);
    assert.equal(neutronPort.device_id, status.providerId);
    const { security_group_rules: rules } = await get<{ security_group_rules: Array<{ port_range_min: number; port_range_max: number }> }>('network', `v2.0/security-group-rules?security_group_id=${neutronPort.security_groups[0]}`);
    assert.ok(rules.some((r) => r.port_range_min === 6443 && r.port_range_max === 6443), 'no rule for the Kubernetes API port');
    assert.ok(rules.some((r) => r.port_range_min === 30000 && r.port_range_max === 32767), 'no rule for the node ports');
  });

  it('puts control-plane servers in one anti-affinity server group', async () => {
    const [a, b] = await Promise.all([provider.ensureMachine(spec(2, 'control-plane')), provider.ensureMachine(spec(3, 'control-plane'))]);
    const group = await provider.serverGroup(clusterId);
    assert.ok(group, 'no control-plane server group');
    assert.equal(group.policy, 'anti-affinity');
    assert.deepEqual([...group.members].sort(), [a.providerId, b.providerId].sort());
    const { server_groups: groups } = await get<{ server_groups: Array<{ name: string }> }>('compute', 'os-server-groups');
    assert.equal(groups.filter((g) => g.name === `cx-${clusterId}-control-plane`).length, 1, 'the server group was created twice');
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
    const created = await provider.call('compute', 'POST', 'servers', { server: { name: `${clusterId}-foreign`, flavorRef: 'f-small', imageRef: imageId, networks: 'none' } });
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
    const { port: read } = await get<{ port: { allowed_address_pairs: Array<{ ip_address: string }> } }>('network', `v2.0/ports/${port!.portId}`);
    assert.deepEqual(read.allowed_address_pairs.map((p) => p.ip_address), [vip.address]);
    const deleted = await provider.call('network', 'DELETE', `v2.0/ports/${vip.portId}`);
    assert.equal(deleted.status, 204);
  });

  it('logs in again after Keystone revoked its token', async () => {
    const before = await provider.session.token();
    const revoke = await fetch(`${peer.authUrl}/auth/tokens`, { method: 'DELETE', headers: { 'X-Auth-Token': before, 'X-Subject-Token': before } });
    assert.equal(revoke.status, 204);
    const check = await fetch(`${peer.authUrl}/auth/tokens`, { headers: { 'X-Auth-Token': before, 'X-Subject-Token': before } });
    assert.notEqual(check.status, 200, 'Keystone still accepts the revoked token');
    assert.ok((await provider.listMachines(clusterId)).length >= 1);
    assert.notEqual(await provider.session.token(), before);
  });

  it('renews a token that is close to its expires_at', async () => {
    const auth = {
      authUrl: peer.authUrl, authType: 'password' as const, username: peer.username, password: peer.password, userDomainName: 'Default',
      projectName: peer.projectName, projectDomainName: 'Default', interface: 'public' as const, insecure: false,
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
});
