#!/usr/bin/env node
/**
 * `cx`: the user's client of the public API. It signs a user in and out (`cx login`, `cx whoami`,
 * `cx logout`) and keeps the session; it runs nothing of the server, which is `cx-server`
 * (apps/server).
 */
import { Command } from 'commander';
import { CxError } from '@cx/errors';
import { api, deviceLogin, loadSession, logout, passwordLogin, readPassword, sessionFile } from './session.js';

const program = new Command('cx').description('cx — Container-as-a-Service control plane');

program
  .command('login')
  .description('sign in to a cx API and keep the session (password: local or LDAP; --sso: OIDC device flow)')
  .requiredOption('-s, --server <url>', 'cx API, e.g. http://127.0.0.1:8080', process.env['CX_SERVER'])
  .option('-u, --username <name>', 'for a password login (the password is read from the terminal or CX_PASSWORD)')
  .option('--ldap', 'look the user up in LDAP / Active Directory only')
  .option('--sso', 'sign in through the OIDC identity provider (device flow)')
  .action(async (options: { server: string; username?: string; ldap?: boolean; sso?: boolean }) => {
    if (options.sso === (options.username !== undefined))
      throw new CxError('CX_INPUT_INVALID', 'give either --username (password login) or --sso');
    const session = options.sso
      ? await deviceLogin(options.server, (message) => process.stderr.write(message))
      : await passwordLogin(
          options.server,
          options.username!,
          await readPassword(`password for ${options.username}: `),
          options.ldap ? 'ldap' : undefined,
        );
    process.stdout.write(
      `signed in to ${session.server} as ${session.username} until ${session.expiresAt} (session in ${sessionFile()})\n`,
    );
  });

program
  .command('whoami')
  .description('show who the saved session belongs to')
  .action(async () => {
    const session = loadSession();
    const { body } = await api<{ username: string; source: string; role: string; groups: string[] }>(
      session.server,
      'GET',
      '/api/v1/auth/whoami',
      { token: session.token },
    );
    process.stdout.write(
      `${body.username} (${body.source}, ${body.role}) on ${session.server}${body.groups.length ? `\ngroups: ${body.groups.join('; ')}` : ''}\n`,
    );
  });

program
  .command('logout')
  .description('revoke the saved session and forget it')
  .action(async () => {
    await logout();
    process.stdout.write('signed out\n');
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`cx: ${message}\n`);
  process.exit(error instanceof CxError && error.code === 'CX_INPUT_INVALID' ? 2 : 1);
});
