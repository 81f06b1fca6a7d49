/**
 * The side's boot counter. Every start of the agent is a new boot: the witness addresses its
 * commands to one boot, and a side that reports a newer boot than the last activation it was sent
 * is known to have dropped it. So the counter must never go back, not even after a power loss in
 * the middle of writing it: the new value is written to a temporary file, flushed to disk, renamed
 * over the old one (atomic), and the directory is flushed so that the rename itself survives.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const BOOT_FILE = 'boot';

/** Thrown when the counter cannot be read or written; the agent must not start without a new boot. */
export class BootCounterError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'BootCounterError';
  }
}

/** The boot recorded in `stateDir` (0 when the file does not exist yet). */
export function readBoot(stateDir: string): number {
  const file = join(stateDir, BOOT_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new BootCounterError(`cannot read the boot counter ${file}: ${(error as Error).message}`, { cause: error });
  }
  const trimmed = text.trim();
  // A damaged counter is not guessed at: starting again from 0 would reuse old boots.
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new BootCounterError(
      `the boot counter ${file} holds ${JSON.stringify(trimmed.slice(0, 40))}, not a whole number; write the side's last boot (or a higher number) into it by hand; do not remove it, since the witness ignores the reports of a boot lower than one it has seen`,
    );
  }
  return Number(trimmed);
}

/** Increments the counter durably and returns the new boot (1 on the first start). */
export function nextBoot(stateDir: string): number {
  const boot = readBoot(stateDir) + 1;
  const file = join(stateDir, BOOT_FILE);
  const temporary = join(stateDir, `${BOOT_FILE}.${process.pid}.tmp`);
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, `${boot}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
    const dir = openSync(stateDir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (error) {
    throw new BootCounterError(`cannot write the boot counter ${file}: ${(error as Error).message}`, { cause: error });
  }
  return boot;
}
