import type { Knex } from 'knex';

/**
 * Two-node pairs (seed 002): two single-node clusters and their singleton Deployments, declared
 * as one resource. A cluster is a side of at most one pair. `witness` is the witness's durable
 * snapshot (written before every action it takes), `status` what it last reported.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pairs', (t) => {
    t.string('id', 36).primary();
    t.string('name', 63).notNullable().unique();
    t.string('cluster_a', 36).notNullable().unique().references('id').inTable('clusters').onDelete('CASCADE');
    t.string('cluster_b', 36).notNullable().unique().references('id').inTable('clusters').onDelete('CASCADE');
    // sides (agent URLs), singletons, preferredSide, afterFence and timing, as the API describes them.
    t.text('spec').notNullable();
    // The token the witness and the two agents authenticate with, sealed.
    t.text('agent_token').notNullable();
    t.text('witness').nullable();
    t.text('status').nullable();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('pairs');
}
