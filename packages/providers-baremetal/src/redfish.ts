/**
 * A Redfish BMC over provider-kit's HttpEndpoint: session login (basic auth when the service has
 * no SessionService), ComputerSystem.Reset with the reset types the system allows, one-time boot
 * override, and virtual media.
 */
import { HttpEndpoint, type HttpResponse, parseJson, refused } from '@cx/provider-kit';
import type { PowerAction, PowerState } from '@cx/sddc-contract';
import { confirmPowerOff, DEFAULT_POWER_TIMEOUT_MS } from './power.js';
import type { Bmc, BmcAccess, BmcOptions, BootDevice, MediaSlot } from './types.js';

interface ODataLink {
  '@odata.id': string;
}
interface ServiceRoot {
  SessionService?: ODataLink;
  Links?: { Sessions?: ODataLink };
  Systems?: ODataLink;
}
interface Collection {
  Members?: ODataLink[];
}
interface ResetAction {
  target?: string;
  'ResetType@Redfish.AllowableValues'?: string[];
}
interface ComputerSystem {
  Id?: string;
  PowerState?: string;
  Boot?: { 'BootSourceOverrideTarget@Redfish.AllowableValues'?: string[] };
  Actions?: { '#ComputerSystem.Reset'?: ResetAction };
  VirtualMedia?: ODataLink;
  Links?: { ManagedBy?: ODataLink[] };
}
interface VirtualMedia {
  MediaTypes?: string[];
  Inserted?: boolean;
  Actions?: { '#VirtualMedia.InsertMedia'?: { target?: string }; '#VirtualMedia.EjectMedia'?: { target?: string } };
}

/** Reset types to try for each action, best first. ForceOff: fencing must not wait for the OS. */
const RESET_TYPES: Record<PowerAction, string[]> = {
  on: ['On', 'ForceOn'],
  off: ['ForceOff', 'GracefulShutdown'],
  reset: ['ForceRestart', 'GracefulRestart', 'PowerCycle'],
};
const BOOT_TARGETS: Record<BootDevice, string> = { pxe: 'Pxe', cd: 'Cd', disk: 'Hdd' };

/** The message of a Redfish error body, if the BMC sent one (never carries our password). */
function redfishMessage(response: HttpResponse): string {
  try {
    const body = JSON.parse(response.text) as {
      error?: { message?: string; '@Message.ExtendedInfo'?: Array<{ Message?: string }> };
    };
    const extended = body.error?.['@Message.ExtendedInfo']
      ?.map((info) => info.Message)
      .filter(Boolean)
      .join('; ');
    return extended || body.error?.message || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

/** A Redfish service's one computer system (see `BmcAccess.systemId`). */
export class RedfishBmc implements Bmc {
  private readonly endpoint: HttpEndpoint;
  private readonly label: string;
  private readonly powerTimeoutMs: number;
  private auth: { header: Record<string, string>; session?: string } | undefined;
  /** The login under way, shared by concurrent calls so that they open one session, not several. */
  private loggingIn: Promise<void> | undefined;
  private systemPath: string | undefined;

  constructor(
    private readonly access: BmcAccess,
    options: BmcOptions = {},
  ) {
    const host = redfishHost(access.address);
    this.label = `BMC ${host}${access.systemId ? ` system ${access.systemId}` : ''}`;
    this.endpoint = new HttpEndpoint({
      baseUrl: access.address,
      label: `BMC ${host}`,
      caCert: access.caCert ?? null,
      insecure: access.insecure,
      timeoutMs: options.timeoutMs ?? 15_000,
      attempts: options.attempts ?? 3,
    });
    this.powerTimeoutMs = options.powerTimeoutMs ?? DEFAULT_POWER_TIMEOUT_MS;
  }

  async check(): Promise<void> {
    await this.system();
  }

  async powerState(): Promise<PowerState> {
    const state = (await this.system()).PowerState;
    // PoweringOff still draws power: only Off counts as off.
    return state === 'Off' ? 'off' : 'on';
  }

  async power(action: PowerAction): Promise<void> {
    const system = await this.system();
    const current = system.PowerState === 'Off' ? 'off' : 'on';
    if (action === 'on' && current === 'on') return;
    if (action === 'off' && current === 'off') return;
    // Resetting a host that is off means powering it on.
    const effective: PowerAction = action === 'reset' && current === 'off' ? 'on' : action;
    const reset = system.Actions?.['#ComputerSystem.Reset'];
    const target = reset?.target ?? `${await this.path()}/Actions/ComputerSystem.Reset`;
    const allowed = reset?.['ResetType@Redfish.AllowableValues'];
    const resetType = RESET_TYPES[effective].find((type) => !allowed || allowed.includes(type));
    if (!resetType) {
      throw refused(
        `${this.label} allows none of the reset types ${RESET_TYPES[effective].join(', ')} (it allows ${allowed?.join(', ') ?? 'none'})`,
        'PowerActionUnsupported',
      );
    }
    const response = await this.call('POST', target, { ResetType: resetType });
    if (response.status >= 300)
      throw refused(`${this.label} refused ${resetType}: ${redfishMessage(response)}`, 'Refused', {
        retryable: response.status === 409,
      });
    if (effective === 'off') await confirmPowerOff(() => this.powerState(), this.label, this.powerTimeoutMs);
  }

  async setBootOnce(device: BootDevice): Promise<void> {
    const target = BOOT_TARGETS[device];
    const system = await this.system();
    const allowed = system.Boot?.['BootSourceOverrideTarget@Redfish.AllowableValues'];
    if (allowed && !allowed.includes(target)) {
      throw refused(`${this.label} cannot boot from ${target} (it allows ${allowed.join(', ')})`, 'BootDeviceRefused');
    }
    const response = await this.call('PATCH', await this.path(), {
      Boot: { BootSourceOverrideTarget: target, BootSourceOverrideEnabled: 'Once' },
    });
    if (response.status >= 300)
      throw refused(
        `${this.label} refused the boot override to ${target}: ${redfishMessage(response)}`,
        'BootDeviceRefused',
      );
  }

  async insertMedia(imageUrl: string, slot: MediaSlot = 'cd'): Promise<void> {
    const { path, media } = await this.drive(slot);
    if (media.Inserted) await this.eject(path, media);
    const action = media.Actions?.['#VirtualMedia.InsertMedia']?.target;
    const response = action
      ? await this.call('POST', action, { Image: imageUrl, Inserted: true, WriteProtected: true })
      : await this.call('PATCH', path, { Image: imageUrl, Inserted: true, WriteProtected: true });
    if (response.status >= 300)
      throw refused(
        `${this.label} could not insert an image as virtual media (${path.split('/').pop()}): ${redfishMessage(response)}`,
        'VirtualMediaFailed',
      );
  }

  async ejectMedia(slot: MediaSlot = 'cd'): Promise<void> {
    const { path, media } = await this.drive(slot);
    if (media.Inserted) await this.eject(path, media);
  }

  async close(): Promise<void> {
    const session = this.auth?.session;
    this.auth = undefined;
    if (session) {
      // Best effort: an expired session is already gone, and the BMC times sessions out anyway.
      await this.endpoint
        .request('DELETE', session, { headers: this.headers(), timeoutMs: 5_000 })
        .catch(() => undefined);
    }
    await this.endpoint.close();
  }

  private async eject(path: string, media: VirtualMedia): Promise<void> {
    const action = media.Actions?.['#VirtualMedia.EjectMedia']?.target;
    const response = action
      ? await this.call('POST', action, {})
      : await this.call('PATCH', path, { Image: null, Inserted: false });
    if (response.status >= 300)
      throw refused(
        `${this.label} could not eject the virtual media: ${redfishMessage(response)}`,
        'VirtualMediaFailed',
      );
  }

  /**
   * The system's virtual media slot (Redfish 1.17 puts them under the system, older ones under its
   * manager): `cd` the first CD/DVD drive; `beside-cd` the first USB stick / floppy slot, else a
   * second CD/DVD drive.
   */
  private async drive(slot: MediaSlot): Promise<{ path: string; media: VirtualMedia }> {
    const system = await this.system();
    let collection = system.VirtualMedia?.['@odata.id'];
    if (!collection) {
      const manager = system.Links?.ManagedBy?.[0]?.['@odata.id'];
      if (manager) collection = (await this.getJson<{ VirtualMedia?: ODataLink }>(manager)).VirtualMedia?.['@odata.id'];
    }
    if (!collection) throw refused(`${this.label} has no virtual media`, 'VirtualMediaUnsupported');
    const drives: Array<{ path: string; media: VirtualMedia }> = [];
    for (const member of (await this.getJson<Collection>(collection)).Members ?? [])
      drives.push({ path: member['@odata.id'], media: await this.getJson<VirtualMedia>(member['@odata.id']) });
    const has = (types: string[]) => (d: { media: VirtualMedia }) =>
      d.media.MediaTypes?.some((type) => types.includes(type)) ?? false;
    const cds = drives.filter(has(['CD', 'DVD']));
    const found = slot === 'cd' ? cds[0] : (drives.find(has(['USBStick', 'Floppy'])) ?? cds[1]);
    if (found) return found;
    throw refused(
      slot === 'cd'
        ? `${this.label} has no virtual CD drive`
        : `${this.label} has no virtual media slot beside its CD drive (no USB stick, floppy or second CD) for the machine's seed`,
      'VirtualMediaUnsupported',
    );
  }

  private async system(): Promise<ComputerSystem> {
    return this.getJson<ComputerSystem>(await this.path());
  }

  /** The system's path: the one named, or the service's only system. */
  private async path(): Promise<string> {
    if (this.systemPath) return this.systemPath;
    if (this.access.systemId) {
      const path = `/redfish/v1/Systems/${encodeURIComponent(this.access.systemId)}`;
      const response = await this.call('GET', path);
      if (response.status === 404)
        throw refused(`${this.label}: the BMC has no system ${this.access.systemId}`, 'SystemNotFound');
      this.expectOk(response, 'GET', path);
      this.systemPath = path;
      return path;
    }
    const members = (await this.getJson<Collection>('/redfish/v1/Systems')).Members ?? [];
    const only = members.length === 1 ? members[0]?.['@odata.id'] : undefined;
    if (!only)
      throw refused(`${this.label} has ${members.length} systems; name the one to use as systemId`, 'SystemNotFound');
    this.systemPath = only;
    return only;
  }

  private async getJson<T>(path: string): Promise<T> {
    const response = await this.call('GET', path);
    this.expectOk(response, 'GET', path);
    return parseJson<T>(response, this.label);
  }

  private expectOk(response: HttpResponse, method: string, path: string): void {
    if (response.status >= 300)
      throw refused(
        `${this.label} answered ${response.status} to ${method} ${path}: ${redfishMessage(response)}`,
        'Refused',
      );
  }

  /** One authenticated request; logs in again once if the session expired. */
  private async call(method: string, path: string, body?: unknown): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt += 1) {
      await this.login();
      const response = await this.endpoint.request(method, path, {
        headers: this.headers(),
        ...(body === undefined ? {} : { body }),
      });
      if (response.status !== 401) return response;
      const hadSession = Boolean(this.auth?.session);
      this.auth = undefined;
      if (!hadSession || attempt > 0) throw this.authFailed();
    }
  }

  private headers(): Record<string, string> {
    return { accept: 'application/json', ...this.auth?.header };
  }

  private authFailed(): Error {
    return refused(
      `${this.label} rejected the login of user ${this.access.username}; check the BMC account and its password`,
      'AuthFailed',
    );
  }

  /** A Redfish session when the service offers one, else HTTP basic auth on every request. */
  private async login(): Promise<void> {
    if (this.auth) return;
    this.loggingIn ??= this.openSession().finally(() => {
      this.loggingIn = undefined;
    });
    await this.loggingIn;
  }

  private async openSession(): Promise<void> {
    const basic = {
      authorization: `Basic ${Buffer.from(`${this.access.username}:${this.access.password}`).toString('base64')}`,
    };
    // The service root is readable without login on most BMCs; send basic auth for those that want it.
    const rootResponse = await this.endpoint.request('GET', '/redfish/v1/', {
      headers: { accept: 'application/json', ...basic },
    });
    if (rootResponse.status === 401) throw this.authFailed();
    this.expectOk(rootResponse, 'GET', '/redfish/v1/');
    const root = parseJson<ServiceRoot>(rootResponse, this.label);
    const sessions =
      root.Links?.Sessions?.['@odata.id'] ?? (root.SessionService ? '/redfish/v1/SessionService/Sessions' : undefined);
    if (!sessions) {
      this.auth = { header: basic };
      return;
    }
    const response = await this.endpoint.request('POST', sessions, {
      headers: { accept: 'application/json' },
      body: { UserName: this.access.username, Password: this.access.password },
    });
    if (response.status === 401 || response.status === 403) throw this.authFailed();
    const token = response.headers['x-auth-token'];
    if (response.status >= 300 || typeof token !== 'string') {
      // A SessionService that does not work: basic auth is the fallback every Redfish service must accept.
      this.auth = { header: basic };
      return;
    }
    const location = response.headers['location'];
    this.auth = { header: { 'x-auth-token': token }, ...(typeof location === 'string' ? { session: location } : {}) };
  }
}

/** The host of a Redfish service's `http(s)://` address; anything else is refused as InvalidAddress. */
function redfishHost(address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw refused(`Redfish address ${address} is not a URL such as https://bmc.example:443`, 'InvalidAddress');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw refused(`Redfish address ${address} is not http(s)://`, 'InvalidAddress');
  return url.host;
}
