/**
 * Generates cluster PKIs on a worker thread. Building the certificates (ASN.1 in JavaScript) costs
 * about 3 ms of CPU per cluster (three CAs and a key pair); on sm's event loop that stalls every
 * request and workflow step behind a burst of creates, on a worker it runs beside them.
 */
import { Piscina } from 'piscina';
import type { ClusterPki } from '@cx/k8s';

export class PkiGenerator {
  private readonly pool = new Piscina<string, ClusterPki>({
    filename: new URL('./pki-worker.js', import.meta.url).href,
    // One thread: the work is short, and sm shares its machine with Redis, the database and wfm.
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 60_000,
  });

  generate(clusterName: string): Promise<ClusterPki> {
    return this.pool.run(clusterName);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
