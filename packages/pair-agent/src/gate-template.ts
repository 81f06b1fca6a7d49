/**
 * The start gate in a singleton's pod template: a first init container, `cx-pair-gate`, that waits
 * until the singleton's token exists in the gate directory, mounted read-only from the node at
 * `/gate`. Being first, it holds every other container of the pod, init containers included (a
 * migration must not run either). What counts as "in place" is checked on the fields that decide
 * what the gate does; fields the API server defaults are ignored.
 */
import type { V1Container, V1Deployment, V1Volume } from '@kubernetes/client-node';
import type { SingletonSpec } from '@cx/pair';
import { gateFileName } from './gate-tokens.js';

export const GATE_CONTAINER = 'cx-pair-gate';
export const GATE_VOLUME = 'cx-pair-gate';
export const GATE_MOUNT_PATH = '/gate';

/** The gate as configured for the agent: the node's gate directory and the image of the init container. */
export interface GateConfig {
  dir: string;
  image: string;
}

/** The shell loop of the init container; the file name is safe in a shell word (see gateFileName). */
export function gateCommand(singleton: Pick<SingletonSpec, 'namespace' | 'name'>): string[] {
  const file = gateFileName(singleton);
  return [
    'sh',
    '-c',
    `echo "cx-pair-gate: waiting until the pair witness activates ${singleton.namespace}/${singleton.name} in this boot of the node (${GATE_MOUNT_PATH}/${file})"; until [ -f ${GATE_MOUNT_PATH}/${file} ]; do sleep 1; done`,
  ];
}

/**
 * The init container. Unprivileged and tiny (requests and limits set, so that a namespace with a
 * ResourceQuota on limits still admits the pod); it only ever tests for a file.
 */
export function gateInitContainer(singleton: Pick<SingletonSpec, 'namespace' | 'name'>, gate: GateConfig): V1Container {
  return {
    name: GATE_CONTAINER,
    image: gate.image,
    command: gateCommand(singleton),
    volumeMounts: [{ name: GATE_VOLUME, mountPath: GATE_MOUNT_PATH, readOnly: true }],
    resources: { requests: { cpu: '5m', memory: '8Mi' }, limits: { cpu: '50m', memory: '16Mi' } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

export function gateVolume(gate: GateConfig): V1Volume {
  return { name: GATE_VOLUME, hostPath: { path: gate.dir, type: 'DirectoryOrCreate' } };
}

/** Why the Deployment's pod template does not carry this gate; undefined when it does. */
export function gateProblem(
  deployment: V1Deployment,
  singleton: Pick<SingletonSpec, 'namespace' | 'name'>,
  gate: GateConfig,
): string | undefined {
  const pod = deployment.spec?.template?.spec;
  const initContainers = pod?.initContainers ?? [];
  const index = initContainers.findIndex((c) => c.name === GATE_CONTAINER);
  if (index < 0) return `no init container ${GATE_CONTAINER}`;
  if (index > 0) return `init container ${GATE_CONTAINER} is not the first one`;
  const container = initContainers[0]!;
  if (container.image !== gate.image)
    return `init container ${GATE_CONTAINER} runs ${container.image ?? 'no image'}, not ${gate.image}`;
  const command = gateCommand(singleton);
  if (JSON.stringify(container.command ?? []) !== JSON.stringify(command) || (container.args ?? []).length > 0)
    return `init container ${GATE_CONTAINER} runs another command`;
  const mounts = (container.volumeMounts ?? []).map((m) => ({
    name: m.name,
    mountPath: m.mountPath,
    readOnly: m.readOnly === true,
    subPath: m.subPath ?? '',
    subPathExpr: m.subPathExpr ?? '',
  }));
  if (
    JSON.stringify(mounts) !==
    JSON.stringify([{ name: GATE_VOLUME, mountPath: GATE_MOUNT_PATH, readOnly: true, subPath: '', subPathExpr: '' }])
  ) {
    return `init container ${GATE_CONTAINER} mounts something other than the gate directory read-only at ${GATE_MOUNT_PATH}`;
  }
  const volume = (pod?.volumes ?? []).find((v) => v.name === GATE_VOLUME);
  if (!volume) return `no volume ${GATE_VOLUME}`;
  const sources = Object.entries(volume)
    .filter(([key, value]) => key !== 'name' && value !== undefined && value !== null)
    .map(([key]) => key);
  if (sources.length !== 1 || volume.hostPath?.path !== gate.dir || volume.hostPath.type !== 'DirectoryOrCreate') {
    return `volume ${GATE_VOLUME} is not the node's ${gate.dir} (hostPath, DirectoryOrCreate)`;
  }
  return undefined;
}

/** One JSON Patch operation (RFC 6902). */
export type JsonPatchOperation =
  { op: 'test' | 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/**
 * The JSON Patch that puts the gate in place: the gate container first (replacing one of that
 * name wherever it is), the volume replaced or added. It touches nothing else of the template and
 * applies only to the Deployment as read (a `test` of its resourceVersion): indexes stay right,
 * and a concurrent change makes it fail rather than land on a template it was not computed for.
 */
export function gatePatch(
  deployment: V1Deployment,
  singleton: Pick<SingletonSpec, 'namespace' | 'name'>,
  gate: GateConfig,
): JsonPatchOperation[] {
  const resourceVersion = deployment.metadata?.resourceVersion;
  const pod = deployment.spec?.template?.spec;
  const operations: JsonPatchOperation[] = [{ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion }];
  const container = gateInitContainer(singleton, gate);
  if (pod?.initContainers === undefined || pod.initContainers.length === 0) {
    operations.push({ op: 'add', path: '/spec/template/spec/initContainers', value: [container] });
  } else {
    const index = pod.initContainers.findIndex((c) => c.name === GATE_CONTAINER);
    if (index >= 0) operations.push({ op: 'remove', path: `/spec/template/spec/initContainers/${index}` });
    operations.push({ op: 'add', path: '/spec/template/spec/initContainers/0', value: container });
  }
  const volume = gateVolume(gate);
  const volumeIndex = (pod?.volumes ?? []).findIndex((v) => v.name === GATE_VOLUME);
  if (pod?.volumes === undefined || pod.volumes.length === 0)
    operations.push({ op: 'add', path: '/spec/template/spec/volumes', value: [volume] });
  else if (volumeIndex >= 0)
    operations.push({ op: 'replace', path: `/spec/template/spec/volumes/${volumeIndex}`, value: volume });
  else operations.push({ op: 'add', path: '/spec/template/spec/volumes/-', value: volume });
  return operations;
}
