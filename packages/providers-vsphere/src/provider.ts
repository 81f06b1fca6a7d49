/**
 * The vSphere provider: machines are VMs cloned from a template through vCenter's vim25 SOAP API,
 * owned through custom attributes (`cx-cluster`, `cx-machine`, `cx-role`) and marked at clone time
 * in extraConfig (`cx.cluster`, `cx.machine`), so that a crash between clone and tagging is healed.
 */
import { InputError, NotFoundError } from '@cx/errors';
import { refused } from '@cx/provider-kit';
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
import {
  type ObjectProps,
  type Props,
  findByPath,
  findChild,
  retrieveOne,
  retrieveView,
  runTask,
  toWire,
} from './inventory.js';
import { type VsphereSettings } from './settings.js';
import {
  type MoRef,
  type VimClient,
  type XmlNode,
  asMoRef,
  child,
  faultOf,
  list,
  mor,
  text,
  typed,
} from './vim-client.js';

/** Names of the custom attributes cx puts on its VMs. */
export const FIELDS = { cluster: 'cx-cluster', machine: 'cx-machine', role: 'cx-role' } as const;

/** Name of the DRS rule that keeps a cluster's control-plane VMs on different hosts. */
export function antiAffinityRuleName(clusterId: string): string {
  return `cx-${clusterId}-control-plane`;
}

const VM_PATHS = ['name', 'customValue', 'runtime.powerState', 'guest.ipAddress', 'guest.net'];

/** Where machines go, resolved once from the settings. */
export interface Placement {
  datacenter: MoRef;
  folder: MoRef;
  pool: MoRef;
  cluster: MoRef | undefined;
  datastore: MoRef | undefined;
  network: MoRef | undefined;
  template: MoRef;
}

/** Resolves every path of the settings; `missing` names the first one that does not resolve. */
export async function resolvePlacement(
  vim: VimClient,
  settings: VsphereSettings,
  missing: (key: string, message: string) => Error,
): Promise<Placement> {
  const need = async (key: keyof VsphereSettings, types: string[]): Promise<MoRef | undefined> => {
    const path = settings[key];
    if (typeof path !== 'string') return undefined;
    const ref = await findByPath(vim, path);
    if (!ref)
      throw missing(
        key,
        `${path} was not found in the inventory (give a full inventory path, e.g. /DC0/vm/templates/ubuntu)`,
      );
    if (!types.includes(ref.type)) throw missing(key, `${path} is a ${ref.type}, not a ${types.join(' or ')}`);
    return ref;
  };
  const datacenter = (await need('datacenter', ['Datacenter']))!;
  const template = (await need('template', ['VirtualMachine']))!;
  const cluster = await need('computeCluster', ['ClusterComputeResource', 'ComputeResource']);
  let pool = await need('resourcePool', ['ResourcePool', 'VirtualApp']);
  const datastore = await need('datastore', ['Datastore']);
  const network = await need('network', ['Network', 'DistributedVirtualPortgroup', 'OpaqueNetwork']);
  let folder = await need('folder', ['Folder']);
  folder ??= asMoRef((await retrieveOne(vim, datacenter, ['vmFolder']))?.['vmFolder']);
  if (!folder) throw missing('folder', 'the datacenter has no vm folder');
  let drsCluster = cluster?.type === 'ClusterComputeResource' ? cluster : undefined;
  if (!pool && cluster) pool = asMoRef((await retrieveOne(vim, cluster, ['resourcePool']))?.['resourcePool']);
  if (!pool)
    throw missing('computeCluster', 'give computeCluster or resourcePool: cx needs to know where to run the VMs');
  if (!drsCluster && pool) {
    const owner = asMoRef((await retrieveOne(vim, pool, ['owner']))?.['owner']);
    if (owner?.type === 'ClusterComputeResource') drsCluster = owner;
  }
  return { datacenter, folder, pool, cluster: drsCluster, datastore, network, template };
}

/** The first network adapter among a VM's devices. */
function findNic(devices: XmlNode[]): XmlNode | undefined {
  return devices.find((d) => /Ethernet|E1000|Vmxnet|PCNet32/i.test(String(child(d, '@_xsi:type') ?? '')));
}

/** Serialises async work per key (one machine, one DRS cluster) inside this process. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(work);
    this.tails.set(key, current);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === current) this.tails.delete(key);
    }
  }
}

interface Found {
  ref: MoRef;
  props: Props;
  fields: Record<string, string>;
}

export interface VsphereProviderOptions {
  vim: VimClient;
  settings: VsphereSettings;
  kubernetesVersions: readonly string[];
  /** Deadline of one vSphere task (clone, power, destroy, reconfigure). */
  taskTimeoutMs?: number;
}

/** What a vSphere provider offers, the same for the factory and each connected provider. */
export const VSPHERE_CAPABILITIES: ProviderCapabilities = {
  power: true,
  loadBalancer: false,
  virtualIp: false,
  etcdSnapshot: false,
  kubernetesApi: true,
  certificateRotation: false,
  osImages: true,
  controlPlaneVip: true,
  controlPlaneReplacement: false,
  bareMetalHosts: false,
};

/** A `Provider` bound to one vCenter credential. */
export class VsphereProvider implements Provider {
  readonly name = 'vsphere';
  readonly contractVersion = CONTRACT_VERSION;
  readonly kubernetesVersions: readonly string[];
  readonly capabilities: ProviderCapabilities = VSPHERE_CAPABILITIES;
  private readonly vim: VimClient;
  private readonly settings: VsphereSettings;
  private readonly taskTimeoutMs: number;
  private readonly machineLock = new KeyedLock();
  private readonly ruleLock = new KeyedLock();
  private placement: Promise<Placement> | undefined;
  private fieldKeys: Promise<Record<string, string>> | undefined;

  constructor(options: VsphereProviderOptions) {
    this.vim = options.vim;
    this.settings = options.settings;
    this.kubernetesVersions = options.kubernetesVersions;
    this.taskTimeoutMs = options.taskTimeoutMs ?? 600_000;
  }

  private where(): Promise<Placement> {
    this.placement ??= resolvePlacement(this.vim, this.settings, (key, message) =>
      refused(
        `vSphere setting ${key}: ${message}; fix the credential's settings`,
        key === 'template' ? 'TemplateNotFound' : 'NotFound',
      ),
    ).catch((error: unknown) => {
      this.placement = undefined;
      throw error;
    });
    return this.placement;
  }

  /** The template a machine is cloned from: its spec's image (after an OS upgrade), else the settings'. */
  private async templateOf(spec: MachineSpec, where: Placement): Promise<{ ref: MoRef; path: string }> {
    if (spec.image === undefined) return { ref: where.template, path: this.settings.template };
    const ref = await findByPath(this.vim, spec.image);
    if (ref?.type !== 'VirtualMachine')
      throw refused(
        `the template ${spec.image} ${ref ? `is a ${ref.type}, not a VirtualMachine` : `was not found in ${this.vim.label}`}`,
        'TemplateNotFound',
      );
    return { ref, path: spec.image };
  }

  /** An OS image is a template VM's inventory path (like the `template` setting). */
  async checkImage(image: string): Promise<void> {
    const ref = await findByPath(this.vim, image);
    const message = ref
      ? `${image} is a ${ref.type}, not a VirtualMachine`
      : `${image} was not found in the inventory (give a full inventory path, e.g. /DC0/vm/templates/ubuntu)`;
    if (ref?.type !== 'VirtualMachine')
      throw new InputError(`vSphere template ${image}: ${message}`, [{ field: 'body.image', message }]);
  }

  /** Keys of the cx custom attributes, defined on first use (`AddCustomFieldDef`). */
  private fields(): Promise<Record<string, string>> {
    this.fieldKeys ??= this.defineFields().catch((error: unknown) => {
      this.fieldKeys = undefined;
      throw error;
    });
    return this.fieldKeys;
  }

  private async defineFields(): Promise<Record<string, string>> {
    const { customFieldsManager } = await this.vim.serviceContent();
    const read = async (): Promise<Record<string, string>> => {
      const defs = list(
        child((await retrieveOne(this.vim, customFieldsManager, ['field']))?.['field'], 'CustomFieldDef'),
      );
      const keys: Record<string, string> = {};
      for (const def of defs) {
        const name = text(child(def, 'name'));
        const key = text(child(def, 'key'));
        if (name && key) keys[name] = key;
      }
      return keys;
    };
    const keys = await read();
    for (const name of Object.values(FIELDS)) {
      if (keys[name]) continue;
      try {
        await this.vim.call('AddCustomFieldDef', { _this: mor(customFieldsManager), name, moType: 'VirtualMachine' });
      } catch (error) {
        // Another replica defined it meanwhile.
        if (faultOf(error) !== 'DuplicateName') throw error;
      }
    }
    const final = await read();
    for (const name of Object.values(FIELDS)) {
      if (!final[name]) throw refused(`${this.vim.label} did not keep the custom attribute ${name}`, 'Refused');
    }
    return final;
  }

  /** The custom attribute values of a VM, by attribute name. */
  private async fieldValues(props: Props): Promise<Record<string, string>> {
    const keys = await this.fields();
    const byKey = new Map(Object.entries(keys).map(([name, key]) => [key, name]));
    const out: Record<string, string> = {};
    for (const value of list(child(props['customValue'], 'CustomFieldValue'))) {
      const name = byKey.get(text(child(value, 'key')) ?? '');
      const v = text(child(value, 'value'));
      if (name && v !== undefined) out[name] = v;
    }
    return out;
  }

  /** Every VM cx owns for the cluster (and machine), read from vCenter, not from memory. */
  private async owned(clusterId: string, machineId?: string): Promise<Found[]> {
    const { rootFolder } = await this.vim.serviceContent();
    const vms = await retrieveView(this.vim, rootFolder, 'VirtualMachine', VM_PATHS);
    const out: Found[] = [];
    for (const vm of vms) {
      const fields = await this.fieldValues(vm.props);
      if (fields[FIELDS.cluster] !== clusterId) continue;
      if (machineId !== undefined && fields[FIELDS.machine] !== machineId) continue;
      out.push({ ref: vm.ref, props: vm.props, fields });
    }
    return out;
  }

  private async find(clusterId: string, machineId: string): Promise<Found | undefined> {
    return (await this.owned(clusterId, machineId))[0];
  }

  private status(found: Found): MachineStatus {
    const power = text(found.props['runtime.powerState']);
    const addresses = new Set<string>();
    const primary = text(found.props['guest.ipAddress']);
    if (primary) addresses.add(primary);
    for (const nic of list(child(found.props['guest.net'], 'GuestNicInfo'))) {
      for (const ip of list(child(nic, 'ipAddress'))) {
        const address = text(ip);
        if (address && !address.startsWith('fe80:') && !address.startsWith('127.')) addresses.add(address);
      }
    }
    const powerState: PowerState = power === 'poweredOff' ? 'off' : 'on';
    const phase =
      power === 'poweredOff' ? 'Stopped' : power === 'poweredOn' && addresses.size > 0 ? 'Running' : 'Provisioning';
    const clusterId = found.fields[FIELDS.cluster] ?? '';
    const machineId = found.fields[FIELDS.machine] ?? '';
    return {
      machineId,
      clusterId,
      name: text(found.props['name']) ?? '',
      providerId: found.ref.value,
      phase,
      powerState,
      addresses: [...addresses],
      tags: { cluster: clusterId, machine: machineId },
    };
  }

  async ensureMachine(spec: MachineSpec, context?: EnsureContext): Promise<MachineStatus> {
    return this.machineLock.run(`${spec.clusterId}/${spec.machineId}`, async () => {
      let found = await this.find(spec.clusterId, spec.machineId);
      if (!found) {
        const ref = await this.create(spec, context);
        await this.tag(ref, [
          [FIELDS.cluster, spec.clusterId],
          [FIELDS.machine, spec.machineId],
        ]);
        found = await this.find(spec.clusterId, spec.machineId);
        if (!found)
          throw refused(
            `${this.vim.label} lost VM ${ref.value} of machine ${spec.machineId} right after creating it`,
            'Refused',
            { retryable: true },
          );
      }
      // `cx-role` is set last, after the first power-on: a VM without it was never started (a crash
      // came between), whereas a tagged VM that is off was powered off on purpose and stays off.
      if (found.fields[FIELDS.role] === undefined) {
        await this.powerTask('PowerOnVM_Task', found.ref, ['InvalidPowerState']);
        await this.tag(found.ref, [[FIELDS.role, spec.role]]);
        found = (await this.find(spec.clusterId, spec.machineId)) ?? found;
      }
      if (spec.role === 'control-plane') await this.syncAntiAffinity(spec.clusterId);
      const status = this.status(found);
      if (status.phase !== 'Provisioning' || this.settings.ipTimeoutSeconds === 0) return status;
      // Give the guest a moment to report its address; still Provisioning afterwards is fine.
      const deadline = Date.now() + this.settings.ipTimeoutSeconds * 1000;
      let latest = status;
      while (latest.phase === 'Provisioning' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const props = await retrieveOne(this.vim, found.ref, VM_PATHS);
        if (!props) break;
        latest = this.status({ ...found, props });
      }
      return latest;
    });
  }

  /** Clones the VM; a DuplicateName of our own earlier clone (crash before tagging) is adopted. */
  private async create(spec: MachineSpec, context?: EnsureContext): Promise<MoRef> {
    const where = await this.where();
    const source = await this.templateOf(spec, where);
    const template = await retrieveOne(this.vim, source.ref, ['config.hardware.device', 'snapshot.currentSnapshot']);
    if (!template) throw refused(`the template ${source.path} disappeared from ${this.vim.label}`, 'TemplateNotFound');
    const vcpus = spec.resources?.vcpus ?? this.settings.defaults.vcpus;
    const memoryMiB = spec.resources?.memoryMiB ?? this.settings.defaults.memoryMiB;
    const diskGiB = spec.resources?.diskGiB ?? this.settings.defaults.diskGiB;
    if (where.network && !findNic(list(child(template['config.hardware.device'], 'VirtualDevice')))) {
      throw refused(
        `the template ${source.path} has no network adapter to attach to ${this.settings.network}`,
        'TemplateNotFound',
      );
    }
    const extraConfig: Array<[string, string]> = [
      [`cx.cluster`, spec.clusterId],
      [`cx.machine`, spec.machineId],
    ];
    const userData = context?.userData ? await context.userData() : undefined;
    if (userData !== undefined) {
      const metadata = `instance-id: ${JSON.stringify(spec.machineId)}\nlocal-hostname: ${JSON.stringify(spec.name)}\n`;
      extraConfig.push(
        ['guestinfo.metadata', Buffer.from(metadata).toString('base64')],
        ['guestinfo.metadata.encoding', 'base64'],
        ['guestinfo.userdata', Buffer.from(userData).toString('base64')],
        ['guestinfo.userdata.encoding', 'base64'],
      );
    }
    let diskMoveType: string | undefined;
    let snapshot: MoRef | undefined;
    if (this.settings.linkedClone) {
      snapshot = asMoRef(template['snapshot.currentSnapshot']);
      if (!snapshot)
        throw refused(
          `linkedClone needs a snapshot on the template ${source.path}; take one or set linkedClone to false`,
          'TemplateHasNoSnapshot',
        );
      diskMoveType = 'createNewChildDiskBacking';
    }
    // Only the ownership marks ride on the clone (atomic with it on vCenter); the rest is applied
    // by a reconfigure, also after an adopted clone (vcsim ignores a clone's config altogether).
    const marks = extraConfig.slice(0, 2).map(([key, value]) => ({ key, value: typed('xsd:string', value) }));
    const cloneSpec = {
      location: {
        ...(where.datastore ? { datastore: mor(where.datastore) } : {}),
        ...(diskMoveType ? { diskMoveType } : {}),
        pool: mor(where.pool),
      },
      template: false,
      config: { extraConfig: marks },
      powerOn: false,
      ...(snapshot ? { snapshot: mor(snapshot) } : {}),
    };
    let ref: MoRef | undefined;
    try {
      ref = asMoRef(
        await runTask(
          this.vim,
          'CloneVM_Task',
          { _this: mor(source.ref), folder: mor(where.folder), name: spec.name, spec: cloneSpec },
          this.taskTimeoutMs,
        ),
      );
      if (!ref)
        throw refused(`${this.vim.label} cloned ${spec.name} but did not name the new VM`, 'EndpointFailing', {
          retryable: true,
        });
    } catch (error) {
      if (faultOf(error) !== 'DuplicateName') throw error;
      ref = await this.adopt(where.folder, spec, error);
    }
    // Devices are edited as the clone has them (its own disk files), never as the template's.
    const deviceChange = await this.deviceChanges(ref, where, diskGiB);
    const config = {
      numCPUs: vcpus,
      memoryMB: memoryMiB,
      ...(deviceChange.length > 0 ? { deviceChange } : {}),
      extraConfig: extraConfig.map(([key, value]) => ({ key, value: typed('xsd:string', value) })),
    };
    await runTask(this.vim, 'ReconfigVM_Task', { _this: mor(ref), spec: config }, this.taskTimeoutMs);
    return ref;
  }

  /** Edits of the clone's first NIC (onto the configured network) and first disk (grown to diskGiB). */
  private async deviceChanges(ref: MoRef, where: Placement, diskGiB: number | undefined): Promise<unknown[]> {
    const devices = list(
      child(
        (await retrieveOne(this.vim, ref, ['config.hardware.device']))?.['config.hardware.device'],
        'VirtualDevice',
      ),
    );
    const changes: unknown[] = [];
    if (where.network) {
      const nic = findNic(devices);
      if (!nic)
        throw refused(
          `the clone of the template has no network adapter to attach to ${this.settings.network}`,
          'TemplateNotFound',
        );
      changes.push({
        operation: 'edit',
        device: { ...(toWire(nic) as Record<string, unknown>), backing: await this.backing(where.network) },
      });
    }
    const disk = devices.find((d) => child(d, '@_xsi:type') === 'VirtualDisk');
    const wanted = diskGiB === undefined ? 0 : diskGiB * 1024 * 1024;
    if (disk && wanted > Number(text(child(disk, 'capacityInKB')) ?? '0')) {
      const wire = toWire(disk) as Record<string, unknown>;
      wire['capacityInKB'] = String(wanted);
      if ('capacityInBytes' in wire) wire['capacityInBytes'] = String(wanted * 1024);
      changes.push({ operation: 'edit', device: wire });
    }
    return changes;
  }

  /** The VM of this name in the folder, if our extraConfig marks it as this machine's. */
  private async adopt(folder: MoRef, spec: MachineSpec, cause: unknown): Promise<MoRef> {
    const ref = await findChild(this.vim, folder, spec.name);
    const props = ref ? await retrieveOne(this.vim, ref, ['config.extraConfig']) : undefined;
    const extra = new Map(
      list(child(props?.['config.extraConfig'], 'OptionValue')).map((o) => [
        text(child(o, 'key')),
        text(child(o, 'value')),
      ]),
    );
    if (!ref || extra.get('cx.machine') !== spec.machineId || extra.get('cx.cluster') !== spec.clusterId) {
      // Retryable: it may be another replica's clone of this machine that is not reconfigured yet.
      throw refused(
        `a VM named ${spec.name} already exists in the folder and is not marked as machine ${spec.machineId}; if it is not being created by cx, rename or remove it`,
        'NameTaken',
        { retryable: true, cause },
      );
    }
    return ref;
  }

  private async backing(network: MoRef): Promise<Record<string, unknown>> {
    if (network.type === 'DistributedVirtualPortgroup') {
      const pg = await retrieveOne(this.vim, network, ['key', 'config.distributedVirtualSwitch']);
      const dvs = asMoRef(pg?.['config.distributedVirtualSwitch']);
      const uuid = dvs ? text((await retrieveOne(this.vim, dvs, ['uuid']))?.['uuid']) : undefined;
      if (!pg || !uuid) throw refused(`the port group ${this.settings.network} has no distributed switch`, 'NotFound');
      return typed('VirtualEthernetCardDistributedVirtualPortBackingInfo', {
        port: { switchUuid: uuid, portgroupKey: text(pg['key']) },
      });
    }
    const name = text((await retrieveOne(this.vim, network, ['name']))?.['name']);
    if (!name) throw refused(`the network ${this.settings.network} disappeared`, 'NotFound');
    if (network.type === 'OpaqueNetwork')
      throw refused(`opaque (NSX) networks are not supported; use a port group`, 'Refused');
    return typed('VirtualEthernetCardNetworkBackingInfo', { deviceName: name, network: mor(network) });
  }

  private async tag(ref: MoRef, values: Array<[string, string]>): Promise<void> {
    const keys = await this.fields();
    const { customFieldsManager } = await this.vim.serviceContent();
    for (const [name, value] of values) {
      await this.vim.call('SetField', { _this: mor(customFieldsManager), entity: mor(ref), key: keys[name], value });
    }
  }

  /**
   * Keeps the DRS rule `cx-<cluster>-control-plane` equal to the cluster's control-plane VMs as
   * vCenter lists them (so it heals after a crash or a concurrent replica). A rule needs two VMs:
   * with fewer it is removed.
   */
  private async syncAntiAffinity(clusterId: string): Promise<void> {
    const where = await this.where();
    const drs = where.cluster;
    if (!drs) return;
    await this.ruleLock.run(drs.value, async () => {
      const vms = (await this.owned(clusterId))
        .filter((m) => m.fields[FIELDS.role] === 'control-plane')
        .map((m) => m.ref);
      const name = antiAffinityRuleName(clusterId);
      const rules = list(child((await retrieveOne(this.vim, drs, ['configurationEx']))?.['configurationEx'], 'rule'));
      const existing = rules.find((r) => text(child(r, 'name')) === name);
      const key = text(child(existing, 'key'));
      const current = new Set(list(child(existing, 'vm')).map((v) => text(v)));
      let rulesSpec: Record<string, unknown> | undefined;
      if (vms.length >= 2) {
        if (existing && current.size === vms.length && vms.every((vm) => current.has(vm.value))) return;
        rulesSpec = {
          operation: existing ? 'edit' : 'add',
          info: typed('ClusterAntiAffinityRuleSpec', {
            ...(key ? { key } : {}),
            enabled: true,
            name,
            mandatory: false,
            userCreated: true,
            vm: vms.map((vm) => mor(vm)),
          }),
        };
      } else if (existing && key) {
        rulesSpec = { operation: 'remove', removeKey: typed('xsd:int', key) };
      }
      if (!rulesSpec) return;
      await runTask(
        this.vim,
        'ReconfigureComputeResource_Task',
        { _this: mor(drs), spec: typed('ClusterConfigSpecEx', { rulesSpec }), modify: true },
        this.taskTimeoutMs,
      );
    });
  }

  async getMachine(clusterId: string, machineId: string): Promise<MachineStatus | null> {
    const found = await this.find(clusterId, machineId);
    return found ? this.status(found) : null;
  }

  async listMachines(clusterId: string): Promise<MachineStatus[]> {
    return (await this.owned(clusterId)).map((found) => this.status(found));
  }

  async deleteMachine(clusterId: string, machineId: string): Promise<void> {
    await this.machineLock.run(`${clusterId}/${machineId}`, async () => {
      const found = await this.find(clusterId, machineId);
      if (!found) return;
      try {
        if (text(found.props['runtime.powerState']) !== 'poweredOff')
          await this.powerTask('PowerOffVM_Task', found.ref, ['InvalidPowerState']);
        await runTask(this.vim, 'Destroy_Task', { _this: mor(found.ref) }, this.taskTimeoutMs);
      } catch (error) {
        if (faultOf(error) !== 'ManagedObjectNotFound') throw error;
      }
      if (found.fields[FIELDS.role] === 'control-plane') await this.syncAntiAffinity(clusterId);
    });
  }

  private async powerTask(method: string, ref: MoRef, ignore: string[]): Promise<void> {
    try {
      await runTask(this.vim, method, { _this: mor(ref) }, this.taskTimeoutMs);
    } catch (error) {
      if (!ignore.includes(faultOf(error) ?? '')) throw error;
    }
  }

  private async mustFind(clusterId: string, machineId: string): Promise<Found> {
    const found = await this.find(clusterId, machineId);
    if (!found) throw new NotFoundError(`vSphere has no VM of machine ${machineId} in cluster ${clusterId}`);
    return found;
  }

  async setPower(clusterId: string, machineId: string, action: PowerAction): Promise<void> {
    const found = await this.mustFind(clusterId, machineId);
    const state = text(found.props['runtime.powerState']);
    if (action === 'off') {
      if (state !== 'poweredOff') await this.powerTask('PowerOffVM_Task', found.ref, ['InvalidPowerState']);
    } else if (action === 'on' || state === 'poweredOff') {
      if (state !== 'poweredOn') await this.powerTask('PowerOnVM_Task', found.ref, ['InvalidPowerState']);
    } else {
      await this.powerTask('ResetVM_Task', found.ref, []);
    }
  }

  async getPowerState(clusterId: string, machineId: string): Promise<PowerState> {
    const found = await this.mustFind(clusterId, machineId);
    // Read again, by the VM itself, so that fencing sees vCenter's latest state.
    const props = await retrieveOne(this.vim, found.ref, ['runtime.powerState']);
    if (!props) throw new NotFoundError(`vSphere has no VM of machine ${machineId} in cluster ${clusterId}`);
    return text(props['runtime.powerState']) === 'poweredOff' ? 'off' : 'on';
  }

  async close(): Promise<void> {
    await this.vim.close();
  }
}

export type { ObjectProps, XmlNode };
