/**
 * The `sim` provider: simulated machines with no infrastructure behind them, kept in an LMDB store
 * under the data directory so that they outlive a restart of cx as real machines would, and so that
 * several sddc processes share them as they would share real infrastructure. Used by the embedded
 * default, the end-to-end tests and the scale benchmarks. Every operation takes `latencyMs`; each
 * fails with a retryable error with probability `failureRate`.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError, ProviderUnavailableError } from '@cx/errors';
import {
  CONTRACT_VERSION,
  type MachineSpec,
  type MachineStatus,
  type NodeReader,
  type NodeStatus,
  type PowerAction,
  type PowerState,
  type Provider,
  type ProviderCapabilities,
} from '@cx/sddc-contract';
import { open, type RootDatabase } from 'lmdb';

export interface SimOptions {
  dataDir: string;
  latencyMs?: number;
  failureRate?: number;
  /** Source of randomness for failure injection (tests pass a fixed one). */
  random?: () => number;
  /**
   * A file to which every effect (machine created, upgraded in place, deleted) is appended as one
   * JSON line, by every process sharing `dataDir`: the chaos harness counts effects that happened
   * twice from it (bench/chaos.mjs).
   */
  journal?: string;
}

/** One line of the journal. */
export interface SimEffect {
  op: 'create' | 'upgrade' | 'delete';
  clusterId: string;
  machineId: string;
  name?: string;
  kubernetesVersion?: string;
  pid: number;
  at: number;
}

/** What the sim keeps per machine. */
export interface SimMachine {
  spec: MachineSpec;
  providerId: string;
  address: string;
  powerState: PowerState;
  createdAt: number;
  /** When the simulated kubelet last (re)started; the node turns Ready `latencyMs` later. */
  bootedAt: number;
}

export const SIM_KUBERNETES_VERSIONS = ['1.32.2', '1.31.4', '1.30.8'] as const;

export class SimProvider implements Provider, NodeReader {
  readonly name = 'sim';
  readonly contractVersion = CONTRACT_VERSION;
  readonly kubernetesVersions = SIM_KUBERNETES_VERSIONS;
  readonly capabilities: ProviderCapabilities = {
    power: true,
    loadBalancer: false,
    virtualIp: true,
    etcdSnapshot: false,
    kubernetesApi: false,
    certificateRotation: false,
    osImages: false,
    controlPlaneVip: false,
    controlPlaneReplacement: true,
    bareMetalHosts: false,
  };

  private readonly latencyMs: number;
  private readonly failureRate: number;
  private readonly random: () => number;
  /** Serialises operations on one machine within this process; files serialise across processes. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly options: SimOptions) {
    this.latencyMs = options.latencyMs ?? 0;
    this.failureRate = options.failureRate ?? 0;
    this.random = options.random ?? Math.random;
  }

  async ensureMachine(spec: MachineSpec): Promise<MachineStatus> {
    return this.serialise(spec.machineId, async () => {
      const store = this.store();
      const key = keyOf(spec.clusterId, spec.machineId);
      const existing = store.get(key);
      if (existing && existing.spec.kubernetesVersion !== spec.kubernetesVersion && spec.kubernetesVersion) {
        // An upgrade in place: the simulated kubelet restarts at the new version.
        await this.operate();
        existing.spec = { ...existing.spec, kubernetesVersion: spec.kubernetesVersion };
        existing.bootedAt = Date.now();
        await store.put(key, existing);
        this.record('upgrade', existing.spec);
      }
      if (existing) return this.status(existing);
      await this.operate();
      const now = Date.now();
      const machine: SimMachine = {
        spec,
        providerId: `sim-${randomUUID()}`,
        address: addressFor(spec.machineId),
        powerState: 'on',
        createdAt: now,
        bootedAt: now,
      };
      // Created only if no other process created it first (one write transaction decides); the loser
      // answers the winner's machine.
      if (await store.ifNoExists(key, () => void store.put(key, machine))) {
        this.record('create', spec);
        return this.status(machine);
      }
      store.resetReadTxn();
      return this.status(store.get(key) ?? machine);
    });
  }

  async getMachine(clusterId: string, machineId: string): Promise<MachineStatus | null> {
    this.maybeFail();
    const machine = this.store().get(keyOf(clusterId, machineId));
    return machine ? this.status(machine) : null;
  }

  async deleteMachine(clusterId: string, machineId: string): Promise<void> {
    await this.serialise(machineId, async () => {
      await this.operate();
      const store = this.store();
      const key = keyOf(clusterId, machineId);
      // In one write transaction, so that of several processes deleting a machine one removes it.
      const removed = await store.transaction(() => {
        if (store.get(key) === undefined) return false;
        void store.remove(key);
        return true;
      });
      if (removed) this.record('delete', { clusterId, machineId }); // not found is success
    });
  }

  async listMachines(clusterId: string): Promise<MachineStatus[]> {
    this.maybeFail();
    return this.readCluster(clusterId).map((m) => this.status(m));
  }

  async setPower(clusterId: string, machineId: string, action: PowerAction): Promise<void> {
    await this.serialise(machineId, async () => {
      const store = this.store();
      const key = keyOf(clusterId, machineId);
      const machine = store.get(key);
      if (!machine) throw new NotFoundError(`sim machine ${machineId} of cluster ${clusterId} does not exist`);
      await this.operate();
      if (action === 'off') machine.powerState = 'off';
      else if (action === 'on' && machine.powerState === 'on') return;
      else {
        machine.powerState = 'on';
        machine.bootedAt = Date.now();
      }
      await store.put(key, machine);
    });
  }

  async getPowerState(clusterId: string, machineId: string): Promise<PowerState> {
    this.maybeFail();
    const machine = this.store().get(keyOf(clusterId, machineId));
    if (!machine) throw new NotFoundError(`sim machine ${machineId} of cluster ${clusterId} does not exist`);
    return machine.powerState;
  }

  /** The simulated kubelets: a node is Ready `latencyMs` after its machine (re)booted, while powered on. */
  async listNodes(clusterId: string): Promise<NodeStatus[]> {
    this.maybeFail();
    const now = Date.now();
    return this.readCluster(clusterId).map((m) => ({
      name: m.spec.name,
      machineId: m.spec.machineId,
      role: m.spec.role,
      status: m.powerState === 'on' && now - m.bootedAt >= this.latencyMs ? 'Ready' : 'NotReady',
      kubernetesVersion: m.spec.kubernetesVersion,
    }));
  }

  /** Every machine of every cluster, as the sim keeps it: what an audit of the simulated infrastructure reads (bench/chaos.mjs). */
  allMachines(): SimMachine[] {
    return [...this.store().getRange({ snapshot: false })].map(({ value }) => value);
  }

  private status(machine: SimMachine): MachineStatus {
    return {
      machineId: machine.spec.machineId,
      clusterId: machine.spec.clusterId,
      name: machine.spec.name,
      providerId: machine.providerId,
      phase: machine.powerState === 'on' ? 'Running' : 'Stopped',
      powerState: machine.powerState,
      addresses: [machine.address],
      tags: { cluster: machine.spec.clusterId, machine: machine.spec.machineId },
    };
  }

  private async operate(): Promise<void> {
    this.maybeFail();
    if (this.latencyMs > 0) await sleep(this.latencyMs);
  }

  private record(op: SimEffect['op'], spec: Pick<MachineSpec, 'clusterId' | 'machineId'> & Partial<MachineSpec>): void {
    if (!this.options.journal) return;
    const effect: SimEffect = {
      op,
      clusterId: spec.clusterId,
      machineId: spec.machineId,
      ...(spec.name ? { name: spec.name } : {}),
      ...(spec.kubernetesVersion ? { kubernetesVersion: spec.kubernetesVersion } : {}),
      pid: process.pid,
      at: Date.now(),
    };
    // One short append (O_APPEND) per effect: lines from several processes never interleave.
    appendFileSync(this.options.journal, JSON.stringify(effect) + '\n');
  }

  private maybeFail(): void {
    if (this.failureRate > 0 && this.random() < this.failureRate) {
      throw new ProviderUnavailableError('sim: injected failure (CX_SIM_FAILURE_RATE); the operation can be retried');
    }
  }

  private async serialise<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.inFlight.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.inFlight.set(key, next);
    try {
      return await next;
    } finally {
      if (this.inFlight.get(key) === next) this.inFlight.delete(key);
    }
  }

  private store(): RootDatabase<SimMachine, string> {
    return openStore(this.options.dataDir);
  }

  /** A cluster's machines, by name. */
  private readCluster(clusterId: string): SimMachine[] {
    const id = safeName(clusterId);
    // '0' is the character after '/': the range is exactly the keys that start with `<id>/`.
    const range = this.store().getRange({ start: `${id}/`, end: `${id}0` });
    return [...range].map(({ value }) => value).sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  }
}

/**
 * One store per data directory and process: LMDB must not open one environment twice in a process,
 * and every SimProvider on the same directory (sddc's, a test's) shares its machines.
 */
const stores = new Map<string, RootDatabase<SimMachine, string>>();

/**
 * Opens (and makes) the data directory's store, `machines.mdb`. LMDB serialises writers across
 * processes and survives a `kill -9` at any instant (copy-on-write pages, robust locks); a write
 * resolves once committed, and the flush to disk follows on LMDB's own thread (`overlappingSync`).
 * Machines that an earlier version kept as JSON files (`<cluster>/<machine>.json`) move into it.
 */
function openStore(dataDir: string): RootDatabase<SimMachine, string> {
  let store = stores.get(dataDir);
  if (!store) {
    mkdirSync(dataDir, { recursive: true });
    store = open<SimMachine, string>({ path: join(dataDir, 'machines.mdb') });
    stores.set(dataDir, store);
    importMachineFiles(dataDir, store);
  }
  return store;
}

/**
 * Moves the machine files of the sim's earlier layout into the store; a no-op once they are gone.
 * Several processes may import at once: what another one has moved already is skipped.
 */
function importMachineFiles(dataDir: string, store: RootDatabase<SimMachine, string>): void {
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const directory = join(dataDir, entry.name);
    ifPresent(() => {
      for (const name of readdirSync(directory)) {
        const file = join(directory, name);
        ifPresent(() => {
          if (name.endsWith('.json')) {
            const machine = JSON.parse(readFileSync(file, 'utf8')) as SimMachine;
            const key = keyOf(machine.spec.clusterId, machine.spec.machineId);
            store.putSync(key, machine, { noOverwrite: true }); // unless another process moved it first
          }
          unlinkSync(file); // imported, or a temporary file a crash left
        });
      }
      rmdirSync(directory);
    });
  }
}

/** Runs `work`, counting a file or directory that another process removed meanwhile as done. */
function ifPresent(work: () => void): void {
  try {
    work();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function keyOf(clusterId: string, machineId: string): string {
  return `${safeName(clusterId)}/${safeName(machineId)}`;
}

function safeName(id: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(id) || id.startsWith('.')) throw new Error(`invalid sim id ${JSON.stringify(id)}`);
  return id;
}

/** A stable documentation-range address (198.18.0.0/15, benchmarking) derived from the machine id. */
function addressFor(machineId: string): string {
  let hash = 0;
  for (const char of machineId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `198.${18 + ((hash >>> 16) & 1)}.${(hash >>> 8) & 255}.${hash & 255}`;
}
