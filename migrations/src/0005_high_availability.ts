import type { Knex } from 'knex';

/**
 * IP pools (ranges in the seeds' syntax) and the addresses allocated from them — the primary key
 * (pool, address) is what makes a double allocation impossible, whatever the concurrency — and the
 * ha-configs of clusters (floating VIPs kept by keepalived on the nodes a selector picks).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ip_pools', (t) => {
    t.string('id', 36).primary();
    t.string('name', 128).notNullable().unique();
    t.string('families', 16).notNullable();
    t.text('ranges').notNullable();
    t.string('description', 1024).nullable();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });
  await knex.schema.createTable('ip_allocations', (t) => {
    t.string('pool_id', 36).notNullable().references('id').inTable('ip_pools');
    t.string('address', 64).notNullable();
    t.string('owner', 255).notNullable();
    t.string('cluster_id', 36).nullable().index();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.primary(['pool_id', 'address']);
  });
  await knex.schema.createTable('ha_configs', (t) => {
    t.string('id', 36).primary();
    t.string('cluster_id', 36).notNullable().references('id').inTable('clusters').onDelete('CASCADE');
    t.string('name', 63).notNullable();
    // The ha-config as the API describes it (virtualIps, selector, watchPort, interface, unicast, vrrpIdOffset, preempt).
    t.text('spec').notNullable();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.unique(['cluster_id', 'name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ha_configs');
  await knex.schema.dropTableIfExists('ip_allocations');
  await knex.schema.dropTableIfExists('ip_pools');
}
