/**
 * A default StorageClass for the cluster's provider: the vSphere CSI driver's on vSphere, Cinder's
 * on OpenStack. The CSI driver itself talks to the infrastructure with credentials of its own and
 * is installed with them, not by this addon. Providers without a block-storage service (sim,
 * kwok, baremetal) are refused rather than given a class no volume can ever be provisioned from.
 */
import type { AddonDefinition } from './types.js';

const PROVISIONERS: Record<
  string,
  { provisioner: string; parameters: (settings: StorageSettings) => Record<string, string> }
> = {
  vsphere: {
    provisioner: 'csi.vsphere.vmware.com',
    parameters: (s): Record<string, string> => (s.storagePolicyName ? { storagepolicyname: s.storagePolicyName } : {}),
  },
  openstack: {
    provisioner: 'cinder.csi.openstack.org',
    parameters: (s) => ({
      ...(s.volumeType ? { type: s.volumeType } : {}),
      ...(s.availabilityZone ? { availability: s.availabilityZone } : {}),
    }),
  },
};

interface StorageSettings {
  name: string;
  default: boolean;
  reclaimPolicy: 'Delete' | 'Retain';
  storagePolicyName?: string;
  volumeType?: string;
  availabilityZone?: string;
}

export const storageClass: AddonDefinition = {
  name: 'storage-class',
  version: 'storage.k8s.io/v1',
  description:
    "A StorageClass for the provider's CSI driver (vsphere: csi.vsphere.vmware.com, openstack: cinder.csi.openstack.org), default unless told otherwise.",
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: {
        type: 'string',
        pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        maxLength: 63,
        default: 'standard',
        description: 'Name of the StorageClass',
      },
      default: { type: 'boolean', default: true, description: "Make it the cluster's default StorageClass" },
      reclaimPolicy: { type: 'string', enum: ['Delete', 'Retain'], default: 'Delete' },
      storagePolicyName: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description: 'vSphere: the SPBM storage policy volumes are placed by',
      },
      volumeType: { type: 'string', minLength: 1, maxLength: 256, description: 'OpenStack: the Cinder volume type' },
      availabilityZone: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description: 'OpenStack: the Cinder availability zone',
      },
    },
  },
  unsupported: (cluster) =>
    PROVISIONERS[cluster.provider]
      ? undefined
      : `provider ${cluster.provider} has no block-storage service cx knows a CSI driver for (storage-class supports ${Object.keys(PROVISIONERS).join(', ')})`,
  render(raw, cluster) {
    const settings = raw as unknown as StorageSettings;
    const driver = PROVISIONERS[cluster.provider];
    if (!driver) throw new Error(`storage-class cannot render for provider ${cluster.provider}`);
    return [
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: {
          name: settings.name,
          annotations: { 'storageclass.kubernetes.io/is-default-class': String(settings.default) },
        },
        provisioner: driver.provisioner,
        parameters: driver.parameters(settings),
        reclaimPolicy: settings.reclaimPolicy,
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
      },
    ];
  },
};
