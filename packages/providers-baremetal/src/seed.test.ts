import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { SeedServer, macPath } from './seed-server.js';
import { seedMetaData } from './seed.js';

const files = {
  'user-data': '#cloud-config\nruncmd: [["kubeadm", "join"]]\n',
  'meta-data': seedMetaData('m-1', 'c-cp-0'),
};
const image = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

describe('NoCloud meta-data', () => {
  it('names the machine as instance id and host name, quoted as YAML strings', () => {
    assert.equal(seedMetaData('m-1', 'c-cp-0'), 'instance-id: "m-1"\nlocal-hostname: "c-cp-0"\n');
    assert.equal(seedMetaData('a: b', 'x'), 'instance-id: "a: b"\nlocal-hostname: "x"\n');
  });

  it('spells MACs one way in URLs', () => {
    assert.equal(macPath('52:54:00:AB:cd:01'), '52-54-00-ab-cd-01');
  });
});

describe('SeedServer', () => {
  it('serves a seed at its token URLs until it is retired, then answers 404', async () => {
    const server = new SeedServer();
    try {
      const seed = await server.publish('k', files, image);
      assert.match(seed.imageUrl, /^http:\/\/127\.0\.0\.1:\d+\/seeds\/[A-Za-z0-9_-]{43}\/cidata\.iso$/);
      assert.equal(seed.nocloudUrl, seed.imageUrl.replace(/cidata\.iso$/, ''));
      assert.equal(seed.macUrl, undefined);
      assert.deepEqual((await get(seed.imageUrl)).body, image);
      assert.equal((await get(`${seed.nocloudUrl}user-data`)).body.toString(), files['user-data']);
      assert.equal((await get(`${seed.nocloudUrl}meta-data`)).body.toString(), files['meta-data']);
      assert.equal((await get(`${seed.nocloudUrl}vendor-data`)).status, 200);
      assert.equal((await get(`${seed.nocloudUrl}network-config`)).status, 404, 'none was given');
      const wrongToken = seed.imageUrl.replace(/seeds\/./, (m) => `${m.slice(0, -1)}${m.endsWith('A') ? 'B' : 'A'}`);
      assert.equal((await get(wrongToken)).status, 404);
      assert.equal(server.serves('k'), true);
      assert.equal(server.retire('k'), true);
      assert.equal((await get(seed.imageUrl)).status, 404);
      assert.equal((await get(`${seed.nocloudUrl}user-data`)).status, 404);
      assert.equal(server.retire('k'), false);
    } finally {
      await server.close();
    }
  });

  it('publishing again replaces the token; the old URL answers 404', async () => {
    const server = new SeedServer();
    try {
      const first = await server.publish('k', files, image);
      const second = await server.publish('k', files, image);
      assert.notEqual(first.imageUrl, second.imageUrl);
      assert.equal((await get(first.imageUrl)).status, 404);
      assert.equal((await get(second.imageUrl)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('serves by boot MAC only when asked, and no image there', async () => {
    const server = new SeedServer();
    try {
      const seed = await server.publish('k', files, image, '52:54:00:AB:00:01');
      assert.match(seed.macUrl ?? '', /\/by-mac\/52-54-00-ab-00-01\/$/);
      assert.equal((await get(`${seed.macUrl}user-data`)).body.toString(), files['user-data']);
      assert.equal((await get(`${seed.macUrl}cidata.iso`)).status, 404);
      server.retire('k');
      assert.equal((await get(`${seed.macUrl}user-data`)).status, 404);
    } finally {
      await server.close();
    }
  });

  it('answers byte ranges, as BMCs read virtual media', async () => {
    const server = new SeedServer();
    try {
      const { imageUrl } = await server.publish('k', files, image);
      const part = await get(imageUrl, { range: 'bytes=10-19' });
      assert.equal(part.status, 206);
      assert.deepEqual(part.body, image.subarray(10, 20));
      const tail = await get(imageUrl, { range: 'bytes=-5' });
      assert.deepEqual(tail.body, image.subarray(995));
      assert.equal((await get(imageUrl, { range: 'bytes=5000-' })).status, 416);
    } finally {
      await server.close();
    }
  });

  it('retires a seed after its time to live', async () => {
    const server = new SeedServer({ ttlMs: 50 });
    try {
      const { imageUrl } = await server.publish('k', files, image);
      const deadline = Date.now() + 10_000;
      while (server.serves('k')) {
        assert.ok(Date.now() < deadline, 'the seed was never retired');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal((await get(imageUrl)).status, 404);
    } finally {
      await server.close();
    }
  });

  it('refuses to publish when its base URL reaches another service or nothing (SeedUnreachable)', async () => {
    const other = createServer((_req, res) => res.end('not the seed listener'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as { port: number }).port;
    const wrong = new SeedServer({ baseUrl: `http://127.0.0.1:${port}` });
    try {
      await assert.rejects(wrong.publish('k', files, image), (error: Error & { details?: { reason?: string } }) => {
        assert.equal(error.details?.reason, 'SeedUnreachable');
        assert.match(error.message, /baremetal\.seedBaseUrl/);
        assert.ok(!error.message.includes('kubeadm'), 'no user data in the message');
        return true;
      });
      assert.equal(wrong.serves('k'), false);
    } finally {
      await wrong.close();
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
    const nothing = new SeedServer({ baseUrl: `http://127.0.0.1:${port}`, checkTimeoutMs: 2_000 });
    try {
      await assert.rejects(nothing.publish('k', files, image), /ECONNREFUSED/);
    } finally {
      await nothing.close();
    }
  });

  it('refuses a base URL that is not http(s), and a port it cannot bind (SeedListenerFailed)', async () => {
    assert.throws(() => new SeedServer({ baseUrl: 'ftp://x' }), /not an http\(s\):\/\/ URL/);
    assert.throws(() => new SeedServer({ host: '0.0.0.0' }), /set baremetal\.seedBaseUrl/);
    const first = new SeedServer();
    try {
      const { imageUrl } = await first.publish('k', files, image);
      const port = Number(new URL(imageUrl).port);
      const second = new SeedServer({ port });
      await assert.rejects(
        second.publish('k', files, image),
        (error: Error & { details?: { reason?: string } }) =>
          error.details?.reason === 'SeedListenerFailed' && /EADDRINUSE/.test(error.message),
      );
      await second.close();
    } finally {
      await first.close();
    }
  });
});
