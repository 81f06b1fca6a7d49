/** A cluster's machines as sm keeps and answers them (wfm's workflows read them; sddc's health monitor too). */
import Type, { type Static } from 'typebox';
import { NullableString } from '@cx/api-schemas';

export const MachineRole = Type.Union([Type.Literal('control-plane'), Type.Literal('worker')]);
export type MachineRole = Static<typeof MachineRole>;

export const NodeReadiness = Type.Union([Type.Literal('Ready'), Type.Literal('NotReady')]);
export type NodeReadiness = Static<typeof NodeReadiness>;

export const Machine = Type.Object({
  id: Type.String(),
  clusterId: Type.String(),
  pool: Type.String(),
  name: Type.String(),
  role: MachineRole,
  kubernetesVersion: Type.String(),
  phase: Type.String(),
  providerId: NullableString(),
  addresses: Type.Array(Type.String()),
  nodeStatus: NodeReadiness,
  createdAt: Type.String(),
  version: Type.Integer(),
});
export type Machine = Static<typeof Machine>;
