/**
 * Cluster PKI the kubeadm way (https://kubernetes.io/docs/setup/best-practices/certificates/):
 * a cluster CA, a front-proxy CA, an etcd CA and a service-account key pair, and certificates
 * issued from them. ECDSA P-256 throughout: Kubernetes accepts it everywhere and a key takes
 * milliseconds to generate. Everything is PEM, so that it can be sealed and stored as text.
 *
 * Certificates are put together here and signed with node:crypto (keys, DER signatures):
 * @peculiar/x509's generator encodes each extension, parses it back, and parses the finished
 * certificate again, which made a cluster's three CAs cost 2.2 ms of CPU each, and encoding the
 * whole structure with asn1-schema still cost most of a cluster's PKI. What every certificate
 * shares (version, algorithms, a CA's extensions, the usages) is encoded by asn1-schema once, at
 * load, and so are a leaf's alternative names and authority key identifier when it is issued.
 * What each certificate has of its own (names, serial, validity, key identifier) and the keys'
 * SPKI and PKCS #8 (from the scalar and point of their SEC1 DER) are written here as DER
 * tag-length-values. The tests hold each certificate to asn1-schema's encoding of the same fields
 * and each key to OpenSSL's, byte for byte. A cluster's PKI costs about 0.4 ms of CPU, of which
 * OpenSSL's keys and signatures are about 0.3. Reading certificates
 * (describeCertificate, signedBy) stays with @peculiar/x509.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { ECParameters, id_ecPublicKey, id_ecdsaWithSHA256, id_secp256r1 } from '@peculiar/asn1-ecc';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ObjectIdentifier } from 'asn1js';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { PemConverter, X509Certificate, cryptoProvider } from '@peculiar/x509';

cryptoProvider.set(webcrypto as unknown as Parameters<typeof cryptoProvider.set>[0]);

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
  const key = newKey();
  // Ending with a newline, as OpenSSL writes PEM (and wrote these keys before).
  return {
    publicKeyPem: `${pem(key.publicKeyInfo, 'PUBLIC KEY')}\n`,
    privateKeyPem: key.privateKeyPem,
  };
}

export async function createCa(commonName: string, validityDays: number): Promise<KeyPairPem> {
  const key = newKey();
  const name = distinguishedName([[COMMON_NAME, commonName]]);
  const certPem = signCertificate({
    subject: name,
    issuer: name,
    keyInfo: key.publicKeyInfo,
    validitySeconds: validityDays * DAY_SECONDS,
    signingKey: key.privateKey,
    extensions: [
      ...CA_EXTENSIONS,
      der(SEQUENCE, SUBJECT_KEY_IDENTIFIER, der(OCTET_STRING, der(OCTET_STRING, keyIdentifierOf(key.point)))),
    ],
  });
  return { certPem, keyPem: key.privateKeyPem };
}

/** Issues a leaf certificate from `ca`. */
export async function issueCertificate(ca: KeyPairPem, request: CertificateRequest): Promise<KeyPairPem> {
  const caCertificate = AsnConvert.parse(PemConverter.decodeFirst(ca.certPem), Certificate).tbsCertificate;
  const caKeyId = caCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  const key = newKey();
  const altNames = [
    ...(request.dnsNames ?? []).map((dNSName) => new GeneralName({ dNSName })),
    ...(request.ipAddresses ?? []).map((iPAddress) => new GeneralName({ iPAddress })),
  ];
  const certPem = signCertificate({
    subject: distinguishedName([
      ...(request.organizations ?? []).map((o): [Buffer, string] => [ORGANIZATION, o]),
      [COMMON_NAME, request.commonName],
    ]),
    // The CA's subject as it is encoded in its certificate: chains are matched on these bytes.
    issuer: Buffer.from(AsnConvert.serialize(caCertificate.subject)),
    keyInfo: key.publicKeyInfo,
    validitySeconds: request.validitySeconds,
    signingKey: createPrivateKey(ca.keyPem),
    extensions: [
      ...LEAF_EXTENSIONS,
      EXTENDED_KEY_USAGE[request.usage],
      ...(caKeyId
        ? [
            extension(
              id_ce_authorityKeyIdentifier,
              new AuthorityKeyIdentifier({
                keyIdentifier: new KeyIdentifier(AsnConvert.parse(caKeyId.extnValue, SubjectKeyIdentifier)),
              }),
            ),
          ]
        : []),
      ...(altNames.length > 0 ? [extension(id_ce_subjectAltName, new SubjectAlternativeName(altNames))] : []),
    ],
  });
  return { certPem, keyPem: key.privateKeyPem };
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
 * The key identifier of RFC 5280 4.2.1.2 (1): SHA-1 of the subject public key's bits, which for an
 * EC key are its raw point.
 */
function keyIdentifierOf(point: Buffer): Buffer {
  return createHash('sha1').update(point).digest();
}

/** The DER tags (X.690) of the elements written here. */
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const UTF8_STRING = 0x0c;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const SEQUENCE = 0x30;
const SET = 0x31;
/** A constructed context-specific tag, [n]. */
const contextTag = (n: number): number => 0xa0 | n;

// The DER of what every certificate here has in common, encoded once, at load (all but the version by asn1-schema).
const VERSION_3 = der(contextTag(0), der(INTEGER, Buffer.of(Version.v3)));
/** The signature algorithm of every certificate here. */
const ECDSA_WITH_SHA256 = Buffer.from(AsnConvert.serialize(new AlgorithmIdentifier({ algorithm: id_ecdsaWithSHA256 })));
/** A P-256 key's algorithm, named curve and all, as every SubjectPublicKeyInfo here carries it. */
const EC_P256 = Buffer.from(
  AsnConvert.serialize(
    new AlgorithmIdentifier({
      algorithm: id_ecPublicKey,
      parameters: AsnConvert.serialize(new ECParameters({ namedCurve: id_secp256r1 })),
    }),
  ),
);
/** The name attributes cx writes (X.520), as OBJECT IDENTIFIERs. */
const COMMON_NAME = Buffer.from(new ObjectIdentifier({ value: '2.5.4.3' }).toBER());
const ORGANIZATION = Buffer.from(new ObjectIdentifier({ value: '2.5.4.10' }).toBER());
const SUBJECT_KEY_IDENTIFIER = Buffer.from(new ObjectIdentifier({ value: id_ce_subjectKeyIdentifier }).toBER());
/** A CA's extensions besides its key identifier. */
const CA_EXTENSIONS = [
  extension(id_ce_basicConstraints, new BasicConstraints({ cA: true }), true),
  extension(
    id_ce_keyUsage,
    new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature),
    true,
  ),
];
/** A leaf's extensions besides its usage, key identifier and names. */
const LEAF_EXTENSIONS = [
  extension(id_ce_basicConstraints, new BasicConstraints({ cA: false }), true),
  extension(id_ce_keyUsage, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment), true),
];
const EXTENDED_KEY_USAGE: Record<CertificateRequest['usage'], Buffer> = {
  server: extension(id_ce_extKeyUsage, new ExtendedKeyUsage([id_kp_serverAuth])),
  client: extension(id_ce_extKeyUsage, new ExtendedKeyUsage([id_kp_clientAuth])),
  'server-and-client': extension(id_ce_extKeyUsage, new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth])),
};

/** A new P-256 key: the private key, its public point and their encodings. */
interface NewKey {
  privateKey: KeyObject;
  /** The uncompressed point (RFC 5480: 04 || x || y). */
  point: Buffer;
  /** SubjectPublicKeyInfo, DER. */
  publicKeyInfo: Buffer;
  /** PKCS #8, PEM, byte for byte as OpenSSL writes it (with the public key, a newline at the end). */
  privateKeyPem: string;
}

/**
 * OpenSSL's SEC1 ECPrivateKey (RFC 5915) of a P-256 key has one layout: SEQUENCE { version 1,
 * OCTET STRING of the 32-octet private scalar, [0] the curve, [1] BIT STRING of the point }. These
 * are the octets before the scalar and between it and the point.
 */
const SEC1_BEFORE_SCALAR = Buffer.from('30770201010420', 'hex');
const SEC1_BETWEEN = Buffer.from('a00a06082a8648ce3d030107a144034200', 'hex');

/**
 * A new P-256 key with its encodings built from its scalar and point, read out of its SEC1 DER
 * (about 0.013 ms; an export as SPKI or PKCS #8 goes through OpenSSL's encoders, about 0.06 ms
 * each, and a cluster's PKI has four keys). Not from its JWK, though faster: Node 20 holds a key's
 * lock while it builds the JWK's strings, and a garbage collection there that frees the key's
 * generation job takes the same lock, which hangs the process for good (a loop of exports hangs
 * within a few thousand).
 */
function newKey(): NewKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sec1 = privateKey.export({ format: 'der', type: 'sec1' });
  if (
    sec1.length !== 121 ||
    !sec1.subarray(0, 7).equals(SEC1_BEFORE_SCALAR) ||
    !sec1.subarray(39, 56).equals(SEC1_BETWEEN)
  ) {
    throw new Error(`OpenSSL encoded a P-256 key in an unexpected SEC1 layout: ${sec1.toString('hex')}`);
  }
  const scalar = sec1.subarray(7, 39);
  const point = sec1.subarray(56);
  const publicKeyBits = der(BIT_STRING, NO_UNUSED_BITS, point);
  // RFC 5915's ECPrivateKey (the curve named by the PKCS #8 algorithm, not repeated), in RFC 5208's PrivateKeyInfo.
  const ecPrivateKey = der(
    SEQUENCE,
    der(INTEGER, Buffer.of(1)),
    der(OCTET_STRING, scalar),
    der(contextTag(1), publicKeyBits),
  );
  const privateKeyInfo = der(SEQUENCE, der(INTEGER, Buffer.of(0)), EC_P256, der(OCTET_STRING, ecPrivateKey));
  return {
    privateKey,
    point,
    publicKeyInfo: der(SEQUENCE, EC_P256, publicKeyBits),
    privateKeyPem: `${pem(privateKeyInfo, 'PRIVATE KEY')}\n`,
  };
}

/** The DER of a name of one attribute per RDN, in the order given (Kubernetes reads each O as a group). */
function distinguishedName(attributes: Array<[type: Buffer, value: string]>): Buffer {
  return der(
    SEQUENCE,
    ...attributes.map(([type, value]) => der(SET, der(SEQUENCE, type, der(UTF8_STRING, Buffer.from(value, 'utf8'))))),
  );
}

/** The DER of an extension, its value encoded by asn1-schema. */
function extension(extnID: string, value: object, critical = false): Buffer {
  return Buffer.from(
    AsnConvert.serialize(new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) })),
  );
}

/**
 * Puts the TBSCertificate together (RFC 5280 4.1) from its fields' DER, signs it with
 * `signingKey` (ECDSA with SHA-256, DER) and answers the certificate as PEM.
 */
function signCertificate(certificate: {
  subject: Buffer;
  issuer: Buffer;
  keyInfo: Buffer;
  validitySeconds: number;
  signingKey: KeyObject;
  extensions: Buffer[];
}): string {
  const now = Date.now();
  const validity = der(
    SEQUENCE,
    time(new Date(now - BACKDATE_MS)),
    time(new Date(now + certificate.validitySeconds * 1000)),
  );
  const tbs = der(
    SEQUENCE,
    VERSION_3,
    der(INTEGER, serialNumber()),
    ECDSA_WITH_SHA256,
    certificate.issuer,
    validity,
    certificate.subject,
    certificate.keyInfo,
    der(contextTag(3), der(SEQUENCE, ...certificate.extensions)),
  );
  // Node's ECDSA signatures are DER (ECDSA-Sig-Value), as X.509 wants them.
  const signature = sign('sha256', tbs, certificate.signingKey);
  return pem(der(SEQUENCE, tbs, ECDSA_WITH_SHA256, der(BIT_STRING, NO_UNUSED_BITS, signature)), 'CERTIFICATE');
}

/** The first octet of a BIT STRING of whole octets. */
const NO_UNUSED_BITS = Buffer.of(0);

/**
 * The DER of one element: its tag, its length (definite: short form below 128 octets, else long)
 * and its contents, the elements given one after the other.
 */
function der(tag: number, ...contents: Uint8Array[]): Buffer {
  let length = 0;
  for (const content of contents) length += content.length;
  if (length > 0xffff) throw new Error(`a DER element of ${length} octets is longer than a certificate here can be`);
  const head =
    length < 0x80 ? [tag, length] : length < 0x100 ? [tag, 0x81, length] : [tag, 0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from(head), ...contents], head.length + length);
}

/**
 * A certificate's Time (RFC 5280 4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050, in
 * whole seconds of UTC.
 */
function time(at: Date): Buffer {
  // 2026-12-07T02:46:50.123Z -> 20261207024650
  const digits = at.toISOString().slice(0, 19).replace(/[-T:]/g, '');
  const year = at.getUTCFullYear();
  return year < 2050
    ? der(UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'latin1'))
    : der(GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'latin1'));
}

/** PEM (RFC 7468): base64 in lines of 64 characters, between the label's lines; no newline at the end. */
function pem(encoded: Uint8Array, label: string): string {
  const base64 = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength).toString('base64');
  const lines = [`-----BEGIN ${label}-----`];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  lines.push(`-----END ${label}-----`);
  return lines.join('\n');
}

/**
 * A random positive serial of 16 octets (RFC 5280: unique per CA, at most 20 octets). The first
 * octet is 0x40-0x7f: positive, and never 0, which DER forbids as padding (a leading zero octet
 * made one certificate in 128 unreadable).
 */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes;
}
