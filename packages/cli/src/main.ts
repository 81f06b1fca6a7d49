#!/usr/bin/env node
/**
 * `cx`: one binary for every way of running cx — a single service (`cx sm`, `cx wfm`, `cx sddc`),
 * all three in one process (`cx all-in-one`, the embedded default behind `npm start`), the
 * schema migrations alone (`cx migrate`, the Helm hook), key rotation, and the client commands
 * that sign a user in and out (`cx login`, `cx whoami`, `cx logout`).
 */
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { loadConfig, redactConfig, redactUrl } from '@cx/config';
import { CxError } from '@cx/errors';
import { buildSddcApp } from '@cx/sddc';
import { createLogger, type Logger } from '@cx/service-kit';
import { buildSmApp, openDatabase, rotateSecrets, SecretBox } from '@cx/sm';
import { migrateLatest } from '@cx/migrations';
import { buildWfmApp } from '@cx/wfm';
import type { FastifyInstance } from 'fastify';
import { embeddedSecrets, startPrivateRedis, type PrivateRedis } from './embedded.js';
import { api, deviceLogin, loadSession, logout, passwordLogin, readPassword, sessionFile } from './session.js';

const program = new Command('cx').description('cx — Container-as-a-Service control plane').option('-c, --config <file>', 'YAML configuration file (or CX_CONFIG)');

program.command('all-in-one').description('run sm, sddc and wfm in one process (the embedded default)').action(async () => {
  const options = program.opts<{ config?: string }>();
  const base = loadConfig({ file: options.config });
  const secrets = embeddedSecrets(base.dataDir, !base.adminPassword);
  const portsGiven = { sm: process.env['CX_SM_PORT'] !== undefined, sddc: process.env['CX_SDDC_PORT'] !== undefined };
  let config = loadConfig({
    file: options.config,
    defaults: {
      secretKey: secrets.secretKey, serviceToken: secrets.serviceToken,
      ...(secrets.adminPassword ? { adminPassword: secrets.adminPassword } : {}),
      sm: { port: portsGiven.sm ? undefined : 0 }, sddc: { port: portsGiven.sddc ? undefined : 0 },
    },
  });
  const logger = createLogger({ level: config.log.level, service: 'all-in-one' });
  const serviceLogger = (service: string): Logger => createLogger({ level: config.log.level, service });
  let redis: PrivateRedis | undefined;
  if (!config.redis.url) {
    redis = await startPrivateRedis(config.dataDir);
    config = { ...config, redis: { ...config.redis, url: redis.url } };
    logger.info({ url: redis.url }, 'private redis-server started');
  } else {
    await checkRedis(config.redis.url);
  }
  const started: FastifyInstance[] = [];
  const stop = onSignals(logger, async () => {
    for (const app of started.reverse()) await app.close();
    await redis?.stop();
  });
  try {
    const sm = await buildSmApp(config, serviceLogger('sm'));
    started.push(sm.app);
    const smAddress = await sm.app.listen({ host: config.sm.host, port: config.sm.port });
    config = { ...config, sm: { ...config.sm, url: smAddress } };
    const sddc = await buildSddcApp(config, serviceLogger('sddc'));
    started.push(sddc.app);
    await sddc.app.listen({ host: config.sddc.host, port: config.sddc.port });
    const wfm = await buildWfmApp(config, serviceLogger('wfm'));
    started.push(wfm.app);
    await wfm.app.listen({ host: config.http.host, port: config.http.port });
    const apiBase = `http://${config.http.host}:${config.http.port}`;
    const lines = [
      '',
      `cx is running (all-in-one, data in ${config.dataDir}, database ${redactUrl(config.database.url)})`,
      `  API          ${apiBase}/api/v1`,
      `  API docs     ${apiBase}/api/v1/docs   (OpenAPI: ${apiBase}/api/v1/openapi.json)`,
      `  admin login  user "admin", password ${process.env['CX_ADMIN_PASSWORD'] ? 'from CX_ADMIN_PASSWORD' : `${config.adminPassword} (kept in ${config.dataDir}/secrets.json)`}`,
      '  stop with Ctrl-C',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } catch (error) {
    await stop();
    throw error;
  }
});

for (const service of ['sm', 'sddc', 'wfm'] as const) {
  program.command(service).description(`run the ${service} service alone`).action(async () => {
    const config = loadConfig({ file: program.opts<{ config?: string }>().config });
    const logger = createLogger({ level: config.log.level, service });
    logger.info({ config: redactConfig(config) }, 'starting');
    if (service !== 'sm') {
      if (!config.redis.url) throw new CxError('CX_INPUT_INVALID', `${service} needs redis.url (CX_REDIS_URL)`);
      await checkRedis(config.redis.url);
    }
    const { app } = service === 'sm' ? await buildSmApp(config, logger) : service === 'sddc' ? await buildSddcApp(config, logger) : await buildWfmApp(config, logger);
    onSignals(logger, () => app.close());
    const listen = service === 'sm' ? config.sm : service === 'sddc' ? config.sddc : config.http;
    await app.listen({ host: listen.host, port: listen.port });
  });
}

program.command('migrate').description('bring the SQL schema to the latest version and exit').action(async () => {
  const config = loadConfig({ file: program.opts<{ config?: string }>().config });
  const db = openDatabase(config.database.url, 1);
  try {
    const applied = await migrateLatest(db);
    process.stdout.write(applied.length > 0 ? `applied migrations: ${applied.join(', ')}\n` : 'schema is up to date\n');
  } finally {
    await db.destroy();
  }
});

program.command('rotate-secret-key')
  .description('re-encrypt every secret kept in SQL from the previous secretKey (CX_PREVIOUS_SECRET_KEY) to the configured one (CX_SECRET_KEY); safe to run again')
  .action(async () => {
    const base = loadConfig({ file: program.opts<{ config?: string }>().config });
    const previousKey = process.env['CX_PREVIOUS_SECRET_KEY'];
    if (!previousKey) throw new CxError('CX_INPUT_INVALID', 'set CX_PREVIOUS_SECRET_KEY to the key the secrets are sealed with now, and CX_SECRET_KEY (secretKey) to the new one');
    const secretKey = base.secretKey ?? embeddedSecrets(base.dataDir, false).secretKey;
    if (secretKey === previousKey) throw new CxError('CX_INPUT_INVALID', 'the new secretKey equals CX_PREVIOUS_SECRET_KEY; nothing to rotate');
    const db = openDatabase(base.database.url, 1);
    try {
      await migrateLatest(db);
      const { rotated, alreadyCurrent } = await rotateSecrets(db, new SecretBox(previousKey), new SecretBox(secretKey));
      process.stdout.write(`re-encrypted ${rotated} secret(s); ${alreadyCurrent} already used the new key. Access tokens signed with the previous key are no longer valid: users log in again (API tokens keep working).\n`);
    } finally {
      await db.destroy();
    }
  });

program.command('login')
  .description('sign in to a cx API and keep the session (password: local or LDAP; --sso: OIDC device flow)')
  .requiredOption('-s, --server <url>', 'cx API, e.g. http://127.0.0.1:8080', process.env['CX_SERVER'])
  .option('-u, --username <name>', 'for a password login (the password is read from the terminal or CX_PASSWORD)')
  .option('--ldap', 'look the user up in LDAP / Active Directory only')
  .option('--sso', 'sign in through the OIDC identity provider (device flow)')
  .action(async (options: { server: string; username?: string; ldap?: boolean; sso?: boolean }) => {
    if (options.sso === (options.username !== undefined)) throw new CxError('CX_INPUT_INVALID', 'give either --username (password login) or --sso');
    const session = options.sso
      ? await deviceLogin(options.server, (message) => process.stderr.write(message))
      : await passwordLogin(options.server, options.username!, await readPassword(`password for ${options.username}: `), options.ldap ? 'ldap' : undefined);
    process.stdout.write(`signed in to ${session.server} as ${session.username} until ${session.expiresAt} (session in ${sessionFile()})\n`);
  });

program.command('whoami').description('show who the saved session belongs to').action(async () => {
  const session = loadSession();
  const { body } = await api<{ username: string; source: string; role: string; groups: string[] }>(session.server, 'GET', '/api/v1/auth/whoami', { token: session.token });
  process.stdout.write(`${body.username} (${body.source}, ${body.role}) on ${session.server}${body.groups.length ? `\ngroups: ${body.groups.join('; ')}` : ''}\n`);
});

program.command('logout').description('revoke the saved session and forget it').action(async () => {
  await logout();
  process.stdout.write('signed out\n');
});

async function checkRedis(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5_000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new CxError('CX_DEPENDENCY_UNAVAILABLE', `cannot reach Redis at ${redactUrl(url)} (${(error as Error).message}); check redis.url (CX_REDIS_URL)`);
  } finally {
    probe.disconnect();
  }
}

/** Stops cleanly on SIGINT / SIGTERM (a second signal forces the exit). */
function onSignals(logger: Logger, close: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= close());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      logger.info({ signal }, 'stopping');
      stop().then(() => process.exit(0), (error: unknown) => { logger.error({ err: error }, 'error while stopping'); process.exit(1); });
    });
  }
  return stop;
}

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`cx: ${message}\n`);
  process.exit(error instanceof CxError && error.code === 'CX_INPUT_INVALID' ? 2 : 1);
});

