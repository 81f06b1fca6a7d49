/**
 * The `cx` CLI end to end: the real built binary (packages/cli/dist/main.js) as a child process
 * against a running cx on the `sim` provider — contexts, get in every output format, create,
 * scale and delete with --wait, export → create from the file, the documented exit codes of bad
 * input; and on kwok, `cx kubeconfig --merge` used by the real kubectl through the exec plugin.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import {
  ADMIN_PASSWORD,
  Api,
  cliPath,
  startCx,
  stopKwokControlPlanes,
  tempDir,
  type CxProcess,
} from '../support/cx.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('cx CLI against a running cx (sim)', () => {
  let cx: CxProcess;
  const dir = tempDir('cli-e2e');
  const credentials = join(dir, 'credentials.json');
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, CX_CREDENTIALS_FILE: credentials, NO_COLOR: '1' };
  delete baseEnv['CX_SESSION_FILE'];
  delete baseEnv['CX_CONTEXT'];

  /** Runs `cx ARGS…`; never rejects: the exit code is part of what is checked. */
  const cxRun = (args: string[], env: Record<string, string> = {}, timeoutMs = 180_000): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [cliPath, ...args],
        { env: { ...baseEnv, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  /** Runs `cx ARGS…` and expects exit 0. */
  const ok = async (args: string[], env: Record<string, string> = {}): Promise<Run> => {
    const run = await cxRun(args, env);
    assert.equal(run.code, 0, `cx ${args.join(' ')} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return run;
  };

  before(async () => {
    cx = await startCx();
  });
  after(async () => {
    await cx?.stop();
  });

  it('signs in to two servers-and-users as contexts, switches between them, signs out', async () => {
    const login = await ok(['login', cx.base, '--username', 'admin'], { CX_PASSWORD: ADMIN_PASSWORD });
    const host = new URL(cx.base).host;
    assert.match(login.stdout, new RegExp(`signed in to ${cx.base} as admin .*context admin@${host}`));
    assert.equal(statSync(credentials).mode & 0o077, 0, 'the credentials file is readable by its owner only');

    // A second user, signed in by host:port and --server alike.
    const api = await Api.login(cx.base);
    assert.equal(
      (await api.call('POST', '/api/v1/users', { username: 'dev', password: 'dev-password-1' })).status,
      201,
    );
    await ok(['login', '--server', host, '-u', 'dev'], { CX_PASSWORD: 'dev-password-1' });
    assert.deepEqual((await ok(['config', 'get-contexts', '-o', 'name'])).stdout.trim().split('\n').sort(), [
      `admin@${host}`,
      `dev@${host}`,
    ]);
    assert.equal((await ok(['config', 'current-context'])).stdout, `dev@${host}\n`);
    assert.match((await ok(['whoami'])).stdout, /^dev \(local, user\)/);
    assert.match((await ok(['whoami', '--context', `admin@${host}`])).stdout, /^admin \(local, admin\)/);
    const table = (await ok(['config', 'get-contexts'])).stdout;
    assert.match(table, /^CURRENT\s+NAME\s+SERVER\s+USER\s+EXPIRES$/m);
    assert.match(table, new RegExp(`^\\*\\s+dev@${host.replace(/\./g, '\\.')}\\s`, 'm'));
    assert.doesNotMatch(
      (await ok(['config', 'get-contexts', '-o', 'json'])).stdout,
      /token/i,
      'tokens stay in the file',
    );

    // The user may not list users: exit 4, with the server's code.
    const refused = await cxRun(['get', 'users']);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /CX_NOT_ALLOWED/);

    assert.match((await ok(['logout'])).stdout, /signed out/);
    const none = await cxRun(['whoami']);
    assert.equal(none.code, 3, 'no current context once it signed out');
    assert.match(none.stderr, /no current context; pick one with `cx config use-context NAME`/);
    assert.equal((await ok(['config', 'use-context', `admin@${host}`])).stdout, `switched to context admin@${host}\n`);
    assert.match((await ok(['whoami'])).stdout, /^admin /);
    const unknown = await cxRun(['config', 'use-context', 'nobody@nowhere']);
    assert.equal(unknown.code, 2);
  });

  it('creates a cluster with --wait, reads it in every format, scales it, and deletes it with --wait', async () => {
    const providers = JSON.parse((await ok(['get', 'providers', '-o', 'json'])).stdout) as {
      items: Array<{ name: string; kubernetesVersions: string[] }>;
    };
    assert.ok(providers.items.some((p) => p.name === 'sim' && p.kubernetesVersions.includes('1.31.4')));

    const created = await ok([
      'create',
      'cluster',
      'demo',
      '--provider',
      'sim',
      '--version',
      '1.31.4',
      '--control-plane',
      '3',
      '--pool',
      'workers=2:tier=web',
      '--wait',
    ]);
    assert.match(created.stdout, /^cluster\/demo created \(workflow [\w-]+\)\ncluster\/demo Ready\n$/);
    assert.match(created.stderr, /cluster\.create Succeeded {2}5\/5 mark-ready/, 'progress goes to stderr');

    // Table, wide, json, yaml, name, jsonpath.
    const table = (await ok(['get', 'clusters'])).stdout.split('\n');
    assert.match(table[0]!, /^NAME\s+PROVIDER\s+VERSION\s+STATUS\s+CONTROL-PLANE\s+WORKERS\s+AGE$/);
    assert.match(table[1]!, /^demo\s+sim\s+1\.31\.4\s+Ready\s+3\s+2\s+\d+[smhd]$/);
    assert.equal(table[0]!.indexOf('STATUS'), table[1]!.indexOf('Ready'), 'columns are aligned');
    assert.ok(!table.join('\n').includes('\u001b['), 'no colour in a pipe');
    assert.match((await ok(['get', 'clusters', '-o', 'wide'])).stdout, /^NAME .* ID .* RESOURCE-GROUP/);
    const json = JSON.parse((await ok(['get', 'cluster', 'demo', '-o', 'json'])).stdout) as {
      id: string;
      name: string;
      status: string;
    };
    assert.equal(json.name, 'demo');
    assert.equal(json.status, 'Ready');
    const byId = JSON.parse((await ok(['get', 'cluster', json.id, '-o', 'json'])).stdout) as { name: string };
    assert.equal(byId.name, 'demo', 'an id works where a name does');
    const yamlText = (await ok(['get', 'cluster/demo', '-o', 'yaml'])).stdout;
    assert.deepEqual((parse(yamlText) as { nodePools: Array<{ labels: object }> }).nodePools[0]!.labels, {
      tier: 'web',
    });
    assert.equal((await ok(['get', 'clusters', '-o', 'name'])).stdout, 'cluster/demo\n');
    assert.equal(
      (await ok(['get', 'clusters', '-o', 'jsonpath={range .items[*]}{.name}={.status}{"\\n"}{end}'])).stdout,
      'demo=Ready\n',
    );

    const nodes = JSON.parse((await ok(['get', 'nodes', '-c', 'demo', '-o', 'json'])).stdout) as {
      items: Array<{ name: string; role: string; status: string }>;
    };
    assert.equal(nodes.items.length, 5);
    assert.ok(nodes.items.every((n) => n.status === 'Ready'));
    const nodeTable = (await ok(['get', 'nodes', '-c', 'demo'])).stdout;
    assert.match(nodeTable, /^NAME\s+ROLE\s+POOL\s+STATUS\s+VERSION$/m);
    assert.equal((nodeTable.match(/\sReady\s/g) ?? []).length, 5);
    assert.equal((await ok(['get', 'nodes', '-c', 'demo', '-o', 'name'])).stdout.split('\n').filter(Boolean).length, 5);

    // Scale with --wait, then the pools and nodes say so.
    const scaled = await ok(['scale', 'cluster/demo', '--pool', 'workers=3', '--wait']);
    assert.match(scaled.stdout, /cluster\/demo workers=3 Ready\n$/);
    assert.equal(
      (await ok(['get', 'nodepools', '-c', 'demo', '-o', 'jsonpath={.items[?(@.name=="workers")].count}'])).stdout,
      '3',
    );
    const described = (await ok(['describe', 'cluster', 'demo'])).stdout;
    assert.match(described, /^Name:\s+demo$/m);
    assert.match(described, /^Nodes Ready:\s+6\/6$/m);
    assert.match(described, /^Node pools:\n {2}NAME\s+ROLE\s+COUNT/m);
    assert.match(described, /demo-workers-2\s+worker\s+workers\s+Ready/);

    // The README's declarative path: export → diff (nothing) → edit → diff → apply → apply again (nothing).
    const exportFile = join(dir, 'demo.yaml');
    writeFileSync(exportFile, (await ok(['get', 'cluster', 'demo', '-o', 'yaml'])).stdout);
    assert.equal((await ok(['diff', '-f', exportFile])).stdout, 'cluster/demo unchanged\n');
    writeFileSync(
      exportFile,
      readFileSync(exportFile, 'utf8').replace(/^( {2}- name: workers\n {4}count:) 3$/m, '$1 4'),
    );
    const diff = await cxRun(['diff', '-f', exportFile]);
    assert.equal(diff.code, 10, diff.stderr);
    assert.equal(diff.stdout, 'cluster/demo: 1 change\n  ~ pool workers count 3 → 4 (scale)\n');
    const applied = await ok(['apply', '-f', exportFile, '--wait']);
    assert.match(
      applied.stdout,
      /\[1\/1\] cluster\/demo ~ pool workers count 3 → 4 \(scale\): workflow [\w-]+\napplied 1 change\n$/,
    );
    assert.equal((await ok(['apply', '-f', exportFile])).stdout, 'cluster/demo unchanged\nnothing to change\n');
    assert.equal((await ok(['get', 'nodes', '-c', 'demo', '-o', 'name'])).stdout.split('\n').filter(Boolean).length, 7);
    // The health policy converges too, without a workflow.
    writeFileSync(exportFile, readFileSync(exportFile, 'utf8').replace(/^( {2}remediation:) replace$/m, '$1 none'));
    const health = await ok(['apply', '-f', exportFile]);
    assert.match(health.stdout, /~ health remediation "replace" → "none" \(no workflow\): done\n/);
    assert.equal(JSON.parse((await ok(['get', 'cluster', 'demo', '-o', 'json'])).stdout).health.remediation, 'none');
    assert.equal((await ok(['apply', '-f', exportFile])).stdout, 'cluster/demo unchanged\nnothing to change\n');

    // Export → edit → create from the file.
    const exported = parse(yamlText) as Record<string, unknown>;
    exported['name'] = 'demo2';
    exported['nodePools'] = [{ name: 'workers', count: 1 }];
    const file = join(dir, 'demo2.yaml');
    writeFileSync(file, JSON.stringify(exported));
    const fromFile = await ok(['create', 'cluster', '-f', file, '--control-plane', '1', '--wait', '-o', 'name']);
    assert.equal(fromFile.stdout, 'cluster/demo2\n');
    const demo2 = JSON.parse((await ok(['get', 'cluster', 'demo2', '-o', 'json'])).stdout) as {
      controlPlane: { count: number };
      nodePools: Array<{ name: string; count: number }>;
      status: string;
    };
    assert.equal(demo2.status, 'Ready');
    assert.equal(demo2.controlPlane.count, 1, 'the flag won over the file');
    assert.deepEqual(
      demo2.nodePools.map((p) => `${p.name}=${p.count}`),
      ['workers=1'],
    );

    // Delete both with --wait; then they are gone (exit 5).
    for (const name of ['demo', 'demo2']) {
      const deleted = await ok(['delete', 'cluster', name, '--wait']);
      assert.match(deleted.stdout, new RegExp(`cluster/${name} deleted\\n$`));
      assert.match(deleted.stderr, /cluster\.delete Succeeded/);
      const gone = await cxRun(['get', 'cluster', name]);
      assert.equal(gone.code, 5, gone.stderr);
      assert.match(gone.stderr, new RegExp(`cluster ${name} does not exist \\(CX_NOT_FOUND\\)`));
    }
    assert.equal((await ok(['get', 'clusters'])).stderr, 'No clusters found.\n');
  });

  it('refuses bad input with exit 2 and says why, and nothing is created', async () => {
    // Refused by the server: its detail, code and field.
    const invalid = await cxRun([
      'create',
      'cluster',
      'Bad_Name',
      '--provider',
      'sim',
      '--version',
      '1.31.4',
      '--control-plane',
      '3',
    ]);
    assert.equal(invalid.code, 2, invalid.stderr);
    assert.match(invalid.stderr, /^cx: .*\(CX_INPUT_INVALID\)\n {2}body\.name: /);
    // Refused before sending: the --pool syntax, a missing flag, an unknown option, an unknown type.
    const pool = await cxRun([
      'create',
      'cluster',
      'x',
      '--provider',
      'sim',
      '--version',
      '1.31.4',
      '--control-plane',
      '3',
      '--pool',
      'workers=many',
    ]);
    assert.equal(pool.code, 2);
    assert.match(pool.stderr, /--pool workers=many: expected NAME=COUNT/);
    const missing = await cxRun(['create', 'cluster', 'x', '--provider', 'sim']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing --version, --control-plane/);
    assert.equal((await cxRun(['get', 'clusters', '--bogus'])).code, 2);
    assert.equal((await cxRun(['get', 'things'])).code, 2);
    assert.equal((await cxRun(['get', 'clusters', '-o', 'xml'])).code, 2);
    assert.equal((await cxRun(['get', 'nodes'])).code, 2, 'nodes need -c');
    // A name the server does not know, for a scale: exit 5.
    const unknown = await cxRun(['scale', 'cluster/nope', '--pool', 'workers=1']);
    assert.equal(unknown.code, 5);
    assert.equal((await ok(['get', 'clusters', '-o', 'json'])).stdout, '{\n  "items": []\n}\n', 'nothing was created');
  });

  it('says when the server cannot be reached (exit 7)', async () => {
    const run = await cxRun(['login', 'http://127.0.0.1:9', '-u', 'admin'], { CX_PASSWORD: 'x' });
    assert.equal(run.code, 7, run.stderr);
    assert.match(run.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});

describe('cx kubeconfig on a kwok cluster: kubectl through the exec credential plugin', () => {
  const raw = process.env['CX_TEST_KUBERNETES'];
  let cx: CxProcess;
  const dir = tempDir('cli-kubeconfig');
  const env: NodeJS.ProcessEnv = { ...process.env, CX_CREDENTIALS_FILE: join(dir, 'credentials.json'), NO_COLOR: '1' };
  const kubeconfig = join(dir, 'kube', 'config');
  const cxOk = async (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<string> => {
    const { stdout } = await promisify(execFile)(process.execPath, [cliPath, ...args], {
      env: { ...env, ...extra },
      timeout: 240_000,
    });
    return stdout;
  };

  before(async () => {
    assert.ok(raw, 'CX_TEST_KUBERNETES is not set: run the tests with `npm test` (test/peers/kubernetes.sh)');
    const binaries = join(dir, 'binaries.json');
    writeFileSync(binaries, raw);
    cx = await startCx({ env: { CX_KWOK_BINARIES_FILE: binaries } });
    await cxOk(['login', cx.base, '-u', 'admin'], { CX_PASSWORD: ADMIN_PASSWORD });
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('merges an exec-plugin entry that kubectl uses to reach the tenant API, with fresh certificates', async () => {
    const peer = JSON.parse(raw!) as { kubeApiserver: Record<string, string>; kubectl?: string };
    const version = Object.keys(peer.kubeApiserver).sort()[0]!;
    await cxOk([
      'create',
      'cluster',
      'kw',
      '--provider',
      'kwok',
      '--version',
      version,
      '--control-plane',
      '1',
      '--pool',
      'workers=1',
      '--wait',
      '--timeout',
      '4m',
    ]);
    // An existing kubeconfig keeps its other entries.
    mkdirSync(join(dir, 'kube'), { recursive: true });
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: "https://192.0.2.1"}\nusers: []\ncontexts: []\n',
    );
    const merged = await cxOk(['kubeconfig', 'kw', '--merge'], { KUBECONFIG: kubeconfig });
    const host = new URL(cx.base).host;
    assert.equal(merged, `context admin@kw.${host} written to ${kubeconfig} and made current\n`);
    assert.equal(statSync(kubeconfig).mode & 0o077, 0);
    const config = parse(readFileSync(kubeconfig, 'utf8')) as {
      'current-context': string;
      clusters: Array<{ name: string }>;
      users: Array<{ name: string; user: { exec?: { command: string; args: string[] }; 'client-key-data'?: string } }>;
    };
    assert.equal(config['current-context'], `admin@kw.${host}`);
    assert.deepEqual(config.clusters.map((c) => c.name).sort(), [`kw.${host}`, 'other']);
    const user = config.users.find((u) => u.name === `admin@kw.${host}`)!;
    assert.ok(user.user.exec, 'the user runs cx as an exec plugin');
    assert.equal(user.user['client-key-data'], undefined, 'no key is written into the kubeconfig');

    // The real kubectl, through the plugin: the tenant's nodes.
    const kubectl = peer.kubectl ?? 'kubectl';
    const nodes = await promisify(execFile)(kubectl, ['get', 'nodes', '-o', 'name', '--request-timeout=20s'], {
      env: { ...env, KUBECONFIG: kubeconfig },
    });
    assert.deepEqual(nodes.stdout.trim().split('\n').sort(), ['node/kw-cp-0', 'node/kw-workers-0']);

    // The plugin's answer: a certificate that expires within the hour cx signs for.
    const credential = JSON.parse(await cxOk(['kubeconfig', 'credential', 'kw'])) as {
      apiVersion: string;
      kind: string;
      status: { clientCertificateData: string; clientKeyData: string; expirationTimestamp: string };
    };
    assert.equal(credential.kind, 'ExecCredential');
    assert.equal(credential.apiVersion, 'client.authentication.k8s.io/v1');
    assert.match(credential.status.clientCertificateData, /^-----BEGIN CERTIFICATE-----/);
    assert.match(credential.status.clientKeyData, /-----BEGIN (EC |RSA )?PRIVATE KEY-----/);
    const expiresIn = Date.parse(credential.status.expirationTimestamp) - Date.now();
    assert.ok(expiresIn > 0 && expiresIn <= 3_600_000, `expires in ${expiresIn} ms`);
    await cxOk(['delete', 'cluster', 'kw', '--wait']);
  });
});
