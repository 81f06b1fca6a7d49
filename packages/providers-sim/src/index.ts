/**
 * The `sim` provider: simulated machines with no infrastructure behind them, kept as JSON files so
 * that they outlive a restart of cx as real machines would. Used by the embedded default, the
 * end-to-end tests and the scale benchmarks. Every operation takes `latencyMs`; each fails with a
 * retryable error with probability `failureRate`.
 */
import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
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
interface SimMachine {
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
      const existing = await this.read(spec.clusterId, spec.machineId);
      if (existing && existing.spec.kubernetesVersion !== spec.kubernetesVersion && spec.kubernetesVersion) {
        // An upgrade in place: the simulated kubelet restarts at the new version.
        await this.operate();
        existing.spec = { ...existing.spec, kubernetesVersion: spec.kubernetesVersion };
        existing.bootedAt = Date.now();
        this.write(existing);
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
      const created = await this.createExclusive(machine);
      return this.status(created);
    });
  }

  async getMachine(clusterId: string, machineId: string): Promise<MachineStatus | null> {
    this.maybeFail();
    const machine = await this.read(clusterId, machineId);
    return machine ? this.status(machine) : null;
  }

  async deleteMachine(clusterId: string, machineId: string): Promise<void> {
    await this.serialise(machineId, async () => {
      await this.operate();
      // On libuv's threads, unlike a create's calls: deletes measured slower with synchronous calls
      // (docs/benchmarks.md, thirteenth session).
      try {
        await unlink(this.file(clusterId, machineId));
        this.record('delete', { clusterId, machineId });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // not found is success
      }
      await rmdir(this.clusterDir(clusterId)).catch(() => undefined); // only succeeds once the cluster has no machine left
    });
  }

  async listMachines(clusterId: string): Promise<MachineStatus[]> {
    this.maybeFail();
    return (await this.readCluster(clusterId)).map((m) => this.status(m));
  }

  async setPower(clusterId: string, machineId: string, action: PowerAction): Promise<void> {
    await this.serialise(machineId, async () => {
      const machine = await this.read(clusterId, machineId);
      if (!machine) throw new NotFoundError(`sim machine ${machineId} of cluster ${clusterId} does not exist`);
      await this.operate();
      if (action === 'off') machine.powerState = 'off';
      else if (action === 'on' && machine.powerState === 'on') return;
      else {
        machine.powerState = 'on';
        machine.bootedAt = Date.now();
      }
      this.write(machine);
    });
  }

  async getPowerState(clusterId: string, machineId: string): Promise<PowerState> {
    this.maybeFail();
    const machine = await this.read(clusterId, machineId);
    if (!machine) throw new NotFoundError(`sim machine ${machineId} of cluster ${clusterId} does not exist`);
    return machine.powerState;
  }

  /** The simulated kubelets: a node is Ready `latencyMs` after its machine (re)booted, while powered on. */
  async listNodes(clusterId: string): Promise<NodeStatus[]> {
    this.maybeFail();
    const now = Date.now();
    return (await this.readCluster(clusterId)).map((m) => ({
      name: m.spec.name,
      machineId: m.spec.machineId,
      role: m.spec.role,
      status: m.powerState === 'on' && now - m.bootedAt >= this.latencyMs ? 'Ready' : 'NotReady',
      kubernetesVersion: m.spec.kubernetesVersion,
    }));
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

  private clusterDir(clusterId: string): string {
    return join(this.options.dataDir, safeName(clusterId));
  }

  private file(clusterId: string, machineId: string): string {
    return join(this.clusterDir(clusterId), `${safeName(machineId)}.json`);
  }

  private async read(clusterId: string, machineId: string): Promise<SimMachine | null> {
    const file = this.file(clusterId, machineId);
    // Most ensures are of a new machine: a look first spares them the error a failed read throws,
    // which cost five times a read (its stack trace and message).
    if (!existsSync(file)) return null;
    try {
      // A small local file: read at once (see readCluster), as every ensure of a machine reads it.
      return JSON.parse(readFileSync(file, 'utf8')) as SimMachine;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  private async readCluster(clusterId: string): Promise<SimMachine[]> {
    let names: string[];
    try {
      names = await readdir(this.clusterDir(clusterId));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    // Read at once: a few small local files. Every node health pass reads every machine (10,000 for
    // the scale benchmark), and fs/promises' readFile costs about five times the CPU of this.
    const machines = names
      .filter((n) => n.endsWith('.json'))
      .map((n) => {
        try {
          return JSON.parse(readFileSync(join(this.clusterDir(clusterId), n), 'utf8')) as SimMachine;
        } catch {
          return null; // deleted between readdir and read
        }
      });
    return machines.filter((m): m is SimMachine => m !== null).sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  }

  /**
   * Creates the machine file only if no other process created it first; returns the winner. The
   * record is written to a temporary file, flushed to disk and hard-linked into place, so that the
   * machine file appears complete or not at all, even if the process dies half-way. The file calls
   * but the flush are synchronous: each call handed to libuv's threads costs wake-ups between
   * threads besides the call, and creates measured cheaper this way (docs/benchmarks.md, thirteenth
   * session).
   */
  private async createExclusive(machine: SimMachine): Promise<SimMachine> {
    const path = this.file(machine.spec.clusterId, machine.spec.machineId);
    const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
    const directory = this.clusterDir(machine.spec.clusterId);
    for (let attempt = 0; ; attempt++) {
      // The cluster's first machine makes its directory; a write that finds it missing all the
      // same (a concurrent delete of the cluster's last machine removed it) makes it again.
      // A look first: a failed write costs more.
      if (attempt > 0 || !existsSync(directory)) mkdirSync(directory, { recursive: true });
      try {
        await writeFlushed(temporary, JSON.stringify(machine));
        linkSync(temporary, path);
        this.record('create', machine.spec);
        return machine;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return (await this.read(machine.spec.clusterId, machine.spec.machineId)) ?? machine;
        if (code !== 'ENOENT' || attempt >= 3) throw error;
      } finally {
        try {
          unlinkSync(temporary); // linked into place, or never written
        } catch {
          // never written
        }
      }
    }
  }

  private write(machine: SimMachine): void {
    const path = this.file(machine.spec.clusterId, machine.spec.machineId);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(machine));
    renameSync(temporary, path);
  }
}

const flush = promisify(fsync);

/** Writes `text` to a new file at `path` and flushes it to disk; only the flush waits off the event loop. */
async function writeFlushed(path: string, text: string): Promise<void> {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
    await flush(fd);
  } finally {
    closeSync(fd);
  }
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
