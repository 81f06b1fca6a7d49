/**
 * How a cx process starts and stops, shared by each service's `main.ts` and by `cx-server`:
 * configuration loaded and logged once, dependencies checked before anything listens, a clean
 * stop on SIGINT / SIGTERM, and one line on stderr (`cx: …`) with an exit code when it fails.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { loadConfig, redactConfig, redactUrl, type CxConfig } from '@cx/config';
import { CxError } from '@cx/errors';
import { createLogger } from './logger.js';

/** Runs one service until it is told to stop; it returns once the service listens. */
export type ServiceRunner = (config: Readonly<CxConfig>, logger: Logger) => Promise<void>;

/**
 * Loads the configuration (`configFile`, else CX_CONFIG, and the CX_* variables), makes the
 * service's logger, logs the redacted configuration and runs the service.
 */
export async function runService(service: string, run: ServiceRunner, configFile?: string): Promise<void> {
  const config = loadConfig({ file: configFile });
  const logger = createLogger({ level: config.log.level, service });
  logger.info({ config: redactConfig(config) }, 'starting');
  await run(config, logger);
}

/**
 * True when the module of `moduleUrl` is the script node was started with, so that a service's
 * `main.ts` runs on its own but does nothing when the launcher imports it.
 */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}

/** Stops cleanly on SIGINT / SIGTERM (a second signal forces the exit); returns the stop itself. */
export function onSignals(logger: Logger, close: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= close());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      logger.info({ signal }, 'stopping');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          process.exit(1);
        },
      );
    });
  }
  return stop;
}

/** Fails at start, with the setting to change, when `service` has no Redis or Redis does not answer. */
export async function checkRedis(url: string | undefined, service: string): Promise<void> {
  if (!url) throw new CxError('CX_INPUT_INVALID', `${service} needs redis.url (CX_REDIS_URL)`);
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5_000,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new CxError(
      'CX_DEPENDENCY_UNAVAILABLE',
      `cannot reach Redis at ${redactUrl(url)} (${(error as Error).message}); check redis.url (CX_REDIS_URL)`,
    );
  } finally {
    probe.disconnect();
  }
}

/** Ends the process on a failure: `cx: message` on stderr, exit code 2 for invalid input, else 1. */
export function exitWithError(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`cx: ${message}\n`);
  process.exit(error instanceof CxError && error.code === 'CX_INPUT_INVALID' ? 2 : 1);
}
