/**
 * Ports for the tenant control planes this process runs. A port is probed free, then handed out,
 * and only bound once the process that uses it starts: two control planes prepared at the same
 * time (two clusters created together) could both be handed one port, and the second process then
 * fails to bind it. So this process remembers the ports it has handed out until their control
 * plane is destroyed.
 */
import { createServer } from 'node:net';
import { ProviderUnavailableError } from '@cx/errors';

const handedOut = new Set<number>();

/**
 * A free port below the kernel's ephemeral range (32768–60999): a port from that range, free when
 * probed, can be taken as the source port of an outgoing connection before the server binds it.
 * Never one already handed out or held by this process.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    // Held while it is probed, so that a concurrent call does not pick it too.
    handedOut.add(port);
    if (await canBind(port)) return port;
    handedOut.delete(port);
  }
  throw new ProviderUnavailableError('no free port below 32768 on 127.0.0.1 for a tenant control plane');
}

/** Ports of a control plane this process did not prepare (made before a restart): never handed out again. */
export function holdPorts(ports: ReadonlyArray<number | undefined>): void {
  for (const port of ports) if (port !== undefined) handedOut.add(port);
}

/** Ports of a destroyed control plane: free to hand out again. */
export function releasePorts(ports: ReadonlyArray<number | undefined>): void {
  for (const port of ports) if (port !== undefined) handedOut.delete(port);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
