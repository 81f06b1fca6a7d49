/**
 * A small vim25 SOAP client: builds envelopes with fast-xml-parser's XMLBuilder (every value
 * escaped by the builder), parses answers with its XMLParser, keeps the `vmware_soap_session`
 * cookie, logs in again once when the session expired, and maps SOAP faults onto cx errors.
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { HttpEndpoint, refused, unavailable } from '@cx/provider-kit';
import type { CxError } from '@cx/errors';

/** A managed object reference as the API sends it: `{ type, value }`. */
export interface MoRef {
  type: string;
  value: string;
}

/**
 * A parsed XML node: strings, nested nodes, arrays of them; attributes as `@_name` (`@_xsi:type`
 * for a data object's type, `@_type` for a MoRef's); element names without their prefix.
 */
export type XmlNode = string | { [key: string]: XmlNode | XmlNode[] | undefined };

/** The SOAP fault the server answered, kept so that callers can branch on its type. */
export interface VimFault {
  type: string;
  message: string;
  node: XmlNode | undefined;
}

/** Carries the vSphere fault type on a cx error (`details.fault`). */
export function faultOf(error: unknown): string | undefined {
  const details = (error as CxError | undefined)?.details;
  const fault = details?.['fault'];
  return typeof fault === 'string' ? fault : undefined;
}

/** Element content `{ '@_type': T, '#text': V }`: how a MoRef or an xsi-typed scalar is written. */
export function mor(ref: MoRef): Record<string, string> {
  return { '@_type': ref.type, '#text': ref.value };
}

/** A value with an `xsi:type` (polymorphic fields such as `OptionValue.value`). */
export function typed(
  type: string,
  value: Record<string, unknown> | string | number | boolean,
): Record<string, unknown> {
  return typeof value === 'object' ? { '@_xsi:type': type, ...value } : { '@_xsi:type': type, '#text': String(value) };
}

/** Always an array: the parser gives one element as an object and many as an array. */
export function list<T = XmlNode>(value: T | T[] | undefined | null): T[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

/** The text of a node (`#text` of an element with attributes, or the string itself). */
export function text(node: XmlNode | XmlNode[] | undefined): string | undefined {
  if (node === undefined || Array.isArray(node)) return undefined;
  if (typeof node === 'string') return node;
  const value = node['#text'];
  return typeof value === 'string' ? value : undefined;
}

/** Reads a MoRef from a parsed node. */
export function asMoRef(node: XmlNode | XmlNode[] | undefined): MoRef | undefined {
  if (node === undefined || typeof node === 'string' || Array.isArray(node)) return undefined;
  const type = node['@_type'];
  const value = text(node);
  return typeof type === 'string' && value ? { type, value } : undefined;
}

/** A child of a parsed node. */
export function child(node: XmlNode | XmlNode[] | undefined, key: string): XmlNode | XmlNode[] | undefined {
  if (node === undefined || typeof node === 'string' || Array.isArray(node)) return undefined;
  return node[key];
}

export interface VimClientOptions {
  /** `https://vc.example.com/sdk` */
  url: string;
  username: string;
  password: string;
  caCert?: string | null;
  insecure?: boolean;
  timeoutMs?: number;
  attempts?: number;
}

/** What `RetrieveServiceContent` gives, the entry points of the API. */
export interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  searchIndex: MoRef;
  sessionManager: MoRef;
  customFieldsManager: MoRef;
  viewManager: MoRef;
}

const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

/** One logged-in connection to a vCenter's `/sdk`. */
export class VimClient {
  readonly endpoint: HttpEndpoint;
  private readonly options: VimClientOptions;
  private readonly path: string;
  private readonly builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    suppressBooleanAttributes: false,
  });
  private readonly parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: false,
    transformTagName: (name: string) => name.replace(/^[^:]+:/, ''),
    // The xsi prefix is the server's choice (vcsim writes XMLSchema-instance:type): one name for it.
    transformAttributeName: (name: string) =>
      name.replace(/^(@_)?[^:@]+:type$/, (_, prefix?: string) => `${prefix ?? ''}xsi:type`),
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
  });
  private cookie: string | undefined;
  private content: ServiceContent | undefined;
  private loggingIn: Promise<void> | undefined;
  /** The API version vCenter announces (`about.apiVersion`), named in SOAPAction as clients do. */
  private apiVersion = '8.0';

  constructor(options: VimClientOptions) {
    this.options = options;
    const url = new URL(options.url);
    this.path = url.pathname.replace(/^\//, '') || 'sdk';
    this.endpoint = new HttpEndpoint({
      baseUrl: url.origin,
      label: `vCenter ${url.host}`,
      caCert: options.caCert ?? null,
      insecure: options.insecure ?? false,
      timeoutMs: options.timeoutMs ?? 30_000,
      attempts: options.attempts ?? 3,
    });
  }

  get label(): string {
    return this.endpoint.label;
  }

  /** The service content, logging in first if there is no session yet. */
  async serviceContent(): Promise<ServiceContent> {
    await this.ensureSession();
    return this.content!;
  }

  /** Logs in (once, even when called concurrently). Wrong login → `AuthFailed`. */
  async ensureSession(): Promise<void> {
    if (this.cookie && this.content) return;
    this.loggingIn ??= this.login().finally(() => {
      this.loggingIn = undefined;
    });
    await this.loggingIn;
  }

  private async login(): Promise<void> {
    const root = await this.send('RetrieveServiceContent', {
      _this: mor({ type: 'ServiceInstance', value: 'ServiceInstance' }),
    });
    const need = (key: string): MoRef => {
      const ref = asMoRef(child(root, key));
      if (!ref)
        throw refused(`${this.label} did not name its ${key}; is this a vCenter /sdk endpoint?`, 'EndpointFailing');
      return ref;
    };
    const version = text(child(child(root, 'about'), 'apiVersion'));
    if (version) this.apiVersion = version;
    const content: ServiceContent = {
      rootFolder: need('rootFolder'),
      propertyCollector: need('propertyCollector'),
      searchIndex: need('searchIndex'),
      sessionManager: need('sessionManager'),
      customFieldsManager: need('customFieldsManager'),
      viewManager: need('viewManager'),
    };
    try {
      await this.send('Login', {
        _this: mor(content.sessionManager),
        userName: this.options.username,
        password: this.options.password,
      });
    } catch (error) {
      if (faultOf(error) === 'InvalidLogin') {
        throw refused(
          `${this.label} refused the login of ${this.options.username}: check the user name and password`,
          'AuthFailed',
          { cause: error },
        );
      }
      throw error;
    }
    this.content = content;
  }

  /**
   * Calls a vim25 method with the session, logging in first; on `NotAuthenticated` (the session
   * expired or vCenter restarted) logs in again once and repeats the call.
   */
  async call(
    method: string,
    body: Record<string, unknown>,
    options: { idempotent?: boolean } = {},
  ): Promise<XmlNode | undefined> {
    await this.ensureSession();
    try {
      return await this.send(method, body, options);
    } catch (error) {
      if (faultOf(error) !== 'NotAuthenticated') throw error;
      this.cookie = undefined;
      this.content = undefined;
      await this.ensureSession();
      return this.send(method, body, options);
    }
  }

  /** Ends the session (best effort) and closes the connections. */
  async close(): Promise<void> {
    if (this.cookie && this.content) {
      try {
        await this.send('Logout', { _this: mor(this.content.sessionManager) }, { idempotent: false });
      } catch {
        // The session dies with its timeout anyway.
      }
    }
    this.cookie = undefined;
    this.content = undefined;
    await this.endpoint.close();
  }

  /** One SOAP request; returns the `returnval` of the answer. */
  private async send(
    method: string,
    body: Record<string, unknown>,
    options: { idempotent?: boolean } = {},
  ): Promise<XmlNode | undefined> {
    const envelope = this.builder.build({
      'soapenv:Envelope': {
        '@_xmlns:soapenv': SOAP_NS,
        '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
        '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
        'soapenv:Body': { [method]: { '@_xmlns': 'urn:vim25', ...body } },
      },
    }) as string;
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      soapaction: `urn:vim25/${this.apiVersion}`,
    };
    if (this.cookie) headers['cookie'] = this.cookie;
    // Reads may be repeated; methods that change something are sent once.
    const idempotent = options.idempotent ?? /^(Retrieve|Find|ContinueRetrieve|Login$)/.test(method);
    const response = await this.endpoint.request('POST', this.path, {
      body: `<?xml version="1.0" encoding="UTF-8"?>${envelope}`,
      headers,
      idempotent,
    });
    const setCookie = list(response.headers['set-cookie']).find((c) => c.startsWith('vmware_soap_session='));
    if (setCookie) this.cookie = setCookie.split(';')[0];
    let parsed: XmlNode;
    try {
      parsed = this.parser.parse(response.text) as XmlNode;
    } catch (error) {
      throw unavailable(
        `${this.label} answered ${response.status} to ${method} with a body that is not XML`,
        'EndpointFailing',
        error,
      );
    }
    const soapBody = child(child(parsed, 'Envelope'), 'Body');
    if (soapBody === undefined) {
      if (response.status === 401 || response.status === 403)
        throw refused(`${this.label} answered ${response.status} to ${method}`, 'AuthFailed');
      throw unavailable(
        `${this.label} answered ${response.status} to ${method} without a SOAP body; is ${this.options.url} a vCenter /sdk endpoint?`,
        'EndpointFailing',
      );
    }
    const fault = child(soapBody, 'Fault');
    if (fault !== undefined) throw faultError(this.label, method, parseFault(fault));
    const returnval = child(child(soapBody, `${method}Response`), 'returnval') as XmlNode | undefined;
    // vcsim reports an ended session per object (missingSet) rather than as a fault.
    for (const object of method.includes('RetrieveProperties') ? list(child(returnval, 'objects')) : []) {
      for (const missing of list(child(object, 'missingSet'))) {
        if (child(child(child(missing, 'fault'), 'fault'), '@_xsi:type') === 'NotAuthenticated') {
          throw faultError(this.label, method, {
            type: 'NotAuthenticated',
            message: 'the session is not authenticated',
            node: undefined,
          });
        }
      }
    }
    return returnval;
  }
}

/** The fault's type (from `detail`'s xsi:type or element name) and message. */
export function parseFault(fault: XmlNode | XmlNode[] | undefined): VimFault {
  const detail = child(fault, 'detail');
  let type = 'SystemError';
  let node: XmlNode | undefined;
  if (detail && typeof detail === 'object' && !Array.isArray(detail)) {
    const [key, value] = Object.entries(detail).find(([k]) => !k.startsWith('@_')) ?? [];
    if (key) {
      node = value as XmlNode;
      const xsiType = child(value as XmlNode, '@_xsi:type');
      type = typeof xsiType === 'string' ? xsiType : key.replace(/Fault$/, '');
    }
  }
  return { type, message: text(child(fault, 'faultstring')) ?? type, node };
}

/** Faults that mean "try again later" rather than "refused". */
const TRANSIENT_FAULTS = new Set([
  'HostCommunication',
  'HostNotConnected',
  'RequestCanceled',
  'TaskInProgress',
  'ConcurrentAccess',
  'ResourceInUse',
]);

/** A SOAP fault as a cx error whose `details.reason` names what happened, `details.fault` the vSphere type. */
export function faultError(label: string, method: string, fault: VimFault): CxError {
  const message = `${label} refused ${method}: ${fault.type}: ${fault.message}`;
  let error: CxError;
  if (fault.type === 'InvalidLogin' || fault.type === 'NotAuthenticated' || fault.type === 'NoPermission') {
    error = refused(
      `${message}${fault.type === 'NoPermission' ? ' (the service account lacks a privilege; see docs/providers/vsphere.md)' : ''}`,
      fault.type === 'NoPermission' ? 'NoPermission' : 'AuthFailed',
    );
  } else if (fault.type === 'ManagedObjectNotFound') {
    error = refused(message, 'NotFound');
  } else if (
    fault.type === 'InsufficientResourcesFault' ||
    fault.type.startsWith('Insufficient') ||
    fault.type === 'OutOfBounds'
  ) {
    error = refused(`${message}; free capacity or choose smaller sizes`, 'InsufficientResources', { retryable: true });
  } else if (TRANSIENT_FAULTS.has(fault.type)) {
    error = unavailable(message, 'EndpointFailing');
  } else {
    error = refused(message, 'Refused');
  }
  error.details!['fault'] = fault.type;
  return error;
}
