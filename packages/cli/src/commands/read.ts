/** `cx get` and `cx describe`: reading every resource kind, by name or id. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { Cluster, Node, Workflow } from '@cx/api-schemas';
import { isMissingRoute, type Client } from '../client.js';
import { colourOn, examples, integer, outputOption, parseOutput, printItems, session, write } from '../command-kit.js';
import { UsageError } from '../exit-codes.js';
import { progressLine } from '../follow.js';
import { cell, renderTable, renderYaml, type OutputFormat } from '../output.js';
import { watchUpdate, type WatchState } from '../watch.js';
import {
  AUDIT_KIND,
  CLUSTER_KIND,
  RESOURCE_KINDS,
  WORKFLOW_KIND,
  age,
  findCluster,
  findInCluster,
  getOne,
  labelsText,
  listKind,
  parseTarget,
  poolsOf,
  type AuditEntry,
  type ResourceKind,
} from '../resources.js';

/**
 * A cluster's workflows, newest first: `GET /workflows?cluster=` where the server has it (DESIGN.md
 * section 2); an older server lists no workflows, so only the one running is known (`complete`: false).
 */
export async function clusterWorkflows(
  client: Client,
  cluster: Cluster,
): Promise<{ items: Workflow[]; complete: boolean }> {
  try {
    const items = await client.list<Workflow>('/workflows', { cluster: cluster.id });
    return { items: [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt)), complete: true };
  } catch (error) {
    if (!isMissingRoute(error)) throw error;
  }
  const active = cluster.activeWorkflowId
    ? [await client.get<Workflow>(`/workflows/${encodeURIComponent(cluster.activeWorkflowId)}`)]
    : [];
  return { items: active, complete: false };
}

interface GetOptions {
  cluster?: string;
  output?: string;
  watch?: boolean;
  interval?: number;
  timeout?: number;
  limit?: number;
  actor?: string;
  action?: string;
  since?: string;
}

async function getWorkflows(client: Client, names: string[], options: GetOptions): Promise<Workflow[]> {
  if (names.length > 0) return Promise.all(names.map((id) => getOne<Workflow>(client, WORKFLOW_KIND, id)));
  if (options.cluster) {
    const cluster = await findCluster(client, options.cluster);
    const { items, complete } = await clusterWorkflows(client, cluster);
    if (!complete)
      process.stderr.write(
        `note: this server does not list workflows (GET /api/v1/workflows); showing the running one of ${cluster.name} only\n`,
      );
    return items;
  }
  try {
    return await client.list<Workflow>('/workflows');
  } catch (error) {
    if (!isMissingRoute(error)) throw error;
    throw new UsageError(
      'this server does not list workflows (it has no GET /api/v1/workflows)',
      'give workflow ids (cx get workflow ID), or -c CLUSTER for the one running on a cluster',
    );
  }
}

/**
 * `--watch`: reads the list every `interval` seconds and prints what changed (watch.ts decides):
 * a table's header once, then new and changed rows; `-o name` and `-o json|yaml` one line or
 * document per changed item; a line for each item that went away.
 */
async function watchItems(
  command: Command,
  kind: ResourceKind,
  read: () => Promise<unknown[]>,
  format: OutputFormat,
  options: GetOptions,
): Promise<void> {
  if (format.kind === 'jsonpath')
    throw new UsageError('--watch prints tables, names, json or yaml', 'drop -o jsonpath, or drop --watch');
  const interval = (options.interval ?? 2) * 1000;
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout * 1000;
  let state: WatchState = { printed: new Map() };
  const names = new Map<string, string>();
  let headerShown = false;
  for (;;) {
    const items = await read();
    let rows: string[];
    if (format.kind === 'table' || format.kind === 'wide') {
      const lines = renderTable(items, kind.columns, { wide: format.kind === 'wide', colour: colourOn(command) })
        .trimEnd()
        .split('\n');
      if (!headerShown) write(`${lines[0]}\n`);
      headerShown = true;
      rows = lines.slice(1);
    } else {
      rows = items.map((item) =>
        format.kind === 'name'
          ? `${kind.singular}/${kind.name(item)}`
          : format.kind === 'yaml'
            ? `---\n${renderYaml(item).trimEnd()}`
            : JSON.stringify(item),
      );
    }
    for (const item of items) names.set(kind.id(item), kind.name(item));
    const update = watchUpdate(
      state,
      items.map((item, i) => ({ key: kind.id(item), content: JSON.stringify(item), row: rows[i]! })),
    );
    for (const row of update.rows) write(`${row}\n`);
    for (const key of update.gone) write(`${kind.singular}/${names.get(key) ?? key} deleted\n`);
    state = update.state;
    if (Date.now() + interval > deadline) return;
    await sleep(interval);
  }
}

export function readCommands(program: Command): void {
  const kinds = RESOURCE_KINDS.map((k) => k.plural).join(', ');
  examples(
    program
      .command('get')
      .argument('<type>', `what to list: ${kinds} (singular and TYPE/NAME work too)`)
      .argument('[names...]', 'names or ids; none: all you may see')
      .description('list resources, or show some by name or id')
      .option(
        '-c, --cluster <name>',
        'the cluster, for nodes, nodepools, addons, etcd-snapshots, ha-configs (and workflows)',
      )
      .addOption(outputOption())
      .option('--limit <n>', 'audit: how many records, newest first', integer('--limit', 1, 1000), 100)
      .option('--actor <user>', 'audit: only this actor')
      .option('--action <action>', 'audit: only this action, or a prefix ending in * (auth.*)')
      .option('--since <time>', 'audit: only records at or after this ISO time')
      .option('-w, --watch', 'after the list, print each item again when it changes (and a line when it goes away)')
      .option('--interval <seconds>', 'with --watch: how often to read again', integer('--interval', 1, 3600), 2)
      .option(
        '--timeout <seconds>',
        'with --watch: stop after this long (default: until interrupted)',
        integer('--timeout', 1, 86_400),
      )
      .action(async (type: string, names: string[], options: GetOptions, command: Command) => {
        const { kind, names: targets } = parseTarget([type, ...names]);
        const format = parseOutput(options.output);
        const { client } = session(command);
        const read = (): Promise<unknown[]> => readItems(client, kind, targets, options);
        if (options.watch) {
          await watchItems(command, kind as ResourceKind, read, format, options);
          return;
        }
        printItems(command, kind, await read(), format, targets.length === 1);
      }),
    [
      'cx get clusters',
      'cx get cluster demo -o yaml',
      'cx get nodes -c demo -o wide',
      'cx get nodepools -c demo',
      'cx get addons -c demo',
      'cx get etcd-snapshots -c demo',
      'cx get clusters -o jsonpath=\'{range .items[*]}{.name}{"\\t"}{.status}{"\\n"}{end}\'',
      'cx get audit --limit 20 --action "POST *"',
      'cx get clusters --watch',
      'cx get nodes -c demo -w --timeout 600',
    ],
  );

  examples(
    program
      .command('describe')
      .argument('<type>', 'cluster (or workflow)')
      .argument('[name]', 'name or id')
      .description('show a cluster with its pools, nodes and recent workflows (or a workflow with its steps)')
      .action(async (type: string, name: string | undefined, _options: unknown, command: Command) => {
        const { kind, names } = parseTarget(name === undefined ? [type] : [type, name]);
        if (names.length !== 1) throw new UsageError(`name one ${kind.singular}`);
        const { client } = session(command);
        if (kind === CLUSTER_KIND) return write(await describeCluster(client, names[0]!));
        if (kind === WORKFLOW_KIND)
          return write(describeWorkflow(await getOne<Workflow>(client, WORKFLOW_KIND, names[0]!)));
        throw new UsageError(
          `describe shows clusters and workflows, not ${kind.plural}`,
          `cx get ${kind.plural} -o yaml`,
        );
      }),
    ['cx describe cluster demo', 'cx describe cluster/demo', 'cx describe workflow 01J…'],
  );
}

async function readItems(client: Client, kind: ResourceKind, names: string[], options: GetOptions): Promise<unknown[]> {
  if (kind === WORKFLOW_KIND) return getWorkflows(client, names, options);
  if (kind === AUDIT_KIND) {
    if (names.length > 0)
      throw new UsageError('audit records are filtered, not named', 'use --actor, --action, --since');
    // Newest first, one page: the log is long.
    const page = await client.get<{ items: AuditEntry[] }>('/audit', {
      limit: options.limit,
      actor: options.actor,
      action: options.action,
      since: options.since,
    });
    return page.items;
  }
  if (kind.clusterScoped) {
    if (!options.cluster)
      throw new UsageError(`${kind.plural} belong to a cluster`, `cx get ${kind.plural} -c CLUSTER`);
    const cluster = await findCluster(client, options.cluster);
    if (names.length === 0) return listKind(client, kind, cluster.id);
    return findInCluster(client, kind, cluster, names);
  }
  if (names.length === 0) return listKind(client, kind);
  return Promise.all(names.map((name) => getOne(client, kind, name)));
}

function fields(rows: Array<[string, string | number | null | undefined]>): string {
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${cell(v)}`).join('\n') + '\n';
}

const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n') + '\n';

export async function describeCluster(client: Client, name: string): Promise<string> {
  const cluster = await findCluster(client, name);
  const [nodes, workflows] = await Promise.all([
    client.list<Node>(`/clusters/${encodeURIComponent(cluster.id)}/nodes`, {}, false),
    clusterWorkflows(client, cluster),
  ]);
  const nodeKind = RESOURCE_KINDS.find((k) => k.plural === 'nodes')!;
  const poolKind = RESOURCE_KINDS.find((k) => k.plural === 'nodepools')!;
  const ready = nodes.filter((n) => n.status === 'Ready').length;
  let out = fields([
    ['Name', cluster.name],
    ['ID', cluster.id],
    ['Provider', cluster.provider],
    ['Version', cluster.kubernetesVersion],
    ['Status', cluster.status],
    ['Message', cluster.statusMessage],
    ['Nodes Ready', `${ready}/${nodes.length}`],
    ['API endpoint', cluster.apiEndpoint],
    ['API VIP', cluster.apiVip],
    ['Resource group', cluster.resourceGroupId],
    ['Template', cluster.template ? cluster.template.name : null],
    ['OS image', cluster.osImage],
    [
      'Health',
      cluster.healthStatus ? `${cluster.healthStatus.state}: ${cluster.healthStatus.message}` : 'not checked yet',
    ],
    [
      'Health policy',
      `remediation ${cluster.health.remediation}, fencing ${cluster.health.fencing}, unhealthy after ${cluster.health.unhealthyTimeoutSeconds}s, max unhealthy ${cluster.health.maxUnhealthy}`,
    ],
    ['Created', `${cluster.createdAt} (${age(cluster.createdAt)} ago) by ${cluster.createdBy}`],
  ]);
  out += `\nNode pools:\n${indent(renderTable(poolsOf(cluster), poolKind.columns, { wide: true }))}`;
  out += `\nNodes:\n${nodes.length ? indent(renderTable(nodes, nodeKind.columns)) : '  <none>\n'}`;
  const recent = workflows.items.slice(0, 10);
  out += `\nWorkflows${workflows.complete ? ' (newest first)' : ' (running; this server does not list past ones)'}:\n`;
  out += recent.length ? indent(renderTable(recent, WORKFLOW_KIND.columns)) : '  <none>\n';
  const unhealthy = cluster.healthStatus?.unhealthy ?? [];
  if (unhealthy.length > 0)
    out += `\nUnhealthy nodes:\n${indent(
      renderTable(unhealthy, [
        { header: 'NAME', value: (u) => u.name },
        { header: 'REASON', value: (u) => u.reason },
        { header: 'SINCE', value: (u) => u.since },
      ]),
    )}`;
  const labels = cluster.nodePools.filter((p) => p.labels && Object.keys(p.labels).length > 0);
  if (labels.length > 0)
    out += `\nPool labels:\n${labels.map((p) => `  ${p.name}: ${labelsText(p.labels)}`).join('\n')}\n`;
  return out;
}

export function describeWorkflow(run: Workflow): string {
  let out = fields([
    ['ID', run.id],
    ['Workflow', `${run.workflow} v${run.workflowVersion}`],
    ['Cluster', run.clusterId],
    ['Status', run.status],
    ['Progress', progressLine(run)],
    ['Error', run.error ? `${run.error.message} (${run.error.code})` : null],
    ['Started by', run.createdBy],
    ['Created', run.createdAt],
    ['Started', run.startedAt],
    ['Finished', run.finishedAt],
  ]);
  out += `\nSteps:\n${indent(
    renderTable(run.steps, [
      { header: '#', value: (s) => run.steps.indexOf(s) + 1 },
      { header: 'STEP', value: (s) => s.name },
      { header: 'STATUS', value: (s) => s.status },
      { header: 'ATTEMPTS', value: (s) => s.attempts },
      { header: 'MESSAGE', value: (s) => (s.error ? `${s.error.message} (${s.error.code})` : s.message) },
    ]),
  )}`;
  return out;
}
