/**
 * What the public node list shows of a node read from a Kubernetes API (`source: live`), in
 * api-schemas' NodeLiveState shape: one mapping for every reader of tenant nodes (the tenant API
 * reader, kwok), so that they all show the same thing.
 */
import { takesWorkloads } from './kubeadm.js';

/** The parts of a V1Node the mapping reads (structural, so that this package needs no Kubernetes client). */
export interface NodeObject {
  metadata?: { labels?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: Array<{ key: string; value?: string; effect: string }> };
  status?: {
    conditions?: Array<{
      type: string;
      status: string;
      reason?: string;
      message?: string;
      lastTransitionTime?: Date | string;
    }>;
  };
}

/** Cordon, labels, taints and conditions of a node as its API reports them. */
export function nodeLiveState(node: NodeObject): {
  unschedulable: boolean;
  schedulable: boolean;
  labels: Record<string, string>;
  taints: Array<{ key: string; value?: string; effect: string }>;
  conditions: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }>;
} {
  return {
    unschedulable: node.spec?.unschedulable === true,
    schedulable: takesWorkloads(node),
    labels: { ...(node.metadata?.labels ?? {}) },
    taints: (node.spec?.taints ?? []).map((t) => ({
      key: t.key,
      ...(t.value ? { value: t.value } : {}),
      effect: t.effect,
    })),
    conditions: (node.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.message ? { message: c.message } : {}),
      ...(c.lastTransitionTime ? { lastTransitionTime: new Date(c.lastTransitionTime).toISOString() } : {}),
    })),
  };
}
