/**
 * `cx apply -f FILE|DIR` and `cx diff -f FILE|DIR`: clusters made to match files as
 * `cx get cluster NAME -o yaml` prints them. The plan (apply-plan.ts) is printed first; apply then
 * runs it one workflow at a time (a cluster runs one at a time), following each to its end.
 */
import type { Command } from 'commander';
import type { Cluster, ClusterAddon, ResourceGroup } from '@cx/api-schemas';
import {
  describeChange,
  desiredCluster,
  planApply,
  renderPlan,
  type Change,
  type DesiredCluster,
  type Plan,
} from '../apply-plan.js';
import { ApiError, type Client } from '../client.js';
import { readClusterDocuments } from '../cluster-request.js';
import { examples, session, waitFor, write, type ClusterAccepted } from '../command-kit.js';
import { CliError, EXIT, UsageError } from '../exit-codes.js';
import { parseDuration } from '../follow.js';
import { findClusterIfAny } from '../resources.js';

const encode = encodeURIComponent;

interface Planned {
  desired: DesiredCluster;
  current: Cluster | undefined;
  plan: Plan;
}

/** Reads every cluster of the files and plans each against what the API answers now. */
async function planAll(client: Client, path: string): Promise<Planned[]> {
  const desired = readClusterDocuments(path).map(({ source, document }) => desiredCluster(document, source));
  const names = desired.map((d) => d.request.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`cluster ${twice} is given twice in ${path}`);
  const planned: Planned[] = [];
  for (const d of desired) {
    const current = await findClusterIfAny(client, d.request.name);
    const addons =
      current && d.addons ? await client.list<ClusterAddon>(`/clusters/${encode(current.id)}/addons`, {}, false) : [];
    const group =
      current && d.request.resourceGroup ? await resourceGroupId(client, d.request.resourceGroup, current) : undefined;
    planned.push({ desired: d, current, plan: planApply(d, current, addons, group) });
  }
  return planned;
}

/** The file's resource group (an id or a name) as an id. */
async function resourceGroupId(client: Client, given: string, current: Cluster): Promise<string> {
  if (given === current.resourceGroupId) return given;
  try {
    return (await client.get<ResourceGroup>(`/resource-groups/${encode(given)}`)).id;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return given;
    throw error;
  }
}

/** One change as calls to the API; answers the workflow it started (a health policy starts none). */
async function run(
  client: Client,
  clusterId: string | undefined,
  change: Change,
): Promise<ClusterAccepted | { cluster: Cluster; workflow?: undefined }> {
  const at = (path: string): string => `/clusters/${encode(clusterId!)}${path}`;
  const call = async (method: string, path: string, body?: unknown): Promise<ClusterAccepted> =>
    (await client.request<ClusterAccepted>(method, path, body === undefined ? {} : { body })).body;
  switch (change.kind) {
    case 'create':
      return call('POST', '/clusters', change.request);
    case 'upgrade':
      return call('POST', at('/upgrade'), { kubernetesVersion: change.to });
    case 'scale':
      return call('PATCH', at(`/nodepools/${encode(change.pool)}`), { count: change.to });
    case 'schedule':
      return call('PATCH', at(`/nodepools/${encode(change.pool)}`), { labels: change.labels, taints: change.taints });
    case 'add-pool':
      return call('POST', at('/nodepools'), change.pool);
    case 'delete-pool':
      return call('DELETE', at(`/nodepools/${encode(change.pool)}`));
    case 'install-addon':
      return call(
        'PUT',
        at(`/addons/${encode(change.addon.name)}`),
        change.addon.settings ? { settings: change.addon.settings } : {},
      );
    case 'remove-addon':
      return call('DELETE', at(`/addons/${encode(change.name)}`));
    case 'health':
      return {
        cluster: (await client.request<Cluster>('PUT', at('/health-policy'), { body: change.policy })).body,
      };
  }
}

export function applyCommands(program: Command): void {
  examples(
    program
      .command('apply')
      .description(
        'make clusters match files as cx get cluster NAME -o yaml prints them (read-only fields ignored; an optional addons: [{name, settings}] list): create what is missing, converge what differs (version, pool counts, labels, taints, pools, addons, the cluster’s health policy), printing the plan first. A difference no API call converges (provider, machine sizes, a pool’s own health policy, a downgrade) is refused and nothing changes',
      )
      .requiredOption(
        '-f, --filename <file|dir>',
        'YAML or JSON, one or more clusters (- for stdin), or a directory of them',
      )
      .option('--dry-run', 'print the plan only (as cx diff, exit 0)')
      .option(
        '--wait',
        'follow the last workflow to its end too (the others always are: a cluster runs one at a time); exit 8 if one fails',
      )
      .option('--timeout <duration>', 'how long to wait for each workflow (e.g. 90s, 10m, 1h)', '30m')
      .action(
        async (options: { filename: string; dryRun?: boolean; wait?: boolean; timeout?: string }, command: Command) => {
          parseDuration(options.timeout ?? '30m');
          const { client } = session(command);
          const planned = await planAll(client, options.filename);
          write(planned.map((p) => renderPlan(p.plan)).join(''));
          const refused = planned.flatMap((p) => p.plan.refused.map((r) => `cluster/${p.plan.name}: ${r}`));
          if (refused.length > 0)
            throw new UsageError(
              `nothing applied: ${refused.length} difference${refused.length === 1 ? '' : 's'} no API call converges (the lines marked !)`,
              'edit the file back to what the cluster has for those fields',
            );
          const total = planned.reduce((n, p) => n + p.plan.changes.length, 0);
          if (total === 0) return write('nothing to change\n');
          if (options.dryRun) return write(`dry run: ${total} change${total === 1 ? '' : 's'} not applied\n`);
          let done = 0;
          for (const { plan, current } of planned) {
            let clusterId = current?.id;
            for (const change of plan.changes) {
              try {
                const accepted = await run(client, clusterId, change);
                clusterId = accepted.cluster.id;
                const workflow = accepted.workflow;
                write(
                  `[${done + 1}/${total}] cluster/${plan.name} ${describeChange(change)}${workflow ? `: workflow ${workflow.id}` : ': done'}\n`,
                );
                // The cluster runs one workflow at a time: each but the very last is followed to its end.
                if (workflow && (done + 1 < total || options.wait))
                  await waitFor(command, client, workflow.id, options);
              } catch (error) {
                write(
                  `apply stopped at change ${done + 1} of ${total} (${done} applied); cx diff -f ${options.filename} shows what is left\n`,
                );
                throw error;
              }
              done++;
            }
          }
          write(
            `applied ${total} change${total === 1 ? '' : 's'}${options.wait ? '' : ' (the last one still runs: cx get workflows -c CLUSTER)'}\n`,
          );
        },
      ),
    [
      'cx get cluster demo -o yaml > demo.yaml; $EDITOR demo.yaml; cx apply -f demo.yaml --wait',
      'cx apply -f clusters/ --dry-run',
      'cx get clusters -o yaml | cx apply -f - --wait',
    ],
  );

  examples(
    program
      .command('diff')
      .description(
        `print what cx apply would change (exit 0: nothing; exit ${EXIT.differs}: something differs), as kubectl diff`,
      )
      .requiredOption(
        '-f, --filename <file|dir>',
        'YAML or JSON, one or more clusters (- for stdin), or a directory of them',
      )
      .action(async (options: { filename: string }, command: Command) => {
        const { client } = session(command);
        const planned = await planAll(client, options.filename);
        write(planned.map((p) => renderPlan(p.plan)).join(''));
        const differ = planned.filter((p) => p.plan.changes.length > 0 || p.plan.refused.length > 0).length;
        if (differ > 0)
          throw new CliError(
            `${differ} of ${planned.length} cluster${planned.length === 1 ? '' : 's'} differ from the files`,
            EXIT.differs,
          );
      }),
    ['cx diff -f demo.yaml', 'cx diff -f clusters/ || cx apply -f clusters/ --wait'],
  );
}
