// Shared by `npm start` and `npm test`: bring a fresh clone to a runnable state. Plain Node on
// purpose — it runs before any dependency is installed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function say(message) {
  process.stderr.write(`[cx] ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})`);
}

/** Installs npm dependencies when node_modules is missing or older than package-lock.json. */
export function ensureDependencies() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing npm dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

/** Incremental TypeScript build of every workspace (fast when nothing changed). */
export function build() {
  say('building (tsc -b)…');
  run('npm', ['run', '--silent', 'build']);
}

export function hasCommand(name) {
  return (
    spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0 ||
    existsSync(`/usr/sbin/${name}`) ||
    existsSync(`/usr/bin/${name}`)
  );
}

/** Installs a Debian package, saying so; uses sudo when not root. */
export function aptInstall(pkg, why) {
  say(`${why}: installing Debian's ${pkg} (apt-get install -y ${pkg})…`);
  const sudo = process.getuid && process.getuid() !== 0 ? ['sudo'] : [];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const cmd = (args) => (sudo.length ? run('sudo', args, { env }) : run(args[0], args.slice(1), { env }));
  try {
    cmd(['apt-get', 'install', '-y', '-qq', pkg]);
  } catch {
    cmd(['apt-get', 'update', '-qq']);
    cmd(['apt-get', 'install', '-y', '-qq', pkg]);
  }
}

/** Peers of the providers and of HA (test/peers/NAME.sh), and the variable their tests read. */
export const INFRASTRUCTURE_PEERS = [
  ['vcsim', 'CX_TEST_VCSIM'],
  ['redfish', 'CX_TEST_REDFISH'],
  ['ipmi', 'CX_TEST_IPMI'],
  ['keystone', 'CX_TEST_OPENSTACK'],
  ['keepalived', 'CX_TEST_KEEPALIVED'],
];

export function output(command, args) {
  return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * Builds (or finds cached) the Kubernetes peers — kube-apiserver, kube-controller-manager,
 * kube-scheduler, kubeadm, etcd, kwok — and writes their manifest where sddc looks for it, so that
 * `npm start` offers the kwok provider (a manifest without the controllers is refused).
 * Answers the manifest as JSON text.
 */
export function kubernetesPeers() {
  const manifest = output('bash', ['test/peers/kubernetes.sh', 'build']);
  writeKubernetesManifest(manifest);
  return manifest;
}

/** Where sddc looks for the kwok binaries by default (kwok.binariesFile unset). */
const kubernetesManifestFile = () =>
  join(process.env.CX_PEERS_DIR ?? join(homedir(), '.cache', 'cx-peers'), 'kubernetes', 'binaries.json');

function writeKubernetesManifest(manifest) {
  const file = kubernetesManifestFile();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, manifest + '\n');
}

/**
 * For `npm start`: when Go is installed and the Kubernetes peers are not built, builds them in the
 * background (minutes, once) and writes their manifest where sddc looks, which then offers kwok
 * without a restart. Answers how to stop the build, or nothing when there is nothing to build.
 */
export function buildKubernetesPeersInBackground(logDir) {
  const providers = process.env.CX_SDDC_PROVIDERS;
  if (process.env.CX_KWOK_BINARIES_FILE || (providers && !providers.split(',').includes('kwok'))) return undefined;
  if (existsSync(kubernetesManifestFile()) || !hasCommand('go')) return undefined;
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, 'kubernetes-peers.log');
  say(
    `building the Kubernetes peers for the kwok provider in the background (minutes, once; log: ${log}); cx offers kwok as soon as they are built`,
  );
  // In a process group of its own, so that stopping it stops its `go build`s too.
  const child = spawn('bash', ['test/peers/kubernetes.sh', 'build'], {
    cwd: root,
    stdio: ['ignore', 'pipe', openSync(log, 'a')],
    detached: true,
  });
  let manifest = '';
  child.stdout.on('data', (chunk) => (manifest += chunk));
  child.on('exit', (code, signal) => {
    if (signal) return;
    if (code === 0 && manifest.trim()) {
      writeKubernetesManifest(manifest.trim());
      say('the Kubernetes peers are built: cx offers the kwok provider within a few seconds');
    } else
      say(`building the Kubernetes peers failed (exit ${code}); see ${log}, or run \`npm run peers -- kubernetes\``);
  });
  return {
    stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGTERM');
    },
  };
}
