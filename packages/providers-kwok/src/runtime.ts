/**
 * The processes of one tenant control plane on this box: etcd, kube-apiserver (with the cluster's
 * CA from cx as its client CA) and a kwok controller that keeps the cluster's nodes alive. There is
 * no kube-controller-manager: the runtime does the little of its work tenants notice at once
 * (aggregated roles, the default ServiceAccount); Deployments, node lifecycle and PDB status are
 * not computed. They
 * run detached from cx, with their pids, ports and logs under the cluster's directory, so that they
 * outlive a restart of cx as real infrastructure would, and are found again afterwards.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { issueCertificate, renderKubeconfig } from '@cx/k8s';
import type { ClusterBootstrap } from '@cx/sddc-contract';
import { ProviderError, ProviderUnavailableError } from '@cx/errors';

/** Where the built binaries are (test/peers/kubernetes.sh prints this shape). */
export interface KwokBinaries {
  /** kube-apiserver by Kubernetes version (`1.36.3`). */
  kubeApiserver: Record<string, string>;
  etcd: string;
  kwok: string;
  /** Directory of kwok Stage manifests (node-initialize, node-heartbeat…). */
  kwokStages: string;
}

export interface ControlPlaneState {
  clusterId: string;
  kubernetesVersion: string;
  ports: { etcdClient: number; etcdPeer: number; api: number };
  /** Fingerprint of the CAs the API runs with; another one (a CA rotation) re-issues and restarts. */
  trust?: string;
  pids: { etcd?: number | undefined; apiserver?: number | undefined; kwok?: number | undefined };
  /** The kube-apiserver process whose cluster-wide objects (aggregated roles, default service account) are in place. */
  setUpFor?: number | undefined;
}

const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;
/** Nodes kwok keeps alive carry this annotation; taking it away is how a machine is powered off. */
export const KWOK_ANNOTATION = { key: 'kwok.x-k8s.io/node', value: 'fake' } as const;

export class ControlPlane {
  readonly dir: string;

  constructor(root: string, readonly clusterId: string, private readonly binaries: KwokBinaries) {
    this.dir = join(root, clusterId);
  }

  get kubeconfigPath(): string {
    return join(this.dir, 'admin.kubeconfig');
  }

  exists(): boolean {
    return existsSync(join(this.dir, 'state.json'));
  }

  state(): ControlPlaneState {
    return JSON.parse(readFileSync(join(this.dir, 'state.json'), 'utf8')) as ControlPlaneState;
  }

  get apiEndpoint(): string {
    return `https://127.0.0.1:${this.state().ports.api}`;
  }

  /**
   * Brings the control plane up (or back up after a crash of any of its processes) at `version`
   * (default: the version it runs, or the cluster's for a new one); a different version restarts
   * the kube-apiserver with that version's binary, which is how this runtime upgrades. Idempotent.
   */
  async ensure(bootstrap?: ClusterBootstrap, version?: string): Promise<void> {
    if (!this.exists()) {
      if (!bootstrap) throw new ProviderError(`cluster ${this.clusterId} has no control plane on this runtime`);
      await this.prepare(bootstrap);
    }
    if (bootstrap && this.state().trust !== fingerprint(bootstrap)) await this.writePki(bootstrap);
    const state = this.state();
    const wanted = version ?? state.kubernetesVersion;
    const apiserverBinary = this.binaries.kubeApiserver[wanted];
    if (!apiserverBinary) throw new ProviderError(`the kwok runtime has no kube-apiserver ${wanted} (it has ${Object.keys(this.binaries.kubeApiserver).join(', ')})`);
    if (state.kubernetesVersion !== wanted) {
      await stop(state.pids.apiserver);
      state.pids.apiserver = undefined;
      state.kubernetesVersion = wanted;
      this.save(state);
    }
    const pki = join(this.dir, 'pki');
    if (!alive(state.pids.etcd, this.binaries.etcd)) {
      state.pids.etcd = this.start('etcd', this.binaries.etcd, [
        `--name=${this.clusterId}`, `--data-dir=${join(this.dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${state.ports.etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${state.ports.etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${state.ports.etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${state.ports.etcdPeer}`,
        `--initial-cluster=${this.clusterId}=http://127.0.0.1:${state.ports.etcdPeer}`, '--quota-backend-bytes=536870912', '--log-level=warn',
      ]);
      this.save(state);
    }
    if (!alive(state.pids.apiserver, apiserverBinary)) {
      state.pids.apiserver = this.start('kube-apiserver', apiserverBinary, [
        `--etcd-servers=http://127.0.0.1:${state.ports.etcdClient}`, '--bind-address=127.0.0.1', `--secure-port=${state.ports.api}`,
        `--tls-cert-file=${join(pki, 'apiserver.crt')}`, `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
        `--client-ca-file=${join(pki, 'ca.crt')}`, '--authorization-mode=Node,RBAC',
        // 1.37 refuses a loopback advertise address under the default endpoint reconciler; with none it is fine.
        '--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none', '--service-cluster-ip-range=10.96.0.0/16',
        '--service-account-issuer=https://kubernetes.default.svc', `--service-account-key-file=${join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`, `--requestheader-client-ca-file=${join(pki, 'front-proxy-ca.crt')}`,
        '--allow-privileged=true', '--enable-priority-and-fairness=false', '--profiling=false', '--v=0',
      ]);
      this.save(state);
    }
    await this.waitReady();
    // Once per kube-apiserver process, not on every machine: recorded only after both succeed, so a crash in between redoes them.
    if (state.setUpFor !== state.pids.apiserver) {
      await aggregateClusterRoles(this.kubeconfigPath);
      await ensureDefaultServiceAccount(this.kubeconfigPath);
      state.setUpFor = state.pids.apiserver;
      this.save(state);
    }
    if (!alive(state.pids.kwok, this.binaries.kwok)) {
      state.pids.kwok = this.start('kwok', this.binaries.kwok, [
        `--kubeconfig=${this.kubeconfigPath}`, '--manage-all-nodes=false', `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION.key}=${KWOK_ANNOTATION.value}`,
        ...stageFiles(this.binaries.kwokStages).map((file) => `--config=${file}`), '--node-lease-duration-seconds=40',
      ]);
      this.save(state);
    }
  }

  /** Stops every process and removes the cluster's directory. */
  async destroy(): Promise<void> {
    if (this.exists()) {
      const { pids } = this.state();
      await Promise.all([stop(pids.kwok), stop(pids.apiserver)]);
      await stop(pids.etcd);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async prepare(bootstrap: ClusterBootstrap): Promise<void> {
    mkdirSync(join(this.dir, 'pki'), { recursive: true, mode: 0o700 });
    const ports = { etcdClient: await freePort(), etcdPeer: await freePort(), api: await freePort() };
    // Written before the PKI: writePki records its fingerprint in it.
    this.save({ clusterId: this.clusterId, kubernetesVersion: bootstrap.kubernetesVersion, ports, pids: {} });
    await this.writePki(bootstrap);
  }

  /**
   * The API's certificates from the cluster's PKI: the client CA bundle (every trusted CA), a serving
   * certificate and the runtime's own admin credential signed by the current CA. When they change (a
   * CA rotation) the running kube-apiserver is stopped, so that the next step starts it with them.
   */
  private async writePki(bootstrap: ClusterBootstrap): Promise<void> {
    const { pki } = bootstrap;
    const state = this.state();
    const serving = await issueCertificate(pki.ca, {
      commonName: 'kube-apiserver', usage: 'server', validitySeconds: 365 * 86_400,
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'], ipAddresses: ['127.0.0.1', '10.96.0.1'],
    });
    // The runtime's own credential (as a kubelet has one): it outlives cx's restarts.
    const admin = await issueCertificate(pki.ca, { commonName: 'cx-kwok-runtime', organizations: ['system:masters'], usage: 'client', validitySeconds: 365 * 86_400 });
    const files: Record<string, string> = {
      'ca.crt': pemBundle(bootstrap.trustedCaPems), 'front-proxy-ca.crt': pki.frontProxyCa.certPem, 'sa.pub': pki.serviceAccount.publicKeyPem, 'sa.key': pki.serviceAccount.privateKeyPem,
      'apiserver.crt': serving.certPem, 'apiserver.key': serving.keyPem,
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.dir, 'pki', name), content, { mode: 0o600 });
    writeFileSync(this.kubeconfigPath, renderKubeconfig({
      clusterName: bootstrap.clusterName, server: `https://127.0.0.1:${state.ports.api}`, caPem: pemBundle(bootstrap.trustedCaPems), user: 'cx-kwok-runtime', clientCertPem: admin.certPem, clientKeyPem: admin.keyPem,
    }), { mode: 0o600 });
    if (state.trust !== undefined) {
      await Promise.all([stop(state.pids.apiserver), stop(state.pids.kwok)]);
      state.pids.apiserver = undefined;
      state.pids.kwok = undefined;
    }
    this.save({ ...state, trust: fingerprint(bootstrap) });
  }


  private start(name: string, binary: string, args: string[]): number {
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    try {
      const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log], cwd: this.dir });
      child.on('error', () => undefined); // a binary that cannot start has no pid: reported below
      if (child.pid === undefined) throw new ProviderUnavailableError(`cannot start ${name} (${binary}) for cluster ${this.clusterId}`);
      child.unref();
      return child.pid;
    } finally {
      closeSync(log);
    }
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const { ports } = this.state();
    for (;;) {
      // /readyz is readable anonymously (system:public-info-viewer); the CA is ours.
      const ready = await fetchReadyz(ports.api, join(this.dir, 'pki', 'ca.crt'));
      if (ready) return;
      if (Date.now() > deadline) throw new ProviderUnavailableError(`the kube-apiserver of cluster ${this.clusterId} did not become ready within ${READY_TIMEOUT_MS / 1000} s (log: ${join(this.dir, 'kube-apiserver.log')})`);
      await sleep(250);
    }
  }

  private save(state: ControlPlaneState): void {
    writeFileSync(join(this.dir, 'state.json.tmp'), JSON.stringify(state, null, 2));
    // rename is atomic: a reader never sees half a file.
    renameSync(join(this.dir, 'state.json.tmp'), join(this.dir, 'state.json'));
  }
}

/**
 * What kube-controller-manager's clusterrole-aggregation controller does, which this runtime does
 * not run: fill the rules of aggregated ClusterRoles (view, edit, admin) from the roles their
 * selectors pick. Without it `view` grants nothing. The default roles do not change after the
 * apiserver's bootstrap, so doing it at every bring-up is enough.
 */
async function aggregateClusterRoles(kubeconfigPath: string): Promise<void> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  const rbac = config.makeApiClient(RbacAuthorizationV1Api);
  const roles = (await rbac.listClusterRole()).items;
  for (const role of roles) {
    const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
    if (selectors.length === 0) continue;
    const matches = (labels: Record<string, string>): boolean => selectors.some((selector) => Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v));
    const rules = roles.filter((other) => other.metadata?.name !== role.metadata?.name && matches(other.metadata?.labels ?? {})).flatMap((other) => other.rules ?? []);
    if (JSON.stringify(role.rules ?? []) === JSON.stringify(rules)) continue;
    await rbac.replaceClusterRole({ name: role.metadata!.name!, body: { ...role, rules } });
  }
}

/**
 * The `default` ServiceAccount of the `default` namespace, which kube-controller-manager's
 * service-account controller would create: without it no pod can be created there.
 */
async function ensureDefaultServiceAccount(kubeconfigPath: string): Promise<void> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  const core = config.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'default' } } });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
}

async function fetchReadyz(port: number, caFile: string): Promise<boolean> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', ca: readFileSync(caFile), timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false)).on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

/** PEM blocks one after the other, each on its own lines. */
function pemBundle(pems: string[]): string {
  return pems.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}

function fingerprint(bootstrap: ClusterBootstrap): string {
  return createHash('sha256').update(bootstrap.pki.ca.certPem).update(bootstrap.trustedCaPems.join('')).digest('hex').slice(0, 16);
}

/** Every kwok Stage manifest of the profile (node initialize / heartbeat with lease, pod ready / complete / delete). */
function stageFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
}

/** Whether `pid` is a live process running `binary` (a recycled pid running something else is not ours). */
function alive(pid: number | undefined, binary: string): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
    return cmdline.startsWith(binary) && state !== 'Z';
  } catch {
    return false;
  }
}

async function stop(pid: number | undefined): Promise<void> {
  if (!pid) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try { process.kill(pid, 0); } catch { return; }
    await sleep(100);
  }
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

/**
 * A free port below the kernel's ephemeral range (32768–60999): a port from that range, free when
 * probed, can be taken as the source port of an outgoing connection before the server binds it.
 */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(port)) return port;
  }
  throw new ProviderUnavailableError('no free port below 32768 on 127.0.0.1 for a tenant control plane');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
