/** `cx etcd snapshot|restore|list -c CLUSTER`: a cluster's etcd snapshots. */
import type { Command } from 'commander';
import type { EtcdSnapshotInfo } from '@cx/api-schemas';
import {
  examples,
  outputOption,
  parseOutput,
  printItems,
  reportAccepted,
  session,
  waitOptions,
  write,
  WRITE_FORMATS,
  type ClusterAccepted,
  type WaitFlags,
} from '../command-kit.js';
import { ETCD_SNAPSHOT_KIND, findCluster, findInCluster, listKind } from '../resources.js';

const encode = encodeURIComponent;

export function etcdCommands(program: Command): void {
  const etcd = program
    .command('etcd')
    .description("a cluster's etcd: take snapshots, list them, restore one, delete one");

  examples(
    waitOptions(
      etcd
        .command('snapshot')
        .description("take a snapshot of the cluster's etcd (every object, Secrets included; kept sealed)")
        .requiredOption('-c, --cluster <name>', 'the cluster')
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(async (options: WaitFlags & { cluster: string }, command: Command) => {
      parseOutput(options.output);
      const { client } = session(command);
      const cluster = await findCluster(client, options.cluster);
      const { body } = await client.request<ClusterAccepted & { snapshotId: string }>(
        'POST',
        `/clusters/${encode(cluster.id)}/etcd-snapshots`,
      );
      await reportAccepted(
        command,
        client,
        body,
        { name: `etcd-snapshot/${body.snapshotId}`, verb: `of ${cluster.name} being taken` },
        options,
        () => `etcd-snapshot/${body.snapshotId} taken\n`,
      );
    }),
    ['cx etcd snapshot -c demo --wait', 'ID=$(cx etcd snapshot -c demo -o name --wait)'],
  );

  examples(
    etcd
      .command('list')
      .alias('ls')
      .description("list the cluster's etcd snapshots, oldest first (as cx get etcd-snapshots -c CLUSTER)")
      .requiredOption('-c, --cluster <name>', 'the cluster')
      .addOption(outputOption())
      .action(async (options: { cluster: string; output?: string }, command: Command) => {
        const format = parseOutput(options.output);
        const { client } = session(command);
        const cluster = await findCluster(client, options.cluster);
        const items = await listKind<EtcdSnapshotInfo>(client, ETCD_SNAPSHOT_KIND, cluster.id);
        printItems(command, ETCD_SNAPSHOT_KIND, items, format, false);
      }),
    ['cx etcd list -c demo', 'cx etcd list -c demo -o wide'],
  );

  examples(
    waitOptions(
      etcd
        .command('restore')
        .argument('<snapshot>', 'the snapshot id (cx etcd list -c CLUSTER)')
        .description(
          "restore the cluster's etcd from one of its snapshots: every object goes back to it; the API is down meanwhile (admin)",
        )
        .requiredOption('-c, --cluster <name>', 'the cluster')
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(async (snapshot: string, options: WaitFlags & { cluster: string }, command: Command) => {
      parseOutput(options.output);
      const { client } = session(command);
      const cluster = await findCluster(client, options.cluster);
      const [found] = await findInCluster<EtcdSnapshotInfo>(client, ETCD_SNAPSHOT_KIND, cluster, [
        snapshot.replace(/^etcd-snapshot\//, ''),
      ]);
      const { body } = await client.request<ClusterAccepted>(
        'POST',
        `/clusters/${encode(cluster.id)}/etcd-snapshots/${encode(found!.id)}/restore`,
      );
      await reportAccepted(
        command,
        client,
        body,
        { name: `cluster/${cluster.name}`, verb: `restoring etcd-snapshot/${found!.id}` },
        options,
        () => `cluster/${cluster.name} restored to etcd-snapshot/${found!.id} (revision ${found!.revision})\n`,
      );
    }),
    ['cx etcd restore 01J… -c demo --wait'],
  );

  examples(
    etcd
      .command('delete')
      .argument('<snapshot>', 'the snapshot id')
      .description("delete one of the cluster's snapshots (refused while a restore reads it)")
      .requiredOption('-c, --cluster <name>', 'the cluster')
      .action(async (snapshot: string, options: { cluster: string }, command: Command) => {
        const { client } = session(command);
        const cluster = await findCluster(client, options.cluster);
        const [found] = await findInCluster<EtcdSnapshotInfo>(client, ETCD_SNAPSHOT_KIND, cluster, [
          snapshot.replace(/^etcd-snapshot\//, ''),
        ]);
        await client.request('DELETE', `/clusters/${encode(cluster.id)}/etcd-snapshots/${encode(found!.id)}`);
        write(`etcd-snapshot/${found!.id} deleted\n`);
      }),
    ['cx etcd delete 01J… -c demo'],
  );
}
