/**
 * The addon catalog: what cx can install into a tenant cluster, each at one pinned version. Settings
 * are checked against the addon's schema (every error listed, defaults filled in) before anything
 * is stored; rendering stamps the cx labels on every object, so that removal finds all of them.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { cniFlannel } from './cni-flannel.js';
import { cniKubeRouter } from './cni-kube-router.js';
import { dashboard } from './dashboard.js';
import { ingressNginx } from './ingress-nginx.js';
import { logForwarding } from './log-forwarding.js';
import { localPathStorage } from './local-path-storage.js';
import { metricsServer } from './metrics-server.js';
import { kubevirt } from './kubevirt.js';
import { monitoring } from './monitoring.js';
import { storageClass } from './storage-class.js';
import { addonLabels, type AddonCluster, type AddonDefinition, type KubernetesObject } from './types.js';

export const ADDONS: readonly AddonDefinition[] = [
  ingressNginx,
  metricsServer,
  monitoring,
  logForwarding,
  storageClass,
  dashboard,
  cniFlannel,
  cniKubeRouter,
  kubevirt,
  localPathStorage,
];

export function findAddon(name: string): AddonDefinition | undefined {
  return ADDONS.find((addon) => addon.name === name);
}

/** Whether the addon is a pod network (CNI): applied before nodes can be Ready, one per cluster. */
export function isNetworkAddon(name: string): boolean {
  return findAddon(name)?.stage === 'network';
}

/** An invalid setting, named like the public API names fields (`body.settings.url`). */
export interface SettingError {
  field: string;
  message: string;
}

export type SettingsCheck = { ok: true; settings: Record<string, unknown> } | { ok: false; errors: SettingError[] };

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validators = new Map<string, ValidateFunction>();

/** Checks settings against the addon's schema; answers them with defaults filled in, or every error. */
export function checkAddonSettings(addon: AddonDefinition, settings: unknown, field = 'body.settings'): SettingsCheck {
  const copy = structuredClone(settings ?? {}) as Record<string, unknown>;
  if (!addon.settingsSchema) {
    return Object.keys(copy).length === 0
      ? { ok: true, settings: {} }
      : { ok: false, errors: [{ field, message: `addon ${addon.name} takes no settings` }] };
  }
  let validate = validators.get(addon.name);
  if (!validate) {
    validate = ajv.compile(addon.settingsSchema);
    validators.set(addon.name, validate);
  }
  if (validate(copy)) return { ok: true, settings: copy };
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => settingError(e, field));
  return {
    ok: false,
    errors: errors.filter((e, i) => errors.findIndex((o) => o.field === e.field && o.message === e.message) === i),
  };
}

function settingError(error: ErrorObject, field: string): SettingError {
  const path = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'required') path.push(String((error.params as { missingProperty: string }).missingProperty));
  if (error.keyword === 'additionalProperties') {
    path.push(String((error.params as { additionalProperty: string }).additionalProperty));
    return { field: [field, ...path].join('.'), message: 'is not a setting of this addon' };
  }
  const allowed =
    error.keyword === 'enum' ? `: ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : '';
  return { field: [field, ...path].join('.'), message: `${error.message ?? 'is invalid'}${allowed}` };
}

/** Splits checked settings into what may be shown and stored in clear, and the secrets. */
export function splitSecretSettings(
  addon: AddonDefinition,
  settings: Record<string, unknown>,
): { visible: Record<string, unknown>; secrets: Record<string, unknown> } {
  const secretNames = new Set(addon.secretSettings ?? []);
  const visible: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) (secretNames.has(key) ? secrets : visible)[key] = value;
  return { visible, secrets };
}

/**
 * The addon's objects for this cluster, every one (and every pod template) labelled
 * `app.kubernetes.io/managed-by: cx` and `cx.dev/addon: <name>`.
 */
export function renderAddon(
  addon: AddonDefinition,
  settings: Record<string, unknown>,
  cluster: AddonCluster,
): KubernetesObject[] {
  const labels = addonLabels(addon.name);
  return addon.render(settings, cluster).map((object) => {
    const labelled: KubernetesObject = {
      ...object,
      metadata: { ...object.metadata, labels: { ...object.metadata.labels, ...labels } },
    };
    const spec = labelled['spec'] as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
    if (spec?.template)
      spec.template = {
        ...spec.template,
        metadata: { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, ...labels } },
      };
    return labelled;
  });
}

/** The Deployments and DaemonSets an install waits for. */
export function addonWorkloads(
  objects: readonly KubernetesObject[],
): Array<{ kind: 'Deployment' | 'DaemonSet'; namespace: string; name: string }> {
  return objects.flatMap((o) =>
    o.kind === 'Deployment' || o.kind === 'DaemonSet'
      ? [{ kind: o.kind, namespace: o.metadata.namespace ?? 'default', name: o.metadata.name }]
      : [],
  );
}
