import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { renderKeepalivedConfig, type KeepalivedSpec } from './keepalived.js';

const run = promisify(execFile);

function keepalivedBinary(): string {
  const raw = process.env['CX_TEST_KEEPALIVED'];
  assert.ok(
    raw,
    'CX_TEST_KEEPALIVED is not set: run the tests with `npm test`, which installs keepalived (test/peers/keepalived.sh)',
  );
  return (JSON.parse(raw) as { binary: string }).binary;
}

const spec: KeepalivedSpec = {
  name: 'web-vips',
  virtualIps: Array.from({ length: 7 }, (_, i) => `192.0.2.${10 + i}/24`),
  nodes: [
    { name: 'node-c', address: '198.51.100.3' },
    { name: 'node-a', address: '198.51.100.1' },
    { name: 'node-b', address: '198.51.100.2' },
  ],
  interface: 'eth0',
  unicast: true,
  watchPort: 80,
  vrrpIdOffset: 40,
  preempt: true,
};

/** VIP → priority of each node, read back from the rendered text. */
function priorities(configs: Map<string, string>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const [node, text] of configs) {
    for (const block of text.split('vrrp_instance ').slice(1)) {
      const vip = /virtual_ipaddress \{\s+(\S+)/.exec(block)![1]!;
      const priority = Number(/priority (\d+)/.exec(block)![1]);
      out.set(vip, (out.get(vip) ?? new Map()).set(node, priority));
    }
  }
  return out;
}

describe('keepalived configuration', () => {
  it('spreads N VIPs over M nodes with max − min ≤ 1 leaders each, and a distinct priority per node', () => {
    const configs = new Map(spec.nodes.map((n) => [n.name, renderKeepalivedConfig(spec, n.name)]));
    const byVip = priorities(configs);
    assert.equal(byVip.size, 7);
    const leads = new Map<string, number>();
    for (const [, nodes] of byVip) {
      assert.equal(new Set(nodes.values()).size, 3, 'no two nodes share a priority for one VIP');
      const leader = [...nodes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
      leads.set(leader, (leads.get(leader) ?? 0) + 1);
    }
    const counts = spec.nodes.map((n) => leads.get(n.name) ?? 0);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `leaders per node: ${counts.join(', ')}`);
    const ids = [...configs.get('node-a')!.matchAll(/virtual_router_id (\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(ids, [40, 41, 42, 43, 44, 45, 46]);
    const nodeA = configs.get('node-a')!;
    assert.match(nodeA, /unicast_src_ip 198\.51\.100\.1\n\s+unicast_peer \{\n\s+198\.51\.100\.2\n\s+198\.51\.100\.3\n/);
    assert.match(nodeA, /track_script \{\n\s+web_vips_port/);
  });

  it('does not watch the port of an only eligible node: no other node could take its VIPs', () => {
    const alone = renderKeepalivedConfig({ ...spec, nodes: [spec.nodes[0]!] }, 'node-c');
    assert.doesNotMatch(alone, /vrrp_script|track_script/);
    assert.match(alone, /virtual_ipaddress \{\n\s+192\.0\.2\.10\/24/);
  });

  it('passes `keepalived -t` for every node, with and without unicast, port check and preemption', async () => {
    const binary = keepalivedBinary();
    const dir = mkdtempSync(join(tmpdir(), 'cx-keepalived-'));
    const variants: KeepalivedSpec[] = [
      spec,
      {
        ...spec,
        unicast: false,
        watchPort: 0,
        preempt: false,
        advertIntervalSeconds: 0.1,
        virtualIps: ['2001:db8::10'],
      },
      { ...spec, profile: 'fast' },
    ];
    for (const [i, variant] of variants.entries()) {
      for (const node of variant.nodes) {
        const file = join(dir, `${i}-${node.name}.conf`);
        writeFileSync(file, renderKeepalivedConfig(variant, node.name));
        const checked = await run(binary, ['-t', '-f', file, '-l']).then(
          () => 'ok',
          (error: { stderr?: string; stdout?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
        );
        assert.equal(checked, 'ok', `keepalived -t refused ${file}`);
      }
    }
  });

  it('renders the default profile as before, and the fast profile with 0.1 s adverts and real-time scheduling', () => {
    const plain = renderKeepalivedConfig(spec, 'node-a');
    assert.equal(renderKeepalivedConfig({ ...spec, profile: 'default' }, 'node-a'), plain);
    assert.deepEqual(
      [...plain.matchAll(/advert_int (\S+)/g)].map((m) => m[1]),
      Array(7).fill('1'),
    );
    assert.doesNotMatch(plain, /vrrp_rt_priority|vrrp_rlimit_rttime|vrrp_no_swap/);

    const fast = renderKeepalivedConfig({ ...spec, profile: 'fast' }, 'node-a');
    assert.deepEqual(
      [...fast.matchAll(/advert_int (\S+)/g)].map((m) => m[1]),
      Array(7).fill('0.1'),
    );
    const globals = /global_defs \{\n([^}]*)\}/.exec(fast)![1]!;
    assert.match(globals, /^ {2}vrrp_rt_priority 20$/m);
    assert.match(globals, /^ {2}vrrp_rlimit_rttime 200000$/m);
    assert.match(globals, /^ {2}vrrp_no_swap$/m);
    // Only the global section differs: priorities, peers and checks stay as they are.
    assert.equal(
      fast.replace(/advert_int 0\.1/g, 'advert_int 1').replace(/ {2}vrrp_(rt_priority|rlimit_rttime|no_swap).*\n/g, ''),
      plain,
    );
    // An explicit interval wins over the profile's, and only the interval.
    const slower = renderKeepalivedConfig({ ...spec, profile: 'fast', advertIntervalSeconds: 0.3 }, 'node-a');
    assert.deepEqual(
      [...slower.matchAll(/advert_int (\S+)/g)].map((m) => m[1]),
      Array(7).fill('0.3'),
    );
    assert.match(slower, /vrrp_rt_priority 20/);
  });

  it('refuses what keepalived or VRRP would not take', () => {
    assert.throws(() => renderKeepalivedConfig({ ...spec, vrrpIdOffset: 250 }, 'node-a'), /255/);
    assert.throws(() => renderKeepalivedConfig({ ...spec, nodes: [] }, 'node-a'), /no node/);
    assert.throws(() => renderKeepalivedConfig(spec, 'node-z'), /not among/);
    assert.throws(() => renderKeepalivedConfig({ ...spec, interface: 'eth0; rm -rf /' }, 'node-a'), /interface/);
    assert.throws(
      () => renderKeepalivedConfig({ ...spec, profile: 'turbo' as never }, 'node-a'),
      /profile "turbo" is not one of default, fast/,
    );
  });
});
