import type { Knex } from 'knex';

/**
 * The status of ha-configs: the nodes their last apply configured (written by the `ha-config.apply`
 * workflow) and how the nodes that match now compare with them (written by sddc's node health
 * monitor, which applies the ha-config again when they differ). JSON, null until first written.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ha_configs', (t) => {
    t.text('applied_status').nullable();
    t.text('sync_status').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ha_configs', (t) => {
    t.dropColumn('sync_status');
    t.dropColumn('applied_status');
  });
}
