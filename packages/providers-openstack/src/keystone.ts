/**
 * A Keystone v3 session: password or application-credential authentication scoped to one project,
 * the service catalog, token renewal before `expires_at` and once after a 401, and one HTTP
 * endpoint (provider-kit) per catalog service, so every call shares TLS, deadlines and breakers.
 */
import { type HttpResponse, HttpEndpoint, parseJson, refused } from '@cx/provider-kit';

/** How to log in; built from a `ProviderCredential` by `authFromCredential`. */
export interface KeystoneAuth {
  /** `https://keystone.example.com:5000/v3` */
  authUrl: string;
  authType: 'password' | 'application-credential';
  /** User name, or the application credential id. */
  username: string;
  /** Password, or the application credential secret. Never logged. */
  password: string;
  userDomainName: string;
  projectName?: string;
  projectId?: string;
  projectDomainName: string;
  region?: string;
  interface: 'public' | 'internal' | 'admin';
  caCert?: string | null;
  insecure: boolean;
  timeoutMs?: number;
  /** How long before `expires_at` a token is replaced (default 5 minutes). */
  renewBeforeMs?: number;
}

interface CatalogEntry {
  type: string;
  endpoints: Array<{ interface: string; region_id?: string; region?: string; url: string }>;
}

interface TokenBody {
  token: { expires_at: string; project?: { id: string; name: string }; catalog?: CatalogEntry[] };
}

interface Token {
  value: string;
  expiresAt: number;
  projectId: string;
  catalog: CatalogEntry[];
}

/** Renew this long before Keystone's `expires_at`, so that no call starts with a dying token. */
const RENEW_BEFORE_MS = 5 * 60_000;

export class KeystoneSession {
  readonly keystone: HttpEndpoint;
  private current: Token | undefined;
  private pending: Promise<Token> | undefined;
  private readonly services = new Map<string, HttpEndpoint>();

  constructor(private readonly auth: KeystoneAuth) {
    this.keystone = new HttpEndpoint({
      baseUrl: auth.authUrl,
      label: `Keystone ${new URL(auth.authUrl).host}`,
      caCert: auth.caCert,
      insecure: auth.insecure,
      timeoutMs: auth.timeoutMs ?? 20_000,
    });
  }

  /** A valid token, renewed when close to its expiry (one login at a time). */
  async token(): Promise<string> {
    return (await this.valid()).value;
  }

  /** Forgets `token` after a 401 so the next call logs in again (unless it was already replaced). */
  invalidate(token: string): void {
    if (this.current?.value === token) this.current = undefined;
  }

  /** The project the token is scoped to. */
  async projectId(): Promise<string> {
    return (await this.valid()).projectId;
  }

  /** Whether the catalog lists a service of this type for our interface and region. */
  async hasService(type: string): Promise<boolean> {
    return this.findUrl((await this.valid()).catalog, type) !== undefined;
  }

  /** The endpoint of a catalog service (`compute`, `network`, `image`). */
  async service(type: string): Promise<HttpEndpoint> {
    const url = this.findUrl((await this.valid()).catalog, type);
    if (!url) {
      throw refused(
        `the Keystone catalog has no ${this.auth.interface} ${type} endpoint${this.auth.region ? ` in region ${this.auth.region}` : ''}; ask the cloud admin to register it or fix settings.region/settings.interface`,
        'ServiceNotInCatalog',
      );
    }
    let endpoint = this.services.get(url);
    if (!endpoint) {
      endpoint = new HttpEndpoint({
        baseUrl: url,
        label: `OpenStack ${type} ${new URL(url).host}`,
        caCert: this.auth.caCert,
        insecure: this.auth.insecure,
        timeoutMs: this.auth.timeoutMs ?? 30_000,
      });
      this.services.set(url, endpoint);
    }
    return endpoint;
  }

  /** Logs in now (credential validation); throws `AuthFailed` on a refused login. */
  async login(): Promise<void> {
    this.current = undefined;
    await this.valid();
  }

  async close(): Promise<void> {
    await Promise.all([this.keystone.close(), ...[...this.services.values()].map((endpoint) => endpoint.close())]);
  }

  private findUrl(catalog: CatalogEntry[], type: string): string | undefined {
    const entry = catalog.find((service) => service.type === type);
    return entry?.endpoints.find(
      (endpoint) =>
        endpoint.interface === this.auth.interface &&
        (!this.auth.region || endpoint.region_id === this.auth.region || endpoint.region === this.auth.region),
    )?.url;
  }

  private async valid(): Promise<Token> {
    if (this.current && this.current.expiresAt - (this.auth.renewBeforeMs ?? RENEW_BEFORE_MS) > Date.now())
      return this.current;
    this.pending ??= this.authenticate().finally(() => {
      this.pending = undefined;
    });
    this.current = await this.pending;
    return this.current;
  }

  private body(): unknown {
    const a = this.auth;
    if (a.authType === 'application-credential') {
      // An application credential carries its own project scope; Keystone refuses an explicit one.
      return {
        auth: {
          identity: {
            methods: ['application_credential'],
            application_credential: { id: a.username, secret: a.password },
          },
        },
      };
    }
    const project = a.projectId ? { id: a.projectId } : { name: a.projectName, domain: { name: a.projectDomainName } };
    return {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: a.username, domain: { name: a.userDomainName }, password: a.password } },
        },
        scope: { project },
      },
    };
  }

  private async authenticate(): Promise<Token> {
    const response: HttpResponse = await this.keystone.request('POST', 'auth/tokens', {
      body: this.body(),
      idempotent: true,
    });
    if (response.status === 401 || response.status === 403) {
      throw refused(
        `${this.keystone.label} refused the login of ${this.auth.authType === 'password' ? `user ${this.auth.username}` : `application credential ${this.auth.username}`} (${response.status}); check the user name, password or secret, domain and project`,
        'AuthFailed',
      );
    }
    if (response.status === 404 && this.auth.authType === 'password') {
      throw refused(
        `${this.keystone.label} does not know the project ${this.auth.projectId ?? this.auth.projectName} (404); fix settings.projectName or settings.projectId`,
        'AuthFailed',
      );
    }
    if (response.status !== 201)
      throw refused(
        `${this.keystone.label} answered ${response.status} to a login; check settings and the Keystone logs`,
        'Refused',
      );
    const header = response.headers['x-subject-token'];
    const value = Array.isArray(header) ? header[0] : header;
    const { token } = parseJson<TokenBody>(response, this.keystone.label);
    if (!value || !token.project) {
      throw refused(
        `${this.keystone.label} issued a token that is not scoped to a project; give settings.projectName or settings.projectId`,
        'AuthFailed',
      );
    }
    return {
      value,
      expiresAt: Date.parse(token.expires_at),
      projectId: token.project.id,
      catalog: token.catalog ?? [],
    };
  }
}
