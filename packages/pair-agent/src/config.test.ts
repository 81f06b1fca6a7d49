import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { DEFAULT_PAIR_TIMING } from '@cx/pair';
import { AgentConfigError, isPinnedImage, loadAgentConfig, parseAgentConfig, parseListen } from './config.js';

const spec = {
  name: 'edge-7',
  sides: {
    a: { cluster: 'edge-7a', bmc: { protocol: 'redfish', address: 'https://10.0.0.11' } },
    b: { cluster: 'edge-7b', bmc: { protocol: 'ipmi', address: '10.0.0.12' } },
  },
  singletons: [{ namespace: 'apps', name: 'db', preferredSide: 'a' }],
  preferredSide: 'b',
  afterFence: 'power-on',
  ...DEFAULT_PAIR_TIMING,
};
const valid = {
  spec,
  side: 'a',
  listen: '127.0.0.1:0',
  peerUrl: 'http://127.0.0.1:41234/',
  token: 'a shared secret of the pair',
  stateDir: '/var/lib/cx-pair-agent',
};

function problemsOf(value: unknown): Array<{ path: string; message: string }> {
  try {
    parseAgentConfig(value);
  } catch (error) {
    assert.ok(error instanceof AgentConfigError, String(error));
    return error.problems;
  }
  assert.fail('the configuration was accepted');
}

describe('the agent configuration', () => {
  const root = mkdtempSync(join(tmpdir(), 'cx-pair-agent-config-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('accepts the documented file and fills in the defaults', () => {
    const config = parseAgentConfig(valid);
    assert.equal(config.side, 'a');
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 0 });
    assert.equal(config.peerUrl, 'http://127.0.0.1:41234', 'no trailing slash, so that paths can be appended');
    assert.equal(config.intervalMs, 1_000);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.kubeconfig, undefined, 'absent: the in-cluster configuration');
    assert.deepEqual(
      [config.gateDir, config.gateImage],
      ['/run/cx-pair', 'busybox:1.37.0'],
      'the gate under /run, a tmpfs on real nodes',
    );
    assert.equal(config.spec.name, 'edge-7');
    assert.equal(
      parseAgentConfig({ ...valid, spec: { ...spec, peerLossTimeoutMs: 900 } }).intervalMs,
      300,
      'a third of a peer loss timeout shorter than 3 s',
    );
    const full = parseAgentConfig({
      ...valid,
      kubeconfig: '/etc/kubeconfig',
      nodeName: 'node-1',
      intervalMs: 250,
      logLevel: 'debug',
      listen: '[::1]:9443',
      gateDir: '/run/edge-7',
      gateImage: 'registry.local:5000/tools/busybox:1.37.0',
    });
    assert.deepEqual(
      [full.kubeconfig, full.nodeName, full.intervalMs, full.logLevel, full.listen, full.gateDir, full.gateImage],
      [
        '/etc/kubeconfig',
        'node-1',
        250,
        'debug',
        { host: '::1', port: 9443 },
        '/run/edge-7',
        'registry.local:5000/tools/busybox:1.37.0',
      ],
    );
  });

  it('lists every problem at once, each with its path, including those of the pair spec', () => {
    const problems = problemsOf({
      spec: { ...spec, sides: { a: spec.sides.a, b: { cluster: 'edge-7b' } }, peerLossTimeoutMs: 500 },
      side: 'c',
      listen: 'localhost',
      peerUrl: 'ftp://peer',
      token: 'short',
      intervalMs: 1_000,
      colour: 'blue',
    });
    const paths = problems.map((p) => p.path).sort();
    assert.deepEqual(
      paths,
      ['colour', 'intervalMs', 'listen', 'peerUrl', 'side', 'spec.sides.b.bmc', 'stateDir', 'token'].sort(),
      JSON.stringify(problems),
    );
    const byPath = new Map(problems.map((p) => [p.path, p.message]));
    assert.match(byPath.get('spec.sides.b.bmc')!, /side b has no BMC/);
    assert.match(byPath.get('token')!, /at least 16/);
    assert.match(byPath.get('intervalMs')!, /shorter than spec\.peerLossTimeoutMs \(500\)/);
    assert.match(byPath.get('stateDir')!, /required/);
    assert.match(byPath.get('colour')!, /not a known key/);
  });

  it('takes a token only as an HTTP header can carry it', () => {
    assert.equal(
      parseAgentConfig({ ...valid, token: 'with inner spaces, 16+ chars' }).token,
      'with inner spaces, 16+ chars',
    );
    for (const token of [
      ' leading space, 16+ chars',
      'trailing space, 16+ chars ',
      'a line\nbreak, 16+ chars',
      'non-ascii é, 16+ chars',
    ]) {
      const problems = problemsOf({ ...valid, token });
      assert.deepEqual(
        problems.map((p) => `${p.path}: ${p.message}`),
        ['token: must be printable ASCII without spaces at either end (it is sent in an HTTP header)'],
        JSON.stringify(token),
      );
    }
  });

  it('refuses a file that is not an object, and a spec that is not one', () => {
    assert.deepEqual(
      problemsOf([]).map((p) => p.path),
      [''],
    );
    const problems = problemsOf({ ...valid, spec: 'edge-7' });
    assert.deepEqual(
      problems.map((p) => p.path),
      ['spec'],
    );
  });

  it('says when the file cannot be read or is not JSON', () => {
    const dir = mkdtempSync(join(root, 'case-'));
    assert.throws(
      () => loadAgentConfig(join(dir, 'missing.json')),
      (error: AgentConfigError) => /cannot read the file/.test(error.problems[0]!.message),
    );
    writeFileSync(join(dir, 'broken.json'), '{"spec": ');
    assert.throws(
      () => loadAgentConfig(join(dir, 'broken.json')),
      (error: AgentConfigError) => /not JSON/.test(error.problems[0]!.message),
    );
    writeFileSync(join(dir, 'good.json'), JSON.stringify(valid));
    assert.equal(loadAgentConfig(join(dir, 'good.json')).side, 'a');
  });

  it('takes a gate directory only as an exact absolute path, and a gate image only pinned', () => {
    for (const gateDir of ['run/cx-pair', '/run/cx-pair/', '/run/../tmp', '/run//cx-pair', '/']) {
      assert.deepEqual(
        problemsOf({ ...valid, gateDir }).map((p) => p.path),
        ['gateDir'],
        gateDir,
      );
    }
    for (const gateImage of ['busybox', 'busybox:latest', 'registry.local:5000/busybox', 'busy box:1']) {
      assert.deepEqual(
        problemsOf({ ...valid, gateImage }).map((p) => p.path),
        ['gateImage'],
        gateImage,
      );
    }
    assert.match(problemsOf({ ...valid, gateImage: 'busybox' })[0]!.message, /not a pinned image reference/);
    assert.equal(isPinnedImage(`busybox@sha256:${'a'.repeat(64)}`), true);
    assert.equal(isPinnedImage('busybox:1.37.0-musl'), true);
  });

  it('reads listen addresses', () => {
    assert.deepEqual(parseListen('0.0.0.0:8443'), { host: '0.0.0.0', port: 8443 });
    assert.deepEqual(parseListen('agent.local:0'), { host: 'agent.local', port: 0 });
    assert.deepEqual(parseListen('[::]:80'), { host: '::', port: 80 });
    for (const bad of ['127.0.0.1', ':80', '127.0.0.1:65536', '::1:80', '127.0.0.1:-1'])
      assert.equal(parseListen(bad), undefined, bad);
  });

  it('makes the program exit 2 and list every problem on stderr', () => {
    const dir = mkdtempSync(join(root, 'case-'));
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ ...valid, side: 'x', token: 'short' }));
    const main = fileURLToPath(new URL('./main.js', import.meta.url));
    const run = spawnSync(process.execPath, [main, '--config', file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stdout, '', 'nothing on stdout: it never listened');
    assert.match(run.stderr, /invalid configuration/);
    assert.match(run.stderr, /side: must be one of "a", "b"/);
    assert.match(run.stderr, /token: must be at least 16 characters/);
    const usage = spawnSync(process.execPath, [main], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--config is required/);
  });
});
