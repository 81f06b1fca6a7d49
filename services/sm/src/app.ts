/** Composition root of sm: SQL pool, migrations, bootstrap admin, identity and access, internal API. */
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { redactUrl, type CxConfig } from '@cx/config';
import { DependencyUnavailableError, InputError } from '@cx/errors';
import { migrateLatest } from '@cx/migrations';
import { createHttpServer, type Logger } from '@cx/service-kit';
import { AccessControl } from './access.js';
import { Accounts } from './accounts.js';
import { Authenticator } from './auth.js';
import { openDatabase } from './db.js';
import { checkLdapConfig, LdapDirectory } from './ldap.js';
import { checkOidcConfig, OidcSignOn } from './oidc.js';
import { ClusterAddons } from './addons.js';
import { ClusterTemplates } from './templates.js';
import { EtcdSnapshots } from './etcd-snapshots.js';
import { HaConfigs } from './ha-configs.js';
import { Pairs } from './pairs.js';
import { Hosts } from './hosts.js';
import { IpPools } from './ip-pools.js';
import { Resources } from './resources.js';
import { smRoutes } from './routes.js';
import { SecretBox } from './secrets.js';
import { StateStore } from './store.js';
import { TenantCredentials } from './tenant-credentials.js';
import { LoginThrottle } from './throttle.js';

export interface SmApp {
  app: FastifyInstance;
  db: Knex;
  store: StateStore;
}

/** Where the identity provider sends browsers back to: wfm's public callback route. */
export function oidcRedirectUri(config: Readonly<CxConfig>): string {
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  return (
    config.auth.oidc.redirectUri ??
    `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}/api/v1/auth/oidc/callback`
  );
}

export async function buildSmApp(config: Readonly<CxConfig>, logger: Logger): Promise<SmApp> {
  if (!config.secretKey || !config.serviceToken)
    throw new Error('sm needs secretKey (CX_SECRET_KEY) and serviceToken (CX_SERVICE_TOKEN)');
  const { ldap: ldapConfig, oidc: oidcConfig } = config.auth;
  const configErrors = [...checkLdapConfig(ldapConfig), ...checkOidcConfig(oidcConfig)];
  if (configErrors.length > 0)
    throw new InputError(
      `invalid configuration:\n${configErrors.map((e) => `  - ${e.field}: ${e.message}`).join('\n')}`,
      configErrors,
    );

  const db = openDatabase(config.database.url, config.database.poolMax);
  try {
    await db.raw('select 1');
  } catch (error) {
    await db.destroy();
    throw new DependencyUnavailableError(
      `cannot reach the database at ${redactUrl(config.database.url)}: ${(error as Error).message}; check CX_DATABASE_URL (database.url)`,
    );
  }
  const applied = await migrateLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database schema migrated');

  const box = new SecretBox(config.secretKey);
  const accounts = new Accounts(db);
  const access = new AccessControl(db);
  const resources = new Resources(db, box);
  const throttle = new LoginThrottle(db, config.auth.lockout);
  const ldap =
    ldapConfig.url && ldapConfig.userBaseDn
      ? new LdapDirectory({ ...ldapConfig, url: ldapConfig.url, userBaseDn: ldapConfig.userBaseDn }, logger)
      : null;
  const oidc =
    oidcConfig.issuer && oidcConfig.clientId
      ? {
          signOn: new OidcSignOn(
            { ...oidcConfig, issuer: oidcConfig.issuer, clientId: oidcConfig.clientId },
            oidcRedirectUri(config),
            db,
            box,
          ),
          issuer: oidcConfig.issuer,
        }
      : null;
  const auth = new Authenticator(db, accounts, access, throttle, ldap, config.secretKey, config.tokenTtlSeconds);
  if (config.adminPassword && (await auth.ensureBootstrapAdmin(config.adminPassword)))
    logger.info('bootstrap admin `admin` created');
  const tenants = new TenantCredentials(db, box);
  const store = new StateStore(db, resources, tenants, config.limits);
  logger.info({ ldap: ldap !== null, oidc: oidc !== null }, 'login methods');

  const app = createHttpServer({
    service: 'sm',
    logger,
    requestLogLevel: 'debug',
    bodyLimitBytes: 4 * 1_048_576,
    readiness: {
      database: async () => {
        await db.raw('select 1');
      },
    },
  });
  await app.register(
    async (scope) =>
      smRoutes(scope, {
        store,
        auth,
        access,
        accounts,
        resources,
        throttle,
        oidc,
        tenants,
        hosts: new Hosts(db, box),
        ipPools: new IpPools(db),
        haConfigs: new HaConfigs(db),
        pairs: new Pairs(db, box),
        addons: new ClusterAddons(db, box),
        templates: new ClusterTemplates(db, box),
        etcdSnapshots: new EtcdSnapshots(db, box, config.etcd.maxSnapshotBytes),
        ldapEnabled: ldap !== null,
        serviceToken: config.serviceToken!,
      }),
    { prefix: '/internal/v1' },
  );
  app.addHook('onClose', async () => {
    await db.destroy();
  });
  return { app, db, store };
}
