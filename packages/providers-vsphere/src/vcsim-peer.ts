/**
 * Test support (not exported by the package): reads the vcsim peer (test/peers/vcsim.sh) from
 * `CX_TEST_VCSIM`, builds credentials for it, and plays the guest's VMware Tools, which vcsim
 * does not have: a VM of vcsim never reports an IP by itself, so `GuestToolsStandIn` reports one
 * (through vcsim's documented `SET.guest.ipAddress` extraConfig) for powered-on VMs owned by cx.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ProviderCredential } from '@cx/sddc-contract';
import { retrieveView, runTask } from './inventory.js';
import { FIELDS } from './provider.js';
import { VimClient, child, list, mor, text, typed } from './vim-client.js';

/** The JSON line test/peers/vcsim.sh prints. */
export interface VcsimPeer {
  url: string;
  username: string;
  password: string;
  caFile: string;
  datacenter: string;
  computeCluster: string;
  resourcePool: string;
  datastore: string;
  network: string;
  folder: string;
  template: string;
}

export function vcsimPeer(): VcsimPeer {
  const raw = process.env['CX_TEST_VCSIM'];
  assert.ok(
    raw,
    'CX_TEST_VCSIM is not set: start the vCenter simulator with `test/peers/vcsim.sh start` and set CX_TEST_VCSIM to the JSON line it prints',
  );
  return JSON.parse(raw) as VcsimPeer;
}

export function credential(
  peer: VcsimPeer,
  overrides: Partial<ProviderCredential> = {},
  settings: Record<string, unknown> = {},
): ProviderCredential {
  return {
    id: 'vcsim',
    version: 1,
    endpoint: peer.url,
    username: peer.username,
    password: peer.password,
    caCert: readFileSync(peer.caFile, 'utf8'),
    insecure: false,
    settings: {
      datacenter: `/${peer.datacenter}`,
      computeCluster: `/${peer.computeCluster}`,
      datastore: `/${peer.datastore}`,
      network: `/${peer.network}`,
      template: `/${peer.template}`,
      ipTimeoutSeconds: 5,
      defaults: { vcpus: 2, memoryMiB: 2048 },
      ...settings,
    },
    ...overrides,
  };
}

export function client(peer: VcsimPeer): VimClient {
  return new VimClient({
    url: peer.url,
    username: peer.username,
    password: peer.password,
    caCert: readFileSync(peer.caFile, 'utf8'),
  });
}

/** Every `intervalMs`, gives each powered-on cx VM without an address one from 192.0.2.0/24. */
export class GuestToolsStandIn {
  private readonly vim: VimClient;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private next = 10;

  constructor(peer: VcsimPeer) {
    this.vim = client(peer);
  }

  start(intervalMs = 200): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.tick()
        .catch(() => undefined)
        .finally(() => {
          this.busy = false;
        });
    }, intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const { rootFolder } = await this.vim.serviceContent();
    for (const vm of await retrieveView(this.vim, rootFolder, 'VirtualMachine', [
      'customValue',
      'runtime.powerState',
      'guest.ipAddress',
    ])) {
      if (list(child(vm.props['customValue'], 'CustomFieldValue')).length === 0) continue;
      if (text(vm.props['runtime.powerState']) !== 'poweredOn' || text(vm.props['guest.ipAddress'])) continue;
      const ip = `192.0.2.${(this.next++ % 250) + 1}`;
      await runTask(
        this.vim,
        'ReconfigVM_Task',
        { _this: mor(vm.ref), spec: { extraConfig: { key: 'SET.guest.ipAddress', value: typed('xsd:string', ip) } } },
        10_000,
      );
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.vim.close();
  }
}

export { FIELDS };
