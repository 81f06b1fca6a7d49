import type { Knex } from 'knex';

/**
 * A password change or reset ends the user's other sessions: access tokens issued before
 * `sessions_valid_from` are refused, except the one that made the change (`session_kept`, its jti).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('sessions_valid_from', 24).nullable();
    t.string('session_kept', 36).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('sessions_valid_from');
    t.dropColumn('session_kept');
  });
}
