/** Composition root of sm: SQL pool, migrations, bootstrap admin, identity and access, internal API. */
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { redactUrl, type CxConfig } from '@cx/config';
import { DependencyUnavailableError, InputError } from '@cx/errors';
import { migrateLatest } from '@cx/migrations';
import { createHttpServer, type Logger } from '@cx/service-kit';
import type { SmDirectCalls } from '@cx/sm-contract';
import { AccessControl } from './access/access-control.js';
import { ClusterAddons } from './addons/addons.js';
import { AuditLog } from './audit/audit-log.js';
import { Clusters } from './clusters/clusters.js';
import { PkiGenerator } from './clusters/pki-generator.js';
import { TenantCredentials } from './clusters/tenant-credentials.js';
import { openDatabase } from './db/database.js';
import { directCalls } from './direct-calls.js';
import { EtcdSnapshots } from './etcd-snapshots/etcd-snapshots.js';
import { HaConfigs } from './ha-configs/ha-configs.js';
import { Hosts } from './hosts/hosts.js';
import { Accounts } from './identity/accounts.js';
import { Authenticator } from './identity/auth.js';
import { DirectorySettings } from './identity/directory-settings.js';
import { checkLdapConfig } from './identity/ldap.js';
import { checkOidcConfig } from './identity/oidc.js';
import { OidcSettings } from './identity/oidc-settings.js';
import { LoginThrottle } from './identity/throttle.js';
import { IpPools } from './ip-pools/ip-pools.js';
import { Pairs } from './pairs/pairs.js';
import { Resources } from './resources/resources.js';
import { ClusterEvents } from './cluster-events/cluster-events.js';
import { Names } from './names/names.js';
import { smRoutes } from './routes.js';
import { WorkflowRuns } from './runs/workflow-runs.js';
import { SecretBox } from './secrets/secret-box.js';
import { ClusterTemplates } from './templates/templates.js';

export interface SmApp {
  app: FastifyInstance;
  db: Knex;
  clusters: Clusters;
  runs: WorkflowRuns;
  /** What callers in this process (the all-in-one) call without inject (in-process.ts). */
  calls: SmDirectCalls;
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
  const configErrors = [
    ...checkLdapConfig(ldapConfig),
    ...checkOidcConfig(oidcConfig),
    ...(config.auth.apiTokens.defaultDays > config.auth.apiTokens.maxDays
      ? [{ field: 'auth.apiTokens.defaultDays', message: 'must not exceed auth.apiTokens.maxDays' }]
      : []),
  ];
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
  const applied = await migrateLatest(db, { warn: (message) => logger.warn(message) });
  if (applied.length > 0) logger.info({ migrations: applied }, 'database schema migrated');

  const box = new SecretBox(config.secretKey);
  const accounts = new Accounts(db);
  const access = new AccessControl(db);
  const resources = new Resources(db, box);
  const throttle = new LoginThrottle(db, config.auth.lockout);
  const directory = new DirectorySettings(db, box, ldapConfig, logger);
  const oidc = new OidcSettings(db, box, oidcConfig, oidcRedirectUri(config), logger);
  const auth = new Authenticator(
    db,
    accounts,
    access,
    throttle,
    () => directory.ldap(),
    config.secretKey,
    config.tokenTtlSeconds,
    config.auth.apiTokens,
  );
  if (config.adminPassword && (await auth.ensureBootstrapAdmin(config.adminPassword)))
    logger.info('bootstrap admin `admin` created');
  const pkis = new PkiGenerator();
  const tenants = new TenantCredentials(db, box, {
    pkis,
    userCertificateSeconds: config.auth.kubeconfigCertificateSeconds,
  });
  const runs = new WorkflowRuns(db, tenants);
  const auditLog = new AuditLog(db);
  const clusters = new Clusters(db, runs, resources, tenants, config.limits);
  const names = new Names(db);
  const ipPools = new IpPools(db);
  const addons = new ClusterAddons(db, box);
  const templates = new ClusterTemplates(db, box);
  logger.info({ ldap: (await directory.ldap()) !== null, oidc: (await oidc.current()) !== null }, 'login methods');

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
        clusters,
        runs,
        auditLog,
        auth,
        access,
        accounts,
        resources,
        throttle,
        oidc,
        tenants,
        hosts: new Hosts(db, box),
        ipPools,
        haConfigs: new HaConfigs(db),
        pairs: new Pairs(db, box),
        addons,
        templates,
        etcdSnapshots: new EtcdSnapshots(db, box, config.etcd.maxSnapshotBytes),
        names,
        clusterEvents: new ClusterEvents(db),
        directory,
        serviceToken: config.serviceToken!,
      }),
    { prefix: '/internal/v1' },
  );
  // Audit retention: every replica prunes at start and hourly (the same DELETE, harmless twice).
  const prune = (): void =>
    void auditLog
      .prune(config.audit.retentionDays)
      .then((deleted) => deleted > 0 && logger.info({ deleted }, 'audit records past audit.retentionDays deleted'))
      .catch((error: unknown) => logger.warn({ err: error }, 'audit retention failed; will try again in an hour'));
  prune();
  const retention = setInterval(prune, 3_600_000);
  retention.unref();
  app.addHook('onClose', async () => {
    clearInterval(retention);
    await Promise.all([db.destroy(), pkis.close()]);
  });
  return {
    app,
    db,
    clusters,
    runs,
    calls: directCalls({ access, names, auditLog, clusters, ipPools, templates, addons }),
  };
}
