import type { Knex } from 'knex';

/**
 * The workflow list (GET /api/v1/workflows) reads runs newest first (by id, UUIDv7) filtered by
 * cluster or by workflow name: an index on each with the id reads one page without sorting the
 * rest (InnoDB's secondary indexes hold the primary key already; SQLite's do not).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workflow_runs', (t) => {
    t.index(['cluster_id', 'id'], 'workflow_runs_cluster_id_id_index');
    t.index(['workflow', 'id'], 'workflow_runs_workflow_id_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workflow_runs', (t) => {
    t.dropIndex(['cluster_id', 'id'], 'workflow_runs_cluster_id_id_index');
    t.dropIndex(['workflow', 'id'], 'workflow_runs_workflow_id_index');
  });
}
