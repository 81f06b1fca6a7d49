/**
 * The cluster PKI through a CA rotation, on real SQL: what the provider is told to trust and to sign
 * with in each phase (cluster CA, front-proxy CA, service-account key), sealed at rest, and rows
 * written before the front-proxy CA and the service-account key rotated.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { migrateLatest } from '@cx/migrations';
import { signedBy, issueCertificate } from '@cx/k8s';
import { Resources } from '../resources/resources.js';
import { SecretBox } from '../secrets/secret-box.js';
import { Clusters } from '../clusters/clusters.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { TenantCredentials, tenantGroups, type ClusterBootstrap } from './tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';

const TOKEN = Buffer.from('a service-account token body');

/** A signature over TOKEN by the service-account key that signs now (as kube-apiserver signs a token). */
const tokenSignedBy = (bootstrap: ClusterBootstrap): Buffer =>
  sign('sha256', TOKEN, createPrivateKey(bootstrap.pki.serviceAccount.privateKeyPem));
/** Whether one of the public keys the API is told to trust verifies the signature. */
const verifies = (bootstrap: ClusterBootstrap, signature: Buffer): boolean =>
  bootstrap.trustedServiceAccountPublicKeyPems.some((pem) => verify('sha256', TOKEN, createPublicKey(pem), signature));
/** Whether one of the front-proxy CAs the API is told to trust vouches for the certificate. */
const trustedAsFrontProxy = async (bootstrap: ClusterBootstrap, certPem: string): Promise<boolean> =>
  (await Promise.all(bootstrap.trustedFrontProxyCaPems.map((ca) => signedBy(certPem, ca)))).some(Boolean);

for (const target of testDatabases) {
  describe(`TenantCredentials on ${target.name}`, () => {
    const box = new SecretBox('y'.repeat(32));
    let db: Knex;
    let drop: () => Promise<void>;
    let tenants: TenantCredentials;
    let clusters: Clusters;
    let runs: WorkflowRuns;

    const newCluster = async (name: string): Promise<string> =>
      (
        await clusters.create(
          { name, provider: 'kwok', kubernetesVersion: '1.36.3', controlPlane: { count: 1 }, nodePools: [] },
          {
            actor: 'user-1',
            workflow: {
              workflow: 'cluster.create',
              version: 1,
              steps: ['a'],
              input: {},
              clusterStatus: 'Provisioning',
            },
          },
        )
      ).body.cluster.id;
    const begin = (id: string, name: string): Promise<void> =>
      db.transaction((trx) => tenants.beginCaRotation(trx, id, name));
    const finish = (id: string): Promise<void> => db.transaction((trx) => tenants.finishCaRotation(trx, id));

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      tenants = new TenantCredentials(db, box);
      runs = new WorkflowRuns(db, tenants);
      clusters = new Clusters(db, runs, new Resources(db, box), tenants);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('rotates the service-account key and the front-proxy CA with the cluster CA: both trusted in phase one, the old ones dropped in phase two', async () => {
      const id = await newCluster('rot');
      const initial = await tenants.bootstrap(id);
      assert.deepEqual(initial.trustedServiceAccountPublicKeyPems, [initial.pki.serviceAccount.publicKeyPem]);
      assert.deepEqual(initial.trustedFrontProxyCaPems, [initial.pki.frontProxyCa.certPem]);
      const oldToken = tokenSignedBy(initial);
      const oldProxyClient = await issueCertificate(initial.pki.frontProxyCa, {
        commonName: 'front-proxy-client',
        usage: 'client',
        validitySeconds: 3600,
      });
      assert.equal(verifies(initial, oldToken), true);

      await begin(id, 'rot');
      const both = await tenants.bootstrap(id);
      assert.notEqual(
        both.pki.serviceAccount.privateKeyPem,
        initial.pki.serviceAccount.privateKeyPem,
        'a new key signs',
      );
      assert.notEqual(both.pki.frontProxyCa.certPem, initial.pki.frontProxyCa.certPem, 'a new front-proxy CA issues');
      assert.equal(both.pki.etcdCa.certPem, initial.pki.etcdCa.certPem, 'the etcd CA stays');
      assert.deepEqual(both.trustedCaPems, [both.pki.ca.certPem, initial.pki.ca.certPem]);
      assert.deepEqual(both.trustedServiceAccountPublicKeyPems, [
        both.pki.serviceAccount.publicKeyPem,
        initial.pki.serviceAccount.publicKeyPem,
      ]);
      assert.deepEqual(both.trustedFrontProxyCaPems, [both.pki.frontProxyCa.certPem, initial.pki.frontProxyCa.certPem]);
      const newToken = tokenSignedBy(both);
      assert.equal(verifies(both, oldToken), true, 'a token signed before the rotation still verifies');
      assert.equal(verifies(both, newToken), true);
      const newProxyClient = await issueCertificate(both.pki.frontProxyCa, {
        commonName: 'front-proxy-client',
        usage: 'client',
        validitySeconds: 3600,
      });
      assert.equal(await trustedAsFrontProxy(both, oldProxyClient.certPem), true);
      assert.equal(await trustedAsFrontProxy(both, newProxyClient.certPem), true);

      await begin(id, 'rot');
      assert.deepEqual(await tenants.bootstrap(id), both, 'a rotation already begun is kept');

      await finish(id);
      const done = await tenants.bootstrap(id);
      assert.deepEqual(done.pki, both.pki, 'the new keys stay');
      assert.deepEqual(done.trustedCaPems, [both.pki.ca.certPem]);
      assert.deepEqual(done.trustedServiceAccountPublicKeyPems, [both.pki.serviceAccount.publicKeyPem]);
      assert.deepEqual(done.trustedFrontProxyCaPems, [both.pki.frontProxyCa.certPem]);
      assert.equal(verifies(done, oldToken), false, 'a token signed before the rotation is refused');
      assert.equal(verifies(done, newToken), true);
      assert.equal(await trustedAsFrontProxy(done, oldProxyClient.certPem), false);
      assert.equal(await trustedAsFrontProxy(done, newProxyClient.certPem), true);

      const { sealed } = (await db('cluster_pki').where({ cluster_id: id }).first('sealed')) as { sealed: string };
      assert.doesNotMatch(sealed, /BEGIN|PRIVATE KEY/, 'the PKI stays sealed at rest');
    });

    it('reads rows written before the service-account key and the front-proxy CA rotated, mid-rotation too', async () => {
      const id = await newCluster('legacy');
      const current = await tenants.bootstrap(id);
      const { pki } = current;
      // What sm stored for a cluster CA rotation begun before this version: a previous CA only.
      const older = (await tenants.generate('legacy')).ca;
      await db('cluster_pki')
        .where({ cluster_id: id })
        .update({ sealed: box.seal(JSON.stringify({ ...pki, previousCa: older }), `cluster_pki:${id}`) });
      const legacy = await tenants.bootstrap(id);
      assert.deepEqual(legacy.trustedCaPems, [pki.ca.certPem, older.certPem]);
      assert.deepEqual(
        legacy.trustedServiceAccountPublicKeyPems,
        [pki.serviceAccount.publicKeyPem],
        'no service-account rotation in progress',
      );
      assert.deepEqual(
        legacy.trustedFrontProxyCaPems,
        [pki.frontProxyCa.certPem],
        'no front-proxy rotation in progress',
      );
      await finish(id);
      const done = await tenants.bootstrap(id);
      assert.deepEqual(done.trustedCaPems, [pki.ca.certPem]);
      assert.deepEqual(done.pki, pki);
    });
  });
}

describe('tenant groups of a kubeconfig certificate', () => {
  it('lets only names cx controls reach the tenant RBAC', () => {
    assert.deepEqual(tenantGroups(['system:masters', 'cx:admin', 'devs', 'devs'], 'viewer'), [
      'cx:viewer',
      'cx:group:system:masters',
      'cx:group:cx:admin',
      'cx:group:devs',
    ]);
    assert.deepEqual(tenantGroups([], 'admin'), ['cx:admin']);
  });
});
