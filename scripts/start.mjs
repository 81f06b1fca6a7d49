// `npm start`: the embedded default. Installs what is missing, builds, and runs `cx-server all-in-one`
// (SQLite under .cx/, a private redis-server, provider sim) on http://127.0.0.1:8080 (CX_HTTP_PORT).
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  aptInstall,
  build,
  buildKubernetesPeersInBackground,
  ensureDependencies,
  hasCommand,
  root,
  say,
} from './lib.mjs';

try {
  ensureDependencies();
  if (!process.env.CX_REDIS_URL && !hasCommand('redis-server'))
    aptInstall('redis-server', 'redis-server is not installed and CX_REDIS_URL is not set');
  // The bare-metal provider writes each machine's NoCloud seed (config drive) with xorriso.
  const providers = process.env.CX_SDDC_PROVIDERS;
  // Not fatal: cx runs without it, and a bare-metal machine then fails with SeedToolMissing, saying what to install.
  if ((!providers || providers.split(',').includes('baremetal')) && !hasCommand('xorriso')) {
    try {
      aptInstall('xorriso', 'xorriso (it writes the seeds of bare-metal machines) is not installed');
    } catch (error) {
      say(`xorriso could not be installed (${error.message}); bare-metal machines will fail until it is`);
    }
  }
  build();
} catch (error) {
  say(`cannot start: ${error.message}`);
  process.exit(1);
}

// The kwok provider (real kube-apiservers) needs the Kubernetes peers; cx offers it once they are built.
const peersBuild = buildKubernetesPeersInBackground(resolve(root, process.env.CX_DATA_DIR ?? '.cx'));

say('starting cx-server all-in-one…');
const child = spawn(
  process.execPath,
  [join(root, 'apps/server/dist/main.js'), 'all-in-one', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  peersBuild?.stop();
  process.exit(code ?? (signal ? 128 + 2 : 1));
});
