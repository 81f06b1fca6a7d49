/**
 * The OpenStack provider: machines are Nova servers (metadata `cx-cluster`/`cx-machine`) on a
 * Neutron port of their own in the cluster's security group; control-plane machines share an
 * anti-affinity server group and, with `settings.floatingNetwork`, get a floating IP each. What
 * belongs to the cluster as a whole (security group, server group, VIP ports) goes with the delete
 * of its last machine. Everything goes through provider-kit's `HttpEndpoint` via a Keystone
 * session (keystone.ts).
 */
import { CredentialError, InputError, NotFoundError } from '@cx/errors';
import { type HttpResponse, asCredentialError, parseJson, pollUntil, refused, unavailable } from '@cx/provider-kit';
import {
  CONTRACT_VERSION,
  type EnsureContext,
  type MachinePhase,
  type MachineSpec,
  type MachineStatus,
  type PowerAction,
  type PowerState,
  type Provider,
  type ProviderCapabilities,
  type ProviderCredential,
  type ProviderFactory,
} from '@cx/sddc-contract';
import { type KeystoneAuth, KeystoneSession } from './keystone.js';

/** The Nova microversion cx speaks: 2.67 (server group `policy`, tags and `OS-EXT-SRV-ATTR` fields as of 2.3+). */
export const NOVA_MICROVERSION = '2.67';
/** Kubernetes API and NodePort range, opened in the cluster's security group. */
const API_PORT = 6443;
const NODE_PORTS = { min: 30000, max: 32767 };
/** Nova's limit on base64 user data. */
const MAX_USER_DATA = 65535;
/** Sizing used when neither `spec.resources` nor `settings.flavor` says otherwise. */
const DEFAULT_RESOURCES = { vcpus: 2, memoryMiB: 4096, diskGiB: 20 };
const PAGE = 500;

/** The settings an OpenStack credential carries (JSON Schema below; docs/providers/openstack.md). */
export interface OpenStackSettings {
  authType: 'password' | 'application-credential';
  userDomainName: string;
  projectName?: string;
  projectId?: string;
  projectDomainName: string;
  region?: string;
  interface: 'public' | 'internal' | 'admin';
  image: string;
  network: string;
  flavor?: string;
  /** CIDR allowed to reach the Kubernetes API and node ports. */
  apiAllowedCidr: string;
  /** External network (name or id) whose floating IPs control-plane machines get; absent: none. */
  floatingNetwork?: string;
}

/** JSON Schema (draft 2020-12) of `ProviderCredential.settings`. */
export const openStackSettingsSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['image', 'network'],
  properties: {
    authType: { enum: ['password', 'application-credential'], default: 'password' },
    userDomainName: { type: 'string', minLength: 1, default: 'Default' },
    projectName: { type: 'string', minLength: 1 },
    projectId: { type: 'string', minLength: 1 },
    projectDomainName: { type: 'string', minLength: 1, default: 'Default' },
    region: { type: 'string', minLength: 1 },
    interface: { enum: ['public', 'internal', 'admin'], default: 'public' },
    image: { type: 'string', minLength: 1, description: 'Glance image name or id (with cloud-init)' },
    network: { type: 'string', minLength: 1, description: 'Neutron network name or id' },
    flavor: {
      type: 'string',
      minLength: 1,
      description: 'Nova flavor name or id used when a machine class gives no resources',
    },
    apiAllowedCidr: { type: 'string', minLength: 1, default: '0.0.0.0/0' },
    floatingNetwork: {
      type: 'string',
      minLength: 1,
      description:
        'External Neutron network (name or id) that gives each control-plane machine a floating IP; absent: no floating IPs',
    },
  },
};

function str(settings: Record<string, unknown>, key: string): string | undefined {
  const value = settings[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Reads and defaults the settings; `InputError` names `body.settings.<key>` for a bad one. */
export function parseSettings(settings: Record<string, unknown>): OpenStackSettings {
  const fields: Array<{ field: string; message: string }> = [];
  const authType = str(settings, 'authType') ?? 'password';
  if (authType !== 'password' && authType !== 'application-credential')
    fields.push({ field: 'body.settings.authType', message: 'must be password or application-credential' });
  const iface = str(settings, 'interface') ?? 'public';
  if (!['public', 'internal', 'admin'].includes(iface))
    fields.push({ field: 'body.settings.interface', message: 'must be public, internal or admin' });
  const image = str(settings, 'image');
  if (!image)
    fields.push({
      field: 'body.settings.image',
      message: 'the Glance image (name or id) machines boot from is required',
    });
  const network = str(settings, 'network');
  if (!network)
    fields.push({
      field: 'body.settings.network',
      message: 'the Neutron network (name or id) machines attach to is required',
    });
  const projectName = str(settings, 'projectName');
  const projectId = str(settings, 'projectId');
  if (authType === 'password' && !projectName && !projectId)
    fields.push({
      field: 'body.settings.projectName',
      message: 'projectName or projectId is required with password authentication',
    });
  const floatingNetwork = str(settings, 'floatingNetwork');
  if (settings['floatingNetwork'] !== undefined && !floatingNetwork)
    fields.push({
      field: 'body.settings.floatingNetwork',
      message: 'must be the name or id of an external network, or be left out',
    });
  if (fields.length > 0) throw new InputError('the OpenStack credential settings are invalid', fields);
  return {
    authType: authType as OpenStackSettings['authType'],
    userDomainName: str(settings, 'userDomainName') ?? 'Default',
    projectDomainName: str(settings, 'projectDomainName') ?? 'Default',
    interface: iface as OpenStackSettings['interface'],
    image: image!,
    network: network!,
    apiAllowedCidr: str(settings, 'apiAllowedCidr') ?? '0.0.0.0/0',
    ...(projectName ? { projectName } : {}),
    ...(projectId ? { projectId } : {}),
    ...(str(settings, 'region') ? { region: str(settings, 'region')! } : {}),
    ...(str(settings, 'flavor') ? { flavor: str(settings, 'flavor')! } : {}),
    ...(floatingNetwork ? { floatingNetwork } : {}),
  };
}

function authFrom(credential: ProviderCredential, settings: OpenStackSettings): KeystoneAuth {
  return {
    authUrl: credential.endpoint,
    authType: settings.authType,
    username: credential.username,
    password: credential.password,
    userDomainName: settings.userDomainName,
    projectDomainName: settings.projectDomainName,
    interface: settings.interface,
    caCert: credential.caCert ?? null,
    insecure: credential.insecure,
    ...(settings.projectName ? { projectName: settings.projectName } : {}),
    ...(settings.projectId ? { projectId: settings.projectId } : {}),
    ...(settings.region ? { region: settings.region } : {}),
  };
}

interface NovaServer {
  id: string;
  name: string;
  status: string;
  metadata?: Record<string, string>;
  addresses?: Record<string, Array<{ addr: string; 'OS-EXT-IPS:type'?: string }>>;
  fault?: { message?: string };
  'OS-EXT-STS:power_state'?: number;
  'OS-EXT-STS:task_state'?: string | null;
}
interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
}
interface Port {
  id: string;
  name: string;
  device_id: string;
  fixed_ips: Array<{ ip_address: string }>;
  allowed_address_pairs?: Array<{ ip_address: string; mac_address?: string }>;
}
interface ServerGroup {
  id: string;
  name: string;
  policy?: string;
  policies?: string[];
  members: string[];
}
interface Network {
  id: string;
  name: string;
  'router:external'?: boolean;
}
interface FloatingIp {
  id: string;
  floating_ip_address: string;
  port_id: string | null;
  tags?: string[];
}
interface Resolved {
  imageId: string;
  networkId: string;
  flavors: Flavor[];
  floatingNetworkId?: string;
}

/** The Neutron tags of a cluster's objects (and of a machine's); also their list filter (`?tags=`). */
const clusterTag = (clusterId: string): string => `cx-cluster=${clusterId}`;
const machineTag = (machineId: string): string => `cx-machine=${machineId}`;

/** Neutron's error type (`NeutronError.type`: `OverQuota`, `SecurityGroupInUse`…), if the body has one. */
function neutronType(response: HttpResponse): string | undefined {
  try {
    const type = (JSON.parse(response.text) as { NeutronError?: { type?: unknown } }).NeutronError?.type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

/** A server Nova is deleting (or keeps soft-deleted): it no longer counts as a machine of its cluster. */
function leaving(server: NovaServer): boolean {
  return (
    server['OS-EXT-STS:task_state'] === 'deleting' || server.status === 'DELETED' || server.status === 'SOFT_DELETED'
  );
}

/** The error text an OpenStack service put in its body (Nova `{kind: {message}}`, Neutron `NeutronError`). */
function messageOf(response: HttpResponse): string {
  try {
    const body = JSON.parse(response.text) as Record<string, { message?: unknown } | undefined>;
    for (const value of Object.values(body)) if (value && typeof value.message === 'string') return value.message;
  } catch {
    // not JSON: fall through
  }
  return response.text.slice(0, 200);
}

function phaseOf(server: NovaServer): MachinePhase {
  switch (server.status) {
    case 'ACTIVE':
    case 'HARD_REBOOT':
    case 'REBOOT':
      return 'Running';
    case 'SHUTOFF':
      return 'Stopped';
    case 'ERROR':
      return 'Failed';
    default:
      return 'Provisioning';
  }
}

/** `OS-EXT-STS:power_state` 4 (shutdown) is the only verified "off"; 1 (running) and anything in between count as on. */
function powerOf(server: NovaServer): PowerState {
  return server['OS-EXT-STS:power_state'] === 4 ? 'off' : 'on';
}

/** What an OpenStack provider offers, the same for the factory and each connected provider. */
const OPENSTACK_CAPABILITIES: ProviderCapabilities = {
  power: true,
  loadBalancer: false,
  virtualIp: true,
  etcdSnapshot: false,
  kubernetesApi: true,
  certificateRotation: false,
  osImages: true,
  controlPlaneVip: true,
  controlPlaneReplacement: false,
  bareMetalHosts: false,
};

/** A provider bound to one OpenStack project (one credential). */
export class OpenStackProvider implements Provider {
  readonly name = 'openstack';
  readonly contractVersion = CONTRACT_VERSION;
  readonly capabilities: ProviderCapabilities = OPENSTACK_CAPABILITIES;
  /** The Keystone session (exposed for token-renewal tests and diagnostics). */
  readonly session: KeystoneSession;
  private readonly perMachine = new Map<string, Promise<unknown>>();
  private readonly perCluster = new Map<string, Promise<string>>();
  private resolved: Promise<Resolved> | undefined;

  constructor(
    readonly settings: OpenStackSettings,
    auth: KeystoneAuth,
    readonly kubernetesVersions: readonly string[],
  ) {
    this.session = new KeystoneSession(auth);
  }

  /** One call to a catalog service with the token; logs in again once after a 401. */
  async call(
    service: 'compute' | 'network' | 'image',
    method: string,
    path: string,
    body?: unknown,
  ): Promise<HttpResponse> {
    const endpoint = await this.session.service(service);
    const send = async (token: string): Promise<HttpResponse> =>
      endpoint.request(method, path, {
        headers: {
          'X-Auth-Token': token,
          accept: 'application/json',
          ...(service === 'compute' ? { 'OpenStack-API-Version': `compute ${NOVA_MICROVERSION}` } : {}),
        },
        ...(body === undefined ? {} : { body }),
      });
    const token = await this.session.token();
    let response = await send(token);
    if (response.status === 401) {
      this.session.invalidate(token);
      response = await send(await this.session.token());
      if (response.status === 401)
        throw refused(
          `OpenStack ${service} rejected a fresh token (401); check the roles of the user in the project`,
          'AuthFailed',
        );
    }
    return response;
  }

  /** Like `call`, but a status outside `ok` is a provider error naming the operation. */
  private async expect<T>(
    service: 'compute' | 'network' | 'image',
    method: string,
    path: string,
    ok: number[],
    body?: unknown,
  ): Promise<T> {
    return this.accept<T>(service, method, path, ok, await this.call(service, method, path, body));
  }

  /** The body of a response whose status is in `ok`; otherwise the provider error `expect` throws. */
  private accept<T>(
    service: 'compute' | 'network' | 'image',
    method: string,
    path: string,
    ok: number[],
    response: HttpResponse,
  ): T {
    if (!ok.includes(response.status)) {
      const what = `OpenStack ${service} answered ${response.status} to ${method} ${path.split('?')[0]}: ${messageOf(response)}`;
      // Neutron answers an exhausted quota with 409 OverQuota: not a busy object, retrying will not help.
      if (neutronType(response) === 'OverQuota')
        throw refused(`${what}; ask the cloud admin to raise the project's quota`, 'QuotaExceeded');
      if (response.status === 409)
        throw refused(`${what}; it is busy with this object, retry later`, 'Conflict', { retryable: true });
      if (response.status === 403 || response.status === 413)
        throw refused(
          `${what}; check the project's quotas and the user's roles`,
          response.status === 413 ? 'QuotaExceeded' : 'Forbidden',
        );
      if (response.status >= 500) throw unavailable(what, 'EndpointFailing');
      throw refused(what, 'Refused');
    }
    return (response.text ? parseJson<T>(response, `OpenStack ${service}`) : {}) as T;
  }

  // ---- lookups ----------------------------------------------------------------------------

  /** Image, network, flavors and the floating-IP network, resolved once per provider (names or ids). */
  resolve(): Promise<Resolved> {
    this.resolved ??= (async () => {
      const [imageId, network, flavors, floating] = await Promise.all([
        this.findImage(),
        this.findNetwork(this.settings.network, 'network'),
        this.flavors(),
        this.settings.floatingNetwork ? this.findNetwork(this.settings.floatingNetwork, 'floatingNetwork') : undefined,
      ]);
      if (
        this.settings.flavor &&
        !flavors.some((f) => f.name === this.settings.flavor || f.id === this.settings.flavor)
      ) {
        throw new InputError(`the flavor ${this.settings.flavor} does not exist in the project`, [
          { field: 'body.settings.flavor', message: 'no such Nova flavor (name or id)' },
        ]);
      }
      if (floating && floating['router:external'] !== true) {
        throw new InputError(
          `the network ${this.settings.floatingNetwork} is not an external network, so it has no floating IPs`,
          [{ field: 'body.settings.floatingNetwork', message: 'not an external (router:external) Neutron network' }],
        );
      }
      return { imageId, networkId: network.id, flavors, ...(floating ? { floatingNetworkId: floating.id } : {}) };
    })().catch((error: unknown) => {
      this.resolved = undefined;
      throw error;
    });
    return this.resolved;
  }

  /** An OS image is a Glance image name or id (like the `image` setting). */
  async checkImage(image: string): Promise<void> {
    await this.findImage(image, 'body.image');
  }

  private async findImage(wanted = this.settings.image, field = 'body.settings.image'): Promise<string> {
    const byName = await this.expect<{ images: Array<{ id: string }> }>(
      'image',
      'GET',
      `v2/images?name=${encodeURIComponent(wanted)}`,
      [200],
    );
    if (byName.images[0]) return byName.images[0].id;
    const byId = await this.call('image', 'GET', `v2/images/${encodeURIComponent(wanted)}`);
    if (byId.status === 200) return wanted;
    throw new InputError(`the image ${wanted} does not exist or is not visible to the project`, [
      { field, message: 'no such Glance image (name or id)' },
    ]);
  }

  /** A network by name, else by id; `InputError` naming `body.settings.<setting>` when there is none. */
  private async findNetwork(wanted: string, setting: 'network' | 'floatingNetwork'): Promise<Network> {
    for (const key of ['name', 'id']) {
      const { networks } = await this.expect<{ networks: Network[] }>(
        'network',
        'GET',
        `v2.0/networks?${key}=${encodeURIComponent(wanted)}`,
        [200],
      );
      if (networks[0]) return networks[0];
    }
    throw new InputError(`the network ${wanted} does not exist or is not visible to the project`, [
      { field: `body.settings.${setting}`, message: 'no such Neutron network (name or id)' },
    ]);
  }

  private async flavors(): Promise<Flavor[]> {
    return (await this.expect<{ flavors: Flavor[] }>('compute', 'GET', 'flavors/detail', [200])).flavors;
  }

  /** The smallest flavor that fits the resources; `settings.flavor` when the spec gives none. */
  private pickFlavor(flavors: Flavor[], resources: MachineSpec['resources']): Flavor {
    if (!resources && this.settings.flavor) {
      return flavors.find((f) => f.name === this.settings.flavor || f.id === this.settings.flavor)!;
    }
    const need = { ...DEFAULT_RESOURCES, ...resources };
    const fits = flavors
      .filter((f) => f.vcpus >= need.vcpus && f.ram >= need.memoryMiB && (f.disk === 0 || f.disk >= need.diskGiB))
      .sort((a, b) => a.vcpus - b.vcpus || a.ram - b.ram || a.disk - b.disk);
    if (!fits[0])
      throw refused(
        `no flavor has ${need.vcpus} vCPUs, ${need.memoryMiB} MiB and ${need.diskGiB} GiB; ask the cloud admin for one or change the machine class`,
        'NoFittingFlavor',
      );
    return fits[0];
  }

  /** Every server of the project, page by page (Nova cannot filter by metadata). */
  private async servers(): Promise<NovaServer[]> {
    const all: NovaServer[] = [];
    for (let marker: string | undefined, pages = 0; pages < 1000; pages += 1) {
      const page = await this.expect<{ servers: NovaServer[] }>(
        'compute',
        'GET',
        `servers/detail?limit=${PAGE}${marker ? `&marker=${marker}` : ''}`,
        [200],
      );
      all.push(...page.servers);
      if (page.servers.length < PAGE) break;
      marker = page.servers[page.servers.length - 1]!.id;
    }
    return all;
  }

  private async findServer(clusterId: string, machineId: string): Promise<NovaServer | undefined> {
    return (await this.servers()).find(
      (s) => s.metadata?.['cx-machine'] === machineId && s.metadata['cx-cluster'] === clusterId,
    );
  }

  private async findPort(name: string): Promise<Port | undefined> {
    const { ports } = await this.expect<{ ports: Port[] }>(
      'network',
      'GET',
      `v2.0/ports?name=${encodeURIComponent(name)}`,
      [200],
    );
    return ports[0];
  }

  /**
   * Floating IPs matching a Neutron filter (`port_id=…`, `tags=…`). A cloud without the L3
   * extension answers 404: it has none, which must not stop a delete.
   */
  private async floatingIps(filter: string): Promise<FloatingIp[]> {
    const response = await this.call('network', 'GET', `v2.0/floatingips?${filter}`);
    if (response.status === 404) return [];
    return this.accept<{ floatingips: FloatingIp[] }>('network', 'GET', 'v2.0/floatingips', [200], response)
      .floatingips;
  }

  /** The associated floating IPs of a cluster's machines, by machine id (only with `settings.floatingNetwork`). */
  private async floatingByMachine(clusterId: string): Promise<Map<string, string[]>> {
    const byMachine = new Map<string, string[]>();
    if (!this.settings.floatingNetwork) return byMachine;
    for (const fip of await this.floatingIps(`tags=${encodeURIComponent(clusterTag(clusterId))}`)) {
      const machine = fip.tags?.find((t) => t.startsWith('cx-machine='))?.slice('cx-machine='.length);
      if (machine && fip.port_id) byMachine.set(machine, [...(byMachine.get(machine) ?? []), fip.floating_ip_address]);
    }
    return byMachine;
  }

  /** Fixed addresses first (the node's own), then floating ones, each once. */
  private status(server: NovaServer, floating: string[] = []): MachineStatus {
    const meta = server.metadata ?? {};
    const cluster = meta['cx-cluster'] ?? '';
    const machine = meta['cx-machine'] ?? '';
    const nova = Object.values(server.addresses ?? {}).flat();
    const addresses = [
      ...nova.filter((a) => a['OS-EXT-IPS:type'] !== 'floating').map((a) => a.addr),
      ...nova.filter((a) => a['OS-EXT-IPS:type'] === 'floating').map((a) => a.addr),
      ...floating,
    ];
    return {
      machineId: machine,
      clusterId: cluster,
      name: server.name,
      providerId: server.id,
      phase: phaseOf(server),
      powerState: powerOf(server),
      addresses: [...new Set(addresses)],
      tags: { cluster, machine },
    };
  }

  /** Runs `work` after any earlier work on the same key (M2: concurrent ensures create one server). */
  private serialise<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.perMachine.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.perMachine.set(key, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.perMachine.get(key) === next) this.perMachine.delete(key);
      });
    return next;
  }

  /**
   * Memoises one cluster-level object (security group, server group); forgotten on failure, and
   * when the object turns out to be gone (the cluster's last machine was deleted meanwhile, here
   * or by another sddc replica).
   */
  private once(key: string, make: () => Promise<string>): Promise<string> {
    let pending = this.perCluster.get(key);
    if (!pending) {
      pending = make().catch((error: unknown) => {
        this.perCluster.delete(key);
        throw error;
      });
      this.perCluster.set(key, pending);
    }
    return pending;
  }

  /** The cluster's security group (`cx-<clusterId>`) with the API and node-port rules, created idempotently. */
  ensureSecurityGroup(clusterId: string): Promise<string> {
    return this.once(`sg:${clusterId}`, async () => {
      const name = `cx-${clusterId}`;
      const found = await this.expect<{ security_groups: Array<{ id: string }> }>(
        'network',
        'GET',
        `v2.0/security-groups?name=${encodeURIComponent(name)}`,
        [200],
      );
      let id = found.security_groups[0]?.id;
      if (!id) {
        const created = await this.expect<{ security_group: { id: string } }>(
          'network',
          'POST',
          'v2.0/security-groups',
          [201],
          { security_group: { name, description: `cx cluster ${clusterId}` } },
        );
        id = created.security_group.id;
        await this.expect('network', 'PUT', `v2.0/security-groups/${id}/tags`, [200], {
          tags: [clusterTag(clusterId)],
        });
      }
      const rules = [
        { port_range_min: API_PORT, port_range_max: API_PORT, remote_ip_prefix: this.settings.apiAllowedCidr },
        {
          port_range_min: NODE_PORTS.min,
          port_range_max: NODE_PORTS.max,
          remote_ip_prefix: this.settings.apiAllowedCidr,
        },
      ];
      for (const rule of rules) {
        // 409 SecurityGroupRuleExists: already there (a repeat after a crash).
        await this.expect('network', 'POST', 'v2.0/security-group-rules', [201, 409], {
          security_group_rule: {
            security_group_id: id,
            direction: 'ingress',
            ethertype: 'IPv4',
            protocol: 'tcp',
            ...rule,
          },
        });
      }
      return id;
    });
  }

  /** The cluster's control-plane server group (`cx-<clusterId>-control-plane`, anti-affinity), created once. */
  ensureServerGroup(clusterId: string): Promise<string> {
    return this.once(`sg-cp:${clusterId}`, async () => {
      const found = await this.serverGroups(clusterId);
      if (found[0]) return found[0].id;
      const created = await this.expect<{ server_group: ServerGroup }>('compute', 'POST', 'os-server-groups', [200], {
        server_group: { name: `cx-${clusterId}-control-plane`, policy: 'anti-affinity' },
      });
      return created.server_group.id;
    });
  }

  /** Every server group named after the cluster (one, unless two replicas raced to create it). */
  private async serverGroups(clusterId: string): Promise<ServerGroup[]> {
    const { server_groups: groups } = await this.expect<{ server_groups: ServerGroup[] }>(
      'compute',
      'GET',
      'os-server-groups',
      [200],
    );
    return groups.filter((g) => g.name === `cx-${clusterId}-control-plane`);
  }

  /** The control-plane server group of a cluster, or undefined (tests, diagnostics). */
  async serverGroup(clusterId: string): Promise<ServerGroup | undefined> {
    return (await this.serverGroups(clusterId))[0];
  }

  /** Whether a Nova or Neutron object still exists (after a create that named it failed). */
  private async exists(service: 'compute' | 'network', path: string): Promise<boolean> {
    const response = await this.call(service, 'GET', path);
    if (response.status === 404) return false;
    this.accept(service, 'GET', path, [200], response);
    return true;
  }

  /** The machine's own port (`cx-<machineId>`), created in the cluster's security group and tagged. */
  private async ensurePort(spec: MachineSpec, networkId: string): Promise<Port> {
    const name = `cx-${spec.machineId}`;
    const existing = await this.findPort(name);
    if (existing) return existing;
    const create = async (securityGroup: string): Promise<HttpResponse> =>
      this.call('network', 'POST', 'v2.0/ports', {
        port: {
          network_id: networkId,
          name,
          description: `cx machine ${spec.machineId} of cluster ${spec.clusterId}`,
          security_groups: [securityGroup],
        },
      });
    const securityGroup = await this.ensureSecurityGroup(spec.clusterId);
    let response = await create(securityGroup);
    if (response.status === 404 && !(await this.exists('network', `v2.0/security-groups/${securityGroup}`))) {
      // The cluster's last machine was deleted meanwhile (by another sddc replica), and its security group with it.
      this.perCluster.delete(`sg:${spec.clusterId}`);
      response = await create(await this.ensureSecurityGroup(spec.clusterId));
    }
    const { port } = this.accept<{ port: Port }>('network', 'POST', 'v2.0/ports', [201], response);
    await this.expect('network', 'PUT', `v2.0/ports/${port.id}/tags`, [200], {
      tags: [clusterTag(spec.clusterId), machineTag(spec.machineId)],
    });
    return port;
  }

  /**
   * The floating IP of a machine's port (from `settings.floatingNetwork`), allocated once: found
   * by `port_id` first, so a repeat after a crash reuses it, and tagged like the port.
   */
  private async ensureFloatingIp(spec: MachineSpec, port: Port, floatingNetworkId: string): Promise<string> {
    let fip = (await this.floatingIps(`port_id=${encodeURIComponent(port.id)}`))[0];
    fip ??= (
      await this.expect<{ floatingip: FloatingIp }>('network', 'POST', 'v2.0/floatingips', [201], {
        floatingip: {
          floating_network_id: floatingNetworkId,
          port_id: port.id,
          description: `cx machine ${spec.machineId} of cluster ${spec.clusterId}`,
        },
      })
    ).floatingip;
    const tags = [clusterTag(spec.clusterId), machineTag(spec.machineId)];
    if (!tags.every((tag) => fip.tags?.includes(tag)))
      await this.expect('network', 'PUT', `v2.0/floatingips/${fip.id}/tags`, [200], { tags });
    return fip.floating_ip_address;
  }

  /** Releases the floating IPs on a port and those tagged with the machine (a port deleted first leaves them unassociated). */
  private async releaseFloatingIps(
    clusterId: string,
    machineId: string | undefined,
    portId: string | undefined,
  ): Promise<void> {
    const found = new Map<string, FloatingIp>();
    if (portId)
      for (const fip of await this.floatingIps(`port_id=${encodeURIComponent(portId)}`)) found.set(fip.id, fip);
    if (machineId) {
      for (const fip of await this.floatingIps(
        `tags=${encodeURIComponent(`${clusterTag(clusterId)},${machineTag(machineId)}`)}`,
      ))
        found.set(fip.id, fip);
    }
    for (const fip of found.values()) await this.expect('network', 'DELETE', `v2.0/floatingips/${fip.id}`, [204, 404]);
  }

  // ---- Provider ---------------------------------------------------------------------------

  async ensureMachine(spec: MachineSpec, context?: EnsureContext): Promise<MachineStatus> {
    return this.serialise(spec.machineId, async () => {
      const existing = await this.findServer(spec.clusterId, spec.machineId);
      if (existing?.status === 'ERROR') {
        throw refused(
          `Nova put server ${existing.id} of machine ${spec.machineId} in ERROR: ${existing.fault?.message ?? 'no fault message'}; delete the machine to retry`,
          'ServerFailed',
        );
      }
      const wantsFloating = spec.role === 'control-plane' && this.settings.floatingNetwork !== undefined;
      if (existing) {
        if (!wantsFloating) return this.status(existing);
        // A repeat after a crash between the server and its floating IP completes the latter.
        const [{ floatingNetworkId }, port] = await Promise.all([
          this.resolve(),
          this.findPort(`cx-${spec.machineId}`),
        ]);
        return this.status(
          existing,
          port && floatingNetworkId ? [await this.ensureFloatingIp(spec, port, floatingNetworkId)] : [],
        );
      }
      const { networkId, flavors, floatingNetworkId, ...resolved } = await this.resolve();
      // After an OS upgrade, new machines boot the cluster's image rather than the settings'.
      const imageId = spec.image === undefined ? resolved.imageId : await this.findImage(spec.image, 'spec.image');
      const flavor = this.pickFlavor(flavors, spec.resources);
      const port = await this.ensurePort(spec, networkId);
      const floating =
        wantsFloating && floatingNetworkId ? [await this.ensureFloatingIp(spec, port, floatingNetworkId)] : [];
      const userData = context?.userData ? Buffer.from(await context.userData(), 'utf8').toString('base64') : undefined;
      if (userData && userData.length > MAX_USER_DATA) {
        throw refused(
          `the machine's user data is ${userData.length} bytes in base64, more than Nova's ${MAX_USER_DATA}`,
          'UserDataTooLarge',
        );
      }
      const create = async (group: string | undefined): Promise<HttpResponse> =>
        this.call('compute', 'POST', 'servers', {
          server: {
            name: spec.name,
            flavorRef: flavor.id,
            imageRef: imageId,
            networks: [{ port: port.id }],
            metadata: { 'cx-cluster': spec.clusterId, 'cx-machine': spec.machineId, 'cx-role': spec.role },
            ...(userData ? { user_data: userData } : {}),
          },
          ...(group ? { 'os:scheduler_hints': { group } } : {}),
        });
      let group = spec.role === 'control-plane' ? await this.ensureServerGroup(spec.clusterId) : undefined;
      let response = await create(group);
      if (
        group &&
        (response.status === 400 || response.status === 404) &&
        !(await this.exists('compute', `os-server-groups/${group}`))
      ) {
        // As for the security group in ensurePort: the server group went with the cluster's last machine.
        this.perCluster.delete(`sg-cp:${spec.clusterId}`);
        group = await this.ensureServerGroup(spec.clusterId);
        response = await create(group);
      }
      const created = this.accept<{ server: { id: string } }>('compute', 'POST', 'servers', [202], response);
      const { server } = await this.expect<{ server: NovaServer }>(
        'compute',
        'GET',
        `servers/${created.server.id}`,
        [200],
      );
      return this.status(server, floating);
    });
  }

  async getMachine(clusterId: string, machineId: string): Promise<MachineStatus | null> {
    const server = await this.findServer(clusterId, machineId);
    return server ? this.status(server, (await this.floatingByMachine(clusterId)).get(machineId)) : null;
  }

  async listMachines(clusterId: string): Promise<MachineStatus[]> {
    const servers = (await this.servers()).filter(
      (s) => s.metadata?.['cx-cluster'] === clusterId && s.metadata['cx-machine'],
    );
    const floating = servers.length > 0 ? await this.floatingByMachine(clusterId) : new Map<string, string[]>();
    return servers.map((s) => this.status(s, floating.get(s.metadata!['cx-machine']!)));
  }

  /**
   * Deletes the machine's floating IPs, server and port; then, if no server of the cluster is
   * left, what the cluster as a whole used (`removeClusterObjects`). Repeating it repeats the
   * cluster clean-up, so a delete interrupted half-way is finished by the next one.
   */
  async deleteMachine(clusterId: string, machineId: string): Promise<void> {
    const deleted = await this.serialise(machineId, async () => {
      const server = await this.findServer(clusterId, machineId);
      const port = await this.findPort(`cx-${machineId}`);
      await this.releaseFloatingIps(clusterId, machineId, port?.id);
      if (server) await this.expect('compute', 'DELETE', `servers/${server.id}`, [204, 404]);
      if (port) await this.expect('network', 'DELETE', `v2.0/ports/${port.id}`, [204, 404]);
      return server?.id;
    });
    await this.removeClusterObjects(clusterId, deleted);
  }

  /**
   * After the delete of a machine: when Nova lists no server of the cluster any more (listed again
   * now, after that server's delete; servers Nova is deleting do not count), deletes the cluster's
   * VIP ports with their floating IPs, its unassociated floating IPs, its security group and its
   * server group. Each is looked up by name or tag, and one already gone is a success.
   *
   * An ensure of the same cluster, in this sddc or another replica, wins: a port of a machine
   * being created holds the security group, whose delete
   * Neutron then refuses (409 SecurityGroupInUse), and the clean-up stops there, keeping the server
   * group (also kept while it has a member not known to be going); an ensure that finds the
   * security group or server group it remembered gone re-creates it (`ensurePort`,
   * `ensureMachine`).
   */
  private async removeClusterObjects(clusterId: string, deletedServer: string | undefined): Promise<void> {
    const servers = (await this.servers()).filter((s) => s.metadata?.['cx-cluster'] === clusterId);
    if (servers.some((s) => s.id !== deletedServer && !leaving(s))) return;
    const gone = new Set([...servers.map((s) => s.id), ...(deletedServer ? [deletedServer] : [])]);
    this.forgetCluster(clusterId);

    const { ports } = await this.expect<{ ports: Array<Port & { tags?: string[] }> }>(
      'network',
      'GET',
      `v2.0/ports?tags=${encodeURIComponent(clusterTag(clusterId))}`,
      [200],
    );
    const vips = new Map(ports.filter((p) => !p.tags?.some((t) => t.startsWith('cx-machine='))).map((p) => [p.id, p]));
    const untagged = await this.findPort(`cx-${clusterId}-vip`); // a crash between its create and its tags
    if (untagged) vips.set(untagged.id, untagged);
    for (const vip of vips.values()) {
      await this.releaseFloatingIps(clusterId, undefined, vip.id);
      await this.expect('network', 'DELETE', `v2.0/ports/${vip.id}`, [204, 404]);
    }
    // Floating IPs whose port went without them (a machine port deleted by hand, say): a machine being ensured has its port.
    for (const fip of await this.floatingIps(`tags=${encodeURIComponent(clusterTag(clusterId))}`)) {
      if (!fip.port_id) await this.expect('network', 'DELETE', `v2.0/floatingips/${fip.id}`, [204, 404]);
    }

    const { security_groups: groups } = await this.expect<{ security_groups: Array<{ id: string }> }>(
      'network',
      'GET',
      `v2.0/security-groups?name=${encodeURIComponent(`cx-${clusterId}`)}`,
      [200],
    );
    for (const group of groups) {
      const response = await this.call('network', 'DELETE', `v2.0/security-groups/${group.id}`);
      if (response.status === 409) return; // SecurityGroupInUse: a port of a machine of the cluster being created holds it
      this.accept('network', 'DELETE', `v2.0/security-groups/${group.id}`, [204, 404], response);
    }

    for (const group of await this.serverGroups(clusterId)) {
      // Nova deletes a server group with members; a member not known to be going is a machine being created.
      if (group.members.some((member) => !gone.has(member))) return;
      await this.expect('compute', 'DELETE', `os-server-groups/${group.id}`, [204, 404]);
    }
    this.forgetCluster(clusterId);
  }

  /** Drops the remembered security group and server group ids of a cluster. */
  private forgetCluster(clusterId: string): void {
    this.perCluster.delete(`sg:${clusterId}`);
    this.perCluster.delete(`sg-cp:${clusterId}`);
  }

  private async server(clusterId: string, machineId: string): Promise<NovaServer> {
    const server = await this.findServer(clusterId, machineId);
    if (!server) throw new NotFoundError(`machine ${machineId} of cluster ${clusterId} has no Nova server`);
    return server;
  }

  async getPowerState(clusterId: string, machineId: string): Promise<PowerState> {
    return powerOf(await this.server(clusterId, machineId));
  }

  async setPower(clusterId: string, machineId: string, action: PowerAction): Promise<void> {
    await this.serialise(machineId, async () => {
      // Nova refuses an action while another runs (409): wait for the task to finish first.
      const server = await pollUntil(
        () => this.server(clusterId, machineId),
        (s) => !s['OS-EXT-STS:task_state'],
        {
          timeoutMs: 120_000,
          intervalMs: 500,
          what: `the running task on machine ${machineId} finishing`,
          reason: 'ServerBusy',
        },
      );
      const off = server.status === 'SHUTOFF';
      let body: unknown;
      if (action === 'off') body = off ? undefined : { 'os-stop': null };
      else if (action === 'on' || off) body = off ? { 'os-start': null } : undefined;
      else body = { reboot: { type: 'HARD' } };
      if (body !== undefined) await this.expect('compute', 'POST', `servers/${server.id}/action`, [202], body);
    });
  }

  // ---- virtual IP (capability virtualIp) ---------------------------------------------------

  /** Reserves (idempotently) a port `cx-<clusterId>-vip` on the network and returns its address; it goes with the cluster's last machine. */
  async reserveVip(clusterId: string): Promise<{ portId: string; address: string }> {
    return this.serialise(`vip:${clusterId}`, async () => {
      const { networkId } = await this.resolve();
      const name = `cx-${clusterId}-vip`;
      let port = await this.findPort(name);
      if (!port) {
        port = (
          await this.expect<{ port: Port }>('network', 'POST', 'v2.0/ports', [201], {
            port: { network_id: networkId, name, description: `cx API virtual IP of cluster ${clusterId}` },
          })
        ).port;
        await this.expect('network', 'PUT', `v2.0/ports/${port.id}/tags`, [200], { tags: [clusterTag(clusterId)] });
      }
      const address = port.fixed_ips[0]?.ip_address;
      if (!address)
        throw refused(
          `Neutron gave the VIP port of cluster ${clusterId} no address; check the network's subnet and its pool`,
          'NoAddress',
        );
      return { portId: port.id, address };
    });
  }

  /** Lets a machine's port answer for the VIP (`allowed_address_pairs`), idempotently. */
  async allowVip(portId: string, address: string): Promise<void> {
    await this.serialise(`port:${portId}`, async () => {
      const { port } = await this.expect<{ port: Port }>('network', 'GET', `v2.0/ports/${portId}`, [200]);
      const pairs = port.allowed_address_pairs ?? [];
      if (pairs.some((p) => p.ip_address === address)) return;
      await this.expect('network', 'PUT', `v2.0/ports/${portId}`, [200], {
        port: { allowed_address_pairs: [...pairs, { ip_address: address }] },
      });
    });
  }

  /** The port of a machine (for `allowVip`). */
  async machinePort(machineId: string): Promise<{ portId: string; addresses: string[] } | null> {
    const port = await this.findPort(`cx-${machineId}`);
    return port ? { portId: port.id, addresses: port.fixed_ips.map((ip) => ip.ip_address) } : null;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

/** Builds OpenStack providers from credentials (rule O4). */
export class OpenStackProviderFactory implements ProviderFactory {
  readonly name = 'openstack';
  readonly contractVersion = CONTRACT_VERSION;
  readonly kubernetesVersions: readonly string[];
  readonly capabilities: ProviderCapabilities = OPENSTACK_CAPABILITIES;
  readonly settingsSchema = openStackSettingsSchema;

  constructor(options: { kubernetesVersions?: string[] } = {}) {
    this.kubernetesVersions = options.kubernetesVersions ?? ['1.37.2', '1.36.3'];
  }

  connect(credential: ProviderCredential): OpenStackProvider {
    const settings = parseSettings(credential.settings);
    return new OpenStackProvider(settings, authFrom(credential, settings), this.kubernetesVersions);
  }

  async validateCredential(credential: ProviderCredential): Promise<void> {
    const provider = this.connect(credential);
    try {
      try {
        await provider.session.login();
      } catch (error) {
        throw asCredentialError(error, `Keystone ${credential.endpoint}`);
      }
      for (const type of ['compute', 'network', 'image']) {
        if (!(await provider.session.hasService(type))) {
          throw new CredentialError(
            'CX_CREDENTIAL_REJECTED',
            `the Keystone catalog of this project has no ${provider.settings.interface} ${type} service${provider.settings.region ? ` in region ${provider.settings.region}` : ''}; check settings.region and settings.interface`,
          );
        }
      }
      await provider.resolve();
    } finally {
      await provider.close();
    }
  }
}
