/**
 * sddc's entry point: `cx-server sddc` calls {@link runSddc}; `node services/sddc/dist/main.js`
 * runs sddc alone, configured by CX_CONFIG and the CX_* variables.
 */
import type { CxConfig } from '@cx/config';
import { checkRedis, exitWithError, isEntryPoint, onSignals, runService, type Logger } from '@cx/service-kit';
import { buildSddcApp } from './app.js';

/** Checks Redis, builds sddc, listens on sddc.host:sddc.port and closes it on SIGINT / SIGTERM. */
export async function runSddc(config: Readonly<CxConfig>, logger: Logger): Promise<void> {
  await checkRedis(config.redis.url, 'sddc');
  const { app } = await buildSddcApp(config, logger);
  onSignals(logger, () => app.close());
  await app.listen({ host: config.sddc.host, port: config.sddc.port });
}

if (isEntryPoint(import.meta.url)) runService('sddc', runSddc).catch(exitWithError);
