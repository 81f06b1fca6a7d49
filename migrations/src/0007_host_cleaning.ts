import type { Knex } from 'knex';

/**
 * Bare-metal host cleaning: the cleanup the claiming cluster chose (power-off or wipe) and, for a
 * host released to be wiped, since when it has been cleaning (it is claimable again only after).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('hosts', (t) => {
    t.string('cleanup', 16).nullable();
    t.string('cleaning_since', 24).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('hosts', (t) => {
    t.dropColumn('cleanup');
    t.dropColumn('cleaning_since');
  });
}
