/** Providers as sddc advertises them and `GET /api/v1/providers` lists them. */
import Type, { type Static } from 'typebox';

/** A capability an older sddc does not advertise is absent here, and counts as false. */
const capability = (description?: string) => Type.Optional(Type.Boolean(description ? { description } : {}));

export const providerCapabilitiesSchema = Type.Object(
  {
    power: Type.Boolean({
      description: 'Powers machines off and reads their power state, so it can fence them (node health, pairs)',
    }),
    loadBalancer: Type.Boolean(),
    virtualIp: Type.Boolean(),
    etcdSnapshot: capability(
      'Takes and restores etcd snapshots of its clusters (POST /api/v1/clusters/{id}/etcd-snapshots)',
    ),
    kubernetesApi: capability(
      'Its clusters get a Kubernetes API cx reaches: addons, kubeconfigs, node operations, ha-configs',
    ),
    certificateRotation: capability(
      "Rotates running clusters' certificates and CA (POST /api/v1/clusters/{id}/rotate-certificates, rotate-ca)",
    ),
    osImages: capability('Machines boot from an OS image you pick (POST /api/v1/clusters/{id}/os-upgrade)'),
    controlPlaneVip: capability('A VIP from an IP pool can front the control plane (controlPlane.vipPool)'),
    controlPlaneReplacement: capability('Remediation can replace a control-plane machine (otherwise it is rebooted)'),
    bareMetalHosts: capability('Machines are registered hosts with BMCs (fencing redfish or ipmi, hostCleanup)'),
  },
  { description: 'What the provider can do beyond machines' },
);
/** A provider's capabilities as sddc advertises them. */
export type ProviderCapabilityInfo = Static<typeof providerCapabilitiesSchema>;

export const providerSchema = Type.Object({
  name: Type.String(),
  kubernetesVersions: Type.Array(Type.String()),
  contractVersion: Type.String(),
  takesCredential: Type.Boolean({
    description: 'Clusters on it belong to a resource group whose credential is for this provider (vsphere, openstack)',
  }),
  capabilities: Type.Optional(providerCapabilitiesSchema),
});
export type ProviderInfo = Static<typeof providerSchema>;
