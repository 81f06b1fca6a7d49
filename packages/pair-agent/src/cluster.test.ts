/**
 * The parts of the Kubernetes side a healthy API cannot show: a hung API is abandoned in time,
 * and label selectors are written as the list calls take them. Reading a real side is covered in
 * pair-agent.test.ts.
 */
import assert from 'node:assert/strict';
import { type Server, type Socket, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesError, SideCluster, selectorString } from './cluster.js';

describe('the side cluster', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let port = 0;

  before(async () => {
    // Accepts connections and never answers, as an API server behind a dead network path would.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function hungCluster(readTimeoutMs: number, writeTimeoutMs = readTimeoutMs): SideCluster {
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromOptions({
      clusters: [{ name: 'hung', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'agent', token: 'x' }],
      contexts: [{ name: 'hung', cluster: 'hung', user: 'agent' }],
      currentContext: 'hung',
    });
    return new SideCluster({
      kubeconfig,
      singletons: [
        { namespace: 'apps', name: 'db', preferredSide: 'a' },
        { namespace: 'apps', name: 'queue', preferredSide: 'b' },
      ],
      gate: { dir: '/run/cx-pair', image: 'busybox:1.37.0' },
      readTimeoutMs,
      writeTimeoutMs,
    });
  }

  it('abandons a read the API does not answer after the timeout, all of its calls together', async () => {
    const started = Date.now();
    await assert.rejects(
      hungCluster(300).read(),
      (error: Error) =>
        error instanceof KubernetesError && error.status === undefined && /no answer within 300 ms/.test(error.message),
    );
    const took = Date.now() - started;
    assert.ok(took >= 290 && took < 2_000, `took ${took} ms`);
  });

  it('abandons a scale the API does not answer, without a status (its outcome is unknown)', async () => {
    await assert.rejects(
      hungCluster(5_000, 200).scale({ namespace: 'apps', name: 'db', preferredSide: 'a' }, 1),
      (error: Error) =>
        error instanceof KubernetesError &&
        error.status === undefined &&
        /cannot scale apps\/db to 1: no answer within 200 ms/.test(error.message),
    );
  });

  it('writes label selectors as the list calls take them', () => {
    assert.equal(selectorString({ matchLabels: { app: 'db', tier: 'data' } }), 'app=db,tier=data');
    assert.equal(
      selectorString({
        matchLabels: { app: 'db' },
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['a', 'b'] },
          { key: 'canary', operator: 'NotIn', values: ['true'] },
          { key: 'owner', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
      'app=db,zone in (a,b),canary notin (true),owner,!legacy',
    );
    assert.throws(
      () => selectorString({ matchExpressions: [{ key: 'x', operator: 'Near' }] }),
      /unknown label selector operator "Near"/,
    );
  });
});
