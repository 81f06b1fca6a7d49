/**
 * wfm's entry point: `cx-server wfm` calls {@link runWfm}; `node services/wfm/dist/main.js` runs
 * wfm alone, configured by CX_CONFIG and the CX_* variables.
 */
import type { CxConfig } from '@cx/config';
import { checkRedis, exitWithError, isEntryPoint, onSignals, runService, type Logger } from '@cx/service-kit';
import { buildWfmApp } from './app.js';

/** Checks Redis, builds wfm, listens on http.host:http.port and closes it on SIGINT / SIGTERM. */
export async function runWfm(config: Readonly<CxConfig>, logger: Logger): Promise<void> {
  await checkRedis(config.redis.url, 'wfm');
  const { app } = await buildWfmApp(config, logger);
  onSignals(logger, () => app.close());
  await app.listen({ host: config.http.host, port: config.http.port });
}

if (isEntryPoint(import.meta.url)) runService('wfm', runWfm).catch(exitWithError);
