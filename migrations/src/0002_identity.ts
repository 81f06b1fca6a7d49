import type { Knex } from 'knex';

/**
 * Identity and access: external users (LDAP / OIDC) and their last-known groups, local groups,
 * grants, resource groups with quotas, encrypted infrastructure credentials, API tokens, revoked
 * access tokens, login throttling and OIDC login state. Clusters may belong to a resource group.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('external_id', 512).nullable();
    t.string('email', 255).nullable();
    t.string('display_name', 255).nullable();
    // Groups the directory or identity provider reported at the last login (JSON array of names / DNs).
    t.text('external_groups').nullable();
    t.string('last_login_at', 24).nullable();
  });

  await knex.schema.createTable('groups', (t) => {
    t.string('id', 36).primary();
    t.string('name', 255).notNullable().unique();
    t.string('description', 1024).nullable();
    t.string('created_at', 24).notNullable();
  });

  await knex.schema.createTable('group_members', (t) => {
    t.string('group_id', 36).notNullable().references('id').inTable('groups').onDelete('CASCADE');
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.primary(['group_id', 'user_id']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('credentials', (t) => {
    t.string('id', 36).primary();
    t.string('name', 128).notNullable().unique();
    t.string('provider', 32).notNullable();
    t.string('endpoint', 1024).notNullable();
    t.string('username', 255).notNullable();
    // AES-256-GCM envelope of {"password": …} (see services/sm/src/secrets/secret-box.ts).
    t.text('secret').notNullable();
    t.text('ca_cert').nullable();
    t.boolean('insecure').notNullable().defaultTo(false);
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });

  await knex.schema.createTable('resource_groups', (t) => {
    t.string('id', 36).primary();
    t.string('name', 63).notNullable().unique();
    t.string('description', 1024).nullable();
    t.string('credential_id', 36).nullable().references('id').inTable('credentials');
    // JSON {"clusters","nodes","vcpus","memoryMiB"}; a missing member is unlimited.
    t.text('quotas').notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });

  await knex.schema.alterTable('clusters', (t) => {
    t.string('resource_group_id', 36).nullable().references('id').inTable('resource_groups').index();
  });
  await knex.schema.alterTable('node_pools', (t) => {
    t.integer('vcpus').notNullable().defaultTo(2);
    t.integer('memory_mib').notNullable().defaultTo(4096);
  });

  await knex.schema.createTable('grants', (t) => {
    t.string('id', 36).primary();
    t.string('subject_kind', 8).notNullable();
    t.string('subject_name', 512).notNullable();
    // Lower-cased subject name: directory DNs and group names compare case-insensitively.
    t.string('subject_key', 512).notNullable();
    t.string('object_kind', 16).notNullable();
    t.string('object_id', 36).notNullable();
    t.string('role', 16).notNullable();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.unique(['subject_kind', 'subject_key', 'object_kind', 'object_id']);
    t.index(['object_kind', 'object_id']);
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 36).primary();
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE').index();
    t.string('name', 128).notNullable();
    t.string('token_hash', 64).notNullable().unique();
    t.string('created_at', 24).notNullable();
    t.string('expires_at', 24).nullable();
    t.string('last_used_at', 24).nullable();
    t.string('revoked_at', 24).nullable();
  });

  await knex.schema.createTable('revoked_access_tokens', (t) => {
    t.string('jti', 36).primary();
    t.string('expires_at', 24).notNullable().index();
  });

  await knex.schema.createTable('login_throttle', (t) => {
    // `user:<name>` or `source:<address>`.
    t.string('subject', 320).primary();
    t.integer('failures').notNullable();
    t.string('window_started_at', 24).notNullable();
    t.string('locked_until', 24).nullable();
  });

  await knex.schema.createTable('oidc_logins', (t) => {
    t.string('id', 64).primary();
    t.string('kind', 8).notNullable();
    // Encrypted: PKCE verifier and nonce, or the device code.
    t.text('secret').notNullable();
    t.string('return_to', 1024).nullable();
    t.string('expires_at', 24).notNullable().index();
  });

  await knex.schema.alterTable('audit_log', (t) => {
    t.index(['actor']);
    t.index(['action']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropIndex(['actor']);
    t.dropIndex(['action']);
  });
  for (const table of ['oidc_logins', 'login_throttle', 'revoked_access_tokens', 'api_tokens', 'grants'])
    await knex.schema.dropTableIfExists(table);
  await knex.schema.alterTable('node_pools', (t) => {
    t.dropColumn('vcpus');
    t.dropColumn('memory_mib');
  });
  await knex.schema.alterTable('clusters', (t) => {
    t.dropForeign(['resource_group_id']);
    t.dropColumn('resource_group_id');
  });
  for (const table of ['resource_groups', 'credentials', 'group_members', 'groups'])
    await knex.schema.dropTableIfExists(table);
  await knex.schema.alterTable('users', (t) => {
    for (const column of ['external_id', 'email', 'display_name', 'external_groups', 'last_login_at'])
      t.dropColumn(column);
  });
}
