import type { Knex } from 'knex';

/**
 * Login security. A password change or reset ends the user's other sessions: access tokens issued
 * before `users.sessions_valid_from` are refused, except the one that made the change
 * (`session_kept`, its jti). `known_login_sources` records where each user has signed in from
 * successfully: from such a source the right password gets in even while the account is locked
 * against the rest of the world (throttling per account and source).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('sessions_valid_from', 24).nullable();
    t.string('session_kept', 36).nullable();
  });
  await knex.schema.createTable('known_login_sources', (t) => {
    // Lower-cased user name (as login_throttle keys it) and source address.
    t.string('username', 128).notNullable();
    t.string('source', 64).notNullable();
    t.string('last_login_at', 24).notNullable();
    t.primary(['username', 'source']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('known_login_sources');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('sessions_valid_from');
    t.dropColumn('session_kept');
  });
}
