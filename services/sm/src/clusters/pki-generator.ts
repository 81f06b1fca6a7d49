/**
 * Generates cluster PKIs: three CAs and a service-account key pair, about 2 ms of CPU per cluster
 * (the certificates' ASN.1 is built in JavaScript). With a core to spare, a worker thread builds
 * them beside sm's event loop. On two cores or fewer, which sm shares with Redis, the database and
 * the other services, the thread has no core of its own: the hand-off and the two threads
 * displacing each other cost more CPU than the PKI itself, and creates are slower (measured in
 * docs/benchmarks.md), so the PKI is built on the event loop, a ~2 ms turn per create.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { createClusterPki, type ClusterPki } from '@cx/k8s';

/** Whether this machine has a core to spare for the PKI's thread. */
export const PKI_ON_A_THREAD = availableParallelism() > 2;

export class PkiGenerator {
  private readonly pool: Piscina<string, ClusterPki> | undefined;

  constructor(onAThread = PKI_ON_A_THREAD) {
    this.pool = onAThread
      ? new Piscina<string, ClusterPki>({
          filename: new URL('./pki-worker.js', import.meta.url).href,
          // One thread: the work is short, and sm shares its machine with Redis, the database and wfm.
          minThreads: 0,
          maxThreads: 1,
          idleTimeout: 60_000,
        })
      : undefined;
  }

  generate(clusterName: string): Promise<ClusterPki> {
    return this.pool ? this.pool.run(clusterName) : createClusterPki(clusterName);
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
