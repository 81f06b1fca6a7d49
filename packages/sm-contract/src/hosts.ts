/**
 * The bare-metal host inventory sm keeps, as sddc's baremetal provider reads it through sm (its
 * `HostInventory` takes these shapes as they are).
 */
import Type, { type Static } from 'typebox';
import { HOST_CLEANUPS, NullableString } from '@cx/api-schemas';
import type { MachineSpec } from '@cx/sddc-contract';

/** A host as the baremetal provider needs it: with its BMC password (sddc only, never the public API). */
export const RevealedHost = Type.Object({
  id: Type.String(),
  name: Type.String(),
  bmc: Type.Object({
    protocol: Type.Union([Type.Literal('redfish'), Type.Literal('ipmi')]),
    address: Type.String(),
    username: Type.String(),
    password: Type.String(),
    caCert: NullableString(),
    insecure: Type.Boolean(),
    systemId: Type.Optional(Type.String()),
  }),
  bootMac: Type.Optional(Type.String()),
  addresses: Type.Array(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  capacity: Type.Object({ vcpus: Type.Number(), memoryMiB: Type.Number(), diskGiB: Type.Number() }),
  cleanup: Type.Optional(Type.Enum(HOST_CLEANUPS, { type: 'string' })),
});
export type RevealedHost = Static<typeof RevealedHost>;

/** Which machine holds a host. */
export const HostClaim = Type.Object({
  host: RevealedHost,
  clusterId: Type.String(),
  machineId: Type.String(),
  machineName: Type.String(),
});
export type HostClaim = Static<typeof HostClaim>;

/** POST /host-claims: the machine that needs a host. */
export interface ClaimHostBody {
  spec: MachineSpec;
}
