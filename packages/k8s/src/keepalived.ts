/**
 * keepalived configuration for floating VIPs (`ha-config`, seed 001, and the control-plane VIP):
 * one VRRP instance per VIP on every eligible node. VIP i is primary on node i mod M (nodes sorted
 * by name), so each of M nodes leads about N/M of N VIPs (max − min ≤ 1); the other nodes follow in
 * a fixed rotation with lower priorities, so a failover is deterministic. A node whose watched
 * port does not answer goes to FAULT for every instance and holds no VIP — unless it is the only
 * eligible node: no other node could take the VIPs, so dropping them would help nobody (a
 * single control plane whose check is slow under load would lose its API endpoint).
 */

export interface VipNode {
  /** Kubernetes node name. */
  name: string;
  /** Address VRRP adverts come from (unicast peers use it). */
  address: string;
}

export interface KeepalivedSpec {
  /** ha-config name; part of instance names. */
  name: string;
  /** Addresses to float, each with an optional prefix length (`192.0.2.10` or `192.0.2.10/24`). */
  virtualIps: string[];
  /** Every node eligible to hold the VIPs. */
  nodes: VipNode[];
  interface: string;
  /** Adverts to the other nodes' addresses instead of multicast (clouds and many switches drop multicast). */
  unicast: boolean;
  /** Local TCP port whose answer keeps the node eligible; 0 = no check. */
  watchPort: number;
  /** virtual_router_id of VIP i is offset + i; must stay within 1..255 and not collide on the network. */
  vrrpIdOffset: number;
  /** Whether a recovered higher-priority node takes its VIPs back. */
  preempt: boolean;
  /**
   * How fast a VIP leaves a failed holder, and what that costs; `default` when absent. See
   * {@link KEEPALIVED_PROFILES}.
   */
  profile?: KeepalivedProfile;
  /**
   * Seconds between adverts (VRRPv3 allows fractions: 0.1 moves a VIP in about 0.3 s); overrides
   * the profile's interval and nothing else.
   */
  advertIntervalSeconds?: number;
}

/**
 * `default`: adverts every second at ordinary scheduling; a VIP leaves a failed holder in ≈ 3 s
 * (3 missed adverts plus the priority skew). `fast`: adverts every 0.1 s, so ≈ 0.3 s; at that
 * pace a VRRP process held up for 0.3 s lets a backup take a VIP that was never lost, so the
 * VRRP process runs at real-time priority (SCHED_RR 20: above every ordinary process, below the
 * kernel's threaded interrupt handlers at 50) and locked in memory — insurance: CPU load alone
 * did not cause such a stall in bench/vip-failover.mjs, even at ordinary priority.
 * keepalived needs CAP_SYS_NICE and CAP_IPC_LOCK for that; without them it logs "cannot raise
 * priority" and "Unable to lock process in memory" and runs at ordinary priority.
 */
export type KeepalivedProfile = 'default' | 'fast';

/** What each profile puts in the configuration. */
export const KEEPALIVED_PROFILES: Readonly<
  Record<KeepalivedProfile, { advertIntervalSeconds: number; globalDefs: readonly string[] }>
> = Object.freeze({
  default: { advertIntervalSeconds: 1, globalDefs: [] },
  fast: {
    advertIntervalSeconds: 0.1,
    globalDefs: [
      'vrrp_rt_priority 20',
      // A real-time process is killed after this much CPU time (µs) without blocking. keepalived's
      // 10 ms kills the VRRP child while it sets up 255 VIPs, over and over; 50 ms was enough on a
      // 2-core EPYC, this leaves a factor 4 for slower machines.
      'vrrp_rlimit_rttime 200000',
      'vrrp_no_swap',
    ],
  },
});

const TOP_PRIORITY = 250;

export class KeepalivedSpecError extends Error {}

/** Index of the node that leads VIP `vip`, and the order of the others after it. */
export function vipOrder(vip: number, nodeCount: number): number[] {
  return Array.from({ length: nodeCount }, (_, rank) => (vip + rank) % nodeCount);
}

/** Checks what would make keepalived refuse the configuration, or VRRP misbehave. */
export function checkKeepalivedSpec(spec: KeepalivedSpec): void {
  if (spec.nodes.length === 0) throw new KeepalivedSpecError('no node is eligible to hold the VIPs');
  if (spec.virtualIps.length === 0) throw new KeepalivedSpecError('no virtual IP is given');
  const lastId = spec.vrrpIdOffset + spec.virtualIps.length - 1;
  if (spec.vrrpIdOffset < 1 || lastId > 255)
    throw new KeepalivedSpecError(
      `VRRP router ids ${spec.vrrpIdOffset}..${lastId} leave 1..255; lower vrrpIdOffset or the number of VIPs`,
    );
  if (spec.nodes.length > TOP_PRIORITY) throw new KeepalivedSpecError(`at most ${TOP_PRIORITY} nodes can share VIPs`);
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(spec.interface))
    throw new KeepalivedSpecError(`"${spec.interface}" is not a network interface name`);
  if (!Number.isInteger(spec.watchPort) || spec.watchPort < 0 || spec.watchPort > 65535)
    throw new KeepalivedSpecError(`watchPort ${spec.watchPort} is not a TCP port`);
  if (spec.profile !== undefined && !Object.hasOwn(KEEPALIVED_PROFILES, spec.profile))
    throw new KeepalivedSpecError(
      `profile "${String(spec.profile)}" is not one of ${Object.keys(KEEPALIVED_PROFILES).join(', ')}`,
    );
}

/** The keepalived.conf of one node (`self`, a node name of `spec.nodes`). */
export function renderKeepalivedConfig(spec: KeepalivedSpec, self: string): string {
  checkKeepalivedSpec(spec);
  const nodes = [...spec.nodes].sort((a, b) => a.name.localeCompare(b.name));
  const me = nodes.findIndex((n) => n.name === self);
  if (me < 0) throw new KeepalivedSpecError(`node ${self} is not among the eligible nodes`);
  const profile = KEEPALIVED_PROFILES[spec.profile ?? 'default'];
  const advert = spec.advertIntervalSeconds ?? profile.advertIntervalSeconds;
  const safeName = spec.name.replace(/[^A-Za-z0-9_]/g, '_');
  const lines: string[] = [
    '# Generated by cx for ha-config ' + spec.name + ' on node ' + self + '; edits are overwritten.',
    'global_defs {',
    `  router_id ${nodes[me]!.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
    '  vrrp_version 3',
    '  script_user root',
    '  enable_script_security',
    ...profile.globalDefs.map((line) => `  ${line}`),
    '}',
  ];
  const tracked = spec.watchPort > 0 && nodes.length > 1;
  if (tracked) {
    lines.push(
      `vrrp_script ${safeName}_port {`,
      // bash's /dev/tcp connects without any tool in the image; timeout bounds a hanging port. A
      // refused port fails at once; the generous timeouts are for starting bash on a slow or
      // loaded machine (an emulated one took over 2 s), which must not read as a dead port.
      `  script "/usr/bin/timeout 5 /bin/bash -c '</dev/tcp/127.0.0.1/${spec.watchPort}'"`,
      '  interval 2',
      '  timeout 6',
      '  fall 2',
      '  rise 2',
      '}',
    );
  }
  spec.virtualIps.forEach((vip, index) => {
    const rank = vipOrder(index, nodes.length).indexOf(me);
    const peers = nodes.filter((_, i) => i !== me).map((n) => n.address);
    lines.push(
      `vrrp_instance ${safeName}_${index} {`,
      // Every instance starts as BACKUP: priorities elect the leader; `nopreempt` needs BACKUP.
      '  state BACKUP',
      `  interface ${spec.interface}`,
      `  virtual_router_id ${spec.vrrpIdOffset + index}`,
      `  priority ${TOP_PRIORITY - rank}`,
      `  advert_int ${advert}`,
      ...(spec.preempt ? [] : ['  nopreempt']),
      ...(spec.unicast
        ? [`  unicast_src_ip ${nodes[me]!.address}`, '  unicast_peer {', ...peers.map((p) => `    ${p}`), '  }']
        : []),
      '  virtual_ipaddress {',
      `    ${vip}`,
      '  }',
      ...(tracked ? ['  track_script {', `    ${safeName}_port`, '  }'] : []),
      '}',
    );
  });
  return `${lines.join('\n')}\n`;
}
