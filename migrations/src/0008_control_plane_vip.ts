import type { Knex } from 'knex';

/** The control-plane VIP of a cluster (allocated from an IP pool at creation, released at deletion). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clusters', (t) => {
    t.string('api_vip', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clusters', (t) => {
    t.dropColumn('api_vip');
  });
}
