/**
 * Composition root of sddc: BullMQ workers that run provider operations, the provider registry,
 * and the health / metrics endpoints. sddc holds no SQL connection: results travel back as job
 * return values to the workflow step that asked.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import type { CxConfig } from '@cx/config';
import { asCxError, InputError } from '@cx/errors';
import { BareMetalProvider, validateBmc, type BmcAccess } from '@cx/providers-baremetal';
import { KwokProvider, type KwokBinaries } from '@cx/providers-kwok';
import { OpenStackProviderFactory } from '@cx/providers-openstack';
import { SimProvider } from '@cx/providers-sim';
import { VsphereProviderFactory } from '@cx/providers-vsphere';
import { HA_CONFIG_SYNC_QUEUE, REMEDIATION_QUEUE, SDDC_OPERATION_QUEUE, clusterReadVersionKey, formatFailedReason, providersKey, openFromTransit, type HaConfigSyncRequest, type RemediationRequest, type SddcOperation } from '@cx/queue-contracts';
import { ProviderRegistry, type ClusterBootstrap, type ProviderCredential, type ProviderFactory } from '@cx/sddc-contract';
import { createHttpServer, throttled, type Logger } from '@cx/service-kit';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EgressPolicy } from '@cx/k8s';
import { addonStatus, applyAddon, removeAddon } from './addons.js';
import { connectRedis } from './redis.js';
import { dashboardToken } from './dashboard.js';
import { restoreEtcdSnapshot, takeEtcdSnapshot } from './etcd.js';
import { applyHaConfig, matchNodes, removeHaConfig } from './ha.js';
import { HaConfigSync } from './ha-sync.js';
import { HealthMonitor, ShardLeases } from './health.js';
import { PairWitnessDriver } from './pair-witness.js';
import { ProviderDirectory, tenantNodeReader } from './providers.js';
import { SmClient } from '@cx/sm-contract';
import { configureAccess, cordon, drainOnce, markOutOfService, setScheduling, setTenantRequestTimeout } from './tenant.js';
import { machineUserData } from './user-data.js';

export interface SddcApp {
  app: FastifyInstance;
  providers: ProviderDirectory;
  worker: Worker;
}

const ADVERTISE_INTERVAL_MS = 10_000;
/** A pair's witness lease outlasts a slow round (agents time out after up to 2 s), so two replicas never witness one pair at once. */
const PAIR_LEASE_MIN_MS = 10_000;

/** The providers of `sddc.providers`: built ones in the registry, credentialed ones as factories. */
export function buildProviders(config: Readonly<CxConfig>, logger: Logger, sm: SmClient): ProviderDirectory {
  const registry = new ProviderRegistry();
  const factories = new Map<string, ProviderFactory>();
  for (const name of config.sddc.providers) {
    if (name === 'sim') {
      const sim = new SimProvider({ dataDir: config.sim.dataDir ?? join(config.dataDir, 'sim'), latencyMs: config.sim.latencyMs, failureRate: config.sim.failureRate });
      registry.register(sim, sim);
    }
    if (name === 'kwok') {
      const binariesFile = config.kwok.binariesFile ?? join(process.env['CX_PEERS_DIR'] ?? join(homedir(), '.cache', 'cx-peers'), 'kubernetes', 'binaries.json');
      if (!existsSync(binariesFile)) {
        if (config.kwok.binariesFile) throw new Error(`kwok.binariesFile (CX_KWOK_BINARIES_FILE) ${binariesFile} does not exist; build the binaries with \`npm run peers -- kubernetes\``);
        logger.info({ binariesFile }, 'provider kwok not offered: its binaries are not built (run `npm run peers -- kubernetes`)');
        continue;
      }
      let kwok: KwokProvider;
      try {
        kwok = new KwokProvider({ dataDir: config.kwok.dataDir ?? join(config.dataDir, 'kwok'), binaries: JSON.parse(readFileSync(binariesFile, 'utf8')) as KwokBinaries });
      } catch (error) {
        // A manifest built by an older cx (no controller manager, say): explicit ones must work, the default one only offers kwok.
        if (config.kwok.binariesFile) throw error;
        logger.warn({ binariesFile, err: (error as Error).message }, 'provider kwok not offered: its binaries manifest is outdated (run `npm run peers -- kubernetes`)');
        continue;
      }
      registry.register(kwok, kwok);
    }
    if (name === 'baremetal') {
      const { installerImageUrl, wipeImageUrl } = config.baremetal;
      const baremetal = new BareMetalProvider({ inventory: sm.hostInventory(), ...(installerImageUrl ? { installerImageUrl } : {}), ...(wipeImageUrl ? { wipeImageUrl } : {}) });
      registry.register(baremetal, tenantNodeReader(baremetal, sm));
    }
    if (name === 'vsphere') factories.set(name, new VsphereProviderFactory({}));
    if (name === 'openstack') factories.set(name, new OpenStackProviderFactory({}));
  }
  return new ProviderDirectory(registry, factories, sm);
}

export async function buildSddcApp(config: Readonly<CxConfig>, logger: Logger): Promise<SddcApp> {
  if (!config.redis.url) throw new Error('sddc needs redis.url (CX_REDIS_URL)');
  if (!config.serviceToken) throw new Error('sddc needs serviceToken (CX_SERVICE_TOKEN)');
  setTenantRequestTimeout(config.sddc.tenantTimeoutSeconds * 1000);
  const sm = new SmClient(config.sm.url, config.serviceToken);
  const providers = buildProviders(config, logger, sm);
  const serviceToken = config.serviceToken;
  // Built at start so that a malformed egress.allow / egress.deny entry stops sddc with its name.
  const egress = new EgressPolicy(config.egress);
  const connection = connectRedis(config.redis.url, 'cx-sddc');
  const app = createHttpServer({ service: 'sddc', logger, requestLogLevel: 'debug', readiness: { redis: async () => (await connection.ping()) === 'PONG' } });
  const operations = new Counter({ name: 'cx_sddc_operations_total', help: 'Provider operations by provider, operation and outcome', labelNames: ['provider', 'op', 'outcome'], registers: [app.metrics] });

  const worker = new Worker<SddcOperation>(SDDC_OPERATION_QUEUE, async (job) => {
    const started = Date.now();
    try {
      const result = await runOperation(providers, job, sm, { serviceToken, keepalivedImage: config.ha.keepalivedImage, haproxyImage: config.ha.haproxyImage, kubeVipImage: config.ha.kubeVipImage, egress });
      operations.inc({ provider: job.data.provider, op: job.data.op, outcome: 'success' });
      logger.debug({ jobId: job.id, op: job.data.op, ms: Date.now() - started }, 'operation done');
      return result;
    } catch (error) {
      const cx = asCxError(error);
      operations.inc({ provider: job.data.provider, op: job.data.op, outcome: cx.retryable ? 'retry' : 'failure' });
      logger.warn({ jobId: job.id, op: job.data.op, code: cx.code, err: cx.message, attempt: job.attemptsMade + 1 }, 'operation failed');
      // Code, details and retryability travel in the message: BullMQ keeps only the message as failedReason.
      const message = formatFailedReason({ code: cx.code, message: cx.message, retryable: cx.retryable, ...(cx.details ? { details: cx.details } : {}) });
      throw cx.retryable ? new Error(message) : new UnrecoverableError(message);
    }
  }, { connection, prefix: config.redis.prefix, concurrency: config.sddc.concurrency, lockDuration: config.workflows.lockDurationMs, stalledInterval: config.workflows.lockDurationMs, autorun: false });
  worker.on('error', throttled((error, repeats) => logger.error({ err: error, repeats }, 'sddc worker error')));

  const advertise = async (): Promise<void> => {
    const fields: Record<string, string> = {};
    for (const provider of providers.list()) {
      fields[provider.name] = JSON.stringify({ ...provider, seenAt: Date.now() });
    }
    if (Object.keys(fields).length > 0) await connection.hset(providersKey(config.redis.prefix), fields);
  };
  const remediations = new Queue<RemediationRequest>(REMEDIATION_QUEUE, { connection, prefix: config.redis.prefix });
  const haSyncs = new Queue<HaConfigSyncRequest>(HA_CONFIG_SYNC_QUEUE, { connection, prefix: config.redis.prefix });
  const intervalMs = config.ha.healthIntervalSeconds * 1000;
  const monitor = config.ha.healthMonitor
    ? new HealthMonitor({
      sm, remediations, intervalMs, logger, leases: new ShardLeases(connection, config.redis.prefix, config.ha.healthShards, 3 * intervalMs),
      statusWritten: () => connection.incr(clusterReadVersionKey(config.redis.prefix)),
      haSync: new HaConfigSync({ sm, requests: haSyncs, logger }),
      providers, metrics: app.metrics,
    })
    : undefined;

  const pairIntervalMs = config.ha.pairIntervalMs;
  const witness = config.ha.pairWitness
    ? new PairWitnessDriver({ sm, providers, logger, intervalMs: pairIntervalMs, leases: new ShardLeases(connection, config.redis.prefix, config.ha.healthShards, Math.max(3 * pairIntervalMs, PAIR_LEASE_MIN_MS), 'pairs') })
    : undefined;

  // Hosts released for wiping come back to the free pool once their cleaning image powered them off.
  const baremetal = config.sddc.providers.includes('baremetal') ? (await providers.resolve('baremetal', '')).provider : undefined;
  const sweep = baremetal instanceof BareMetalProvider
    ? setInterval(() => {
      baremetal.sweepCleaning()
        .then((hosts) => { if (hosts.length > 0) logger.info({ hosts }, 'cleaned hosts are free again'); })
        .catch((error: unknown) => logger.warn({ err: error }, 'cannot check the hosts being cleaned'));
    }, config.baremetal.cleaningCheckSeconds * 1000)
    : undefined;
  sweep?.unref();

  const timer = setInterval(() => { advertise().catch((error: unknown) => logger.warn({ err: error }, 'cannot advertise providers')); }, ADVERTISE_INTERVAL_MS);
  timer.unref();

  app.addHook('onReady', async () => {
    await advertise();
    void worker.run();
    monitor?.start();
    witness?.start();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    clearInterval(sweep);
    await monitor?.stop();
    await witness?.stop();
    await remediations.close();
    await haSyncs.close();
    await worker.close();
    await providers.close();
    await sm.close();
    connection.disconnect();
  });
  return { app, providers, worker };
}

async function runOperation(providers: ProviderDirectory, job: Job<SddcOperation>, sm: SmClient, settings: { serviceToken: string; keepalivedImage: string; haproxyImage: string; kubeVipImage: string; egress: EgressPolicy }): Promise<unknown> {
  const operation = job.data;
  const { serviceToken } = settings;
  switch (operation.op) {
    case 'validate-credential': {
      const factory = providers.factory(operation.provider);
      if (!factory) throw new InputError(`provider ${operation.provider} takes no credential, or is not served by this sddc (sddc.providers)`, [{ field: 'body.provider', message: 'is not a provider that takes a credential' }]);
      await factory.validateCredential(openFromTransit<ProviderCredential>(operation.sealed, serviceToken));
      return { valid: true };
    }
    case 'validate-bmc':
      await validateBmc(openFromTransit<BmcAccess>(operation.sealed, serviceToken));
      return { valid: true };
    case 'configure-access': return configureAccess(await sm.adminCredentials(operation.clusterId));
    case 'cordon-node': return cordon(await sm.adminCredentials(operation.clusterId), operation.nodeName, operation.unschedulable);
    case 'set-node-scheduling': return setScheduling(await sm.adminCredentials(operation.clusterId), operation.nodeName, operation.scheduling, operation.previous);
    case 'drain-node': return drainOnce(await sm.adminCredentials(operation.clusterId), operation.nodeName);
    case 'mark-out-of-service': return markOutOfService(await sm.adminCredentials(operation.clusterId), operation.nodeName, operation.outOfService);
    case 'match-nodes': return matchNodes(await sm.adminCredentials(operation.clusterId), operation.selector);
    case 'dashboard-token': return dashboardToken(await sm.adminCredentials(operation.clusterId), operation.role);
    case 'apply-ha-config': return applyHaConfig(await sm.adminCredentials(operation.clusterId), operation.haConfig, settings.keepalivedImage);
    case 'remove-ha-config': return removeHaConfig(await sm.adminCredentials(operation.clusterId), operation.name);
    case 'apply-addon': return applyAddon(await sm.adminCredentials(operation.clusterId), operation.addon, serviceToken, settings.egress);
    case 'remove-addon': return removeAddon(await sm.adminCredentials(operation.clusterId), operation.addon, serviceToken, operation.phase);
    case 'addon-status': return addonStatus(await sm.adminCredentials(operation.clusterId), operation.addon, serviceToken, operation.objects);
    default: break;
  }
  const clusterId = operation.op === 'ensure-machine' ? operation.spec.clusterId : operation.clusterId;
  const { provider, nodes } = await providers.resolve(operation.provider, clusterId);
  switch (operation.op) {
    case 'ensure-machine': {
      const bootstrap = (): Promise<ClusterBootstrap> => sm.bootstrap(clusterId);
      return provider.ensureMachine(operation.spec, { bootstrap, userData: async () => machineUserData(operation.spec, await bootstrap(), settings) });
    }
    case 'delete-machine': await provider.deleteMachine(operation.clusterId, operation.machineId); return { deleted: true };
    case 'list-machines': return provider.listMachines(operation.clusterId);
    case 'list-nodes': return nodes.listNodes(operation.clusterId);
    case 'check-image':
      if (!provider.checkImage) throw new InputError(`provider ${operation.provider} has no OS images to choose from`, [{ field: 'body.image', message: `not for provider ${operation.provider}` }]);
      await provider.checkImage(operation.image);
      return { valid: true };
    case 'set-power': await provider.setPower(operation.clusterId, operation.machineId, operation.action); return { powerState: await provider.getPowerState(operation.clusterId, operation.machineId) };
    case 'power-state': return { powerState: await provider.getPowerState(operation.clusterId, operation.machineId) };
    case 'etcd-snapshot': return takeEtcdSnapshot(provider, sm, operation);
    case 'etcd-restore': return restoreEtcdSnapshot(provider, sm, operation);
  }
}
