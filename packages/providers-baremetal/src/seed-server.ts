/**
 * sddc's seed listener: serves each bare-metal machine's NoCloud seed over plain HTTP (what BMCs
 * and cloud-init's NoCloud-net fetch) while the machine is being provisioned, at a URL with an
 * unguessable token, and answers 404 once the seed is retired (node joined, machine deleted, or
 * provisioning failed). Seeds live in this process's memory only: nothing with a join token is
 * written to disk or to Redis. The listener starts with the first seed, on `host:port`; BMCs reach
 * it at `baseUrl` (default `http://host:port`).
 *
 *   GET|HEAD <base>/seeds/<token>/cidata.iso     the config drive (ISO 9660, label cidata; byte ranges)
 *   GET|HEAD <base>/seeds/<token>/user-data      the same seed as NoCloud-net files
 *            …/meta-data, …/network-config, …/vendor-data (empty)
 *   GET|HEAD <base>/by-mac/<mac>/user-data …     for PXE flows of hosts with a bootMac (IPMI)
 *   GET      <base>/healthz                      this listener's id (sddc checks its base URL with it)
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { refused } from '@cx/provider-kit';
import type { SeedFiles } from './seed.js';

export interface SeedServerOptions {
  /** Address the listener binds; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (default) takes a free one. */
  port?: number;
  /** URL BMCs and hosts reach the listener at (e.g. through a management network); default http://host:port. */
  baseUrl?: string;
  /** Deadline of the check that `baseUrl` reaches this listener; default 5 s. */
  checkTimeoutMs?: number;
  /** A seed not retired by then is retired anyway, so that no join token is served for long; default 1 h. */
  ttlMs?: number;
}

/** Where a published seed is served. */
export interface PublishedSeed {
  /** The config drive image, for virtual media. */
  imageUrl: string;
  /** The NoCloud-net seed URL (ends in `/`): the kernel argument `ds=nocloud-net;s=<nocloudUrl>`. */
  nocloudUrl: string;
  /** The same NoCloud-net seed by the host's boot MAC, for PXE flows (when a MAC was given). */
  macUrl?: string;
}

interface Seed {
  token: string;
  files: SeedFiles;
  image: Buffer;
  mac?: string;
}

const FILES = ['user-data', 'meta-data', 'network-config', 'vendor-data'] as const;

/** `52:54:00:AB:…` → `52-54-00-ab-…`: one spelling in URLs (PXE configs use dashes). */
export function macPath(mac: string): string {
  return mac.toLowerCase().replace(/[:.]/g, '-');
}

export class SeedServer {
  private readonly seeds = new Map<string, Seed>();
  private readonly byToken = new Map<string, Seed>();
  private readonly byMac = new Map<string, Seed>();
  private readonly id = randomBytes(16).toString('hex');
  private server: Server | undefined;
  private starting: Promise<string> | undefined;
  private checked: Promise<void> | undefined;

  constructor(private readonly options: SeedServerOptions = {}) {
    if (options.baseUrl !== undefined && !/^https?:\/\/[^/]/.test(options.baseUrl))
      throw new Error(`the seed base URL ${options.baseUrl} is not an http(s):// URL`);
    // A wildcard address is no URL a BMC can fetch from.
    if (options.baseUrl === undefined && ['0.0.0.0', '::', '[::]'].includes(options.host ?? ''))
      throw new Error(
        `the seed listener listens on every address (baremetal.seedHost ${options.host}): set baremetal.seedBaseUrl to the URL BMCs reach it at`,
      );
  }

  /**
   * Serves `files` (and `image`, their config drive) for the machine `key` under a fresh token,
   * replacing what the key had; resolves once the listener runs and its base URL reaches it.
   */
  async publish(key: string, files: SeedFiles, image: Buffer, mac?: string): Promise<PublishedSeed> {
    const base = await this.baseUrl();
    this.retire(key);
    const seed: Seed = { token: randomBytes(32).toString('base64url'), files, image, ...(mac ? { mac } : {}) };
    this.seeds.set(key, seed);
    this.byToken.set(seed.token, seed);
    if (mac) this.byMac.set(macPath(mac), seed);
    setTimeout(() => {
      if (this.seeds.get(key) === seed) this.retire(key);
    }, this.options.ttlMs ?? 3_600_000).unref();
    return {
      imageUrl: `${base}/seeds/${seed.token}/cidata.iso`,
      nocloudUrl: `${base}/seeds/${seed.token}/`,
      ...(mac ? { macUrl: `${base}/by-mac/${macPath(mac)}/` } : {}),
    };
  }

  /** Stops serving the machine's seed (its URLs answer 404 from now on); true if it had one. */
  retire(key: string): boolean {
    const seed = this.seeds.get(key);
    if (!seed) return false;
    this.seeds.delete(key);
    this.byToken.delete(seed.token);
    if (seed.mac && this.byMac.get(macPath(seed.mac)) === seed) this.byMac.delete(macPath(seed.mac));
    return true;
  }

  /** Whether the machine's seed is served. */
  serves(key: string): boolean {
    return this.seeds.has(key);
  }

  async close(): Promise<void> {
    this.seeds.clear();
    this.byToken.clear();
    this.byMac.clear();
    const server = this.server;
    this.server = undefined;
    this.starting = undefined;
    this.checked = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The base URL, once the listener runs and a request to the base URL reached it (checked once). */
  private async baseUrl(): Promise<string> {
    this.starting ??= this.listen().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    const base = await this.starting;
    this.checked ??= this.check(base).catch((error: unknown) => {
      this.checked = undefined;
      throw error;
    });
    await this.checked;
    return base;
  }

  private async listen(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          refused(
            `the seed listener cannot listen on ${host}:${this.options.port ?? 0} (baremetal.seedHost, baremetal.seedPort): ${error.code ?? error.message}`,
            'SeedListenerFailed',
          ),
        ),
      );
      server.listen(this.options.port ?? 0, host, () => resolve());
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    return (this.options.baseUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  }

  /** The base URL must reach this listener (not another process, not nothing): else no host would get its seed. */
  private async check(base: string): Promise<void> {
    const timeoutMs = this.options.checkTimeoutMs ?? 5_000;
    let answer: string;
    try {
      const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
      answer = !response.ok ? `HTTP ${response.status}` : (await response.text()) === this.id ? this.id : '';
    } catch (error) {
      answer = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    }
    if (answer !== this.id)
      throw refused(
        `the seed base URL ${base} (baremetal.seedBaseUrl) does not reach sddc's seed listener (${answer === '' ? 'another service answered' : answer}); BMCs could not fetch the machines' seeds. Point it at baremetal.seedHost:seedPort as BMCs reach it`,
        'SeedUnreachable',
      );
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('cache-control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(this.id);
      return;
    }
    const match = /^\/(seeds|by-mac)\/([A-Za-z0-9_-]+)\/([a-z.-]+)$/.exec(path);
    const seed = match ? (match[1] === 'seeds' ? this.byToken.get(match[2]!) : this.byMac.get(match[2]!)) : undefined;
    const name = match?.[3];
    if (!seed || !name) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such seed\n');
      return;
    }
    if (name === 'cidata.iso' && match?.[1] === 'seeds') {
      sendBytes(req, res, seed.image, 'application/octet-stream');
      return;
    }
    if ((FILES as readonly string[]).includes(name)) {
      const text = name === 'vendor-data' ? '' : seed.files[name as keyof SeedFiles];
      if (text !== undefined) {
        sendBytes(req, res, Buffer.from(text), 'text/plain; charset=utf-8');
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('no such seed\n');
  }
}

/** The body, or the one byte range asked for (BMCs read virtual media in ranges). */
function sendBytes(req: IncomingMessage, res: ServerResponse, body: Buffer, type: string): void {
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  let start = 0;
  let end = body.length - 1;
  if (range && (range[1] || range[2])) {
    if (range[1]) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(Number(range[2]), end);
    } else {
      start = Math.max(0, body.length - Number(range[2]));
    }
    if (start > end || start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-type': type,
      'content-length': end - start + 1,
      'content-range': `bytes ${start}-${end}/${body.length}`,
      'accept-ranges': 'bytes',
    });
  } else {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'accept-ranges': 'bytes' });
  }
  res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
}
