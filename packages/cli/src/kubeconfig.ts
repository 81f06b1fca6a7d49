/**
 * Kubeconfigs that keep working: `cx kubeconfig CLUSTER` writes an entry whose user runs `cx` as a
 * client-go exec credential plugin (`cx kubeconfig credential`), which asks cx's API
 * (`GET /api/v1/clusters/{id}/kubeconfig`) for a fresh short-lived client certificate each time
 * kubectl needs one — instead of a certificate that stops working after an hour.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CliError } from './exit-codes.js';

export const EXEC_API_VERSION = 'client.authentication.k8s.io/v1';

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

export interface Kubeconfig {
  apiVersion: string;
  kind: string;
  preferences?: Record<string, unknown>;
  'current-context'?: string;
  clusters: Array<Named<Record<string, unknown>>>;
  users: Array<Named<Record<string, unknown>>>;
  contexts: Array<Named<Record<string, unknown>>>;
  [key: string]: unknown;
}

/** What cx's kubeconfig answer holds: the API's address and CA, and a client certificate with its key. */
export interface IssuedKubeconfig {
  server: string;
  caData: string;
  clientCertificatePem: string;
  clientKeyPem: string;
}

export function readIssued(yamlText: string): IssuedKubeconfig {
  const config = parse(yamlText) as Partial<Kubeconfig> | null;
  const cluster = config?.clusters?.[0]?.cluster as
    { server?: string; 'certificate-authority-data'?: string } | undefined;
  const user = config?.users?.[0]?.user as
    { 'client-certificate-data'?: string; 'client-key-data'?: string } | undefined;
  if (
    !cluster?.server ||
    !cluster['certificate-authority-data'] ||
    !user?.['client-certificate-data'] ||
    !user['client-key-data']
  )
    throw new CliError('the server answered a kubeconfig without a cluster address, a CA or a client certificate');
  return {
    server: cluster.server,
    caData: cluster['certificate-authority-data'],
    clientCertificatePem: Buffer.from(user['client-certificate-data'], 'base64').toString('utf8'),
    clientKeyPem: Buffer.from(user['client-key-data'], 'base64').toString('utf8'),
  };
}

/** The ExecCredential `cx kubeconfig credential` prints for client-go. */
export function execCredential(issued: IssuedKubeconfig, expiresAt: string | null): object {
  return {
    apiVersion: EXEC_API_VERSION,
    kind: 'ExecCredential',
    status: {
      clientCertificateData: issued.clientCertificatePem,
      clientKeyData: issued.clientKeyPem,
      ...(expiresAt ? { expirationTimestamp: expiresAt } : {}),
    },
  };
}

export interface EntryInput {
  /** The cx server, its context and the user: entries are named uniquely per server, cluster and user. */
  server: string;
  contextName: string;
  username: string;
  clusterName: string;
  clusterId: string;
  issued: IssuedKubeconfig;
  /** How kubectl runs cx: [command, ...args before `kubeconfig credential`]. */
  exec: string[];
}

/** Names of the entries: `CLUSTER.HOST` for the cluster, `USER@CLUSTER.HOST` for the user and the context. */
export function entryNames(input: Pick<EntryInput, 'server' | 'username' | 'clusterName'>): {
  cluster: string;
  user: string;
} {
  let host = input.server;
  try {
    host = new URL(input.server).host;
  } catch {
    /* keep it */
  }
  const cluster = `${input.clusterName}.${host}`;
  return { cluster, user: `${input.username}@${cluster}` };
}

/** A kubeconfig with one cluster, one exec-plugin user and one context, current. */
export function execKubeconfig(input: EntryInput): Kubeconfig {
  const names = entryNames(input);
  const [command, ...args] = input.exec;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': names.user,
    clusters: [
      {
        name: names.cluster,
        cluster: { server: input.issued.server, 'certificate-authority-data': input.issued.caData },
      },
    ],
    users: [
      {
        name: names.user,
        user: {
          exec: {
            apiVersion: EXEC_API_VERSION,
            command,
            args: [...args, '--context', input.contextName, 'kubeconfig', 'credential', input.clusterId],
            interactiveMode: 'Never',
            provideClusterInfo: false,
            installHint: 'cx is the cx CLI (npm: packages/cli); sign in again with cx login when it says so',
          },
        },
      },
    ],
    contexts: [{ name: names.user, context: { cluster: names.cluster, user: names.user } }],
  };
}

/** Adds or replaces `entries`' cluster, user and context in `base` (same names), and makes its context current. */
export function mergeKubeconfig(base: Kubeconfig | undefined, entries: Kubeconfig): Kubeconfig {
  const into = base ?? { apiVersion: 'v1', kind: 'Config', preferences: {}, clusters: [], users: [], contexts: [] };
  const merge = <T extends { name: string }>(existing: T[] | undefined | null, added: T[]): T[] => [
    ...(existing ?? []).filter((e) => !added.some((a) => a.name === e.name)),
    ...added,
  ];
  return {
    ...into,
    apiVersion: into.apiVersion ?? 'v1',
    kind: into.kind ?? 'Config',
    clusters: merge(into.clusters, entries.clusters),
    users: merge(into.users, entries.users),
    contexts: merge(into.contexts, entries.contexts),
    'current-context': entries['current-context']!,
  };
}

/** The kubeconfig `--merge` writes: the first file of `KUBECONFIG`, else `~/.kube/config` (kubectl's choice). */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = env['KUBECONFIG']?.split(delimiter).find((p) => p !== '');
  return first ?? join(homedir(), '.kube', 'config');
}

export function readKubeconfig(path: string): Kubeconfig | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') return undefined;
  try {
    return parse(text) as Kubeconfig;
  } catch (error) {
    throw new CliError(`${path} is not a kubeconfig (${(error as Error).message}); nothing was written`);
  }
}

/** Writes a kubeconfig atomically, readable by its owner only. */
export function writeKubeconfig(path: string, config: Kubeconfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, stringify(config, { lineWidth: 0 }), { mode: 0o600 });
  renameSync(temporary, path);
}
