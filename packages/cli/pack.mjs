// Packs `cx` as a package that installs on any machine with Node 20 or later, without the server,
// this repository or a registry: one file bundled by esbuild (its dependencies, cx's own packages
// among them, inside), a package.json with no dependency, and `npm pack` of the two.
//   npm run cli:pack   →   packages/cli/dist/cx-cli-<version>.tgz
//   then, anywhere:        npm install -g ./cx-cli-<version>.tgz
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist', 'standalone');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const version = /export const VERSION = '([^']+)'/.exec(readFileSync(join(here, 'src', 'program.ts'), 'utf8'))?.[1];
if (!version) throw new Error('VERSION not found in packages/cli/src/program.ts');

await build({
  entryPoints: [join(here, 'dist', 'main.js')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: join(out, 'cx.mjs'),
  // CommonJS dependencies (commander) require Node's modules: give the bundle a require.
  banner: {
    js: "import { createRequire as cxCreateRequire } from 'node:module';\nconst require = cxCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});

writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify(
    {
      name: 'cx-cli',
      version,
      description: 'cx: the command-line client of the cx Container-as-a-Service control plane',
      type: 'module',
      bin: { cx: 'cx.mjs' },
      engines: { node: '>=20' },
      license: 'Apache-2.0',
    },
    null,
    2,
  )}\n`,
);
const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', join(here, 'dist')], {
  cwd: out,
  encoding: 'utf8',
})
  .trim()
  .split('\n')
  .pop();
process.stdout.write(`${join(here, 'dist', tarball)}\n`);
