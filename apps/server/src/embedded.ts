/**
 * What the embedded default needs beyond the services: generated secrets under dataDir and a
 * private redis-server, for `cx-server all-in-one` (and `rotate-secret-key`, which finds the
 * generated key there); production sets its own keys and points at its own Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '@cx/service-kit';

export interface EmbeddedSecrets {
  secretKey: string;
  serviceToken: string;
  /** Of the private redis-server, which listens on loopback yet needs it all the same. */
  redisPassword: string;
  /** Only when cx generated the bootstrap admin's password (CX_ADMIN_PASSWORD unset). */
  adminPassword?: string;
}

/** Reads `dataDir/secrets.json`, generating what is missing (file mode 0600). */
export function embeddedSecrets(dataDir: string, generateAdminPassword: boolean): EmbeddedSecrets {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'secrets.json');
  const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<EmbeddedSecrets>) : {};
  const secrets: EmbeddedSecrets = {
    secretKey: current.secretKey ?? randomBytes(32).toString('base64url'),
    serviceToken: current.serviceToken ?? randomBytes(32).toString('base64url'),
    redisPassword: current.redisPassword ?? randomBytes(24).toString('base64url'),
    ...(current.adminPassword
      ? { adminPassword: current.adminPassword }
      : generateAdminPassword
        ? { adminPassword: randomBytes(12).toString('base64url') }
        : {}),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts redis-server on a free loopback port, with a password, and its data (append-only file)
 * under `dataDir/redis`, so that queued work survives a restart. A server left by a crashed cx is
 * stopped first, so that two servers never share the data directory. `reserved`: the ports cx
 * itself is about to listen on, free now, which the kernel could hand out as a free port too.
 */
export async function startPrivateRedis(
  dataDir: string,
  password: string,
  reserved: readonly number[] = [],
): Promise<PrivateRedis> {
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidFile = join(dir, 'redis.pid');
  await stopStaleRedis(pidFile);
  let port = await freePort();
  for (let tries = 0; reserved.includes(port) && tries < 10; tries++) port = await freePort();
  // The password goes in a file only the owner reads, not on the command line every local user sees.
  const configFile = join(dir, 'redis.conf');
  writeFileSync(configFile, `requirepass ${password}\n`, { mode: 0o600 });
  chmodSync(configFile, 0o600);
  const child: ChildProcess = spawn(
    'redis-server',
    [
      configFile,
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--pidfile',
      pidFile,
      '--daemonize',
      'no',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'yes',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (error) => reject(error)));
  spawnError.catch(() => undefined);
  const url = `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await Promise.race([probe.connect().then(() => probe.ping()), spawnError]);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          "redis-server is not installed; install Debian's redis-server (apt-get install redis-server) or set CX_REDIS_URL",
        );
      }
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the private redis-server did not start; see ${join(dir, 'redis.log')}`);
      await sleep(100);
    } finally {
      probe.disconnect();
    }
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

async function stopStaleRedis(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  let command = '';
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // not running
  }
  if (!command.includes('redis-server')) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await sleep(100);
}
