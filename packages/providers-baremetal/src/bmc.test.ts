import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { reasonOf } from '@cx/provider-kit';
import { connectBmc, validateBmc } from './bmc.js';
import { MemoryHostInventory } from './memory-inventory.js';
import { BareMetalProvider } from './provider.js';
import { SeedServer } from './seed-server.js';
import { closedPort, host, ipmiAccess, ipmiPeer, redfishAccess, redfishPeer } from './test-peers.js';
import type { BmcAccess } from './types.js';

const redfish = redfishPeer();
const ipmi = ipmiPeer();
// The conformance test uses the other systems and BMCs at the same time.
const system = redfish.systems.at(-1)!;
const ipmiBmc = ipmi.bmcs.at(-1)!;
const rfAccess = redfishAccess(redfish, system.id);
const ipAccess = ipmiAccess(ipmiBmc);

/** Expects a rejection with `code` (and reason), and no password in the message. */
async function rejectsWith(promise: Promise<unknown>, code: string, reason?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    const e = error as { code?: string; message?: string; details?: Record<string, unknown> };
    assert.equal(e.code, code, `got ${e.code}: ${e.message}`);
    if (reason) assert.equal(e.details?.['reason'], reason);
    assert.ok(
      !e.message?.includes(redfish.password) && !e.message?.includes(ipmiBmc.password),
      'a password is in the message',
    );
    return true;
  });
}

/** The System resource read with a plain HTTPS client of its own, not through the provider. */
async function rawRedfish<T>(path: string): Promise<T> {
  const url = new URL(path, redfish.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: readFileSync(redfish.caFile), auth: `${redfish.username}:${redfish.password}`, timeout: 10_000 },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve(JSON.parse(body) as T) : reject(new Error(`GET ${path}: ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
const systemPath = `/redfish/v1/Systems/${system.id}`;
interface RawSystem {
  PowerState: string;
  Boot: { BootSourceOverrideTarget: string; BootSourceOverrideEnabled: string };
}

/** `ipmitool power status` run on its own, not through the provider. */
async function rawIpmiPower(): Promise<string> {
  const [h, p] = ipmiBmc.address.split(':');
  const { stdout } = await promisify(execFile)(
    'ipmitool',
    ['-I', 'lanplus', '-C', '3', '-H', h!, '-p', p!, '-U', ipmiBmc.username, '-E', 'chassis', 'power', 'status'],
    {
      env: { ...process.env, IPMI_PASSWORD: ipmiBmc.password },
      timeout: 20_000,
    },
  );
  return stdout.trim();
}

describe('BMC access refused before any connection', () => {
  const fieldOf = (field: string) => (error: { code?: string; details?: { fields?: Array<{ field: string }> } }) =>
    error.code === 'CX_INPUT_INVALID' && error.details?.fields?.[0]?.field === field;
  const access = (overrides: Partial<BmcAccess>): BmcAccess => ({
    protocol: 'redfish',
    address: 'https://127.0.0.1:1',
    username: 'admin',
    password: 'password',
    insecure: false,
    ...overrides,
  });

  it('refuses a Redfish address that is not an http(s) URL, naming the field', async () => {
    for (const address of ['æœÆŒﬀʤ', 'bmc.example:443', 'ftp://bmc.example'])
      await assert.rejects(validateBmc(access({ address })), fieldOf('body.bmc.address'), address);
  });

  it('refuses what IPMI cannot carry: a user name over 16 bytes, a password over 20', async () => {
    const ipmi = { protocol: 'ipmi' as const, address: '127.0.0.1:1' };
    await assert.rejects(validateBmc(access({ ...ipmi, username: 'u'.repeat(17) })), fieldOf('body.bmc.username'));
    await assert.rejects(validateBmc(access({ ...ipmi, username: 'é'.repeat(9) })), fieldOf('body.bmc.username'));
    await assert.rejects(validateBmc(access({ ...ipmi, password: 'p'.repeat(21) })), fieldOf('body.bmc.password'));
  });
});

describe('Redfish BMC (sushy-tools)', () => {
  const bmc = connectBmc(rfAccess, { powerTimeoutMs: 40_000 });
  after(() => bmc.close());

  it('validateBmc accepts the BMC with its CA', async () => {
    await validateBmc(rfAccess);
  });

  it('validateBmc: closed port → CX_CREDENTIAL_UNREACHABLE', async () => {
    await rejectsWith(
      validateBmc({ ...rfAccess, address: `https://127.0.0.1:${await closedPort()}` }),
      'CX_CREDENTIAL_UNREACHABLE',
    );
  });

  it('validateBmc: wrong password → CX_CREDENTIAL_REJECTED', async () => {
    await rejectsWith(validateBmc({ ...rfAccess, password: 'not-the-password' }), 'CX_CREDENTIAL_REJECTED');
  });

  it('validateBmc: self-signed certificate without caCert → CX_CREDENTIAL_UNTRUSTED', async () => {
    await rejectsWith(validateBmc({ ...rfAccess, caCert: null }), 'CX_CREDENTIAL_UNTRUSTED');
  });

  it('validateBmc: unknown system id → CX_INPUT_INVALID on body.bmc.systemId', async () => {
    await assert.rejects(validateBmc({ ...rfAccess, systemId: 'no-such-system' }), (error: unknown) => {
      const e = error as { code?: string; details?: { fields?: Array<{ field: string }> } };
      assert.equal(e.code, 'CX_INPUT_INVALID');
      assert.deepEqual(
        e.details?.fields?.map((f) => f.field),
        ['body.bmc.systemId'],
      );
      return true;
    });
  });

  it('validateBmc: no system id on a BMC with several systems → CX_INPUT_INVALID', async () => {
    const { systemId: _omitted, ...withoutSystem } = rfAccess;
    await rejectsWith(validateBmc(withoutSystem as BmcAccess), 'CX_INPUT_INVALID');
  });

  it('power off resolves only once the System reads Off (read independently)', async () => {
    await bmc.power('on');
    const deadline = Date.now() + 40_000;
    while ((await rawRedfish<RawSystem>(systemPath)).PowerState !== 'On') {
      assert.ok(Date.now() < deadline, 'the system did not power on');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(await bmc.powerState(), 'on');
    await bmc.power('off');
    assert.equal((await rawRedfish<RawSystem>(systemPath)).PowerState, 'Off');
  });

  it('the one-time boot override is read back from the System', async () => {
    await bmc.setBootOnce('pxe');
    let boot = (await rawRedfish<RawSystem>(systemPath)).Boot;
    assert.equal(boot.BootSourceOverrideTarget, 'Pxe');
    // sushy keeps every override Continuous (it ignores BootSourceOverrideEnabled), so 'Once' cannot be read back here.
    await bmc.setBootOnce('disk');
    boot = (await rawRedfish<RawSystem>(systemPath)).Boot;
    assert.equal(boot.BootSourceOverrideTarget, 'Hdd');
  });

  it('virtual media: the installer image is inserted and ejected', async () => {
    // sushy downloads the image it is given: serve a small one on loopback.
    const server: Server = createServer((_req, res) => res.end(Buffer.alloc(64 * 1024)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const image = `http://127.0.0.1:${port}/installer.iso`;
      await bmc.insertMedia!(image);
      const cd = `${systemPath}/VirtualMedia/Cd`;
      let media = await rawRedfish<{ Inserted: boolean; Image: string }>(cd);
      assert.equal(media.Inserted, true);
      assert.equal(media.Image, image);
      await bmc.ejectMedia!();
      media = await rawRedfish<{ Inserted: boolean; Image: string }>(cd);
      assert.equal(media.Inserted, false);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('IPMI BMC (ipmi_sim)', () => {
  const bmc = connectBmc(ipAccess, { powerTimeoutMs: 20_000 });
  after(() => bmc.close());

  it('validateBmc accepts the BMC', async () => {
    await validateBmc(ipAccess);
  });

  it('validateBmc: closed port → CX_CREDENTIAL_UNREACHABLE', async () => {
    await rejectsWith(
      validateBmc({ ...ipAccess, address: `127.0.0.1:${await closedPort()}` }),
      'CX_CREDENTIAL_UNREACHABLE',
    );
  });

  it('validateBmc: wrong password → CX_CREDENTIAL_REJECTED', async () => {
    await rejectsWith(validateBmc({ ...ipAccess, password: 'not-the-password' }), 'CX_CREDENTIAL_REJECTED');
  });

  it('validateBmc: unknown user → CX_CREDENTIAL_REJECTED', async () => {
    await rejectsWith(validateBmc({ ...ipAccess, username: 'nobody' }), 'CX_CREDENTIAL_REJECTED');
  });

  it('power on and a verified power off, read with a separate ipmitool', async () => {
    await bmc.power('on');
    assert.equal(await rawIpmiPower(), 'Chassis Power is on');
    await bmc.power('off');
    assert.equal(await rawIpmiPower(), 'Chassis Power is off');
  });

  it('the simulator refuses a boot device: reason BootDeviceRefused', async () => {
    await rejectsWith(bmc.setBootOnce('pxe'), 'CX_PROVIDER_ERROR', 'BootDeviceRefused');
  });
});

describe('BareMetalProvider with one host', () => {
  const cluster = `bmc-test-${process.pid}`;
  const spec = (n: number) => ({
    machineId: `${cluster}-m${n}`,
    clusterId: cluster,
    name: `${cluster}-m${n}`,
    role: 'worker' as const,
    pool: 'workers',
    kubernetesVersion: '1.37.2',
  });

  it('a claim with no free host fails with reason NoFreeHost; delete powers off and frees the host', async () => {
    const provider = new BareMetalProvider({
      inventory: new MemoryHostInventory([host('rf-last', rfAccess, 0, system.mac)]),
      powerTimeoutMs: 40_000,
    });
    try {
      const first = await provider.ensureMachine(spec(1));
      assert.equal(first.providerId, `${redfish.url}/${system.id}`);
      await rejectsWith(provider.ensureMachine(spec(2)), 'CX_PROVIDER_ERROR', 'NoFreeHost');
      // The boot override went to PXE (no installer image configured).
      assert.equal((await rawRedfish<RawSystem>(systemPath)).Boot.BootSourceOverrideTarget, 'Pxe');
      await provider.deleteMachine(cluster, spec(1).machineId);
      assert.equal((await rawRedfish<RawSystem>(systemPath)).PowerState, 'Off');
      await rejectsWith(provider.getPowerState(cluster, spec(1).machineId), 'CX_NOT_FOUND');
      await rejectsWith(provider.setPower(cluster, spec(1).machineId, 'on'), 'CX_NOT_FOUND');
      // The host is free again.
      await provider.ensureMachine(spec(2));
      await provider.deleteMachine(cluster, spec(2).machineId);
    } finally {
      await provider.close();
    }
  });

  it('with cleanup wipe, a deleted host boots the cleaning image and is free again only once it has powered itself off', async () => {
    const server: Server = createServer((_req, res) => res.end(Buffer.alloc(64 * 1024)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const wipeImageUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/wipe.iso`;
    const inventory = new MemoryHostInventory([host('rf-wipe', rfAccess, 0, system.mac)], 'wipe');
    const provider = new BareMetalProvider({ inventory, wipeImageUrl, powerTimeoutMs: 40_000 });
    const cd = `${systemPath}/VirtualMedia/Cd`;
    try {
      await provider.ensureMachine(spec(4));
      await provider.deleteMachine(cluster, spec(4).machineId);
      // deleteMachine answers once the BMC reads the host on (sushy applies power changes late).
      const booted = await rawRedfish<RawSystem>(systemPath);
      assert.equal(booted.PowerState, 'On', 'the host runs its cleaning image');
      assert.equal(booted.Boot.BootSourceOverrideTarget, 'Cd');
      assert.equal((await rawRedfish<{ Image: string }>(cd)).Image, wipeImageUrl);
      assert.deepEqual(
        (await inventory.cleaning()).map((h) => h.name),
        ['rf-wipe'],
      );
      await rejectsWith(provider.ensureMachine(spec(5)), 'CX_PROVIDER_ERROR', 'NoFreeHost');
      assert.deepEqual(await provider.sweepCleaning(), [], 'a host still cleaning is not returned');

      // The cleaning image powers the host off when it is done (here: the test, through the BMC).
      await connectBmc(rfAccess, { powerTimeoutMs: 40_000 }).power('off');
      assert.deepEqual(await provider.sweepCleaning(), ['rf-wipe']);
      assert.equal((await rawRedfish<{ Inserted: boolean }>(cd)).Inserted, false, 'the cleaning image was ejected');
      assert.deepEqual(await inventory.cleaning(), []);
      await provider.ensureMachine(spec(5));
      await provider.setPower(cluster, spec(5).machineId, 'off');
      await inventory.release(cluster, spec(5).machineId);
    } finally {
      await provider.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an IPMI host that refuses the boot device is still powered on', async () => {
    const provider = new BareMetalProvider({
      inventory: new MemoryHostInventory([host('ipmi-last', ipAccess, 0)]),
      powerTimeoutMs: 20_000,
    });
    try {
      const status = await provider.ensureMachine(spec(3));
      assert.equal(status.providerId, `ipmi://${ipmiBmc.address}`);
      assert.equal(await rawIpmiPower(), 'Chassis Power is on');
      await provider.setPower(cluster, spec(3).machineId, 'off');
      assert.equal(await rawIpmiPower(), 'Chassis Power is off');
      await provider.deleteMachine(cluster, spec(3).machineId);
    } finally {
      await provider.close();
    }
  });
});

/** The files of a config drive, read back with xorriso (not with cx's code), and its volume id. */
async function readSeedImage(image: Buffer): Promise<{ volumeId: string; files: Record<string, Buffer> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cx-seed-test-'));
  try {
    writeFileSync(join(dir, 'seed.iso'), image);
    const run = promisify(execFile);
    const { stdout } = await run('xorriso', ['-indev', join(dir, 'seed.iso'), '-pvd_info'], { timeout: 30_000 });
    await run('xorriso', ['-osirrox', 'on', '-indev', join(dir, 'seed.iso'), '-extract', '/', join(dir, 'out')], {
      timeout: 30_000,
    });
    const files = Object.fromEntries(
      readdirSync(join(dir, 'out')).map((name) => [name, readFileSync(join(dir, 'out', name))]),
    );
    return { volumeId: /^Volume Id\s*:\s*(\S+)/m.exec(stdout)?.[1] ?? '', files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fetchStatus(url: string): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

describe('NoCloud seeds: the user data reaches the host unchanged (rule O5)', () => {
  const cluster = `seed-test-${process.pid}`;
  const spec = (n: number) => ({
    machineId: `${cluster}-m${n}`,
    clusterId: cluster,
    name: `${cluster}-cp-${n}`,
    role: 'control-plane' as const,
    pool: 'control-plane',
    kubernetesVersion: '1.37.2',
  });
  // Secret-looking, multi-line, non-ASCII, with trailing blanks: any rewriting would show.
  const userData = `#cloud-config\n# token ${randomBytes(12).toString('hex')} — ünïcødé  \nruncmd:\n  - [kubeadm, init]\n\n`;
  const context = {
    bootstrap: () => Promise.reject(new Error('not needed')),
    userData: async () => userData,
  };
  type Media = { Inserted: boolean; Image: string };
  const cd = `${systemPath}/VirtualMedia/Cd`;
  const floppy = `${systemPath}/VirtualMedia/Floppy`;

  it('Redfish, node image on disk: the config drive goes in the CD and is withdrawn (404, ejected) once the node joined', async () => {
    const seeds = new SeedServer();
    const provider = new BareMetalProvider({
      inventory: new MemoryHostInventory([host('rf-seed', rfAccess, 0, system.mac)]),
      seeds,
      bootDevice: 'disk',
      powerTimeoutMs: 40_000,
    });
    try {
      await provider.ensureMachine(spec(1), context);
      const media = await rawRedfish<Media>(cd);
      assert.equal(media.Inserted, true);
      assert.match(media.Image, /^http:\/\/127\.0\.0\.1:\d+\/seeds\/[A-Za-z0-9_-]{43}\/cidata\.iso$/);
      assert.equal((await rawRedfish<RawSystem>(systemPath)).Boot.BootSourceOverrideTarget, 'Hdd');
      const served = await fetchStatus(media.Image);
      assert.equal(served.status, 200);
      const seed = await readSeedImage(served.body);
      assert.equal(seed.volumeId, 'cidata');
      assert.deepEqual(seed.files['user-data'], Buffer.from(userData), 'user-data is the user data, byte for byte');
      const meta = seed.files['meta-data']?.toString() ?? '';
      assert.match(meta, new RegExp(`^instance-id: "${spec(1).machineId}"$`, 'm'));
      assert.match(meta, new RegExp(`^local-hostname: "${spec(1).name}"$`, 'm'));
      // The same seed as NoCloud-net files.
      const base = media.Image.replace(/cidata\.iso$/, '');
      assert.equal((await fetchStatus(`${base}user-data`)).body.toString(), userData);

      // Ready nodes of other machines change nothing; this machine's withdraws its seed.
      await provider.nodesJoined(cluster, ['some-other-machine']);
      assert.equal((await fetchStatus(media.Image)).status, 200);
      await provider.nodesJoined(cluster, [spec(1).machineId]);
      assert.equal((await fetchStatus(media.Image)).status, 404);
      assert.equal((await fetchStatus(`${base}user-data`)).status, 404);
      assert.equal((await rawRedfish<Media>(cd)).Inserted, false, 'the config drive was ejected');
      assert.equal(provider.servesSeed(cluster, spec(1).machineId), false);
      await provider.nodesJoined(cluster, [spec(1).machineId]);
    } finally {
      await provider.deleteMachine(cluster, spec(1).machineId);
      await provider.close();
    }
  });

  it('Redfish with an installer image: the installer in the CD, the seed beside it (USB stick / floppy); delete withdraws and ejects both', async () => {
    const installer: Server = createServer((_req, res) => res.end(Buffer.alloc(64 * 1024)));
    await new Promise<void>((resolve) => installer.listen(0, '127.0.0.1', resolve));
    const installerImageUrl = `http://127.0.0.1:${(installer.address() as { port: number }).port}/installer.iso`;
    const provider = new BareMetalProvider({
      inventory: new MemoryHostInventory([host('rf-seed', rfAccess, 0, system.mac)]),
      seeds: new SeedServer(),
      installerImageUrl,
      powerTimeoutMs: 40_000,
    });
    try {
      await provider.ensureMachine(spec(2), context);
      assert.equal((await rawRedfish<Media>(cd)).Image, installerImageUrl);
      assert.equal((await rawRedfish<RawSystem>(systemPath)).Boot.BootSourceOverrideTarget, 'Cd');
      const seedMedia = await rawRedfish<Media>(floppy);
      assert.equal(seedMedia.Inserted, true);
      const seed = await readSeedImage((await fetchStatus(seedMedia.Image)).body);
      assert.deepEqual(seed.files['user-data'], Buffer.from(userData));
      await provider.deleteMachine(cluster, spec(2).machineId);
      assert.equal((await fetchStatus(seedMedia.Image)).status, 404, 'the seed is not served after delete');
      assert.equal((await rawRedfish<Media>(cd)).Inserted, false);
      assert.equal((await rawRedfish<Media>(floppy)).Inserted, false);
      assert.equal((await rawRedfish<RawSystem>(systemPath)).PowerState, 'Off');
    } finally {
      await provider.close();
      installer.closeAllConnections();
      await new Promise((resolve) => installer.close(resolve));
    }
  });

  it('IPMI: the seed is served as NoCloud-net at the host boot MAC for the PXE flow, and gone after delete', async () => {
    const port = await closedPort();
    const mac = '52:54:00:0C:99:01';
    const provider = new BareMetalProvider({
      inventory: new MemoryHostInventory([host('ipmi-seed', ipAccess, 0, mac)]),
      seeds: new SeedServer({ port }),
      powerTimeoutMs: 20_000,
    });
    const base = `http://127.0.0.1:${port}/by-mac/52-54-00-0c-99-01/`;
    try {
      await provider.ensureMachine(spec(3), context);
      assert.equal(await rawIpmiPower(), 'Chassis Power is on');
      assert.equal((await fetchStatus(`${base}user-data`)).body.toString(), userData);
      assert.match((await fetchStatus(`${base}meta-data`)).body.toString(), new RegExp(spec(3).name));
      await provider.deleteMachine(cluster, spec(3).machineId);
      assert.equal((await fetchStatus(`${base}user-data`)).status, 404);
      assert.equal(await rawIpmiPower(), 'Chassis Power is off');
    } finally {
      await provider.close();
    }
  });

  it('without xorriso: SeedToolMissing, saying what to install; the host stays off and nothing is served', async () => {
    const path = process.env['PATH'];
    const provider = new BareMetalProvider({
      inventory: new MemoryHostInventory([host('rf-seed', rfAccess, 0, system.mac)]),
      seeds: new SeedServer(),
      bootDevice: 'disk',
      powerTimeoutMs: 40_000,
    });
    try {
      process.env['PATH'] = '/nonexistent';
      await assert.rejects(provider.ensureMachine(spec(4), context), (error: Error & { code?: string }) => {
        assert.equal(reasonOf(error), 'SeedToolMissing');
        assert.equal(error.code, 'CX_PROVIDER_ERROR');
        assert.match(error.message, /xorriso is not installed.*apt-get install xorriso/);
        assert.ok(!error.message.includes(userData.slice(0, 30)));
        return true;
      });
      process.env['PATH'] = path;
      assert.equal((await rawRedfish<RawSystem>(systemPath)).PowerState, 'Off');
      assert.equal(provider.servesSeed(cluster, spec(4).machineId), false);
    } finally {
      process.env['PATH'] = path;
      await provider.deleteMachine(cluster, spec(4).machineId);
      await provider.close();
    }
  });

  it('a seed base URL that does not reach the seed listener: SeedUnreachable; the host stays off', async () => {
    const provider = new BareMetalProvider({
      inventory: new MemoryHostInventory([host('rf-seed', rfAccess, 0, system.mac)]),
      seeds: new SeedServer({ baseUrl: `http://127.0.0.1:${await closedPort()}` }),
      bootDevice: 'disk',
      powerTimeoutMs: 40_000,
    });
    try {
      await assert.rejects(provider.ensureMachine(spec(5), context), (error: Error) => {
        assert.equal(reasonOf(error), 'SeedUnreachable');
        assert.match(error.message, /baremetal\.seedBaseUrl/);
        return true;
      });
      assert.equal((await rawRedfish<RawSystem>(systemPath)).PowerState, 'Off');
    } finally {
      await provider.deleteMachine(cluster, spec(5).machineId);
      await provider.close();
    }
  });
});
