import type { Knex } from 'knex';

/**
 * A cluster's feed (GET /api/v1/clusters/{id}/events) reads its audit entries and its runs' steps
 * newest first: the audit log by target and time, the steps by when they finished.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.index(['target_id', 'at'], 'audit_log_target_id_at_index');
  });
  await knex.schema.alterTable('workflow_steps', (t) => {
    t.index(['finished_at'], 'workflow_steps_finished_at_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropIndex(['target_id', 'at'], 'audit_log_target_id_at_index');
  });
  await knex.schema.alterTable('workflow_steps', (t) => {
    t.dropIndex(['finished_at'], 'workflow_steps_finished_at_index');
  });
}
