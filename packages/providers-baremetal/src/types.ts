import type { MachineSpec, PowerAction, PowerState } from '@cx/sddc-contract';

/** How cx reaches the BMC of one host; registered by an admin and checked with `validateBmc`. */
export interface BmcAccess {
  protocol: 'redfish' | 'ipmi';
  /** Redfish: `https://host:port`; IPMI: `host:port` (port 623 when absent). */
  address: string;
  username: string;
  password: string;
  /** PEM of the CA that signed the Redfish service's certificate. */
  caCert?: string | null;
  /** Skip certificate verification (labs only). */
  insecure: boolean;
  /** Redfish system id; absent: the BMC's only system. */
  systemId?: string;
}

/** A physical host cx may give to a machine; kept in sm's inventory. */
export interface BareMetalHost {
  id: string;
  name: string;
  bmc: BmcAccess;
  /** MAC of the NIC the host PXE-boots from. */
  bootMac?: string;
  /** Addresses the host has once its operating system runs (reported as the machine's). */
  addresses: string[];
  labels: Record<string, string>;
  capacity: { vcpus: number; memoryMiB: number; diskGiB: number };
  /** What deleting the machine that holds the host does to it (chosen by that machine's cluster); default power-off. */
  cleanup?: HostCleanup;
}

/**
 * power-off: the host is powered off (and seen off) and free at once. wipe: it is booted once into
 * a cleaning image that erases its disks and powers it off; it is free again only then.
 */
export type HostCleanup = 'power-off' | 'wipe';

/** Which machine holds a host. */
export interface HostClaim {
  host: BareMetalHost;
  clusterId: string;
  machineId: string;
  machineName: string;
}

/** Host inventory (kept in sm). claim is idempotent by machine id and never gives one host to two machines. */
export interface HostInventory {
  /** Throws a ProviderError with reason `NoFreeHost` when no free host matches. */
  claim(spec: MachineSpec): Promise<BareMetalHost>;
  claimOf(clusterId: string, machineId: string): Promise<BareMetalHost | null>;
  claims(clusterId: string): Promise<HostClaim[]>;
  /** Frees the host; with `cleaning`, it is held back (state cleaning) until `cleaned`. */
  release(clusterId: string, machineId: string, cleaning?: boolean): Promise<void>;
  /** Hosts released for cleaning that are not yet free again. */
  cleaning(): Promise<BareMetalHost[]>;
  /** Returns a cleaned host to the free pool. */
  cleaned(hostId: string): Promise<void>;
}

export type BootDevice = 'pxe' | 'cd' | 'disk';

/**
 * A virtual media slot: `cd` is the BMC's (first) virtual CD/DVD drive; `beside-cd` is a slot next
 * to it, for a machine's seed while the CD holds the installer: a removable one (USB stick,
 * floppy) if the BMC has one, else a second CD/DVD drive.
 */
export type MediaSlot = 'cd' | 'beside-cd';

/**
 * One host's BMC, whatever its protocol, so that the provider reads the same way over Redfish
 * and IPMI. `power('off')` resolves only once the BMC reads the host as off (fencing relies on it).
 */
export interface Bmc {
  powerState(): Promise<PowerState>;
  power(action: PowerAction): Promise<void>;
  /** Boots `device` on the next boot only. */
  setBootOnce(device: BootDevice): Promise<void>;
  /** Present when the BMC can attach an image as virtual media: in its CD drive, or in a slot beside it. */
  insertMedia?(imageUrl: string, slot?: MediaSlot): Promise<void>;
  /** Ejects what the slot holds (nothing inserted: nothing to do). */
  ejectMedia?(slot?: MediaSlot): Promise<void>;
  /** Logs in and finds the system: what an admin's registration of the host is checked with. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** Deadlines of BMC operations. */
export interface BmcOptions {
  /** Deadline of one request or ipmitool run. */
  timeoutMs?: number;
  /** How long a power-off may take to be read back as off. */
  powerTimeoutMs?: number;
  /** Attempts of an idempotent request that failed for a retryable reason (1 = no retry). */
  attempts?: number;
}
