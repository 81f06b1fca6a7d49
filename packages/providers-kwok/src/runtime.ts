/**
 * The processes of one tenant control plane on this box: etcd, kube-apiserver (with the cluster's
 * CA from cx as its client CA), kube-controller-manager and kube-scheduler (as a kubeadm control
 * plane runs them, so Deployments get pods, pods get nodes, node lifecycle, pod GC and PDB status
 * are Kubernetes' own), and a kwok controller that plays the kubelet of the cluster's nodes. They
 * run detached from cx, with their pids, ports and logs under the cluster's directory, so that they
 * outlive a restart of cx as real infrastructure would, and are found again afterwards.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { issueCertificate, renderKubeconfig } from '@cx/k8s';
import type { ClusterBootstrap } from '@cx/sddc-contract';
import { NotFoundError, ProviderError, ProviderUnavailableError } from '@cx/errors';
import { etcdHealthy, restoreDataDir, takeSnapshot, type TakenSnapshot } from './etcd.js';
import { freePort, holdPorts, releasePorts } from './ports.js';

/** Where the built binaries are (test/peers/kubernetes.sh prints this shape). */
export interface KwokBinaries {
  /** kube-apiserver by Kubernetes version (`1.36.3`). */
  kubeApiserver: Record<string, string>;
  /** kube-controller-manager by Kubernetes version. */
  kubeControllerManager: Record<string, string>;
  /** kube-scheduler by Kubernetes version. */
  kubeScheduler: Record<string, string>;
  etcd: string;
  /** etcdutl of etcd's version, for restores (absent in a manifest from before cx restored snapshots). */
  etcdutl?: string;
  kwok: string;
  /** Directory of kwok Stage manifests (node-initialize, node-heartbeat…). */
  kwokStages: string;
}

export interface ControlPlaneState {
  clusterId: string;
  kubernetesVersion: string;
  /** Where each listens on 127.0.0.1 (controller manager and scheduler: their /healthz; absent in a state from before they ran). */
  ports: { etcdClient: number; etcdPeer: number; api: number; controllerManager?: number; scheduler?: number };
  /** Fingerprint of the CAs the API runs with; another one (a CA rotation) re-issues and restarts. */
  trust?: string;
  pids: {
    etcd?: number | undefined;
    apiserver?: number | undefined;
    controllerManager?: number | undefined;
    scheduler?: number | undefined;
    kwok?: number | undefined;
  };
}

/** The control-plane binaries of one Kubernetes version. */
interface VersionBinaries {
  apiserver: string;
  controllerManager: string;
  scheduler: string;
}

const READY_TIMEOUT_MS = 90_000;
/** From starting kube-controller-manager to its first visible work (a default ServiceAccount, aggregated roles). */
const CONTROLLERS_TIMEOUT_MS = 60_000;
/**
 * The controller manager and the scheduler: the identity the apiserver's default RBAC binds to
 * their roles, and their files in the cluster's directory (kubeconfig; serving certificate).
 */
const COMPONENTS = {
  controllerManager: { user: 'system:kube-controller-manager', file: 'controller-manager' },
  scheduler: { user: 'system:kube-scheduler', file: 'scheduler' },
} as const;
const STOP_TIMEOUT_MS = 10_000;
/** After SIGKILL, how long a process may take to be gone (its sockets closed) before its successor starts anyway. */
const KILL_TIMEOUT_MS = 5_000;
/** In the cluster's directory while its etcd is restored: the pid of the process restoring it. */
const RESTORE_MARKER = 'etcd-restore.pid';
/**
 * kwok keeps the nodes that carry this as a label and as an annotation; taking both away is how a
 * machine is powered off. The label is what makes that real: kwok's API server selects by it, so a
 * node losing it reaches kwok as deleted, and kwok lets go of the node's lease and its pods, as a
 * machine without power would. The annotation it filters itself and never sees leave: a node that
 * loses only that is left alone by kwok's stages while its lease is still renewed.
 */
export const KWOK_NODE = { key: 'kwok.x-k8s.io/node', value: 'fake' } as const;
/** The name kube-apiserver accepts request headers from, on a certificate of a trusted front-proxy CA. */
const FRONT_PROXY_CLIENT = 'front-proxy-client';

export class ControlPlane {
  readonly dir: string;

  constructor(
    root: string,
    readonly clusterId: string,
    private readonly binaries: KwokBinaries,
  ) {
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
   * kube-apiserver, kube-controller-manager and kube-scheduler with that version's binaries, which
   * is how this runtime upgrades. Idempotent.
   */
  async ensure(bootstrap?: ClusterBootstrap, version?: string): Promise<void> {
    this.assertNotRestoring();
    if (!this.exists()) {
      if (!bootstrap) throw new ProviderError(`cluster ${this.clusterId} has no control plane on this runtime`);
      await this.prepare(bootstrap);
    }
    const { ports } = this.state();
    // A control plane this process did not prepare (made before a restart) keeps its ports too.
    holdPorts(Object.values(ports));
    if (ports.controllerManager === undefined || ports.scheduler === undefined) {
      // A control plane made before this runtime ran the controllers.
      const controllerManager = await freePort();
      this.save({
        ...this.state(),
        ports: { ...ports, controllerManager, scheduler: await freePort() },
      });
    }
    // A CA rotation, or (as above) no credentials for the controllers yet.
    if (bootstrap && (this.state().trust !== fingerprint(bootstrap) || !this.hasComponentFiles()))
      await this.writePki(bootstrap);
    const state = this.state();
    const wanted = version ?? state.kubernetesVersion;
    const binaries = this.binariesOf(wanted);
    if (state.kubernetesVersion !== wanted) {
      // Never a controller newer than its apiserver: all three stop, and start again apiserver first.
      // kwok stops with them: its open watches would hold the apiserver's graceful shutdown until
      // STOP_TIMEOUT_MS (10 s against about 1 s without them).
      await Promise.all([
        stop(state.pids.controllerManager),
        stop(state.pids.scheduler),
        stop(state.pids.kwok),
        stop(state.pids.apiserver),
      ]);
      state.pids.apiserver = state.pids.controllerManager = state.pids.scheduler = state.pids.kwok = undefined;
      state.kubernetesVersion = wanted;
      this.save(state);
    }
    const pki = join(this.dir, 'pki');
    if (!alive(state.pids.etcd, this.binaries.etcd)) {
      state.pids.etcd = this.startEtcd(state);
      this.save(state);
    }
    if (!alive(state.pids.apiserver, binaries.apiserver)) {
      state.pids.apiserver = this.start('kube-apiserver', binaries.apiserver, [
        `--etcd-servers=http://127.0.0.1:${state.ports.etcdClient}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${state.ports.api}`,
        `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
        `--client-ca-file=${join(pki, 'ca.crt')}`,
        '--authorization-mode=Node,RBAC',
        // 1.37 refuses a loopback advertise address under the default endpoint reconciler; with none it is fine.
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
        ...frontProxyFlags(pki),
        '--allow-privileged=true',
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        '--v=0',
      ]);
      this.save(state);
    }
    const ca = join(pki, 'ca.crt');
    // /readyz and /healthz are readable anonymously; the serving certificates are of the cluster's CA.
    await this.waitUntil(
      'kube-apiserver',
      'become ready',
      () => fetchOk(state.ports.api, '/readyz', ca),
      state.pids.apiserver,
      binaries.apiserver,
      READY_TIMEOUT_MS,
    );
    const controllerManagerStarts = !alive(state.pids.controllerManager, binaries.controllerManager);
    if (controllerManagerStarts) {
      // As kubeadm runs it, less what this box cannot give: no leader election (one instance), no
      // CSR signer (the cluster CA's key stays with cx, which signs every credential itself).
      state.pids.controllerManager = this.start('kube-controller-manager', binaries.controllerManager, [
        `--kubeconfig=${join(this.dir, `${COMPONENTS.controllerManager.file}.kubeconfig`)}`,
        '--controllers=*',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${join(pki, 'sa.key')}`,
        `--root-ca-file=${ca}`,
        // At start it makes a ServiceAccount and a token for each of its ~50 controllers: at the
        // default 20 requests/s (burst 30) that alone takes 4-5 s of every new cluster.
        '--kube-api-qps=100',
        '--kube-api-burst=200',
        // Its default is a system directory, which it creates when missing.
        `--flex-volume-plugin-dir=${join(this.dir, 'flexvolume')}`,
        '--leader-elect=false',
        ...this.servingFlags('controllerManager'),
        '--v=0',
      ]);
      this.save(state);
    }
    if (!alive(state.pids.scheduler, binaries.scheduler)) {
      state.pids.scheduler = this.start('kube-scheduler', binaries.scheduler, [
        `--config=${join(this.dir, 'scheduler.yaml')}`,
        ...this.servingFlags('scheduler'),
        '--v=0',
      ]);
      this.save(state);
    }
    if (!alive(state.pids.kwok, this.binaries.kwok)) {
      state.pids.kwok = this.start('kwok', this.binaries.kwok, [
        `--kubeconfig=${this.kubeconfigPath}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-label-selector=${KWOK_NODE.key}=${KWOK_NODE.value}`,
        `--manage-nodes-with-annotation-selector=${KWOK_NODE.key}=${KWOK_NODE.value}`,
        ...stageFiles(this.binaries.kwokStages).map((file) => `--config=${file}`),
        '--node-lease-duration-seconds=40',
      ]);
      this.save(state);
    }
    await Promise.all([
      this.waitUntil(
        'kube-controller-manager',
        'answer /healthz',
        () => fetchOk(state.ports.controllerManager!, '/healthz', ca),
        state.pids.controllerManager,
        binaries.controllerManager,
        READY_TIMEOUT_MS,
      ),
      this.waitUntil(
        'kube-scheduler',
        'answer /healthz',
        () => fetchOk(state.ports.scheduler!, '/healthz', ca),
        state.pids.scheduler,
        binaries.scheduler,
        READY_TIMEOUT_MS,
      ),
    ]);
    // What tenants notice first: without the `default` ServiceAccount no pod can be created in
    // `default`, without the aggregated `view` role a viewer's kubeconfig grants nothing. Both stay
    // in etcd: after a restart this passes at once.
    if (controllerManagerStarts) {
      await this.waitUntil(
        'kube-controller-manager',
        'create the default ServiceAccount and aggregate the view role',
        () => this.controllersAtWork(),
        state.pids.controllerManager,
        binaries.controllerManager,
        CONTROLLERS_TIMEOUT_MS,
      );
    }
  }

  /** Whether every process of the control plane runs (at the version it is meant to). */
  running(): boolean {
    if (!this.exists() || this.restoringElsewhere()) return false;
    const state = this.state();
    const binaries = this.binaries;
    const version = {
      apiserver: binaries.kubeApiserver[state.kubernetesVersion],
      controllerManager: binaries.kubeControllerManager[state.kubernetesVersion],
      scheduler: binaries.kubeScheduler[state.kubernetesVersion],
    };
    return (
      alive(state.pids.etcd, binaries.etcd) &&
      alive(state.pids.kwok, binaries.kwok) &&
      !!version.apiserver &&
      alive(state.pids.apiserver, version.apiserver) &&
      !!version.controllerManager &&
      alive(state.pids.controllerManager, version.controllerManager) &&
      !!version.scheduler &&
      alive(state.pids.scheduler, version.scheduler)
    );
  }

  /** Stops every process and removes the cluster's directory. */
  async destroy(): Promise<void> {
    if (this.exists()) {
      const { pids, ports } = this.state();
      await Promise.all([stop(pids.kwok), stop(pids.scheduler), stop(pids.controllerManager), stop(pids.apiserver)]);
      await stop(pids.etcd);
      releasePorts(Object.values(ports));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * A snapshot of the cluster's etcd through its API, the control plane running (the caller
   * ensures it). Refused past `maxBytes` (CX_LIMIT_EXCEEDED) before it is read.
   */
  async snapshotEtcd(maxBytes?: number): Promise<TakenSnapshot> {
    if (!this.exists()) throw new NotFoundError(`cluster ${this.clusterId} has no control plane on this runtime`);
    this.assertNotRestoring();
    return takeSnapshot(this.state().ports.etcdClient, maxBytes);
  }

  /**
   * Rewinds etcd to `data`, the etcd way. etcdutl first rebuilds a data directory from the
   * snapshot beside the live one, so that data it refuses changes nothing; then every process
   * stops, the old directory is set aside and the new one takes its place; etcd starts on it and
   * must answer, or the old directory comes back; only then is the old one deleted and the rest
   * started again (`ensure`, which waits until the API is ready). A marker file tells other
   * processes sharing this directory (replicas of sddc) not to start anything meanwhile.
   */
  async restoreEtcd(data: Buffer): Promise<void> {
    if (!this.exists()) throw new NotFoundError(`cluster ${this.clusterId} has no control plane on this runtime`);
    const etcdutl = this.binaries.etcdutl;
    if (!etcdutl || !existsSync(etcdutl)) {
      throw new ProviderError(
        `the kwok runtime has no etcdutl${etcdutl ? ` at ${etcdutl}` : ' in its binaries manifest (built before cx restored etcd snapshots)'}: run \`npm run peers -- kubernetes\` to build it, then retry the workflow`,
        { details: { reason: 'EtcdutlMissing' } },
      );
    }
    this.assertNotRestoring();
    const paths = {
      live: join(this.dir, 'etcd'),
      previous: join(this.dir, 'etcd.previous'),
      restored: join(this.dir, 'etcd.restored'),
      file: join(this.dir, 'restore.snapshot'),
    };
    const state = this.state();
    writeFileSync(join(this.dir, RESTORE_MARKER), String(process.pid));
    try {
      writeFileSync(paths.file, data, { mode: 0o600 });
      rmSync(paths.restored, { recursive: true, force: true });
      await restoreDataDir(etcdutl, paths.file, paths.restored, {
        name: this.clusterId,
        peerUrl: `http://127.0.0.1:${state.ports.etcdPeer}`,
      });
      const { pids } = state;
      // Only processes still running these binaries: a pid left in the state may belong to someone else by now.
      const own = (pid: number | undefined, binary: string | undefined): number | undefined =>
        binary && alive(pid, binary) ? pid : undefined;
      const versioned = {
        apiserver: this.binaries.kubeApiserver[state.kubernetesVersion],
        controllerManager: this.binaries.kubeControllerManager[state.kubernetesVersion],
        scheduler: this.binaries.kubeScheduler[state.kubernetesVersion],
      };
      await Promise.all([
        stop(own(pids.kwok, this.binaries.kwok)),
        stop(own(pids.scheduler, versioned.scheduler)),
        stop(own(pids.controllerManager, versioned.controllerManager)),
        stop(own(pids.apiserver, versioned.apiserver)),
      ]);
      await stop(own(pids.etcd, this.binaries.etcd));
      pids.kwok = pids.scheduler = pids.controllerManager = pids.apiserver = pids.etcd = undefined;
      this.save(state);
      // An etcd.previous left by an interrupted restore is the data from before it: it stays the one to go back to.
      if (existsSync(paths.previous)) rmSync(paths.live, { recursive: true, force: true });
      else if (existsSync(paths.live)) renameSync(paths.live, paths.previous);
      renameSync(paths.restored, paths.live);
      pids.etcd = this.startEtcd(state);
      this.save(state);
      try {
        await this.waitUntil(
          'etcd',
          'answer /health on its restored data',
          () => etcdHealthy(state.ports.etcdClient),
          pids.etcd,
          this.binaries.etcd,
          READY_TIMEOUT_MS,
        );
      } catch (error) {
        await stop(pids.etcd);
        pids.etcd = undefined;
        this.save(state);
        rmSync(paths.live, { recursive: true, force: true });
        if (existsSync(paths.previous)) renameSync(paths.previous, paths.live);
        rmSync(join(this.dir, RESTORE_MARKER), { force: true });
        const back = await this.ensure().then(
          () => 'the cluster runs on its previous data again',
          (cause: unknown) =>
            `its previous data is back, but the control plane did not come up on it: ${(cause as Error).message}`,
        );
        throw new ProviderError(
          `the restored etcd of cluster ${this.clusterId} did not start (${(error as Error).message}); ${back}`,
          { details: { reason: 'EtcdRestoreFailed' } },
        );
      }
      rmSync(paths.previous, { recursive: true, force: true });
    } finally {
      rmSync(paths.file, { force: true });
      rmSync(paths.restored, { recursive: true, force: true });
      rmSync(join(this.dir, RESTORE_MARKER), { force: true });
    }
    await this.ensure();
  }

  /** Whether another process (a replica of sddc) is restoring this cluster's etcd now. */
  private restoringElsewhere(): boolean {
    try {
      const pid = Number(readFileSync(join(this.dir, RESTORE_MARKER), 'utf8'));
      if (pid === process.pid || !Number.isInteger(pid) || pid <= 0) return false;
      process.kill(pid, 0);
      return true;
    } catch {
      return false; // no marker, or the process that wrote it is gone
    }
  }

  private assertNotRestoring(): void {
    if (this.restoringElsewhere())
      throw new ProviderUnavailableError(
        `cluster ${this.clusterId} is being restored from an etcd snapshot by another process; it runs again when that is done`,
      );
  }

  private startEtcd(state: ControlPlaneState): number {
    return this.start('etcd', this.binaries.etcd, [
      `--name=${this.clusterId}`,
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${state.ports.etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${state.ports.etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${state.ports.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${state.ports.etcdPeer}`,
      `--initial-cluster=${this.clusterId}=http://127.0.0.1:${state.ports.etcdPeer}`,
      '--quota-backend-bytes=536870912',
      '--log-level=warn',
    ]);
  }

  private async prepare(bootstrap: ClusterBootstrap): Promise<void> {
    mkdirSync(join(this.dir, 'pki'), { recursive: true, mode: 0o700 });
    const ports: number[] = [];
    for (let i = 0; i < 5; i++) ports.push(await freePort());
    const [etcdClient, etcdPeer, api, controllerManager, scheduler] = ports as [number, number, number, number, number];
    // Written before the PKI: writePki records its fingerprint in it.
    this.save({
      clusterId: this.clusterId,
      kubernetesVersion: bootstrap.kubernetesVersion,
      ports: { etcdClient, etcdPeer, api, controllerManager, scheduler },
      pids: {},
    });
    await this.writePki(bootstrap);
  }

  /**
   * The API's certificates from the cluster's PKI: the client CA bundle (every trusted CA), a serving
   * certificate and the runtime's own admin credential signed by the current CA; the service-account
   * keys (the current one signs, every trusted one verifies); the request-header CA bundle (every
   * trusted front-proxy CA) and the front-proxy client certificate of the current one. When they
   * change (a CA rotation) the running control plane is stopped, so that the next step starts it with them.
   */
  private async writePki(bootstrap: ClusterBootstrap): Promise<void> {
    const { pki } = bootstrap;
    const state = this.state();
    const serving = await issueCertificate(pki.ca, {
      commonName: 'kube-apiserver',
      usage: 'server',
      validitySeconds: 365 * 86_400,
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ipAddresses: ['127.0.0.1', '10.96.0.1'],
    });
    // The runtime's own credential (as a kubelet has one): it outlives cx's restarts.
    const admin = await issueCertificate(pki.ca, {
      commonName: 'cx-kwok-runtime',
      organizations: ['system:masters'],
      usage: 'client',
      validitySeconds: 365 * 86_400,
    });
    // What kube-apiserver presents when it proxies to an aggregated API (kubeadm's name for it).
    const frontProxyClient = await issueCertificate(pki.frontProxyCa, {
      commonName: FRONT_PROXY_CLIENT,
      usage: 'client',
      validitySeconds: 365 * 86_400,
    });
    const files: Record<string, string> = {
      'ca.crt': pemBundle(bootstrap.trustedCaPems),
      'front-proxy-ca.crt': pemBundle(bootstrap.trustedFrontProxyCaPems ?? [pki.frontProxyCa.certPem]),
      'front-proxy-client.crt': frontProxyClient.certPem,
      'front-proxy-client.key': frontProxyClient.keyPem,
      // kube-apiserver reads every PEM key of the file: tokens signed by any of them verify.
      'sa.pub': pemBundle(bootstrap.trustedServiceAccountPublicKeyPems ?? [pki.serviceAccount.publicKeyPem]),
      'sa.key': pki.serviceAccount.privateKeyPem,
      'apiserver.crt': serving.certPem,
      'apiserver.key': serving.keyPem,
    };
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(this.dir, 'pki', name), content, { mode: 0o600 });
    const kubeconfig = (user: string, credential: { certPem: string; keyPem: string }): string =>
      renderKubeconfig({
        clusterName: bootstrap.clusterName,
        server: `https://127.0.0.1:${state.ports.api}`,
        caPem: pemBundle(bootstrap.trustedCaPems),
        user,
        clientCertPem: credential.certPem,
        clientKeyPem: credential.keyPem,
      });
    for (const { user, file } of Object.values(COMPONENTS)) {
      const client = await issueCertificate(pki.ca, {
        commonName: user,
        usage: 'client',
        validitySeconds: 365 * 86_400,
      });
      writeFileSync(join(this.dir, `${file}.kubeconfig`), kubeconfig(user, client), { mode: 0o600 });
      const serving = await issueCertificate(pki.ca, {
        commonName: user,
        usage: 'server',
        validitySeconds: 365 * 86_400,
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
      });
      writeFileSync(join(this.dir, 'pki', `${file}.crt`), serving.certPem, { mode: 0o600 });
      writeFileSync(join(this.dir, 'pki', `${file}.key`), serving.keyPem, { mode: 0o600 });
    }
    // The scheduler's flags for these are deprecated in favour of its configuration file (JSON is YAML).
    writeFileSync(
      join(this.dir, 'scheduler.yaml'),
      JSON.stringify(
        {
          apiVersion: 'kubescheduler.config.k8s.io/v1',
          kind: 'KubeSchedulerConfiguration',
          clientConnection: { kubeconfig: join(this.dir, `${COMPONENTS.scheduler.file}.kubeconfig`) },
          leaderElection: { leaderElect: false },
          enableProfiling: false,
        },
        null,
        2,
      ),
    );
    writeFileSync(this.kubeconfigPath, kubeconfig('cx-kwok-runtime', admin), { mode: 0o600 });
    if (state.trust !== undefined && state.trust !== fingerprint(bootstrap)) {
      const { pids } = state;
      await Promise.all([stop(pids.apiserver), stop(pids.controllerManager), stop(pids.scheduler), stop(pids.kwok)]);
      pids.apiserver = pids.controllerManager = pids.scheduler = pids.kwok = undefined;
    }
    this.save({ ...state, trust: fingerprint(bootstrap) });
  }

  private hasComponentFiles(): boolean {
    return (
      Object.values(COMPONENTS).every(
        ({ file }) =>
          existsSync(join(this.dir, `${file}.kubeconfig`)) && existsSync(join(this.dir, 'pki', `${file}.crt`)),
      ) &&
      existsSync(join(this.dir, 'scheduler.yaml')) &&
      existsSync(join(this.dir, 'pki', 'front-proxy-client.crt'))
    );
  }

  /**
   * HTTPS on loopback with a certificate of the cluster's CA; callers authenticated and authorised
   * by the apiserver, as kubeadm sets them up (/healthz is open to anyone).
   */
  private servingFlags(component: keyof typeof COMPONENTS): string[] {
    const { file } = COMPONENTS[component];
    const kubeconfig = join(this.dir, `${file}.kubeconfig`);
    return [
      '--bind-address=127.0.0.1',
      `--secure-port=${this.state().ports[component]!}`,
      `--tls-cert-file=${join(this.dir, 'pki', `${file}.crt`)}`,
      `--tls-private-key-file=${join(this.dir, 'pki', `${file}.key`)}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
    ];
  }

  private binariesOf(version: string): VersionBinaries {
    const apiserver = this.binaries.kubeApiserver[version];
    const controllerManager = this.binaries.kubeControllerManager[version];
    const scheduler = this.binaries.kubeScheduler[version];
    if (!apiserver || !controllerManager || !scheduler)
      throw new ProviderError(
        `the kwok runtime has no control plane binaries of Kubernetes ${version} (it has ${runnableVersions(this.binaries).join(', ') || 'none'})`,
      );
    return { apiserver, controllerManager, scheduler };
  }

  private start(name: string, binary: string, args: string[]): number {
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    try {
      const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log], cwd: this.dir });
      child.on('error', () => undefined); // a binary that cannot start has no pid: reported below
      if (child.pid === undefined)
        throw new ProviderUnavailableError(`cannot start ${name} (${binary}) for cluster ${this.clusterId}`);
      child.unref();
      return child.pid;
    } finally {
      closeSync(log);
    }
  }

  /** Polls `probe` every 250 ms until it holds; fails at once if the process exits, or after `timeoutMs`. */
  private async waitUntil(
    name: string,
    what: string,
    probe: () => Promise<boolean>,
    pid: number | undefined,
    binary: string,
    timeoutMs: number,
  ): Promise<void> {
    const log = join(this.dir, `${name}.log`);
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
      if (!alive(pid, binary))
        throw new ProviderUnavailableError(
          `the ${name} of cluster ${this.clusterId} exited: ${lastLine(log)} (log: ${log})`,
        );
      if (Date.now() > deadline)
        throw new ProviderUnavailableError(
          `the ${name} of cluster ${this.clusterId} did not ${what} within ${timeoutMs / 1000} s (log: ${log})`,
        );
      await sleep(250);
    }
  }

  private async controllersAtWork(): Promise<boolean> {
    const config = new KubeConfig();
    config.loadFromFile(this.kubeconfigPath);
    try {
      await config.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ namespace: 'default', name: 'default' });
      return (
        ((await config.makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: 'view' })).rules ?? []).length > 0
      );
    } catch {
      return false;
    }
  }

  private save(state: ControlPlaneState): void {
    writeFileSync(join(this.dir, 'state.json.tmp'), JSON.stringify(state, null, 2));
    // rename is atomic: a reader never sees half a file.
    renameSync(join(this.dir, 'state.json.tmp'), join(this.dir, 'state.json'));
  }
}

/** Kubernetes versions with every control-plane binary built, oldest first. */
export function runnableVersions(binaries: KwokBinaries): string[] {
  return Object.keys(binaries.kubeApiserver)
    .filter((version) => binaries.kubeControllerManager?.[version] && binaries.kubeScheduler?.[version])
    .sort(compareVersions);
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Whether GET https://127.0.0.1:port/path answers 200, the server's certificate checked against `caFile`. */
async function fetchOk(port: number, path: string, caFile: string): Promise<boolean> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, ca: readFileSync(caFile), timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req
      .on('error', () => resolve(false))
      .on('timeout', () => {
        req.destroy();
        resolve(false);
      });
    req.end();
  });
}

/**
 * kube-apiserver's request-header authentication as kubeadm sets it up: a client certificate of a
 * trusted front-proxy CA named `front-proxy-client` may say whom it proxies for in these headers;
 * the API presents that certificate itself when it proxies to an aggregated API.
 */
function frontProxyFlags(pki: string): string[] {
  return [
    `--requestheader-client-ca-file=${join(pki, 'front-proxy-ca.crt')}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${join(pki, 'front-proxy-client.crt')}`,
    `--proxy-client-key-file=${join(pki, 'front-proxy-client.key')}`,
  ];
}

/** PEM blocks one after the other, each on its own lines. */
function pemBundle(pems: string[]): string {
  return pems.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}

/**
 * What the issued certificates and the keys the control plane runs with depend on: the CAs, the
 * service-account keys, and the generation cx bumps to have them issued again.
 */
function fingerprint(bootstrap: ClusterBootstrap): string {
  const hash = createHash('sha256').update(bootstrap.pki.ca.certPem).update(bootstrap.trustedCaPems.join(''));
  // Generation 0 adds nothing, so that control planes made before it existed keep their fingerprint.
  if (bootstrap.certificateGeneration) hash.update(`generation ${bootstrap.certificateGeneration}`);
  // Likewise the current service-account key and front-proxy CA, which change only along with the cluster CA (hashed above).
  const { trustedServiceAccountPublicKeyPems: keys = [], trustedFrontProxyCaPems: frontProxyCas = [] } = bootstrap;
  if (keys.length > 1) hash.update(`service-account keys ${keys.join('')}`);
  if (frontProxyCas.length > 1) hash.update(`front-proxy CAs ${frontProxyCas.join('')}`);
  return hash.digest('hex').slice(0, 16);
}

/** Every kwok Stage manifest of the profile (node initialize / heartbeat with lease, pod ready / complete / delete). */
function stageFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/** Whether `pid` is a live process running `binary` (a recycled pid running something else is not ours). */
function alive(pid: number | undefined, binary: string): boolean {
  if (!pid || !threadsRun(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(binary);
  } catch {
    return false;
  }
}

/**
 * Whether any thread of process `pid` still runs. A Go program's main thread can be a zombie while
 * its other threads are still exiting and holding its sockets: only once every thread is gone is
 * its port free for a successor.
 */
export function threadsRun(pid: number): boolean {
  const runs = (stat: string): boolean => {
    try {
      return readFileSync(stat, 'utf8').replace(/^.*\) /, '')[0] !== 'Z';
    } catch {
      return false; // gone, or exited between the two reads
    }
  };
  // The main thread's state alone settles it unless it is a zombie: one read for a live process.
  if (runs(`/proc/${pid}/stat`)) return true;
  try {
    return readdirSync(`/proc/${pid}/task`).some((thread) => runs(`/proc/${pid}/task/${thread}/stat`));
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; returns once every thread of the process is gone. */
async function stop(pid: number | undefined): Promise<void> {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (threadsRun(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
      const killDeadline = Date.now() + KILL_TIMEOUT_MS;
      while (threadsRun(pid) && Date.now() < killDeadline) await sleep(50);
      return;
    }
    await sleep(100);
  }
}

/** The last non-empty line of a process's log, which is where a Kubernetes binary says why it exited. */
function lastLine(log: string): string {
  try {
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    return lines[lines.length - 1]?.slice(0, 500) || 'its log is empty';
  } catch {
    return 'it left no log';
  }
}
