/**
 * A tenant cluster's etcd through its own interfaces: the grpc-gateway JSON API on the client port
 * (plain http on loopback) for status, health and snapshots, and `etcdutl snapshot restore` for a
 * restore, as etcd's disaster-recovery guide does it.
 */
import { execFile } from 'node:child_process';
import { CxError, ProviderError, ProviderUnavailableError } from '@cx/errors';

/** A snapshot as etcd streams it; `etcdutl snapshot restore` checks the SHA-256 etcd appends. */
export interface TakenSnapshot {
  data: Buffer;
  revision: number;
  etcdVersion: string;
}

/** Bytes of the SHA-256 etcd appends to a snapshot after the database. */
const SNAPSHOT_HASH_BYTES = 32;
const CALL_TIMEOUT_MS = 10_000;
/** Streaming a snapshot is a read of the whole database at loopback speed: minutes would mean a hung etcd. */
const SNAPSHOT_TIMEOUT_MS = 300_000;
const RESTORE_TIMEOUT_MS = 300_000;
/**
 * How far a restore moves the revision on (`--bump-revision`, with `--mark-compacted`), as the
 * Kubernetes guide advises: past any revision the cluster reached after the snapshot, so that the
 * revision never goes back and every watcher (controllers, kwok, kubectl) is told its revision was
 * compacted and lists again, instead of silently missing what the restore undid.
 */
export const RESTORE_REVISION_BUMP = 1_000_000_000;

/** `POST /v3/maintenance/status`: the current revision and the server's version. */
export async function etcdStatus(port: number): Promise<{ revision: number; version: string }> {
  const status = await call<{ header?: { revision?: string }; version?: string }>(port, '/v3/maintenance/status');
  return { revision: Number(status.header?.revision ?? 0), version: status.version ?? 'unknown' };
}

/** Whether `GET /health` says the member is healthy (it has a leader and serves reads). */
export async function etcdHealthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    return response.ok && ((await response.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/**
 * `POST /v3/maintenance/snapshot`: etcd streams `{"result":{"blob":<base64>,"remaining_bytes":…}}`
 * objects, one a line, the database and then its SHA-256. The first one tells the whole size, so
 * that a snapshot above `maxBytes` is refused before it is read; one that ends early is an error.
 */
export async function takeSnapshot(port: number, maxBytes = Number.POSITIVE_INFINITY): Promise<TakenSnapshot> {
  // Read first: everything up to this revision is in the snapshot taken after it.
  const { revision, version } = await etcdStatus(port);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), SNAPSHOT_TIMEOUT_MS);
  try {
    let response: Response;
    try {
      response = await fetch(`http://127.0.0.1:${port}/v3/maintenance/snapshot`, {
        method: 'POST',
        body: '{}',
        signal: abort.signal,
      });
    } catch (error) {
      throw new ProviderUnavailableError(
        `etcd on port ${port} cannot be reached for a snapshot: ${(error as Error).message}`,
      );
    }
    if (!response.ok || !response.body)
      throw new ProviderUnavailableError(`etcd on port ${port} refused a snapshot: HTTP ${response.status}`);
    const parts: Buffer[] = [];
    let size = 0;
    let expected: number | undefined;
    let pending = '';
    const take = (line: string): void => {
      if (line.trim() === '') return;
      const message = JSON.parse(line) as {
        result?: { blob?: string; remaining_bytes?: string };
        error?: { message?: string };
      };
      if (message.error)
        throw new ProviderError(`etcd failed the snapshot: ${message.error.message ?? JSON.stringify(message.error)}`);
      const blob = Buffer.from(message.result?.blob ?? '', 'base64');
      if (expected === undefined) {
        expected = blob.length + Number(message.result?.remaining_bytes ?? 0) + SNAPSHOT_HASH_BYTES;
        if (expected > maxBytes) throw tooLarge(expected, maxBytes);
      }
      size += blob.length;
      if (size > maxBytes) throw tooLarge(size, maxBytes);
      parts.push(blob);
    };
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true });
        for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
          take(pending.slice(0, end));
          pending = pending.slice(end + 1);
        }
      }
      take(pending + decoder.decode());
    } catch (error) {
      abort.abort();
      if (error instanceof CxError) throw error;
      throw new ProviderUnavailableError(
        `the snapshot stream of etcd on port ${port} broke: ${(error as Error).message}`,
      );
    }
    if (expected === undefined || size !== expected)
      throw new ProviderUnavailableError(
        `the snapshot stream of etcd on port ${port} ended after ${size} of ${expected ?? '?'} bytes`,
      );
    return { data: Buffer.concat(parts), revision, etcdVersion: version };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `etcdutl snapshot restore` of `file` into `dataDir` (which must not exist) for a one-member
 * cluster; etcdutl checks the snapshot's hash, so damaged or foreign data is refused here, before
 * anything of the running cluster is touched.
 */
export async function restoreDataDir(
  etcdutl: string,
  file: string,
  dataDir: string,
  member: { name: string; peerUrl: string },
): Promise<void> {
  const args = [
    'snapshot',
    'restore',
    file,
    `--data-dir=${dataDir}`,
    `--name=${member.name}`,
    `--initial-cluster=${member.name}=${member.peerUrl}`,
    `--initial-advertise-peer-urls=${member.peerUrl}`,
    `--bump-revision=${RESTORE_REVISION_BUMP}`,
    '--mark-compacted',
  ];
  await new Promise<void>((resolve, reject) => {
    execFile(etcdutl, args, { timeout: RESTORE_TIMEOUT_MS, maxBuffer: 4 * 1_048_576 }, (error, _stdout, stderr) => {
      if (!error) {
        resolve();
        return;
      }
      const said =
        String(stderr)
          .trim()
          .split('\n')
          .filter((l) => l.trim())
          .slice(-1)[0] ?? error.message;
      reject(
        new ProviderError(`etcdutl could not restore the snapshot: ${said.slice(0, 500)}`, {
          details: { reason: 'SnapshotNotRestorable' },
        }),
      );
    });
  });
}

async function call<T>(port: number, path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ProviderUnavailableError(`etcd on port ${port} cannot be reached (${path}): ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok)
    throw new ProviderUnavailableError(
      `etcd on port ${port} answered ${path} with HTTP ${response.status}: ${text.slice(0, 200)}`,
    );
  return JSON.parse(text) as T;
}

function tooLarge(size: number, max: number): CxError {
  return new CxError(
    'CX_LIMIT_EXCEEDED',
    `the etcd snapshot would be ${size} bytes, more than the ${max} allowed (etcd.maxSnapshotBytes)`,
    {
      details: { limit: 'etcd.maxSnapshotBytes', value: max, requested: size },
    },
  );
}
