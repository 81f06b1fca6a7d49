import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GateError, GateTokens, gateFileName } from './gate-tokens.js';

const root = mkdtempSync(join(tmpdir(), 'cx-pair-agent-gate-'));
const db = { namespace: 'apps', name: 'db' };

describe('the start gate tokens', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('names a token <namespace>_<name>, and refuses what is no Kubernetes name', () => {
    assert.equal(gateFileName({ namespace: 'apps', name: 'db.primary' }), 'apps_db.primary');
    for (const bad of [
      { namespace: 'apps', name: '../etc' },
      { namespace: 'a_b', name: 'db' },
      { namespace: 'apps', name: 'db x' },
      { namespace: 'Apps', name: 'db' },
    ]) {
      assert.throws(() => gateFileName(bad), GateError, JSON.stringify(bad));
    }
  });

  it('creates the directory readable by the unprivileged gate containers, and clears only tokens and interrupted writes', () => {
    const dir = join(mkdtempSync(join(root, 'case-')), 'run', 'cx-pair');
    const gate = new GateTokens(dir);
    assert.deepEqual(gate.clear(), [], 'a new directory');
    assert.equal(statSync(dir).mode & 0o777, 0o755);
    writeFileSync(join(dir, 'apps_db'), '{}');
    writeFileSync(join(dir, 'apps_queue'), '{}');
    writeFileSync(join(dir, '.apps_db.4242.tmp'), '{');
    writeFileSync(join(dir, 'unrelated.conf'), 'kept');
    mkdirSync(join(dir, 'apps_dir'));
    assert.deepEqual(gate.clear(), ['apps_db', 'apps_queue']);
    assert.deepEqual(readdirSync(dir).sort(), ['apps_dir', 'unrelated.conf']);
  });

  it('opens and closes a token, leaving no temporary file', () => {
    const dir = mkdtempSync(join(root, 'case-'));
    const gate = new GateTokens(dir);
    assert.equal(gate.isOpen(db), false);
    gate.open(db, '{"boot":3}');
    assert.equal(gate.isOpen(db), true);
    assert.equal(readFileSync(join(dir, 'apps_db'), 'utf8'), '{"boot":3}\n');
    assert.equal(statSync(join(dir, 'apps_db')).mode & 0o777, 0o644);
    gate.open(db, '{"boot":3,"seq":9}');
    assert.deepEqual(readdirSync(dir), ['apps_db'], 'overwritten in place, no temporary file left');
    assert.equal(gate.close(db), true);
    assert.equal(gate.close(db), false, 'closing a closed gate is not an error');
    assert.equal(gate.isOpen(db), false);
  });

  it('says why a token cannot be written or the directory cleared', () => {
    const dir = join(mkdtempSync(join(root, 'case-')), 'missing');
    assert.throws(
      () => new GateTokens(dir).open(db, '{}'),
      (error: Error) =>
        error instanceof GateError && error.message.includes(`cannot write the gate token ${dir}/apps_db`),
    );
    const file = join(mkdtempSync(join(root, 'case-')), 'a-file');
    writeFileSync(file, '');
    assert.throws(
      () => new GateTokens(file).clear(),
      (error: Error) => error instanceof GateError && error.message.includes(`cannot clear the gate directory ${file}`),
    );
  });
});
