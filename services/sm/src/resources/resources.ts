/**
 * Resource groups (a credential and quotas shared by a set of clusters) and infrastructure
 * credentials, whose passwords are sealed at rest and never leave sm except to the provider
 * operations that need them.
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type {
  ClusterCreateRequest,
  Credential,
  CredentialCreateRequest,
  Page,
  Quotas,
  ResourceGroup,
  ResourceGroupCreateRequest,
  ResourceGroupPatchRequest,
} from '@cx/api-schemas';
import { ConflictError, CxError, InputError, NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { nameTaken, withDatabase } from '../db/database.js';
import { keysetPage } from '../db/pagination.js';
import type { ProviderCredential } from '@cx/sddc-contract';
import type { SecretBox } from '../secrets/secret-box.js';
import { deleteGrantsOn } from '../access/access-control.js';
import { prepared } from '../db/prepared.js';

interface GroupRow {
  id: string;
  name: string;
  description: string | null;
  credential_id: string | null;
  quotas: string;
  created_at: string;
  updated_at: string;
  version: number;
}
interface CredentialRow {
  id: string;
  name: string;
  provider: string;
  endpoint: string;
  username: string;
  secret: string;
  ca_cert: string | null;
  insecure: number | boolean;
  settings: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

const DEFAULT_VCPUS = 2;
const DEFAULT_MEMORY_MIB = 4096;

/** What a cluster request costs against quotas. */
export function clusterFootprint(request: Pick<ClusterCreateRequest, 'controlPlane' | 'nodePools'>): Required<Quotas> {
  const pools = [request.controlPlane, ...request.nodePools];
  return {
    clusters: 1,
    nodes: pools.reduce((n, p) => n + p.count, 0),
    vcpus: pools.reduce((n, p) => n + p.count * (p.vcpus ?? DEFAULT_VCPUS), 0),
    memoryMiB: pools.reduce((n, p) => n + p.count * (p.memoryMiB ?? DEFAULT_MEMORY_MIB), 0),
  };
}

export class Resources {
  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
  ) {}

  // ---- resource groups ------------------------------------------------------------------------

  async listGroups(
    limit: number,
    cursor: string | undefined,
    visible: { all: true } | { all: false; resourceGroupIds: string[] },
  ): Promise<Page<ResourceGroup>> {
    const query = this.db('resource_groups');
    if (!visible.all) void query.whereIn('id', visible.resourceGroupIds);
    const { rows, nextCursor } = await keysetPage<GroupRow>(query, limit, cursor);
    return { items: await Promise.all(rows.map(async (row) => this.toGroup(this.db, row))), nextCursor };
  }

  async getGroup(idOrName: string): Promise<ResourceGroup> {
    return this.toGroup(this.db, await this.groupRow(this.db, idOrName));
  }

  async createGroup(request: ResourceGroupCreateRequest): Promise<ResourceGroup> {
    if (request.credentialId != null) await this.credentialRow(request.credentialId, 'body.credentialId');
    const now = nowIso();
    const id = uuidv7();
    try {
      await withDatabase(() =>
        this.db('resource_groups').insert({
          id,
          name: request.name,
          description: request.description ?? null,
          credential_id: request.credentialId ?? null,
          quotas: JSON.stringify(request.quotas),
          created_at: now,
          updated_at: now,
          version: 1,
        }),
      );
    } catch (error) {
      throw nameTaken(error, 'a resource group', request.name);
    }
    return this.getGroup(id);
  }

  async patchGroup(idOrName: string, patch: ResourceGroupPatchRequest): Promise<ResourceGroup> {
    const row = await this.groupRow(this.db, idOrName);
    // Any string names a credential, the empty one too (none has it); null removes the credential.
    if (patch.credentialId != null) await this.credentialRow(patch.credentialId, 'body.credentialId');
    const changes: Record<string, unknown> = { updated_at: nowIso(), version: row.version + 1 };
    if (patch.description !== undefined) changes['description'] = patch.description;
    if (patch.credentialId !== undefined) changes['credential_id'] = patch.credentialId;
    if (patch.quotas !== undefined) changes['quotas'] = JSON.stringify(patch.quotas);
    const updated = await withDatabase(() =>
      this.db('resource_groups').where({ id: row.id, version: row.version }).update(changes),
    );
    if (updated === 0)
      throw new ConflictError(`resource group ${row.name} changed concurrently; retry`, 'CX_VERSION_CONFLICT');
    return this.getGroup(row.id);
  }

  async deleteGroup(idOrName: string): Promise<void> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const row = await this.groupRow(trx, idOrName);
        const clusters = (await trx('clusters').where({ resource_group_id: row.id }).count({ n: '*' }).first()) as {
          n: number | string;
        };
        if (Number(clusters.n) > 0)
          throw new ConflictError(
            `resource group ${row.name} still has ${clusters.n} cluster(s); delete or move them first`,
          );
        await deleteGrantsOn(await prepared(trx), 'resource-group', row.id);
        await trx('resource_groups').where({ id: row.id }).delete();
      }),
    );
  }

  /**
   * Resolves the group a new cluster goes into and checks its quotas, inside the transaction that
   * creates the cluster. Bumping the group's version first serialises concurrent creations in the
   * same group, so two requests cannot both fit into the last free slot.
   */
  async admitCluster(trx: Knex.Transaction, idOrName: string, request: ClusterCreateRequest): Promise<string> {
    const { id } = await this.groupRow(trx, idOrName, 'body.resourceGroup');
    await this.admit(trx, id, clusterFootprint(request));
    return id;
  }

  /** Checks that `wanted` more fits in the group's quotas, serialised with every other admission there. */
  async admit(trx: Knex.Transaction, groupId: string, wanted: Required<Quotas>): Promise<void> {
    await trx('resource_groups').where({ id: groupId }).increment('version', 1);
    // Locking reads from here: under MySQL's repeatable read a plain read would still see the
    // snapshot taken before the lock, without the cluster a concurrent request just committed.
    const row = (await lockingRead(trx, trx<GroupRow>('resource_groups').where({ id: groupId })).first()) as GroupRow;
    const quotas = JSON.parse(row.quotas) as Quotas;
    const usage = await this.usage(trx, row.id, true);
    for (const quota of ['clusters', 'nodes', 'vcpus', 'memoryMiB'] as const) {
      const limit = quotas[quota];
      if (limit !== undefined && wanted[quota] > 0 && usage[quota] + wanted[quota] > limit) {
        throw new CxError(
          'CX_QUOTA_EXCEEDED',
          `resource group ${row.name} allows ${limit} ${quota}; ${usage[quota]} are used and this needs ${wanted[quota]} more`,
          {
            details: { quota, limit, used: usage[quota], requested: wanted[quota] },
          },
        );
      }
    }
  }

  private async usage(db: Knex | Knex.Transaction, groupId: string, locking = false): Promise<Required<Quotas>> {
    const read = <T extends object>(query: Knex.QueryBuilder<T>) => (locking ? lockingRead(db, query) : query);
    const rows = (await read(
      db('node_pools')
        .join('clusters', 'clusters.id', 'node_pools.cluster_id')
        .where('clusters.resource_group_id', groupId)
        .select(
          'node_pools.cluster_id as clusterId',
          'node_pools.count as count',
          'node_pools.vcpus as vcpus',
          'node_pools.memory_mib as memoryMiB',
        ),
    )) as Array<{ clusterId: string; count: number; vcpus: number; memoryMiB: number }>;
    const clusters = (await read(db('clusters').where({ resource_group_id: groupId }).count({ n: '*' })).first()) as {
      n: number | string;
    };
    return {
      clusters: Number(clusters.n),
      nodes: rows.reduce((n, r) => n + Number(r.count), 0),
      vcpus: rows.reduce((n, r) => n + Number(r.count) * Number(r.vcpus), 0),
      memoryMiB: rows.reduce((n, r) => n + Number(r.count) * Number(r.memoryMiB), 0),
    };
  }

  private async groupRow(db: Knex | Knex.Transaction, idOrName: string, field?: string): Promise<GroupRow> {
    const row = (await withDatabase(() =>
      db<GroupRow>('resource_groups').where({ id: idOrName }).orWhere({ name: idOrName }).first(),
    )) as GroupRow | undefined;
    if (!row) {
      if (field)
        throw new InputError(`resource group ${idOrName} does not exist`, [
          { field, message: 'is not a resource group' },
        ]);
      throw new NotFoundError(`resource group ${idOrName} does not exist`);
    }
    return row;
  }

  private async toGroup(db: Knex | Knex.Transaction, row: GroupRow): Promise<ResourceGroup> {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      credentialId: row.credential_id,
      quotas: JSON.parse(row.quotas) as Quotas,
      usage: await this.usage(db, row.id),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  // ---- credentials ------------------------------------------------------------------------------

  async listCredentials(limit: number, cursor: string | undefined): Promise<Page<Credential>> {
    const { rows, nextCursor } = await keysetPage<CredentialRow>(this.db('credentials'), limit, cursor);
    return { items: rows.map(toCredential), nextCursor };
  }

  async getCredential(idOrName: string): Promise<Credential> {
    return toCredential(await this.credentialRow(idOrName));
  }

  async createCredential(request: CredentialCreateRequest, actor: string): Promise<Credential> {
    const now = nowIso();
    const id = uuidv7();
    try {
      await withDatabase(() =>
        this.db('credentials').insert({
          id,
          name: request.name,
          provider: request.provider,
          endpoint: request.endpoint,
          username: request.username,
          secret: this.box.seal(JSON.stringify({ password: request.password }), `credentials:${id}`),
          ca_cert: request.caCert ?? null,
          insecure: request.insecure,
          settings: JSON.stringify(request.settings ?? {}),
          created_by: actor,
          created_at: now,
          updated_at: now,
          version: 1,
        }),
      );
    } catch (error) {
      throw nameTaken(error, 'a credential', request.name);
    }
    return this.getCredential(id);
  }

  async deleteCredential(idOrName: string): Promise<void> {
    const row = await this.credentialRow(idOrName);
    const users = (await withDatabase(() =>
      this.db('resource_groups').where({ credential_id: row.id }).pluck('name'),
    )) as string[];
    if (users.length > 0)
      throw new ConflictError(
        `credential ${row.name} is used by resource group(s) ${users.join(', ')}; change them first`,
      );
    await withDatabase(() => this.db('credentials').where({ id: row.id }).delete());
  }

  /** The credential with its password, for provider operations only (never for the public API). */
  async revealCredential(idOrName: string): Promise<Credential & { password: string; caCert: string | null }> {
    const row = await this.credentialRow(idOrName);
    const { password } = JSON.parse(this.box.open(row.secret, `credentials:${row.id}`)) as { password: string };
    return { ...toCredential(row), password, caCert: row.ca_cert };
  }

  /**
   * What sddc connects a credentialed provider with for one cluster: the credential of the
   * cluster's resource group, with its password and settings.
   */
  async infrastructureCredential(clusterId: string): Promise<ProviderCredential> {
    const cluster = (await withDatabase(() =>
      this.db('clusters').where({ id: clusterId }).first('name', 'provider', 'resource_group_id'),
    )) as { name: string; provider: string; resource_group_id: string | null } | undefined;
    if (!cluster) throw new NotFoundError(`cluster ${clusterId} does not exist`);
    const group = cluster.resource_group_id ? await this.groupRow(this.db, cluster.resource_group_id) : undefined;
    if (!group?.credential_id) {
      throw new ConflictError(
        `cluster ${cluster.name} has no credential for provider ${cluster.provider}: it must belong to a resource group whose credential is for ${cluster.provider}`,
      );
    }
    const credential = await this.revealCredential(group.credential_id);
    if (credential.provider !== cluster.provider) {
      throw new ConflictError(
        `the credential ${credential.name} of resource group ${group.name} is for provider ${credential.provider}, not ${cluster.provider}`,
      );
    }
    return {
      id: credential.id,
      version: credential.version,
      endpoint: credential.endpoint,
      username: credential.username,
      password: credential.password,
      caCert: credential.caCert,
      insecure: credential.insecure,
      settings: credential.settings,
    };
  }

  private async credentialRow(idOrName: string, field?: string): Promise<CredentialRow> {
    const row = (await withDatabase(() =>
      this.db<CredentialRow>('credentials').where({ id: idOrName }).orWhere({ name: idOrName }).first(),
    )) as CredentialRow | undefined;
    if (!row) {
      if (field)
        throw new InputError(`credential ${idOrName} does not exist`, [{ field, message: 'is not a credential' }]);
      throw new NotFoundError(`credential ${idOrName} does not exist`);
    }
    return row;
  }
}

/** A read that sees the latest committed rows (MySQL `lock in share mode`); SQLite serialises writers anyway. */
function lockingRead<T extends object>(db: Knex | Knex.Transaction, query: Knex.QueryBuilder<T>): Knex.QueryBuilder<T> {
  return db.client.config.client === 'mysql2' ? query.forShare() : query;
}

function toCredential(row: CredentialRow): Credential {
  return {
    id: row.id,
    name: row.name,
    provider: row.provider,
    endpoint: row.endpoint,
    username: row.username,
    insecure: row.insecure === true || row.insecure === 1,
    hasCaCert: row.ca_cert !== null,
    settings: row.settings ? (JSON.parse(row.settings) as Record<string, unknown>) : {},
    version: row.version,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
