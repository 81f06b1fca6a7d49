import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProviderConformance } from '@cx/sddc-contract/testing';
import { SimProvider } from './index.js';

const dataDir = await mkdtemp(join(tmpdir(), 'cx-sim-'));

runProviderConformance({
  name: 'sim',
  create: async () => new SimProvider({ dataDir, latencyMs: 20 }),
  unreachable: async () => new SimProvider({ dataDir, failureRate: 1 }),
  settleTimeoutMs: 5_000,
});
