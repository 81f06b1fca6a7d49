/**
 * The embedded default's promises: Ctrl-C stops everything it started, a restart keeps the data,
 * and its state is its owner's alone.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Api, DEMO_CLUSTER, freePort, startCx, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';
import { kubernetesPeer } from '../support/kwok.js';

let cx: CxProcess | undefined;
after(async () => {
  await cx?.stop();
});

it('stops its private redis-server on SIGINT and keeps clusters and the admin password across restarts', async () => {
  const dataDir = tempDir('embedded');
  const port = await freePort();
  // No CX_ADMIN_PASSWORD: the password is generated, printed and kept under dataDir.
  const env = { CX_ADMIN_PASSWORD: '' };
  cx = await startCx({ dataDir, port, env });
  const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { adminPassword: string };
  assert.ok(secrets.adminPassword.length >= 12);
  let api = await Api.login(cx.base, 'admin', secrets.adminPassword);
  const created = await api.call('POST', '/api/v1/clusters', { name: 'keep', ...DEMO_CLUSTER });
  assert.equal(created.status, 202);
  assert.equal((await api.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'])).status, 'Succeeded');

  const redisPid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  assert.ok(existsSync(`/proc/${redisPid}`), 'the private redis-server runs');
  cx.child.kill('SIGINT');
  assert.equal(await cx.exited, 0, 'cx exits cleanly on Ctrl-C');
  assert.ok(
    !existsSync(`/proc/${redisPid}`) || readFileSync(`/proc/${redisPid}/stat`, 'utf8').split(' ')[2] === 'Z',
    'the private redis-server was stopped',
  );

  cx = await startCx({ dataDir, port, env });
  api = await Api.login(cx.base, 'admin', secrets.adminPassword);
  const cluster = await api.call('GET', `/api/v1/clusters/${created.body.cluster.id}`);
  assert.equal(cluster.status, 200);
  assert.equal(cluster.body.status, 'Ready');
});

it("keeps its state private under the default relative data dir (directory 0700, database 0600, Redis behind a password), and runs the README's kwok clusters from there", async () => {
  await cx?.stop();
  const workingDir = tempDir('relative');
  // As the README runs it: the default dataDir, `.cx`, relative to where cx starts.
  cx = await startCx({ dataDir: workingDir, env: { CX_DATA_DIR: '.cx' } });
  const dataDir = join(workingDir, '.cx');
  const mode = (path: string): number => statSync(path).mode & 0o777;
  assert.equal(mode(dataDir), 0o700, 'the data directory');
  for (const file of ['cx.db', 'cx.db-wal', 'secrets.json', join('redis', 'redis.conf')])
    assert.equal(mode(join(dataDir, file)), 0o600, file);
  assert.equal(mode(join(dataDir, 'redis')), 0o700, 'the Redis directory');

  const redisPid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  // What `ps` shows every local user: redis-server titles itself `redis-server 127.0.0.1:PORT`.
  const command = readFileSync(`/proc/${redisPid}/cmdline`, 'utf8');
  const redisPort = Number(/127\.0\.0\.1:(\d+)/.exec(command)?.[1]);
  assert.ok(redisPort > 0, `redis-server's port: ${command}`);
  const { redisPassword } = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as {
    redisPassword: string;
  };
  assert.ok(!command.includes(redisPassword), 'no password on the command line');
  const answer = await new Promise<string>((resolveAnswer, reject) => {
    const socket = connect(redisPort, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(5000, () => socket.destroy(new Error('Redis did not answer')));
    socket.once('data', (data) => {
      resolveAnswer(data.toString());
      socket.end();
    });
    socket.once('error', reject);
  });
  assert.match(answer, /^-NOAUTH/, 'Redis refuses a client without the password');
  const api = await Api.login(cx.base);
  assert.equal((await api.call('GET', '/api/v1/auth/whoami')).status, 200, 'cx itself gets in');

  // The README's "real clusters locally": with the Kubernetes peers built (`npm run peers --
  // kubernetes`, their manifest where sddc looks by default), the default configuration serves
  // kwok, whose kube-apiserver runs in another directory yet finds its keys under `.cx`.
  try {
    const { versions } = kubernetesPeer();
    const created = await api.call('POST', '/api/v1/clusters', {
      name: 'readme',
      provider: 'kwok',
      kubernetesVersion: versions[0],
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 1 }],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const run = await api.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000);
    assert.equal(run.status, 'Succeeded', JSON.stringify(run.steps));
    const kubeconfig = await api.call('GET', `/api/v1/clusters/${created.body.cluster.id}/kubeconfig`);
    assert.equal(kubeconfig.status, 200);
    assert.match(String(kubeconfig.body), /client-certificate-data/);
  } finally {
    await cx.stop();
    stopKwokControlPlanes(dataDir);
  }
});
