#!/usr/bin/env node
/**
 * `cx-server`: every way of running the cx server — one service (`sm`, `wfm`, `sddc`, each from its
 * own `main.ts`), all three in one process (`all-in-one`, the embedded default behind
 * `npm start`), the schema migrations alone (`migrate`, the Helm hook), key rotation and the
 * break-glass unlock of a user. This file only wires the commands; the user's client is `cx`
 * (packages/cli).
 */
import { Command } from 'commander';
import { runSddc } from '@cx/sddc';
import { exitWithError, runService } from '@cx/service-kit';
import { runSm } from '@cx/sm';
import { runWfm } from '@cx/wfm';
import { runAllInOne } from './all-in-one.js';
import { runMigrate } from './migrate.js';
import { runRotateSecretKey } from './rotate-secret-key.js';
import { runUnlockUser } from './unlock-user.js';

const program = new Command('cx-server')
  .description('cx server — Container-as-a-Service control plane')
  .option('-c, --config <file>', 'YAML configuration file (or CX_CONFIG)');
const configFile = (): string | undefined => program.opts<{ config?: string }>().config;

program
  .command('all-in-one')
  .description('run sm, sddc and wfm in one process (the embedded default)')
  .action(() => runAllInOne(configFile()));

for (const [service, run] of [
  ['sm', runSm],
  ['sddc', runSddc],
  ['wfm', runWfm],
] as const) {
  program
    .command(service)
    .description(`run the ${service} service alone`)
    .action(() => runService(service, run, configFile()));
}

program
  .command('migrate')
  .description('bring the SQL schema to the latest version and exit')
  .action(() => runMigrate(configFile()));

program
  .command('rotate-secret-key')
  .description(
    're-encrypt every secret kept in SQL from the previous secretKey (CX_PREVIOUS_SECRET_KEY) to the configured one (CX_SECRET_KEY); safe to run again',
  )
  .action(() => runRotateSecretKey(configFile()));

program
  .command('unlock-user')
  .argument('<username>', 'the user to unlock, e.g. admin')
  .description(
    "lift a user's login lock and delays straight in the database: the break-glass path when no admin can sign in",
  )
  .action((username: string) => runUnlockUser(configFile(), username));

program.parseAsync().catch(exitWithError);
