// Bundles the console (src/main.tsx and its CSS) into content-hashed files under dist/public/assets
// and writes dist/public/index.html naming them. wfm serves dist/public at / (services/wfm/src/web).
// Type checking is tsc's (`tsc -b`); esbuild only strips types and bundles.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist', 'public');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs);
const named = (ext) => {
  const file = outputs.find((path) => path.endsWith(ext) && !path.endsWith('.map'));
  if (!file) throw new Error(`esbuild wrote no ${ext} file`);
  return `/assets/${basename(file)}`;
};
const html = readFileSync(join(here, 'src', 'index.html'), 'utf8')
  .replace('%SCRIPT%', named('.js'))
  .replace('%STYLE%', named('.css'));
writeFileSync(join(out, 'index.html'), html);
