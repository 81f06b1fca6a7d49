import type { Knex } from 'knex';

/**
 * Directory settings an admin saved at run time (one row per kind, `ldap`): the settings as JSON
 * without secrets, and the service account's password sealed by sm's secret box.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('directory_settings', (t) => {
    t.string('kind', 16).primary();
    t.text('settings').notNullable();
    t.text('bind_password_sealed').nullable();
    t.string('updated_by', 128).notNullable();
    t.string('updated_at', 32).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('directory_settings');
}
