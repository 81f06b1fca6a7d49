/**
 * What cx holds to reach and hand out a tenant cluster: its PKI (generated when the cluster is
 * created, sealed at rest), short-lived admin credentials for sddc, and per-user kubeconfigs whose
 * client certificate names the user and groups and carries the cx role on the cluster as the group
 * `cx:<role>`, which the cluster's RBAC binds to view, edit or cluster-admin.
 */
import type { Knex } from 'knex';
import type { PreparedSql } from '../db/prepared.js';
import type { ClusterCreateRequest, Role } from '@cx/api-schemas';
import { ConflictError, NotAllowedError, NotFoundError } from '@cx/errors';
import {
  createCa,
  createClusterPki,
  createServiceAccountKeyPair,
  issueCertificate,
  renderKubeconfig,
  type ClusterPki,
  type KeyPairPem,
} from '@cx/k8s';
import { nowIso } from '@cx/service-kit';
import type { ClusterBootstrap as ProviderBootstrap } from '@cx/sddc-contract';
import type { TenantAdminCredentials } from '@cx/sm-contract';
import { withDatabase } from '../db/database.js';
import type { SecretBox } from '../secrets/secret-box.js';

interface ClusterFacts {
  name: string;
  kubernetes_version: string;
  api_endpoint: string | null;
  api_vip: string | null;
  spec: string;
}

/** Lifetime of a user's kubeconfig certificate unless configured (auth.kubeconfigCertificateSeconds, at most an hour). */
const USER_CERTIFICATE_SECONDS = 3600;
/** Lifetime of the admin certificate sddc gets for one round of work. */
const ADMIN_CERTIFICATE_SECONDS = 900;
/** The group each cx role maps to inside tenant clusters. */
export const ROLE_GROUP: Record<Role, string> = { viewer: 'cx:viewer', operator: 'cx:operator', admin: 'cx:admin' };

/**
 * The PKI as sm keeps it: during a CA rotation the previous cluster CA, front-proxy CA and
 * service-account public key are still trusted. Of the previous service-account key only the public
 * half is kept: nothing signs with it any more, it only verifies tokens issued before. A row from
 * before the front-proxy and service-account keys rotated has neither: nothing of theirs to trust.
 */
export interface StoredPki extends ClusterPki {
  previousCa?: KeyPairPem;
  previousFrontProxyCa?: KeyPairPem;
  previousServiceAccountPublicKeyPem?: string;
  leafGeneration?: number;
}
/** The provider contract's bootstrap material, as this version of sm answers it: every field present. */
export type ClusterBootstrap = Required<ProviderBootstrap>;

export class TenantCredentials {
  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
    private readonly options: {
      /** Where new PKIs are built: on this thread unless given (sm's app gives a worker thread, pki-generator.ts). */
      pkis?: { generate(clusterName: string): Promise<ClusterPki> };
      userCertificateSeconds?: number;
    } = {},
  ) {}

  private get userCertificateSeconds(): number {
    return this.options.userCertificateSeconds ?? USER_CERTIFICATE_SECONDS;
  }

  /** A new PKI, to be stored with the cluster in its creation transaction. */
  generate(clusterName: string): Promise<ClusterPki> {
    return (this.options.pkis ?? { generate: createClusterPki }).generate(clusterName);
  }

  async store(sql: PreparedSql, clusterId: string, pki: ClusterPki): Promise<void> {
    await sql.run('INSERT INTO `cluster_pki` (`cluster_id`, `sealed`, `created_at`) VALUES (?, ?, ?)', [
      clusterId,
      this.box.seal(JSON.stringify(pki), `cluster_pki:${clusterId}`),
      nowIso(),
    ]);
  }

  /**
   * Phase one of a CA rotation: a new cluster CA, a new front-proxy CA and a new service-account key
   * sign from now on, the previous ones stay trusted (bundled into the client CA of the API and into
   * kubeconfigs; into the API's request-header CA; among the keys that verify service-account
   * tokens) until `finishCaRotation`, so that tokens and credentials issued before keep working
   * while the control plane rolls. Idempotent: a rotation already begun is kept.
   */
  async beginCaRotation(trx: Knex.Transaction, clusterId: string, clusterName: string): Promise<void> {
    const pki = await this.read(trx, clusterId);
    if (pki.previousCa) return;
    const stamp = Date.now();
    const [ca, frontProxyCa, serviceAccount] = await Promise.all([
      createCa(`${clusterName}-ca-${stamp}`, 3650),
      createCa(`${clusterName}-front-proxy-ca-${stamp}`, 3650),
      createServiceAccountKeyPair(),
    ]);
    const next: StoredPki = {
      ...pki,
      ca,
      frontProxyCa,
      serviceAccount,
      previousCa: pki.ca,
      previousFrontProxyCa: pki.frontProxyCa,
      previousServiceAccountPublicKeyPem: pki.serviceAccount.publicKeyPem,
    };
    await this.write(trx, clusterId, next);
  }

  /** The serving and client certificates of the control plane are to be issued again (the CAs stay). */
  async rotateLeafCertificates(trx: Knex.Transaction, clusterId: string): Promise<void> {
    const pki = await this.read(trx, clusterId);
    await this.write(trx, clusterId, { ...pki, leafGeneration: (pki.leafGeneration ?? 0) + 1 });
  }

  /**
   * Phase two: the previous CAs and service-account key are no longer trusted; what they signed
   * (older kubeconfigs, service-account tokens issued before the rotation) stops working.
   */
  async finishCaRotation(trx: Knex.Transaction, clusterId: string): Promise<void> {
    const {
      previousCa: _ca,
      previousFrontProxyCa: _frontProxyCa,
      previousServiceAccountPublicKeyPem: _serviceAccount,
      ...pki
    } = await this.read(trx, clusterId);
    await this.write(trx, clusterId, pki);
  }

  /** The PKI and identity a provider needs to bring up the cluster's control plane. */
  async bootstrap(clusterId: string): Promise<ClusterBootstrap> {
    const cluster = await this.cluster(clusterId);
    const { previousCa, previousFrontProxyCa, previousServiceAccountPublicKeyPem, leafGeneration, ...pki } =
      await this.read(this.db, clusterId);
    const { controlPlane } = JSON.parse(cluster.spec) as ClusterCreateRequest;
    return {
      clusterName: cluster.name,
      kubernetesVersion: cluster.kubernetes_version,
      pki,
      trustedCaPems: [pki.ca.certPem, ...(previousCa ? [previousCa.certPem] : [])],
      trustedServiceAccountPublicKeyPems: [
        pki.serviceAccount.publicKeyPem,
        ...(previousServiceAccountPublicKeyPem ? [previousServiceAccountPublicKeyPem] : []),
      ],
      trustedFrontProxyCaPems: [
        pki.frontProxyCa.certPem,
        ...(previousFrontProxyCa ? [previousFrontProxyCa.certPem] : []),
      ],
      certificateGeneration: leafGeneration ?? 0,
      controlPlane: {
        count: controlPlane.count,
        ...(cluster.api_vip
          ? {
              vip: cluster.api_vip,
              vipInterface: controlPlane.vipInterface ?? 'eth0',
              vipManager: controlPlane.vipManager ?? 'keepalived',
              vipUnicast: controlPlane.vipUnicast ?? false,
            }
          : {}),
      },
    };
  }

  /** A short-lived cluster-admin client certificate for sddc's work on the tenant API. */
  async adminCredentials(clusterId: string): Promise<TenantAdminCredentials> {
    const cluster = await this.cluster(clusterId);
    const apiEndpoint = requireEndpoint(cluster);
    const pki = await this.read(this.db, clusterId);
    const cert = await issueCertificate(pki.ca, {
      commonName: 'cx-admin',
      organizations: ['system:masters'],
      usage: 'client',
      validitySeconds: ADMIN_CERTIFICATE_SECONDS,
    });
    return { apiEndpoint, caPem: trustBundle(pki), ...cert };
  }

  /**
   * The caller's kubeconfig: CN = user, O = the group of their cx role on the cluster and their
   * groups, each as `cx:group:<name>` (see tenantGroups).
   */
  async kubeconfig(
    clusterId: string,
    user: { username: string; groups: string[] },
    role: Role,
  ): Promise<{ kubeconfig: string; expiresAt: string }> {
    if (user.username.startsWith('system:'))
      throw new NotAllowedError(
        `user ${user.username} has a name Kubernetes reserves for its own components (system:); cx signs no certificate for it`,
      );
    const cluster = await this.cluster(clusterId);
    const pki = await this.read(this.db, clusterId);
    const cert: KeyPairPem = await issueCertificate(pki.ca, {
      commonName: user.username,
      organizations: tenantGroups(user.groups, role),
      usage: 'client',
      validitySeconds: this.userCertificateSeconds,
    });
    return {
      kubeconfig: renderKubeconfig({
        clusterName: cluster.name,
        server: requireEndpoint(cluster),
        caPem: trustBundle(pki),
        user: user.username,
        clientCertPem: cert.certPem,
        clientKeyPem: cert.keyPem,
      }),
      expiresAt: new Date(Date.now() + this.userCertificateSeconds * 1000).toISOString(),
    };
  }

  private async cluster(clusterId: string): Promise<ClusterFacts> {
    const row = await withDatabase(() =>
      this.db('clusters')
        .where({ id: clusterId })
        .first('name', 'kubernetes_version', 'api_endpoint', 'api_vip', 'spec'),
    );
    if (!row) throw new NotFoundError(`cluster ${clusterId} does not exist`);
    return row as ClusterFacts;
  }

  private async read(db: Knex | Knex.Transaction, clusterId: string): Promise<StoredPki> {
    const row = (await withDatabase(() => db('cluster_pki').where({ cluster_id: clusterId }).first('sealed'))) as
      { sealed: string } | undefined;
    if (!row) throw new NotFoundError(`cluster ${clusterId} has no PKI`);
    return JSON.parse(this.box.open(row.sealed, `cluster_pki:${clusterId}`)) as StoredPki;
  }

  private async write(trx: Knex.Transaction, clusterId: string, pki: StoredPki): Promise<void> {
    await trx('cluster_pki')
      .where({ cluster_id: clusterId })
      .update({ sealed: this.box.seal(JSON.stringify(pki), `cluster_pki:${clusterId}`) });
  }
}

function requireEndpoint(cluster: { name: string; api_endpoint: string | null }): string {
  if (!cluster.api_endpoint)
    throw new ConflictError(
      `cluster ${cluster.name} has no Kubernetes API yet: its control plane is not up, or its provider runs none (sim simulates machines only; kwok and the real providers run one)`,
    );
  return cluster.api_endpoint;
}

/**
 * The groups a user's certificate carries into a tenant's RBAC: only names cx controls. Directory
 * and OIDC groups are namespaced (`cx:group:<name>`), so that no identity provider can name a
 * group Kubernetes or cx gives power to (`system:masters`, `cx:admin`); tenant admins bind RBAC
 * to `cx:group:<name>`.
 */
export function tenantGroups(groups: readonly string[], role: Role): string[] {
  return [ROLE_GROUP[role], ...[...new Set(groups)].map((group) => `${GROUP_PREFIX}${group}`)];
}
const GROUP_PREFIX = 'cx:group:';

/** The CAs clients must trust: the current one, and during a rotation the previous one too. */
function trustBundle(pki: StoredPki): string {
  return [pki.ca.certPem, ...(pki.previousCa ? [pki.previousCa.certPem] : [])]
    .map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`))
    .join('');
}
