/**
 * `cx ha-config create|delete|apply`: VIPs floated by keepalived over the nodes a selector picks, with
 * the flags of seed 001's `ha-config` command (`--virtual-ips=10.1.1.5-8,42.42.42.42
 * --selector=jack=the-vipper --watch-port=80 --interface=eth0 --unicast`), mapped onto the API's body.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { HaConfig, haConfigCreateRequestSchema } from '@cx/api-schemas';
import type { Static } from 'typebox';
import {
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
import { parseLabels } from '../pool-spec.js';
import { findCluster, findInCluster, HA_CONFIG_KIND, listKind } from '../resources.js';

type HaConfigRequest = Static<typeof haConfigCreateRequestSchema>;
const encode = encodeURIComponent;

export interface HaConfigFlags {
  cluster: string;
  virtualIps: string;
  selector?: string;
  watchPort?: number;
  interface?: string;
  unicast?: boolean;
  preempt?: boolean;
  vrrpIdOffset?: number;
  profile?: HaConfigRequest['profile'];
}

/** The API's body from the seed's flags; what is not given is left to the server's defaults. */
export function haConfigRequest(clusterId: string, name: string, flags: HaConfigFlags): HaConfigRequest {
  return {
    clusterId,
    name,
    virtualIps: flags.virtualIps.replace(/\s+/g, ''),
    // An empty selector picks every node, as the API's `{}` does.
    ...(flags.selector !== undefined
      ? { selector: flags.selector.trim() === '' ? {} : parseLabels(flags.selector, '--selector') }
      : {}),
    ...(flags.watchPort !== undefined ? { watchPort: flags.watchPort } : {}),
    ...(flags.interface !== undefined ? { interface: flags.interface } : {}),
    ...(flags.unicast !== undefined ? { unicast: flags.unicast } : {}),
    ...(flags.preempt === false ? { preempt: false } : {}),
    ...(flags.vrrpIdOffset !== undefined ? { vrrpIdOffset: flags.vrrpIdOffset } : {}),
    ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
  };
}

/** The seed's default name: `ha-config-N`, the lowest N the cluster does not use. */
export function defaultHaConfigName(taken: string[]): string {
  let n = 1;
  while (taken.includes(`ha-config-${n}`)) n++;
  return `ha-config-${n}`;
}

function parseBool(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new InvalidArgumentError('expected true or false');
}

export function haConfigCommands(program: Command): void {
  const ha = program
    .command('ha-config')
    .description(
      'float virtual IPs over the nodes a selector picks, with keepalived (cx get ha-configs -c CLUSTER lists them)',
    );

  examples(
    waitOptions(
      ha
        .command('create')
        .argument('[name]', 'DNS-1123 name, unique in the cluster (default: ha-config-N)')
        .description(
          'create an ha-config: keepalived on the selected nodes holds the VIPs while the watched port answers',
        )
        .requiredOption('-c, --cluster <name>', 'the cluster')
        .requiredOption(
          '--virtual-ips <ip-range>',
          'comma separated addresses or ranges: 10.1.1.5-8,42.42.42.42 (at most 255)',
        )
        .option(
          '-l, --selector <selector>',
          'node labels that must all match: key=value[,key=value] (default: every node)',
        )
        .option(
          '-w, --watch-port <port>',
          'TCP port that must answer for a node to hold VIPs; 0: no check (default 80)',
          integer('--watch-port', 0, 65535),
        )
        .option('-i, --interface <interface>', 'network interface the VIPs go on (default eth0)')
        .addOption(
          new Option('-u, --unicast [bool]', 'VRRP adverts to the other nodes instead of multicast (default true)')
            .preset('true')
            .argParser(parseBool),
        )
        .option('--no-preempt', 'a recovered node does not take back the VIPs it leads')
        .option(
          '--vrrp-id-offset <n>',
          'virtual_router_id of the first VIP (default: the lowest free range)',
          integer('--vrrp-id-offset', 1, 255),
        )
        .addOption(
          new Option('--profile <profile>', 'default: a VIP moves in about 3 s; fast: in about 0.3 s').choices([
            'default',
            'fast',
          ]),
        )
        .addOption(
          new Option('--type <type>', 'the VIP manager (seed 001); only keepalived')
            .choices(['keepalived'])
            .default('keepalived'),
        )
        .addOption(outputOption(WRITE_FORMATS)),
    ).action(async (name: string | undefined, options: WaitFlags & HaConfigFlags, command: Command) => {
      parseOutput(options.output);
      if (options.virtualIps.trim() === '')
        throw new UsageError('--virtual-ips is empty', 'e.g. --virtual-ips=10.1.1.5-8');
      const { client } = session(command);
      const cluster = await findCluster(client, options.cluster);
      const finalName =
        name ?? defaultHaConfigName((await listKind<HaConfig>(client, HA_CONFIG_KIND, cluster.id)).map((h) => h.name));
      const { body } = await client.request<ClusterAccepted & { haConfig: HaConfig }>('POST', '/ha-configs', {
        body: haConfigRequest(cluster.id, finalName, options),
      });
      await reportAccepted(
        command,
        client,
        body,
        { name: `ha-config/${finalName}`, verb: `created on ${cluster.name}` },
        options,
        async () => {
          const [after] = await findInCluster<HaConfig>(client, HA_CONFIG_KIND, cluster, [finalName]);
          const nodes = after!.status?.applied?.nodes.map((n) => n.name).join(',') || '<none>';
          return `ha-config/${finalName} ${after!.virtualIps} on ${nodes}\n`;
        },
      );
    }),
    [
      'cx ha-config create -c demo --virtual-ips="10.1.1.5-8,42.42.42.42" --selector="jack=the-vipper"',
      'cx ha-config create ha-amzn -c demo --unicast=true --selector="ha-router=amzn-us-west" --virtual-ips="54.192.0.42-43" --watch-port=80 --wait',
    ],
  );

  for (const [verb, description, done] of [
    [
      'apply',
      'apply an ha-config again, for the nodes that match now (after nodes joined, left or changed labels)',
      'applied',
    ],
    ['delete', 'remove an ha-config from its cluster: keepalived stops holding its VIPs', 'deleted'],
  ] as const) {
    examples(
      waitOptions(
        ha
          .command(verb)
          .argument('<name>', 'name or id')
          .description(description)
          .requiredOption('-c, --cluster <name>', 'the cluster')
          .addOption(outputOption(WRITE_FORMATS)),
      ).action(async (name: string, options: WaitFlags & { cluster: string }, command: Command) => {
        parseOutput(options.output);
        const { client } = session(command);
        const cluster = await findCluster(client, options.cluster);
        const [config] = await findInCluster<HaConfig>(client, HA_CONFIG_KIND, cluster, [
          name.replace(/^ha-config\//, ''),
        ]);
        const { body } = await client.request<ClusterAccepted>(
          verb === 'apply' ? 'POST' : 'DELETE',
          `/ha-configs/${encode(config!.id)}${verb === 'apply' ? '/apply' : ''}`,
        );
        await reportAccepted(
          command,
          client,
          body,
          { name: `ha-config/${config!.name}`, verb: verb === 'apply' ? 'applying' : 'deleting' },
          options,
          () => `ha-config/${config!.name} ${done}\n`,
        );
      }),
      [`cx ha-config ${verb} ha-amzn -c demo --wait`],
    );
  }
}
