/**
 * Day-2 operations on a cluster and its nodes: `cx os-upgrade`, `cx rotate certificates|ca`,
 * `cx cordon|uncordon|drain`, `cx delete node` and `cx workflow rollback`. Each answers 202 with a
 * workflow, which `--wait` follows to its end.
 */
import type { Command } from 'commander';
import type { Cluster } from '@cx/api-schemas';
import {
  examples,
  integer,
  oneTarget,
  outputOption,
  parseOutput,
  reportAccepted,
  session,
  waitOptions,
  WRITE_FORMATS,
  type ClusterAccepted,
  type WaitFlags,
} from '../command-kit.js';
import { findCluster } from '../resources.js';

const encode = encodeURIComponent;

/** A subcommand group the program already has (`delete`, `workflow`), to add verbs to it. */
function group(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  if (!found) throw new Error(`cx has no ${name} command to add to`);
  return found;
}

export function operationCommands(program: Command): void {
  examples(
    waitOptions(
      program
        .command('os-upgrade')
        .argument('<target...>', 'cluster/NAME (or cluster NAME)')
        .description(
          'move the workers onto a new OS image: each is replaced by a new machine booted from it, maxSurge at a time (control-plane machines stay)',
        )
        .requiredOption(
          '--image <image>',
          'vsphere: template VM path; openstack: Glance image name or id; kwok: any image name',
        )
        .option(
          '--max-surge <n>',
          'new machines created ahead of the old ones (default 1)',
          integer('--max-surge', 1, 500),
        )
        .option('--drain-timeout <seconds>', 'how long a blocked drain may take', integer('--drain-timeout', 1, 86400))
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(
      async (
        target: string[],
        options: WaitFlags & { image: string; maxSurge?: number; drainTimeout?: number },
        command: Command,
      ) => {
        const name = oneTarget(target, 'cluster');
        parseOutput(options.output);
        const { client } = session(command);
        const cluster = await findCluster(client, name);
        const { body } = await client.request<ClusterAccepted>('POST', `/clusters/${encode(cluster.id)}/os-upgrade`, {
          body: {
            image: options.image,
            ...(options.maxSurge !== undefined ? { maxSurge: options.maxSurge } : {}),
            ...(options.drainTimeout !== undefined ? { drainTimeoutSeconds: options.drainTimeout } : {}),
          },
        });
        await reportAccepted(
          command,
          client,
          body,
          { name: `cluster/${cluster.name}`, verb: `moving to image ${options.image}` },
          options,
          async (run) => {
            const after = await client.get<Cluster>(`/clusters/${encode(cluster.id)}`);
            return `cluster/${after.name} image ${after.osImage ?? '<default>'} ${after.status} (${run.workflow} ${run.status})\n`;
          },
        );
      },
    ),
    [
      'cx os-upgrade cluster/web --image /dc1/vm/templates/ubuntu-24.04-k8s --wait',
      'cx os-upgrade cluster/web --image ubuntu-24.04 --max-surge 2 --drain-timeout 600',
      'cx workflow rollback 01J…   # a failed or cancelled OS upgrade goes back',
    ],
  );

  const rotate = program
    .command('rotate')
    .description("rotate a cluster's control-plane certificates, or its CA (admin)");
  for (const [what, path, description, example] of [
    [
      'certificates',
      'rotate-certificates',
      "issue the control plane's serving and client certificates again under the same CAs (kubeconfigs keep working)",
      'cx rotate certificates cluster/demo --wait',
    ],
    [
      'ca',
      'rotate-ca',
      'rotate the cluster CA in two phases (trust both, then drop the old): kubeconfigs signed by the old CA stop working',
      'cx rotate ca cluster/demo --wait && cx kubeconfig demo --merge',
    ],
  ] as const) {
    examples(
      waitOptions(
        rotate
          .command(what)
          .argument('<target...>', 'cluster/NAME (or cluster NAME)')
          .description(description)
          .addOption(outputOption(WRITE_FORMATS)),
      ).action(async (target: string[], options: WaitFlags, command: Command) => {
        const name = oneTarget(target, 'cluster');
        parseOutput(options.output);
        const { client } = session(command);
        const cluster = await findCluster(client, name);
        const { body } = await client.request<ClusterAccepted>('POST', `/clusters/${encode(cluster.id)}/${path}`);
        await reportAccepted(
          command,
          client,
          body,
          { name: `cluster/${cluster.name}`, verb: `rotating ${what}` },
          options,
        );
      }),
      [example],
    );
  }

  nodeCommands(program);

  examples(
    waitOptions(
      group(program, 'workflow')
        .command('rollback')
        .argument('<id>', 'id of a Failed or Cancelled OS upgrade (cluster.os-upgrade)')
        .description(
          "roll back a failed OS upgrade: workers not yet replaced keep their machine, the new ones go, the cluster's image is the old one",
        )
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(async (id: string, options: WaitFlags, command: Command) => {
      parseOutput(options.output);
      const { client } = session(command);
      const { body } = await client.request<ClusterAccepted>('POST', `/workflows/${encode(id)}/rollback`);
      await reportAccepted(
        command,
        client,
        body,
        { name: `cluster/${body.cluster.name}`, verb: `rolling back ${id}` },
        options,
      );
    }),
    ['cx workflow rollback 01J… --wait'],
  );
}

function nodeCommands(program: Command): void {
  const nodeVerbs = [
    [
      'cordon',
      'cordoned',
      'cordon a node: no new pod is scheduled on it; the pods on it stay (refused for the last node that takes workloads)',
    ],
    ['uncordon', 'uncordoned', 'uncordon a node: it takes new pods again'],
    [
      'drain',
      'drained',
      'drain a node: cordon it, then evict its pods honouring PodDisruptionBudgets; it stays cordoned (uncordon takes it back)',
    ],
  ] as const;
  for (const [verb, done, description] of nodeVerbs) {
    const command = program
      .command(verb)
      .argument('<target...>', 'node/NAME (or node NAME)')
      .description(description)
      .requiredOption('-c, --cluster <name>', 'the cluster the node belongs to')
      .addOption(outputOption(WRITE_FORMATS));
    if (verb === 'drain')
      command.option(
        '--drain-timeout <seconds>',
        'how long a blocked drain may take before the workflow fails',
        integer('--drain-timeout', 1, 86400),
      );
    examples(
      waitOptions(command).action(
        async (target: string[], options: WaitFlags & { cluster: string; drainTimeout?: number }, cmd: Command) => {
          const name = oneTarget(target, 'node');
          parseOutput(options.output);
          const { client } = session(cmd);
          const cluster = await findCluster(client, options.cluster);
          const { body } = await client.request<ClusterAccepted>(
            'POST',
            `/clusters/${encode(cluster.id)}/nodes/${encode(name)}/${verb}`,
            verb === 'drain' ? { body: options.drainTimeout ? { drainTimeoutSeconds: options.drainTimeout } : {} } : {},
          );
          await reportAccepted(
            cmd,
            client,
            body,
            { name: `node/${name}`, verb: `${verb}ing` },
            options,
            () => `node/${name} ${done}\n`,
          );
        },
      ),
      [
        `cx ${verb} node/demo-workers-0 -c demo --wait`,
        ...(verb === 'drain' ? ['cx drain node/demo-workers-0 -c demo --drain-timeout 600 --wait'] : []),
      ],
    );
  }

  examples(
    waitOptions(
      group(program, 'delete')
        .command('node')
        .argument('<name>', "the node's name (node/NAME works too)")
        .description(
          'delete a node: its pool shrinks by one, and this machine is the one that goes (cordoned, drained, deleted)',
        )
        .requiredOption('-c, --cluster <name>', 'the cluster the node belongs to')
        .option('--drain-timeout <seconds>', 'how long a blocked drain may take', integer('--drain-timeout', 1, 86400))
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(
      async (target: string, options: WaitFlags & { cluster: string; drainTimeout?: number }, command: Command) => {
        const name = oneTarget([target], 'node');
        parseOutput(options.output);
        const { client } = session(command);
        const cluster = await findCluster(client, options.cluster);
        const { body } = await client.request<ClusterAccepted>(
          'DELETE',
          `/clusters/${encode(cluster.id)}/nodes/${encode(name)}`,
          options.drainTimeout ? { query: { drainTimeoutSeconds: options.drainTimeout } } : {},
        );
        await reportAccepted(
          command,
          client,
          body,
          { name: `node/${name}`, verb: 'deleting' },
          options,
          () => `node/${name} deleted\n`,
        );
      },
    ),
    ['cx delete node demo-workers-2 -c demo --wait', 'cx delete node/demo-workers-2 -c demo --drain-timeout 600'],
  );
}
