/**
 * The start gate's tokens: one file per singleton in the gate directory (`/run/cx-pair`, a tmpfs
 * on real nodes, so empty after every boot), present only while the witness has activated that
 * singleton in the agent's current boot. Every singleton pod waits in its `cx-pair-gate` init
 * container until its token exists, so a pod the kubelet restarts after a boot blocks until the
 * witness has activated the singleton again: a start holds everything, even before the agent runs.
 *
 * A token is written before the Deployment is scaled up and removed before it is scaled down;
 * the agent removes them all when it starts. Writes are durable (temporary file, fsync, rename,
 * fsync of the directory), so that a gate directory on a real disk cannot keep half a token.
 */
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { SingletonSpec } from '@cx/pair';

/** Thrown when a token cannot be written or removed, or the directory cannot be cleared. */
export class GateError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'GateError';
  }
}

type SingletonRef = Pick<SingletonSpec, 'namespace' | 'name'>;

/**
 * A token's file name, `<namespace>_<name>`: a namespace is a DNS label and a Deployment's name a
 * DNS subdomain, so neither holds `_` or `/` and the name is unambiguous and safe in a shell word.
 */
export function gateFileName(singleton: SingletonRef): string {
  const name = `${singleton.namespace}_${singleton.name}`;
  if (!TOKEN_NAME.test(name))
    throw new GateError(`${singleton.namespace}/${singleton.name} is not a Kubernetes namespace and Deployment name`);
  return name;
}

const TOKEN_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?_[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const TEMPORARY_NAME = /^\.[a-z0-9][-a-z0-9._]*\.\d+\.tmp$/;

export class GateTokens {
  constructor(readonly dir: string) {}

  /** The token's path on this node. */
  path(singleton: SingletonRef): string {
    return join(this.dir, gateFileName(singleton));
  }

  /**
   * Removes every token (and every temporary file of an interrupted write), creating the
   * directory if need be, readable by the gate containers (they run as an unprivileged user).
   * Only names a token can have are touched: a gate directory set to a shared one by mistake
   * loses nothing else. Returns the tokens it removed.
   */
  clear(): string[] {
    const removed: string[] = [];
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
      chmodSync(this.dir, 0o755);
      for (const entry of readdirSync(this.dir, { withFileTypes: true })) {
        if (entry.isDirectory() || !(TOKEN_NAME.test(entry.name) || TEMPORARY_NAME.test(entry.name))) continue;
        unlinkSync(join(this.dir, entry.name));
        if (TOKEN_NAME.test(entry.name)) removed.push(entry.name);
      }
      this.syncDir();
    } catch (error) {
      throw new GateError(`cannot clear the gate directory ${this.dir}: ${(error as Error).message}`, { cause: error });
    }
    return removed.sort();
  }

  /** Writes the singleton's token durably; its pods may start once this returns. */
  open(singleton: SingletonRef, content: string): void {
    const file = this.path(singleton);
    const temporary = join(this.dir, `.${gateFileName(singleton)}.${process.pid}.tmp`);
    try {
      const fd = openSync(temporary, 'w', 0o644);
      try {
        writeSync(fd, content.endsWith('\n') ? content : `${content}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, file);
      this.syncDir();
    } catch (error) {
      try {
        unlinkSync(temporary);
      } catch {
        // Nothing was left behind, or the directory itself is gone.
      }
      throw new GateError(`cannot write the gate token ${file}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Removes the singleton's token; true when there was one. A pod that starts after this blocks. */
  close(singleton: SingletonRef): boolean {
    const file = this.path(singleton);
    try {
      unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new GateError(`cannot remove the gate token ${file}: ${(error as Error).message}`, { cause: error });
    }
    try {
      this.syncDir();
    } catch (error) {
      throw new GateError(`cannot flush the gate directory ${this.dir}: ${(error as Error).message}`, { cause: error });
    }
    return true;
  }

  isOpen(singleton: SingletonRef): boolean {
    return existsSync(this.path(singleton));
  }

  private syncDir(): void {
    const dir = openSync(this.dir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}
