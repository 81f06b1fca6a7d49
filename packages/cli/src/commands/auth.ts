/** `cx login`, `whoami`, `logout` and `cx config …`: signing in, and the contexts that remember it. */
import { Option, type Command } from 'commander';
import { examples, outputOption, parseOutput, printValue, session, write } from '../command-kit.js';
import { credentialsPath, loadCredentials, saveCredentials, selectContext } from '../contexts.js';
import { UsageError } from '../exit-codes.js';
import { renderTable } from '../output.js';
import { deviceLogin, logout, normalizeServer, passwordLogin, readPassword } from '../session.js';

export function authCommands(program: Command): void {
  examples(
    program
      .command('login')
      .argument('[server]', 'the cx API, e.g. http://127.0.0.1:8080 (or host:port)')
      .description(
        'sign in to a cx API and keep the session as a context (password: local or LDAP users; --sso: OIDC device flow)',
      )
      .addOption(new Option('-s, --server <url>', 'the cx API, instead of the argument').env('CX_SERVER'))
      .option('-u, --username <name>', 'password login: the password is read from the terminal, or CX_PASSWORD')
      .option('--ldap', 'look the user up in LDAP / Active Directory only')
      .option('--sso', 'sign in through the OIDC identity provider (device flow)')
      .option('--context-name <name>', 'name of the context to keep (default: USER@HOST:PORT)')
      .action(
        async (
          serverArgument: string | undefined,
          options: { server?: string; username?: string; ldap?: boolean; sso?: boolean; contextName?: string },
        ) => {
          const given = serverArgument ?? options.server;
          if (!given) throw new UsageError('give the server: cx login SERVER --username NAME', 'or set CX_SERVER');
          if (serverArgument && options.server && normalizeServer(serverArgument) !== normalizeServer(options.server))
            throw new UsageError(`two servers given: ${serverArgument} and --server ${options.server}`);
          if (options.sso === (options.username !== undefined))
            throw new UsageError('give either --username NAME (password login) or --sso');
          const server = normalizeServer(given);
          const context = options.sso
            ? await deviceLogin(server, (message) => process.stderr.write(message), {
                ...(options.contextName ? { contextName: options.contextName } : {}),
              })
            : await passwordLogin(server, options.username!, await readPassword(`password for ${options.username}: `), {
                ...(options.ldap ? { provider: 'ldap' as const } : {}),
                ...(options.contextName ? { contextName: options.contextName } : {}),
              });
          write(
            `signed in to ${context.server} as ${context.username} until ${context.expiresAt} (context ${context.name}, in ${credentialsPath()})\n`,
          );
        },
      ),
    [
      'cx login http://127.0.0.1:8080 --username admin',
      'CX_PASSWORD=… cx login cx.example.com:8080 -u alice --ldap',
      'cx login https://cx.example.com --sso',
    ],
  );

  examples(
    program
      .command('whoami')
      .description('show who the current context signs in as, on which server')
      .addOption(outputOption('json|yaml'))
      .action(async (options: { output?: string }, command: Command) => {
        const { context, client } = session(command);
        const me = await client.get<{ username: string; source: string; role: string; groups: string[] }>(
          '/auth/whoami',
        );
        if (
          printValue({ ...me, server: context.server, context: context.name }, parseOutput(options.output), me.username)
        )
          return;
        write(
          `${me.username} (${me.source}, ${me.role}) on ${context.server}${me.groups.length ? `\ngroups: ${me.groups.join('; ')}` : ''}\n`,
        );
      }),
    ['cx whoami', 'cx whoami --context bob@cx.example.com:443'],
  );

  examples(
    program
      .command('logout')
      .description('revoke the session of the current context (or --context) and forget the context')
      .option('--all', 'every context')
      .action(async (options: { all?: boolean }, command: Command) => {
        const wanted = command.optsWithGlobals<{ context?: string }>().context ?? process.env['CX_CONTEXT'];
        const names = options.all ? loadCredentials().contexts.map((c) => c.name) : [wanted];
        let signedOut = 0;
        for (const name of names) if (await logout(name)) signedOut++;
        write(signedOut > 0 ? 'signed out\n' : 'not signed in\n');
      }),
    ['cx logout', 'cx logout --all'],
  );

  const config = program
    .command('config')
    .description('the contexts: one per server and user signed in, one of them current');

  examples(
    config
      .command('get-contexts')
      .description('list the contexts; * marks the current one')
      .addOption(outputOption('table|json|yaml|name'))
      .action((options: { output?: string }) => {
        const file = loadCredentials();
        const rows = file.contexts.map((c) => ({
          current: c.name === file.currentContext ? '*' : '',
          name: c.name,
          server: c.server,
          username: c.username,
          expiresAt: c.expiresAt,
        }));
        const format = parseOutput(options.output);
        if (format.kind === 'name') return write(rows.map((r) => `${r.name}\n`).join(''));
        // Tokens never leave the file.
        if (printValue({ currentContext: file.currentContext, contexts: rows }, format, '')) return;
        if (rows.length === 0) return void process.stderr.write('No contexts: sign in with cx login SERVER.\n');
        write(
          renderTable(rows, [
            { header: 'CURRENT', value: (r) => r.current || ' ' },
            { header: 'NAME', value: (r) => r.name },
            { header: 'SERVER', value: (r) => r.server },
            { header: 'USER', value: (r) => r.username },
            { header: 'EXPIRES', value: (r) => r.expiresAt },
          ]),
        );
      }),
    ['cx config get-contexts', 'cx config get-contexts -o name'],
  );

  examples(
    config
      .command('use-context')
      .argument('<name>', 'a context of `cx config get-contexts`')
      .description('make a context the current one')
      .action((name: string) => {
        const file = loadCredentials();
        selectContext(file, name);
        saveCredentials({ ...file, currentContext: name });
        write(`switched to context ${name}\n`);
      }),
    ['cx config use-context admin@127.0.0.1:8080'],
  );

  examples(
    config
      .command('current-context')
      .description('print the name of the current context')
      .action(() => {
        const file = loadCredentials();
        write(`${selectContext(file).name}\n`);
      }),
    ['cx config current-context'],
  );

  examples(
    config
      .command('delete-context')
      .argument('<name>', 'a context of `cx config get-contexts`')
      .description('revoke the session of a context and forget it (as cx logout --context NAME)')
      .action(async (name: string) => {
        await logout(name);
        write(`deleted context ${name}\n`);
      }),
    ['cx config delete-context bob@cx.example.com:443'],
  );
}
