import type { Knex } from 'knex';

/**
 * etcd snapshots of clusters. A snapshot holds every Secret of its cluster, so it is sealed:
 * envelope encryption, as KMS-backed stores do it. Each snapshot has its own random data key,
 * sealed with cx's secret key (SecretBox, associated data `etcd_snapshots:<id>`) in `sealed_key`,
 * which is the column a key rotation re-seals; the snapshot itself is AES-256-GCM under that data
 * key, in chunks of at most 1 MiB (one row each, associated data naming the snapshot and the
 * chunk's place), because MySQL and MariaDB refuse a row larger than `max_allowed_packet` (16 MiB
 * by default on MariaDB) and a snapshot may be larger. A rotation thus never rewrites the chunks.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('etcd_snapshots', (t) => {
    t.string('id', 36).primary();
    t.string('cluster_id', 36).notNullable().references('id').inTable('clusters').onDelete('CASCADE');
    t.bigInteger('size_bytes').notNullable();
    t.bigInteger('revision').notNullable();
    t.string('sha256', 64).notNullable();
    t.string('etcd_version', 32).notNullable();
    t.integer('chunks').notNullable();
    t.text('sealed_key').notNullable();
    t.string('workflow_id', 36).notNullable();
    t.string('created_by', 128).notNullable();
    t.string('created_at', 24).notNullable();
    t.index(['cluster_id', 'id']);
  });
  await knex.schema.createTable('etcd_snapshot_chunks', (t) => {
    t.string('snapshot_id', 36).notNullable().references('id').inTable('etcd_snapshots').onDelete('CASCADE');
    t.integer('idx').notNullable();
    // IV, GCM tag and ciphertext of up to 1 MiB; MEDIUMBLOB (16 MiB) on MySQL, a BLOB on SQLite.
    t.specificType('data', 'mediumblob').notNullable();
    t.primary(['snapshot_id', 'idx']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('etcd_snapshot_chunks');
  await knex.schema.dropTableIfExists('etcd_snapshots');
}
