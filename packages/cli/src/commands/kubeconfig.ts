/** `cx kubeconfig CLUSTER [--merge]` and its exec credential plugin, `cx kubeconfig credential`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { examples, session, write } from '../command-kit.js';
import {
  defaultKubeconfigPath,
  execCredential,
  execKubeconfig,
  mergeKubeconfig,
  readIssued,
  readKubeconfig,
  writeKubeconfig,
} from '../kubeconfig.js';
import { renderJson, renderYaml } from '../output.js';
import { findCluster } from '../resources.js';

export function kubeconfigCommands(program: Command): void {
  const kubeconfig = program
    .command('kubeconfig')
    .argument('[cluster]', 'name or id')
    .description(
      "a kubeconfig for a cluster whose user runs cx as kubectl's exec credential plugin: a fresh short-lived certificate each time, no expiry to manage",
    )
    .option(
      '--merge',
      'merge it into the kubeconfig (first file of KUBECONFIG, else ~/.kube/config) and make it current',
    )
    .option('--file <path>', 'with --merge: the kubeconfig to merge into')
    .option(
      '--exec-command <command>',
      'how kubectl runs cx (default: this node and this cx, by absolute path; e.g. cx when it is on the PATH)',
    )
    .action(
      async (
        name: string | undefined,
        options: { merge?: boolean; file?: string; execCommand?: string },
        command: Command,
      ) => {
        if (!name) return void command.help({ error: true });
        const { client, context } = session(command);
        const cluster = await findCluster(client, name);
        const { body } = await client.request<string>('GET', `/clusters/${encodeURIComponent(cluster.id)}/kubeconfig`, {
          text: true,
        });
        const entries = execKubeconfig({
          server: context.server,
          contextName: context.name,
          username: context.username,
          clusterName: cluster.name,
          clusterId: cluster.id,
          issued: readIssued(body),
          exec: options.execCommand ? [options.execCommand] : [process.execPath, resolve(process.argv[1]!)],
        });
        if (!options.merge) return write(renderYaml(entries));
        const path = options.file ?? defaultKubeconfigPath();
        writeKubeconfig(path, mergeKubeconfig(readKubeconfig(path), entries));
        write(`context ${entries['current-context']} written to ${path} and made current\n`);
      },
    );
  examples(kubeconfig, [
    'cx kubeconfig demo > demo.kubeconfig; kubectl --kubeconfig demo.kubeconfig get nodes',
    'cx kubeconfig demo --merge && kubectl get nodes',
    'cx kubeconfig demo --merge --exec-command cx',
  ]);

  examples(
    kubeconfig
      .command('credential')
      .argument('<cluster>', 'name or id')
      .description(
        'print an ExecCredential with a fresh client certificate for the cluster (what kubectl runs; not for people)',
      )
      .action(async (name: string, _options: unknown, command: Command) => {
        const { client } = session(command);
        const cluster = await findCluster(client, name);
        const { body, headers } = await client.request<string>(
          'GET',
          `/clusters/${encodeURIComponent(cluster.id)}/kubeconfig`,
          { text: true },
        );
        write(renderJson(execCredential(readIssued(body), headers.get('x-cx-expires-at'))));
      }),
    ['cx kubeconfig credential 01J… | jq .status.expirationTimestamp'],
  );
}
