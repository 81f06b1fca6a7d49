/**
 * The providers of this sddc, built from configuration: each name of `sddc.providers` becomes a
 * provider in the registry (sim, kwok, baremetal) or a factory that connects per credential
 * (vsphere, openstack).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CxConfig } from '@cx/config';
import { BareMetalProvider, SeedServer } from '@cx/providers-baremetal';
import { KwokProvider, type KwokBinaries } from '@cx/providers-kwok';
import { OpenStackProviderFactory } from '@cx/providers-openstack';
import { SimProvider } from '@cx/providers-sim';
import { VsphereProviderFactory } from '@cx/providers-vsphere';
import { ProviderRegistry, type ProviderFactory } from '@cx/sddc-contract';
import type { Logger } from '@cx/service-kit';
import type { SmClient } from '@cx/sm-contract';
import { ProviderDirectory } from './provider-directory.js';
import { tenantNodeReader } from './tenant-node-reader.js';

/** The providers of `sddc.providers`: built ones in the registry, credentialed ones as factories. */
export function buildProviders(config: Readonly<CxConfig>, logger: Logger, sm: SmClient): ProviderDirectory {
  const registry = new ProviderRegistry();
  const factories = new Map<string, ProviderFactory>();
  for (const name of config.sddc.providers) {
    if (name === 'sim') {
      const sim = new SimProvider({
        dataDir: config.sim.dataDir ?? join(config.dataDir, 'sim'),
        latencyMs: config.sim.latencyMs,
        failureRate: config.sim.failureRate,
        ...(config.sim.journal ? { journal: config.sim.journal } : {}),
      });
      registry.register(sim, sim);
    }
    if (name === 'kwok') {
      const kwok = kwokProvider(config, logger);
      if (kwok) registry.register(kwok, kwok);
    }
    if (name === 'baremetal') {
      const { installerImageUrl, wipeImageUrl, seedHost, seedPort, seedBaseUrl, seedTtlSeconds } = config.baremetal;
      const baremetal = new BareMetalProvider({
        inventory: sm.hostInventory(),
        ...(installerImageUrl ? { installerImageUrl } : {}),
        ...(wipeImageUrl ? { wipeImageUrl } : {}),
        bootDevice: config.baremetal.bootDevice,
        // Each machine's user data reaches its host as a NoCloud seed (contract rule O5).
        seeds: new SeedServer({
          host: seedHost,
          port: seedPort,
          ...(seedBaseUrl ? { baseUrl: seedBaseUrl } : {}),
          ttlMs: seedTtlSeconds * 1000,
        }),
      });
      registry.register(baremetal, tenantNodeReader(baremetal, sm));
    }
    if (name === 'vsphere') factories.set(name, new VsphereProviderFactory({}));
    if (name === 'openstack') factories.set(name, new OpenStackProviderFactory({}));
  }
  return new ProviderDirectory(registry, factories, sm);
}

/** Where the kwok binaries' manifest is: the configured file, or where `npm run peers -- kubernetes` writes it. */
function kwokBinariesFile(config: Readonly<CxConfig>): string {
  return (
    config.kwok.binariesFile ??
    join(process.env['CX_PEERS_DIR'] ?? join(homedir(), '.cache', 'cx-peers'), 'kubernetes', 'binaries.json')
  );
}

/**
 * The kwok provider, or null (said in the log) when its binaries are not built yet; a configured
 * manifest that is missing or unusable is an error.
 */
export function kwokProvider(config: Readonly<CxConfig>, logger: Logger, quiet = false): KwokProvider | null {
  const binariesFile = kwokBinariesFile(config);
  if (!existsSync(binariesFile)) {
    if (config.kwok.binariesFile)
      throw new Error(
        `kwok.binariesFile (CX_KWOK_BINARIES_FILE) ${binariesFile} does not exist; build the binaries with \`npm run peers -- kubernetes\``,
      );
    if (!quiet)
      logger.info(
        { binariesFile },
        'provider kwok not offered yet: its binaries are not built (run `npm run peers -- kubernetes`; `npm start` builds them in the background when Go is installed); it is offered as soon as they are',
      );
    return null;
  }
  try {
    return new KwokProvider({
      dataDir: config.kwok.dataDir ?? join(config.dataDir, 'kwok'),
      binaries: JSON.parse(readFileSync(binariesFile, 'utf8')) as KwokBinaries,
    });
  } catch (error) {
    // A manifest built by an older cx (no controller manager, say): explicit ones must work, the default one only offers kwok.
    if (config.kwok.binariesFile) throw error;
    if (!quiet)
      logger.warn(
        { binariesFile, err: (error as Error).message },
        'provider kwok not offered: its binaries manifest is outdated (run `npm run peers -- kubernetes`)',
      );
    return null;
  }
}

/**
 * When kwok is configured but its binaries are not built yet (`npm start` may be building them in
 * the background), checks for them every `intervalMs` and offers kwok once they are there; stops
 * then, or when the returned function is called.
 */
export function offerKwokWhenBuilt(
  config: Readonly<CxConfig>,
  directory: ProviderDirectory,
  logger: Logger,
  intervalMs = 15_000,
): () => void {
  if (!config.sddc.providers.includes('kwok') || directory.serves('kwok')) return () => undefined;
  const timer = setInterval(() => {
    const kwok = kwokProvider(config, logger, true);
    if (!kwok) return;
    clearInterval(timer);
    directory.add(kwok);
    logger.info({ binariesFile: kwokBinariesFile(config) }, 'provider kwok offered: its binaries are built');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
