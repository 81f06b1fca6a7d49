/** The web console: its files at / and its browser sessions (see assets.ts and session.ts). */
import type { FastifyInstance } from 'fastify';
import type { SmClient } from '@cx/sm-contract';
import { consoleAssets, defaultConsoleDir } from './assets.js';
import { browserSessions } from './session.js';

export interface WebConsoleDeps {
  sm: SmClient;
  /** Where the built console is (default: @cx/web's dist/public). */
  dir?: string;
}

/**
 * Registers the console on the root instance, before the API's routes: its session hook must run
 * ahead of the API's authentication.
 */
export function webConsole(app: FastifyInstance, deps: WebConsoleDeps): void {
  browserSessions(app, deps);
  consoleAssets(app, deps.dir ?? defaultConsoleDir());
}
