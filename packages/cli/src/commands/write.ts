/**
 * `cx create|delete|scale|upgrade cluster …` and `cx workflow get|watch|cancel|retry`: every write
 * answers 202 with a workflow, which `--wait` follows to its end.
 */
import type { Command } from 'commander';
import type { Cluster, Workflow } from '@cx/api-schemas';
import { buildClusterRequest, readRequestFile } from '../cluster-request.js';
import type { Client } from '../client.js';
import {
  collect,
  examples,
  integer,
  oneTarget,
  outputOption,
  parseOutput,
  printItems,
  printValue,
  reportAccepted,
  session,
  waitOptions,
  write,
  WRITE_FORMATS,
  type ClusterAccepted,
} from '../command-kit.js';
import { CliError, EXIT, UsageError } from '../exit-codes.js';
import { followWorkflow, parseDuration, progressLine, TERMINAL } from '../follow.js';
import { useColour } from '../output.js';
import { parsePool, parsePools, POOL_SYNTAX } from '../pool-spec.js';
import { findCluster, getOne, WORKFLOW_KIND } from '../resources.js';
import { describeWorkflow } from './read.js';

/** Prints what a write on a cluster started, then follows it with `--wait`. */
async function report(
  command: Command,
  client: Client,
  accepted: ClusterAccepted,
  verb: string,
  options: { output?: string; wait?: boolean; timeout?: string },
  after?: (run: Workflow) => Promise<string>,
): Promise<void> {
  await reportAccepted(command, client, accepted, { name: `cluster/${accepted.cluster.name}`, verb }, options, after);
}

const clusterTarget = (args: string[]): string => oneTarget(args, 'cluster');

export function writeCommands(program: Command): void {
  const create = program.command('create').description('create a resource (a cluster)');
  examples(
    waitOptions(
      create
        .command('cluster')
        .argument('[name]', 'DNS-1123 name, unique among clusters (or name: in the file)')
        .description('create a cluster from flags, a file (as cx get cluster NAME -o yaml prints), or a template')
        .option('-f, --filename <file>', 'YAML or JSON request (- for stdin); flags given too win over it')
        .option('--provider <name>', 'infrastructure provider (cx get providers)')
        .option('--version <version>', "Kubernetes version, one of the provider's")
        .option('--control-plane <n>', 'control-plane machines: 1, 3, 5 or 7', integer('--control-plane', 1, 7))
        .option(`--pool <${POOL_SYNTAX}>`, 'a worker pool, repeatable: --pool workers=5:tier=web', collect, [])
        .option('--resource-group <name>', 'resource group (id or name) whose quotas apply')
        .option('--template <name>', 'cluster template (id or name) that completes the request')
        .option(
          '--addon <name>',
          "an addon of the catalog (GET /api/v1/addons) installed before the cluster is Ready, with its default settings; repeatable; added to a template's",
          collect,
          [],
        )
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(
      async (
        name: string | undefined,
        options: {
          filename?: string;
          provider?: string;
          version?: string;
          controlPlane?: number;
          pool: string[];
          resourceGroup?: string;
          template?: string;
          addon: string[];
          output?: string;
          wait?: boolean;
          timeout?: string;
        },
        command: Command,
      ) => {
        parseOutput(options.output);
        parseDuration(options.timeout ?? '30m');
        const body = buildClusterRequest(
          name,
          {
            pools: parsePools(options.pool),
            ...(options.provider ? { provider: options.provider } : {}),
            ...(options.version ? { version: options.version } : {}),
            ...(options.controlPlane !== undefined ? { controlPlane: options.controlPlane } : {}),
            ...(options.resourceGroup ? { resourceGroup: options.resourceGroup } : {}),
            ...(options.template ? { template: options.template } : {}),
            addons: options.addon,
          },
          options.filename ? readRequestFile(options.filename) : undefined,
        );
        const { client } = session(command);
        const { body: accepted } = await client.request<ClusterAccepted>('POST', '/clusters', { body });
        await report(command, client, accepted, 'created', options, async () => {
          const cluster = await client.get<Cluster>(`/clusters/${encodeURIComponent(accepted.cluster.id)}`);
          return `cluster/${cluster.name} ${cluster.status}\n`;
        });
      },
    ),
    [
      'cx create cluster demo --provider sim --version 1.31.4 --control-plane 3 --pool workers=2 --wait',
      'cx create cluster web --provider vsphere --version 1.31.4 --control-plane 3 --pool workers=5:tier=web --pool batch=2 --resource-group team-a',
      'cx create cluster small --template dev-small',
      'cx create cluster edge --provider kwok --version 1.31.4 --control-plane 1 --addon metrics-server --addon ingress-nginx',
      'cx get cluster demo -o yaml > demo.yaml; cx create cluster demo2 -f demo.yaml',
    ],
  );

  const remove = program.command('delete').description('delete a resource (a cluster, a node)');
  examples(
    waitOptions(
      remove
        .command('cluster')
        .argument('<name>', 'name or id')
        .description('delete a cluster and all its machines (runs the delete workflow)')
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(async (name: string, options: { output?: string; wait?: boolean; timeout?: string }, command: Command) => {
      parseOutput(options.output);
      const { client } = session(command);
      const cluster = await findCluster(client, name);
      const { body: accepted } = await client.request<ClusterAccepted>(
        'DELETE',
        `/clusters/${encodeURIComponent(cluster.id)}`,
      );
      await report(command, client, accepted, 'deleting', options, async () => `cluster/${cluster.name} deleted\n`);
    }),
    ['cx delete cluster demo', 'cx delete cluster demo --wait --timeout 10m'],
  );

  examples(
    waitOptions(
      program
        .command('scale')
        .argument('<target...>', 'cluster/NAME (or cluster NAME)')
        .description("change a pool's machine count (runs cluster.scale); the control plane is the pool control-plane")
        .option(`--pool <NAME=COUNT>`, 'the pool and its new count, e.g. workers=7')
        .option('--control-plane <n>', 'the control plane: 1, 3, 5 or 7 machines', integer('--control-plane', 1, 7))
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(
      async (
        target: string[],
        options: { pool?: string; controlPlane?: number; output?: string; wait?: boolean; timeout?: string },
        command: Command,
      ) => {
        const name = clusterTarget(target);
        parseOutput(options.output);
        if ((options.pool === undefined) === (options.controlPlane === undefined))
          throw new UsageError('give one of --pool NAME=COUNT or --control-plane N', 'one pool per workflow');
        const pool = options.pool ? parsePool(options.pool) : { name: 'control-plane', count: options.controlPlane! };
        if ('labels' in pool)
          throw new UsageError('cx scale changes counts only; labels are set when a pool is created');
        const { client } = session(command);
        const cluster = await findCluster(client, name);
        const { body: accepted } = await client.request<ClusterAccepted>(
          'PATCH',
          `/clusters/${encodeURIComponent(cluster.id)}/nodepools/${encodeURIComponent(pool.name)}`,
          { body: { count: pool.count } },
        );
        await report(command, client, accepted, `scaling ${pool.name} to ${pool.count}`, options, async () => {
          const after = await client.get<Cluster>(`/clusters/${encodeURIComponent(cluster.id)}`);
          const count =
            pool.name === 'control-plane'
              ? after.controlPlane.count
              : after.nodePools.find((p) => p.name === pool.name)?.count;
          return `cluster/${after.name} ${pool.name}=${count} ${after.status}\n`;
        });
      },
    ),
    ['cx scale cluster/demo --pool workers=7 --wait', 'cx scale cluster demo --control-plane 5'],
  );

  examples(
    waitOptions(
      program
        .command('upgrade')
        .argument('<target...>', 'cluster/NAME (or cluster NAME)')
        .description(
          'upgrade the Kubernetes version: one minor at a time, control plane first, then the workers in place or replaced (--max-surge)',
        )
        .requiredOption('--version <version>', 'the Kubernetes version to go to')
        .option('--max-surge <n>', 'replace workers, n new ones ahead of the old', integer('--max-surge', 0, 500))
        .option(
          '--max-unavailable <n>',
          'upgrade n workers in place at once (default 1)',
          integer('--max-unavailable', 1, 500),
        )
        .option('--drain-timeout <seconds>', 'how long a blocked drain may take', integer('--drain-timeout', 1, 86400))
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(
      async (
        target: string[],
        options: {
          version: string;
          maxSurge?: number;
          maxUnavailable?: number;
          drainTimeout?: number;
          output?: string;
          wait?: boolean;
          timeout?: string;
        },
        command: Command,
      ) => {
        const name = clusterTarget(target);
        parseOutput(options.output);
        if (!/^\d+\.\d+\.\d+$/.test(options.version))
          throw new UsageError(`--version ${options.version} is not a Kubernetes version (MAJOR.MINOR.PATCH)`);
        const { client } = session(command);
        const cluster = await findCluster(client, name);
        const { body: accepted } = await client.request<ClusterAccepted>(
          'POST',
          `/clusters/${encodeURIComponent(cluster.id)}/upgrade`,
          {
            body: {
              kubernetesVersion: options.version,
              ...(options.maxSurge !== undefined ? { maxSurge: options.maxSurge } : {}),
              ...(options.maxUnavailable !== undefined ? { maxUnavailable: options.maxUnavailable } : {}),
              ...(options.drainTimeout !== undefined ? { drainTimeoutSeconds: options.drainTimeout } : {}),
            },
          },
        );
        await report(command, client, accepted, `upgrading to ${options.version}`, options, async () => {
          const after = await client.get<Cluster>(`/clusters/${encodeURIComponent(cluster.id)}`);
          return `cluster/${after.name} ${after.kubernetesVersion} ${after.status}\n`;
        });
      },
    ),
    ['cx upgrade cluster/demo --version 1.32.0 --wait', 'cx upgrade cluster/web --version 1.32.0 --max-surge 1'],
  );

  workflowCommands(program);
}

function workflowCommands(program: Command): void {
  const workflow = program.command('workflow').alias('wf').description('workflow runs: read, follow, cancel, retry');

  examples(
    workflow
      .command('get')
      .argument('<id>', 'workflow id (cx create/scale/… print it)')
      .description('show a workflow run with its steps')
      .addOption(outputOption())
      .action(async (id: string, options: { output?: string }, command: Command) => {
        const format = parseOutput(options.output);
        const { client } = session(command);
        const run = await getOne<Workflow>(client, WORKFLOW_KIND, id);
        if (format.kind === 'table') return write(describeWorkflow(run));
        printItems(command, WORKFLOW_KIND, [run], format, true);
      }),
    ['cx workflow get 01J…', 'cx workflow get 01J… -o json'],
  );

  examples(
    workflow
      .command('watch')
      .argument('<id>', 'workflow id')
      .description('follow a workflow run until it ends (server-sent events), one line per change')
      .option('--timeout <duration>', 'how long to follow (e.g. 90s, 10m, 1h)', '1h')
      .addOption(outputOption('json (each state of the run, one JSON object per line)'))
      .action(async (id: string, options: { timeout: string; output?: string }, command: Command) => {
        const json = options.output === 'json';
        if (options.output !== undefined && !json) throw new UsageError('workflow watch prints lines, or -o json');
        const { client } = session(command);
        const colour = command.optsWithGlobals<{ color?: boolean }>().color !== false && useColour(process.stdout);
        let last = '';
        const run = await followWorkflow(client, id, {
          timeoutMs: parseDuration(options.timeout),
          colour,
          onUpdate: (state) => {
            if (json) return write(JSON.stringify(state) + '\n');
            const line = progressLine(state, colour);
            if (line !== last) write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);
            last = line;
          },
        });
        if (!json) write(describeWorkflow(run));
        if (run.status !== 'Succeeded')
          throw new CliError(`workflow ${run.id} ${run.status}`, EXIT.workflowFailed, run.error?.code);
      }),
    ['cx workflow watch 01J…', 'cx workflow watch 01J… -o json | jq .status'],
  );

  for (const [verb, description, hint] of [
    ['cancel', 'cancel a Pending or Running workflow (its cluster is marked Failed)', 'Cancelled'],
    ['retry', 'resume a Failed or Cancelled workflow from the step where it stopped', 'Running again'],
  ] as const) {
    examples(
      workflow
        .command(verb)
        .argument('<id>', 'workflow id')
        .description(description)
        .addOption(outputOption('json|yaml|name'))
        .action(async (id: string, options: { output?: string }, command: Command) => {
          const format = parseOutput(options.output);
          const { client } = session(command);
          const { body: run } = await client.request<Workflow>('POST', `/workflows/${encodeURIComponent(id)}/${verb}`);
          if (!printValue(run, format, `workflow/${run.id}`))
            write(`workflow/${run.id} ${TERMINAL.has(run.status) ? run.status : hint}\n`);
        }),
      [`cx workflow ${verb} 01J…`],
    );
  }
}
