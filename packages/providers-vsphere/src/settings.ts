/**
 * The settings of a vSphere credential (`ProviderCredential.settings`): where cx puts machines.
 * Paths are vSphere inventory paths, as govc shows them (`/DC0/vm/templates/ubuntu-24.04`).
 */
import { InputError } from '@cx/errors';

export interface VsphereSettings {
  datacenter: string;
  computeCluster?: string;
  resourcePool?: string;
  datastore?: string;
  network?: string;
  folder?: string;
  template: string;
  linkedClone: boolean;
  defaults: { vcpus: number; memoryMiB: number; diskGiB?: number };
  ipTimeoutSeconds: number;
}

/** The paths among the settings, each resolved by `validateCredential`. */
export const PATH_SETTINGS = [
  'datacenter',
  'computeCluster',
  'resourcePool',
  'datastore',
  'network',
  'folder',
  'template',
] as const;

/** JSON Schema (draft 2020-12) of the settings; docs/providers/vsphere.md explains each. */
export const SETTINGS_SCHEMA: Record<string, unknown> = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['datacenter', 'template'],
  properties: {
    datacenter: { type: 'string', minLength: 1, description: 'Inventory path of the datacenter, e.g. /DC0' },
    computeCluster: {
      type: 'string',
      minLength: 1,
      description: 'Inventory path of the compute cluster (DRS anti-affinity of control planes)',
    },
    resourcePool: {
      type: 'string',
      minLength: 1,
      description: "Inventory path of a resource pool (instead of the cluster's root pool)",
    },
    datastore: {
      type: 'string',
      minLength: 1,
      description: "Inventory path of the datastore of the clones (default: the template's)",
    },
    network: {
      type: 'string',
      minLength: 1,
      description: "Inventory path of the network of the first NIC (default: the template's)",
    },
    folder: {
      type: 'string',
      minLength: 1,
      description: "Inventory path of the VM folder (default: the datacenter's vm folder)",
    },
    template: {
      type: 'string',
      minLength: 1,
      description: 'Inventory path of the template VM (cloud-init with the VMware guestinfo datasource)',
    },
    linkedClone: {
      type: 'boolean',
      default: false,
      description: "Clone from the template's current snapshot with child disks",
    },
    defaults: {
      type: 'object',
      additionalProperties: false,
      properties: {
        vcpus: { type: 'integer', minimum: 1, default: 2 },
        memoryMiB: { type: 'integer', minimum: 256, default: 4096 },
        diskGiB: { type: 'integer', minimum: 1 },
      },
    },
    ipTimeoutSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 3600,
      default: 30,
      description: 'How long ensureMachine waits for the guest to report an IP before answering Provisioning',
    },
  },
};

function field(key: string, message: string): InputError {
  return new InputError(`vSphere setting ${key}: ${message}`, [{ field: `body.settings.${key}`, message }]);
}

/** Checks and completes the settings; an invalid one is an `InputError` naming `body.settings.<key>`. */
export function parseSettings(raw: Record<string, unknown>): VsphereSettings {
  const path = (key: string, required: boolean): string | undefined => {
    const value = raw[key];
    if (value === undefined || value === null || value === '') {
      if (required) throw field(key, 'is required (an inventory path)');
      return undefined;
    }
    if (typeof value !== 'string') throw field(key, 'must be an inventory path (a string)');
    return value;
  };
  const integer = (value: unknown, key: string, min: number, fallback: number | undefined): number | undefined => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
      throw field(key, `must be an integer of at least ${min}`);
    return value;
  };
  const defaults = (raw['defaults'] ?? {}) as Record<string, unknown>;
  if (typeof defaults !== 'object' || Array.isArray(defaults))
    throw field('defaults', 'must be an object { vcpus, memoryMiB, diskGiB }');
  const linkedClone = raw['linkedClone'] ?? false;
  if (typeof linkedClone !== 'boolean') throw field('linkedClone', 'must be true or false');
  const diskGiB = integer(defaults['diskGiB'], 'defaults.diskGiB', 1, undefined);
  return {
    datacenter: path('datacenter', true)!,
    computeCluster: path('computeCluster', false),
    resourcePool: path('resourcePool', false),
    datastore: path('datastore', false),
    network: path('network', false),
    folder: path('folder', false),
    template: path('template', true)!,
    linkedClone,
    defaults: {
      vcpus: integer(defaults['vcpus'], 'defaults.vcpus', 1, 2)!,
      memoryMiB: integer(defaults['memoryMiB'], 'defaults.memoryMiB', 256, 4096)!,
      ...(diskGiB === undefined ? {} : { diskGiB }),
    },
    ipTimeoutSeconds: integer(raw['ipTimeoutSeconds'], 'ipTimeoutSeconds', 0, 30)!,
  };
}
