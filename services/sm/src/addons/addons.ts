/**
 * Addons of clusters. A row is written together with the workflow that installs or removes the
 * addon, in the transaction that takes the cluster's workflow lock, so that a refused start (a busy
 * cluster) leaves nothing behind. Secret settings are sealed apart from the others and only leave
 * sm for the workflow that applies them. A row's status says what the last workflow is doing; when
 * that workflow failed or was cancelled, the addon answers `Failed` with its reason.
 */
import type { Knex } from 'knex';
import type { PreparedSql } from '../db/prepared.js';
import { v7 as uuidv7 } from 'uuid';
import type { AddonStatus, ClusterAddon } from '@cx/api-schemas';
import { NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { withDatabase } from '../db/database.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { AddonInstall, RevealedAddon } from '@cx/sm-contract';

interface AddonRow {
  id: string;
  cluster_id: string;
  name: string;
  addon_version: string;
  settings: string;
  secret: string;
  status: AddonStatus;
  message: string | null;
  workflow_id: string | null;
  installed_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export class ClusterAddons {
  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
  ) {}

  async list(clusterId: string): Promise<ClusterAddon[]> {
    const rows = (await withDatabase(() =>
      this.db<AddonRow>('cluster_addons').where({ cluster_id: clusterId }).orderBy('name'),
    )) as AddonRow[];
    return Promise.all(rows.map(async (row) => this.toAddon(this.db, row)));
  }

  async get(clusterId: string, name: string): Promise<ClusterAddon> {
    return this.toAddon(this.db, await this.row(this.db, clusterId, name));
  }

  async reveal(clusterId: string, name: string): Promise<RevealedAddon> {
    const row = await this.row(this.db, clusterId, name);
    const secrets = JSON.parse(this.box.open(row.secret, `cluster_addons:${row.id}`)) as Record<string, unknown>;
    return {
      name: row.name,
      version: row.addon_version,
      settings: { ...(JSON.parse(row.settings) as Record<string, unknown>), ...secrets },
    };
  }

  /** Records the install the cluster's new workflow (its `active_run_id`) runs; inside that workflow's transaction. */
  async install(
    trx: Knex.Transaction,
    clusterId: string,
    name: string,
    install: AddonInstall,
    actor: string,
  ): Promise<ClusterAddon> {
    const runId = await activeRun(trx, clusterId);
    const now = nowIso();
    const existing = (await trx<AddonRow>('cluster_addons').where({ cluster_id: clusterId, name }).first()) as
      AddonRow | undefined;
    const id = existing?.id ?? uuidv7();
    const changes = {
      addon_version: install.version,
      settings: JSON.stringify(install.settings),
      secret: this.box.seal(JSON.stringify(install.secrets), `cluster_addons:${id}`),
      status: 'Installing',
      message: null,
      workflow_id: runId,
      updated_at: now,
    };
    if (existing) {
      await trx('cluster_addons')
        .where({ id, version: existing.version })
        .update({ ...changes, version: existing.version + 1 });
    } else {
      await trx('cluster_addons').insert({
        id,
        cluster_id: clusterId,
        name,
        ...changes,
        installed_at: null,
        created_by: actor,
        created_at: now,
        version: 1,
      });
    }
    return this.toAddon(trx, await this.row(trx, clusterId, name));
  }

  /** Marks an installed addon for removal by the cluster's new workflow; 404 when it is not installed. */
  async remove(trx: Knex.Transaction, clusterId: string, name: string): Promise<ClusterAddon> {
    const row = await this.row(trx, clusterId, name);
    await trx('cluster_addons')
      .where({ id: row.id, version: row.version })
      .update({
        status: 'Removing',
        message: null,
        workflow_id: await activeRun(trx, clusterId),
        updated_at: nowIso(),
        version: row.version + 1,
      });
    return this.toAddon(trx, await this.row(trx, clusterId, name));
  }

  private async row(db: Knex | Knex.Transaction, clusterId: string, name: string): Promise<AddonRow> {
    const row = (await withDatabase(() =>
      db<AddonRow>('cluster_addons').where({ cluster_id: clusterId, name }).first(),
    )) as AddonRow | undefined;
    if (!row) throw new NotFoundError(`addon ${name} is not installed in cluster ${clusterId}`);
    return row;
  }

  /** `db` is the caller's transaction when there is one: SQLite has a single connection, held by it. */
  private async toAddon(db: Knex | Knex.Transaction, row: AddonRow): Promise<ClusterAddon> {
    let status = row.status;
    let message = row.message;
    if ((status === 'Installing' || status === 'Removing') && row.workflow_id) {
      const run = (await db('workflow_runs').where({ id: row.workflow_id }).first('status', 'error')) as
        { status: string; error: string | null } | undefined;
      if (run && (run.status === 'Failed' || run.status === 'Cancelled')) {
        status = 'Failed';
        message = run.error
          ? ((JSON.parse(run.error) as { message?: string }).message ?? null)
          : `workflow ${row.workflow_id} ${run.status.toLowerCase()}`;
      }
    }
    const secretSettings = Object.keys(
      JSON.parse(this.box.open(row.secret, `cluster_addons:${row.id}`)) as Record<string, unknown>,
    );
    return {
      name: row.name,
      version: row.addon_version,
      settings: JSON.parse(row.settings) as Record<string, unknown>,
      secretSettings,
      status,
      message,
      workflowId: row.workflow_id,
      installedAt: row.installed_at,
      createdBy: row.created_by,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}

async function activeRun(trx: Knex.Transaction, clusterId: string): Promise<string | null> {
  const cluster = (await trx('clusters').where({ id: clusterId }).first('active_run_id')) as
    { active_run_id: string | null } | undefined;
  return cluster?.active_run_id ?? null;
}

/** Effects of the addon workflows' last steps, committed with the step's result. */
export async function markAddonInstalled(
  trx: Knex.Transaction,
  clusterId: string,
  name: string,
  now: string,
): Promise<void> {
  await trx('cluster_addons')
    .where({ cluster_id: clusterId, name })
    .update({
      status: 'Installed',
      message: null,
      installed_at: now,
      updated_at: now,
      version: trx.raw('version + 1'),
    });
}

export async function deleteAddon(trx: Knex.Transaction, clusterId: string, name: string): Promise<void> {
  await trx('cluster_addons').where({ cluster_id: clusterId, name }).delete();
}

/** A deleted cluster's addons go with it (the cluster delete's last step). */
export async function deleteAddonsOf(sql: PreparedSql, clusterId: string): Promise<void> {
  await sql.run('DELETE FROM `cluster_addons` WHERE `cluster_id` = ?', [clusterId]);
}
