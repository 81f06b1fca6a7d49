/**
 * Cluster PKI the kubeadm way (https://kubernetes.io/docs/setup/best-practices/certificates/):
 * a cluster CA, a front-proxy CA, an etcd CA and a service-account key pair, and certificates
 * issued from them. ECDSA P-256 throughout: Kubernetes accepts it everywhere and a key takes
 * milliseconds to generate. Everything is PEM, so that it can be sealed and stored as text.
 *
 * Certificates are built from @peculiar/asn1-x509's structures and signed with node:crypto (keys,
 * DER signatures, PEM): @peculiar/x509's generator encodes each extension, parses it back, and
 * parses the finished certificate again, which made a cluster's three CAs cost 2.2 ms of CPU each.
 * The TBSCertificate is then put together from its fields' DER, each encoded by asn1-schema
 * once: the parts every certificate shares (version, algorithms, a CA's extensions) at load, a
 * CA's name once for both issuer and subject (encoding the whole structure each time cost about
 * 0.45 ms of a CA's 0.6). Keys are encoded (SPKI, PKCS #8) from the scalar and point of their
 * SEC1 DER, not by OpenSSL's SPKI and PKCS #8 encoders. Reading certificates
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
import { BitString, Integer, Primitive } from 'asn1js';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  Validity,
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

/** The OIDs of the name attributes cx writes (X.520). */
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';
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
    publicKeyPem: `${PemConverter.encode(key.publicKeyInfo, 'PUBLIC KEY')}\n`,
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
      extension(id_ce_subjectKeyIdentifier, new SubjectKeyIdentifier(keyIdentifierOf(key.point))),
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
      ...(request.organizations ?? []).map((o): [string, string] => [ORGANIZATION, o]),
      [COMMON_NAME, request.commonName],
    ]),
    // The CA's subject as it is encoded in its certificate: chains are matched on these bytes.
    issuer: AsnConvert.serialize(caCertificate.subject),
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
function keyIdentifierOf(point: Buffer): ArrayBuffer {
  return arrayBufferOf(createHash('sha1').update(point).digest());
}

/** ASN.1 tag classes, as asn1js numbers them. */
const UNIVERSAL = 1;
const CONTEXT_SPECIFIC = 3;
const SEQUENCE = 16;

// The DER of what every certificate here has in common, encoded once.
const VERSION_3 = constructed(CONTEXT_SPECIFIC, 0, new Integer({ value: Version.v3 }).toBER());
/** The signature algorithm of every certificate here. */
const ECDSA_WITH_SHA256 = AsnConvert.serialize(new AlgorithmIdentifier({ algorithm: id_ecdsaWithSHA256 }));
/** A P-256 key's algorithm, named curve and all, as every SubjectPublicKeyInfo here carries it. */
const EC_P256 = AsnConvert.serialize(
  new AlgorithmIdentifier({
    algorithm: id_ecPublicKey,
    parameters: AsnConvert.serialize(new ECParameters({ namedCurve: id_secp256r1 })),
  }),
);
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
const EXTENDED_KEY_USAGE: Record<CertificateRequest['usage'], ArrayBuffer> = {
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
  publicKeyInfo: ArrayBuffer;
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
  const publicKeyBits = new BitString({ valueHex: point }).toBER();
  // RFC 5915's ECPrivateKey (the curve named by the PKCS #8 algorithm, not repeated), in RFC 5208's PrivateKeyInfo.
  const ecPrivateKey = sequenceOf(
    new Integer({ value: 1 }).toBER(),
    AsnConvert.serialize(new OctetString(scalar)),
    constructed(CONTEXT_SPECIFIC, 1, publicKeyBits),
  );
  const privateKeyInfo = sequenceOf(
    new Integer({ value: 0 }).toBER(),
    EC_P256,
    AsnConvert.serialize(new OctetString(ecPrivateKey)),
  );
  return {
    privateKey,
    point,
    publicKeyInfo: sequenceOf(EC_P256, publicKeyBits),
    privateKeyPem: `${PemConverter.encode(privateKeyInfo, 'PRIVATE KEY')}\n`,
  };
}

/** The DER of a name of one attribute per RDN, in the order given (Kubernetes reads each O as a group). */
function distinguishedName(attributes: Array<[type: string, value: string]>): ArrayBuffer {
  return AsnConvert.serialize(
    new Name(
      attributes.map(
        ([type, value]) =>
          new RelativeDistinguishedName([
            new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) }),
          ]),
      ),
    ),
  );
}

/** The DER of an extension. */
function extension(extnID: string, value: object, critical = false): ArrayBuffer {
  return AsnConvert.serialize(
    new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) }),
  );
}

/**
 * Puts the TBSCertificate together (RFC 5280 4.1) from its fields' DER, signs it with
 * `signingKey` (ECDSA with SHA-256, DER) and answers the certificate as PEM.
 */
function signCertificate(certificate: {
  subject: ArrayBuffer;
  issuer: ArrayBuffer;
  keyInfo: ArrayBuffer;
  validitySeconds: number;
  signingKey: KeyObject;
  extensions: ArrayBuffer[];
}): string {
  const now = Date.now();
  const validity = AsnConvert.serialize(
    new Validity({
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + certificate.validitySeconds * 1000),
    }),
  );
  const tbs = sequenceOf(
    VERSION_3,
    new Integer({ valueHex: serialNumber() }).toBER(),
    ECDSA_WITH_SHA256,
    certificate.issuer,
    validity,
    certificate.subject,
    certificate.keyInfo,
    constructed(CONTEXT_SPECIFIC, 3, sequenceOf(...certificate.extensions)),
  );
  // Node's ECDSA signatures are DER (ECDSA-Sig-Value), as X.509 wants them.
  const signature = sign('sha256', Buffer.from(tbs), certificate.signingKey);
  const signed = sequenceOf(tbs, ECDSA_WITH_SHA256, new BitString({ valueHex: signature }).toBER());
  return PemConverter.encode(signed, 'CERTIFICATE');
}

/** A DER SEQUENCE of elements encoded already. */
function sequenceOf(...elements: ArrayBuffer[]): ArrayBuffer {
  return constructed(UNIVERSAL, SEQUENCE, ...elements);
}

/** A constructed DER element of elements encoded already: asn1js writes its tag and length around them. */
function constructed(tagClass: number, tagNumber: number, ...elements: ArrayBuffer[]): ArrayBuffer {
  const element = new Primitive({
    idBlock: { tagClass, tagNumber },
    valueHex: Buffer.concat(elements.map((encoded) => Buffer.from(encoded))),
  });
  // A Primitive takes its content as it is given; the tag is marked constructed (0x30 for a SEQUENCE).
  element.idBlock.isConstructed = true;
  return element.toBER();
}

function arrayBufferOf(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * A random positive serial of 16 octets (RFC 5280: unique per CA, at most 20 octets). The first
 * octet is 0x40-0x7f: positive, and never 0, which DER forbids as padding (a leading zero octet
 * made one certificate in 128 unreadable).
 */
function serialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return arrayBufferOf(bytes);
}
