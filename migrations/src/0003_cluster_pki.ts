import type { Knex } from 'knex';

/**
 * The PKI of each tenant cluster (CAs and service-account keys, sealed like every secret) and the
 * URL of its Kubernetes API once a provider reports it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cluster_pki', (t) => {
    t.string('cluster_id', 36).primary().references('id').inTable('clusters').onDelete('CASCADE');
    // AES-256-GCM envelope of the ClusterPki JSON (services/sm/src/secrets/secret-box.ts).
    t.text('sealed').notNullable();
    t.string('created_at', 24).notNullable();
  });
  await knex.schema.alterTable('clusters', (t) => {
    t.string('api_endpoint', 255).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clusters', (t) => {
    t.dropColumn('api_endpoint');
  });
  await knex.schema.dropTableIfExists('cluster_pki');
}
