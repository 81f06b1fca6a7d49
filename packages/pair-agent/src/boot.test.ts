import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BOOT_FILE, BootCounterError, nextBoot, readBoot } from './boot.js';

const root = mkdtempSync(join(tmpdir(), 'cx-pair-agent-boot-'));
const newDir = (): string => mkdtempSync(join(root, 'state-'));

describe('the boot counter', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('starts at 1 in a new state directory and goes up by one at every start', () => {
    const stateDir = join(newDir(), 'nested', 'state');
    assert.equal(readBoot(stateDir), 0, 'no file yet: boot 0');
    assert.equal(nextBoot(stateDir), 1);
    assert.equal(readFileSync(join(stateDir, BOOT_FILE), 'utf8'), '1\n');
    assert.equal(nextBoot(stateDir), 2);
    assert.equal(nextBoot(stateDir), 3);
    assert.equal(readBoot(stateDir), 3);
    assert.deepEqual(readdirSync(stateDir), [BOOT_FILE], 'no temporary file is left behind');
  });

  it('continues from a counter written by an earlier installation', () => {
    const stateDir = newDir();
    writeFileSync(join(stateDir, BOOT_FILE), '41\n');
    assert.equal(nextBoot(stateDir), 42);
  });

  it('refuses a damaged counter instead of starting again from 0, and leaves it alone', () => {
    const stateDir = newDir();
    for (const damaged of ['', 'seven', '-3', '1.5', '99999999999999999999']) {
      writeFileSync(join(stateDir, BOOT_FILE), damaged);
      assert.throws(
        () => nextBoot(stateDir),
        (error: Error) => error instanceof BootCounterError && /not a whole number/.test(error.message),
        JSON.stringify(damaged),
      );
      assert.equal(readFileSync(join(stateDir, BOOT_FILE), 'utf8'), damaged);
    }
  });

  it('fails when the directory cannot be written', () => {
    const parent = newDir();
    const file = join(parent, 'a-file');
    writeFileSync(file, 'not a directory');
    assert.throws(
      () => nextBoot(join(file, 'state')),
      (error: Error) => error instanceof BootCounterError && /cannot (read|write) the boot counter/.test(error.message),
    );
  });
});
