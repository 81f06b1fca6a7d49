/** Composition root of sm: SQL pool, migrations, bootstrap admin, internal API. */
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { CxConfig } from '@cx/config';
import { DependencyUnavailableError } from '@cx/errors';
import { migrateLatest } from '@cx/migrations';
import { createHttpServer, type Logger } from '@cx/service-kit';
import { redactUrl } from '@cx/config';
import { Authenticator } from './auth.js';
import { openDatabase } from './db.js';
import { smRoutes } from './routes.js';
import { StateStore } from './store.js';

export interface SmApp {
  app: FastifyInstance;
  db: Knex;
  store: StateStore;
}

export async function buildSmApp(config: Readonly<CxConfig>, logger: Logger): Promise<SmApp> {
  if (!config.secretKey || !config.serviceToken) throw new Error('sm needs secretKey (CX_SECRET_KEY) and serviceToken (CX_SERVICE_TOKEN)');
  const db = openDatabase(config.database.url, config.database.poolMax);
  try {
    await db.raw('select 1');
  } catch (error) {
    await db.destroy();
    throw new DependencyUnavailableError(`cannot reach the database at ${redactUrl(config.database.url)}: ${(error as Error).message}; check CX_DATABASE_URL (database.url)`);
  }
  const applied = await migrateLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database schema migrated');
  const auth = new Authenticator(db, config.secretKey, config.tokenTtlSeconds);
  if (config.adminPassword && await auth.ensureBootstrapAdmin(config.adminPassword)) logger.info('bootstrap admin `admin` created');
  const store = new StateStore(db);

  const app = createHttpServer({
    service: 'sm', logger, requestLogLevel: 'debug', bodyLimitBytes: 4 * 1_048_576,
    readiness: { database: async () => { await db.raw('select 1'); } },
  });
  await app.register(async (scope) => smRoutes(scope, { store, auth, serviceToken: config.serviceToken! }), { prefix: '/internal/v1' });
  app.addHook('onClose', async () => { await db.destroy(); });
  return { app, db, store };
}
