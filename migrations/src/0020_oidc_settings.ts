import type { Knex } from 'knex';

/**
 * OIDC settings saved at run time share directory_settings (kind `oidc` beside `ldap`); the sealed
 * column holds the LDAP service account's password or the OIDC client secret, so it loses its
 * LDAP-only name.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('directory_settings', (t) => {
    t.renameColumn('bind_password_sealed', 'secret_sealed');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('directory_settings', (t) => {
    t.renameColumn('secret_sealed', 'bind_password_sealed');
  });
}
