/** `cx addon install|remove NAME -c CLUSTER`: cluster addons from the catalog (`cx get addons -c CLUSTER` lists a cluster's). */
import type { Command } from 'commander';
import { parse } from 'yaml';
import type { AddonInstallRequest, ClusterAddon } from '@cx/api-schemas';
import { readRequestFile } from '../cluster-request.js';
import {
  collect,
  examples,
  integer,
  outputOption,
  parseOutput,
  reportAccepted,
  session,
  waitOptions,
  WRITE_FORMATS,
  type ClusterAccepted,
  type WaitFlags,
} from '../command-kit.js';
import { UsageError } from '../exit-codes.js';
import { findCluster } from '../resources.js';

const encode = encodeURIComponent;

/**
 * The settings of `--set KEY=VALUE` (repeatable) over those of `--values FILE`. A value is read as
 * YAML (helm's way): `3` is a number, `true` a boolean, `[a, b]` a list; quote it to keep a string.
 */
export function addonSettings(sets: string[], file?: Record<string, unknown>): Record<string, unknown> | undefined {
  const settings: Record<string, unknown> = { ...file };
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${set}: expected KEY=VALUE`, 'e.g. --set replicas=2');
    const value = set.slice(eq + 1);
    let parsed: unknown;
    try {
      parsed = value === '' ? '' : parse(value);
    } catch {
      parsed = value;
    }
    settings[set.slice(0, eq)] = parsed;
  }
  return Object.keys(settings).length > 0 ? settings : undefined;
}

export function addonCommands(program: Command): void {
  const addon = program
    .command('addon')
    .description("install and remove a cluster's addons (cx get addons -c CLUSTER lists them)");

  examples(
    waitOptions(
      addon
        .command('install')
        .argument('<name>', 'an addon of the catalog (GET /api/v1/addons), e.g. ingress-nginx')
        .description('install an addon, or apply it again with new settings (they replace the earlier ones)')
        .requiredOption('-c, --cluster <name>', 'the cluster')
        .option('--set <KEY=VALUE>', 'a setting, repeatable; the value is read as YAML', collect, [])
        .option('--values <file>', "the addon's settings as a YAML or JSON object (- for stdin); --set wins")
        .option(
          '--ready-timeout <seconds>',
          'how long the addon may take to become ready',
          integer('--ready-timeout', 1, 86400),
        )
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(
      async (
        name: string,
        options: WaitFlags & { cluster: string; set: string[]; values?: string; readyTimeout?: number },
        command: Command,
      ) => {
        parseOutput(options.output);
        const settings = addonSettings(options.set, options.values ? readRequestFile(options.values) : undefined);
        const body: AddonInstallRequest = {
          ...(settings ? { settings } : {}),
          ...(options.readyTimeout !== undefined ? { readyTimeoutSeconds: options.readyTimeout } : {}),
        };
        const { client } = session(command);
        const cluster = await findCluster(client, options.cluster);
        const { body: accepted } = await client.request<ClusterAccepted & { addon: ClusterAddon }>(
          'PUT',
          `/clusters/${encode(cluster.id)}/addons/${encode(name)}`,
          { body },
        );
        await reportAccepted(
          command,
          client,
          accepted,
          { name: `addon/${name}`, verb: `installing ${accepted.addon.version} on ${cluster.name}` },
          options,
          (run) => `addon/${name} ${run.status === 'Succeeded' ? 'Installed' : run.status}\n`,
        );
      },
    ),
    [
      'cx addon install ingress-nginx -c demo --wait',
      'cx addon install monitoring -c demo --set retention=7d --set replicas=2',
      'cx addon install local-path-storage -c demo --values storage.yaml',
    ],
  );

  examples(
    waitOptions(
      addon
        .command('remove')
        .alias('uninstall')
        .argument('<name>', 'an installed addon')
        .description('remove an addon: every object labelled with it is deleted from the cluster')
        .requiredOption('-c, --cluster <name>', 'the cluster')
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(async (name: string, options: WaitFlags & { cluster: string }, command: Command) => {
      parseOutput(options.output);
      const { client } = session(command);
      const cluster = await findCluster(client, options.cluster);
      const { body } = await client.request<ClusterAccepted>(
        'DELETE',
        `/clusters/${encode(cluster.id)}/addons/${encode(name)}`,
      );
      await reportAccepted(
        command,
        client,
        body,
        { name: `addon/${name}`, verb: `removing from ${cluster.name}` },
        options,
        () => `addon/${name} removed\n`,
      );
    }),
    ['cx addon remove ingress-nginx -c demo --wait'],
  );
}
