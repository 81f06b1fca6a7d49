import type { Knex } from 'knex';

/**
 * The core schema: users, clusters, node pools, machines, workflow runs and steps, idempotency
 * keys and the audit log. Ids are UUIDv7 strings (time-ordered, so that keyset pagination by id is
 * creation order); times are ISO 8601 UTC strings (portable across MySQL and SQLite); JSON is
 * stored as text. Rows changed concurrently carry `version` for optimistic concurrency.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.string('id', 36).primary();
    t.string('username', 128).notNullable().unique();
    t.string('source', 16).notNullable().defaultTo('local');
    t.string('role', 16).notNullable().defaultTo('user');
    t.string('password_hash', 255).nullable();
    t.boolean('disabled').notNullable().defaultTo(false);
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });

  await knex.schema.createTable('clusters', (t) => {
    t.string('id', 36).primary();
    t.string('name', 63).notNullable().unique();
    t.string('provider', 32).notNullable();
    t.string('kubernetes_version', 32).notNullable();
    t.string('status', 16).notNullable();
    t.string('status_message', 1024).nullable();
    t.text('spec').notNullable();
    t.string('active_run_id', 36).nullable();
    t.string('created_by', 36).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });

  await knex.schema.createTable('node_pools', (t) => {
    t.string('id', 36).primary();
    t.string('cluster_id', 36).notNullable().references('id').inTable('clusters').onDelete('CASCADE');
    t.string('name', 63).notNullable();
    t.string('role', 16).notNullable();
    t.integer('count').notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.unique(['cluster_id', 'name']);
  });

  await knex.schema.createTable('machines', (t) => {
    t.string('id', 36).primary();
    t.string('cluster_id', 36).notNullable().references('id').inTable('clusters').onDelete('CASCADE');
    t.string('pool', 63).notNullable();
    t.string('name', 128).notNullable();
    t.string('role', 16).notNullable();
    t.string('kubernetes_version', 32).notNullable();
    t.string('phase', 16).notNullable().defaultTo('Pending');
    t.string('provider_id', 255).nullable();
    t.text('addresses').nullable();
    t.string('node_status', 16).notNullable().defaultTo('NotReady');
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.unique(['cluster_id', 'name']);
  });

  await knex.schema.createTable('workflow_runs', (t) => {
    t.string('id', 36).primary();
    t.string('workflow', 64).notNullable();
    t.integer('workflow_version').notNullable();
    t.string('cluster_id', 36).notNullable().index();
    t.string('status', 16).notNullable().index();
    t.integer('current_step').notNullable().defaultTo(0);
    t.integer('generation').notNullable().defaultTo(0);
    t.text('input').notNullable();
    t.text('output').nullable();
    t.text('error').nullable();
    t.string('created_by', 36).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.string('started_at', 24).nullable();
    t.string('finished_at', 24).nullable();
    t.integer('version').notNullable().defaultTo(1);
  });

  await knex.schema.createTable('workflow_steps', (t) => {
    t.string('run_id', 36).notNullable().references('id').inTable('workflow_runs').onDelete('CASCADE');
    t.integer('idx').notNullable();
    t.string('name', 64).notNullable();
    t.string('status', 16).notNullable().defaultTo('Pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('message', 1024).nullable();
    t.text('output').nullable();
    t.text('error').nullable();
    t.string('started_at', 24).nullable();
    t.string('finished_at', 24).nullable();
    t.primary(['run_id', 'idx']);
  });

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.string('scope', 64).notNullable();
    t.string('idem_key', 255).notNullable();
    t.string('request_hash', 64).notNullable();
    t.integer('response_status').notNullable();
    t.text('response_body').notNullable();
    t.string('created_at', 24).notNullable();
    t.primary(['scope', 'idem_key']);
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.string('at', 24).notNullable().index();
    t.string('actor', 128).notNullable();
    t.string('action', 64).notNullable();
    t.string('target_kind', 32).nullable();
    t.string('target_id', 128).nullable();
    t.string('outcome', 16).notNullable();
    t.string('source_ip', 64).nullable();
    t.string('request_id', 64).nullable();
    t.text('details').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'audit_log',
    'idempotency_keys',
    'workflow_steps',
    'workflow_runs',
    'machines',
    'node_pools',
    'clusters',
    'users',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
