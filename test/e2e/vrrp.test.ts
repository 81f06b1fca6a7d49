/**
 * VRRP for real (issue 6): the keepalived configuration cx generates for an ha-config
 * (`renderKeepalivedConfig`, what the ha-config workflow writes into the ConfigMap), run by real
 * keepalived on three nodes in network namespaces on a bridge (test/support/netns.ts). Checked:
 * the spread of the VIPs, where they go when a node's keepalived crashes or stops or its link is
 * cut, what preemption does when the node comes back, and the watched port. Speed is measured by
 * bench/vip-failover.mjs; the bounds here only say "without waiting for anything else".
 *
 * Needs root; keepalived comes from CX_TEST_KEEPALIVED or test/peers/keepalived.sh.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { renderKeepalivedConfig, type KeepalivedSpec } from '@cx/k8s';
import {
  keepalivedBinary,
  NetnsLab,
  poll,
  scheduling,
  type KeepalivedProcess,
  type LabNode,
} from '../support/netns.js';

const run = promisify(execFile);
const VIP_COUNT = 6;
const VIPS = Array.from({ length: VIP_COUNT }, (_, i) => `192.0.2.${10 + i}`);
const WATCH_PORT = 8080;
let binary: string | undefined;
const keepalived = (): string => (binary ??= keepalivedBinary());

/**
 * Where the docs say VIP i lives: led by node i mod M (nodes in name order); when that one is out,
 * by the next in turn, and so on. `live` leaves out the nodes that are out.
 */
const holderAmong =
  (nodes: readonly LabNode[], live: (name: string) => boolean = () => true) =>
  (vip: number): string => {
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[(vip + k) % nodes.length]!.name;
      if (live(node)) return node;
    }
    throw new Error('no live node');
  };

/** Three nodes running keepalived on the configuration cx renders for each. */
class VrrpCluster {
  readonly keepalived = new Map<string, KeepalivedProcess>();
  private constructor(
    readonly lab: NetnsLab,
    readonly spec: KeepalivedSpec,
    private readonly binary: string,
  ) {}

  static async create(binary: string, overrides: Partial<KeepalivedSpec>): Promise<VrrpCluster> {
    const lab = await NetnsLab.create({ nodes: 3 });
    const spec: KeepalivedSpec = {
      name: 'web',
      virtualIps: VIPS,
      nodes: lab.nodes.map((n) => ({ name: n.name, address: n.address })),
      interface: 'eth0',
      unicast: true,
      watchPort: 0,
      vrrpIdOffset: 50,
      preempt: true,
      ...overrides,
    };
    return new VrrpCluster(lab, spec, binary);
  }

  get nodes(): readonly LabNode[] {
    return this.lab.nodes;
  }
  get advertSeconds(): number {
    return this.spec.advertIntervalSeconds ?? (this.spec.profile === 'fast' ? 0.1 : 1);
  }
  /** How long a move may take: 3 missed adverts and the skew (master down interval), plus slack for a busy machine. */
  get moveBoundMs(): number {
    return Math.round((4 * this.advertSeconds + 1.5) * 1000);
  }

  async start(name: string): Promise<void> {
    const node = this.lab.node(name);
    this.keepalived.set(
      name,
      await this.lab.startKeepalived(node, this.binary, renderKeepalivedConfig(this.spec, name)),
    );
  }

  async startAll(): Promise<void> {
    for (const node of this.nodes) await this.start(node.name);
  }

  async stop(name: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    await this.keepalived.get(name)!.stop(signal);
  }

  /**
   * Waits until every node not in `ignore` carries exactly the VIPs `holder` gives it (nothing
   * else, so no VIP twice and none missing); returns the milliseconds since `since`.
   */
  async waitLayout(
    holder: (vip: number) => string,
    timeoutMs: number,
    since = performance.now(),
    ignore: string[] = [],
  ): Promise<number> {
    const want = this.expected(holder, ignore);
    let seen = new Map<string, string[]>();
    await poll(
      async () => {
        seen = await this.lab.holdings();
        return [...want].every(([node, vips]) => same(seen.get(node)!, vips)) ? true : undefined;
      },
      timeoutMs,
      () => `want ${show(want)}, have ${show(seen)}\n${this.logs()}`,
    );
    return Math.round(performance.now() - since);
  }

  /**
   * Waits until every VIP is held by exactly one of the nodes not in `ignore`, wherever; returns
   * that layout and the milliseconds since `since`.
   */
  async waitEachOnce(
    timeoutMs: number,
    since = performance.now(),
    ignore: string[] = [],
  ): Promise<{ ms: number; holder: (vip: number) => string }> {
    let seen = new Map<string, string[]>();
    const holders = (vip: string): string[] =>
      [...seen].filter(([node, vips]) => !ignore.includes(node) && vips.includes(vip)).map(([node]) => node);
    await poll(
      async () => {
        seen = await this.lab.holdings();
        return VIPS.every((vip) => holders(vip).length === 1) ? true : undefined;
      },
      timeoutMs,
      () =>
        `want each VIP once on ${this.nodes
          .map((n) => n.name)
          .filter((n) => !ignore.includes(n))
          .join(', ')}, have ${show(seen)}\n${this.logs()}`,
    );
    const layout = VIPS.map((vip) => holders(vip)[0]!);
    return { ms: Math.round(performance.now() - since), holder: (vip) => layout[vip]! };
  }

  /** Fails if the layout `holder` gives changes at any time during `ms`. */
  async assertStays(holder: (vip: number) => string, ms: number, ignore: string[] = []): Promise<void> {
    const want = this.expected(holder, ignore);
    const until = performance.now() + ms;
    while (performance.now() < until) {
      const seen = await this.lab.holdings();
      for (const [node, vips] of want)
        assert.ok(
          same(seen.get(node)!, vips),
          `the VIPs moved: want ${show(want)}, have ${show(seen)}\n${this.logs()}`,
        );
      await sleep(20);
    }
  }

  /** No VRRP child died (a real-time process over its CPU limit is killed, and respawned). */
  assertNoChildDied(): void {
    for (const [name, k] of this.keepalived)
      assert.doesNotMatch(k.log(), /VRRP child process\(\d+\) died|rlimit_rttime/, `keepalived of ${name}`);
  }

  logs(): string {
    return [...this.keepalived]
      .map(([name, k]) => `--- keepalived of ${name}\n${k.log().split('\n').slice(-15).join('\n')}`)
      .join('\n');
  }

  private expected(holder: (vip: number) => string, ignore: string[]): Map<string, string[]> {
    const want = new Map(this.nodes.filter((n) => !ignore.includes(n.name)).map((n) => [n.name, [] as string[]]));
    VIPS.forEach((vip, i) => want.get(holder(i))?.push(vip));
    return want;
  }
}

const same = (a: string[], b: string[]): boolean =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();
const show = (m: Map<string, string[]>): string =>
  [...m].map(([node, vips]) => `${node}: [${[...vips].sort().join(' ')}]`).join(', ');

async function withCluster(
  overrides: Partial<KeepalivedSpec>,
  body: (cluster: VrrpCluster) => Promise<void>,
): Promise<void> {
  const cluster = await VrrpCluster.create(keepalived(), overrides);
  try {
    await body(cluster);
    cluster.assertNoChildDied();
  } finally {
    await cluster.lab.destroy();
  }
}

describe('VRRP with the keepalived configuration cx generates, 3 nodes in network namespaces', () => {
  it("keepalived -t accepts every node's file, for both profiles, with and without preemption and port check", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-vrrp-check-'));
    const check = (file: string): Promise<string> =>
      run(keepalived(), ['-t', '-f', file, '-l']).then(
        () => 'ok',
        (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
      );
    try {
      const nodes = [1, 2, 3].map((i) => ({ name: `node-${i}`, address: `192.0.2.${i}` }));
      for (const profile of ['default', 'fast'] as const) {
        for (const [preempt, watchPort] of [
          [true, WATCH_PORT],
          [false, 0],
        ] as const) {
          const spec: KeepalivedSpec = {
            name: 'web',
            virtualIps: VIPS,
            nodes,
            interface: 'eth0',
            unicast: true,
            watchPort,
            vrrpIdOffset: 50,
            preempt,
            profile,
          };
          for (const node of nodes) {
            const file = join(dir, `${profile}-${preempt}-${node.name}.conf`);
            writeFileSync(file, renderKeepalivedConfig(spec, node.name));
            assert.equal(await check(file), 'ok', `keepalived -t refused ${file}`);
          }
        }
      }
      // The check can fail: a keyword keepalived does not know is refused.
      const broken = join(dir, 'broken.conf');
      writeFileSync(
        broken,
        renderKeepalivedConfig(
          {
            name: 'web',
            virtualIps: VIPS,
            nodes,
            interface: 'eth0',
            unicast: true,
            watchPort: 0,
            vrrpIdOffset: 50,
            preempt: true,
          },
          'node-1',
        ).replace('vrrp_version 3', 'vrrp_version 3\n  vrrp_no_such_keyword 1'),
      );
      assert.notEqual(await check(broken), 'ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'preempt: spreads 6 VIPs 2 per node; a crash, a stop and a link cut move them to the next node, and they come back',
    { timeout: 90_000 },
    async (t: TestContext) => {
      await withCluster({ profile: 'fast', preempt: true }, async (cluster) => {
        const nodes = cluster.nodes;
        const initial = holderAmong(nodes);
        await cluster.startAll();
        t.diagnostic(`settled in ${await cluster.waitLayout(initial, 10_000)} ms after the last start`);
        const held = await cluster.lab.holdings();
        const counts = nodes.map((n) => held.get(n.name)!.length);
        assert.deepEqual(counts, [2, 2, 2], 'each node leads 2 of the 6 VIPs');
        await cluster.assertStays(initial, 1_000);
        // The fast profile puts the VRRP process at real-time priority.
        const vrrpPid = cluster.keepalived.get('node-1')!.vrrpPid!;
        assert.deepEqual(scheduling(vrrpPid), { policy: 'SCHED_RR', rtPriority: 20 });

        // node-2's keepalived crashes: VIPs 1 and 4 go to node-3, the next in their rotation.
        const crashed = nodes[1]!;
        const afterCrash = holderAmong(nodes, (n) => n !== crashed.name);
        assert.deepEqual([1, 4].map(afterCrash), [nodes[2]!.name, nodes[2]!.name]);
        let since = performance.now();
        await cluster.stop(crashed.name, 'SIGKILL');
        t.diagnostic(
          `SIGKILL: VIPs moved in ${await cluster.waitLayout(afterCrash, cluster.moveBoundMs, since, [crashed.name])} ms`,
        );
        await cluster.assertStays(afterCrash, 500, [crashed.name]);
        // Nothing can remove the addresses of a process killed with SIGKILL: they stay on node-2 until keepalived starts again.
        assert.deepEqual((await cluster.lab.addresses(crashed)).sort(), [VIPS[1], VIPS[4]].sort());

        // Back: keepalived clears what it left behind and node-2 takes its VIPs back.
        since = performance.now();
        await cluster.start(crashed.name);
        t.diagnostic(
          `restart: VIPs back in ${await cluster.waitLayout(initial, cluster.moveBoundMs + 2_000, since)} ms`,
        );

        // node-1's keepalived stops cleanly (SIGTERM): it removes VIPs 0 and 3 and node-2 takes them.
        const stopped = nodes[0]!;
        const afterStop = holderAmong(nodes, (n) => n !== stopped.name);
        since = performance.now();
        // keepalived takes about a second to exit after it has handed its VIPs over.
        const stopping = cluster.stop(stopped.name, 'SIGTERM');
        t.diagnostic(`SIGTERM: VIPs moved in ${await cluster.waitLayout(afterStop, cluster.moveBoundMs, since)} ms`);
        await stopping;
        await cluster.start(stopped.name);
        await cluster.waitLayout(initial, cluster.moveBoundMs + 2_000);

        // node-3's link is cut: it loses carrier and drops its VIPs, node-1 takes 2 and 5.
        const cut = nodes[2]!;
        const afterCut = holderAmong(nodes, (n) => n !== cut.name);
        since = performance.now();
        await cluster.lab.setLink(cut, false);
        t.diagnostic(`link cut: VIPs moved in ${await cluster.waitLayout(afterCut, cluster.moveBoundMs, since)} ms`);
        await cluster.assertStays(afterCut, 500);
        since = performance.now();
        await cluster.lab.setLink(cut, true);
        t.diagnostic(
          `link restored: VIPs back in ${await cluster.waitLayout(initial, cluster.moveBoundMs + 2_000, since)} ms`,
        );
        await cluster.assertStays(initial, 500);
      });
    },
  );

  it(
    'nopreempt: the keepalived up first keeps what it took; after a crash the VIPs stay where they moved',
    { timeout: 60_000 },
    async (t: TestContext) => {
      await withCluster({ profile: 'fast', preempt: false }, async (cluster) => {
        const nodes = cluster.nodes;
        const stay = 20 * cluster.advertSeconds * 1000;
        // A rolling start, as a DaemonSet does: node-1 is up alone and takes every VIP.
        await cluster.start(nodes[0]!.name);
        const first = (): string => nodes[0]!.name;
        await cluster.waitLayout(first, 10_000);
        // The others come up as backups and, without preemption, take nothing: no spread.
        await cluster.start(nodes[1]!.name);
        await cluster.start(nodes[2]!.name);
        await cluster.assertStays(first, stay);

        // node-1 crashes: every VIP goes to one of the two live nodes. Which one is a race: their
        // priorities differ by 1, so their timers by 1/256 of an advert interval, and without
        // preemption the higher one does not take a VIP back from the lower.
        const crashed = nodes[0]!;
        const since = performance.now();
        await cluster.stop(crashed.name, 'SIGKILL');
        const moved = await cluster.waitEachOnce(cluster.moveBoundMs, since, [crashed.name]);
        t.diagnostic(`SIGKILL: VIPs moved in ${moved.ms} ms to ${VIPS.map((_, i) => moved.holder(i)).join(', ')}`);
        await cluster.assertStays(moved.holder, 500, [crashed.name]);

        // node-1 comes back: keepalived clears the addresses it left behind and takes nothing, for
        // 20 advert intervals (a preempting node takes its VIPs back within 4).
        await cluster.start(crashed.name);
        await cluster.waitLayout(moved.holder, cluster.moveBoundMs + 2_000);
        await cluster.assertStays(moved.holder, stay);
        assert.deepEqual(await cluster.lab.addresses(crashed), []);
      });
    },
  );

  it(
    'watchPort: a node whose port stops answering holds no VIP, and takes its VIPs back when it answers again',
    { timeout: 60_000 },
    async (t: TestContext) => {
      await withCluster({ profile: 'fast', preempt: true, watchPort: WATCH_PORT }, async (cluster) => {
        const nodes = cluster.nodes;
        const initial = holderAmong(nodes);
        const listeners = await Promise.all(nodes.map((n) => cluster.lab.startListener(n, WATCH_PORT)));
        await cluster.startAll();
        t.diagnostic(`settled in ${await cluster.waitLayout(initial, 15_000)} ms after the last start`);

        // The check runs every 2 s and drops the node after 2 failures, each bounded by a 2 s timeout.
        const down = nodes[0]!;
        const afterDown = holderAmong(nodes, (n) => n !== down.name);
        let since = performance.now();
        await listeners[0]!.stop();
        t.diagnostic(`port down: VIPs moved in ${await cluster.waitLayout(afterDown, 10_000, since)} ms`);
        assert.match(cluster.keepalived.get(down.name)!.log(), /Entering FAULT STATE/);
        await cluster.assertStays(afterDown, 1_000);

        since = performance.now();
        listeners[0] = await cluster.lab.startListener(down, WATCH_PORT);
        t.diagnostic(`port up: VIPs back in ${await cluster.waitLayout(initial, 10_000, since)} ms`);
      });
    },
  );

  it(
    "default profile: a link cut moves the holder's VIPs to the next node",
    { timeout: 60_000 },
    async (t: TestContext) => {
      await withCluster({ preempt: true }, async (cluster) => {
        const nodes = cluster.nodes;
        const initial = holderAmong(nodes);
        await cluster.startAll();
        await cluster.waitLayout(initial, 10_000);
        assert.equal(scheduling(cluster.keepalived.get('node-1')!.vrrpPid!).policy, 'SCHED_OTHER');

        const cut = nodes[0]!;
        const afterCut = holderAmong(nodes, (n) => n !== cut.name);
        const since = performance.now();
        await cluster.lab.setLink(cut, false);
        t.diagnostic(
          `link cut: VIPs moved in ${await cluster.waitLayout(afterCut, cluster.moveBoundMs, since)} ms (advert 1 s)`,
        );
        await cluster.lab.setLink(cut, true);
        await cluster.waitLayout(initial, cluster.moveBoundMs + 2_000);
      });
    },
  );
});
