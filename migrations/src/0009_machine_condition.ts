import type { Knex } from 'knex';

/** Why a machine's last provider operation failed (reason, message, when, which workflow); null once one succeeds. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('machines', (t) => {
    t.text('condition').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('machines', (t) => {
    t.dropColumn('condition');
  });
}
