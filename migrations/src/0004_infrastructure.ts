import type { Knex } from 'knex';

/**
 * Provider settings on credentials (template, network… as JSON, validated by the provider), and
 * the bare-metal host inventory: each host's BMC access (password sealed like every secret), its
 * addresses, labels and capacity, and the machine that claims it. `machine_id` is unique, so two
 * machines never hold one host, and one machine never holds two.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credentials', (t) => {
    t.text('settings').nullable();
  });
  await knex.schema.createTable('hosts', (t) => {
    t.string('id', 36).primary();
    t.string('name', 128).notNullable().unique();
    t.string('bmc_protocol', 16).notNullable();
    t.string('bmc_address', 1024).notNullable();
    t.string('bmc_username', 255).notNullable();
    // AES-256-GCM envelope of {"password": …} (services/sm/src/secrets/secret-box.ts).
    t.text('bmc_secret').notNullable();
    t.text('bmc_ca_cert').nullable();
    t.boolean('bmc_insecure').notNullable().defaultTo(false);
    t.string('bmc_system_id', 255).nullable();
    t.string('boot_mac', 32).nullable();
    t.text('addresses').notNullable();
    t.text('labels').notNullable();
    t.text('capacity').notNullable();
    t.string('cluster_id', 36).nullable().index();
    t.string('machine_id', 36).nullable().unique();
    t.string('machine_name', 255).nullable();
    t.string('claimed_at', 24).nullable();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.string('updated_at', 24).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('hosts');
  await knex.schema.alterTable('credentials', (t) => {
    t.dropColumn('settings');
  });
}
