import type { Knex } from 'knex';

/**
 * Addons installed (or being installed or removed) in clusters: one row per cluster and addon,
 * with the pinned version and the settings it was installed with. Secret settings (a
 * log-forwarding token) are sealed apart from the others; `workflow_id` is the last install or
 * removal, whose outcome tells a failed one from one in progress.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cluster_addons', (t) => {
    t.string('id', 36).primary();
    t.string('cluster_id', 36).notNullable().references('id').inTable('clusters').onDelete('CASCADE');
    t.string('name', 63).notNullable();
    t.string('addon_version', 64).notNullable();
    t.text('settings').notNullable();
    // Sealed JSON of the secret settings ({} when there are none), so that every row has one to rotate.
    t.text('secret').notNullable();
    t.string('status', 16).notNullable();
    t.text('message').nullable();
    t.string('workflow_id', 36).nullable();
    t.string('installed_at', 24).nullable();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.unique(['cluster_id', 'name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('cluster_addons');
}
