/** The embedded default's promises: Ctrl-C stops everything it started, a restart keeps the data. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Api, DEMO_CLUSTER, freePort, startCx, tempDir, type CxProcess } from '../support/cx.js';

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
