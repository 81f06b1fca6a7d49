/**
 * sm's entry point: `cx-server sm` calls {@link runSm}; `node services/sm/dist/main.js` runs sm
 * alone, configured by CX_CONFIG and the CX_* variables.
 */
import type { CxConfig } from '@cx/config';
import { exitWithError, isEntryPoint, onSignals, runService, type Logger } from '@cx/service-kit';
import { buildSmApp } from './app.js';

/** Builds sm, listens on sm.host:sm.port and closes it on SIGINT / SIGTERM. */
export async function runSm(config: Readonly<CxConfig>, logger: Logger): Promise<void> {
  const { app } = await buildSmApp(config, logger);
  onSignals(logger, () => app.close());
  await app.listen({ host: config.sm.host, port: config.sm.port });
}

if (isEntryPoint(import.meta.url)) runService('sm', runSm).catch(exitWithError);
