import Type, { type Static } from 'typebox';

/**
 * The one configuration schema of cx. Every key can be set in the YAML file and overridden by a
 * `CX_*` environment variable named after its path (`http.port` → `CX_HTTP_PORT`,
 * `sim.latencyMs` → `CX_SIM_LATENCY_MS`). docs/configuration.md is written from this schema.
 * Keys with a default are required in the type (ajv fills them before `required` is checked);
 * keys without one are optional. `env` and `secret` are cx's own annotations, ignored by ajv.
 */
export const configSchema = Type.Object(
  {
    dataDir: Type.String({
      default: '.cx',
      description:
        'Directory for local state of the embedded default (SQLite file, generated keys, sim machines, private Redis).',
    }),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1', description: 'Address the public API (wfm) listens on.' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port of the public API (wfm).' }),
        bodyLimitBytes: Type.Integer({
          minimum: 1024,
          maximum: 16777216,
          default: 1048576,
          description: 'Largest accepted request body.',
        }),
        trustedProxies: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            "Addresses or CIDRs of the reverse proxies in front of the API (an Ingress controller's pod network, a load balancer), comma-separated in the environment: from them, the client's address is read from X-Forwarded-For, so that login throttling and the audit log see the client, not the proxy. Empty: the peer's address is the client's.",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    database: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            pattern: '^(mysql://|sqlite:)',
            description:
              '`mysql://user:password@host:port/db` (MySQL 8 / MariaDB) or `sqlite:PATH`; default `sqlite:<dataDir>/cx.db`. Only sm connects.',
            secret: true,
          }),
        ),
        poolMax: Type.Integer({
          minimum: 1,
          maximum: 200,
          default: 10,
          description: 'Largest SQL connection pool of one sm replica.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    redis: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            pattern: '^rediss?://',
            description:
              'Redis for the BullMQ queues. Unset for `cx-server all-in-one`: a private redis-server is started under dataDir.',
            secret: true,
          }),
        ),
        prefix: Type.String({
          pattern: '^[A-Za-z0-9_{}-]+$',
          default: 'cx',
          description: 'BullMQ key prefix; use a hash tag such as `{cx}` on Redis Cluster.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    secretKey: Type.Optional(
      Type.String({
        minLength: 32,
        description:
          'Key material (at least 32 characters) for encryption at rest and token signing. Generated into dataDir for the embedded default.',
        secret: true,
      }),
    ),
    serviceToken: Type.Optional(
      Type.String({
        minLength: 32,
        description:
          'Token the services present to each other (sm internal API). Generated into dataDir for the embedded default.',
        secret: true,
      }),
    ),
    adminPassword: Type.Optional(
      Type.String({
        minLength: 8,
        description:
          'Password of the bootstrap admin `admin`, set when the user is first created. Generated and printed when unset.',
        secret: true,
      }),
    ),
    tokenTtlSeconds: Type.Integer({
      minimum: 60,
      maximum: 86400,
      default: 3600,
      description: 'Lifetime of access tokens issued at login.',
    }),
    auth: Type.Object(
      {
        ldap: Type.Object(
          {
            url: Type.Optional(
              Type.String({
                pattern: '^ldaps?://',
                env: 'CX_LDAP_URL',
                description:
                  'LDAP / Active Directory server, `ldap://host:389` or `ldaps://host:636`. Unset: no LDAP login. Settings an admin saves at run time (`PUT /api/v1/settings/ldap`) replace `auth.ldap`.',
              }),
            ),
            startTls: Type.Boolean({
              default: false,
              env: 'CX_LDAP_START_TLS',
              description: 'Upgrade an `ldap://` connection with StartTLS before binding.',
            }),
            caFile: Type.Optional(
              Type.String({
                env: 'CX_LDAP_CA_FILE',
                description:
                  "PEM file of the CA that signed the directory's certificate (ldaps or StartTLS); the system CAs otherwise.",
              }),
            ),
            bindDn: Type.Optional(
              Type.String({
                env: 'CX_LDAP_BIND_DN',
                description: 'Service account that searches for users and groups.',
              }),
            ),
            bindPassword: Type.Optional(
              Type.String({
                env: 'CX_LDAP_BIND_PASSWORD',
                secret: true,
                description: 'Password of the service account.',
              }),
            ),
            userBaseDn: Type.Optional(
              Type.String({ env: 'CX_LDAP_USER_BASE_DN', description: 'Where users are searched (subtree).' }),
            ),
            userFilter: Type.String({
              default: '(sAMAccountName={username})',
              env: 'CX_LDAP_USER_FILTER',
              description:
                'Filter that finds a user; `{username}` is replaced by the escaped login name. OpenLDAP style: `(uid={username})`.',
            }),
            groupBaseDn: Type.Optional(
              Type.String({
                env: 'CX_LDAP_GROUP_BASE_DN',
                description: 'Where groups are searched (subtree); default: userBaseDn.',
              }),
            ),
            groupFilter: Type.String({
              default: '(member={userDn})',
              env: 'CX_LDAP_GROUP_FILTER',
              description:
                'Filter that finds the groups a DN is a direct member of; `{userDn}` is replaced by the escaped DN.',
            }),
            nestedGroups: Type.Unsafe<'auto' | 'in-chain' | 'recursive' | 'off'>({
              type: 'string',
              enum: ['auto', 'in-chain', 'recursive', 'off'],
              default: 'auto',
              env: 'CX_LDAP_NESTED_GROUPS',
              description:
                'How nested groups are resolved: the AD in-chain matching rule, a bounded recursive search, or `auto` (in-chain when the server is Active Directory).',
            }),
            maxNestingDepth: Type.Integer({
              minimum: 1,
              maximum: 50,
              default: 10,
              env: 'CX_LDAP_MAX_NESTING_DEPTH',
              description: 'Deepest group nesting followed by the recursive search.',
            }),
            timeoutMs: Type.Integer({
              minimum: 100,
              maximum: 120000,
              default: 5000,
              env: 'CX_LDAP_TIMEOUT_MS',
              description: 'Deadline of each LDAP operation; a slower directory answers 503.',
            }),
            groupCacheTtlSeconds: Type.Integer({
              minimum: 0,
              maximum: 86400,
              default: 300,
              env: 'CX_LDAP_GROUP_CACHE_TTL_SECONDS',
              description:
                "How long a user's resolved groups are reused before the directory is asked again (0: never cached).",
            }),
          },
          { additionalProperties: false, default: {} },
        ),
        oidc: Type.Object(
          {
            issuer: Type.Optional(
              Type.String({
                pattern: '^https?://',
                env: 'CX_OIDC_ISSUER',
                description:
                  'OpenID Connect issuer URL (discovered through `/.well-known/openid-configuration`). Unset: no single sign-on. Settings an admin saves at run time (`PUT /api/v1/settings/oidc`) replace `auth.oidc` but `redirectUri`.',
              }),
            ),
            clientId: Type.Optional(
              Type.String({
                env: 'CX_OIDC_CLIENT_ID',
                description: 'Client id cx is registered under at the identity provider.',
              }),
            ),
            clientSecret: Type.Optional(
              Type.String({
                env: 'CX_OIDC_CLIENT_SECRET',
                secret: true,
                description: 'Client secret cx is registered with.',
              }),
            ),
            redirectUri: Type.Optional(
              Type.String({
                pattern: '^https?://',
                env: 'CX_OIDC_REDIRECT_URI',
                description:
                  'Public URL of `/api/v1/auth/oidc/callback` as registered at the identity provider; default: built from http.host and http.port.',
              }),
            ),
            scopes: Type.String({
              default: 'openid profile email',
              env: 'CX_OIDC_SCOPES',
              description:
                'Scopes requested (space-separated); add the one that releases the groups claim, e.g. `groups`.',
            }),
            usernameClaim: Type.String({
              default: 'preferred_username',
              env: 'CX_OIDC_USERNAME_CLAIM',
              description: 'Claim that names the user in cx.',
            }),
            groupsClaim: Type.String({
              default: 'groups',
              env: 'CX_OIDC_GROUPS_CLAIM',
              description: "Claim holding the user's groups (an array of names).",
            }),
            allowHttp: Type.Boolean({
              default: false,
              env: 'CX_OIDC_ALLOW_HTTP',
              description: 'Accept an `http://` issuer (tests and labs only).',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
        apiTokens: Type.Object(
          {
            defaultDays: Type.Integer({
              minimum: 1,
              maximum: 3650,
              default: 90,
              env: 'CX_API_TOKEN_DEFAULT_DAYS',
              description: 'Lifetime of an API token created without expiresInDays.',
            }),
            maxDays: Type.Integer({
              minimum: 1,
              maximum: 3650,
              default: 365,
              env: 'CX_API_TOKEN_MAX_DAYS',
              description: 'Longest lifetime an API token may be created with.',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
        kubeconfigCertificateSeconds: Type.Integer({
          minimum: 60,
          maximum: 3600,
          default: 3600,
          description:
            "Lifetime of the client certificate in a user's kubeconfig (and in each answer of `cx kubeconfig credential`, kubectl's exec plugin, which fetches a new one when it expires).",
        }),
        lockout: Type.Object(
          {
            maxFailures: Type.Integer({
              minimum: 1,
              maximum: 1000,
              default: 5,
              description:
                'Failed logins of one user from one source address within windowSeconds after which each further try from there waits, twice as long each time (up to lockSeconds; 429).',
            }),
            maxFailuresPerUser: Type.Integer({
              minimum: 1,
              maximum: 100000,
              default: 20,
              description:
                'Failed logins of one user from all sources within windowSeconds that lock the user for lockSeconds against sources it never signed in from (423); from a source it signed in from before, the right password still gets in.',
            }),
            maxFailuresPerSource: Type.Integer({
              minimum: 1,
              maximum: 100000,
              default: 50,
              description:
                'Failed logins from one source address (any users) within windowSeconds after which that address is refused for lockSeconds (429), except for users who signed in from it before.',
            }),
            windowSeconds: Type.Integer({
              minimum: 1,
              maximum: 86400,
              default: 900,
              description: 'Window in which failed logins are counted.',
            }),
            lockSeconds: Type.Integer({
              minimum: 1,
              maximum: 86400,
              default: 900,
              description: 'How long a locked user or refused address stays so, and the longest delay.',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    sm: Type.Object(
      {
        url: Type.String({
          pattern: '^https?://',
          default: 'http://127.0.0.1:8081',
          description: 'Where wfm and sddc reach sm.',
        }),
        host: Type.String({ default: '127.0.0.1', description: 'Address sm listens on.' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8081, description: 'Port sm listens on.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    sddc: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1', description: 'Address of sddc health and metrics endpoints.' }),
        port: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 8082,
          description: 'Port of sddc health and metrics endpoints.',
        }),
        concurrency: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 100,
          description:
            "Provider operations one sddc replica runs at once; a workflow step's operation on several machines (one job) runs up to this many of its machines at once.",
        }),
        tenantTimeoutSeconds: Type.Integer({
          minimum: 1,
          maximum: 600,
          default: 30,
          description:
            "How long one request to a tenant cluster's Kubernetes API may take before sddc abandons it; the operation is then retried with backoff, and the workflow step after it, until the step's attempts (workflows.stepAttempts) run out.",
        }),
        providers: Type.Array(
          Type.Unsafe<'sim' | 'kwok' | 'vsphere' | 'openstack' | 'baremetal'>({
            type: 'string',
            enum: ['sim', 'kwok', 'vsphere', 'openstack', 'baremetal'],
          }),
          {
            default: ['sim', 'kwok', 'vsphere', 'openstack', 'baremetal'],
            description:
              "Providers this sddc serves (comma-separated in the environment). `kwok` is served when its binaries are built (`npm run peers -- kubernetes`); by default it is skipped with a notice when they are not. `vsphere` and `openstack` act with the credential of a cluster's resource group, `baremetal` on the hosts registered at `/api/v1/hosts` (docs/providers/).",
          },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    workflows: Type.Object(
      {
        concurrency: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 100,
          description: 'Workflow steps one wfm replica runs at once.',
        }),
        reconcileIntervalMs: Type.Integer({
          minimum: 100,
          maximum: 600000,
          default: 5000,
          description: 'How often wfm looks for running workflows without a live job.',
        }),
        stepAttempts: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 5,
          description: 'Attempts of a step failing with a retryable error before its workflow fails.',
        }),
        lockDurationMs: Type.Integer({
          minimum: 1000,
          maximum: 600000,
          default: 15000,
          description: 'BullMQ job lock; a job of a crashed process is picked up again after about this long.',
        }),
        nodesReadyTimeoutSeconds: Type.Integer({
          minimum: 1,
          maximum: 86400,
          default: 1800,
          description:
            'How long create and scale wait for new machines to register Ready nodes before the workflow fails (reason NodesNotReady); on real infrastructure this covers boot, cloud-init and kubeadm.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    sim: Type.Object(
      {
        latencyMs: Type.Integer({
          minimum: 0,
          maximum: 600000,
          default: 200,
          description: 'Simulated duration of each sim provider operation (boot, node join, delete).',
        }),
        failureRate: Type.Number({
          minimum: 0,
          maximum: 1,
          default: 0,
          description: 'Probability that a sim provider operation fails with a retryable error.',
        }),
        dataDir: Type.Optional(
          Type.String({
            description:
              "Directory of the sim machines' store, an LMDB file shared by every sddc process on this machine (default: dataDir/sim).",
          }),
        ),
        journal: Type.Optional(
          Type.String({
            description:
              'A file to which every sim effect (machine created, upgraded, deleted) is appended as a JSON line; the chaos harness (bench/chaos.mjs) counts effects that happened twice from it.',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Object(
      {
        maxClusters: Type.Integer({
          minimum: 1,
          maximum: 100000,
          default: 256,
          description: 'Clusters one cx manages (seed 003 GA+: 256 per HX cluster).',
        }),
        maxMachinesPerCluster: Type.Integer({
          minimum: 1,
          maximum: 100000,
          default: 1024,
          description:
            'Machines (control plane and workers) of one cluster (seed 003 GA+: 1024 VMs per Kubernetes cluster).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    kwok: Type.Object(
      {
        binariesFile: Type.Optional(
          Type.String({
            description:
              'JSON manifest of the kube-apiserver, etcd and kwok binaries (written by `npm run peers -- kubernetes`); default: `$CX_PEERS_DIR` or `~/.cache/cx-peers`, then `kubernetes/binaries.json`.',
          }),
        ),
        dataDir: Type.Optional(
          Type.String({
            description: "Where the kwok runtime keeps each cluster's control plane (default: dataDir/kwok).",
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    ha: Type.Object(
      {
        keepalivedImage: Type.String({
          minLength: 1,
          default: 'docker.io/osixia/keepalived:2.0.20',
          description:
            'Container image (with keepalived, /bin/sh) the ha-config DaemonSets run in tenant clusters; mirror it for air-gapped sites.',
        }),
        haproxyImage: Type.String({
          minLength: 1,
          default: 'docker.io/library/haproxy:2.8',
          description:
            'Container image of the haproxy static pod that balances the control-plane VIP (clusters with controlPlane.vipPool).',
        }),
        kubeVipImage: Type.String({
          minLength: 1,
          default: 'ghcr.io/kube-vip/kube-vip:v0.8.9',
          description:
            'Container image of the kube-vip static pod that keeps the control-plane VIP of clusters with controlPlane.vipManager kube-vip.',
        }),
        healthMonitor: Type.Boolean({
          default: true,
          description:
            'Whether this sddc replica takes part in watching the nodes of tenant clusters (node health, fencing, remediation; ha-configs applied again when their nodes change).',
        }),
        healthIntervalSeconds: Type.Integer({
          minimum: 1,
          maximum: 300,
          default: 5,
          description:
            'How often the node health monitor looks at each cluster it watches (and compares its ha-configs with its nodes).',
        }),
        healthShards: Type.Integer({
          minimum: 1,
          maximum: 4096,
          default: 16,
          description:
            'Clusters are split into this many shards, each watched by one sddc replica at a time (a Redis lease of 3 intervals); the same number on every replica.',
        }),
        pairWitness: Type.Boolean({
          default: true,
          description:
            'Whether this sddc replica takes part in witnessing two-node pairs (polling their agents, fencing a lost side, moving singletons).',
        }),
        pairIntervalMs: Type.Integer({
          minimum: 200,
          maximum: 10000,
          default: 1000,
          description:
            "How often the pair witness polls each side's agent and decides; pairs are shared among sddc replicas in healthShards shards under Redis leases (3 intervals, at least 10 s).",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    baremetal: Type.Object(
      {
        installerImageUrl: Type.Optional(
          Type.String({
            pattern: '^https?://',
            description:
              'Installer image the BMC boots once as virtual media (Redfish) when a host becomes a machine; without it hosts boot once from the network (PXE). See docs/providers/baremetal.md.',
          }),
        ),
        wipeImageUrl: Type.Optional(
          Type.String({
            pattern: '^https?://',
            description:
              'Cleaning image the BMC boots once as virtual media when a machine of a cluster with hostCleanup wipe is deleted: it erases the disks and powers the host off; without it hosts boot once from the network (PXE). See docs/providers/baremetal.md.',
          }),
        ),
        cleaningCheckSeconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          default: 10,
          description:
            'How often sddc looks for hosts whose cleaning image has powered them off, to return them to the free pool.',
        }),
        bootDevice: Type.Unsafe<'pxe' | 'disk'>({
          type: 'string',
          enum: ['pxe', 'disk'],
          default: 'pxe',
          description:
            "The one-time boot device of a host becoming a machine when no installerImageUrl is set: `pxe` (your PXE service installs it) or `disk` (its disk already holds the node image, which reads the machine's seed from the virtual CD). See docs/providers/baremetal.md.",
        }),
        seedHost: Type.String({
          default: '127.0.0.1',
          description:
            "Address of sddc's seed listener, which serves each bare-metal machine's NoCloud seed (its cloud-init user data) to its BMC (virtual media) or PXE flow until the node has joined. It starts with the first seed. On every address (`0.0.0.0`), seedBaseUrl is required.",
        }),
        seedPort: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 0,
          description: 'Port of the seed listener; 0 takes a free port (then set no seedBaseUrl, or only for a proxy).',
        }),
        seedBaseUrl: Type.Optional(
          Type.String({
            pattern: '^https?://[^/]',
            description:
              'URL at which BMCs and hosts reach the seed listener (e.g. `http://10.0.0.5:8090` on the management network); default `http://seedHost:seedPort`. sddc checks that it reaches its own listener before handing out a seed (reason SeedUnreachable).',
          }),
        ),
        seedTtlSeconds: Type.Integer({
          minimum: 60,
          maximum: 86400,
          default: 3600,
          description:
            "A machine's seed (it carries join tokens and keys) is served until its node is Ready, its machine deleted, or this long at most; keep it above workflows.nodesReadyTimeoutSeconds.",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    egress: Type.Object(
      {
        allow: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Endpoints users supply (log-forwarding targets) must match one of these when the list is not empty: CIDRs (`10.20.0.0/16`), addresses, host names, `*.domain` (comma-separated in the environment). Checked on the host name and every address it resolves to.',
        }),
        deny: Type.Array(Type.String({ minLength: 1 }), {
          default: [
            '127.0.0.0/8',
            '::1/128',
            '0.0.0.0/8',
            '::/128',
            '169.254.0.0/16',
            'fe80::/10',
            '100.100.100.200/32',
            'fd00:ec2::254/128',
            'localhost',
            'metadata.google.internal',
          ],
          description:
            'Endpoints users supply are refused when their host name or an address it resolves to matches one of these (SSRF guard; wins over allow). The default refuses loopback, unspecified and link-local addresses (cloud metadata services); add your control network, e.g. `10.0.0.0/8`, to keep tenants off it.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    etcd: Type.Object(
      {
        maxSnapshotBytes: Type.Integer({
          minimum: 65536,
          maximum: 1073741824,
          default: 67108864,
          description:
            'Largest etcd snapshot of a cluster cx takes and keeps (sealed in the database); a larger one fails its workflow with CX_LIMIT_EXCEEDED. sm holds one whole snapshot in memory while it stores or returns it. See docs/etcd-snapshots.md.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    audit: Type.Object(
      {
        retentionDays: Type.Integer({
          minimum: 1,
          maximum: 36500,
          default: 365,
          description: 'Audit records older than this are deleted (sm checks hourly).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Unsafe<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>({
          type: 'string',
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
          description: 'pino log level.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

/**
 * The loaded configuration. `database.url` has no schema default because it is derived from
 * `dataDir` after validation; it is always set once loadConfig returns.
 */
export type CxConfig = Omit<Static<typeof configSchema>, 'database'> & {
  database: Static<typeof configSchema>['database'] & { url: string };
};
export type LdapConfig = CxConfig['auth']['ldap'];
export type OidcConfig = CxConfig['auth']['oidc'];
export type LockoutConfig = CxConfig['auth']['lockout'];
export type ApiTokenConfig = CxConfig['auth']['apiTokens'];
export type ScaleLimits = CxConfig['limits'];
