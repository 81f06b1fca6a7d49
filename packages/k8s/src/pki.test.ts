// @peculiar/x509 needs the Reflect metadata API before it loads (as pki.ts does).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { AuthorityKeyIdentifierExtension, SubjectKeyIdentifierExtension, X509Certificate } from '@peculiar/x509';
import { createClusterPki, describeCertificate, issueCertificate, renderKubeconfig, signedBy } from './index.js';
import { createCa } from './pki.js';

describe('cluster PKI', () => {
  it('identifies CA keys as @peculiar/x509 does (RFC 5280 method 1), and names them in what the CA issues', async () => {
    for (let i = 0; i < 5; i++) {
      const ca = await createCa(`ca-${i}`, 1);
      const caCertificate = new X509Certificate(ca.certPem);
      const subjectKeyId = caCertificate.getExtension(SubjectKeyIdentifierExtension)?.keyId;
      assert.equal(subjectKeyId, (await SubjectKeyIdentifierExtension.create(caCertificate.publicKey)).keyId);
      const leaf = await issueCertificate(ca, { commonName: 'u', usage: 'client', validitySeconds: 60 });
      const authorityKeyId = new X509Certificate(leaf.certPem).getExtension(AuthorityKeyIdentifierExtension)?.keyId;
      assert.equal(authorityKeyId, subjectKeyId);
    }
  });

  it('encodes every certificate as strict DER (serial numbers without padding), with its key as OpenSSL encodes it', async () => {
    // A serial is random: hundreds of them reach the first octets DER rules out (1 in 128 before).
    for (let i = 0; i < 400; i++) {
      const ca = await createCa(`ca-${i}`, 1);
      assert.equal(new NodeX509Certificate(ca.certPem).serialNumber.length, 32);
      // The SubjectPublicKeyInfo is built from the key's point: byte for byte what OpenSSL writes for the CA's key.
      assert.deepEqual(
        Buffer.from(new X509Certificate(ca.certPem).publicKey.rawData),
        createPublicKey(ca.keyPem).export({ type: 'spki', format: 'der' }),
      );
      // The private key too, built from the scalar and point of its SEC1 DER: byte for byte OpenSSL's PKCS #8.
      assert.equal(createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'pem' }), ca.keyPem);
    }
  });

  it('puts certificates together as asn1-schema encodes the whole structure, byte for byte', async () => {
    const ca = await createCa('demo-ca', 3650);
    const leaf = await issueCertificate(ca, {
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['system:masters', 'kubeadm:cluster-admins'],
      dnsNames: ['kubernetes.default.svc'],
      ipAddresses: ['10.96.0.1', 'fd00::1'],
      usage: 'server-and-client',
      validitySeconds: 3600,
    });
    // Names longer than 127 and than 255 octets take DER's long forms of length.
    const longNames = await issueCertificate(ca, {
      commonName: `user-${'x'.repeat(150)}`,
      organizations: Array.from({ length: 12 }, (_, i) => `group-${i}-${'y'.repeat(20)}`),
      usage: 'client',
      validitySeconds: 3600,
    });
    assert.equal(describeCertificate(longNames.certPem).organizations.length, 12);
    for (const certPem of [ca.certPem, leaf.certPem, longNames.certPem]) {
      // Parsed into its fields and encoded again from them: any field composed differently (a
      // length, a tag, a default written out) would change the bytes.
      const der = new NodeX509Certificate(certPem).raw;
      assert.deepEqual(Buffer.from(AsnConvert.serialize(AsnConvert.parse(der, Certificate))), der);
    }
    const { serviceAccount } = await createClusterPki('demo');
    assert.equal(
      serviceAccount.publicKeyPem,
      createPublicKey(serviceAccount.privateKeyPem).export({ type: 'spki', format: 'pem' }),
      "the service-account public key is the private key's, as OpenSSL writes it",
    );
  });

  it('writes validity as UTCTime through 2049 and GeneralizedTime from 2050, in whole seconds (RFC 5280 4.1.2.5)', async () => {
    const days = Math.ceil((Date.UTC(2050, 0, 2) - Date.now()) / 86_400_000);
    const ca = await createCa('long-lived-ca', days);
    const { tbsCertificate } = AsnConvert.parse(new NodeX509Certificate(ca.certPem).raw, Certificate);
    const { notBefore, notAfter } = tbsCertificate.validity;
    assert.ok(notBefore.utcTime && !notBefore.generalTime);
    assert.ok(notAfter.generalTime && !notAfter.utcTime);
    assert.equal(notAfter.generalTime.getUTCMilliseconds(), 0);
    const expected = new Date(Math.floor((Date.now() + days * 86_400_000) / 1000) * 1000);
    assert.ok(Math.abs(describeCertificate(ca.certPem).notAfter.getTime() - expected.getTime()) <= 60_000);
    const text = execFileSync('openssl', ['x509', '-noout', '-enddate'], { input: ca.certPem, encoding: 'utf8' });
    assert.match(text, /notAfter=Jan\s+\d+ \d\d:\d\d:\d\d 2050 GMT/);
  });

  it('issues certificates that openssl verifies against their CA, with the names asked for', async () => {
    const pki = await createClusterPki('demo');
    const serving = await issueCertificate(pki.ca, {
      commonName: 'kube-apiserver',
      dnsNames: ['kubernetes', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '10.96.0.1'],
      usage: 'server',
      validitySeconds: 86_400,
    });
    const dir = mkdtempSync(join(tmpdir(), 'cx-pki-'));
    writeFileSync(join(dir, 'ca.pem'), pki.ca.certPem);
    writeFileSync(join(dir, 'serving.pem'), serving.certPem);
    assert.match(
      execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'serving.pem')], {
        encoding: 'utf8',
      }),
      /OK/,
    );
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'serving.pem'), '-noout', '-text'], {
      encoding: 'utf8',
    });
    assert.match(text, /DNS:kubernetes, DNS:kubernetes.default.svc, IP Address:127.0.0.1, IP Address:10.96.0.1/);
    assert.match(text, /TLS Web Server Authentication/);
    assert.match(text, /CA:FALSE/);
    writeFileSync(join(dir, 'other.pem'), pki.frontProxyCa.certPem);
    assert.throws(
      () =>
        execFileSync('openssl', ['verify', '-CAfile', join(dir, 'other.pem'), join(dir, 'serving.pem')], {
          stdio: 'pipe',
        }),
      'another CA does not vouch for it',
    );
    assert.equal(await signedBy(serving.certPem, pki.ca.certPem), true);
    assert.equal(await signedBy(serving.certPem, pki.etcdCa.certPem), false);
    assert.match(pki.serviceAccount.publicKeyPem, /BEGIN PUBLIC KEY/);
  });

  it('makes short-lived user certificates (CN = user, O = groups) that a TLS server requiring client certificates accepts', async () => {
    const pki = await createClusterPki('demo');
    const serving = await issueCertificate(pki.ca, {
      commonName: 'api',
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validitySeconds: 3600,
    });
    const user = await issueCertificate(pki.ca, {
      commonName: 'alice',
      organizations: ['cx:viewer', 'CN=Ops,OU=Groups,DC=corp'],
      usage: 'client',
      validitySeconds: 3600,
    });
    const described = describeCertificate(user.certPem);
    assert.equal(described.commonName, 'alice');
    assert.deepEqual(described.organizations, ['cx:viewer', 'CN=Ops,OU=Groups,DC=corp']);
    assert.ok(described.notAfter.getTime() <= Date.now() + 3600_000 + 1000, 'lives no longer than asked');

    const server = createServer(
      { cert: serving.certPem, key: serving.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        res.end((req.socket as TLSSocket).getPeerCertificate().subject.CN);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const call = (cert?: { certPem: string; keyPem: string }): Promise<string> =>
      new Promise((resolve, reject) => {
        request(
          { host: '127.0.0.1', port, ca: pki.ca.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) },
          (res) => {
            let body = '';
            res
              .on('data', (chunk: Buffer) => {
                body += chunk.toString();
              })
              .on('end', () => resolve(body));
          },
        )
          .on('error', reject)
          .end();
      });
    try {
      assert.equal(await call(user), 'alice');
      const stranger = await issueCertificate((await createClusterPki('other')).ca, {
        commonName: 'mallory',
        usage: 'client',
        validitySeconds: 3600,
      });
      await assert.rejects(call(stranger), 'a certificate from another CA is refused');
      await assert.rejects(call(), 'no certificate is refused');
    } finally {
      server.close();
    }
  });

  it('renders a kubeconfig that names the cluster, the user and their credentials', async () => {
    const pki = await createClusterPki('demo');
    const user = await issueCertificate(pki.ca, { commonName: 'alice', usage: 'client', validitySeconds: 600 });
    const config = parse(
      renderKubeconfig({
        clusterName: 'demo',
        server: 'https://127.0.0.1:6443',
        caPem: pki.ca.certPem,
        user: 'alice',
        clientCertPem: user.certPem,
        clientKeyPem: user.keyPem,
      }),
    ) as Record<string, any>;
    assert.equal(config['current-context'], 'alice@demo');
    assert.equal(config['clusters'][0].cluster.server, 'https://127.0.0.1:6443');
    assert.equal(
      Buffer.from(config['clusters'][0].cluster['certificate-authority-data'], 'base64').toString(),
      pki.ca.certPem,
    );
    assert.equal(Buffer.from(config['users'][0].user['client-certificate-data'], 'base64').toString(), user.certPem);
    // Merged with another cluster's kubeconfig of the same user, each context keeps its own credentials.
    assert.equal(config['users'][0].name, 'alice@demo');
    assert.equal(config['contexts'][0].context.user, 'alice@demo');
  });
});
