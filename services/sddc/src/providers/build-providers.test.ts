/** The kwok provider is offered as soon as its binaries are built, without a restart (`npm start` builds them in the background). */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, it } from 'node:test';
import { loadConfig } from '@cx/config';
import { createLogger } from '@cx/service-kit';
import type { SmClient } from '@cx/sm-contract';
import { buildProviders, offerKwokWhenBuilt } from './build-providers.js';

const previousPeersDir = process.env['CX_PEERS_DIR'];
after(() => {
  if (previousPeersDir === undefined) delete process.env['CX_PEERS_DIR'];
  else process.env['CX_PEERS_DIR'] = previousPeersDir;
});

it('offers kwok once the binaries manifest appears where sddc looks by default', async () => {
  const manifest = process.env['CX_TEST_KUBERNETES'];
  assert.ok(manifest, 'CX_TEST_KUBERNETES is not set: run the tests with `npm test` (test/peers/kubernetes.sh)');
  const peersDir = mkdtempSync(join(tmpdir(), 'cx-peers-'));
  process.env['CX_PEERS_DIR'] = peersDir;
  const config = loadConfig({
    env: { CX_SDDC_PROVIDERS: 'sim,kwok', CX_DATA_DIR: mkdtempSync(join(tmpdir(), 'cx-data-')) },
  });
  const logger = createLogger({ level: 'silent', service: 'sddc' });
  // sm is not called by sim and kwok when they are built.
  const directory = buildProviders(config, logger, {} as SmClient);
  assert.deepEqual(
    directory.list().map((p) => p.name),
    ['sim'],
    'without binaries kwok is not offered',
  );
  const stop = offerKwokWhenBuilt(config, directory, logger, 50);
  try {
    await sleep(200);
    assert.equal(directory.serves('kwok'), false, 'still not built');
    mkdirSync(join(peersDir, 'kubernetes'), { recursive: true });
    writeFileSync(join(peersDir, 'kubernetes', 'binaries.json'), manifest);
    for (let i = 0; i < 100 && !directory.serves('kwok'); i++) await sleep(50);
    assert.equal(directory.serves('kwok'), true, 'offered once built');
    assert.deepEqual(
      directory
        .list()
        .map((p) => p.name)
        .sort(),
      ['kwok', 'sim'],
    );
  } finally {
    stop();
  }
});
