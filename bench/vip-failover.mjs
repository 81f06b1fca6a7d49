// Benchmark of VIP failover (not a test), issue 6: real keepalived on the configuration cx renders
// for an ha-config (renderKeepalivedConfig), 3 nodes in network namespaces on a bridge
// (test/support/netns.ts), 6 VIPs, unicast, preemption.
//   move   the link of a node holding 2 VIPs is cut at the bridge; time from the cut until each of
//          its VIPs is added on another node (ip monitor), the slower of the two; repeated K times
//          per profile, the holder rotating. The default profile is the baseline measured in the
//          same run: ratio = fast ÷ default.
//   load   nothing fails while busy loops (one per core unless told) keep every CPU busy for S s; every VIP
//          added anywhere is a spurious move (ip monitor; keepalived's "Entering MASTER STATE" as
//          a second count). Three clusters run side by side under the same load: default profile,
//          fast profile, and the fast profile's 0.1 s adverts without its real-time scheduling.
// Needs root and a build (npx tsc -b packages/k8s test).
// Usage: node bench/vip-failover.mjs [--repeats K] [--load-seconds S] [--loops-per-core L] [--loop-nice N]
//   defaults 20, 60, 1 and 0; the target is 600 s. L > 1 queues L busy loops on every
//   core; N < 0 (written --loop-nice=-20) runs them above keepalived's ordinary priority.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { renderKeepalivedConfig } from '../packages/k8s/dist/index.js';
import { keepalivedBinary, NetnsLab, poll } from '../test/dist/support/netns.js';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '20' },
    'load-seconds': { type: 'string', default: '60' },
    'loops-per-core': { type: 'string', default: '1' },
    'loop-nice': { type: 'string', default: '0' },
  },
});
const REPEATS = Number(values.repeats);
const LOAD_SECONDS = Number(values['load-seconds']);
const LOOPS = cpus().length * Number(values['loops-per-core']);
const LOOP_NICE = Number(values['loop-nice']);
const VIPS = Array.from({ length: 6 }, (_, i) => `192.0.2.${10 + i}`);
const TARGET_MS = { default: 3600, fast: 500 };
const binary = keepalivedBinary();

/** One cluster of 3 nodes running keepalived on cx's configuration; `events` has every VIP added or deleted. */
async function startCluster(overrides) {
  const lab = await NetnsLab.create({ nodes: 3 });
  const events = [];
  const monitors = lab.nodes.map((n) => lab.monitorAddresses(n, (e) => events.push(e)));
  const spec = {
    name: 'bench',
    virtualIps: VIPS,
    nodes: lab.nodes.map((n) => ({ name: n.name, address: n.address })),
    interface: 'eth0',
    unicast: true,
    watchPort: 0,
    vrrpIdOffset: 50,
    preempt: true,
    ...overrides,
  };
  const keepalived = [];
  try {
    for (const node of lab.nodes)
      keepalived.push(await lab.startKeepalived(node, binary, renderKeepalivedConfig(spec, node.name)));
    await settled(lab);
  } catch (error) {
    await lab.destroy();
    throw error;
  }
  return {
    lab,
    events,
    keepalived,
    masterTransitions: () =>
      keepalived.reduce((sum, k) => sum + (k.log().match(/Entering MASTER STATE/g) ?? []).length, 0),
    async stop() {
      monitors.forEach((stop) => stop());
      await lab.destroy();
    },
  };
}

/** Waits until VIP i is on node i mod 3 and nowhere else. */
async function settled(lab, timeoutMs = 15_000) {
  let seen = new Map();
  await poll(
    async () => {
      seen = await lab.holdings();
      return lab.nodes.every(
        (n, k) =>
          seen.get(n.name).slice().sort().join() ===
          VIPS.filter((_, i) => i % 3 === k)
            .sort()
            .join(),
      )
        ? true
        : undefined;
    },
    timeoutMs,
    () => `VIPs not spread: ${JSON.stringify([...seen])}`,
    20,
  );
}

/** Nearest-rank percentile. */
function percentile(samples, p) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Cuts the link of each node in turn, REPEATS times; the move time of each cut in ms. */
async function moveTimes(profile) {
  const cluster = await startCluster({ profile });
  const samples = [];
  const hops = [];
  try {
    for (let r = 0; r < REPEATS; r++) {
      const node = cluster.lab.nodes[r % 3];
      const held = VIPS.filter((_, i) => i % 3 === r % 3);
      const from = cluster.events.length;
      const cut = performance.now();
      await cluster.lab.setLink(node, false);
      const arrived = await poll(
        async () => {
          const adds = cluster.events.slice(from).filter((e) => e.added && e.node !== node.name);
          const firsts = held.map((vip) => adds.find((e) => e.address === vip)?.at);
          return firsts.every((at) => at !== undefined) ? Math.max(...firsts) : undefined;
        },
        20_000,
        () => `the VIPs of ${node.name} did not move`,
      );
      samples.push(arrived - cut);
      await sleep(500);
      await cluster.lab.setLink(node, true);
      await settled(cluster.lab);
      // Adds beyond one per VIP: a VIP taken first by the lower backup, then by the next in the rotation, then back.
      hops.push(cluster.events.slice(from).filter((e) => e.added).length - 2 * held.length);
      await sleep(profile === 'fast' ? 500 : 2_000);
    }
  } finally {
    await cluster.stop();
  }
  return { samples, extraAdds: hops.reduce((a, b) => a + b, 0) };
}

/** CPU time counters of /proc/stat: busy and total jiffies. */
function cpuTimes() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + fields[4];
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Spurious moves of three clusters side by side while every CPU is busy. */
async function underLoad() {
  const variants = [
    ['default profile', { profile: 'default' }],
    ['fast profile', { profile: 'fast' }],
    ['0.1 s adverts, ordinary scheduling', { advertIntervalSeconds: 0.1 }],
  ];
  const clusters = [];
  const loops = [];
  try {
    for (const [, overrides] of variants) clusters.push(await startCluster(overrides));
    await sleep(2_000);
    const before = clusters.map((c) => ({ events: c.events.length, masters: c.masterTransitions() }));
    for (let i = 0; i < LOOPS; i++)
      loops.push(spawn('nice', ['-n', String(LOOP_NICE), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' }));
    const cpu0 = cpuTimes();
    await sleep(LOAD_SECONDS * 1000);
    const cpu1 = cpuTimes();
    loops.forEach((l) => l.kill('SIGKILL'));
    await sleep(1_000);
    return {
      busy: (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total),
      rows: clusters.map((c, k) => {
        const events = c.events.slice(before[k].events);
        return {
          name: variants[k][0],
          adds: events.filter((e) => e.added).length,
          dels: events.filter((e) => !e.added).length,
          masters: c.masterTransitions() - before[k].masters,
        };
      }),
    };
  } finally {
    loops.forEach((l) => l.kill('SIGKILL'));
    for (const c of clusters) await c.stop();
  }
}

const fmt = (ms) => ms.toFixed(0);
const started = Date.now();
console.log(
  `VIP failover: ${REPEATS} link cuts per profile, then ${LOAD_SECONDS} s of ${LOOPS} busy loops (nice ${LOOP_NICE}) on ${cpus().length} cores…`,
);
const moves = { default: await moveTimes('default'), fast: await moveTimes('fast') };
const load = await underLoad();

console.log(`\n| profile | cuts | p50 ms | p95 ms | max ms | ratio (p50) | target |`);
console.log('|---|---|---|---|---|---|---|');
for (const profile of ['default', 'fast']) {
  const { samples } = moves[profile];
  const ratio = percentile(samples, 50) / percentile(moves.default.samples, 50);
  const max = Math.max(...samples);
  console.log(
    `| ${profile} | ${samples.length} | ${fmt(percentile(samples, 50))} | ${fmt(percentile(samples, 95))} | ${fmt(max)} | ${ratio.toFixed(2)} | ≤ ${TARGET_MS[profile]} ms: ${max <= TARGET_MS[profile] ? 'met' : 'NOT met'} (max) |`,
  );
}
console.log(
  `\n| ${LOAD_SECONDS} s, ${LOOPS} busy loops at nice ${LOOP_NICE} on ${cpus().length} cores (${(load.busy * 100).toFixed(1)} % busy), nothing failing | VIPs added (spurious moves) | VIPs deleted | MASTER transitions |`,
);
console.log('|---|---|---|---|');
for (const row of load.rows) console.log(`| ${row.name} | ${row.adds} | ${row.dels} | ${row.masters} |`);
console.log(
  `\n- Extra VIP adds during the cuts (a VIP taken by the lower backup first): default ${moves.default.extraAdds}, fast ${moves.fast.extraAdds}.`,
);
console.log(
  `- keepalived: ${binary}; 3 nodes, ${VIPS.length} VIPs, unicast, preempt; link cut = the node's veth taken down at the bridge; times from ip monitor events.`,
);
console.log(
  `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; run took ${((Date.now() - started) / 1000).toFixed(0)} s.\n`,
);
process.exit(0);
