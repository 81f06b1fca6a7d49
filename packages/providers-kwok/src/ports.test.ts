import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { freePort, holdPorts, releasePorts } from './ports.js';

/** Math.random answering `values` in turn, then the last one for ever: freePort's candidates, chosen. */
function candidates(t: TestContext, ...ports: number[]): void {
  const values = ports.map((port) => (port - 20_000 + 0.5) / 12_000);
  let next = 0;
  t.mock.method(Math, 'random', () => values[Math.min(next++, values.length - 1)]!);
}

describe('ports of the tenant control planes', () => {
  it('never hands out a port twice while its control plane has not bound it yet', async (t) => {
    candidates(t, 24_001, 24_001, 24_002);
    const first = await freePort();
    const second = await freePort();
    assert.equal(first, 24_001);
    assert.equal(second, 24_002, 'the first port is free to bind, but it is handed out');
    releasePorts([first, second]);
  });

  it('gives concurrent callers different ports', async (t) => {
    candidates(t, 24_011, 24_011, 24_011, 24_012, 24_012, 24_013);
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    assert.deepEqual([...ports].sort(), [24_011, 24_012, 24_013]);
    releasePorts(ports);
  });

  it('hands out a released port again, and a held one never', async (t) => {
    candidates(t, 24_021, 24_021, 24_022, 24_023);
    holdPorts([24_021, 24_022, undefined]);
    assert.equal(await freePort(), 24_023);
    releasePorts([24_021, 24_022, 24_023]);
    candidates(t, 24_021);
    assert.equal(await freePort(), 24_021);
    releasePorts([24_021]);
  });

  it('says so when it finds no free port', async (t) => {
    candidates(t, 24_031);
    holdPorts([24_031]);
    await assert.rejects(freePort(), { code: 'CX_PROVIDER_UNAVAILABLE', message: /no free port/ });
    releasePorts([24_031]);
  });
});
