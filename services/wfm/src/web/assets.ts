/**
 * The web console's files (packages/web, built into dist/public by `npm run build`): index.html
 * for the console's own paths, so that a reload or a shared link opens the page it names, and
 * content-hashed assets cached for a year. The page's Content-Security-Policy allows only this
 * site's scripts, styles and API: nothing inline runs.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NotFoundError, DependencyUnavailableError } from '@cx/errors';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths the console answers with its page (its client-side routes). */
const PAGES = ['/', '/signed-in', '/clusters', '/clusters/*', '/admin', '/admin/*'];
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Where `npm run build` writes the console. */
export function defaultConsoleDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@cx/web/package.json')), 'dist', 'public');
}

export function consoleAssets(app: FastifyInstance, dir: string): void {
  let page: Buffer | undefined;
  const sendPage = async (reply: FastifyReply): Promise<FastifyReply> => {
    if (!page) {
      if (!existsSync(join(dir, 'index.html')))
        throw new DependencyUnavailableError(`the web console is not built (no ${dir}/index.html): run npm run build`);
      page = await readFile(join(dir, 'index.html'));
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CONSOLE_CSP)
      .send(page);
  };
  for (const url of PAGES) app.get(url, async (_request, reply) => sendPage(reply));

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const { file } = request.params;
    const type = TYPES[extname(file)];
    // Only the flat, hashed file names the build writes: nothing outside the assets folder.
    if (!type || !/^[\w-]+\.[\w.]+$/.test(file) || file.includes('..'))
      throw new NotFoundError(`the console has no asset ${file}`);
    let body: Buffer;
    try {
      body = await readFile(join(dir, 'assets', file));
    } catch {
      throw new NotFoundError(`the console has no asset ${file}`);
    }
    return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(body);
  });
}
