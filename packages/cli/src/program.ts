/**
 * Every command of `cx`, declared once: `main.ts` runs them, docs.ts writes docs/cli.md from them.
 * `cx` is a pure client of the public API (`/api/v1`); it runs nothing of the server.
 */
import { Argument, Command, Option } from 'commander';
import { examples, write } from './command-kit.js';
import { addonCommands } from './commands/addons.js';
import { applyCommands } from './commands/apply.js';
import { authCommands } from './commands/auth.js';
import { etcdCommands } from './commands/etcd.js';
import { haConfigCommands } from './commands/ha-configs.js';
import { kubeconfigCommands } from './commands/kubeconfig.js';
import { operationCommands } from './commands/operations.js';
import { readCommands } from './commands/read.js';
import { writeCommands } from './commands/write.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import { EXIT_CODE_TABLE } from './exit-codes.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('cx')
    .description('cx — Container-as-a-Service control plane: clusters on vSphere, OpenStack, bare metal (and sim)')
    .exitOverride()
    .showHelpAfterError('(cx --help shows the commands; cx COMMAND --help, their options and examples)')
    .addOption(new Option('--context <name>', 'the context to use instead of the current one').env('CX_CONTEXT'))
    .option('--no-color', 'no colour even on a terminal (NO_COLOR=1 does the same)')
    .addHelpText(
      'after',
      `\nExit codes:\n${EXIT_CODE_TABLE.map(([code, meaning]) => `  ${String(code).padEnd(3)}${meaning}`).join('\n')}\n`,
    );
  examples(
    program
      .command('version')
      .description('print the version of cx (this client)')
      .action(() => void process.stdout.write(`${VERSION}\n`)),
    ['cx version'],
  );
  authCommands(program);
  readCommands(program);
  writeCommands(program);
  operationCommands(program);
  addonCommands(program);
  etcdCommands(program);
  haConfigCommands(program);
  applyCommands(program);
  kubeconfigCommands(program);
  examples(
    program
      .command('completion')
      .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
      .description('print a shell completion script: commands, flags, resource kinds, cluster names')
      .action((shell: Shell) => write(completionScript(shell, program))),
    [
      'source <(cx completion bash)   # in ~/.bashrc',
      'source <(cx completion zsh)    # in ~/.zshrc',
      'cx completion fish > ~/.config/fish/completions/cx.fish',
    ],
  );
  return program;
}
