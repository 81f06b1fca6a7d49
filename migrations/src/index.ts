/**
 * The schema owned by sm, as knex migrations. They are compiled into the package and listed
 * here (not discovered on disk) so that the same build runs them on MySQL, MariaDB and SQLite.
 */
import type { Knex } from 'knex';
import * as core from './0001_core.js';
import * as identity from './0002_identity.js';
import * as clusterPki from './0003_cluster_pki.js';
import * as infrastructure from './0004_infrastructure.js';
import * as highAvailability from './0005_high_availability.js';
import * as nodeHealth from './0006_node_health.js';
import * as hostCleaning from './0007_host_cleaning.js';
import * as controlPlaneVip from './0008_control_plane_vip.js';
import * as machineCondition from './0009_machine_condition.js';
import * as pairs from './0010_pairs.js';
import * as clusterAddons from './0011_cluster_addons.js';
import * as haConfigStatus from './0012_ha_config_status.js';
import * as clusterTemplates from './0013_cluster_templates.js';
import * as etcdSnapshots from './0014_etcd_snapshots.js';
import * as loginSecurity from './0015_login_security.js';
import * as workflowRunLists from './0016_workflow_run_lists.js';
import * as clusterEventIndexes from './0017_cluster_event_indexes.js';
import * as runOwnerJob from './0018_run_owner_job.js';
import * as directorySettings from './0019_directory_settings.js';
import * as oidcSettings from './0020_oidc_settings.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = [
  ['0001_core', core],
  ['0002_identity', identity],
  ['0003_cluster_pki', clusterPki],
  ['0004_infrastructure', infrastructure],
  ['0005_high_availability', highAvailability],
  ['0006_node_health', nodeHealth],
  ['0007_host_cleaning', hostCleaning],
  ['0008_control_plane_vip', controlPlaneVip],
  ['0009_machine_condition', machineCondition],
  ['0010_pairs', pairs],
  ['0011_cluster_addons', clusterAddons],
  ['0012_ha_config_status', haConfigStatus],
  ['0013_cluster_templates', clusterTemplates],
  ['0014_etcd_snapshots', etcdSnapshots],
  ['0015_login_security', loginSecurity],
  ['0016_workflow_run_lists', workflowRunLists],
  ['0017_cluster_event_indexes', clusterEventIndexes],
  ['0018_run_owner_job', runOwnerJob],
  ['0019_directory_settings', directorySettings],
  ['0020_oidc_settings', oidcSettings],
];

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = MIGRATIONS.find(([candidate]) => candidate === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};

const TABLE = 'cx_migrations';
/** The MySQL named lock that serialises migrations between replicas (GET_LOCK). */
const LOCK = 'cx_migrations';

/**
 * Brings the schema to the latest version; safe to run from several replicas at once. knex's own
 * lock fails at once instead of waiting, and two replicas creating its lock table together can each
 * insert its row, after which no one can ever take it (every sm start then fails with "Migration
 * table is already locked"). On MySQL/MariaDB replicas therefore queue on a named lock; holding it,
 * no one else migrates, so knex's lock is reset first, which also frees one that a process killed
 * while migrating left taken. SQLite is one process's file (the all-in-one), with no lock that dies
 * with its holder: a lock still taken after `staleLockMs` (a migration of a SQLite file takes
 * seconds) was left by a process killed while migrating; each migration ran in a transaction that
 * rolled back, so the lock is freed and the migrations run again.
 */
export interface MigrateOptions {
  /** SQLite: how long a taken migration lock is waited for before it is deemed left by a killed process. */
  staleLockMs?: number;
  /** Told when such a lock is freed. */
  warn?: (message: string) => void;
}

export async function migrateLatest(knex: Knex, options: MigrateOptions = {}): Promise<string[]> {
  if (knex.client.config.client !== 'mysql2') return latestFreeingStaleLock(knex, options);
  // A named lock belongs to a session: hold one connection of the pool for the whole migration.
  const connection: unknown = await knex.client.acquireConnection();
  try {
    const [rows] = (await knex.raw('select get_lock(?, ?) as got', [LOCK, 300]).connection(connection)) as [
      Array<{ got: number | null }>,
    ];
    if (rows[0]?.got !== 1) throw new Error(`another replica held the migration lock ${LOCK} for 300 s`);
    try {
      await knex.migrate.forceFreeMigrationsLock({ migrationSource, tableName: TABLE });
      return await latest(knex);
    } finally {
      await knex.raw('select release_lock(?)', [LOCK]).connection(connection);
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

async function latestFreeingStaleLock(knex: Knex, options: MigrateOptions): Promise<string[]> {
  const { staleLockMs = 60_000, warn = () => undefined } = options;
  const deadline = Date.now() + staleLockMs;
  for (let pause = 100; Date.now() < deadline; pause = Math.min(pause * 2, 2_000)) {
    try {
      return await latest(knex);
    } catch (error) {
      if (!isLockTaken(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))));
    }
  }
  warn(
    `the migration lock (${TABLE}_lock) was still taken after ${Math.round(staleLockMs / 1000)} s: a process killed while migrating left it; freed, and the migrations run again`,
  );
  await knex.migrate.forceFreeMigrationsLock({ migrationSource, tableName: TABLE });
  return latest(knex);
}

const isLockTaken = (error: unknown): boolean => error instanceof Error && /already locked/i.test(error.message);

async function latest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource, tableName: TABLE })) as [number, string[]];
  return applied;
}
