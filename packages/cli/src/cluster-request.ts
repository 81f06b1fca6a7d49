/**
 * The body of `POST /api/v1/clusters` from `cx create cluster`'s flags and/or a file (`-f`): a
 * request, or a cluster as `cx get cluster NAME -o yaml` prints it (what the server adds — id,
 * status, timestamps — is dropped), so that export → edit → create works. Flags win over the file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { ClusterCreateBody, NodePoolRequest } from '@cx/api-schemas';
import { CliError, UsageError } from './exit-codes.js';

/** What the server adds to a cluster and a request does not carry. */
const SERVER_FIELDS = [
  'id',
  'status',
  'statusMessage',
  'activeWorkflowId',
  'apiEndpoint',
  'apiVip',
  'healthStatus',
  'osImage',
  'createdBy',
  'createdAt',
  'updatedAt',
  'resourceGroupId',
];

export interface CreateFlags {
  provider?: string;
  version?: string;
  controlPlane?: number;
  pools?: NodePoolRequest[];
  resourceGroup?: string;
  template?: string;
  /** Catalog addons the create installs, with their default settings. */
  addons?: string[];
}

/** Reads `-f FILE` (`-` for stdin): YAML or JSON, one object. */
export function readRequestFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not YAML or JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError(`${path} must hold one cluster (an object), as cx get cluster NAME -o yaml prints`);
  return value as Record<string, unknown>;
}

/**
 * The clusters of `cx apply -f` / `cx diff -f`: a file (`-` for stdin) of one or more YAML documents,
 * each a cluster or a list as `cx get clusters -o yaml` prints it (`items:`), or a directory of
 * such files (`*.yaml`, `*.yml`, `*.json`, in name order). Each comes with where it was read.
 */
export function readClusterDocuments(path: string): Array<{ source: string; document: Record<string, unknown> }> {
  let files = [path];
  try {
    if (path !== '-' && statSync(path).isDirectory())
      files = readdirSync(path)
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .sort()
        .map((f) => join(path, f));
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (files.length === 0) throw new UsageError(`${path} has no .yaml, .yml or .json file`);
  const out: Array<{ source: string; document: Record<string, unknown> }> = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
    }
    const documents = parseAllDocuments(text);
    for (const [index, doc] of (Array.isArray(documents) ? documents : [documents]).entries()) {
      if (doc.errors.length > 0) throw new UsageError(`${file} is not YAML or JSON: ${doc.errors[0]!.message}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      const items =
        typeof value === 'object' && Array.isArray((value as { items?: unknown }).items)
          ? (value as { items: unknown[] }).items
          : [value];
      for (const item of items) {
        if (typeof item !== 'object' || item === null || Array.isArray(item))
          throw new UsageError(
            `${file} (document ${index + 1}) must hold clusters, as cx get cluster NAME -o yaml prints`,
          );
        out.push({
          source: documents.length > 1 ? `${file} (document ${index + 1})` : file,
          document: item as Record<string, unknown>,
        });
      }
    }
  }
  if (out.length === 0) throw new UsageError(`${path} holds no cluster`);
  return out;
}

/** Turns a cluster read back from the API into a request: server fields dropped, the resource group by id. */
export function fromClusterDocument(document: Record<string, unknown>): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) if (!SERVER_FIELDS.includes(key)) request[key] = value;
  if (request['resourceGroup'] === undefined && typeof document['resourceGroupId'] === 'string')
    request['resourceGroup'] = document['resourceGroupId'];
  // A cluster names the template it came from as {id, name, version}; it is already applied.
  if (typeof request['template'] === 'object' || request['template'] === null) delete request['template'];
  return request;
}

export function buildClusterRequest(
  name: string | undefined,
  flags: CreateFlags,
  file?: Record<string, unknown>,
): ClusterCreateBody {
  const request = file ? fromClusterDocument(file) : {};
  const finalName = name ?? (typeof request['name'] === 'string' ? request['name'] : undefined);
  if (!finalName) throw new UsageError('name the cluster: cx create cluster NAME …, or name: in the file');
  if (name && typeof request['name'] === 'string' && request['name'] !== name)
    throw new UsageError(`the file names the cluster ${String(request['name'])}, the command ${name}`);
  request['name'] = finalName;
  if (flags.provider) request['provider'] = flags.provider;
  if (flags.version) request['kubernetesVersion'] = flags.version;
  if (flags.controlPlane !== undefined)
    request['controlPlane'] = {
      ...(typeof request['controlPlane'] === 'object' ? (request['controlPlane'] as object) : {}),
      count: flags.controlPlane,
    };
  if (flags.pools && flags.pools.length > 0) request['nodePools'] = flags.pools;
  if (flags.resourceGroup) request['resourceGroup'] = flags.resourceGroup;
  if (flags.template) request['template'] = flags.template;
  if (flags.addons && flags.addons.length > 0) request['addons'] = flags.addons.map((name) => ({ name }));
  if (!request['template']) {
    const missing = [
      ['provider', '--provider'],
      ['kubernetesVersion', '--version'],
      ['controlPlane', '--control-plane'],
    ].filter(([key]) => request[key!] === undefined);
    if (missing.length > 0)
      throw new UsageError(
        `missing ${missing.map(([, flag]) => flag).join(', ')} (or --template, or -f FILE)`,
        'cx get providers lists the providers and their Kubernetes versions',
      );
  }
  return request as ClusterCreateBody;
}
