#!/usr/bin/env node
/**
 * `cx-pair-agent --config FILE`: the agent of one side of a two-node pair. It holds every
 * singleton of a new boot stopped before it answers anyone, then serves the witness and its peer
 * (docs/two-node-pair.md, "The agent program"). Prints one line of JSON when it listens; logs go
 * to stderr. Exit status: 0 after SIGTERM/SIGINT, 2 for a configuration it cannot use, 1 when it
 * cannot start.
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { destination, pino } from 'pino';
import { nextBoot } from './boot.js';
import { SideCluster } from './cluster.js';
import { AgentConfigError, loadAgentConfig, type AgentConfig } from './config.js';
import { GateError, GateTokens } from './gate-tokens.js';
import { AgentRunner } from './runner.js';
import { buildAgentServer } from './server.js';

const USAGE = 'usage: cx-pair-agent --config FILE\n';

async function main(): Promise<number> {
  // Registered first: a signal during start-up stops the agent once it is up.
  const stopping = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  let file: string | undefined;
  try {
    const { values } = parseArgs({
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    file = values.config;
  } catch (error) {
    process.stderr.write(`cx-pair-agent: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!file) {
    process.stderr.write(`cx-pair-agent: --config is required\n${USAGE}`);
    return 2;
  }
  let config: AgentConfig;
  let kubeconfig: KubeConfig;
  try {
    config = loadAgentConfig(file);
    kubeconfig = loadKubeconfig(config);
  } catch (error) {
    if (!(error instanceof AgentConfigError)) throw error;
    process.stderr.write(
      `cx-pair-agent: invalid configuration ${error.source}:\n${error.problems.map((p) => `  ${p.path || '(file)'}: ${p.message}\n`).join('')}`,
    );
    return 2;
  }

  const logger = pino(
    {
      level: config.logLevel,
      base: { service: 'cx-pair-agent', pair: config.spec.name, side: config.side },
      redact: {
        paths: ['token', '*.token', 'req.headers.authorization', 'headers.authorization'],
        censor: '<redacted>',
      },
    },
    destination({ fd: 2, sync: true }),
  );
  let boot: number;
  try {
    boot = nextBoot(config.stateDir);
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    return 1;
  }
  const gate = new GateTokens(config.gateDir);
  const cluster = new SideCluster({
    kubeconfig,
    singletons: config.spec.singletons,
    gate: { dir: config.gateDir, image: config.gateImage },
    ...(config.nodeName !== undefined ? { nodeName: config.nodeName } : {}),
  });
  const runner = new AgentRunner({
    spec: config.spec,
    side: config.side,
    boot,
    cluster,
    gate,
    peerUrl: config.peerUrl,
    token: config.token,
    intervalMs: config.intervalMs,
    logger,
  });
  logger.info(
    { boot, gateDir: config.gateDir },
    `side ${config.side} of pair ${config.spec.name} starts (boot ${boot}); holding every singleton until the peer or the witness is seen`,
  );
  // Wait-for-all: every gate token goes first, then the first decision of a boot, taken before
  // anyone is heard, stops every singleton; then the gates are put in place.
  try {
    await runner.begin();
  } catch (error) {
    if (!(error instanceof GateError)) throw error;
    logger.fatal({ err: error }, `${error.message}: the start gate cannot be trusted, so the agent does not run`);
    return 1;
  }
  const app = buildAgentServer({ runner, token: config.token, logger });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (error) {
    logger.fatal(
      { err: error },
      `cannot listen on ${config.listen.host}:${config.listen.port}: ${(error as Error).message}`,
    );
    return 1;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  process.stdout.write(`${JSON.stringify({ listening: `http://${host}:${address.port}`, side: config.side, boot })}\n`);
  runner.start();

  const signal = await stopping;
  logger.info(`${signal}: stopping (singletons are left as they are)`);
  await runner.stop();
  await app.close();
  return 0;
}

function loadKubeconfig(config: AgentConfig): KubeConfig {
  const kubeconfig = new KubeConfig();
  try {
    if (config.kubeconfig !== undefined) kubeconfig.loadFromFile(config.kubeconfig);
    else kubeconfig.loadFromCluster();
  } catch (error) {
    throw new AgentConfigError(config.kubeconfig ?? 'the in-cluster configuration', [
      { path: 'kubeconfig', message: `cannot load it: ${(error as Error).message}` },
    ]);
  }
  if (!kubeconfig.getCurrentCluster()) {
    throw new AgentConfigError(config.kubeconfig ?? 'the in-cluster configuration', [
      { path: 'kubeconfig', message: 'it names no current cluster' },
    ]);
  }
  return kubeconfig;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cx-pair-agent: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
