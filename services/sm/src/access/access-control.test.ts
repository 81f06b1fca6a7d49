import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import type { ClusterCreateRequest } from '@cx/api-schemas';
import { migrateLatest } from '@cx/migrations';
import { parse } from 'yaml';
import { describeCertificate, signedBy } from '@cx/k8s';
import { AccessControl, type Subject } from './access-control.js';
import { Accounts } from '../identity/accounts.js';
import { Resources } from '../resources/resources.js';
import { rotateSecrets, SecretBox, SecretKeyMismatchError } from '../secrets/secret-box.js';
import type { StartRequest } from '@cx/sm-contract';
import { Clusters } from '../clusters/clusters.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { TenantCredentials } from '../clusters/tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';
import { LoginThrottle } from '../identity/throttle.js';

const box = new SecretBox('k'.repeat(32));
const cluster = (name: string, resourceGroup?: string, workers = 2): ClusterCreateRequest => ({
  name,
  provider: 'sim',
  kubernetesVersion: '1.31.4',
  controlPlane: { count: 1 },
  nodePools: [{ name: 'workers', count: workers, vcpus: 4, memoryMiB: 8192 }],
  ...(resourceGroup ? { resourceGroup } : {}),
});
const start: StartRequest = {
  actor: 'admin',
  workflow: { workflow: 'cluster.create', version: 1, steps: ['a'], input: {}, clusterStatus: 'Provisioning' },
};

describe('SecretBox', () => {
  it('opens what it sealed, bound to its row, and names a wrong key', () => {
    const envelope = box.seal('hunter2', 'credentials:1');
    assert.ok(!envelope.includes('hunter2'));
    assert.equal(box.open(envelope, 'credentials:1'), 'hunter2');
    assert.throws(
      () => box.open(envelope, 'credentials:2'),
      /unable to authenticate|auth/i,
      'a ciphertext moved to another row does not open',
    );
    assert.throws(() => new SecretBox('o'.repeat(32)).open(envelope, 'credentials:1'), SecretKeyMismatchError);
    assert.notEqual(box.seal('hunter2'), box.seal('hunter2'), 'a fresh IV each time');
  });
});

for (const target of testDatabases) {
  describe(`identity and access on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let access: AccessControl;
    let accounts: Accounts;
    let resources: Resources;
    let clusters: Clusters;
    let runs: WorkflowRuns;
    const subject = async (username: string): Promise<Subject> => access.subject((await accounts.byName(username))!.id);

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      access = new AccessControl(db);
      accounts = new Accounts(db);
      resources = new Resources(db, box);
      const tenants = new TenantCredentials(db, box);
      runs = new WorkflowRuns(db, tenants);
      clusters = new Clusters(db, runs, resources, tenants);
      await accounts.create({ username: 'root', password: 'root-password', role: 'admin' });
      for (const name of ['vera', 'otto', 'nobody'])
        await accounts.create({ username: name, password: `${name}-password`, role: 'user' });
      await accounts.upsertExternal('ldap', {
        externalId: 'uid=lena,dc=x',
        username: 'lena',
        email: null,
        displayName: null,
        groups: ['CN=Ops,OU=Groups,DC=x'],
      });
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('decides by the highest role over global, resource group and cluster; 404 for what one may not see, 403 for a role too low', async () => {
      const team = await resources.createGroup({ name: 'team', quotas: {} });
      const inside = (await clusters.create(cluster('inside', 'team'), start)).body.cluster;
      const outside = (await clusters.create(cluster('outside'), start)).body.cluster;
      const root = await subject('root');
      await access.createGrant(root, {
        subject: { kind: 'user', name: 'vera' },
        object: { kind: 'resource-group', id: 'team' },
        role: 'viewer',
      });
      await access.createGrant(root, {
        subject: { kind: 'user', name: 'otto' },
        object: { kind: 'cluster', id: inside.id },
        role: 'operator',
      });
      // Group names match whatever their case (directory DNs).
      await access.createGrant(root, {
        subject: { kind: 'group', name: 'cn=ops,ou=groups,dc=x' },
        object: { kind: 'global' },
        role: 'viewer',
      });

      const vera = await subject('vera');
      const otto = await subject('otto');
      const lena = await subject('lena');
      const nobody = await subject('nobody');
      assert.equal(
        await access.roleOn(vera, { kind: 'cluster', id: inside.id }),
        'viewer',
        'a resource-group grant covers its clusters',
      );
      assert.equal(await access.roleOn(vera, { kind: 'cluster', id: outside.id }), null);
      assert.equal(await access.roleOn(otto, { kind: 'cluster', id: inside.id }), 'operator');
      assert.equal(
        await access.roleOn(otto, { kind: 'resource-group', id: team.id }),
        null,
        'a cluster grant does not reach up',
      );
      assert.equal(await access.roleOn(lena, { kind: 'cluster', id: outside.id }), 'viewer');
      assert.equal(
        await access.roleOn(root, { kind: 'cluster', id: outside.id }),
        'admin',
        'the admin persona is admin everywhere',
      );

      await access.check(otto, { role: 'operator', object: { kind: 'cluster', id: inside.id } });
      await assert.rejects(access.check(vera, { role: 'operator', object: { kind: 'cluster', id: inside.id } }), {
        code: 'CX_NOT_ALLOWED',
      });
      await assert.rejects(access.check(nobody, { role: 'viewer', object: { kind: 'cluster', id: inside.id } }), {
        code: 'CX_NOT_FOUND',
      });
      await assert.rejects(access.check(vera, { role: 'viewer', object: { kind: 'global' } }), {
        code: 'CX_NOT_ALLOWED',
      });

      const listed = async (s: Subject): Promise<string[]> =>
        (await clusters.list(100, undefined, await access.visibility(s))).items.map((c) => c.name).sort();
      assert.deepEqual(await listed(vera), ['inside']);
      assert.deepEqual(await listed(otto), ['inside']);
      assert.deepEqual(await listed(nobody), []);
      assert.deepEqual(await listed(lena), ['inside', 'outside']);

      const veraGrants = await access.listGrants(vera, 50, undefined, {});
      assert.deepEqual(
        veraGrants.items.map((g) => g.subject.name),
        ['vera'],
        'a non-admin sees their own grants only',
      );
      await assert.rejects(
        access.createGrant(root, {
          subject: { kind: 'user', name: 'vera' },
          object: { kind: 'resource-group', id: 'team' },
          role: 'admin',
        }),
        { code: 'CX_CONFLICT' },
      );
      await assert.rejects(
        access.createGrant(root, {
          subject: { kind: 'user', name: 'vera' },
          object: { kind: 'cluster', id: 'missing' },
          role: 'viewer',
        }),
        { code: 'CX_NOT_FOUND' },
      );
    });

    it('keeps quotas, even for concurrent creations into the last free slot', async () => {
      await resources.createGroup({ name: 'small', quotas: { clusters: 2, vcpus: 100 } });
      await assert.rejects(
        clusters.create(cluster('too-big', 'small', 30), start),
        (error: { code?: string; details?: Record<string, unknown> }) => {
          assert.equal(error.code, 'CX_QUOTA_EXCEEDED');
          assert.equal(error.details?.['quota'], 'vcpus');
          return true;
        },
      );
      await clusters.create(cluster('first', 'small'), start);
      const results = await Promise.allSettled([
        clusters.create(cluster('second', 'small'), start),
        clusters.create(cluster('third', 'small'), start),
      ]);
      assert.equal(
        results.filter((r) => r.status === 'fulfilled').length,
        1,
        'exactly one of two concurrent requests fits',
      );
      const refused = results.find((r) => r.status === 'rejected');
      assert.equal((refused?.reason as { code?: string }).code, 'CX_QUOTA_EXCEEDED');
      const group = await resources.getGroup('small');
      assert.deepEqual(group.usage, { clusters: 2, nodes: 6, vcpus: 2 * 2 + 2 * 8, memoryMiB: 2 * 4096 + 2 * 16384 });
      await assert.rejects(clusters.create(cluster('nowhere', 'no-such-group'), start), {
        code: 'CX_INPUT_INVALID',
      });
      await assert.rejects(resources.deleteGroup('small'), { code: 'CX_CONFLICT' });
    });

    it('seals credential passwords and re-encrypts them under a new key, resumably', async () => {
      const credential = await resources.createCredential(
        {
          name: 'vc',
          provider: 'vsphere',
          endpoint: 'https://vc.example',
          username: 'svc',
          password: 'pa55-word-xyz',
          insecure: false,
          settings: {},
        },
        'root',
      );
      assert.equal(JSON.stringify(credential).includes('pa55-word-xyz'), false, 'the API shape carries no password');
      const stored = (await db('credentials').where({ id: credential.id }).first()) as Record<string, unknown>;
      assert.equal(JSON.stringify(stored).includes('pa55-word-xyz'), false, 'the row carries no plaintext');
      const next = new SecretBox('n'.repeat(32));
      // Every sealed value: this credential and the PKI of each cluster created above.
      const sealed = 1 + Number(((await db('cluster_pki').count({ n: '*' }).first()) as { n: number | string }).n);
      assert.deepEqual(await rotateSecrets(db, box, next), { rotated: sealed, alreadyCurrent: 0 });
      assert.deepEqual(
        await rotateSecrets(db, box, next),
        { rotated: 0, alreadyCurrent: sealed },
        'running it again changes nothing',
      );
      assert.equal((await new Resources(db, next).revealCredential('vc')).password, 'pa55-word-xyz');
      await assert.rejects(resources.revealCredential('vc'), SecretKeyMismatchError);
    });

    it('throttles per user and source: growing delays, a lock only against unknown sources, unlock clears all', async () => {
      const throttle = new LoginThrottle(db, {
        maxFailures: 3,
        maxFailuresPerUser: 5,
        maxFailuresPerSource: 6,
        windowSeconds: 60,
        lockSeconds: 60,
      });
      const delayed = (seconds: number) => (error: { code?: string; retryAfterSeconds?: number }) =>
        error.code === 'CX_RATE_LIMITED' &&
        (error.retryAfterSeconds ?? 0) > seconds / 2 &&
        (error.retryAfterSeconds ?? 0) <= seconds;
      await throttle.succeeded('vera', '192.0.2.7'); // where Vera works
      // One source guessing: delays from that source only, twice as long each time.
      for (let i = 0; i < 2; i++) await throttle.failed('vera', '192.0.2.1');
      await throttle.admit('Vera', '192.0.2.1');
      assert.equal((await throttle.failed('VERA', '192.0.2.1')).userLocked, false, 'names count case-insensitively');
      await assert.rejects(throttle.admit('vera', '192.0.2.1'), delayed(5));
      await throttle.failed('vera', '192.0.2.1');
      await assert.rejects(throttle.admit('vera', '192.0.2.1'), delayed(10));
      await throttle.admit('vera', '192.0.2.9');
      // Guessing from everywhere locks the user against sources it never signed in from, not against where it works.
      assert.equal((await throttle.failed('vera', '192.0.2.8')).userLocked, true);
      await assert.rejects(
        throttle.admit('vera', '192.0.2.9'),
        (error: { code?: string; retryAfterSeconds?: number }) =>
          error.code === 'CX_ACCOUNT_LOCKED' && (error.retryAfterSeconds ?? 0) > 0,
      );
      await throttle.admit('vera', '192.0.2.7');
      await throttle.admit('vera', undefined).then(
        () => assert.fail('a login without an address is not from a known source'),
        (error: { code?: string }) => assert.equal(error.code, 'CX_ACCOUNT_LOCKED'),
      );
      // A right password from a known source does not lift the lock against the others.
      await throttle.succeeded('vera', '192.0.2.7');
      await assert.rejects(throttle.admit('vera', '192.0.2.9'), { code: 'CX_ACCOUNT_LOCKED' });
      // The admin's unlock clears the user's lock and delays, and the sources their failures came from.
      for (let i = 0; i < 2; i++) await throttle.failed(`guess-${i}`, '192.0.2.1');
      await assert.rejects(throttle.admit('otto', '192.0.2.1'), { code: 'CX_RATE_LIMITED' });
      await throttle.unlock('vera');
      for (const source of ['192.0.2.1', '192.0.2.8', '192.0.2.9']) await throttle.admit('vera', source);
      await throttle.admit('otto', '192.0.2.1');
      // A noisy source is refused for everyone who never signed in from it.
      await throttle.succeeded('nina', '192.0.2.50');
      for (let i = 0; i < 6; i++) await throttle.failed(`spray-${i}`, '192.0.2.50');
      await assert.rejects(throttle.admit('otto', '192.0.2.50'), delayed(60));
      await throttle.admit('nina', '192.0.2.50');
    });

    it('signs kubeconfigs with the caller as CN and their groups and cx role as O, only once the cluster has an API', async () => {
      const tenants = new TenantCredentials(db, box);
      const accepted = await clusters.create(cluster('kube'), start);
      const lena = await subject('lena');
      await assert.rejects(tenants.kubeconfig(accepted.body.cluster.id, lena, 'viewer'), { code: 'CX_CONFLICT' });
      await db('clusters').where({ id: accepted.body.cluster.id }).update({ api_endpoint: 'https://127.0.0.1:6443' });
      const { kubeconfig, expiresAt } = await tenants.kubeconfig(accepted.body.cluster.id, lena, 'viewer');
      const config = parse(kubeconfig) as {
        users: Array<{ user: Record<string, string> }>;
        clusters: Array<{ cluster: Record<string, string> }>;
      };
      const certificate = describeCertificate(
        Buffer.from(config.users[0]!.user['client-certificate-data']!, 'base64').toString(),
      );
      assert.equal(certificate.commonName, 'lena');
      await assert.rejects(
        tenants.kubeconfig(accepted.body.cluster.id, { username: 'system:kube-proxy', groups: [] }, 'viewer'),
        { code: 'CX_NOT_ALLOWED' },
        'no certificate for a name Kubernetes reserves',
      );
      assert.deepEqual(certificate.organizations, ['cx:viewer', 'cx:group:CN=Ops,OU=Groups,DC=x']);
      assert.ok(
        certificate.notAfter.getTime() <= Date.parse(expiresAt) + 1000 &&
          Date.parse(expiresAt) <= Date.now() + 3600_000 + 1000,
        'valid an hour at most',
      );
      const { pki } = await tenants.bootstrap(accepted.body.cluster.id);
      assert.ok(
        await signedBy(
          Buffer.from(config.users[0]!.user['client-certificate-data']!, 'base64').toString(),
          pki.ca.certPem,
        ),
      );
      assert.equal(config.clusters[0]!.cluster['server'], 'https://127.0.0.1:6443');
      const row = (await db('cluster_pki').where({ cluster_id: accepted.body.cluster.id }).first()) as {
        sealed: string;
      };
      assert.ok(!row.sealed.includes('PRIVATE KEY'), 'the PKI is sealed at rest');
    });

    it('keeps the scale limits: machines per cluster on create and scale, clusters per cx', async () => {
      const existing = Number(((await db('clusters').count({ n: '*' }).first()) as { n: number | string }).n);
      const limited = new Clusters(db, runs, resources, new TenantCredentials(db, box), {
        maxClusters: existing + 1,
        maxMachinesPerCluster: 4,
      });
      await assert.rejects(
        limited.create(cluster('big', undefined, 4), start),
        (error: { code?: string; details?: Record<string, unknown> }) =>
          error.code === 'CX_LIMIT_EXCEEDED' && error.details?.['limit'] === 'maxMachinesPerCluster',
      );
      const small = await limited.create(cluster('small-one', undefined, 2), start);
      await db('clusters').where({ id: small.body.cluster.id }).update({ active_run_id: null });
      await assert.rejects(limited.scalePool(small.body.cluster.id, 'workers', 4, start), {
        code: 'CX_LIMIT_EXCEEDED',
      });
      await assert.rejects(
        limited.create(cluster('one-too-many', undefined, 1), start),
        (error: { code?: string; details?: Record<string, unknown> }) =>
          error.code === 'CX_LIMIT_EXCEEDED' && error.details?.['limit'] === 'maxClusters',
      );
    });

    it('gives a later user of a deleted or re-created name none of the grants of the previous one', async () => {
      const root = await subject('root');
      const grant = (name: string) =>
        access.createGrant(root, {
          subject: { kind: 'user', name },
          object: { kind: 'global' },
          role: 'viewer',
        });
      const dave = await accounts.create({ username: 'dave', password: 'dave-password', role: 'user' });
      await grant('dave');
      assert.equal(await access.roleOn(await subject('dave'), { kind: 'global' }), 'viewer');
      assert.deepEqual(await accounts.delete(dave.id), { username: 'dave', grantsRemoved: 1 });
      await accounts.create({ username: 'dave', password: 'dave-password', role: 'user' });
      assert.equal(await access.roleOn(await subject('dave'), { kind: 'global' }), null, 'the new dave has no grant');

      // A directory entry deleted and created again under the same name is another person.
      const ldapUser = (externalId: string) =>
        accounts.upsertExternal('ldap', { externalId, username: 'lisa', email: null, displayName: null, groups: [] });
      await ldapUser('uid=lisa,ou=old,dc=x');
      await grant('lisa');
      await ldapUser('uid=lisa,ou=old,dc=x');
      assert.equal(await access.roleOn(await subject('lisa'), { kind: 'global' }), 'viewer', 'the same entry keeps it');
      await ldapUser('uid=lisa,ou=new,dc=x');
      assert.equal(await access.roleOn(await subject('lisa'), { kind: 'global' }), null, 'another entry does not');
    });

    it('refuses to leave cx without an enabled admin, and keeps names to one source', async () => {
      const root = (await accounts.byName('root'))!;
      await assert.rejects(accounts.patch(root.id, { disabled: true }), { code: 'CX_CONFLICT' });
      await assert.rejects(accounts.delete(root.id), { code: 'CX_CONFLICT' });
      assert.equal((await accounts.get(root.id)).disabled, false);
      await assert.rejects(
        accounts.upsertExternal('oidc', {
          externalId: 'x#vera',
          username: 'vera',
          email: null,
          displayName: null,
          groups: [],
        }),
        { code: 'CX_NAME_TAKEN' },
      );
      assert.equal((await accounts.byName('vera'))!.source, 'local');
    });
  });
}
