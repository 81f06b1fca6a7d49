/**
 * Cluster PKI the kubeadm way (https://kubernetes.io/docs/setup/best-practices/certificates/):
 * a cluster CA, a front-proxy CA, an etcd CA and a service-account key pair, and certificates
 * issued from them. ECDSA P-256 throughout: Kubernetes accepts it everywhere and a key takes
 * milliseconds to generate. Everything is PEM, so that it can be sealed and stored as text.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createHash, webcrypto, type webcrypto as WebCrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  AuthorityKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
  cryptoProvider,
  type JsonName,
} from '@peculiar/x509';

type CryptoKey = WebCrypto.CryptoKey;

cryptoProvider.set(webcrypto as unknown as Parameters<typeof cryptoProvider.set>[0]);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** Clocks of the machines that check a certificate may be a little behind ours. */
const BACKDATE_MS = 5 * 60_000;

/** A certificate with its private key, both PEM. */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface ClusterPki {
  ca: KeyPairPem;
  frontProxyCa: KeyPairPem;
  etcdCa: KeyPairPem;
  /** Signs and verifies service-account tokens. */
  serviceAccount: { publicKeyPem: string; privateKeyPem: string };
}

export interface CertificateRequest {
  commonName: string;
  /** Kubernetes reads each O as a group of the user. */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client' | 'server-and-client';
  validitySeconds: number;
}

const DAY_SECONDS = 86_400;

export async function createClusterPki(clusterName: string, caValidityDays = 3650): Promise<ClusterPki> {
  const [ca, frontProxyCa, etcdCa, serviceAccount] = await Promise.all([
    createCa(`${clusterName}-ca`, caValidityDays),
    createCa(`${clusterName}-front-proxy-ca`, caValidityDays),
    createCa(`${clusterName}-etcd-ca`, caValidityDays),
    createServiceAccountKeyPair(),
  ]);
  return { ca, frontProxyCa, etcdCa, serviceAccount };
}

/** A key pair to sign service-account tokens with (kube-apiserver's `sa.key`) and verify them (`sa.pub`). */
export async function createServiceAccountKeyPair(): Promise<ClusterPki['serviceAccount']> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  return {
    publicKeyPem: await exportPublicKey(keys.publicKey),
    privateKeyPem: await exportPrivateKey(keys.privateKey),
  };
}

export async function createCa(commonName: string, validityDays: number): Promise<KeyPairPem> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [commonName] }],
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + validityDays * DAY_SECONDS * 1000),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new BasicConstraintsExtension(true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature, true),
      new SubjectKeyIdentifierExtension(await keyIdentifier(keys.publicKey)),
    ],
  });
  return { certPem: certificate.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

/** Issues a leaf certificate from `ca`. */
export async function issueCertificate(ca: KeyPairPem, request: CertificateRequest): Promise<KeyPairPem> {
  const caCertificate = new X509Certificate(ca.certPem);
  const caKey = await importPrivateKey(ca.keyPem);
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const usages =
    request.usage === 'server'
      ? [ExtendedKeyUsage.serverAuth]
      : request.usage === 'client'
        ? [ExtendedKeyUsage.clientAuth]
        : [ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth];
  const altNames = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const subject: JsonName = [...(request.organizations ?? []).map((o) => ({ O: [o] })), { CN: [request.commonName] }];
  const certificate = await X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: caCertificate.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + request.validitySeconds * 1000),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
      new ExtendedKeyUsageExtension(usages),
      await AuthorityKeyIdentifierExtension.create(caCertificate, false),
      ...(altNames.length > 0 ? [new SubjectAlternativeNameExtension(altNames)] : []),
    ],
  });
  return { certPem: certificate.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

/** When a PEM certificate stops being valid, and whom it names. */
export function describeCertificate(certPem: string): {
  subject: string;
  issuer: string;
  notAfter: Date;
  organizations: string[];
  commonName: string;
} {
  const certificate = new X509Certificate(certPem);
  const names = certificate.subjectName.toJSON();
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    notAfter: certificate.notAfter,
    organizations: names.flatMap((rdn) => rdn['O'] ?? []),
    commonName: names.flatMap((rdn) => rdn['CN'] ?? [])[0] ?? '',
  };
}

/** Whether `certPem` was signed by the CA certificate `caPem`. */
export async function signedBy(certPem: string, caPem: string): Promise<boolean> {
  return new X509Certificate(certPem).verify({ publicKey: new X509Certificate(caPem).publicKey, signatureOnly: true });
}

/**
 * The key identifier of RFC 5280 4.2.1.2 (1): SHA-1 of the public key's bits, which for an EC key
 * are its raw point. What SubjectKeyIdentifierExtension.create computes, at a fifth of its cost
 * (it encodes and parses the whole SubjectPublicKeyInfo in JavaScript to reach those bits).
 */
export async function keyIdentifier(publicKey: CryptoKey): Promise<string> {
  const point = Buffer.from(await webcrypto.subtle.exportKey('raw', publicKey));
  return createHash('sha1').update(point).digest('hex');
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  return PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function exportPublicKey(key: CryptoKey): Promise<string> {
  return PemConverter.encode(await webcrypto.subtle.exportKey('spki', key), 'PUBLIC KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
}

/** A random positive 128-bit serial (RFC 5280: unique per CA, at most 20 octets). */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
