import type { Knex } from 'knex';

/**
 * Cluster templates: presets of a cluster request and the addons to install, kept by admins. `spec`
 * holds the presets and the addons' visible settings; their secret settings (a log-forwarding
 * token) are sealed apart in `secret`. `version` is the template's optimistic-concurrency version,
 * which a cluster records in `clusters.template` ({id, name, version}) with the template's name,
 * so that the record outlives a renamed or deleted template.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cluster_templates', (t) => {
    t.string('id', 36).primary();
    t.string('name', 63).notNullable().unique();
    t.text('description').nullable();
    t.text('spec').notNullable();
    // Sealed JSON {addon: {setting: value}} of the secret settings ({} when there are none), so that every row has one to rotate.
    t.text('secret').notNullable();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });
  await knex.schema.alterTable('clusters', (t) => {
    t.text('template').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clusters', (t) => {
    t.dropColumn('template');
  });
  await knex.schema.dropTableIfExists('cluster_templates');
}
