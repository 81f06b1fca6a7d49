import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configKeys, envNameOf, loadConfig, redactConfig } from './index.js';

describe('configuration', () => {
  it('names environment variables after key paths', () => {
    assert.equal(envNameOf('http.port'), 'CX_HTTP_PORT');
    assert.equal(envNameOf('sim.latencyMs'), 'CX_SIM_LATENCY_MS');
    assert.equal(envNameOf('secretKey'), 'CX_SECRET_KEY');
    const names = configKeys().map((k) => k.env);
    for (const required of [
      'CX_DATABASE_URL',
      'CX_REDIS_URL',
      'CX_SECRET_KEY',
      'CX_HTTP_PORT',
      'CX_ADMIN_PASSWORD',
      'CX_SIM_FAILURE_RATE',
    ])
      assert.ok(names.includes(required), required);
  });

  it('applies defaults, then the file, then the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-config-'));
    const file = join(dir, 'cx.yaml');
    writeFileSync(file, 'http:\n  port: 9000\n  host: 0.0.0.0\nsim:\n  latencyMs: 5\n');
    const config = loadConfig({ file, env: { CX_HTTP_PORT: '9100', CX_SDDC_PROVIDERS: 'sim' } });
    assert.equal(config.http.port, 9100);
    assert.equal(config.http.host, '0.0.0.0');
    assert.equal(config.sim.latencyMs, 5);
    assert.equal(config.dataDir, join(process.cwd(), '.cx'), 'the relative default dataDir is made absolute');
    assert.equal(
      config.database.url,
      `sqlite:${join(process.cwd(), '.cx', 'cx.db')}`,
      'SQLite under dataDir by default',
    );
    assert.equal(
      loadConfig({ env: { CX_DATABASE_URL: 'sqlite:state/cx.db' } }).database.url,
      `sqlite:${join(process.cwd(), 'state', 'cx.db')}`,
      'a relative SQLite path too',
    );
    assert.equal(loadConfig({ env: { CX_DATA_DIR: '/var/lib/cx' } }).database.url, 'sqlite:/var/lib/cx/cx.db');
    assert.deepEqual(config.sddc.providers, ['sim']);
    assert.ok(Object.isFrozen(config.http), 'configuration is frozen');
  });

  it('lists every error at once, naming keys and variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-config-'));
    const file = join(dir, 'cx.yaml');
    writeFileSync(file, 'htp: {}\nsim:\n  failureRate: 2\n');
    assert.throws(
      () =>
        loadConfig({ file, env: { CX_HTTP_PORT: 'eighty', CX_DATABASE_URL: 'postgres://x', CX_SECRET_KEY: 'short' } }),
      (error: Error & { fields?: Array<{ field: string }> }) => {
        const fields = error.fields?.map((f) => f.field) ?? [];
        for (const field of ['http.port', 'database.url', 'secretKey', 'htp', 'sim.failureRate'])
          assert.ok(fields.includes(field), `${field} in ${fields.join(',')}`);
        assert.match(error.message, /CX_DATABASE_URL/);
        assert.doesNotMatch(error.message, /short/, 'a secret value is not echoed');
        return true;
      },
    );
  });

  it('redacts secrets and URL passwords for logs', () => {
    const config = loadConfig({
      env: {
        CX_DATABASE_URL: 'mysql://cx:hunter2hunter2@db:3306/cx',
        CX_SECRET_KEY: 'k'.repeat(40),
        CX_REDIS_URL: 'redis://:pw@r:6379',
      },
    });
    const text = JSON.stringify(redactConfig(config));
    assert.doesNotMatch(text, /hunter2|kkkk|:pw@/);
    assert.match(text, /mysql:\/\/cx:<redacted>@db:3306\/cx/);
  });
});
