/**
 * The bare-metal provider: a machine is a physical host claimed from the inventory and driven
 * through its BMC (Redfish or IPMI). Installing the operating system is the installer image's or
 * the PXE service's job; cx boots the host into it once and powers it on. With a seed server, cx
 * also hands the machine its cloud-init user data (contract rule O5) as a NoCloud seed: a config
 * drive in a virtual media slot (Redfish), or NoCloud-net URLs for the PXE flow (IPMI); the seed
 * is withdrawn once the machine's node is Ready (`nodesJoined`), or the machine is deleted.
 */
import { NotFoundError } from '@cx/errors';
import { reasonOf, refused } from '@cx/provider-kit';
import {
  CONTRACT_VERSION,
  type EnsureContext,
  type MachineSpec,
  type MachineStatus,
  type PowerAction,
  type PowerState,
  type Provider,
  type ProviderCapabilities,
} from '@cx/sddc-contract';
import { connectBmc } from './bmc.js';
import { DEFAULT_POWER_TIMEOUT_MS, confirmPowerOn } from './power.js';
import { buildSeedImage, seedMetaData } from './seed.js';
import type { SeedServer } from './seed-server.js';
import type { BareMetalHost, Bmc, BootDevice, HostInventory, MediaSlot } from './types.js';

export interface BareMetalProviderOptions {
  inventory: HostInventory;
  /** Versions the installer image or PXE service can install; default ['1.37.2', '1.36.3']. */
  kubernetesVersions?: string[];
  /** Installer ISO the host boots once as virtual media (Redfish BMCs that have it); else PXE. */
  installerImageUrl?: string;
  /** How long a power-off may take to be read back as off; default 60 s. */
  powerTimeoutMs?: number;
  /** Cleaning image (ISO) a host boots once as virtual media when its machine is deleted with cleanup wipe; else it boots once from the network (PXE). */
  wipeImageUrl?: string;
  /** Deadline of one BMC request or ipmitool run. */
  bmcTimeoutMs?: number;
  /**
   * Serves each machine's NoCloud seed (its user data); absent: the installer or PXE service joins
   * the node on its own, and the provider hands no user data to hosts. Closed with the provider.
   */
  seeds?: SeedServer;
  /**
   * The one-time boot device when no installer image is configured: `pxe` (default; your PXE
   * service installs the host) or `disk` (the host's disk already holds the node image).
   */
  bootDevice?: 'pxe' | 'disk';
}

/** The bare-metal provider (capability: power; fencing relies on a verified power-off). */
export class BareMetalProvider implements Provider {
  readonly name = 'baremetal';
  readonly contractVersion = CONTRACT_VERSION;
  readonly kubernetesVersions: readonly string[];
  readonly capabilities: ProviderCapabilities = {
    power: true,
    loadBalancer: false,
    virtualIp: false,
    etcdSnapshot: false,
    kubernetesApi: true,
    certificateRotation: false,
    osImages: false,
    controlPlaneVip: true,
    controlPlaneReplacement: false,
    bareMetalHosts: true,
  };

  private readonly inventory: HostInventory;
  private readonly bmcs = new Map<string, Bmc>();
  /** Tail of the operations queued per machine id: one at a time per machine, machines in parallel. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Machines this process has powered on for provisioning, so that a repeated ensure does not redo it. */
  private readonly started = new Set<string>();
  /** Machines whose seed this process serves, with the host and the media slot holding it (none: IPMI). */
  private readonly seeded = new Map<string, { host: BareMetalHost; slot?: MediaSlot }>();

  constructor(private readonly options: BareMetalProviderOptions) {
    this.inventory = options.inventory;
    this.kubernetesVersions = options.kubernetesVersions ?? ['1.37.2', '1.36.3'];
  }

  ensureMachine(spec: MachineSpec, context?: EnsureContext): Promise<MachineStatus> {
    return this.serial(spec.clusterId, spec.machineId, async () => {
      const host = (await this.inventory.claimOf(spec.clusterId, spec.machineId)) ?? (await this.inventory.claim(spec));
      const bmc = this.bmc(host);
      let state = await bmc.powerState();
      const key = machineKey(spec.clusterId, spec.machineId);
      if (state === 'off' && !this.started.has(key)) {
        try {
          await this.bootOnce(bmc, this.options.installerImageUrl, this.options.bootDevice ?? 'pxe');
          if (this.options.seeds && context?.userData) await this.seed(key, spec, host, bmc, await context.userData());
        } catch (error) {
          // A seed nobody boots is withdrawn at once; the next attempt publishes a fresh one.
          await this.withdraw(key, bmc).catch(() => undefined);
          throw error;
        }
        // From here the host may boot with its seed (a power-on applied late included): it stays
        // served until the node joins or the machine is deleted; a host still off gets a fresh one.
        await bmc.power('on');
        await confirmPowerOn(
          () => bmc.powerState(),
          `host ${host.name} powering on to provision ${spec.name}`,
          this.powerTimeoutMs(),
        );
        this.started.add(key);
        state = 'on';
      } else {
        this.started.add(key);
      }
      return this.status(spec.clusterId, spec.machineId, spec.name, host, state);
    });
  }

  /**
   * Withdraws the seeds of machines whose nodes are Ready (sddc calls it after each node listing):
   * their URLs answer 404 at once, then their media is ejected. An eject that fails is tried again
   * on the next call; the node has joined either way.
   */
  async nodesJoined(clusterId: string, machineIds: string[]): Promise<void> {
    await Promise.all(
      machineIds
        .filter((machineId) => this.seeded.has(machineKey(clusterId, machineId)))
        .map((machineId) =>
          this.serial(clusterId, machineId, async () => {
            const key = machineKey(clusterId, machineId);
            const seeded = this.seeded.get(key);
            if (seeded) await this.withdraw(key, this.bmc(seeded.host)).catch(() => undefined);
          }),
        ),
    );
  }

  /** Whether this provider serves the machine's seed (for tests and diagnostics). */
  servesSeed(clusterId: string, machineId: string): boolean {
    return this.options.seeds?.serves(machineKey(clusterId, machineId)) ?? false;
  }

  /**
   * Publishes the machine's NoCloud seed and, on a BMC with virtual media, inserts its config
   * drive: beside the installer's CD when there is one, else in the CD drive. An IPMI host gets it
   * from the PXE flow (`ds=nocloud-net;s=<url>`, docs/providers/baremetal.md).
   */
  private async seed(key: string, spec: MachineSpec, host: BareMetalHost, bmc: Bmc, userData: string): Promise<void> {
    const seeds = this.options.seeds!;
    const files = { 'user-data': userData, 'meta-data': seedMetaData(spec.machineId, spec.name) };
    this.seeded.set(key, { host });
    // By MAC only for hosts without virtual media: such a URL is as guessable as the MAC.
    const mac = bmc.insertMedia ? undefined : host.bootMac;
    const published = await seeds.publish(key, files, await buildSeedImage(files), mac);
    if (!bmc.insertMedia) return;
    const slot: MediaSlot = this.options.installerImageUrl ? 'beside-cd' : 'cd';
    this.seeded.set(key, { host, slot });
    try {
      await bmc.insertMedia(published.imageUrl, slot);
    } catch (error) {
      // A BMC may quote the URL it failed to fetch: its token opens the seed, so it leaves no message.
      const message = error instanceof Error ? error.message : String(error);
      if (!message.includes(published.imageUrl)) throw error;
      throw refused(message.split(published.imageUrl).join('<seed URL>'), reasonOf(error) ?? 'VirtualMediaFailed');
    }
  }

  /** Stops serving the machine's seed, then ejects the media that holds it. */
  private async withdraw(key: string, bmc: Bmc): Promise<void> {
    this.options.seeds?.retire(key);
    const slot = this.seeded.get(key)?.slot;
    if (slot && bmc.ejectMedia) await bmc.ejectMedia(slot);
    this.seeded.delete(key);
  }

  async getMachine(clusterId: string, machineId: string): Promise<MachineStatus | null> {
    const claim = (await this.inventory.claims(clusterId)).find((c) => c.machineId === machineId);
    if (!claim) return null;
    return this.status(clusterId, machineId, claim.machineName, claim.host, await this.bmc(claim.host).powerState());
  }

  deleteMachine(clusterId: string, machineId: string): Promise<void> {
    return this.serial(clusterId, machineId, async () => {
      const host = await this.inventory.claimOf(clusterId, machineId);
      if (!host) return;
      const bmc = this.bmc(host);
      // The seed's secrets go first: its URLs answer 404 from here on.
      this.options.seeds?.retire(machineKey(clusterId, machineId));
      // Off first, always (and seen off): the cluster's workloads stop before anything else happens.
      await bmc.power('off');
      await this.ejectAll(bmc);
      this.seeded.delete(machineKey(clusterId, machineId));
      const wipe = host.cleanup === 'wipe';
      if (wipe) {
        await this.bootOnce(bmc, this.options.wipeImageUrl);
        await bmc.power('on');
        // The host is free again once it reads off: it must first be seen on, or a BMC that applies
        // the power-on late would hand it back before it was wiped.
        await confirmPowerOn(
          () => bmc.powerState(),
          `host ${host.name} powering on into its cleaning image`,
          this.powerTimeoutMs(),
        );
      }
      await this.inventory.release(clusterId, machineId, wipe);
      this.started.delete(machineKey(clusterId, machineId));
    });
  }

  /**
   * Returns to the free pool every host whose cleaning image has finished, which it shows by
   * powering the host off; its virtual media is ejected first. Answers the hosts returned.
   */
  async sweepCleaning(): Promise<string[]> {
    const done: string[] = [];
    for (const host of await this.inventory.cleaning()) {
      const bmc = this.bmc(host);
      if ((await bmc.powerState()) !== 'off') continue;
      if (bmc.ejectMedia && this.options.wipeImageUrl) await bmc.ejectMedia('cd');
      await this.inventory.cleaned(host.id);
      done.push(host.name);
    }
    return done;
  }

  async listMachines(clusterId: string): Promise<MachineStatus[]> {
    const claims = await this.inventory.claims(clusterId);
    return Promise.all(
      claims.map(async (claim) =>
        this.status(clusterId, claim.machineId, claim.machineName, claim.host, await this.bmc(claim.host).powerState()),
      ),
    );
  }

  setPower(clusterId: string, machineId: string, action: PowerAction): Promise<void> {
    return this.serial(clusterId, machineId, async () => {
      // power('off') resolves only once the BMC reads the host as off.
      await this.bmc(await this.claimed(clusterId, machineId)).power(action);
    });
  }

  async getPowerState(clusterId: string, machineId: string): Promise<PowerState> {
    return this.bmc(await this.claimed(clusterId, machineId)).powerState();
  }

  async close(): Promise<void> {
    const bmcs = [...this.bmcs.values()];
    this.bmcs.clear();
    await Promise.all([...bmcs.map((bmc) => bmc.close()), this.options.seeds?.close()]);
  }

  /**
   * Ejects whatever cx may have inserted (installer, seed), known or not to this process (sddc may
   * have restarted since): a BMC without a slot beside its CD had nothing there.
   */
  private async ejectAll(bmc: Bmc): Promise<void> {
    if (!bmc.ejectMedia) return;
    const installer = Boolean(this.options.installerImageUrl);
    const seeds = Boolean(this.options.seeds);
    if (installer || seeds) await bmc.ejectMedia('cd');
    if (installer && seeds) {
      await bmc.ejectMedia('beside-cd').catch((error: unknown) => {
        if (reasonOf(error) !== 'VirtualMediaUnsupported') throw error;
      });
    }
  }

  /** Boot once from `imageUrl` as a virtual CD when given and supported, else from `fallback`. */
  private async bootOnce(bmc: Bmc, imageUrl: string | undefined, fallback: BootDevice = 'pxe'): Promise<void> {
    try {
      if (imageUrl && bmc.insertMedia) {
        await bmc.insertMedia(imageUrl, 'cd');
        await bmc.setBootOnce('cd');
      } else {
        await bmc.setBootOnce(fallback);
      }
    } catch (error) {
      // A BMC that refuses a one-time boot device (some IPMI BMCs) still boots by its own order,
      // which the admin sets up to reach PXE; anything else stops the provisioning.
      if (reasonOf(error) !== 'BootDeviceRefused') throw error;
    }
  }

  private status(
    clusterId: string,
    machineId: string,
    name: string,
    host: BareMetalHost,
    powerState: PowerState,
  ): MachineStatus {
    const provisioning = powerState === 'off' && this.started.has(machineKey(clusterId, machineId));
    return {
      machineId,
      clusterId,
      name,
      providerId: providerId(host),
      powerState,
      addresses: [...host.addresses],
      phase: powerState === 'on' ? 'Running' : provisioning ? 'Provisioning' : 'Stopped',
      tags: { cluster: clusterId, machine: machineId },
    };
  }

  private async claimed(clusterId: string, machineId: string): Promise<BareMetalHost> {
    const host = await this.inventory.claimOf(clusterId, machineId);
    if (!host) throw new NotFoundError(`machine ${machineId} of cluster ${clusterId} holds no bare-metal host`);
    return host;
  }

  /** One BMC client per host and access, reused across operations. */
  private bmc(host: BareMetalHost): Bmc {
    const key = JSON.stringify([host.id, host.bmc]);
    let bmc = this.bmcs.get(key);
    if (!bmc) {
      bmc = connectBmc(host.bmc, {
        powerTimeoutMs: this.powerTimeoutMs(),
        ...(this.options.bmcTimeoutMs ? { timeoutMs: this.options.bmcTimeoutMs } : {}),
      });
      this.bmcs.set(key, bmc);
    }
    return bmc;
  }

  /** How long a power change may take to be read back. */
  private powerTimeoutMs(): number {
    return this.options.powerTimeoutMs ?? DEFAULT_POWER_TIMEOUT_MS;
  }

  private serial<T>(clusterId: string, machineId: string, operation: () => Promise<T>): Promise<T> {
    const key = machineKey(clusterId, machineId);
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(operation, operation);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }
}

/** `<bmc address>/<system id>` for Redfish, `ipmi://<address>` for IPMI: where the host is driven from. */
export function providerId(host: BareMetalHost): string {
  if (host.bmc.protocol === 'ipmi') return `ipmi://${host.bmc.address}`;
  return `${host.bmc.address.replace(/\/+$/, '')}/${host.bmc.systemId ?? host.id}`;
}

function machineKey(clusterId: string, machineId: string): string {
  return JSON.stringify([clusterId, machineId]);
}
