/**
 * A machine's NoCloud seed (cloud-init's NoCloud datasource): `user-data` (cx's cloud-init,
 * unchanged), `meta-data` (instance id and host name) and optionally `network-config`, either
 * as an ISO 9660 image labelled `cidata` (a config drive the BMC attaches as virtual media) or as
 * files a NoCloud-net URL serves. The image is written by xorriso (GNU libisoburn, Debian
 * package `xorriso`), the same job genisoimage does for Ironic's config drives.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refused } from '@cx/provider-kit';

/** The files of a NoCloud seed. */
export interface SeedFiles {
  'user-data': string;
  'meta-data': string;
  'network-config'?: string;
}

/**
 * NoCloud meta-data: the instance id is the machine id (cloud-init runs its per-instance modules
 * again for a new id, so a host reused for another machine initialises afresh) and the host name
 * is the machine's name (the node name kubeadm registers). JSON is YAML, so names are quoted safely.
 */
export function seedMetaData(machineId: string, hostname: string): string {
  return `instance-id: ${JSON.stringify(machineId)}\nlocal-hostname: ${JSON.stringify(hostname)}\n`;
}

/** Runs xorriso; a missing binary is a clear, non-retryable error. */
function xorriso(args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('xorriso', args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      if (error.code === 'ENOENT')
        return reject(
          refused(
            'xorriso is not installed on the sddc host; it writes the NoCloud seeds of bare-metal machines (Debian package xorriso: apt-get install xorriso; `npm start` installs it)',
            'SeedToolMissing',
          ),
        );
      const line = stderr
        .split('\n')
        .map((l) => l.trim())
        .find((l) => /FAILURE|SORRY|FATAL/.test(l));
      reject(refused(`xorriso could not write the seed image: ${line ?? `exit ${String(error.code)}`}`, 'SeedFailed'));
    });
  });
}

/**
 * The seed as an ISO 9660 image with Joliet and Rock Ridge names, volume id `cidata` (what
 * cloud-init's NoCloud looks for on every block device). The files pass through a private
 * temporary directory that is removed afterwards.
 */
export async function buildSeedImage(files: SeedFiles, timeoutMs = 30_000): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'cx-seed-'));
  try {
    const content = join(dir, 'cidata');
    await mkdir(content, { mode: 0o700 });
    for (const [name, text] of Object.entries(files)) {
      if (text !== undefined) await writeFile(join(content, name), text, { mode: 0o600 });
    }
    const image = join(dir, 'cidata.iso');
    await xorriso(['-as', 'mkisofs', '-quiet', '-o', image, '-V', 'cidata', '-J', '-r', content], timeoutMs);
    return await readFile(image);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
