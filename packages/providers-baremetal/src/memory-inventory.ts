import { refused } from '@cx/provider-kit';
import type { MachineSpec } from '@cx/sddc-contract';
import type { BareMetalHost, HostCleanup, HostClaim, HostInventory } from './types.js';

/**
 * A host inventory held in memory: for tests and single-process labs (the real one is kept in
 * sm). Claims are made synchronously, so concurrent claims can never take the same host.
 */
export class MemoryHostInventory implements HostInventory {
  private readonly byMachine = new Map<string, HostClaim>();
  private readonly beingCleaned = new Set<string>();

  /** `cleanup` is given to every claim (the real inventory takes it from the claiming cluster). */
  constructor(
    private readonly hosts: readonly BareMetalHost[],
    private readonly cleanup: HostCleanup = 'power-off',
  ) {}

  async claim(spec: MachineSpec): Promise<BareMetalHost> {
    const existing = this.byMachine.get(key(spec.clusterId, spec.machineId));
    if (existing) return existing.host;
    const taken = new Set([...this.byMachine.values()].map((claim) => claim.host.id).concat([...this.beingCleaned]));
    const wanted = spec.resources ?? {};
    // A host labelled cx/pool serves that pool only; an unlabelled host serves any pool.
    const host = this.hosts.find(
      (candidate) =>
        !taken.has(candidate.id) &&
        (candidate.labels['cx/pool'] === undefined || candidate.labels['cx/pool'] === spec.pool) &&
        candidate.capacity.vcpus >= (wanted.vcpus ?? 0) &&
        candidate.capacity.memoryMiB >= (wanted.memoryMiB ?? 0) &&
        candidate.capacity.diskGiB >= (wanted.diskGiB ?? 0),
    );
    if (!host) {
      throw refused(
        `no free host for machine ${spec.name} in pool ${spec.pool} (${this.hosts.length} hosts, ${taken.size} claimed); register more hosts or free one`,
        'NoFreeHost',
      );
    }
    const claimed = { ...host, cleanup: this.cleanup };
    this.byMachine.set(key(spec.clusterId, spec.machineId), {
      host: claimed,
      clusterId: spec.clusterId,
      machineId: spec.machineId,
      machineName: spec.name,
    });
    return claimed;
  }

  async claimOf(clusterId: string, machineId: string): Promise<BareMetalHost | null> {
    return this.byMachine.get(key(clusterId, machineId))?.host ?? null;
  }

  async claims(clusterId: string): Promise<HostClaim[]> {
    return [...this.byMachine.values()].filter((claim) => claim.clusterId === clusterId);
  }

  async release(clusterId: string, machineId: string, cleaning = false): Promise<void> {
    const claim = this.byMachine.get(key(clusterId, machineId));
    if (claim && cleaning) this.beingCleaned.add(claim.host.id);
    this.byMachine.delete(key(clusterId, machineId));
  }

  async cleaning(): Promise<BareMetalHost[]> {
    return this.hosts.filter((host) => this.beingCleaned.has(host.id));
  }

  async cleaned(hostId: string): Promise<void> {
    this.beingCleaned.delete(hostId);
  }
}

function key(clusterId: string, machineId: string): string {
  return JSON.stringify([clusterId, machineId]);
}
