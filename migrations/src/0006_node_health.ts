import type { Knex } from 'knex';

/**
 * What the node health monitor (sddc) saw last in each cluster: Healthy, Unhealthy, Remediating or
 * Storm, with the unhealthy nodes. An observation, not desired state: it carries no version.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clusters', (t) => {
    t.text('health_status').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clusters', (t) => {
    t.dropColumn('health_status');
  });
}
