import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimProvider } from '@cx/providers-sim';
import { ProviderRegistry, type NodeReader, type NodeStatus } from '@cx/sddc-contract';
import type { SmClient } from '@cx/sm-contract';
import { ProviderDirectory } from '../providers/provider-directory.js';
import { runMachineOperation } from './machines.js';

const images = { keepalivedImage: 'k', haproxyImage: 'h', kubeVipImage: 'v' };
const node = (machineId: string, status: NodeStatus['status']): NodeStatus => ({
  name: machineId,
  machineId,
  role: 'worker',
  status,
  kubernetesVersion: '1.32.2',
});

describe('list-nodes tells the provider which machines have joined (rule O5: seeds withdrawn)', () => {
  it('passes the machines of Ready nodes to nodesJoined, and nothing when none is Ready', async () => {
    // A real provider (sim) given the hook a booting provider has; the nodes are what a tenant API would list.
    const provider = new SimProvider({ dataDir: '/nonexistent', latencyMs: 0, failureRate: 0 });
    const joined: Array<[string, string[]]> = [];
    Object.assign(provider, {
      nodesJoined: async (clusterId: string, machineIds: string[]) => {
        joined.push([clusterId, machineIds]);
      },
    });
    let listed: NodeStatus[] = [];
    const reader: NodeReader = { listNodes: async () => listed };
    const registry = new ProviderRegistry();
    registry.register(provider, reader);
    const directory = new ProviderDirectory(registry, new Map(), {} as SmClient);
    const list = () =>
      runMachineOperation(directory, { op: 'list-nodes', provider: 'sim', clusterId: 'c1' }, {} as SmClient, images);

    listed = [node('m1', 'NotReady')];
    assert.deepEqual(await list(), listed);
    assert.deepEqual(joined, []);
    listed = [node('m1', 'Ready'), node('m2', 'NotReady'), node('m3', 'Ready')];
    assert.deepEqual(await list(), listed);
    assert.deepEqual(joined, [['c1', ['m1', 'm3']]]);
  });
});
