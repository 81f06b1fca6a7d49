/** The real BMC peers the tests run against (test/peers/redfish.sh and test/peers/ipmi.sh). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { BareMetalHost, BmcAccess } from './types.js';

export interface RedfishPeer {
  url: string;
  username: string;
  password: string;
  caFile: string;
  systems: Array<{ id: string; name: string; mac: string }>;
}
export interface IpmiPeer {
  bmcs: Array<{ address: string; username: string; password: string }>;
}

export function redfishPeer(): RedfishPeer {
  const raw = process.env['CX_TEST_REDFISH'];
  assert.ok(
    raw,
    'CX_TEST_REDFISH is not set: start the Redfish peer with `export CX_TEST_REDFISH="$(test/peers/redfish.sh)"`',
  );
  return JSON.parse(raw) as RedfishPeer;
}

export function ipmiPeer(): IpmiPeer {
  const raw = process.env['CX_TEST_IPMI'];
  assert.ok(raw, 'CX_TEST_IPMI is not set: start the IPMI peer with `export CX_TEST_IPMI="$(test/peers/ipmi.sh)"`');
  return JSON.parse(raw) as IpmiPeer;
}

export function redfishAccess(peer: RedfishPeer, systemId: string | undefined): BmcAccess {
  return {
    protocol: 'redfish',
    address: peer.url,
    username: peer.username,
    password: peer.password,
    caCert: readFileSync(peer.caFile, 'utf8'),
    insecure: false,
    ...(systemId ? { systemId } : {}),
  };
}

export function ipmiAccess(bmc: IpmiPeer['bmcs'][number]): BmcAccess {
  return { protocol: 'ipmi', address: bmc.address, username: bmc.username, password: bmc.password, insecure: false };
}

export function host(id: string, bmc: BmcAccess, n: number, bootMac?: string): BareMetalHost {
  return {
    id,
    name: id,
    bmc,
    ...(bootMac ? { bootMac } : {}),
    addresses: [`192.0.2.${10 + n}`],
    labels: {},
    capacity: { vcpus: 8, memoryMiB: 32768, diskGiB: 500 },
  };
}

/** A loopback TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}
