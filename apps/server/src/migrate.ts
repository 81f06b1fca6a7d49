/** `cx-server migrate`: the SQL schema alone, for the Helm hook and compose's one-shot container. */
import { loadConfig } from '@cx/config';
import { migrateLatest } from '@cx/migrations';
import { openDatabase } from '@cx/sm';

/** Brings the schema to the latest version and says what it applied. */
export async function runMigrate(configFile: string | undefined): Promise<void> {
  const config = loadConfig({ file: configFile });
  const db = openDatabase(config.database.url, 1);
  try {
    const applied = await migrateLatest(db);
    process.stdout.write(applied.length > 0 ? `applied migrations: ${applied.join(', ')}\n` : 'schema is up to date\n');
  } finally {
    await db.destroy();
  }
}
