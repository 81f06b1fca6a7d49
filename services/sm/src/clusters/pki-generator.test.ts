import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { describeCertificate, issueCertificate, signedBy } from '@cx/k8s';
import { PkiGenerator } from './pki-generator.js';

for (const onAThread of [true, false])
  describe(`PKI generation ${onAThread ? 'on a worker thread' : 'on the event loop'}`, () => {
    const generator = new PkiGenerator(onAThread);
    after(() => generator.close());

    it("builds each cluster's own CAs, usable on this thread to issue certificates", async () => {
      const [a, b] = await Promise.all([generator.generate('alpha'), generator.generate('beta')]);
      assert.equal(describeCertificate(a.ca.certPem).commonName, 'alpha-ca');
      assert.equal(describeCertificate(b.etcdCa.certPem).commonName, 'beta-etcd-ca');
      assert.notEqual(a.ca.keyPem, b.ca.keyPem);
      assert.match(a.serviceAccount.privateKeyPem, /BEGIN PRIVATE KEY/);
      // On a thread, the keys crossed the thread boundary as PEM and still sign.
      const leaf = await issueCertificate(a.ca, { commonName: 'kube-apiserver', usage: 'server', validitySeconds: 60 });
      assert.ok(await signedBy(leaf.certPem, a.ca.certPem));
      assert.ok(!(await signedBy(leaf.certPem, b.ca.certPem)));
    });
  });
