/**
 * `cx-server all-in-one`: sm, sddc and wfm in one process, the embedded default behind
 * `npm start`. Secrets are generated under dataDir and a private redis-server is started unless
 * redis.url is set; sm and sddc listen on free ports unless CX_SM_PORT / CX_SDDC_PORT say otherwise.
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig, redactUrl } from '@cx/config';
import { buildSddcApp } from '@cx/sddc';
import { checkRedis, createLogger, onSignals, type Logger } from '@cx/service-kit';
import { buildSmApp, smInProcess } from '@cx/sm';
import { buildWfmApp } from '@cx/wfm';
import { embeddedSecrets, startPrivateRedis, type PrivateRedis } from './embedded.js';

/** Starts the three services, prints where the API is and the admin's password, and returns. */
export async function runAllInOne(configFile: string | undefined): Promise<void> {
  const base = loadConfig({ file: configFile });
  const secrets = embeddedSecrets(base.dataDir, !base.adminPassword);
  const portsGiven = { sm: process.env['CX_SM_PORT'] !== undefined, sddc: process.env['CX_SDDC_PORT'] !== undefined };
  let config = loadConfig({
    file: configFile,
    defaults: {
      secretKey: secrets.secretKey,
      serviceToken: secrets.serviceToken,
      ...(secrets.adminPassword ? { adminPassword: secrets.adminPassword } : {}),
      sm: { port: portsGiven.sm ? undefined : 0 },
      sddc: { port: portsGiven.sddc ? undefined : 0 },
    },
  });
  const logger = createLogger({ level: config.log.level, service: 'all-in-one' });
  const serviceLogger = (service: string): Logger => createLogger({ level: config.log.level, service });
  let redis: PrivateRedis | undefined;
  if (!config.redis.url) {
    // Not on a port cx is told to listen on (the API's, sm's, sddc's): it is free until cx listens.
    const reserved = [config.http.port, config.sm.port, config.sddc.port].filter((port) => port > 0);
    redis = await startPrivateRedis(config.dataDir, secrets.redisPassword, reserved);
    config = { ...config, redis: { ...config.redis, url: redis.url } };
    logger.info({ url: redactUrl(redis.url) }, 'private redis-server started');
  } else {
    await checkRedis(config.redis.url, 'all-in-one');
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
    // wfm and sddc call sm's app without a socket, and its modules directly for their frequent
    // calls; the engine's step transitions go to sm's module directly, several at a time.
    const inProcess = smInProcess(sm);
    const sddc = await buildSddcApp(config, serviceLogger('sddc'), {
      dispatch: inProcess.dispatch,
      calls: inProcess.calls,
    });
    started.push(sddc.app);
    await sddc.app.listen({ host: config.sddc.host, port: config.sddc.port });
    const wfm = await buildWfmApp(config, serviceLogger('wfm'), inProcess);
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
}
